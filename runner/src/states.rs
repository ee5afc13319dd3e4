//! Every function's state, built from one environment around one core (one pool), as each
//! Lambda builds its own from the same variables.

use std::time::Duration;

use nexus_auth::AuthState;
use nexus_files::FilesState;
use nexus_maps::MapsState;
use nexus_meta::MetaState;
use nexus_pdf::PdfState;
use nexus_shared::AppState;
use nexus_shared::auth::password::{PasswordHashing, Passwords};
use nexus_shared::config::{ConfigError, Env, FromEnv, MfaSettings, SecretVar};
use nexus_shared::storage::S3Store;
use nexus_shared::webhook::secret::WebhookSettings;
use nexus_webhooks::WebhooksState;

#[derive(Clone)]
pub struct States {
    pub core: AppState,
    pub auth: AuthState,
    pub maps: MapsState,
    pub pdf: PdfState,
    pub files: FilesState,
    pub meta: MetaState,
    pub webhooks: WebhooksState,
}

impl States {
    /// For tests: every state around `core`, the maps' cache TTL and the jobcard store given;
    /// webhook secrets sealed under a random key, loopback receivers refused.
    pub fn new(core: AppState, passwords: Passwords, map_cache_ttl: Duration, jobcards: S3Store) -> Self {
        let files = FilesState::new(core.clone(), jobcards.clone());
        let (maps, pdf) = (MapsState::new(core.clone(), map_cache_ttl), PdfState::new(core.clone(), jobcards));
        let webhooks = WebhooksState::new(core.clone(), WebhookSettings::for_tests(false));
        Self::around(core, passwords, maps, pdf, files, webhooks)
    }

    fn around(
        core: AppState,
        passwords: Passwords,
        maps: MapsState,
        pdf: PdfState,
        files: FilesState,
        webhooks: WebhooksState,
    ) -> Self {
        let auth = AuthState::new(core.clone(), passwords);
        Self { auth, maps, pdf, files, meta: MetaState::from_core(&core), webhooks, core }
    }

    /// Hashes the demo accounts' passwords as auth verifies them.
    pub fn passwords(&self) -> &Passwords {
        &self.auth.passwords
    }
}

/// A key that seals the local runner's webhook secrets when `NEXUS_WEBHOOK_KEY` is not set
/// (`scripts/run` sets one of its own, kept in `.local/`): development only, never deployed.
const DEVELOPMENT_WEBHOOK_KEY: &str = "bmV4dXMtbG9jYWwtZGV2ZWxvcG1lbnQtb25seS1rZXk=";

/// Likewise the key that seals the local runner's TOTP secrets when `NEXUS_MFA_KEY` is not set
/// (`scripts/run` keeps one in `.local/`): development only, never deployed.
const DEVELOPMENT_MFA_KEY: &str = "bmV4dXMtbG9jYWwtbWZhLWtleS1kZXZlbG9wbWVudDA=";

/// As deployed, except that the jobcard bucket defaults to `nexus-jobcards` (what `scripts/run`
/// creates in moto): the runner's other commands never touch S3; and the webhook key defaults
/// and MFA keys default to development ones; no role is required to use MFA unless
/// `NEXUS_MFA_REQUIRED_ROLES` says so, so the demo logins work with a password alone.
impl FromEnv for States {
    const SECRETS: &'static [SecretVar] = &[
        SecretVar::DatabaseUrl,
        SecretVar::SigningKey,
        SecretVar::ReadDatabaseUrl,
        SecretVar::WebhookKey,
        SecretVar::MfaKey,
    ];
    async fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let env = env
            .clone()
            .with_default("NEXUS_JOBCARD_BUCKET", "nexus-jobcards")
            .with_default("NEXUS_WEBHOOK_KEY", DEVELOPMENT_WEBHOOK_KEY)
            .with_default("NEXUS_MFA_KEY", DEVELOPMENT_MFA_KEY);
        let core = AppState::from_env(&env).await?;
        let maps = MapsState::with_core(core.clone(), &env)?;
        let pdf = PdfState::with_core(core.clone(), &env).await?;
        // Attachments share the jobcards' bucket (under their own prefixes) and its client.
        let files = FilesState::new(core.clone(), pdf.jobcards.as_ref().clone());
        let webhooks = WebhooksState::with_core(core.clone(), &env)?;
        let mut states = Self::around(core, Passwords::new(PasswordHashing::OWASP), maps, pdf, files, webhooks);
        states.auth = states.auth.with_mfa(MfaSettings::from_env(&env)?);
        Ok(states)
    }
}
