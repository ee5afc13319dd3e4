//! Webhook endpoints and the outbox as the event writers' tests see them: an endpoint row
//! subscribed to some event types (its secret is not used here), and the payloads recorded.

use serde_json::Value;
use sqlx::PgPool;

/// An enabled endpoint subscribed to `events` (its sealed secret a placeholder: these tests
/// read the outbox, nothing is sent); its id.
pub async fn subscribe(pool: &PgPool, events: &[&str]) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO webhooks (url, events, secret_sealed) VALUES ('https://hooks.example.com/nexus', $1, '\\x00')
         RETURNING id",
    )
    .bind(events)
    .fetch_one(pool)
    .await
    .expect("insert a webhook")
}

/// The payloads (`{type, timestamp, data}`) of the recorded events of `event_type`, oldest first.
pub async fn events(pool: &PgPool, event_type: &str) -> Vec<Value> {
    sqlx::query_scalar("SELECT payload FROM webhook_events WHERE type = $1 ORDER BY id")
        .bind(event_type)
        .fetch_all(pool)
        .await
        .expect("read the outbox")
}

/// Every recorded event's type, oldest first.
pub async fn types(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT type FROM webhook_events ORDER BY id").fetch_all(pool).await.expect("read the outbox")
}
