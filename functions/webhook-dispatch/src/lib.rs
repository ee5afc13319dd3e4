//! `webhook-dispatch`: the scheduled Lambda (every minute) that sends due webhook deliveries.
//!
//! - **Claiming**: a batch of due deliveries of enabled endpoints is claimed in one statement
//!   (`FOR UPDATE SKIP LOCKED`) that counts the attempt and moves `next_attempt_at` a lease
//!   ([`LEASE`]) ahead, so concurrent dispatchers never take the same delivery, and one killed
//!   mid-send leaves it to be retried when the lease is over, with the same `webhook-id`.
//! - **Sending**: the event's payload as compact JSON, signed (Standard Webhooks: `webhook-id`,
//!   `webhook-timestamp`, `webhook-signature`, two signatures during a rotation), POSTed to the
//!   address the SSRF guard checked, within [`SEND_TIMEOUT`].
//! - **Results**: a 2xx is delivered (and clears the endpoint's `failing_since`); anything else
//!   is retried after [`retry_after`] (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; in practice
//!   rounded up to the next run), then failed. An endpoint failing for [`DISABLE_AFTER`] is
//!   disabled, with an audit row. A result is recorded only for the claim that made it (same
//!   attempt count, still pending), so a late dispatcher cannot overwrite a later one.
//! - **Bounded**: batches of [`BATCH`] sent concurrently, no new batch when less than
//!   [`SEND_TIMEOUT`] plus a margin is left before the deadline.

mod client;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use nexus_shared::ApiError;
use nexus_shared::audit::Actor;
use nexus_shared::config::{ConfigError, DatabaseSettings, Env, FromEnv, SecretVar};
use nexus_shared::webhook::endpoint;
use nexus_shared::webhook::secret::{SigningSecret, WebhookSettings};
use nexus_shared::webhook::{signature, ssrf};
use serde::Serialize;
use sqlx::{FromRow, PgPool};
use tokio_rustls::rustls::ClientConfig;

/// The waits after each failed attempt (Standard Webhooks' schedule): 8 attempts in all.
pub const SCHEDULE: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];
/// One attempt, from resolving the host to the response's status line.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a claimed delivery is held: well past an attempt, so only a dispatcher that died
/// lets it go.
pub const LEASE: Duration = Duration::from_secs(60);
/// Deliveries claimed (and sent concurrently) at once.
pub const BATCH: i64 = 25;
/// An endpoint failing this long (since its first failure after a success) is disabled.
pub const DISABLE_AFTER: chrono::Duration = chrono::Duration::days(3);
/// Time kept in hand before the deadline, beyond one attempt, to record the last results.
const MARGIN: Duration = Duration::from_secs(5);

/// The wait before the next attempt after `attempts` attempts have failed; None: give up.
pub fn retry_after(attempts: i32) -> Option<Duration> {
    usize::try_from(attempts).ok().and_then(|n| n.checked_sub(1)).and_then(|i| SCHEDULE.get(i).copied())
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DispatchReport {
    /// Deliveries claimed and attempted.
    pub attempted: u64,
    pub delivered: u64,
    /// Failed attempts that will be retried.
    pub retrying: u64,
    /// Deliveries whose last attempt failed: given up.
    pub failed: u64,
    /// Endpoints disabled for failing too long.
    pub endpoints_disabled: u64,
}

/// The dispatcher: the pool, the webhook settings (the key that opens secrets, loopback or not)
/// and the TLS client configuration, built once per cold start.
pub struct Dispatcher {
    pub pool: PgPool,
    pub settings: WebhookSettings,
    tls: Arc<ClientConfig>,
}

impl FromEnv for Dispatcher {
    const SECRETS: &'static [SecretVar] = &[SecretVar::DatabaseUrl, SecretVar::WebhookKey];
    async fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let pool = nexus_shared::db::lazy_pool(&DatabaseSettings::from_env(env)?)?;
        Ok(Self::new(pool, WebhookSettings::from_env(env)?))
    }
}

/// A claimed delivery, with what sending it needs.
#[derive(FromRow)]
struct Claimed {
    id: i64,
    webhook_id: i64,
    message_id: String,
    attempts: i32,
    url: String,
    secret_sealed: Vec<u8>,
    previous_secret_sealed: Option<Vec<u8>>,
    payload: serde_json::Value,
}

/// One attempt's outcome.
enum Outcome {
    Delivered(u16),
    Failed { status: Option<u16>, error: String },
}

