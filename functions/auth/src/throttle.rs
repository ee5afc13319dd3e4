//! Login throttling per e-mail and per address, kept in Postgres so it holds across Lambda
//! instances: a few failures lock one e-mail (guessing one account's password), many failures
//! from one address lock that address (trying one password on many accounts).

use std::net::IpAddr;
use std::time::Duration;

use nexus_shared::ApiError;
use sqlx::PgExecutor;

/// Failed logins allowed per e-mail and per address within a sliding window before 429.
#[derive(Debug, Clone, Copy)]
pub struct LoginThrottle {
    pub max_failures: i64,
    pub max_failures_per_ip: i64,
    pub window: Duration,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self { max_failures: 5, max_failures_per_ip: 50, window: Duration::from_secs(15 * 60) }
    }
}

/// 429 with the seconds until the oldest counted failure leaves the window, when the e-mail or
/// the caller's address already has the maximum number of failures inside it. On the pool, or
/// on the connection of a transaction already open (one connection per request).
pub async fn check<'c>(
    db: impl PgExecutor<'c>,
    email: &str,
    ip: Option<IpAddr>,
    limit: LoginThrottle,
) -> Result<(), ApiError> {
    let (by_email, email_retry, by_ip, ip_retry): (i64, Option<f64>, i64, Option<f64>) = sqlx::query_as(
        "SELECT e.n, e.retry, i.n, i.retry FROM
             (SELECT count(*) AS n, EXTRACT(EPOCH FROM min(failed_at) + make_interval(secs => $2) - now())::float8 AS retry
              FROM login_failures WHERE email = $1 AND failed_at > now() - make_interval(secs => $2)) e,
             (SELECT count(*) AS n, EXTRACT(EPOCH FROM min(failed_at) + make_interval(secs => $2) - now())::float8 AS retry
              FROM login_failures WHERE ip = $3::inet AND failed_at > now() - make_interval(secs => $2)) i",
    )
    .bind(email)
    .bind(limit.window.as_secs_f64())
    .bind(ip.map(|ip| ip.to_string())) // text: sqlx encodes `inet` only with an extra crate
    .fetch_one(db)
    .await?;
    let wait = |retry: Option<f64>| retry.unwrap_or(1.0).ceil().max(1.0) as u64;
    let mut retry_after_secs = 0;
    if by_email >= limit.max_failures {
        retry_after_secs = wait(email_retry);
    }
    if by_ip >= limit.max_failures_per_ip {
        retry_after_secs = retry_after_secs.max(wait(ip_retry));
    }
    if retry_after_secs > 0 {
        return Err(ApiError::TooManyRequests { retry_after_secs });
    }
    Ok(())
}

/// Records a failure, dropping this e-mail's failures that have left the window (the rest go
/// with housekeeping's purge).
pub async fn record_failure<'c>(
    db: impl PgExecutor<'c>,
    email: &str,
    ip: Option<IpAddr>,
    limit: LoginThrottle,
) -> Result<(), ApiError> {
    sqlx::query(
        "WITH expired AS (
             DELETE FROM login_failures WHERE email = $1 AND failed_at <= now() - make_interval(secs => $2)
         )
         INSERT INTO login_failures (email, ip) VALUES ($1, $3::inet)",
    )
    .bind(email)
    .bind(limit.window.as_secs_f64())
    .bind(ip.map(|ip| ip.to_string()))
    .execute(db)
    .await?;
    Ok(())
}

/// A successful login starts the e-mail's count afresh (the address's failures still count: one
/// account of the attacker's own must not reset a spraying run).
pub async fn clear(conn: &mut sqlx::PgConnection, email: &str) -> Result<(), ApiError> {
    sqlx::query("DELETE FROM login_failures WHERE email = $1").bind(email).execute(conn).await?;
    Ok(())
}
