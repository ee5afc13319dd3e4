//! What `auth` is served with: the common core, plus the password hasher, the login throttle
//! and the MFA settings, which no other function needs.

use axum::extract::FromRef;
use nexus_shared::AppState;
use nexus_shared::auth::password::{PasswordHashing, Passwords};
use nexus_shared::config::{ConfigError, Env, FromEnv, MfaSettings, SecretVar};
use nexus_shared::state::WithCore;

use crate::throttle::LoginThrottle;

#[derive(Clone)]
pub struct AuthState {
    pub core: AppState,
    pub passwords: Passwords,
    pub throttle: LoginThrottle,
    pub mfa: MfaSettings,
}

impl AuthState {
    /// MFA secrets sealed under a random key, no role required to use MFA (tests; the deployed
    /// function reads its settings, [`FromEnv`]).
    pub fn new(core: AppState, passwords: Passwords) -> Self {
        Self { core, passwords, throttle: LoginThrottle::default(), mfa: MfaSettings::for_tests() }
    }

    pub fn with_mfa(mut self, mfa: MfaSettings) -> Self {
        self.mfa = mfa;
        self
    }
}

/// Production's hashing cost, always: only tests build a cheaper [`Passwords`].
impl FromEnv for AuthState {
    const SECRETS: &'static [SecretVar] =
        &[SecretVar::DatabaseUrl, SecretVar::SigningKey, SecretVar::ReadDatabaseUrl, SecretVar::MfaKey];
    async fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let state = Self::new(AppState::from_env(env).await?, Passwords::new(PasswordHashing::OWASP));
        Ok(state.with_mfa(MfaSettings::from_env(env)?))
    }
}

impl WithCore for AuthState {
    fn core(&self) -> &AppState {
        &self.core
    }
}

impl FromRef<AuthState> for Passwords {
    fn from_ref(state: &AuthState) -> Self {
        state.passwords.clone()
    }
}

impl FromRef<AuthState> for MfaSettings {
    fn from_ref(state: &AuthState) -> Self {
        state.mfa.clone()
    }
}

impl FromRef<AuthState> for LoginThrottle {
    fn from_ref(state: &AuthState) -> Self {
        state.throttle
    }
}
