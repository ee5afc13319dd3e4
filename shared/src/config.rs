//! Typed settings, read once per cold start. One path for every function: [`load`] reads the
//! environment and the Secrets Manager secrets it names (both at once: each is a round trip on
//! the cold-start path), then the function's own [`FromEnv`] type takes only what it uses. A
//! missing or invalid setting stops the cold start with an error naming the variable.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::Role;
use crate::auth::key_set::KeySet;
use crate::seal::SealingKey;
use crate::secret::Secret;

/// A variable whose value may come from Secrets Manager instead: when `<id variable>` names a
/// secret, its value replaces the variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretVar {
    /// `NEXUS_DATABASE_SECRET_ID`: an RDS secret, which becomes `DATABASE_URL`.
    DatabaseUrl,
    /// `NEXUS_JWT_SECRET_ID`: the signing key, `NEXUS_JWT_SECRET`.
    SigningKey,
    /// `NEXUS_DATABASE_READ_SECRET_ID`: an RDS secret for the read replica, which becomes
    /// `NEXUS_DATABASE_READ_URL` (its host replaced by `NEXUS_DATABASE_READ_HOST` when set).
    ReadDatabaseUrl,
    /// `NEXUS_WEBHOOK_KEY_SECRET_ID`: the key that seals webhook signing secrets,
    /// `NEXUS_WEBHOOK_KEY` (base64 of 32 bytes).
    WebhookKey,
    /// `NEXUS_MFA_KEY_SECRET_ID`: the key that seals TOTP secrets, `NEXUS_MFA_KEY`.
    MfaKey,
}

impl SecretVar {
    fn id_variable(self) -> &'static str {
        match self {
            SecretVar::DatabaseUrl => "NEXUS_DATABASE_SECRET_ID",
            SecretVar::SigningKey => "NEXUS_JWT_SECRET_ID",
            SecretVar::ReadDatabaseUrl => "NEXUS_DATABASE_READ_SECRET_ID",
            SecretVar::WebhookKey => "NEXUS_WEBHOOK_KEY_SECRET_ID",
            SecretVar::MfaKey => "NEXUS_MFA_KEY_SECRET_ID",
        }
    }

    fn variable(self) -> &'static str {
        match self {
            SecretVar::DatabaseUrl => "DATABASE_URL",
            SecretVar::SigningKey => "NEXUS_JWT_SECRET",
            SecretVar::ReadDatabaseUrl => "NEXUS_DATABASE_READ_URL",
            SecretVar::WebhookKey => "NEXUS_WEBHOOK_KEY",
            SecretVar::MfaKey => "NEXUS_MFA_KEY",
        }
    }
}

/// What a function's settings are read from: the variables, with the secrets they name already
/// fetched in their place. Empty values count as unset.
#[derive(Clone, Default)]
pub struct Env {
    values: HashMap<String, String>,
}

impl Env {
    /// The process environment, with `secrets` fetched where their id variable is set. A
    /// variable that is not UTF-8 is none of ours: it is skipped (`env::vars` would panic,
    /// printing it).
    pub async fn load(secrets: &[SecretVar]) -> Result<Self, ConfigError> {
        let vars = std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        Self::from_pairs(vars).fetch(secrets).await
    }

    /// `value` for `name` unless it is set: a tool's default where a deployed function has none.
    pub fn with_default(mut self, name: &str, value: &str) -> Self {
        self.values.entry(name.to_string()).or_insert_with(|| value.to_string());
        self
    }

