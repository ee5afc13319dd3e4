//! The state core every function that accepts tokens shares: the pool, the signing keys and how
//! it is served over HTTP, built once per cold start. A function with settings of its own keeps
//! them in its own state and gives this core to the shared extractors through `FromRef`.

use std::sync::Arc;

use axum::extract::FromRef;
use sqlx::PgPool;

use crate::auth::token::TokenKeys;
use crate::config::{ConfigError, DatabaseSettings, Env, FromEnv, HttpSettings, JwtSettings, SecretVar};
use crate::db;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    /// The read replica's pool, if one is configured (see [`AppState::read_pool`]).
    pub read: Option<PgPool>,
    pub tokens: Arc<TokenKeys>,
    pub http: HttpSettings,
}

impl AppState {
    pub fn new(pool: PgPool, jwt: &JwtSettings, http: HttpSettings) -> Self {
        Self { pool, read: None, tokens: Arc::new(TokenKeys::new(jwt)), http }
    }

    /// Reads answered from a replica (`pool`) instead of the primary.
    pub fn with_read_pool(mut self, pool: PgPool) -> Self {
        self.read = Some(pool);
        self
    }

    /// Where read-only handlers (reports, maps) query: the replica when one is configured,
    /// otherwise the primary. A replica lags by up to its replication delay (seconds, usually
    /// well under one): only for reads that tolerate it; never read-your-write after a change,
    /// never inside a transaction that writes.
    pub fn read_pool(&self) -> &PgPool {
        self.read.as_ref().unwrap_or(&self.pool)
    }
}

/// Lazy pools: no database connection at cold start. The read pool only when
/// `NEXUS_DATABASE_READ_URL` (or `NEXUS_DATABASE_READ_SECRET_ID`) is set.
impl FromEnv for AppState {
    const SECRETS: &'static [SecretVar] = &[SecretVar::DatabaseUrl, SecretVar::SigningKey, SecretVar::ReadDatabaseUrl];
    async fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let pool = db::lazy_pool(&DatabaseSettings::from_env(env)?)?;
        let state = Self::new(pool, &JwtSettings::from_env(env)?, HttpSettings::from_env(env)?);
        Ok(match DatabaseSettings::read_from_env(env)? {
            Some(read) => state.with_read_pool(db::lazy_pool(&read).map_err(|_| ConfigError::Invalid {
                name: "NEXUS_DATABASE_READ_URL",
                reason: "not a PostgreSQL connection URL (from the variable, or the secret NEXUS_DATABASE_READ_SECRET_ID names)"
                    .into(),
            })?),
            None => state,
        })
    }
}

/// A function's own state around the core: the shared extractors (`Auth` needs the pool and the
/// keys) and layers (`HttpSettings`) reach the core through it.
pub trait WithCore {
    fn core(&self) -> &AppState;
}

impl<S: WithCore> FromRef<S> for AppState {
    fn from_ref(state: &S) -> Self {
        state.core().clone()
    }
}

impl<S: WithCore> FromRef<S> for HttpSettings {
    fn from_ref(state: &S) -> Self {
        state.core().http.clone()
    }
}

impl FromRef<AppState> for HttpSettings {
    fn from_ref(state: &AppState) -> Self {
        state.http.clone()
    }
}
