//! What `pdf` is served with: the common core and the jobcard bucket (`NEXUS_JOBCARD_BUCKET`,
//! required: without it the cold start fails, naming it).

use std::sync::Arc;

use axum::extract::FromRef;
use nexus_shared::AppState;
use nexus_shared::config::{ConfigError, Env, FromEnv, SecretVar};
use nexus_shared::state::WithCore;
use nexus_shared::storage::S3Store;

#[derive(Clone)]
pub struct PdfState {
    pub core: AppState,
    pub jobcards: Arc<S3Store>,
}

impl PdfState {
    pub fn new(core: AppState, jobcards: S3Store) -> Self {
        Self { core, jobcards: Arc::new(jobcards) }
    }

    /// Its own settings from `env`, around a core built elsewhere (the local runner shares one).
    pub async fn with_core(core: AppState, env: &Env) -> Result<Self, ConfigError> {
        Ok(Self::new(core, S3Store::from_env(env).await?))
    }
}

impl FromEnv for PdfState {
    const SECRETS: &'static [SecretVar] = AppState::SECRETS;
    async fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Self::with_core(AppState::from_env(env).await?, env).await
    }
}

impl WithCore for PdfState {
    fn core(&self) -> &AppState {
        &self.core
    }
}

impl FromRef<PdfState> for Arc<S3Store> {
    fn from_ref(state: &PdfState) -> Self {
        state.jobcards.clone()
    }
}
