//! One pass over every SLA line, in one transaction and one statement.

use chrono::{DateTime, SecondsFormat, Utc};
use nexus_shared::{ApiError, webhook};
use sqlx::PgPool;

use crate::line::{self, Line};
use crate::report::SweepReport;

/// Serialises overlapping sweeps. Row locks and the unique constraint already keep them from
/// recording anything twice, but two runs locking many tickets in different orders (each
/// statement locks as its plan scans) could deadlock; one run at a time cannot.
/// The value is "NXSLACHK" in ASCII, unlikely to collide with another advisory lock.
const SWEEP_LOCK_KEY: i64 = 0x4E58_534C_4143_484B;

/// Records every SLA line crossed at `now` that no run has recorded yet: flags the ticket,
/// writes the `sla_events` row (`detected_at = now`), its audit row and its webhook events, all
/// committed together.
/// A run overlapping another waits for it, then records only what is left.
pub async fn sweep(pool: &PgPool, now: DateTime<Utc>) -> Result<SweepReport, ApiError> {
    // The audit log has no actor for the check; this says which run wrote the rows.
    let run_id = format!("sla-check:{}", now.to_rfc3339_opts(SecondsFormat::Micros, true));
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(SWEEP_LOCK_KEY).execute(&mut *tx).await?;
    let mut report = SweepReport::default();
    // Not prepared: planned with this run's `now` every time, so the planner sees how few tickets
    // are due and keeps to the partial indexes (a generic plan guesses a third).
    let recorded: Vec<(String, i64)> =
        sqlx::query_as(line::statement()).bind(now).bind(&run_id).persistent(false).fetch_all(&mut *tx).await?;
    for (kind, count) in recorded {
        let line = Line::from_kind(&kind).ok_or_else(|| ApiError::internal(format!("unknown SLA kind {kind}")))?;
        report.add(line, u64::try_from(count).unwrap_or_default());
    }
    // The run's events for the webhooks subscribed to them, in the same transaction.
    if report.total() > 0 && webhook::sla::wanted(&mut tx).await? {
        let recorded: Vec<webhook::sla::Recorded> = sqlx::query_as(
            "SELECT ticket_id, kind, line_at, detected_at FROM sla_events WHERE detected_at = $1 ORDER BY id",
        )
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        webhook::sla::emit(&mut tx, &recorded).await?;
    }
    tx.commit().await?;
    Ok(report)
}
