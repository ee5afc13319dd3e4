//! Session rows: created at login, checked on every authenticated request, revoked at logout,
//! on refresh-token reuse and when a user is deactivated.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::auth::role::Role;
use crate::auth::token::RefreshToken;
use crate::error::ApiError;

#[derive(Debug, Clone, Copy)]
pub enum RevokeReason {
    Logout,
    RefreshTokenReuse,
    UserDeactivated,
    PasswordChange,
    /// MFA was confirmed: sessions opened without it end.
    MfaEnrolled,
}

impl RevokeReason {
    fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::RefreshTokenReuse => "refresh_token_reuse",
            Self::UserDeactivated => "user_deactivated",
            Self::PasswordChange => "password_change",
            Self::MfaEnrolled => "mfa_enrolled",
        }
    }
}

/// Opens a session for `user_id` and returns its first refresh token.
pub async fn open(conn: &mut PgConnection, user_id: i64, expires_at: DateTime<Utc>) -> Result<RefreshToken, ApiError> {
    open_as(conn, user_id, expires_at, SessionKind::Full).await
}

/// What a session may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    Full,
    /// The user's role requires MFA and they have not enrolled: only enrolment (and me, logout,
    /// refresh) is open to it (`extractor::AuthOrEnrolling`).
    MfaEnrolmentOnly,
}

/// Opens a session of `kind` for `user_id` and returns its first refresh token.
pub async fn open_as(
    conn: &mut PgConnection,
    user_id: i64,
    expires_at: DateTime<Utc>,
    kind: SessionKind,
) -> Result<RefreshToken, ApiError> {
    let mut token = RefreshToken::generate(0)?;
    token.session_id = sqlx::query_scalar(
        "INSERT INTO sessions (user_id, refresh_token_hash, expires_at, mfa_enrolment_only) VALUES ($1, $2, $3, $4)
         RETURNING id",
    )
    .bind(user_id)
    .bind(token.hash())
    .bind(expires_at)
    .bind(kind == SessionKind::MfaEnrolmentOnly)
    .fetch_one(conn)
    .await?;
    Ok(token)
}

/// The outcome of presenting a refresh token.
pub enum Rotation {
    Rotated {
        user_id: i64,
        token: RefreshToken,
    },
    /// Unknown, expired, revoked, or the user is inactive.
    Invalid,
    /// A token that was already rotated away: someone replayed it, so the whole session is revoked.
    Reused,
}

/// Swaps the session's refresh secret for a new one. The compare-and-swap on the stored hash
/// means two racing refreshes with the same token cannot both succeed.
pub async fn rotate(conn: &mut PgConnection, presented: &RefreshToken) -> Result<Rotation, ApiError> {
    let next = RefreshToken::generate(presented.session_id)?;
    let rotated: Option<i64> = sqlx::query_scalar(
        "UPDATE sessions s SET refresh_token_hash = $3, refreshed_at = now()
         FROM users u
         WHERE s.id = $1 AND s.refresh_token_hash = $2 AND s.revoked_at IS NULL AND s.expires_at > now()
           AND u.id = s.user_id AND u.active
         RETURNING s.user_id",
    )
    .bind(presented.session_id)
    .bind(presented.hash())
    .bind(next.hash())
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(user_id) = rotated {
        return Ok(Rotation::Rotated { user_id, token: next });
    }
    // The session is live but the secret is not its current one: a replayed token.
    let revoked = sqlx::query(
        "UPDATE sessions SET revoked_at = now(), revoked_reason = 'refresh_token_reuse'
         WHERE id = $1 AND revoked_at IS NULL AND refresh_token_hash <> $2",
    )
    .bind(presented.session_id)
    .bind(presented.hash())
    .execute(conn)
    .await?;
    Ok(if revoked.rows_affected() > 0 { Rotation::Reused } else { Rotation::Invalid })
}

pub async fn revoke(conn: &mut PgConnection, session_id: i64, reason: RevokeReason) -> Result<(), ApiError> {
    sqlx::query("UPDATE sessions SET revoked_at = now(), revoked_reason = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(session_id)
        .bind(reason.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends every live session of `user_id` except `keep` (the caller's own).
pub async fn revoke_others(
    conn: &mut PgConnection,
    user_id: i64,
    keep: i64,
    reason: RevokeReason,
) -> Result<u64, ApiError> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = now(), revoked_reason = $3
         WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .bind(keep)
    .bind(reason.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

pub async fn revoke_all_of_user(conn: &mut PgConnection, user_id: i64, reason: RevokeReason) -> Result<u64, ApiError> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = now(), revoked_reason = $2 WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .bind(reason.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Who holds a live session, with their current roles (read fresh, so a role change or a
/// deactivation applies to the very next request).
pub struct Principal {
    pub id: i64,
    pub email: String,
    pub roles: Vec<Role>,
    /// Someone else chose the password (the first admin): only the password change is open.
    pub must_change_password: bool,
    /// The session may only enrol in MFA ([`SessionKind::MfaEnrolmentOnly`]).
    pub mfa_enrolment_only: bool,
}

pub async fn principal(pool: &sqlx::PgPool, session_id: i64, user_id: i64) -> Result<Option<Principal>, ApiError> {
    let row: Option<(i64, String, Vec<String>, bool, bool)> = sqlx::query_as(
        "SELECT u.id, u.email,
                COALESCE(array_agg(ur.role ORDER BY ur.role) FILTER (WHERE ur.role IS NOT NULL), '{}'),
                u.must_change_password, s.mfa_enrolment_only
         FROM sessions s
         JOIN users u ON u.id = s.user_id
         LEFT JOIN user_roles ur ON ur.user_id = u.id
         WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND s.expires_at > now() AND u.active
         GROUP BY u.id, s.id",
    )
    .bind(session_id)
    .bind(user_id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(id, email, roles, must_change_password, mfa_enrolment_only)| Principal {
        id,
        email,
        roles: roles.iter().filter_map(|r| Role::parse(r)).collect(),
        must_change_password,
        mfa_enrolment_only,
    }))
}
