//! What every handler gets: the pool, the configuration and the keys, built once per cold start.

use std::sync::Arc;

use sqlx::PgPool;

use crate::auth::password::Passwords;
use crate::auth::token::TokenKeys;
use crate::config::Config;
use crate::db;
use crate::storage::S3Store;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub tokens: Arc<TokenKeys>,
    pub passwords: Passwords,
    /// Object storage, for the functions that write documents (only `pdf` builds one).
    pub storage: Option<Arc<S3Store>>,
}

impl AppState {
    pub fn new(config: Config, pool: PgPool) -> Self {
        Self {
            tokens: Arc::new(TokenKeys::new(&config.jwt)),
            passwords: Passwords::new(config.password_hashing),
            pool,
            config: Arc::new(config),
            storage: None,
        }
    }

    pub fn with_storage(mut self, storage: S3Store) -> Self {
        self.storage = Some(Arc::new(storage));
        self
    }

    /// [`AppState::from_env`] for a function without authenticated routes: it never reads the
    /// signing key (see [`Config::load_without_signing_key`]).
    pub async fn from_env_without_signing_key() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let config = Config::load_without_signing_key().await?;
        let pool = db::lazy_pool(&config.database)?;
        Ok(Self::new(config, pool))
    }

    /// Configuration from the environment (and Secrets Manager, when secret ids are given) and
    /// a lazy pool: no database connection at cold start.
    pub async fn from_env() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let config = Config::load().await?;
        let pool = db::lazy_pool(&config.database)?;
        Ok(Self::new(config, pool))
    }
}
