//! The events of an audited change: `audit::record` calls [`emit`] for every change it records,
//! so every audited writer (tickets, approvals, visits, checklists, jobcards) emits without
//! doing anything itself.
//!
//! - a ticket created: `ticket.created`; its `status` changed: `ticket.status_changed`; its
//!   `assigned_to` set to someone: `ticket.assigned` — `data` the ticket as the API shows it;
//! - tickets a set-based writer created ([`tickets_created`]): `ticket.created` each;
//! - checklist answers set to `fail` ([`items_failed`]): `checklist.item_failed` each;
//! - an approval recorded: `approval.decided`; a jobcard created: `jobcard.created` — `data` the
//!   object as recorded.

use chrono::Utc;
use serde_json::Value;
use sqlx::PgConnection;

use super::{EventType, outbox};
use crate::audit::{Action, EntityType};
use crate::error::ApiError;
use crate::ticket::view;

/// Records the events of one audited change (nothing when no endpoint subscribes to them).
/// `changes` is the audit row's `{field: {old, new}}`; `after` the object as recorded.
pub async fn emit(
    conn: &mut PgConnection,
    entity: EntityType,
    entity_id: i64,
    action: Action,
    changes: &Value,
    after: Option<&Value>,
) -> Result<(), ApiError> {
    match (entity, action) {
        (EntityType::Ticket, _) => ticket(conn, entity_id, action, changes).await,
        (EntityType::Approval, Action::Create) => object(conn, EventType::ApprovalDecided, after).await,
        (EntityType::Jobcard, Action::Create) => object(conn, EventType::JobcardCreated, after).await,
        _ => Ok(()),
    }
}

/// The event types of a ticket's change.
pub fn ticket_events(action: Action, changes: &Value) -> Vec<EventType> {
    let changed = |field: &str| changes.get(field).is_some();
    let mut types = Vec::new();
    match action {
        Action::Create => types.push(EventType::TicketCreated),
        Action::Update => {
            if changed("status") {
                types.push(EventType::TicketStatusChanged);
            }
            if changes.get("assigned_to").is_some_and(|c| !c["new"].is_null()) {
                types.push(EventType::TicketAssigned);
            }
        }
        Action::Delete => {}
    }
    types
}

async fn ticket(conn: &mut PgConnection, id: i64, action: Action, changes: &Value) -> Result<(), ApiError> {
    let types = ticket_events(action, changes);
    if types.is_empty() || !outbox::subscribed(conn, &types).await? {
        return Ok(());
    }
    let Some(ticket) = view::views(conn, &[id], Utc::now()).await?.pop() else { return Ok(()) };
    let data = serde_json::to_value(ticket).map_err(ApiError::internal)?;
    for t in types {
        outbox::emit(conn, t, data.clone()).await?;
    }
    Ok(())
}

/// `ticket.created` for tickets a set-based writer inserted (the PM generator, meter triggers),
/// in one statement; the deliveries written.
pub async fn tickets_created(conn: &mut PgConnection, ids: &[i64]) -> Result<u64, ApiError> {
    if ids.is_empty() || !outbox::subscribed(conn, &[EventType::TicketCreated]).await? {
        return Ok(0);
    }
    let mut tickets = view::views(conn, ids, Utc::now()).await?;
    tickets.sort_by_key(|t| t.id);
    let data =
        tickets.into_iter().map(serde_json::to_value).collect::<Result<Vec<_>, _>>().map_err(ApiError::internal)?;
    outbox::emit_all(conn, EventType::TicketCreated, data).await
}

/// `checklist.item_failed` for the items of one ticket's answers set to `fail` (`data` each
/// `{ticket_id, item_key, item_label, answer, cm_ticket_id}`, completed here with the ticket as
/// the API shows it after the change).
pub async fn items_failed(conn: &mut PgConnection, ticket_id: i64, failed: Vec<Value>) -> Result<u64, ApiError> {
    if failed.is_empty() || !outbox::subscribed(conn, &[EventType::ChecklistItemFailed]).await? {
        return Ok(0);
    }
    let Some(ticket) = view::views(conn, &[ticket_id], Utc::now()).await?.pop() else { return Ok(0) };
    let ticket = serde_json::to_value(ticket).map_err(ApiError::internal)?;
    let data = failed
        .into_iter()
        .map(|mut item| {
            item["ticket"] = ticket.clone();
            item
        })
        .collect();
    outbox::emit_all(conn, EventType::ChecklistItemFailed, data).await
}

async fn object(conn: &mut PgConnection, event_type: EventType, after: Option<&Value>) -> Result<(), ApiError> {
    match after {
        Some(data) => outbox::emit(conn, event_type, data.clone()).await.map(|_| ()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_ticket_change_names_its_events() {
        let cases = [
            (Action::Create, json!({"status": {"old": null, "new": "open"}}), vec![EventType::TicketCreated]),
            (
                Action::Update,
                json!({"status": {"old": "open", "new": "assigned"}, "assigned_to": {"old": null, "new": 7}}),
                vec![EventType::TicketStatusChanged, EventType::TicketAssigned],
            ),
            (Action::Update, json!({"assigned_to": {"old": 7, "new": null}}), vec![]),
            (Action::Update, json!({"priority": {"old": "low", "new": "high"}}), vec![]),
            (Action::Delete, json!({"status": {"old": "open", "new": null}}), vec![]),
        ];
        for (action, changes, want) in cases {
            assert_eq!(ticket_events(action, &changes), want, "{action} {changes}");
        }
    }
}
