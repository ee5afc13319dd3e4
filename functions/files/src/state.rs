//! What `files` is served with: the common core and the bucket (`NEXUS_JOBCARD_BUCKET`, the
//! one the jobcards use, under its own prefixes `uploads/pending/` and `attachments/`; required:
//! without it the cold start fails, naming it).

use std::sync::Arc;

use axum::extract::FromRef;
use nexus_shared::AppState;
use nexus_shared::config::{ConfigError, Env, FromEnv, SecretVar};
use nexus_shared::state::WithCore;
use nexus_shared::storage::S3Store;

#[derive(Clone)]
pub struct FilesState {
    pub core: AppState,
    pub store: Arc<S3Store>,
}

impl FilesState {
    pub fn new(core: AppState, store: S3Store) -> Self {
        Self { core, store: Arc::new(store) }
    }

    /// Its own settings from `env`, around a core built elsewhere (the local runner shares one).
    pub async fn with_core(core: AppState, env: &Env) -> Result<Self, ConfigError> {
        Ok(Self::new(core, S3Store::from_env(env).await?))
    }
}

impl FromEnv for FilesState {
    const SECRETS: &'static [SecretVar] = AppState::SECRETS;
    async fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Self::with_core(AppState::from_env(env).await?, env).await
    }
}

impl WithCore for FilesState {
    fn core(&self) -> &AppState {
        &self.core
    }
}

impl FromRef<FilesState> for Arc<S3Store> {
    fn from_ref(state: &FilesState) -> Self {
        state.store.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bucket is required at cold start, not discovered missing at the first upload.
    #[tokio::test]
    async fn files_does_not_start_without_its_bucket() {
        let env = Env::from_pairs([
            ("DATABASE_URL", "postgres://nexus@localhost/nexus"),
            ("NEXUS_JWT_SECRET", "0123456789abcdef0123456789abcdef"),
        ]);
        let missing = FilesState::from_env(&env).await;
        assert!(matches!(missing, Err(ConfigError::Missing("NEXUS_JOBCARD_BUCKET"))));
    }
}
