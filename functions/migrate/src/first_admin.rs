//! The first admin of a deployment. Sign-up makes viewers and only an admin grants roles, so a
//! fresh deployment needs one made for it: after migrating, if no active admin exists, the
//! configured e-mail becomes one with a random password that only Secrets Manager holds (never
//! a log line), and which its owner must replace before anything else.

use nexus_shared::ApiError;
use nexus_shared::audit::{self, Action, Actor, EntityType};
use nexus_shared::auth::password::Passwords;
use nexus_shared::auth::session::{self, RevokeReason};
use nexus_shared::config::{ConfigError, Env};
use nexus_shared::secret::Secret;
use nexus_shared::user::Email;
use serde::Serialize;
use sqlx::PgPool;

/// Who becomes the first admin, and where their initial password is written.
#[derive(Debug, Clone)]
pub struct FirstAdmin {
    pub email: Email,
    /// The Secrets Manager secret (name or ARN) the template creates for it.
    pub password_secret_id: String,
}

impl FirstAdmin {
    /// `NEXUS_ADMIN_EMAIL` and `NEXUS_ADMIN_PASSWORD_SECRET_ID`; `None` when the e-mail is unset.
    pub fn from_env(env: &Env) -> Result<Option<Self>, ConfigError> {
        let Some(email) = env.get("NEXUS_ADMIN_EMAIL") else { return Ok(None) };
        let email = Email::parse(email).map_err(|reason| ConfigError::Invalid { name: "NEXUS_ADMIN_EMAIL", reason })?;
        let password_secret_id = env.required("NEXUS_ADMIN_PASSWORD_SECRET_ID")?.to_string();
        Ok(Some(Self { email, password_secret_id }))
    }
}

/// What the run did about the first admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminOutcome {
    /// An active admin exists: nothing was touched.
    Exists,
    /// The account was made (or, if the e-mail was taken, taken back: new password, sessions
    /// ended) and its initial password written to the secret.
    Created,
    /// No `NEXUS_ADMIN_EMAIL`.
    NotConfigured,
}

/// Makes sure an active admin exists. Runs under a transaction-scoped advisory lock, so two
/// concurrent deploys cannot both create one (and leave the secret holding the loser's password).
/// The secret is written before the account commits: a failed write leaves no admin and the
/// next run tries again; a failed commit leaves a password no account has, which the next run
/// replaces.
pub async fn ensure(
    pool: &PgPool,
    passwords: &Passwords,
    admin: &FirstAdmin,
    secrets: &aws_sdk_secretsmanager::Client,
) -> Result<AdminOutcome, ApiError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('nexus: the first admin'))").execute(&mut *tx).await?;
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM users u JOIN user_roles r ON r.user_id = u.id AND r.role = 'admin' WHERE u.active)",
    )
    .fetch_one(&mut *tx)
    .await?;
    if exists {
        return Ok(AdminOutcome::Exists);
    }
    let password = random_password()?;
    let hash = passwords.hash(Secret::new(password.clone())).await?;
    nexus_shared::secrets_manager::put(secrets, &admin.password_secret_id, &password).await?;
    // An account someone registered with this e-mail before the deploy is taken back: whoever
    // knew its password must not become the admin.
    let (id, existed): (i64, bool) = sqlx::query_as(
        "INSERT INTO users (email, full_name, password_hash, must_change_password) VALUES ($1, 'Administrator', $2, true)
         ON CONFLICT (email) DO UPDATE SET password_hash = EXCLUDED.password_hash, must_change_password = true, active = true
         RETURNING id, xmax <> 0",
    )
    .bind(admin.email.as_str())
    .bind(&hash)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, 'admin') ON CONFLICT DO NOTHING")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let ended = session::revoke_all_of_user(&mut tx, id, RevokeReason::PasswordChange).await?;
    let after = serde_json::json!({"email": admin.email.as_str(), "roles": ["admin"], "password": "initial, to be changed", "sessions_ended": ended});
    let action = if existed { Action::Update } else { Action::Create };
    audit::record(&mut tx, &Actor::default(), EntityType::User, id, action, None, Some(&after)).await?;
    tx.commit().await?;
    Ok(AdminOutcome::Created)
}

/// 32 characters from 192 random bits (URL-safe base64): within the 12–128 the API accepts.
fn random_password() -> Result<String, ApiError> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::internal(format!("no randomness: {e}")))?;
    Ok(base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_random_password_qualifies_and_differs() {
        let (a, b) = (random_password().unwrap(), random_password().unwrap());
        assert_eq!(a.len(), 32);
        assert!(nexus_shared::user::check_password(&a).is_ok());
        assert_ne!(a, b);
    }

    #[test]
    fn the_admin_is_optional_but_its_secret_is_not() {
        let none = FirstAdmin::from_env(&Env::default()).unwrap();
        assert!(none.is_none());
        let without_secret = FirstAdmin::from_env(&Env::from_pairs([("NEXUS_ADMIN_EMAIL", "ops@bank.example")]));
        assert!(matches!(without_secret, Err(ConfigError::Missing("NEXUS_ADMIN_PASSWORD_SECRET_ID"))));
        let bad = FirstAdmin::from_env(&Env::from_pairs([("NEXUS_ADMIN_EMAIL", "not an e-mail")]));
        assert!(matches!(bad, Err(ConfigError::Invalid { name: "NEXUS_ADMIN_EMAIL", .. })));
    }
}