impl Dispatcher {
    pub fn new(pool: PgPool, settings: WebhookSettings) -> Self {
        Self { pool, settings, tls: client::tls_config() }
    }

    /// The scheduled function's job: a run at the schedule's `time`, ending before the deadline.
    pub async fn run_scheduled(&self, now: DateTime<Utc>, left: Duration) -> Result<DispatchReport, ApiError> {
        self.run(now, left).await
    }

    /// Sends what is due at `now` (and falls due while it runs), for at most `budget`.
    pub async fn run(&self, now: DateTime<Utc>, budget: Duration) -> Result<DispatchReport, ApiError> {
        let started = Instant::now();
        let mut report = DispatchReport::default();
        while started.elapsed() + SEND_TIMEOUT + MARGIN <= budget {
            let at = now + chrono::Duration::from_std(started.elapsed()).unwrap_or_default();
            let batch = self.claim(at).await?;
            if batch.is_empty() {
                break;
            }
            let mut sends = tokio::task::JoinSet::new();
            for claimed in batch {
                let (tls, settings) = (self.tls.clone(), self.settings.clone());
                sends.spawn(async move {
                    let outcome = attempt(&tls, &settings, &claimed).await;
                    (claimed, outcome)
                });
            }
            while let Some(joined) = sends.join_next().await {
                let (claimed, outcome) = joined.map_err(ApiError::internal)?;
                report.attempted += 1;
                self.record(&claimed, outcome, at, &mut report).await?;
            }
        }
        Ok(report)
    }

