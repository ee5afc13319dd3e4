//! A user's multi-factor authentication as the rest of the system sees it: the `auth` function
//! enrols, confirms and verifies (functions/auth/src/mfa/); an admin resets it here.

use sqlx::PgConnection;

use crate::error::ApiError;

/// Removes the user's authenticator, recovery codes and pending challenges: they sign in with
/// the password alone until they enrol again. Whether there was anything to remove.
pub async fn reset(conn: &mut PgConnection, user_id: i64) -> Result<bool, ApiError> {
    sqlx::query("DELETE FROM mfa_challenges WHERE user_id = $1").bind(user_id).execute(&mut *conn).await?;
    sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1").bind(user_id).execute(&mut *conn).await?;
    let removed = sqlx::query("DELETE FROM user_mfa WHERE user_id = $1").bind(user_id).execute(conn).await?;
    Ok(removed.rows_affected() > 0)
}
