//! Signing secrets and the key that seals them. A secret is `whsec_` + base64 of 32 random bytes
//! (Standard Webhooks), shown to the admin once and stored only sealed ([`crate::seal`]) under
//! the webhook key (`NEXUS_WEBHOOK_KEY`: 32 bytes as base64 or as 64 hex digits, which is what
//! Secrets Manager can generate; or the secret `NEXUS_WEBHOOK_KEY_SECRET_ID` names): a database
//! dump alone signs nothing.

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::rand::{SecureRandom, SystemRandom};

use crate::config::{ConfigError, Env};
use crate::error::ApiError;
use crate::seal::SealingKey;
use crate::secret::Secret;

const PREFIX: &str = "whsec_";
const SECRET_BYTES: usize = 32;
/// Binds a sealed value to its use: a ciphertext sealed for something else does not open here.
const AAD: &[u8] = b"nexus webhook signing secret v1";

/// A signing secret (`whsec_…`): its `Debug` and `Display` never show it.
#[derive(Clone)]
pub struct SigningSecret(Secret<String>);

impl SigningSecret {
    /// A new secret of 32 bytes from the system's CSPRNG.
    pub fn generate() -> Result<Self, ApiError> {
        let mut bytes = [0u8; SECRET_BYTES];
        SystemRandom::new().fill(&mut bytes).map_err(|_| ApiError::internal("no randomness for a webhook secret"))?;
        Ok(Self(Secret::new(format!("{PREFIX}{}", STANDARD.encode(bytes)))))
    }

    /// `whsec_` + base64 of 24–64 bytes.
    pub fn parse(value: &str) -> Option<Self> {
        let bytes = STANDARD.decode(value.strip_prefix(PREFIX)?).ok()?;
        (24..=64).contains(&bytes.len()).then(|| Self(Secret::new(value.to_string())))
    }

    /// The HMAC key: the bytes the part after `whsec_` encodes.
    pub fn key_bytes(&self) -> Vec<u8> {
        STANDARD.decode(self.expose().trim_start_matches(PREFIX)).unwrap_or_default()
    }

    /// The secret as shown once to the admin.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret([REDACTED])")
    }
}

/// The key that seals signing secrets ([`SealingKey`], bound to this use).
#[derive(Debug)]
pub struct WebhookKey(SealingKey);

impl WebhookKey {
    /// From exactly 32 bytes, as 64 hex digits or as base64.
    pub fn parse(value: &str) -> Option<Self> {
        SealingKey::parse(value).map(Self)
    }

    /// A random key (tests, tools).
    pub fn generate() -> Self {
        Self(SealingKey::generate())
    }

    /// nonce ‖ ciphertext ‖ tag, with a fresh random nonce.
    pub fn seal(&self, secret: &SigningSecret) -> Result<Vec<u8>, ApiError> {
        self.0.seal(secret.expose().as_bytes(), AAD)
    }

    /// The secret in `sealed`; an error (logged, never shown) when it was sealed under another
    /// key or altered.
    pub fn open(&self, sealed: &[u8]) -> Result<SigningSecret, ApiError> {
        let unreadable = || ApiError::internal("a webhook secret does not open under the configured key");
        let plain = self.0.open(sealed, AAD).ok_or_else(unreadable)?;
        let text = std::str::from_utf8(&plain).map_err(|_| unreadable())?;
        SigningSecret::parse(text).ok_or_else(unreadable)
    }
}

/// What both webhook functions are configured with: the sealing key and whether loopback
/// receivers are allowed (tests and the local runner only).
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    pub key: Arc<WebhookKey>,
    pub allow_loopback: bool,
}