    /// Variables as given (tests, tools); no secret is fetched.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        let values = pairs.into_iter().map(|(k, v)| (k.into(), v.into())).filter(|(_, v)| !v.is_empty()).collect();
        Self { values }
    }

    /// Fetches the secrets among `secrets` whose id variable is set, both at once, and puts each
    /// value in place of its variable.
    pub async fn fetch(mut self, secrets: &[SecretVar]) -> Result<Self, ConfigError> {
        let id = |secret: SecretVar| {
            secrets.contains(&secret).then(|| self.get(secret.id_variable()).map(str::to_owned)).flatten()
        };
        let (database_id, key_id) = (id(SecretVar::DatabaseUrl), id(SecretVar::SigningKey));
        let (read_id, webhook_id) = (id(SecretVar::ReadDatabaseUrl), id(SecretVar::WebhookKey));
        let mfa_id = id(SecretVar::MfaKey);
        if database_id.is_none() && key_id.is_none() && read_id.is_none() && webhook_id.is_none() && mfa_id.is_none() {
            return Ok(self);
        }
        let client = aws_sdk_secretsmanager::Client::new(&crate::aws::sdk_config().await);
        let fetch = |id: Option<String>| {
            let client = &client;
            async move {
                match id {
                    Some(id) => crate::secrets_manager::fetch(client, &id).await.map(Some),
                    None => Ok(None),
                }
            }
        };
        let (database, key, read, webhook, mfa) =
            tokio::try_join!(fetch(database_id), fetch(key_id), fetch(read_id), fetch(webhook_id), fetch(mfa_id))?;
        if let Some(secret) = database {
            let url = database_url(&secret, self.get("NEXUS_DATABASE_HOST"))?;
            self.values.insert(SecretVar::DatabaseUrl.variable().into(), url);
        }
        if let Some(secret) = read {
            let url =
                database_url(&secret, self.get("NEXUS_DATABASE_READ_HOST")).map_err(|_| ConfigError::Invalid {
                    name: "NEXUS_DATABASE_READ_SECRET_ID",
                    reason: "not an RDS secret (username, password, host)".into(),
                })?;
            self.values.insert(SecretVar::ReadDatabaseUrl.variable().into(), url);
        }
        if let Some(key) = key {
            self.values.insert(SecretVar::SigningKey.variable().into(), key);
        }
        if let Some(key) = webhook {
            self.values.insert(SecretVar::WebhookKey.variable().into(), key.trim().to_string());
        }
        if let Some(key) = mfa {
            self.values.insert(SecretVar::MfaKey.variable().into(), key.trim().to_string());
        }
        Ok(self)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn required(&self, name: &'static str) -> Result<&str, ConfigError> {
        self.get(name).ok_or(ConfigError::Missing(name))
    }

    pub fn number(&self, name: &'static str, default: u64) -> Result<u64, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| ConfigError::Invalid { name, reason: "not a whole number".into() }),
        }
    }
}

/// A function's settings or state, built from the [`Env`] at cold start.
pub trait FromEnv: Sized {
    /// The variables it may take from Secrets Manager (only these are fetched).
    const SECRETS: &'static [SecretVar];
    fn from_env(env: &Env) -> impl Future<Output = Result<Self, ConfigError>> + Send;
}

/// The one way a function reads its settings: the environment and the secrets `T` needs.
pub async fn load<T: FromEnv>() -> Result<T, ConfigError> {
    T::from_env(&Env::load(T::SECRETS).await?).await
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub url: Secret<String>,
    /// Per instance. A Lambda instance serves one request at a time, so a handful is plenty;
    /// RDS Proxy multiplexes them.
    pub max_connections: u32,
    /// How long a request waits for a connection before it is answered 503.
    pub acquire_timeout: Duration,
    /// `NEXUS_DB_SSLMODE` (libpq names: `disable` … `verify-full`); when unset the URL decides.
    /// Deployed functions use `verify-full`: RDS Proxy requires TLS and its certificate chains
    /// to the public Amazon roots that ship in webpki-roots. `NEXUS_DB_SSLROOTCERT` names a CA
    /// bundle to verify against instead (a private CA; the RDS bundle for an instance).
    pub ssl_mode: Option<sqlx::postgres::PgSslMode>,
}

impl DatabaseSettings {
    /// `DATABASE_URL` (or the RDS secret named by `NEXUS_DATABASE_SECRET_ID`), the pool's size
    /// and wait, and the TLS mode and CA.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            url: Secret::new(with_root_cert(env.required("DATABASE_URL")?, env.get("NEXUS_DB_SSLROOTCERT"))),
            max_connections: env.number("NEXUS_DB_MAX_CONNECTIONS", 5)? as u32,
            acquire_timeout: Duration::from_millis(env.number("NEXUS_DB_ACQUIRE_TIMEOUT_MS", 3000)?),
            ssl_mode: env
                .get("NEXUS_DB_SSLMODE")
                .map(|v| {
                    v.parse().map_err(|_| ConfigError::Invalid {
                        name: "NEXUS_DB_SSLMODE",
                        reason: "one of disable, allow, prefer, require, verify-ca, verify-full".into(),
                    })
                })
                .transpose()?,
        })
    }
}

