//! A webhook endpoint as the API shows it and the audit log records it: never its secrets. Both
//! webhook functions use it: `webhooks` for every admin change, `webhook-dispatch` to disable an
//! endpoint that has failed for too long.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{FromRow, PgConnection};
use utoipa::ToSchema;

use crate::audit::{self, Action, Actor, Audited, EntityType};
use crate::db::{Lock, fetch_by_id};
use crate::error::ApiError;

/// A registered endpoint. Its signing secrets are shown only when made (creation, rotation).
#[derive(Debug, Clone, PartialEq, Serialize, FromRow, ToSchema)]
pub struct Webhook {
    pub id: i64,
    /// Where events are POSTed (`https://`, a public address).
    pub url: String,
    /// The event types it receives.
    pub events: Vec<String>,
    pub description: Option<String>,
    /// False: nothing is sent to it (an admin turned it off, or it failed for 3 days).
    pub enabled: bool,
    /// Why it is disabled; null while enabled.
    pub disabled_reason: Option<String>,
    /// The first failed attempt since its last success; null while deliveries succeed.
    pub failing_since: Option<DateTime<Utc>>,
    /// Until when the secret replaced by the last rotation also signs; null when none does.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// The ETag is this number in quotes.
    pub version: i32,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Audited for Webhook {
    const ENTITY: EntityType = EntityType::Webhook;
    fn id(&self) -> i64 {
        self.id
    }
}

/// The columns of [`Webhook`] (no secret among them) from `webhooks`.
pub const COLUMNS: &str = "id, url, events, description, enabled, disabled_reason, failing_since,
    CASE WHEN previous_secret_expires_at > now() THEN previous_secret_expires_at END AS previous_secret_expires_at,
    version, created_by, created_at, updated_at";

pub async fn find(conn: &mut PgConnection, id: i64, lock: Lock) -> Result<Option<Webhook>, ApiError> {
    fetch_by_id(conn, COLUMNS, "webhooks", id, lock).await
}

/// Fails an endpoint's pending deliveries (`endpoint disabled`): nothing is sent to a disabled
/// endpoint; a delivery can be replayed once it is enabled again. One being sent right now is
/// failed too: its dispatcher records a result only for a delivery still pending.
pub async fn fail_pending(conn: &mut PgConnection, id: i64) -> Result<u64, ApiError> {
    Ok(sqlx::query(
        "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, last_error = 'endpoint disabled'
         WHERE webhook_id = $1 AND status = 'pending'",
    )
    .bind(id)
    .execute(conn)
    .await?
    .rows_affected())
}

/// Disables endpoint `id` for `reason`, fails its pending deliveries and audits the change as
/// `actor` (no user: the dispatcher). None when it is gone or already disabled.
pub async fn disable(
    conn: &mut PgConnection,
    id: i64,
    reason: &str,
    actor: &Actor,
) -> Result<Option<Webhook>, ApiError> {
    let Some(before) = find(conn, id, Lock::ForUpdate).await?.filter(|w| w.enabled) else { return Ok(None) };
    let after: Webhook = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE webhooks SET enabled = false, disabled_reason = $2, version = version + 1, updated_at = now()
         WHERE id = $1 RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(reason)
    .fetch_one(&mut *conn)
    .await?;
    fail_pending(conn, id).await?;
    audit::record(conn, actor, EntityType::Webhook, id, Action::Update, Some(&before), Some(&after)).await?;
    Ok(Some(after))
}
