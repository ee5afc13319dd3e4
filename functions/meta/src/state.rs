//! What `meta` is served with: the pool (for the health check) and the HTTP settings. It
//! accepts no tokens, so it never reads the signing key (nor has access to it).

use axum::extract::FromRef;
use nexus_shared::config::{ConfigError, DatabaseSettings, Env, FromEnv, HttpSettings, SecretVar};
use sqlx::PgPool;

#[derive(Clone)]
pub struct MetaState {
    pub pool: PgPool,
    pub http: HttpSettings,
}

impl MetaState {
    /// The pool and HTTP settings of a core built elsewhere (the local runner shares one).
    pub fn from_core(core: &nexus_shared::AppState) -> Self {
        Self { pool: core.pool.clone(), http: core.http.clone() }
    }
}

impl FromEnv for MetaState {
    const SECRETS: &'static [SecretVar] = &[SecretVar::DatabaseUrl];
    async fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let pool = nexus_shared::db::lazy_pool(&DatabaseSettings::from_env(env)?)?;
        // No CORS layer in Lambda, as before: API Gateway answers the API's preflights, and the
        // health check and the document are read by tools, not by the web app's pages.
        Ok(Self { pool, http: HttpSettings::default() })
    }
}

impl FromRef<MetaState> for PgPool {
    fn from_ref(state: &MetaState) -> Self {
        state.pool.clone()
    }
}

impl FromRef<MetaState> for HttpSettings {
    fn from_ref(state: &MetaState) -> Self {
        state.http.clone()
    }
}