impl DatabaseSettings {
    /// The read replica, if one is configured: `NEXUS_DATABASE_READ_URL` (or the RDS secret
    /// named by `NEXUS_DATABASE_READ_SECRET_ID`, its host replaced by `NEXUS_DATABASE_READ_HOST`).
    /// A replica is an RDS instance reached directly (RDS Proxy has read-only endpoints only for
    /// Aurora), so its pool is small (`NEXUS_DB_READ_MAX_CONNECTIONS`, default 2) and its TLS mode
    /// is its own (`NEXUS_DB_READ_SSLMODE`, default `verify-full`; the instance's certificate
    /// chains to the RDS CA, not a public root: `NEXUS_DB_READ_SSLROOTCERT` names the bundle).
    /// `None`: reads use the primary.
    pub fn read_from_env(env: &Env) -> Result<Option<Self>, ConfigError> {
        let Some(url) = env.get("NEXUS_DATABASE_READ_URL") else { return Ok(None) };
        let ssl_mode = match env.get("NEXUS_DB_READ_SSLMODE") {
            None => sqlx::postgres::PgSslMode::VerifyFull,
            Some(v) => v.parse().map_err(|_| ConfigError::Invalid {
                name: "NEXUS_DB_READ_SSLMODE",
                reason: "one of disable, allow, prefer, require, verify-ca, verify-full".into(),
            })?,
        };
        Ok(Some(Self {
            url: Secret::new(with_root_cert(url, env.get("NEXUS_DB_READ_SSLROOTCERT"))),
            max_connections: env.number("NEXUS_DB_READ_MAX_CONNECTIONS", 2)? as u32,
            acquire_timeout: Duration::from_millis(env.number("NEXUS_DB_ACQUIRE_TIMEOUT_MS", 3000)?),
            ssl_mode: Some(ssl_mode),
        }))
    }
}

/// Only the database: the scheduled functions and the migrator (no signing key).
impl FromEnv for DatabaseSettings {
    const SECRETS: &'static [SecretVar] = &[SecretVar::DatabaseUrl];
    async fn from_env(env: &Env) -> Result<Self, ConfigError> {
        DatabaseSettings::from_env(env)
    }
}

#[derive(Debug, Clone)]
pub struct JwtSettings {
    /// The signing keys: `NEXUS_JWT_SECRET` (or the secret `NEXUS_JWT_SECRET_ID` names), a key
    /// set or one plain key (`crate::auth::key_set`).
    pub keys: KeySet,
    /// `NEXUS_JWT_SECRET_ID`: when set, the keys are read again from it every `key_refresh`.
    pub secret_id: Option<String>,
    /// `NEXUS_JWT_KEY_REFRESH_SECS` (default 300): how stale the keys in use may be. A rotation
    /// publishes a key twice this long before it signs.
    pub key_refresh: Duration,
    pub issuer: String,
    pub audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

/// The longest access-token lifetime we accept: a stolen token must die quickly.
pub const MAX_ACCESS_TTL: Duration = Duration::from_secs(15 * 60);

impl JwtSettings {
    /// `NEXUS_JWT_SECRET` (or the secret named by `NEXUS_JWT_SECRET_ID`), issuer, audience,
    /// the two lifetimes and the keys' refresh interval.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let keys = KeySet::parse(env.required("NEXUS_JWT_SECRET")?)
            .map_err(|e| ConfigError::Invalid { name: "NEXUS_JWT_SECRET", reason: e.to_string() })?;
        Ok(Self {
            keys,
            secret_id: env.get(SecretVar::SigningKey.id_variable()).map(str::to_owned),
            key_refresh: key_refresh(env)?,
            issuer: env.get("NEXUS_JWT_ISSUER").unwrap_or("nexus").into(),
            audience: env.get("NEXUS_JWT_AUDIENCE").unwrap_or("nexus-api").into(),
            access_ttl: access_ttl(env)?,
            refresh_ttl: Duration::from_secs(env.number("NEXUS_REFRESH_TOKEN_TTL_SECS", 30 * 24 * 3600)?),
        })
    }
}

