//! The tickets function's webhook events, read from the outbox: each written in the change's
//! transaction with the ticket as the API shows it, none when no endpoint subscribes, none for a
//! change that rolled back.

use axum::http::StatusCode;
use nexus_testkit::{self as testing, TestUser, get, post, put, webhook};
use serde_json::{Value, json};
use sqlx::PgPool;

struct Fixture {
    app: axum::Router,
    pool: PgPool,
    spv: TestUser,
    tech: TestUser,
    asset: i64,
}

async fn setup(pool: PgPool) -> Fixture {
    let state = testing::state(pool.clone());
    let crew = testing::crew(&state).await;
    let site = testing::site(&pool, "JKT0200", "Asia/Jakarta").await;
    Fixture {
        app: nexus_tickets::router(state),
        pool,
        spv: crew.supervisor,
        tech: crew.technician,
        asset: site.asset_id,
    }
}

impl Fixture {
    async fn open(&self) -> Value {
        let body = json!({"asset_id": self.asset, "ticket_type": "CM", "priority": "high", "description": "Card reader jammed"});
        let r = post(&self.app, "/api/tickets", &self.spv, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        r.body
    }

    async fn set(&self, ticket: &Value, body: Value) -> testing::TestResponse {
        put(&self.app, &format!("/api/tickets/{}", ticket["id"]), &self.spv, body).await
    }

    async fn shown(&self, ticket: &Value) -> Value {
        get(&self.app, &format!("/api/tickets/{}", ticket["id"]), &self.spv).await.body
    }
}

/// The event's data is the ticket exactly as `GET /api/tickets/{id}` shows it at that moment.
#[sqlx::test(migrations = "../../migrations")]
async fn ticket_changes_become_events_with_the_ticket_as_shown(pool: PgPool) {
    let f = setup(pool).await;
    webhook::subscribe(&f.pool, &["ticket.created", "ticket.assigned", "ticket.status_changed"]).await;

    let t = f.open().await;
    let created = webhook::events(&f.pool, "ticket.created").await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["type"], "ticket.created");
    assert_eq!(created[0]["data"], f.shown(&t).await, "data is the ticket as the API shows it");
    let stamp: chrono::DateTime<chrono::Utc> = created[0]["timestamp"].as_str().unwrap().parse().unwrap();
    assert!((chrono::Utc::now() - stamp).num_seconds().abs() < 60, "{stamp}");

    // Assigning an open ticket changes its assignee and its status: both events.
    let assigned = f.set(&t, json!({"assigned_to": f.tech.id})).await;
    assert_eq!(assigned.status, StatusCode::OK);
    let after = f.shown(&t).await;
    let (a, s) =
        (webhook::events(&f.pool, "ticket.assigned").await, webhook::events(&f.pool, "ticket.status_changed").await);
    assert_eq!((a.len(), s.len()), (1, 1));
    assert_eq!(a[0]["data"], after);
    assert_eq!(s[0]["data"]["status"], "assigned");

    // A change of neither (the description) is no event.
    assert_eq!(f.set(&t, json!({"description": "Card reader jammed again"})).await.status, StatusCode::OK);
    assert_eq!(webhook::types(&f.pool).await, ["ticket.created", "ticket.status_changed", "ticket.assigned"]);

    // Each event has one pending delivery per subscribed endpoint, each with its own id.
    let (deliveries, ids): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT message_id) FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= now()",
    )
    .fetch_one(&f.pool)
    .await
    .unwrap();
    assert_eq!((deliveries, ids), (3, 3));
}

#[sqlx::test(migrations = "../../migrations")]
async fn only_subscribed_types_and_enabled_endpoints_get_events(pool: PgPool) {
    let f = setup(pool).await;
    // Nobody subscribed: nothing is written at all.
    let t = f.open().await;
    assert!(webhook::types(&f.pool).await.is_empty());
    // One endpoint for status changes, one disabled endpoint for everything.
    let wanted = webhook::subscribe(&f.pool, &["ticket.status_changed"]).await;
    let off = webhook::subscribe(&f.pool, &["ticket.created", "ticket.assigned", "ticket.status_changed"]).await;
    sqlx::query("UPDATE webhooks SET enabled = false WHERE id = $1").bind(off).execute(&f.pool).await.unwrap();
    f.open().await;
    assert_eq!(f.set(&t, json!({"assigned_to": f.tech.id})).await.status, StatusCode::OK);
    assert_eq!(webhook::types(&f.pool).await, ["ticket.status_changed"]);
    let to: Vec<i64> =
        sqlx::query_scalar("SELECT webhook_id FROM webhook_deliveries").fetch_all(&f.pool).await.unwrap();
    assert_eq!(to, [wanted]);
}

/// The outbox is the change's own transaction: a change that fails after its event was
/// written leaves neither the change nor the event.
#[sqlx::test(migrations = "../../migrations")]
async fn a_change_that_rolls_back_leaves_no_event(pool: PgPool) {
    let f = setup(pool).await;
    webhook::subscribe(&f.pool, &["ticket.status_changed"]).await;
    let t = f.open().await;
    // Fails the transaction after the event and its delivery are written (the last statement).
    sqlx::query(
        "CREATE FUNCTION refuse_delivery() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'delivery refused by the test'; END $$",
    )
    .execute(&f.pool)
    .await
    .unwrap();
    sqlx::query(
        "CREATE TRIGGER refuse AFTER INSERT ON webhook_deliveries FOR EACH ROW EXECUTE FUNCTION refuse_delivery()",
    )
    .execute(&f.pool)
    .await
    .unwrap();
    let r = f.set(&t, json!({"assigned_to": f.tech.id})).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(f.shown(&t).await["status"], "open", "the change rolled back");
    assert!(webhook::types(&f.pool).await.is_empty(), "and its event with it");
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_logs WHERE entity_type = 'ticket' AND action = 'update'")
            .fetch_one(&f.pool)
            .await
            .unwrap();
    assert_eq!(audited, 0);
}
