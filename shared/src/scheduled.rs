//! What every scheduled (EventBridge) function shares: the event it receives and its Lambda
//! entry point, so each `main.rs` stays a few lines.

use std::future::Future;

use chrono::{DateTime, Utc};
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::ApiError;

/// What a schedule sends: `{"time": ...}` from the template's EventBridge Scheduler schedules
/// (their `Input`), or a classic EventBridge "Scheduled Event", whose other fields are ignored.
/// `time` is the instant the schedule fired, used as the run's "now" so a delayed or retried
/// invocation judges as of its slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledEvent {
    pub time: DateTime<Utc>,
}

/// Runs a scheduled function: a pool built once per cold start (only the database: no signing
/// key), then `job` at each event's `time`, its report logged, emitted as metrics and answered. A failure's cause
/// goes to the log only; the invocation's error names the job and nothing internal.
pub async fn run<F, Fut, R>(job: &'static str, work: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(&'static PgPool, DateTime<Utc>) -> Fut,
    Fut: Future<Output = Result<R, ApiError>>,
    R: Serialize,
{
    crate::telemetry::init();
    let settings = crate::config::load::<crate::config::DatabaseSettings>().await?;
    let pool: &'static PgPool = Box::leak(Box::new(crate::db::lazy_pool(&settings)?));
    let work = &work;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ScheduledEvent>| async move {
        let now = event.payload.time;
        answer(job, now, work(pool, now).await)
    }))
    .await
}

/// Like [`run`], for a job with state of its own (`S`: its settings and the secrets they name,
/// read once per cold start) that also needs the time left before the invocation's deadline, so
/// it can stop short of being killed.
pub async fn run_with<S, F, Fut, R>(job: &'static str, work: F) -> Result<(), lambda_runtime::Error>
where
    S: crate::config::FromEnv + Send + Sync + 'static,
    F: Fn(&'static S, DateTime<Utc>, std::time::Duration) -> Fut,
    Fut: Future<Output = Result<R, ApiError>>,
    R: Serialize,
{
    crate::telemetry::init();
    let state: &'static S = Box::leak(Box::new(crate::config::load::<S>().await?));
    let work = &work;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ScheduledEvent>| async move {
        let now = event.payload.time;
        let deadline_ms = event.context.deadline;
        let now_ms = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0);
        let left = std::time::Duration::from_millis(deadline_ms.saturating_sub(now_ms));
        answer(job, now, work(state, now, left).await)
    }))
    .await
}

/// A run's outcome: its report logged, emitted as metrics and answered; a failure's cause to the
/// log only, the invocation's error naming the job and nothing internal.
fn answer<R: Serialize>(
    job: &'static str,
    now: DateTime<Utc>,
    outcome: Result<R, ApiError>,
) -> Result<R, lambda_runtime::Error> {
    match outcome {
        Ok(report) => {
            let summary = serde_json::to_string(&report).unwrap_or_default();
            tracing::info!(job, %now, report = %summary, "scheduled job done");
            // Its counts as CloudWatch metrics (Embedded Metric Format, on stdout).
            if let Some(line) = crate::metrics::emf_line(&crate::metrics::function_name(job), &report, Utc::now()) {
                println!("{line}");
            }
            Ok(report)
        }
        Err(error) => {
            tracing::error!(%error, job, %now, "scheduled job failed");
            Err(lambda_runtime::Error::from(format!("{job} failed; the cause is in the function's log")))
        }
    }
}
