//! What `maps` is served with: the common core and its view cache, whose lifetime
//! (`NEXUS_MAP_CACHE_SECS`, 0–60, default 5) is also the responses' `max-age`.

use std::time::Duration;

use axum::extract::FromRef;
use nexus_shared::AppState;
use nexus_shared::config::{ConfigError, Env, FromEnv, SecretVar};
use nexus_shared::state::WithCore;

use crate::response::Views;

#[derive(Clone)]
pub struct MapsState {
    pub core: AppState,
    pub views: Views,
}

impl MapsState {
    /// `cache_ttl` zero: every request computes its view (what tests want).
    pub fn new(core: AppState, cache_ttl: Duration) -> Self {
        Self { core, views: Views::new(cache_ttl) }
    }

    /// Its own settings from `env`, around a core built elsewhere (the local runner shares one).
    pub fn with_core(core: AppState, env: &Env) -> Result<Self, ConfigError> {
        let ttl = Duration::from_secs(env.number("NEXUS_MAP_CACHE_SECS", 5)?);
        if ttl > Duration::from_secs(60) {
            return Err(ConfigError::Invalid { name: "NEXUS_MAP_CACHE_SECS", reason: "at most 60 seconds".into() });
        }
        Ok(Self::new(core, ttl))
    }
}

impl FromEnv for MapsState {
    const SECRETS: &'static [SecretVar] = AppState::SECRETS;
    async fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Self::with_core(AppState::from_env(env).await?, env)
    }
}

impl WithCore for MapsState {
    fn core(&self) -> &AppState {
        &self.core
    }
}

impl FromRef<MapsState> for Views {
    fn from_ref(state: &MapsState) -> Self {
        state.views.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_view_cache_lives_at_most_a_minute() {
        let env = |secs: &str| {
            Env::from_pairs([
                ("DATABASE_URL", "postgres://nexus@localhost/nexus"),
                ("NEXUS_JWT_SECRET", "0123456789abcdef0123456789abcdef"),
                ("NEXUS_MAP_CACHE_SECS", secs),
            ])
        };
        assert!(MapsState::from_env(&env("60")).await.is_ok());
        let long = MapsState::from_env(&env("61")).await;
        assert!(matches!(long, Err(ConfigError::Invalid { name: "NEXUS_MAP_CACHE_SECS", .. })));
    }
}
