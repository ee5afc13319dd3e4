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

    /// Configuration from the environment (and Secrets Manager, when secret ids are given) and
    /// a lazy pool: no database connection at cold start.
    pub async fn from_env() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let config = Config::load().await?;
        let pool = db::lazy_pool(&config.database)?;
        Ok(Self::new(config, pool))
    }
}
