//! The EventBridge schedule that triggers a sweep.

use chrono::{DateTime, Utc};
use nexus_shared::ApiError;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::report::SweepReport;
use crate::sweep::sweep;

/// An EventBridge "Scheduled Event". Only `time` matters: the instant the schedule fired,
/// used as the run's "now" so a delayed or retried invocation judges the lines as of its slot.
/// Every other field (id, account, region, resources, detail) is ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledEvent {
    pub time: DateTime<Utc>,
}

/// Runs one sweep at the event's time and logs what it recorded.
pub async fn handle(pool: &PgPool, event: ScheduledEvent) -> Result<SweepReport, ApiError> {
    let report = sweep(pool, event.time).await?;
    tracing::info!(
        now = %event.time,
        response_warnings = report.response_warnings,
        response_breaches = report.response_breaches,
        resolution_warnings = report.resolution_warnings,
        resolution_breaches = report.resolution_breaches,
        "SLA sweep done"
    );
    Ok(report)
}
