//! Short-lived access tokens (JWT, HS256 pinned, a `kid` naming the key) and opaque refresh
//! tokens.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::key_set::{KeySet, LEGACY_KID};
use crate::config::{ConfigError, JwtSettings};
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

/// Signs and checks access tokens. Built once per cold start; when the keys come from Secrets
/// Manager (`NEXUS_JWT_SECRET_ID`) they are read again once they are older than the refresh
/// interval, so a rotated key reaches every instance without a restart or a sign-out.
pub struct TokenKeys {
    current: RwLock<Arc<Loaded>>,
    source: Option<KeySource>,
    validation: Validation,
    issuer: String,
    audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

/// The keys in use and when they were read.
struct Loaded {
    keys: KeySet,
    read_at: Instant,
    /// Not read again before this (the refresh interval after a read; sooner after a failure).
    next_read: Instant,
}

/// Where the keys are read again from.
struct KeySource {
    secret_id: String,
    every: Duration,
    client: tokio::sync::OnceCell<aws_sdk_secretsmanager::Client>,
    /// One read at a time.
    reading: tokio::sync::Mutex<()>,
}

/// How long one read of the secret may take before the keys in hand are kept.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

impl TokenKeys {
    pub fn new(settings: &JwtSettings) -> Self {
        // The algorithm is pinned: a token that says `none` or RS256 is refused, whatever its header claims.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[settings.issuer.as_str()]);
        validation.set_audience(&[settings.audience.as_str()]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        let now = Instant::now();
        let loaded = Loaded { keys: settings.keys.clone(), read_at: now, next_read: now + settings.key_refresh };
        Self {
            current: RwLock::new(Arc::new(loaded)),
            source: settings.secret_id.clone().map(|secret_id| KeySource {
                secret_id,
                every: settings.key_refresh,
                client: tokio::sync::OnceCell::new(),
                reading: tokio::sync::Mutex::new(()),
            }),
            validation,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            access_ttl: settings.access_ttl,
            refresh_ttl: settings.refresh_ttl,
        }
    }

    pub async fn issue_access(&self, user_id: i64, session_id: i64) -> Result<String, ApiError> {
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
        let loaded = self.keys().await;
        let key = loaded.keys.signing(chrono::Utc::now());
        let header = Header { kid: Some(key.kid.clone()), ..Header::new(Algorithm::HS256) };
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(key.bytes())).map_err(ApiError::internal)
    }

