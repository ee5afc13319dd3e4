//! The purge: each table's rows older than its retention, deleted in short batches so no
//! transaction holds many row locks or runs long beside the API's traffic.

use chrono::{DateTime, Duration, Utc};
use nexus_shared::ApiError;
use nexus_shared::offline::KEY_RETENTION;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

/// What one run deleted, per table.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeReport {
    pub login_failures: u64,
    pub idempotency_keys: u64,
    pub sessions: u64,
    pub pending_attachments: u64,
    pub webhook_events: u64,
}

/// How long each kind of row is kept, by which column it is aged, which rows of the table it
/// concerns (an SQL condition), and where its count goes.
pub struct Retention {
    pub table: &'static str,
    pub column: &'static str,
    pub only: &'static str,
    pub keep: Duration,
    pub counted_in: fn(&mut PurgeReport) -> &mut u64,
}

/// Login failures count for 15 minutes (the throttle) and are kept a day for investigation;
/// idempotency keys outlive the longest a device may stay offline and then retry blindly
/// (`shared::offline::KEY_RETENTION`, 4 days); sessions last 30 days and are kept 30 more after
/// expiry, so a stolen-token inquiry can still see them; an attachment still pending after a
/// day was never uploaded (its URL worked 15 minutes) or never confirmed: its row goes, and its
/// object, if any, goes by the bucket's lifecycle rule on `uploads/pending/` (this function has
/// no S3 access). Stored attachments are the maintenance record and are kept. A webhook event
/// and its deliveries are kept 30 days (the deliveries list, replays), then go once none of its
/// deliveries is still pending.
pub const RETENTION: [Retention; 5] = [
    Retention {
        table: "login_failures",
        column: "failed_at",
        only: "true",
        keep: Duration::days(1),
        counted_in: |r| &mut r.login_failures,
    },
    Retention {
        table: "idempotency_keys",
        column: "created_at",
        only: "true",
        keep: KEY_RETENTION,
        counted_in: |r| &mut r.idempotency_keys,
    },
    Retention {
        table: "sessions",
        column: "expires_at",
        only: "true",
        keep: Duration::days(30),
        counted_in: |r| &mut r.sessions,
    },
    Retention {
        // Served by attachments_pending_idx (created_at) WHERE status = 'pending'.
        table: "attachments",
        column: "created_at",
        only: "status = 'pending'",
        keep: Duration::days(1),
        counted_in: |r| &mut r.pending_attachments,
    },
    Retention {
        // Served by webhook_events_created_at_idx; deliveries go with their event (cascade).
        table: "webhook_events",
        column: "created_at",
        only: "NOT EXISTS (SELECT 1 FROM webhook_deliveries d
                           WHERE d.event_id = webhook_events.id AND d.status = 'pending')",
        keep: Duration::days(30),
        counted_in: |r| &mut r.webhook_events,
    },
];

const BATCH: i64 = 5_000;

/// Deletes every row older than its retention as of `now`.
pub async fn purge(pool: &PgPool, now: DateTime<Utc>) -> Result<PurgeReport, ApiError> {
    let mut report = PurgeReport::default();
    for retention in &RETENTION {
        let count = (retention.counted_in)(&mut report);
        // Table, column and condition are the constants above, never input. The condition is
        // checked again on delete: a row confirmed meanwhile (now stored) stays.
        let statement = format!(
            "DELETE FROM {table} WHERE ctid = ANY(ARRAY(
                 SELECT ctid FROM {table} WHERE {column} < $1 AND {only} LIMIT $2)) AND {only}",
            table = retention.table,
            column = retention.column,
            only = retention.only,
        );
        loop {
            let batch = sqlx::query(sqlx::AssertSqlSafe(statement.as_str()))
                .bind(now - retention.keep)
                .bind(BATCH)
                .execute(pool)
                .await?;
            *count += batch.rows_affected();
            if batch.rows_affected() < BATCH as u64 {
                break;
            }
        }
    }
    Ok(report)
}
