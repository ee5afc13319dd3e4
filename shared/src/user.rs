//! Users as the API shows them, and the e-mail address type. Shared because both the `auth`
//! function (signup, me) and the `users` function (administration) answer with a user.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{FromRow, PgConnection};
use utoipa::ToSchema;

use crate::auth::Role;
use crate::error::ApiError;

/// A user account. The password hash never leaves the database layer.
#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct User {
    pub id: i64,
    #[schema(format = "email")]
    pub email: String,
    pub full_name: Option<String>,
    pub active: bool,
    #[sqlx(try_from = "Vec<String>")]
    #[schema(value_type = Vec<Role>)]
    pub roles: RoleList,
    /// Multi-factor authentication is confirmed: signing in also asks for a code.
    pub mfa_enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl crate::audit::Audited for User {
    const ENTITY: crate::audit::EntityType = crate::audit::EntityType::User;
    fn id(&self) -> i64 {
        self.id
    }
}

/// The roles column as read from `array_agg`, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct RoleList(pub Vec<Role>);

impl TryFrom<Vec<String>> for RoleList {
    type Error = String;
    fn try_from(names: Vec<String>) -> Result<Self, String> {
        names
            .iter()
            .map(|n| Role::parse(n).ok_or_else(|| format!("unknown role {n}")))
            .collect::<Result<_, _>>()
            .map(RoleList)
    }
}

/// The SELECT list that produces a [`User`] from `users u`.
pub const USER_COLUMNS: &str = "u.id, u.email, u.full_name, u.active,
        COALESCE((SELECT array_agg(ur.role ORDER BY ur.role) FROM user_roles ur WHERE ur.user_id = u.id), '{}') AS roles,
        EXISTS (SELECT 1 FROM user_mfa m WHERE m.user_id = u.id AND m.confirmed_at IS NOT NULL) AS mfa_enabled,
        u.created_at, u.updated_at";

pub async fn find(conn: &mut PgConnection, id: i64) -> Result<Option<User>, ApiError> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1")))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

/// Creates the account (or finds it by e-mail) and grants it `roles`; returns its id. For
/// seeding, benchmarks and tests: sign-up has its own insert that answers 409 on a taken e-mail.
pub async fn ensure(
    conn: &mut PgConnection,
    email: &str,
    full_name: Option<&str>,
    password_hash: &str,
    roles: &[Role],
) -> Result<i64, ApiError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (email, full_name, password_hash) VALUES ($1, $2, $3)
         ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email RETURNING id",
    )
    .bind(email)
    .bind(full_name)
    .bind(password_hash)
    .fetch_one(&mut *conn)
    .await?;
    let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    sqlx::query("INSERT INTO user_roles (user_id, role) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING")
        .bind(id)
        .bind(&roles)
        .execute(conn)
        .await?;
    Ok(id)
}

/// An e-mail address, trimmed and lower-cased: the form it is stored, compared and unique in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, String> {
        let email = raw.trim().to_lowercase();
        let invalid = || Err("must be an e-mail address such as name@example.com".to_string());
        if email.len() < 3 || email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return invalid();
        }
        let Some((local, domain)) = email.split_once('@') else {
            return invalid();
        };
        let domain_ok = domain.contains('.')
            && !domain.contains('@')
            && domain.split('.').all(|label| !label.is_empty() && label.len() <= 63);
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return invalid();
        }
        Ok(Email(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a new password's length (12–128 characters, per the NIST/OWASP guidance to allow
/// long passphrases and not impose composition rules).
pub fn check_password(password: &str) -> Result<(), String> {
    let len = password.chars().count();
    if !(crate::auth::password::MIN_LEN..=crate::auth::password::MAX_LEN).contains(&len) {
        return Err(format!(
            "must be {} to {} characters",
            crate::auth::password::MIN_LEN,
            crate::auth::password::MAX_LEN
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(Email::parse("  Budi.Santoso@Example.CO.ID ").unwrap().as_str(), "budi.santoso@example.co.id");
        for bad in ["", "no-at-sign", "@example.com", "a@b", "a@@b.com", "a b@c.com", "a@.com", "a@b..com"] {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn password_length_is_12_to_128() {
        assert!(check_password(&"x".repeat(11)).is_err());
        assert!(check_password(&"x".repeat(12)).is_ok());
        assert!(check_password(&"x".repeat(128)).is_ok());
        assert!(check_password(&"x".repeat(129)).is_err());
    }
}

/// Whether `user_id` is an active user with the technician role: who work may be assigned to.
pub async fn is_active_technician(conn: &mut PgConnection, user_id: i64) -> Result<bool, ApiError> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM users u JOIN user_roles r ON r.user_id = u.id
                        WHERE u.id = $1 AND u.active AND r.role = 'technician')",
    )
    .bind(user_id)
    .fetch_one(conn)
    .await?)
}