    /// Claims up to [`BATCH`] due deliveries of enabled endpoints: the attempt is counted and the
    /// delivery leased, in one statement, skipping rows another dispatcher is claiming.
    async fn claim(&self, at: DateTime<Utc>) -> Result<Vec<Claimed>, ApiError> {
        Ok(sqlx::query_as(
            "WITH due AS (
                 SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id AND w.enabled
                 WHERE d.status = 'pending' AND d.next_attempt_at <= $1
                 ORDER BY d.next_attempt_at, d.id LIMIT $2
                 FOR UPDATE OF d SKIP LOCKED)
             UPDATE webhook_deliveries d
             SET attempts = d.attempts + 1, next_attempt_at = $1 + make_interval(secs => $3), last_attempt_at = $1
             FROM due, webhooks w, webhook_events e
             WHERE d.id = due.id AND w.id = d.webhook_id AND e.id = d.event_id
             RETURNING d.id, d.webhook_id, d.message_id, d.attempts, w.url, w.secret_sealed,
                 CASE WHEN w.previous_secret_expires_at > $1 THEN w.previous_secret_sealed END AS previous_secret_sealed,
                 e.payload",
        )
        .bind(at)
        .bind(BATCH)
        .bind(LEASE.as_secs_f64())
        .fetch_all(&self.pool)
        .await?)
    }

    /// Records an attempt's outcome, only if the delivery is still this claim's; on a failure,
    /// marks the endpoint failing and disables it after [`DISABLE_AFTER`].
    async fn record(
        &self,
        claimed: &Claimed,
        outcome: Outcome,
        at: DateTime<Utc>,
        report: &mut DispatchReport,
    ) -> Result<(), ApiError> {
        let mut tx = self.pool.begin().await?;
        match outcome {
            Outcome::Delivered(status) => {
                let webhook: Option<i64> = sqlx::query_scalar(
                    "UPDATE webhook_deliveries SET status = 'delivered', next_attempt_at = NULL, delivered_at = $3,
                         last_status_code = $4, last_error = NULL
                     WHERE id = $1 AND attempts = $2 AND status = 'pending' RETURNING webhook_id",
                )
                .bind(claimed.id)
                .bind(claimed.attempts)
                .bind(at)
                .bind(i32::from(status))
                .fetch_optional(&mut *tx)
                .await?;
                // Not ours any more (replayed, the endpoint disabled or deleted): nothing to say.
                if let Some(webhook) = webhook {
                    sqlx::query("UPDATE webhooks SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL")
                        .bind(webhook)
                        .execute(&mut *tx)
                        .await?;
                    report.delivered += 1;
                }
            }
            Outcome::Failed { status, error } => {
                let next =
                    retry_after(claimed.attempts).map(|wait| at + chrono::Duration::from_std(wait).unwrap_or_default());
                let updated = sqlx::query(
                    "UPDATE webhook_deliveries SET status = CASE WHEN $3::timestamptz IS NULL THEN 'failed' ELSE 'pending' END,
                         next_attempt_at = $3, last_status_code = $4, last_error = $5
                     WHERE id = $1 AND attempts = $2 AND status = 'pending'",
                )
                .bind(claimed.id)
                .bind(claimed.attempts)
                .bind(next)
                .bind(status.map(i32::from))
                .bind(&error)
                .execute(&mut *tx)
                .await?;
                if updated.rows_affected() == 0 {
                    // Not ours any more (replayed, the endpoint disabled or deleted): nothing to say.
                    tx.commit().await?;
                    return Ok(());
                }
                if next.is_some() {
                    report.retrying += 1;
                } else {
                    report.failed += 1;
                }
                let failing_since: Option<DateTime<Utc>> = sqlx::query_scalar(
                    "UPDATE webhooks SET failing_since = COALESCE(failing_since, $2) WHERE id = $1 AND enabled
                     RETURNING failing_since",
                )
                .bind(claimed.webhook_id)
                .bind(at)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(since) = failing_since.filter(|since| at - *since >= DISABLE_AFTER) {
                    let reason = format!(
                        "every delivery failed since {} (3 days); last: {error}",
                        since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    );
                    let actor = Actor { user_id: None, request_id: None };
                    if endpoint::disable(&mut tx, claimed.webhook_id, &reason, &actor).await?.is_some() {
                        report.endpoints_disabled += 1;
                        tracing::warn!(
                            webhook_id = claimed.webhook_id,
                            "webhook endpoint disabled after 3 days of failures"
                        );
                    }
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

/// One attempt at a claimed delivery: the secrets opened, the URL checked again (and resolved
/// once), the body signed and POSTed, all within [`SEND_TIMEOUT`].
async fn attempt(tls: &Arc<ClientConfig>, settings: &WebhookSettings, claimed: &Claimed) -> Outcome {
    let failed = |error: &str| Outcome::Failed { status: None, error: error.to_string() };
    let open = |sealed: &[u8]| settings.key.open(sealed);
    let secrets: Vec<SigningSecret> =
        match (open(&claimed.secret_sealed), claimed.previous_secret_sealed.as_deref().map(open)) {
            (Ok(current), None) => vec![current],
            (Ok(current), Some(Ok(previous))) => vec![current, previous],
            (Err(error), _) | (_, Some(Err(error))) => {
                tracing::error!(%error, webhook_id = claimed.webhook_id, "a webhook secret does not open");
                return failed("the signing secret could not be read");
            }
        };
    let body = claimed.payload.to_string().into_bytes();
    let send = async {
        let (target, addrs) = match ssrf::check(&claimed.url, settings.allow_loopback).await {
            Ok(checked) => checked,
            Err(refusal) => return failed(&format!("refused: {refusal}")),
        };
        // The timestamp of this attempt (not of the schedule's slot): receivers check it is recent.
        let timestamp = Utc::now().timestamp();
        let signed: Vec<&SigningSecret> = secrets.iter().collect();
        let headers = [
            ("webhook-id", claimed.message_id.clone()),
            ("webhook-timestamp", timestamp.to_string()),
            ("webhook-signature", signature::header(&signed, &claimed.message_id, timestamp, &body)),
        ];
        match client::post(tls, &target, &addrs, &headers, body.clone()).await {
            Ok(status) if (200..300).contains(&status) => Outcome::Delivered(status),
            Ok(status) => Outcome::Failed { status: Some(status), error: format!("HTTP {status}") },
            Err(error) => failed(&error),
        }
    };
    match tokio::time::timeout(SEND_TIMEOUT, send).await {
        Ok(outcome) => outcome,
        Err(_) => failed("timed out after 5 s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_schedule_is_standard_webhooks_and_ends_after_eight_attempts() {
        let cases: [(i32, Option<u64>); 10] = [
            (0, None),
            (1, Some(5)),
            (2, Some(5 * 60)),
            (3, Some(30 * 60)),
            (4, Some(2 * 3600)),
            (5, Some(5 * 3600)),
            (6, Some(10 * 3600)),
            (7, Some(10 * 3600)),
            (8, None),
            (9, None),
        ];
        for (attempts, wait) in cases {
            assert_eq!(retry_after(attempts), wait.map(Duration::from_secs), "after {attempts} attempts");
        }
        assert_eq!(retry_after(-1), None);
        assert!(LEASE > SEND_TIMEOUT * 2, "a lease outlasts any attempt");
    }
}
