//! Every scheduled function's job, as the local runner runs it: once from the command line
//! (`nexus-local sla-check --now …`) and on its schedule's rate while serving, as EventBridge
//! Scheduler runs the deployed functions (template.yaml).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, Utc};
use nexus_shared::ApiError;
use serde_json::Value;

use crate::States;

/// The job's report as JSON, its fields in the order the deployed function answers them.
type Report = Pin<Box<dyn Future<Output = Result<String, ApiError>> + Send>>;

pub struct Job {
    /// The function's binary name, and the runner's command for one run.
    pub name: &'static str,
    /// How often the runner runs it while serving (sla-check: every minute, more often than
    /// deployed, so crossings show while you watch).
    pub every: Duration,
    /// One run at the given instant, with the runner's states (most jobs use only the pool).
    pub run: fn(States, DateTime<Utc>) -> Report,
}

fn report<R: serde::Serialize>(r: Result<R, ApiError>) -> Result<String, ApiError> {
    serde_json::to_string(&r?).map_err(ApiError::internal)
}

/// How long one local webhook dispatch may run (deployed: until shortly before the Lambda's
/// timeout).
const DISPATCH_BUDGET: Duration = Duration::from_secs(30);

pub const JOBS: [Job; 5] = [
    Job {
        name: "sla-check",
        every: Duration::from_secs(60),
        run: |states, now| Box::pin(async move { report(nexus_sla_check::sweep(&states.core.pool, now).await) }),
    },
    Job {
        // Hourly when deployed; every minute here, so a plan's tickets show soon after it is saved.
        name: "pm-generate",
        every: Duration::from_secs(60),
        run: |states, now| Box::pin(async move { report(nexus_pm_generate::run(&states.core.pool, now).await) }),
    },
    Job {
        name: "housekeeping",
        every: Duration::from_secs(24 * 3600),
        run: |states, now| Box::pin(async move { report(nexus_housekeeping::purge(&states.core.pool, now).await) }),
    },
    Job {
        // The KPI rollup of the days that are over (and a batch of older ones to backfill).
        name: "report-rollup",
        every: Duration::from_secs(3600),
        run: |states, now| Box::pin(async move { report(nexus_report_rollup::run(&states.core.pool, now).await) }),
    },
    Job {
        // Every minute when deployed; every 5 seconds here, so a test ping arrives while you wait.
        name: "webhook-dispatch",
        every: Duration::from_secs(5),
        run: |states, now| {
            Box::pin(async move {
                let dispatcher =
                    nexus_webhook_dispatch::Dispatcher::new(states.core.pool.clone(), states.webhooks.webhooks.clone());
                report(dispatcher.run(now, DISPATCH_BUDGET).await)
            })
        },
    },
];

pub fn find(name: &str) -> Option<&'static Job> {
    JOBS.iter().find(|job| job.name == name)
}

/// Runs `job` at the current instant every `job.every`, for as long as the server runs. A
/// failed run is logged and retried on the next tick; it never takes the server down.
pub async fn run_periodically(job: &'static Job, states: States) {
    let mut ticks = tokio::time::interval(job.every);
    // After a stall (a laptop waking up), one catch-up run is enough: each job sees all that is due.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match (job.run)(states.clone(), Utc::now()).await {
            Ok(report) if did_something(&report) => tracing::info!(job = job.name, %report, "scheduled job ran"),
            Ok(_) => {}
            Err(error) => tracing::warn!(job = job.name, %error, "scheduled job failed; retrying at the next tick"),
        }
    }
}

/// A report counts what a run did; one of only zeros is not worth a log line every minute.
fn did_something(report: &str) -> bool {
    let counts: Option<serde_json::Map<String, Value>> = serde_json::from_str(report).ok();
    counts.is_none_or(|counts| counts.values().any(|n| n.as_u64() != Some(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_report_that_counts_something_is_logged() {
        assert!(!did_something(r#"{"response_warnings":0,"sessions":0}"#));
        assert!(did_something(r#"{"response_warnings":0,"sessions":3}"#));
        assert!(did_something("not a report"), "what cannot be read is shown");
    }

    #[test]
    fn every_scheduled_function_is_a_command() {
        assert_eq!(
            JOBS.map(|job| job.name),
            ["sla-check", "pm-generate", "housekeeping", "report-rollup", "webhook-dispatch"]
        );
        assert!(find("sla-check").is_some() && find("pm-generate").is_some() && find("serve").is_none());
    }
}
