//! What `files` is served with: the common core and the bucket (`NEXUS_JOBCARD_BUCKET`, the
//! one the jobcards use, under its own prefixes `uploads/pending/` and `attachments/`; required:
//! without it the cold start fails, naming it).

use std::sync::Arc;

use axum::extract::FromRef;
use nexus_shared::AppState;
use nexus_shared::config::{ConfigError, Env, FromEnv, SecretVar};
use nexus_shared::state::WithCore;
use nexus_shared::storage::S3Store;

use crate::export::ExportLimits;

#[derive(Clone)]
pub struct FilesState {
    pub core: AppState,
    pub store: Arc<S3Store>,
    /// How big and how long a `POST /api/exports` may be.
    pub exports: ExportLimits,
}

impl FilesState {
    pub fn new(core: AppState, store: S3Store) -> Self {
        Self { core, store: Arc::new(store), exports: ExportLimits::default() }
    }

    /// Other export limits (tests reach them with small data).
    pub fn with_export_limits(mut self, exports: ExportLimits) -> Self {
        self.exports = exports;
        self
    }

    /// Its own settings from `env`, around a core built elsewhere (the local runner shares one).
    pub async fn with_core(core: AppState, env: &Env) -> Result<Self, ConfigError> {
        Ok(Self::new(core, S3Store::from_env(env).await?).with_export_limits(export_limits(env)?))
    }
}

/// `NEXUS_EXPORT_MAX_ROWS` (default 500,000) and `NEXUS_EXPORT_BUDGET_SECS` (default 20, at
/// most 25: the function's timeout and API Gateway's 29 s must leave room for the answer).
fn export_limits(env: &Env) -> Result<ExportLimits, ConfigError> {
    let defaults = ExportLimits::default();
    let max_rows = env.number("NEXUS_EXPORT_MAX_ROWS", defaults.max_rows as u64)?;
    let budget = env.number("NEXUS_EXPORT_BUDGET_SECS", defaults.time_budget.as_secs())?;
    if max_rows == 0 || max_rows > 5_000_000 {
        return Err(ConfigError::Invalid { name: "NEXUS_EXPORT_MAX_ROWS", reason: "between 1 and 5,000,000".into() });
    }
    if budget == 0 || budget > 25 {
        return Err(ConfigError::Invalid {
            name: "NEXUS_EXPORT_BUDGET_SECS",
            reason: "between 1 and 25 seconds".into(),
        });
    }
    Ok(ExportLimits { max_rows: max_rows as i64, time_budget: std::time::Duration::from_secs(budget), ..defaults })
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

    #[test]
    fn export_limits_default_and_stay_under_the_api_timeout() {
        let limits = |pairs: &[(&str, &str)]| export_limits(&Env::from_pairs(pairs.iter().copied()));
        let defaults = limits(&[]).unwrap();
        assert_eq!((defaults.max_rows, defaults.time_budget.as_secs()), (500_000, 20));
        let set = limits(&[("NEXUS_EXPORT_MAX_ROWS", "1000"), ("NEXUS_EXPORT_BUDGET_SECS", "10")]).unwrap();
        assert_eq!((set.max_rows, set.time_budget.as_secs()), (1000, 10));
        let long = limits(&[("NEXUS_EXPORT_BUDGET_SECS", "29")]);
        assert!(matches!(long, Err(ConfigError::Invalid { name: "NEXUS_EXPORT_BUDGET_SECS", .. })));
    }
}