/// `NEXUS_ACCESS_TOKEN_TTL_SECS` (default and most 900): what tokens are issued for, and what the
/// key rotation waits out before retiring a key.
pub fn access_ttl(env: &Env) -> Result<Duration, ConfigError> {
    let ttl = Duration::from_secs(env.number("NEXUS_ACCESS_TOKEN_TTL_SECS", 900)?);
    if ttl.is_zero() || ttl > MAX_ACCESS_TTL {
        return Err(ConfigError::Invalid {
            name: "NEXUS_ACCESS_TOKEN_TTL_SECS",
            reason: "must be between 1 and 900 seconds".into(),
        });
    }
    Ok(ttl)
}

/// `NEXUS_JWT_KEY_REFRESH_SECS` (default 300, 1 to 3600): how often functions read the signing
/// keys again, and so how long a rotation waits before a new key signs (twice this).
pub fn key_refresh(env: &Env) -> Result<Duration, ConfigError> {
    match env.number("NEXUS_JWT_KEY_REFRESH_SECS", 300)? {
        secs @ 1..=3600 => Ok(Duration::from_secs(secs)),
        _ => Err(ConfigError::Invalid {
            name: "NEXUS_JWT_KEY_REFRESH_SECS",
            reason: "must be between 1 and 3600 seconds".into(),
        }),
    }
}

/// What every HTTP function is served with (`shared::http::serve`).
#[derive(Debug, Clone, Default)]
pub struct HttpSettings {
    /// The web app's origin (`NEXUS_CORS_ORIGIN`, `https://host[:port]`): the only one browsers
    /// may call the API from. Unset: no CORS headers, so no cross-origin browser calls at all.
    pub cors_origin: Option<String>,
}

impl HttpSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let cors_origin = env.get("NEXUS_CORS_ORIGIN").map(str::to_owned);
        if let Some(origin) = &cors_origin {
            let valid = (origin.starts_with("https://") || origin.starts_with("http://"))
                && !origin.ends_with('/')
                && origin.bytes().all(|b| b.is_ascii_graphic());
            if !valid {
                return Err(ConfigError::Invalid {
                    name: "NEXUS_CORS_ORIGIN",
                    reason: "one origin, scheme://host[:port] without a path".into(),
                });
            }
        }
        Ok(Self { cors_origin })
    }
}

/// Multi-factor authentication, as the `auth` function applies it.
#[derive(Debug, Clone)]
pub struct MfaSettings {
    /// Seals TOTP secrets: `NEXUS_MFA_KEY` (32 bytes, base64 or 64 hex digits), or the secret
    /// `NEXUS_MFA_KEY_SECRET_ID` names.
    pub key: Arc<SealingKey>,
    /// `NEXUS_MFA_REQUIRED_ROLES` (comma-separated roles; unset: none): a user holding one of
    /// them who has not confirmed MFA signs in to a session that may only enrol.
    pub required_roles: Vec<Role>,
}

