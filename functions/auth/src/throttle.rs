//! Login throttling per e-mail, kept in Postgres so it holds across Lambda instances.

use std::time::Duration;

use nexus_shared::ApiError;
use sqlx::PgPool;

/// Failed logins allowed per e-mail within a sliding window before 429.
#[derive(Debug, Clone, Copy)]
pub struct LoginThrottle {
    pub max_failures: i64,
    pub window: Duration,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self { max_failures: 5, window: Duration::from_secs(15 * 60) }
    }
}

/// 429 with the seconds until the oldest counted failure leaves the window, when the e-mail
/// already has the maximum number of failures inside it.
pub async fn check(pool: &PgPool, email: &str, limit: LoginThrottle) -> Result<(), ApiError> {
    let (failures, retry_after): (i64, Option<f64>) = sqlx::query_as(
        "SELECT count(*), EXTRACT(EPOCH FROM min(failed_at) + make_interval(secs => $2) - now())::float8
         FROM login_failures
         WHERE email = $1 AND failed_at > now() - make_interval(secs => $2)",
    )
    .bind(email)
    .bind(limit.window.as_secs_f64())
    .fetch_one(pool)
    .await?;
    if failures >= limit.max_failures {
        let retry_after_secs = retry_after.unwrap_or(1.0).ceil().max(1.0) as u64;
        return Err(ApiError::TooManyRequests { retry_after_secs });
    }
    Ok(())
}

/// Records a failure, dropping this e-mail's failures that have left the window.
pub async fn record_failure(pool: &PgPool, email: &str, limit: LoginThrottle) -> Result<(), ApiError> {
    sqlx::query(
        "WITH expired AS (
             DELETE FROM login_failures WHERE email = $1 AND failed_at <= now() - make_interval(secs => $2)
         )
         INSERT INTO login_failures (email) VALUES ($1)",
    )
    .bind(email)
    .bind(limit.window.as_secs_f64())
    .execute(pool)
    .await?;
    Ok(())
}

/// A successful login starts the count afresh.
pub async fn clear(conn: &mut sqlx::PgConnection, email: &str) -> Result<(), ApiError> {
    sqlx::query("DELETE FROM login_failures WHERE email = $1").bind(email).execute(conn).await?;
    Ok(())
}
