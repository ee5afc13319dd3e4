//! Short-lived access tokens (JWT, HS256 pinned) and opaque refresh tokens.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::JwtSettings;
use crate::error::ApiError;

/// The claims of an access token. `sid` ties it to a session row, so logging out (or an admin
/// deactivating the user) kills it before `exp`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub sid: i64,
    pub iat: u64,
    pub nbf: u64,
    pub exp: u64,
}

/// Signs and checks access tokens. Built once per cold start.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

impl TokenKeys {
    pub fn new(settings: &JwtSettings) -> Self {
        let secret = settings.secret.expose();
        // The algorithm is pinned: a token that says `none` or RS256 is refused, whatever its header claims.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[settings.issuer.as_str()]);
        validation.set_audience(&[settings.audience.as_str()]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            access_ttl: settings.access_ttl,
            refresh_ttl: settings.refresh_ttl,
        }
    }

    pub fn issue_access(&self, user_id: i64, session_id: i64) -> Result<String, ApiError> {
        let now = unix_now();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id.to_string(),
            sid: session_id,
            iat: now,
            nbf: now,
            exp: now + self.access_ttl.as_secs(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(ApiError::internal)
    }

    /// Checks signature, algorithm, issuer, audience and time. Every failure is the same 401:
    /// the client learns nothing about which check failed.
    pub fn verify_access(&self, token: &str) -> Result<Claims, ApiError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| ApiError::Unauthorized("The access token is invalid or expired."))
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A refresh token is `<session id>.<32 random bytes, base64url>`; only the SHA-256 of the
/// random part is stored, so a database leak does not hand out sessions.
pub struct RefreshToken {
    pub session_id: i64,
    secret: String,
}

impl RefreshToken {
    pub fn generate(session_id: i64) -> Result<Self, ApiError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(ApiError::internal)?;
        Ok(Self { session_id, secret: URL_SAFE_NO_PAD.encode(bytes) })
    }

    pub fn parse(token: &str) -> Option<Self> {
        let (id, secret) = token.split_once('.')?;
        let session_id = id.parse().ok()?;
        (secret.len() == 43 && URL_SAFE_NO_PAD.decode(secret).is_ok())
            .then(|| Self { session_id, secret: secret.to_string() })
    }

    pub fn hash(&self) -> Vec<u8> {
        Sha256::digest(self.secret.as_bytes()).to_vec()
    }

    pub fn to_token(&self) -> String {
        format!("{}.{}", self.session_id, self.secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn keys(secret: &str, issuer: &str) -> TokenKeys {
        TokenKeys::new(&JwtSettings {
            secret: Secret::new(secret.as_bytes().to_vec()),
            issuer: issuer.into(),
            audience: "nexus-api".into(),
            access_ttl: Duration::from_secs(900),
            refresh_ttl: Duration::from_secs(3600),
        })
    }

    const KEY: &str = "an-hmac-key-of-at-least-32-bytes!!";

    #[test]
    fn a_token_round_trips_and_a_foreign_one_is_refused() {
        let k = keys(KEY, "nexus");
        let token = k.issue_access(7, 11).unwrap();
        let claims = k.verify_access(&token).unwrap();
        assert_eq!((claims.sub.as_str(), claims.sid), ("7", 11));
        assert!(keys("another-key-of-at-least-32-bytes!!!", "nexus").verify_access(&token).is_err());
        assert!(keys(KEY, "someone-else").verify_access(&token).is_err());
    }

    #[test]
    fn refresh_tokens_parse_back_and_reject_garbage() {
        let t = RefreshToken::generate(42).unwrap();
        let parsed = RefreshToken::parse(&t.to_token()).unwrap();
        assert_eq!(parsed.session_id, 42);
        assert_eq!(parsed.hash(), t.hash());
        assert!(RefreshToken::parse("42").is_none());
        assert!(RefreshToken::parse("x.abc").is_none());
        assert!(RefreshToken::parse("42.short").is_none());
    }
}
