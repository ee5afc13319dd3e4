//! Small secrets at rest, sealed with AES-256-GCM under a 32-byte key the database never holds
//! (webhook signing secrets, TOTP secrets): a database dump alone opens nothing. Each use binds
//! its ciphertexts to itself with its own associated data, so a value sealed for one use does
//! not open as another, and each use has its own key setting.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

pub use ring::aead::NONCE_LEN;

use crate::config::{ConfigError, Env};
use crate::error::ApiError;

/// An AES-256-GCM key. Its `Debug` never shows it.
pub struct SealingKey(LessSafeKey);

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealingKey([REDACTED])")
    }
}

impl SealingKey {
    /// From exactly 32 bytes, as 64 hex digits (what Secrets Manager can generate) or as base64.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        let bytes = if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32).map(|i| u8::from_str_radix(&value[2 * i..2 * i + 2], 16).ok()).collect::<Option<Vec<u8>>>()?
        } else {
            STANDARD.decode(value).ok().filter(|b| b.len() == 32)?
        };
        Some(Self(LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &bytes).ok()?)))
    }

    /// The key in the variable `name` (required), or an error naming it.
    pub fn from_env(env: &Env, name: &'static str) -> Result<Self, ConfigError> {
        Self::parse(env.required(name)?)
            .ok_or(ConfigError::Invalid { name, reason: "must be 32 bytes, as base64 or 64 hex digits".into() })
    }

    /// A random key (tests, tools).
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        SystemRandom::new().fill(&mut bytes).expect("the system's CSPRNG");
        Self(LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &bytes).expect("a 32-byte key")))
    }

    /// nonce ‖ ciphertext ‖ tag, with a fresh random nonce; `purpose` is the associated data.
    pub fn seal(&self, plain: &[u8], purpose: &[u8]) -> Result<Vec<u8>, ApiError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).map_err(|_| ApiError::internal("no randomness for a nonce"))?;
        let mut sealed = plain.to_vec();
        self.0
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(purpose), &mut sealed)
            .map_err(|_| ApiError::internal("sealing a secret failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The plain bytes, or None when `sealed` was sealed under another key or for another
    /// purpose, or altered.
    pub fn open(&self, sealed: &[u8], purpose: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = ciphertext.to_vec();
        let plain = self.0.open_in_place(nonce, Aad::from(purpose), &mut buffer).ok()?;
        Some(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_under_its_key_for_its_purpose_and_unaltered() {
        let (key, other) = (SealingKey::generate(), SealingKey::generate());
        let sealed = key.seal(b"a secret", b"use one").unwrap();
        assert_eq!(sealed.len(), NONCE_LEN + 8 + 16);
        assert_ne!(sealed, key.seal(b"a secret", b"use one").unwrap(), "a fresh nonce each time");
        assert_eq!(key.open(&sealed, b"use one").unwrap(), b"a secret");
        assert!(key.open(&sealed, b"use two").is_none(), "sealed for another use");
        assert!(other.open(&sealed, b"use one").is_none());
        let mut altered = sealed.clone();
        altered[NONCE_LEN + 1] ^= 1;
        assert!(key.open(&altered, b"use one").is_none());
        assert!(key.open(&sealed[..5], b"use one").is_none());
        assert_eq!(format!("{key:?}"), "SealingKey([REDACTED])");
    }

    #[test]
    fn the_key_is_32_bytes_as_hex_or_base64_and_its_setting_is_named() {
        let hex = "0123456789abcdefABCDEF0123456789abcdef0123456789abcdef0123456789";
        let sealed = SealingKey::parse(hex).unwrap().seal(b"x", b"p").unwrap();
        assert!(SealingKey::parse(&hex.to_lowercase()).unwrap().open(&sealed, b"p").is_some(), "either case");
        assert!(SealingKey::parse(&hex[..63]).is_none());
        assert!(SealingKey::parse(&STANDARD.encode([7u8; 32])).is_some());
        assert!(SealingKey::parse(&STANDARD.encode([7u8; 16])).is_none());
        let env = Env::from_pairs([("NEXUS_SOME_KEY", "short")]);
        assert!(matches!(
            SealingKey::from_env(&env, "NEXUS_SOME_KEY"),
            Err(ConfigError::Invalid { name: "NEXUS_SOME_KEY", .. })
        ));
        assert!(matches!(SealingKey::from_env(&env, "NEXUS_OTHER_KEY"), Err(ConfigError::Missing("NEXUS_OTHER_KEY"))));
    }
}
