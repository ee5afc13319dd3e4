//! What every handler gets: the pool, the configuration and the keys, built once per cold start.

use std::sync::Arc;

use sqlx::PgPool;

use crate::auth::password::Passwords;
use crate::auth::token::TokenKeys;
use crate::config::Config;
use crate::db;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub tokens: Arc<TokenKeys>,
    pub passwords: Passwords,
}

impl AppState {
    pub fn new(config: Config, pool: PgPool) -> Self {
        Self {
            tokens: Arc::new(TokenKeys::new(&config.jwt)),
            passwords: Passwords::new(config.password_hashing),
            pool,
            config: Arc::new(config),
        }
    }

    /// Configuration from the environment and a lazy pool: no network at cold start.
    pub fn from_env() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let config = Config::from_env()?;
        let pool = db::lazy_pool(&config.database)?;
        Ok(Self::new(config, pool))
    }
}