impl MfaSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let required_roles = match env.get("NEXUS_MFA_REQUIRED_ROLES") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(|name| {
                    Role::parse(name).ok_or_else(|| ConfigError::Invalid {
                        name: "NEXUS_MFA_REQUIRED_ROLES",
                        reason: format!("{name:?} is not a role (admin, supervisor, technician, viewer)"),
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(Self { key: Arc::new(SealingKey::from_env(env, "NEXUS_MFA_KEY")?), required_roles })
    }

    /// A random key and no role required (tests).
    pub fn for_tests() -> Self {
        Self { key: Arc::new(SealingKey::generate()), required_roles: Vec::new() }
    }
}

/// A connection URL from an RDS-style secret `{"username", "password", "host", "port", "dbname"}`.
/// `host` (`NEXUS_DATABASE_HOST`) replaces the secret's host: the secret RDS keeps names the
/// instance, while functions must connect through the RDS Proxy endpoint.
pub fn database_url(secret_json: &str, host: Option<&str>) -> Result<String, ConfigError> {
    #[derive(serde::Deserialize)]
    struct RdsSecret {
        username: String,
        password: String,
        host: String,
        port: Option<u16>,
        dbname: Option<String>,
    }
    let invalid = || ConfigError::Invalid {
        name: "NEXUS_DATABASE_SECRET_ID",
        reason: "not an RDS secret (username, password, host)".into(),
    };
    let s: RdsSecret = serde_json::from_str(secret_json).map_err(|_| invalid())?;
    Ok(format!(
        "postgres://{}:{}@{}:{}/{}",
        percent_encode(&s.username),
        percent_encode(&s.password),
        host.unwrap_or(&s.host),
        s.port.unwrap_or(5432),
        percent_encode(s.dbname.as_deref().unwrap_or("postgres"))
    ))
}

/// `url` with `sslrootcert` set to `path` when one is given: the CA bundle travels in the URL,
/// which the pool's parser reads.
fn with_root_cert(url: &str, path: Option<&str>) -> String {
    match path {
        None => url.to_string(),
        Some(path) => {
            let separator = if url.contains('?') { '&' } else { '?' };
            format!("{url}{separator}sslrootcert={}", percent_encode(path))
        }
    }
}

/// Everything but RFC 3986 unreserved characters as `%XX`, so any password survives in a URL.
fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn defaults_apply_when_only_required_values_are_given() {
        let e = env(&[("DATABASE_URL", "postgres://x"), ("NEXUS_JWT_SECRET", SECRET)]);
        assert_eq!(JwtSettings::from_env(&e).unwrap().access_ttl, Duration::from_secs(900));
        let database = DatabaseSettings::from_env(&e).unwrap();
        assert_eq!(database.max_connections, 5);
        assert!(database.ssl_mode.is_none());
        assert!(HttpSettings::from_env(&e).unwrap().cors_origin.is_none());
    }

    #[tokio::test]
    async fn a_read_replica_is_optional_small_and_verified() {
        assert!(DatabaseSettings::read_from_env(&env(&[("DATABASE_URL", "postgres://x")])).unwrap().is_none());
        let read = DatabaseSettings::read_from_env(&env(&[
            ("NEXUS_DATABASE_READ_URL", "postgres://u:pw@replica/nexus"),
            ("NEXUS_DB_READ_SSLROOTCERT", "/opt/rds/global-bundle.pem"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(read.max_connections, 2);
        assert!(matches!(read.ssl_mode, Some(sqlx::postgres::PgSslMode::VerifyFull)));
        assert_eq!(read.url.expose(), "postgres://u:pw@replica/nexus?sslrootcert=%2Fopt%2Frds%2Fglobal-bundle.pem");
        assert!(crate::db::lazy_pool(&read).is_ok());
        let bad = DatabaseSettings::read_from_env(&env(&[
            ("NEXUS_DATABASE_READ_URL", "postgres://replica"),
            ("NEXUS_DB_READ_SSLMODE", "always"),
        ]));
        assert!(matches!(bad, Err(ConfigError::Invalid { name: "NEXUS_DB_READ_SSLMODE", .. })));
    }

    #[test]
    fn the_tls_mode_is_parsed_and_nonsense_is_refused() {
        let with =
            |mode| DatabaseSettings::from_env(&env(&[("DATABASE_URL", "postgres://x"), ("NEXUS_DB_SSLMODE", mode)]));
        assert!(matches!(with("verify-full").unwrap().ssl_mode, Some(sqlx::postgres::PgSslMode::VerifyFull)));
        assert!(matches!(with("always"), Err(ConfigError::Invalid { name: "NEXUS_DB_SSLMODE", .. })));
    }

    #[test]
    fn the_primary_takes_a_ca_bundle_into_its_url() {
        let with = |url, ca| DatabaseSettings::from_env(&env(&[("DATABASE_URL", url), ("NEXUS_DB_SSLROOTCERT", ca)]));
        let settings = with("postgres://u:pw@proxy/nexus", "/opt/rds-ca/global-bundle.pem").unwrap();
        assert_eq!(
            settings.url.expose(),
            "postgres://u:pw@proxy/nexus?sslrootcert=%2Fopt%2Frds-ca%2Fglobal-bundle.pem"
        );
        let settings = with("postgres://u:pw@proxy/nexus?sslmode=verify-full", "ca.pem").unwrap();
        assert_eq!(settings.url.expose(), "postgres://u:pw@proxy/nexus?sslmode=verify-full&sslrootcert=ca.pem");
        let without = DatabaseSettings::from_env(&env(&[("DATABASE_URL", "postgres://u:pw@proxy/nexus")])).unwrap();
        assert_eq!(without.url.expose(), "postgres://u:pw@proxy/nexus");
    }

    #[test]
    fn mfa_takes_its_key_and_a_list_of_roles_and_names_a_wrong_one() {
        let key = ("NEXUS_MFA_KEY", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
        assert!(MfaSettings::from_env(&env(&[key])).unwrap().required_roles.is_empty());
        let roles = MfaSettings::from_env(&env(&[key, ("NEXUS_MFA_REQUIRED_ROLES", "admin, supervisor")])).unwrap();
        assert_eq!(roles.required_roles, [Role::Admin, Role::Supervisor]);
        assert!(!format!("{roles:?}").contains(key.1));
        let wrong = MfaSettings::from_env(&env(&[key, ("NEXUS_MFA_REQUIRED_ROLES", "admin,root")]));
        assert!(matches!(wrong, Err(ConfigError::Invalid { name: "NEXUS_MFA_REQUIRED_ROLES", .. })));
        assert!(matches!(MfaSettings::from_env(&env(&[])), Err(ConfigError::Missing("NEXUS_MFA_KEY"))));
    }

    #[test]
    fn short_jwt_secret_long_ttl_and_an_origin_with_a_path_are_refused() {
        let short = JwtSettings::from_env(&env(&[("NEXUS_JWT_SECRET", "short")]));
        assert!(matches!(short, Err(ConfigError::Invalid { name: "NEXUS_JWT_SECRET", .. })));
        let long =
            JwtSettings::from_env(&env(&[("NEXUS_JWT_SECRET", SECRET), ("NEXUS_ACCESS_TOKEN_TTL_SECS", "3600")]));
        assert!(matches!(long, Err(ConfigError::Invalid { name: "NEXUS_ACCESS_TOKEN_TTL_SECS", .. })));
        let never = JwtSettings::from_env(&env(&[("NEXUS_JWT_SECRET", SECRET), ("NEXUS_JWT_KEY_REFRESH_SECS", "0")]));
        assert!(matches!(never, Err(ConfigError::Invalid { name: "NEXUS_JWT_KEY_REFRESH_SECS", .. })));
        let origin = HttpSettings::from_env(&env(&[("NEXUS_CORS_ORIGIN", "https://app.example.com/")]));
        assert!(matches!(origin, Err(ConfigError::Invalid { name: "NEXUS_CORS_ORIGIN", .. })));
    }

    /// Against the Secrets Manager that `scripts/test` starts (moto).
    #[tokio::test]
    async fn secrets_named_in_the_environment_replace_the_plain_variables() {
        assert!(std::env::var("AWS_ENDPOINT_URL").is_ok(), "run through scripts/test, which starts moto");
        let client = aws_sdk_secretsmanager::Client::new(&crate::aws::sdk_config().await);
        let (jwt, db) = (format!("nexus/jwt-{}", uuid::Uuid::new_v4()), format!("nexus/db-{}", uuid::Uuid::new_v4()));
        client.create_secret().name(&jwt).secret_string("signing-key-from-secrets-manager-0123").send().await.unwrap();
        let rds = r#"{"username": "app", "password": "pw/1", "host": "proxy", "port": 5432, "dbname": "nexus"}"#;
        client.create_secret().name(&db).secret_string(rds).send().await.unwrap();
        let named = env(&[
            ("NEXUS_JWT_SECRET_ID", &jwt),
            ("NEXUS_DATABASE_SECRET_ID", &db),
            ("NEXUS_JWT_SECRET", "a-plain-variable-that-must-lose-000"),
        ]);
        let e = named.clone().fetch(&[SecretVar::DatabaseUrl, SecretVar::SigningKey]).await.unwrap();
        let jwt_settings = JwtSettings::from_env(&e).unwrap();
        assert_eq!(jwt_settings.keys.get("0").unwrap().bytes(), b"signing-key-from-secrets-manager-0123");
        assert_eq!(jwt_settings.secret_id.as_deref(), Some(jwt.as_str()), "read again from there");
        let database = DatabaseSettings::from_env(&e).unwrap();
        assert_eq!(database.url.expose(), "postgres://app:pw%2F1@proxy:5432/nexus");
        assert!(!format!("{database:?}").contains("pw%2F1"));
        // Only the secrets asked for are read: a function without the signing key never fetches it.
        let only_database = named.fetch(&[SecretVar::DatabaseUrl]).await.unwrap();
        assert_eq!(only_database.get("NEXUS_JWT_SECRET"), Some("a-plain-variable-that-must-lose-000"));
        let missing = env(&[("NEXUS_JWT_SECRET_ID", "nexus/none")]).fetch(&[SecretVar::SigningKey]).await;
        assert!(missing.is_err());
    }

    /// The replica's secret (RDS keeps one per cluster: the primary's, naming the instance) with
    /// the replica's own endpoint in `NEXUS_DATABASE_READ_HOST`.
    #[tokio::test]
    async fn a_read_secret_becomes_the_read_url_on_the_replica_host() {
        assert!(std::env::var("AWS_ENDPOINT_URL").is_ok(), "run through scripts/test, which starts moto");
        let client = aws_sdk_secretsmanager::Client::new(&crate::aws::sdk_config().await);
        let id = format!("nexus/db-read-{}", uuid::Uuid::new_v4());
        let rds = r#"{"username": "app", "password": "p w", "host": "primary.rds", "port": 5432, "dbname": "nexus"}"#;
        client.create_secret().name(&id).secret_string(rds).send().await.unwrap();
        let e = env(&[
            ("NEXUS_DATABASE_READ_SECRET_ID", &id),
            ("NEXUS_DATABASE_READ_HOST", "replica.rds"),
            ("NEXUS_DB_READ_SSLROOTCERT", "global-bundle.pem"),
        ])
        .fetch(&[SecretVar::DatabaseUrl, SecretVar::ReadDatabaseUrl])
        .await
        .unwrap();
        let read = DatabaseSettings::read_from_env(&e).unwrap().unwrap();
        assert_eq!(read.url.expose(), "postgres://app:p%20w@replica.rds:5432/nexus?sslrootcert=global-bundle.pem");
        // A function that does not ask for it never fetches it.
        let unasked = env(&[("NEXUS_DATABASE_READ_SECRET_ID", "nexus/none")]).fetch(&[SecretVar::DatabaseUrl]).await;
        assert!(unasked.unwrap().get("NEXUS_DATABASE_READ_URL").is_none());
    }

    #[test]
    fn an_rds_secret_becomes_a_url_with_an_encoded_password() {
        let url = database_url(
            r#"{"username": "nexus", "password": "p@ss:w/rd %", "host": "db.proxy", "port": 5432, "dbname": "nexus"}"#,
            None,
        )
        .unwrap();
        assert_eq!(url, "postgres://nexus:p%40ss%3Aw%2Frd%20%25@db.proxy:5432/nexus");
        let through_proxy = database_url(r#"{"username": "u", "password": "p", "host": "instance"}"#, Some("proxy"));
        assert_eq!(through_proxy.unwrap(), "postgres://u:p@proxy:5432/postgres");
        assert!(database_url(r#"{"user": "x"}"#, None).is_err());
    }

    #[test]
    fn missing_database_url_is_named_and_secrets_are_not_printed() {
        let err = DatabaseSettings::from_env(&env(&[("NEXUS_JWT_SECRET", SECRET)])).unwrap_err();
        assert_eq!(err.to_string(), "environment variable DATABASE_URL is required");
        let e = env(&[("DATABASE_URL", "postgres://u:pw@h/db"), ("NEXUS_JWT_SECRET", SECRET)]);
        let printed = format!("{:?} {:?}", DatabaseSettings::from_env(&e).unwrap(), JwtSettings::from_env(&e).unwrap());
        assert!(!printed.contains(SECRET) && !printed.contains("pw@h"));
    }
}
