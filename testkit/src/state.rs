//! State over a `#[sqlx::test]` pool with a fixed signing key and weak (fast) password hashing,
//! and users with live sessions and ready tokens.

use std::time::Duration;

use nexus_shared::AppState;
use nexus_shared::auth::key_set::KeySet;
use nexus_shared::auth::password::{PasswordHashing, Passwords};
use nexus_shared::auth::{Role, session};
use nexus_shared::config::{HttpSettings, JwtSettings};
use nexus_shared::secret::Secret;
use sqlx::PgPool;

pub const TEST_PASSWORD: &str = "correct-horse-battery-staple";

/// The signing key tests sign with: a plain string, the legacy key (kid `"0"`).
pub const TEST_SIGNING_KEY: &str = "test-signing-key-of-at-least-32-bytes";

/// A fixed signing key (the built functions are given the same one, [`crate::built::lambda_env`]),
/// never read again.
pub fn jwt() -> JwtSettings {
    JwtSettings {
        keys: KeySet::parse(TEST_SIGNING_KEY).expect("the test key"),
        secret_id: None,
        key_refresh: Duration::from_secs(300),
        issuer: "nexus".into(),
        audience: "nexus-api".into(),
        access_ttl: Duration::from_secs(900),
        refresh_ttl: Duration::from_secs(3600),
    }
}

/// Weak, fast hashing: tests make thousands of hashes. Verifying reads the cost from the hash,
/// so a function under test checks these as it checks production's.
pub fn passwords() -> Passwords {
    Passwords::new(PasswordHashing::FAST_INSECURE_FOR_TESTS)
}

/// The common core over a test's pool, with [`jwt`] and no CORS origin.
pub fn state(pool: PgPool) -> AppState {
    AppState::new(pool, &jwt(), HttpSettings::default())
}

/// A user in the database with a live session and its access token.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: i64,
    pub email: String,
    pub token: String,
}

/// Creates an active user holding `roles` (password [`TEST_PASSWORD`]) and signs them in.
pub async fn user(state: &AppState, email: &str, roles: &[Role]) -> TestUser {
    let hash = passwords().hash(Secret::new(TEST_PASSWORD.into())).await.expect("hash");
    let mut tx = state.pool.begin().await.expect("begin");
    let id = nexus_shared::user::ensure(&mut tx, email, None, &hash, roles).await.expect("insert user");
    let refresh = session::open(&mut tx, id, chrono::Utc::now() + chrono::Duration::hours(1)).await.expect("session");
    tx.commit().await.expect("commit");
    let token = state.tokens.issue_access(id, refresh.session_id).await.expect("token");
    TestUser { id, email: email.into(), token }
}

/// One signed-in user per role, `<role>@test.example`: whom most tests act as.
#[derive(Debug, Clone)]
pub struct Crew {
    pub admin: TestUser,
    pub supervisor: TestUser,
    pub technician: TestUser,
    pub viewer: TestUser,
}

impl Crew {
    pub fn get(&self, role: Role) -> &TestUser {
        match role {
            Role::Admin => &self.admin,
            Role::Supervisor => &self.supervisor,
            Role::Technician => &self.technician,
            Role::Viewer => &self.viewer,
        }
    }
}

pub async fn crew(state: &AppState) -> Crew {
    let one = async |role: Role| user(state, &format!("{role}@test.example"), &[role]).await;
    Crew {
        admin: one(Role::Admin).await,
        supervisor: one(Role::Supervisor).await,
        technician: one(Role::Technician).await,
        viewer: one(Role::Viewer).await,
    }
}

/// The [`Crew`] plus `None` for anonymous: the five callers every endpoint is checked for.
pub async fn everyone(state: &AppState) -> Vec<(&'static str, Option<TestUser>)> {
    let crew = crew(state).await;
    let mut callers = vec![("anonymous", None)];
    callers.extend(Role::ALL.iter().map(|&role| (role.as_str(), Some(crew.get(role).clone()))));
    callers
}
