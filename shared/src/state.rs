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
    pub tokens: Arc<TokenKeys>,
    pub http: HttpSettings,
}

impl AppState {
    pub fn new(pool: PgPool, jwt: &JwtSettings, http: HttpSettings) -> Self {
        Self { pool, tokens: Arc::new(TokenKeys::new(jwt)), http }
    }
}

/// A lazy pool: no database connection at cold start.
impl FromEnv for AppState {
    const SECRETS: &'static [SecretVar] = &[SecretVar::DatabaseUrl, SecretVar::SigningKey];
    async fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let pool = db::lazy_pool(&DatabaseSettings::from_env(env)?)?;
        Ok(Self::new(pool, &JwtSettings::from_env(env)?, HttpSettings::from_env(env)?))
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
