//! What `webhooks` is served with: the common core and the webhook settings (the key that seals
//! signing secrets, and whether loopback receivers are allowed).

use axum::extract::FromRef;
use nexus_shared::AppState;
use nexus_shared::config::{ConfigError, Env, FromEnv, SecretVar};
use nexus_shared::state::WithCore;
use nexus_shared::webhook::secret::WebhookSettings;

#[derive(Clone)]
pub struct WebhooksState {
    pub core: AppState,
    pub webhooks: WebhookSettings,
}

impl WebhooksState {
    pub fn new(core: AppState, webhooks: WebhookSettings) -> Self {
        Self { core, webhooks }
    }

    /// Its own settings from `env`, around a core built elsewhere (the local runner shares one).
    pub fn with_core(core: AppState, env: &Env) -> Result<Self, ConfigError> {
        Ok(Self::new(core, WebhookSettings::from_env(env)?))
    }
}

impl FromEnv for WebhooksState {
    const SECRETS: &'static [SecretVar] =
        &[SecretVar::DatabaseUrl, SecretVar::SigningKey, SecretVar::ReadDatabaseUrl, SecretVar::WebhookKey];
    async fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Self::with_core(AppState::from_env(env).await?, env)
    }
}

impl WithCore for WebhooksState {
    fn core(&self) -> &AppState {
        &self.core
    }
}

impl FromRef<WebhooksState> for WebhookSettings {
    fn from_ref(state: &WebhooksState) -> Self {
        state.webhooks.clone()
    }
}
