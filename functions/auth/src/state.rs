//! What `auth` is served with: the common core, plus the password hasher and the login
//! throttle, which no other function needs.

use axum::extract::FromRef;
use nexus_shared::AppState;
use nexus_shared::auth::password::{PasswordHashing, Passwords};
use nexus_shared::config::{ConfigError, Env, FromEnv, SecretVar};
use nexus_shared::state::WithCore;

use crate::throttle::LoginThrottle;

#[derive(Clone)]
pub struct AuthState {
    pub core: AppState,
    pub passwords: Passwords,
    pub throttle: LoginThrottle,
}

impl AuthState {
    pub fn new(core: AppState, passwords: Passwords) -> Self {
        Self { core, passwords, throttle: LoginThrottle::default() }
    }
}

/// Production's hashing cost, always: only tests build a cheaper [`Passwords`].
impl FromEnv for AuthState {
    const SECRETS: &'static [SecretVar] = AppState::SECRETS;
    async fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self::new(AppState::from_env(env).await?, Passwords::new(PasswordHashing::OWASP)))
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

impl FromRef<AuthState> for LoginThrottle {
    fn from_ref(state: &AuthState) -> Self {
        state.throttle
    }
}
