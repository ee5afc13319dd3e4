//! `pm-generate`: the scheduled Lambda that turns PM plans into tickets. Each run generates
//! every occurrence that has come within its plan's lead time (in each site's own zone), once;
//! the work itself is `nexus_shared::pm::generate`, which the `pm` API's meter readings and
//! forecast share.

use chrono::{DateTime, Utc};
use nexus_shared::ApiError;
pub use nexus_shared::pm::GenerateReport;
use sqlx::PgPool;

/// One run at `now` (the schedule's `time`).
pub async fn run(pool: &PgPool, now: DateTime<Utc>) -> Result<GenerateReport, ApiError> {
    nexus_shared::pm::generate(pool, now).await
}
