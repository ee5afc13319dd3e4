//! The access-token signing keys: what the signing secret holds, which key signs, and how a
//! rotation adds one key and retires the old ones.
//!
//! The secret holds `{"keys": [{"kid", "key", "not_before"}]}` (`key`: the HMAC key's text, 32
//! bytes or more; `not_before`: RFC 3339). A plain string, as the secret held before keys
//! rotated, is one key with kid `"0"` that has always been valid, so no deployment has to
//! rewrite its secret and tokens signed before kids existed (no `kid` header) still verify.
//! Every listed key verifies; the newest whose `not_before` has passed signs. A rotation
//! publishes a key two refresh intervals before it signs, so every instance has read it by the
//! time a token signed with it arrives.

use std::collections::HashSet;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::secret::Secret;

/// The kid of a plain-string secret, and of tokens that carry none (signed before kids).
pub const LEGACY_KID: &str = "0";

/// HS256 with a shorter key is guessable offline from any token.
pub const MIN_KEY_BYTES: usize = 32;

/// One signing key. Its value prints as `[REDACTED]`.
#[derive(Debug, Clone)]
pub struct Key {
    pub kid: String,
    key: Secret<String>,
    /// Before this instant the key verifies but does not sign.
    pub not_before: DateTime<Utc>,
}

impl Key {
    /// The HMAC key: the UTF-8 bytes of its text, as the plain secret's always were.
    pub fn bytes(&self) -> &[u8] {
        self.key.expose().as_bytes()
    }

    /// A new random key (48 bytes, base64url: 64 characters) that signs from `not_before`.
    pub fn generate(now: DateTime<Utc>, not_before: DateTime<Utc>) -> Result<Self, KeySetError> {
        let mut bytes = [0u8; 48];
        getrandom::fill(&mut bytes).map_err(|_| KeySetError("no randomness for a new key".into()))?;
        let mut id = [0u8; 4];
        getrandom::fill(&mut id).map_err(|_| KeySetError("no randomness for a new kid".into()))?;
        let kid = format!("{}-{:08x}", now.format("%Y%m%d"), u32::from_be_bytes(id));
        Ok(Self { kid, key: Secret::new(URL_SAFE_NO_PAD.encode(bytes)), not_before })
    }
}

/// Why a secret is not a key set. Never holds any part of a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeySetError(String);

/// The keys, oldest `not_before` first; never empty.
#[derive(Debug, Clone)]
pub struct KeySet {
    keys: Vec<Key>,
}

