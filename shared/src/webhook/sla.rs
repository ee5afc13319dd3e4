//! The SLA events: a line crossed (`ticket.sla_warning`, `ticket.sla_breached`) or a breach
//! retracted by a late event (`ticket.sla_breach_retracted`), `data` `{kind, line_at,
//! detected_at, ticket}`. Recorded by whoever writes `sla_events`: the scheduled check (many at
//! once) and a transition that crosses or un-crosses a line itself.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;

use super::{EventType, outbox};
use crate::error::ApiError;
use crate::ticket::view;

/// One recorded `sla_events` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Recorded {
    pub ticket_id: i64,
    /// `response_warning`, `resolution_breach`, `response_breach_retracted`, …
    pub kind: String,
    pub line_at: DateTime<Utc>,
    pub detected_at: DateTime<Utc>,
}

/// The event type of an `sla_events.kind`.
pub fn event_of(kind: &str) -> Option<EventType> {
    match kind {
        "response_warning" | "resolution_warning" => Some(EventType::TicketSlaWarning),
        "response_breach" | "resolution_breach" => Some(EventType::TicketSlaBreached),
        "response_breach_retracted" | "resolution_breach_retracted" => Some(EventType::TicketSlaBreachRetracted),
        _ => None,
    }
}

const ALL: [EventType; 3] =
    [EventType::TicketSlaWarning, EventType::TicketSlaBreached, EventType::TicketSlaBreachRetracted];

/// Whether any endpoint wants SLA events: a writer asks before it reads back what it recorded.
pub async fn wanted(conn: &mut PgConnection) -> Result<bool, ApiError> {
    outbox::subscribed(conn, &ALL).await
}

/// Records the events of `recorded` (one statement per event type, the tickets rendered once).
pub async fn emit(conn: &mut PgConnection, recorded: &[Recorded]) -> Result<u64, ApiError> {
    if recorded.is_empty() || !wanted(conn).await? {
        return Ok(0);
    }
    let ids: Vec<i64> = recorded.iter().map(|r| r.ticket_id).collect();
    let tickets: HashMap<i64, serde_json::Value> = view::views(conn, &ids, Utc::now())
        .await?
        .into_iter()
        .map(|t| Ok((t.id, serde_json::to_value(&t)?)))
        .collect::<Result<_, serde_json::Error>>()
        .map_err(ApiError::internal)?;
    let mut written = 0;
    for event_type in ALL {
        let data: Vec<serde_json::Value> = recorded
            .iter()
            .filter(|r| event_of(&r.kind) == Some(event_type))
            .filter_map(|r| {
                let ticket = tickets.get(&r.ticket_id)?;
                Some(json!({"kind": r.kind, "line_at": r.line_at, "detected_at": r.detected_at, "ticket": ticket}))
            })
            .collect();
        written += outbox::emit_all(conn, event_type, data).await?;
    }
    Ok(written)
}