impl WebhookSettings {
    /// `NEXUS_WEBHOOK_KEY` (or the secret `NEXUS_WEBHOOK_KEY_SECRET_ID` names: ask for
    /// `SecretVar::WebhookKey`) and `NEXUS_WEBHOOK_ALLOW_LOOPBACK` (`true`; default off).
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let key = WebhookKey(SealingKey::from_env(env, "NEXUS_WEBHOOK_KEY")?);
        let allow_loopback = match env.get("NEXUS_WEBHOOK_ALLOW_LOOPBACK") {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "NEXUS_WEBHOOK_ALLOW_LOOPBACK",
                    reason: "true or false".into(),
                });
            }
        };
        Ok(Self { key: Arc::new(key), allow_loopback })
    }

    /// A random key (tests).
    pub fn for_tests(allow_loopback: bool) -> Self {
        Self { key: Arc::new(WebhookKey::generate()), allow_loopback }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::NONCE_LEN;

    #[test]
    fn a_secret_is_32_random_bytes_in_the_standard_format_and_never_printed() {
        let (a, b) = (SigningSecret::generate().unwrap(), SigningSecret::generate().unwrap());
        assert!(a.expose().starts_with("whsec_") && a.expose() != b.expose());
        assert_eq!(a.key_bytes().len(), 32);
        assert!(SigningSecret::parse(a.expose()).is_some());
        assert!(SigningSecret::parse("whsec_c2hvcnQ=").is_none(), "too short");
        assert!(SigningSecret::parse("sk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_none());
        assert!(!format!("{a:?}").contains(a.expose()));
    }

    #[test]
    fn a_sealed_secret_opens_only_under_its_key_and_unaltered() {
        let (key, other) = (WebhookKey::generate(), WebhookKey::generate());
        let secret = SigningSecret::generate().unwrap();
        let sealed = key.seal(&secret).unwrap();
        assert_eq!(sealed.len(), NONCE_LEN + secret.expose().len() + 16);
        assert!(!String::from_utf8_lossy(&sealed).contains(secret.expose()));
        assert_ne!(sealed, key.seal(&secret).unwrap(), "a fresh nonce each time");
        assert_eq!(key.open(&sealed).unwrap().expose(), secret.expose());
        assert!(other.open(&sealed).is_err());
        let mut altered = sealed.clone();
        altered[NONCE_LEN + 3] ^= 1;
        assert!(key.open(&altered).is_err());
        assert!(key.open(&sealed[..5]).is_err());
    }

    #[test]
    fn the_key_must_be_32_bytes_of_base64_and_loopback_is_off_unless_said() {
        let good = STANDARD.encode([7u8; 32]);
        let env = |pairs: &[(&str, &str)]| Env::from_pairs(pairs.iter().copied());
        let settings = WebhookSettings::from_env(&env(&[("NEXUS_WEBHOOK_KEY", &good)])).unwrap();
        assert!(!settings.allow_loopback);
        assert!(!format!("{settings:?}").contains(&good));
        let on = env(&[("NEXUS_WEBHOOK_KEY", &good), ("NEXUS_WEBHOOK_ALLOW_LOOPBACK", "true")]);
        assert!(WebhookSettings::from_env(&on).unwrap().allow_loopback);
        let hex = "0123456789abcdefABCDEF0123456789abcdef0123456789abcdef0123456789";
        assert!(WebhookSettings::from_env(&env(&[("NEXUS_WEBHOOK_KEY", hex)])).is_ok(), "as Secrets Manager makes it");
        let sealed = WebhookKey::parse(hex).unwrap().seal(&SigningSecret::generate().unwrap()).unwrap();
        assert!(WebhookKey::parse(&hex.to_lowercase()).unwrap().open(&sealed).is_ok(), "hex digits in either case");
        assert!(WebhookKey::parse(&hex[..63]).is_none());
        let short = WebhookSettings::from_env(&env(&[("NEXUS_WEBHOOK_KEY", &STANDARD.encode([7u8; 16]))]));
        assert!(matches!(short, Err(ConfigError::Invalid { name: "NEXUS_WEBHOOK_KEY", .. })));
        assert!(matches!(WebhookSettings::from_env(&env(&[])), Err(ConfigError::Missing("NEXUS_WEBHOOK_KEY"))));
    }
}
