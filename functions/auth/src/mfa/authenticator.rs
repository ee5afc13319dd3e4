//! A user's authenticator row (`user_mfa`): its secret, sealed under the MFA key and bound to
//! the user (a sealed secret copied to another user's row does not open), whether it is
//! confirmed, and the last time step accepted, which makes every code good once.

use nexus_shared::ApiError;
use nexus_shared::auth::totp::TotpSecret;
use nexus_shared::seal::SealingKey;
use sqlx::PgConnection;

/// The user's authenticator, read with its row locked until the transaction ends.
pub struct Authenticator {
    pub secret: TotpSecret,
    pub confirmed: bool,
    pub last_step: Option<i64>,
}

fn purpose(user_id: i64) -> Vec<u8> {
    format!("nexus totp secret v1 user {user_id}").into_bytes()
}

pub fn seal(key: &SealingKey, user_id: i64, secret: &TotpSecret) -> Result<Vec<u8>, ApiError> {
    key.seal(secret.bytes(), &purpose(user_id))
}

/// Locks and opens the user's authenticator; None when they have not enrolled. A secret that
/// does not open (another key) is an internal error, logged, never shown.
pub async fn lock(conn: &mut PgConnection, key: &SealingKey, user_id: i64) -> Result<Option<Authenticator>, ApiError> {
    let row: Option<(Vec<u8>, bool, Option<i64>)> = sqlx::query_as(
        "SELECT secret_sealed, confirmed_at IS NOT NULL, last_step FROM user_mfa WHERE user_id = $1 FOR UPDATE",
    )
    .bind(user_id)
    .fetch_optional(conn)
    .await?;
    let Some((sealed, confirmed, last_step)) = row else { return Ok(None) };
    let bytes = key
        .open(&sealed, &purpose(user_id))
        .ok_or_else(|| ApiError::internal("a TOTP secret does not open under the configured MFA key"))?;
    Ok(Some(Authenticator { secret: TotpSecret::from_bytes(bytes), confirmed, last_step }))
}

/// Whether the user has confirmed MFA (a login then asks for a code).
pub async fn is_confirmed(conn: &mut PgConnection, user_id: i64) -> Result<bool, ApiError> {
    Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM user_mfa WHERE user_id = $1 AND confirmed_at IS NOT NULL)")
        .bind(user_id)
        .fetch_one(conn)
        .await?)
}

/// Records `step` as the last accepted, only if it comes after the one recorded: of two
/// requests racing with the same code, one wins.
pub async fn accept_step(conn: &mut PgConnection, user_id: i64, step: i64) -> Result<bool, ApiError> {
    let done =
        sqlx::query("UPDATE user_mfa SET last_step = $2 WHERE user_id = $1 AND (last_step IS NULL OR last_step < $2)")
            .bind(user_id)
            .bind(step)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}