    /// Checks the key its `kid` names (none: the legacy key), signature, algorithm, issuer,
    /// audience and time. Every failure is the same 401: the client learns nothing about which
    /// check failed.
    pub async fn verify_access(&self, token: &str) -> Result<Claims, ApiError> {
        let invalid = || ApiError::Unauthorized("The access token is invalid or expired.");
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid())?;
        let loaded = self.keys().await;
        let key = loaded.keys.get(header.kid.as_deref().unwrap_or(LEGACY_KID)).ok_or_else(invalid)?;
        jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(key.bytes()), &self.validation)
            .map(|data| data.claims)
            .map_err(|_| invalid())
    }

    /// The keys in use, read again first if they are due. A set read less than two refresh
    /// intervals ago is still safe to use (a key is published two intervals before it signs),
    /// so while another request reads, this one goes on with it; an older one waits for the read.
    async fn keys(&self) -> Arc<Loaded> {
        let loaded = self.loaded();
        let Some(source) = &self.source else { return loaded };
        if Instant::now() < loaded.next_read {
            return loaded;
        }
        let _reading = match source.reading.try_lock() {
            Ok(guard) => guard,
            Err(_) if loaded.read_at.elapsed() < 2 * source.every => return loaded,
            Err(_) => {
                // Another request is reading: its outcome (or, if it failed, the keys in hand).
                drop(source.reading.lock().await);
                return self.loaded();
            }
        };
        let loaded = self.loaded();
        if Instant::now() < loaded.next_read {
            return loaded; // read while this request waited
        }
        if let Err(error) = self.read(source).await {
            // Keep verifying and signing with what we have; try again shortly, not on every request.
            tracing::warn!(%error, age_secs = loaded.read_at.elapsed().as_secs(), "signing keys not read again; keeping those in use");
            let retry = Instant::now() + source.every.min(Duration::from_secs(30));
            let kept = Loaded { keys: loaded.keys.clone(), read_at: loaded.read_at, next_read: retry };
            *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(kept);
        }
        self.loaded()
    }

    /// Reads the keys again now: what a due read does (tests call it to skip the wait).
    pub async fn reload(&self) -> Result<(), ConfigError> {
        match &self.source {
            Some(source) => {
                let _reading = source.reading.lock().await;
                self.read(source).await
            }
            None => Ok(()),
        }
    }

    async fn read(&self, source: &KeySource) -> Result<(), ConfigError> {
        let client = source
            .client
            .get_or_init(|| async { aws_sdk_secretsmanager::Client::new(&crate::aws::sdk_config().await) })
            .await;
        let value = tokio::time::timeout(READ_TIMEOUT, crate::secrets_manager::fetch(client, &source.secret_id))
            .await
            .map_err(|_| ConfigError::Invalid {
                name: "NEXUS_JWT_SECRET_ID",
                reason: format!("{} not read within {READ_TIMEOUT:?}", source.secret_id),
            })??;
        let keys = KeySet::parse(&value)
            .map_err(|e| ConfigError::Invalid { name: "NEXUS_JWT_SECRET_ID", reason: e.to_string() })?;
        let now = Instant::now();
        let loaded = Loaded { keys, read_at: now, next_read: now + source.every };
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(loaded);
        Ok(())
    }

    fn loaded(&self) -> Arc<Loaded> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
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

    fn settings(secret: &str, issuer: &str) -> JwtSettings {
        JwtSettings {
            keys: KeySet::parse(secret).unwrap(),
            secret_id: None,
            key_refresh: Duration::from_secs(300),
            issuer: issuer.into(),
            audience: "nexus-api".into(),
            access_ttl: Duration::from_secs(900),
            refresh_ttl: Duration::from_secs(3600),
        }
    }

    fn keys(secret: &str, issuer: &str) -> TokenKeys {
        TokenKeys::new(&settings(secret, issuer))
    }

    const KEY: &str = "an-hmac-key-of-at-least-32-bytes!!";
    const OTHER: &str = "another-key-of-at-least-32-bytes!!!";

    fn kid(token: &str) -> Option<String> {
        jsonwebtoken::decode_header(token).unwrap().kid
    }

    #[tokio::test]
    async fn a_token_round_trips_and_a_foreign_one_is_refused() {
        let k = keys(KEY, "nexus");
        let token = k.issue_access(7, 11).await.unwrap();
        assert_eq!(kid(&token).as_deref(), Some("0"), "a plain secret is the legacy key");
        let claims = k.verify_access(&token).await.unwrap();
        assert_eq!((claims.sub.as_str(), claims.sid), ("7", 11));
        assert!(keys(OTHER, "nexus").verify_access(&token).await.is_err());
        assert!(keys(KEY, "someone-else").verify_access(&token).await.is_err());
    }

    /// Any listed key verifies the tokens its kid names; an unknown kid, or a kid naming another
    /// key than the one that signed, is the same 401; a token without a kid (signed before kids
    /// existed) is the legacy key's.
    #[tokio::test]
    async fn the_kid_picks_the_key() {
        let set = format!(
            r#"{{"keys": [{{"kid": "0", "key": "{KEY}", "not_before": "1970-01-01T00:00:00Z"}},
                         {{"kid": "next", "key": "{OTHER}", "not_before": "2000-01-01T00:00:00Z"}}]}}"#
        );
        let (legacy, both) = (keys(KEY, "nexus"), keys(&set, "nexus"));
        let old = legacy.issue_access(1, 2).await.unwrap();
        let new = both.issue_access(1, 2).await.unwrap();
        assert_eq!(kid(&new).as_deref(), Some("next"), "the newest key whose time has come signs");
        assert_eq!(both.verify_access(&old).await.unwrap().sid, 2);
        assert!(legacy.verify_access(&new).await.is_err(), "a key it does not list");

        let claims = Claims {
            iss: "nexus".into(),
            aud: "nexus-api".into(),
            sub: "1".into(),
            sid: 2,
            iat: unix_now(),
            nbf: unix_now(),
            exp: unix_now() + 60,
        };
        let sign = |kid: Option<&str>, key: &str| {
            let header = Header { kid: kid.map(str::to_owned), ..Header::new(Algorithm::HS256) };
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(key.as_bytes())).unwrap()
        };
        assert!(both.verify_access(&sign(None, KEY)).await.is_ok(), "no kid: the legacy key");
        assert!(both.verify_access(&sign(Some("next"), OTHER)).await.is_ok());
        for forged in [sign(Some("unknown"), OTHER), sign(Some("0"), OTHER), sign(None, OTHER)] {
            let error = both.verify_access(&forged).await.unwrap_err();
            assert!(matches!(error, ApiError::Unauthorized(_)), "{error:?}");
        }
    }

    /// The local runner's way: `scripts/run` puts a random plain key in `NEXUS_JWT_SECRET` and
    /// names no secret, so its keys are never read again and its tokens carry the legacy kid.
    #[tokio::test]
    async fn a_plain_development_key_signs_and_is_never_read_again() {
        let env = crate::config::Env::from_pairs([(
            "NEXUS_JWT_SECRET",
            "u3F0Kx9m2Qb7vW1yZr5TnLp8Hc4Jd6Ae0Gs2Vk9Xo1Mi7Rf3Bt5Yw8Uq4Ez6Na1",
        )]);
        let keys = TokenKeys::new(&JwtSettings::from_env(&env).unwrap());
        assert!(keys.source.is_none());
        let token = keys.issue_access(3, 4).await.unwrap();
        assert_eq!(kid(&token).as_deref(), Some("0"));
        assert_eq!(keys.verify_access(&token).await.unwrap().sid, 4);
        keys.reload().await.unwrap();
    }

    /// Against the Secrets Manager `scripts/test` starts (moto): once due, the keys are read
    /// again by the request that finds them stale; a read that fails (here: a value that is not
    /// a key set) keeps the keys in use.
    #[tokio::test]
    async fn due_reads_follow_the_secret_and_a_failed_read_keeps_the_keys() {
        assert!(std::env::var("AWS_ENDPOINT_URL").is_ok(), "run through scripts/test, which starts moto");
        let client = aws_sdk_secretsmanager::Client::new(&crate::aws::sdk_config().await);
        let id = format!("nexus/jwt-{}", uuid::Uuid::new_v4());
        client.create_secret().name(&id).secret_string(KEY).send().await.unwrap();
        let keys = TokenKeys::new(&JwtSettings {
            secret_id: Some(id.clone()),
            key_refresh: Duration::from_millis(200),
            ..settings(KEY, "nexus")
        });
        let old = keys.issue_access(1, 2).await.unwrap();
        let set = format!(
            r#"{{"keys": [{{"kid": "0", "key": "{KEY}", "not_before": "1970-01-01T00:00:00Z"}},
                         {{"kid": "next", "key": "{OTHER}", "not_before": "2000-01-01T00:00:00Z"}}]}}"#
        );
        client.put_secret_value().secret_id(&id).secret_string(set).send().await.unwrap();
        assert_eq!(kid(&keys.issue_access(1, 2).await.unwrap()).as_deref(), Some("0"), "not due yet");
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(kid(&keys.issue_access(1, 2).await.unwrap()).as_deref(), Some("next"));
        assert!(keys.verify_access(&old).await.is_ok());

        client.put_secret_value().secret_id(&id).secret_string("{\"keys\": oops").send().await.unwrap();
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(keys.verify_access(&old).await.is_ok(), "a failed read keeps the keys");
        assert_eq!(kid(&keys.issue_access(1, 2).await.unwrap()).as_deref(), Some("next"));
        assert!(keys.reload().await.unwrap_err().to_string().contains("not a key set"));
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
