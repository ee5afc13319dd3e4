//! The SLA events the scheduled check recorded: each warning or breach line a ticket crossed,
//! and the retractions a late event (made offline, synced after the check) appended when it
//! proved a recorded breach did not happen. Events are never deleted or rewritten.

use axum::extract::State;
use chrono::{DateTime, Utc};
use nexus_shared::auth::{Auth, Staff};
use nexus_shared::extract::Query;
use nexus_shared::pagination::{Page, PageParams, SortKey, Sorting};
use nexus_shared::{ApiResult, AppState};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};

nexus_shared::text_enum! {
    pub enum SlaEventKind {
        ResponseWarning = "response_warning",
        ResponseBreach = "response_breach",
        ResolutionWarning = "resolution_warning",
        ResolutionBreach = "resolution_breach",
        /// A response made before the line, synced after the check recorded the breach.
        ResponseBreachRetracted = "response_breach_retracted",
        ResolutionBreachRetracted = "resolution_breach_retracted",
    }
}

#[derive(Debug, Serialize, FromRow, ToSchema)]
pub struct SlaEvent {
    pub id: i64,
    pub ticket_id: i64,
    pub ticket_number: String,
    #[sqlx(try_from = "String")]
    pub kind: SlaEventKind,
    /// The warning or due line that was crossed.
    pub line_at: DateTime<Utc>,
    /// When the scheduled check saw it (a retraction: when the late event arrived).
    pub detected_at: DateTime<Utc>,
    /// A retraction: the breach event it retracts.
    pub retracts_event_id: Option<i64>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    ticket_id: Option<i64>,
    kind: Option<SlaEventKind>,
    /// Detected at or after this instant (RFC 3339).
    since: Option<DateTime<Utc>>,
}

const SORTS: [SortKey; 1] = [SortKey { name: "detected_at", column: "e.detected_at", cast: "timestamptz" }];

/// How the list below is ordered.
pub struct EventSorting;

impl Sorting for EventSorting {
    const KEYS: &'static [SortKey] = &SORTS;
    const DEFAULT: &'static str = "-detected_at";
    const ID_COLUMN: &'static str = "e.id";
}

/// Recorded crossings, newest first by default.
#[utoipa::path(get, path = "/api/sla/events", tag = "sla", security(("bearer" = [])),
    params(EventQuery, PageParams<EventSorting>),
    responses((status = 200, description = "A page of SLA events", body = Page<SlaEvent>)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Auth<Staff>,
    Query(query): Query<EventQuery>,
    Query(page): Query<PageParams<EventSorting>>,
) -> ApiResult<Page<SlaEvent>> {
    let page = page.resolve()?;
    let mut qb = page.query(
        "e.id, e.ticket_id, t.number AS ticket_number, e.kind, e.line_at, e.detected_at, e.retracts_event_id",
        "sla_events e JOIN tickets t ON t.id = e.ticket_id",
    );
    if let Some(ticket_id) = query.ticket_id {
        qb.push(" AND e.ticket_id = ").push_bind(ticket_id);
    }
    if let Some(kind) = query.kind {
        qb.push(" AND e.kind = ").push_bind(kind.as_str());
    }
    if let Some(since) = query.since {
        qb.push(" AND e.detected_at >= ").push_bind(since);
    }
    Ok(page.fetch(qb, &state.pool).await?)
}
