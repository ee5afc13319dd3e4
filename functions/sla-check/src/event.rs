//! The EventBridge schedule that triggers a sweep.

use nexus_shared::ApiError;
pub use nexus_shared::scheduled::ScheduledEvent;
use sqlx::PgPool;

use crate::report::SweepReport;
use crate::sweep::sweep;

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
