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

#[cfg(test)]
mod tests {
    use super::*;

    /// The bucket is required at cold start, not discovered missing at the first jobcard.
    #[tokio::test]
    async fn pdf_does_not_start_without_its_bucket() {
        let env = Env::from_pairs([
            ("DATABASE_URL", "postgres://nexus@localhost/nexus"),
            ("NEXUS_JWT_SECRET", "0123456789abcdef0123456789abcdef"),
        ]);
        let missing = PdfState::from_env(&env).await;
        assert!(matches!(missing, Err(ConfigError::Missing("NEXUS_JOBCARD_BUCKET"))));
    }
}
