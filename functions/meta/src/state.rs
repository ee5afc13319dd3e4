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

#[cfg(test)]
mod tests {
    use super::*;

    /// No signing key to read, and none fetched: only the database secret is asked for.
    #[tokio::test]
    async fn meta_starts_without_a_signing_key_and_without_cors() {
        assert_eq!(MetaState::SECRETS, &[SecretVar::DatabaseUrl]);
        let env = Env::from_pairs([
            ("DATABASE_URL", "postgres://nexus@localhost/nexus"),
            ("NEXUS_CORS_ORIGIN", "https://app.example.com"),
        ]);
        let state = MetaState::from_env(&env).await.expect("the database alone is enough");
        assert!(state.http.cors_origin.is_none());
        let missing = MetaState::from_env(&Env::default()).await;
        assert!(matches!(missing, Err(ConfigError::Missing("DATABASE_URL"))));
    }
}
