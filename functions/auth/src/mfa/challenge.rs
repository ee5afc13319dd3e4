//! The `mfa_token` a login answers when the password was right and a code is still due: 32
//! random bytes (base64url), stored as SHA-256, good for five minutes and for one successful
//! verification. Failed verifications leave it usable until it expires; the login throttle
//! bounds them.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use nexus_shared::ApiError;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;

pub const LIFETIME: Duration = Duration::from_secs(5 * 60);

/// A new token for `user_id`; the user's spent and expired ones go now.
pub async fn issue(conn: &mut PgConnection, user_id: i64) -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| ApiError::internal("no randomness for an MFA token"))?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    sqlx::query("DELETE FROM mfa_challenges WHERE user_id = $1 AND (used_at IS NOT NULL OR expires_at <= now())")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO mfa_challenges (user_id, token_hash, expires_at)
         VALUES ($1, $2, now() + make_interval(secs => $3))",
    )
    .bind(user_id)
    .bind(hash(&token))
    .bind(LIFETIME.as_secs_f64())
    .execute(conn)
    .await?;
    Ok(token)
}

/// A live challenge: its id, and its user's id and e-mail (what the throttle counts by).
pub struct Challenge {
    pub id: i64,
    pub user_id: i64,
    pub email: String,
}

/// The unspent, unexpired challenge of an active user that `token` names, locked until the
/// transaction ends (two verifications of one token cannot both succeed).
pub async fn lock(conn: &mut PgConnection, token: &str) -> Result<Option<Challenge>, ApiError> {
    let row: Option<(i64, i64, String)> = sqlx::query_as(
        "SELECT c.id, u.id, u.email FROM mfa_challenges c JOIN users u ON u.id = c.user_id
         WHERE c.token_hash = $1 AND c.used_at IS NULL AND c.expires_at > now() AND u.active
         FOR UPDATE OF c",
    )
    .bind(hash(token))
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(id, user_id, email)| Challenge { id, user_id, email }))
}

pub async fn spend(conn: &mut PgConnection, id: i64) -> Result<(), ApiError> {
    sqlx::query("UPDATE mfa_challenges SET used_at = now() WHERE id = $1").bind(id).execute(conn).await?;
    Ok(())
}

fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}
