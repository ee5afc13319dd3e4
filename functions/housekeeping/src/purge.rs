//! The purge: each table's rows older than its retention, deleted in short batches so no
//! transaction holds many row locks or runs long beside the API's traffic.

use chrono::{DateTime, Duration, Utc};
use nexus_shared::ApiError;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

/// What one run deleted, per table.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeReport {
    pub login_failures: u64,
    pub idempotency_keys: u64,
    pub sessions: u64,
}

/// How long each kind of row is kept, by which column it is aged, and where its count goes.
pub struct Retention {
    pub table: &'static str,
    pub column: &'static str,
    pub keep: Duration,
    pub counted_in: fn(&mut PurgeReport) -> &mut u64,
}

/// Login failures count for 15 minutes (the throttle) and are kept a day for investigation;
/// clients retry within minutes, so a key a day old has served; sessions last 30 days and are
/// kept 30 more after expiry, so a stolen-token inquiry can still see them.
pub const RETENTION: [Retention; 3] = [
    Retention {
        table: "login_failures",
        column: "failed_at",
        keep: Duration::days(1),
        counted_in: |r| &mut r.login_failures,
    },
    Retention {
        table: "idempotency_keys",
        column: "created_at",
        keep: Duration::days(1),
        counted_in: |r| &mut r.idempotency_keys,
    },
    Retention { table: "sessions", column: "expires_at", keep: Duration::days(30), counted_in: |r| &mut r.sessions },
];

const BATCH: i64 = 5_000;

/// Deletes every row older than its retention as of `now`.
pub async fn purge(pool: &PgPool, now: DateTime<Utc>) -> Result<PurgeReport, ApiError> {
    let mut report = PurgeReport::default();
    for retention in &RETENTION {
        let count = (retention.counted_in)(&mut report);
        // Table and column names are the constants above, never input.
        let statement = format!(
            "DELETE FROM {table} WHERE ctid = ANY(ARRAY(
                 SELECT ctid FROM {table} WHERE {column} < $1 LIMIT $2))",
            table = retention.table,
            column = retention.column
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
