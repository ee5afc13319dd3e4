//! State over a `#[sqlx::test]` pool with a fixed signing key and weak (fast) password hashing,
//! and users with live sessions and ready tokens.

use std::time::Duration;

use nexus_shared::AppState;
use nexus_shared::auth::{Role, session};
use nexus_shared::config::{Config, DatabaseSettings, JwtSettings, LoginThrottle, PasswordHashing};
use nexus_shared::secret::Secret;
use sqlx::PgPool;

pub const TEST_PASSWORD: &str = "correct-horse-battery-staple";

/// Configuration for tests: weak password hashing (fast), a fixed JWT key.
pub fn config() -> Config {
    Config {
        database: DatabaseSettings {
            url: Secret::new(String::new()),
            max_connections: 5,
            acquire_timeout: Duration::from_secs(5),
            ssl_mode: None,
        },
        jwt: JwtSettings {
            secret: Secret::new(b"test-signing-key-of-at-least-32-bytes".to_vec()),
            issuer: "nexus".into(),
            audience: "nexus-api".into(),
            access_ttl: Duration::from_secs(900),
            refresh_ttl: Duration::from_secs(3600),
        },
        password_hashing: PasswordHashing::FAST_INSECURE_FOR_TESTS,
        login_throttle: LoginThrottle::default(),
        // Tests change data and look again at once: no view may be served from a cache.
        map_cache_ttl: Duration::ZERO,
        cors_origin: None,
    }
}

pub fn state(pool: PgPool) -> AppState {
    AppState::new(config(), pool)
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
    let hash = state.passwords.hash(Secret::new(TEST_PASSWORD.into())).await.expect("hash");
    let mut tx = state.pool.begin().await.expect("begin");
    let id = nexus_shared::user::ensure(&mut tx, email, None, &hash, roles).await.expect("insert user");
    let refresh = session::open(&mut tx, id, chrono::Utc::now() + chrono::Duration::hours(1)).await.expect("session");
    tx.commit().await.expect("commit");
    let token = state.tokens.issue_access(id, refresh.session_id).expect("token");
    TestUser { id, email: email.into(), token }
}

/// One user per role plus `None` for anonymous: the five callers every endpoint is checked for.
pub async fn everyone(state: &AppState) -> Vec<(&'static str, Option<TestUser>)> {
    let mut callers = vec![("anonymous", None)];
    for &role in Role::ALL {
        let u = user(state, &format!("{}@test.example", role.as_str()), &[role]).await;
        callers.push((role.as_str(), Some(u)));
    }
    callers
}
