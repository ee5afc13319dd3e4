//! The transactional outbox: an event is written in the transaction of the change that causes
//! it, with one pending delivery per enabled endpoint subscribed to its type, so no event is
//! lost when a function dies after the commit and none is sent for a change that rolled back.
//! When no endpoint subscribes, nothing is written (one index probe on `webhooks`).

use serde_json::Value;
use sqlx::PgConnection;

use super::EventType;
use crate::error::ApiError;

/// The body of every event: `{type, timestamp, data}`, `timestamp` the transaction's time in
/// RFC 3339 UTC. `$1` the type, `d` the data.
const PAYLOAD: &str = "jsonb_build_object('type', $1::text,
    'timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), 'data', d)";

/// Records one event of `event_type` with `data` for every subscribed endpoint.
pub async fn emit(conn: &mut PgConnection, event_type: EventType, data: Value) -> Result<u64, ApiError> {
    emit_all(conn, event_type, vec![data]).await
}

/// Records one event per item of `data` (a set-based writer: the SLA check, the PM generator)
/// in one statement; the deliveries written.
pub async fn emit_all(conn: &mut PgConnection, event_type: EventType, data: Vec<Value>) -> Result<u64, ApiError> {
    if data.is_empty() {
        return Ok(0);
    }
    let written = sqlx::query(sqlx::AssertSqlSafe(format!(
        "WITH hooks AS (SELECT id FROM webhooks WHERE enabled AND events @> ARRAY[$1::text]),
              ev AS (INSERT INTO webhook_events (type, payload)
                     SELECT $1, {PAYLOAD} FROM unnest($2::jsonb[]) AS d WHERE EXISTS (SELECT 1 FROM hooks)
                     RETURNING id)
         INSERT INTO webhook_deliveries (webhook_id, event_id, message_id, next_attempt_at)
         SELECT h.id, ev.id, 'msg_' || replace(gen_random_uuid()::text, '-', ''), now() FROM ev CROSS JOIN hooks h"
    )))
    .bind(event_type.as_str())
    .bind(data)
    .execute(conn)
    .await?;
    Ok(written.rows_affected())
}

/// Whether any enabled endpoint subscribes to one of `types`: a set-based writer asks before it
/// renders the objects of many events.
pub async fn subscribed(conn: &mut PgConnection, types: &[EventType]) -> Result<bool, ApiError> {
    let types: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
    Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM webhooks WHERE enabled AND events && $1::text[])")
        .bind(types)
        .fetch_one(conn)
        .await?)
}

/// Records one event for one endpoint, whatever it subscribes to (`ping`, from
/// `POST /api/webhooks/{id}/test`); the delivery's id.
pub async fn emit_to(
    conn: &mut PgConnection,
    webhook_id: i64,
    event_type: EventType,
    data: Value,
) -> Result<i64, ApiError> {
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "WITH ev AS (INSERT INTO webhook_events (type, payload) SELECT $1, {PAYLOAD} FROM (SELECT $2::jsonb AS d) x
                     RETURNING id)
         INSERT INTO webhook_deliveries (webhook_id, event_id, message_id, next_attempt_at)
         SELECT $3, ev.id, 'msg_' || replace(gen_random_uuid()::text, '-', ''), now() FROM ev RETURNING id"
    )))
    .bind(event_type.as_str())
    .bind(data)
    .bind(webhook_id)
    .fetch_one(conn)
    .await?)
}
