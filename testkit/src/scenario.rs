//! What many tests start from, built once here: a site with a device, and a ticket closed
//! the way users close one (created, worked and approved through the tickets and approvals
//! routers).

use nexus_shared::AppState;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::exchange::{post, put};
use crate::state::TestUser;

/// A location with one asset, for tests that need somewhere to open tickets.
#[derive(Debug, Clone, Copy, Default)]
pub struct Site {
    pub location_id: i64,
    pub asset_id: i64,
}

/// Creates location `code` in `timezone` with one asset tagged `ATM-<code>`.
pub async fn site(pool: &PgPool, code: &str, timezone: &str) -> Site {
    let location_id: i64 =
        sqlx::query_scalar("INSERT INTO locations (code, name, timezone) VALUES ($1, $1, $2) RETURNING id")
            .bind(code)
            .bind(timezone)
            .fetch_one(pool)
            .await
            .expect("insert location");
    let asset_id: i64 =
        sqlx::query_scalar("INSERT INTO assets (location_id, tag, name) VALUES ($1, $2, 'ATM') RETURNING id")
            .bind(location_id)
            .bind(format!("ATM-{code}"))
            .fetch_one(pool)
            .await
            .expect("insert asset");
    Site { location_id, asset_id }
}

/// A PM ticket on `asset_id` created by `supervisor`, assigned to nobody: nothing done yet.
pub async fn open_ticket(state: &AppState, asset_id: i64, supervisor: &TestUser) -> Value {
    let body = json!({"asset_id": asset_id, "ticket_type": "PM", "priority": "low", "description": "Service"});
    let created = post(&nexus_tickets::router(state.clone()), "/api/tickets", supervisor, body).await;
    assert!(created.status.is_success(), "ticket not created: {:?}", created.body);
    created.body
}

/// A CM ticket on `asset_id` created by `supervisor` and assigned to `technician`, who starts
/// and resolves it through the tickets router; the ticket as the API answers it.
pub async fn resolved_ticket(state: &AppState, asset_id: i64, supervisor: &TestUser, technician: &TestUser) -> Value {
    let tickets = nexus_tickets::router(state.clone());
    let created = post(
        &tickets,
        "/api/tickets",
        supervisor,
        json!({"asset_id": asset_id, "ticket_type": "CM", "priority": "high", "description": "Dispenser jammed", "assigned_to": technician.id}),
    )
    .await;
    let id = created.body["id"].as_i64().unwrap_or_else(|| panic!("ticket not created: {:?}", created.body));
    let url = format!("/api/tickets/{id}");
    let mut ticket = created.body;
    for step in [
        json!({"status": "in_progress"}),
        json!({"status": "resolved", "resolution_notes": "Replaced the pick roller"}),
    ] {
        let r = put(&tickets, &url, technician, step).await;
        assert!(r.status.is_success(), "{:?}", r.body);
        ticket = r.body;
    }
    ticket
}

/// [`resolved_ticket`], then approved (closed) by `supervisor` through the approvals router;
/// the ticket as it was when resolved.
pub async fn closed_ticket(state: &AppState, asset_id: i64, supervisor: &TestUser, technician: &TestUser) -> Value {
    let ticket = resolved_ticket(state, asset_id, supervisor, technician).await;
    let approved = post(
        &nexus_approvals::router(state.clone()),
        "/api/approvals",
        supervisor,
        json!({"ticket_id": ticket["id"], "decision": "approve", "comments": "Well documented"}),
    )
    .await;
    assert!(approved.status.is_success(), "{:?}", approved.body);
    ticket
}