impl KeySet {
    /// A plain string (one legacy key, kid `"0"`) or the JSON key set; either way every key is
    /// at least [`MIN_KEY_BYTES`] long and kids are unique.
    pub fn parse(secret: &str) -> Result<Self, KeySetError> {
        if !secret.trim_start().starts_with('{') {
            let legacy =
                Key { kid: LEGACY_KID.into(), key: Secret::new(secret.to_string()), not_before: DateTime::UNIX_EPOCH };
            return Self::new(vec![legacy]);
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Stored {
            keys: Vec<StoredKey>,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct StoredKey {
            kid: String,
            key: String,
            not_before: DateTime<Utc>,
        }
        // serde's messages may quote the offending value (a key): only where it is.
        let stored: Stored = serde_json::from_str(secret).map_err(|e| {
            KeySetError(format!(
                "not a key set {{\"keys\": [{{\"kid\", \"key\", \"not_before\"}}]}} (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        Self::new(
            stored
                .keys
                .into_iter()
                .map(|k| Key { kid: k.kid, key: Secret::new(k.key), not_before: k.not_before })
                .collect(),
        )
    }

    fn new(mut keys: Vec<Key>) -> Result<Self, KeySetError> {
        if keys.is_empty() {
            return Err(KeySetError("holds no key".into()));
        }
        let mut kids = HashSet::new();
        for key in &keys {
            if key.kid.is_empty() || !kids.insert(key.kid.as_str()) {
                return Err(KeySetError(format!("kid {:?} is empty or listed twice", key.kid)));
            }
            if key.bytes().len() < MIN_KEY_BYTES {
                return Err(KeySetError(format!("key {:?} must be at least {MIN_KEY_BYTES} bytes", key.kid)));
            }
        }
        keys.sort_by_key(|k| k.not_before);
        Ok(Self { keys })
    }

    /// The secret's value: what [`KeySet::parse`] reads back.
    pub fn to_json(&self) -> String {
        let keys: Vec<_> = self
            .keys
            .iter()
            .map(|k| serde_json::json!({"kid": k.kid, "key": k.key.expose(), "not_before": k.not_before}))
            .collect();
        serde_json::json!({ "keys": keys }).to_string()
    }

    /// The key `kid` names, if listed.
    pub fn get(&self, kid: &str) -> Option<&Key> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.kid.as_str())
    }

    /// The newest key whose `not_before` has passed. Should none have (a set written by hand
    /// with only future keys) the earliest signs: refusing every sign-in would be worse.
    pub fn signing(&self, now: DateTime<Utc>) -> &Key {
        self.keys.iter().rev().find(|k| k.not_before <= now).unwrap_or(&self.keys[0])
    }

    /// One rotation at `now`: `new` added, and every key whose successor has signed for longer
    /// than `retire_after` (the access-token lifetime plus the refresh interval: every token
    /// it signed has expired, and every instance signs with its successor) dropped. The key
    /// that signs now is never dropped (nothing newer has signed yet), nor one not yet signing.
    pub fn rotated(&self, now: DateTime<Utc>, new: Key, retire_after: Duration) -> Result<Self, KeySetError> {
        let retire_after = chrono::Duration::from_std(retire_after).map_err(|_| KeySetError("too long".into()))?;
        let cutoff = now - retire_after;
        let keys = self
            .keys
            .iter()
            .filter(|k| !self.keys.iter().any(|later| later.not_before > k.not_before && later.not_before <= cutoff))
            .cloned()
            .chain(std::iter::once(new))
            .collect();
        Self::new(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "an-hmac-key-of-at-least-32-bytes-A";
    const B: &str = "an-hmac-key-of-at-least-32-bytes-B";

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_plain_string_is_one_legacy_key_that_always_signed() {
        let set = KeySet::parse(A).unwrap();
        assert_eq!(set.kids().collect::<Vec<_>>(), ["0"]);
        assert_eq!(set.signing(at("1999-01-01T00:00:00Z")).bytes(), A.as_bytes());
        assert!(KeySet::parse("short").unwrap_err().to_string().contains("at least 32 bytes"));
    }

    #[test]
    fn the_newest_key_whose_time_has_come_signs_and_every_key_verifies() {
        let json = format!(
            r#"{{"keys": [{{"kid": "b", "key": "{B}", "not_before": "2026-11-29T10:10:00Z"}},
                         {{"kid": "a", "key": "{A}", "not_before": "2026-10-01T00:00:00Z"}}]}}"#
        );
        let set = KeySet::parse(&json).unwrap();
        assert_eq!(set.signing(at("2026-11-29T10:09:59Z")).kid, "a");
        assert_eq!(set.signing(at("2026-11-29T10:10:00Z")).kid, "b");
        assert_eq!(set.get("b").unwrap().bytes(), B.as_bytes());
        assert!(set.get("c").is_none());
        // What it writes, it reads back.
        let again = KeySet::parse(&set.to_json()).unwrap();
        assert_eq!(again.kids().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(again.get("a").unwrap().not_before, at("2026-10-01T00:00:00Z"));
    }

    #[test]
    fn a_bad_set_is_refused_without_quoting_its_keys() {
        let bad = [
            (r#"{"keys": []}"#.to_string(), "no key"),
            (format!(r#"{{"keys": [{{"kid": "a", "key": "{A}"}}]}}"#), "line 1"),
            (format!(r#"{{"keys": [{{"kid": "a", "key": "{A}", "not_before": "{A}"}}]}}"#), "line 1"),
            (
                format!(
                    r#"{{"keys": [{{"kid": "a", "key": "{A}", "not_before": "2026-01-01T00:00:00Z"}},
                                 {{"kid": "a", "key": "{B}", "not_before": "2026-01-02T00:00:00Z"}}]}}"#
                ),
                "twice",
            ),
            (r#"{"keys": [{"kid": "a", "key": "short", "not_before": "2026-01-01T00:00:00Z"}]}"#.into(), "32 bytes"),
        ];
        for (json, reason) in bad {
            let error = KeySet::parse(&json).unwrap_err().to_string();
            assert!(error.contains(reason), "{json}: {error}");
            assert!(!error.contains(A) && !error.contains(B), "{error}");
        }
    }

    #[test]
    fn a_rotation_adds_a_key_and_retires_only_those_long_superseded() {
        let day = Duration::from_secs(24 * 3600);
        let retire_after = Duration::from_secs(900 + 300);
        let t0 = at("2026-11-01T00:00:00Z");
        let legacy = KeySet::parse(A).unwrap();
        // The first rotation keeps the legacy key: it still signs until the new one's time.
        let second = Key::generate(t0, t0 + chrono::Duration::minutes(10)).unwrap();
        let one = legacy.rotated(t0, second.clone(), retire_after).unwrap();
        assert_eq!(one.kids().collect::<Vec<_>>(), ["0", second.kid.as_str()]);
        assert_eq!(one.signing(t0).kid, "0");
        assert_eq!(second.bytes().len(), 64);
        // Rotating again before the new key has signed long enough retires nothing.
        let soon = t0 + chrono::Duration::minutes(15);
        let third = Key::generate(soon, soon + chrono::Duration::minutes(10)).unwrap();
        assert_eq!(one.rotated(soon, third, retire_after).unwrap().kids().count(), 3);
        // A month later the legacy key goes; the one that signs now stays, beside the new one.
        let later = t0 + chrono::Duration::from_std(30 * day).unwrap();
        let fourth = Key::generate(later, later + chrono::Duration::minutes(10)).unwrap();
        let two = one.rotated(later, fourth.clone(), retire_after).unwrap();
        assert_eq!(two.kids().collect::<Vec<_>>(), [second.kid.as_str(), fourth.kid.as_str()]);
        assert_eq!(two.signing(later).kid, second.kid);
        assert_ne!(second.kid, fourth.kid);
    }
}
