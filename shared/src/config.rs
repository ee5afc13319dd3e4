//! Typed configuration, read once per cold start from the environment.

use std::time::Duration;

use crate::secret::Secret;

/// Everything a function needs to know about its surroundings.
#[derive(Debug, Clone)]
pub struct Config {
    pub database: DatabaseSettings,
    pub jwt: JwtSettings,
    pub password_hashing: PasswordHashing,
    pub login_throttle: LoginThrottle,
    /// The web app's origin (`NEXUS_CORS_ORIGIN`, `https://host[:port]`): the only one browsers
    /// may call the API from. Unset: no CORS headers, so no cross-origin browser calls at all.
    pub cors_origin: Option<String>,
    /// How long identical live-map views share one computation (`NEXUS_MAP_CACHE_SECS`, 0–60,
    /// default 5: the maps' `Cache-Control: max-age`).
    pub map_cache_ttl: Duration,
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
    /// to the public Amazon roots that ship in webpki-roots.
    pub ssl_mode: Option<sqlx::postgres::PgSslMode>,
}

#[derive(Debug, Clone)]
pub struct JwtSettings {
    pub secret: Secret<Vec<u8>>,
    pub issuer: String,
    pub audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

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

/// Failed logins allowed per e-mail within a sliding window before 429.
#[derive(Debug, Clone, Copy)]
pub struct LoginThrottle {
    pub max_failures: i64,
    pub window: Duration,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self { max_failures: 5, window: Duration::from_secs(15 * 60) }
    }
}

/// The longest access-token lifetime we accept: a stolen token must die quickly.
pub const MAX_ACCESS_TTL: Duration = Duration::from_secs(15 * 60);

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

impl DatabaseSettings {
    /// Only the database settings, for functions that need no signing key (the SLA check):
    /// `DATABASE_URL`, or the RDS secret named by `NEXUS_DATABASE_SECRET_ID`.
    pub async fn load() -> Result<Self, ConfigError> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let from_secret = match env("NEXUS_DATABASE_SECRET_ID") {
            Some(id) => {
                let client = aws_sdk_secretsmanager::Client::new(&crate::aws::sdk_config().await);
                Some(database_url(
                    &crate::secrets_manager::fetch(&client, &id).await?,
                    env("NEXUS_DATABASE_HOST").as_deref(),
                )?)
            }
            None => None,
        };
        Self::from_lookup(&|name: &str| {
            if name == "DATABASE_URL" && from_secret.is_some() { from_secret.clone() } else { env(name) }
        })
    }

    fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let url = get("DATABASE_URL").filter(|v| !v.is_empty()).ok_or(ConfigError::Missing("DATABASE_URL"))?;
        Ok(Self {
            url: Secret::new(url),
            max_connections: env_number(get, "NEXUS_DB_MAX_CONNECTIONS", 5)? as u32,
            acquire_timeout: Duration::from_millis(env_number(get, "NEXUS_DB_ACQUIRE_TIMEOUT_MS", 3000)?),
            ssl_mode: get("NEXUS_DB_SSLMODE")
                .filter(|v| !v.is_empty())
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

fn env_number(get: &impl Fn(&str) -> Option<String>, name: &'static str, default: u64) -> Result<u64, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| ConfigError::Invalid { name, reason: "not a whole number".into() }),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

impl Config {
    /// Reads the configuration from environment variables (see the README for the list).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`Config::from_env`], except that secrets named by `NEXUS_JWT_SECRET_ID` (the signing
    /// key) and `NEXUS_DATABASE_SECRET_ID` (an RDS secret: username, password, host, port,
    /// dbname) are read from Secrets Manager — once, at cold start — instead of the variables.
    pub async fn load() -> Result<Self, ConfigError> {
        Self::load_from(|name| std::env::var(name).ok()).await
    }

    /// [`Config::load`] over any lookup (the AWS SDK itself still reads its own variables).
    pub async fn load_from(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = |name: &str| get(name).filter(|v| !v.is_empty());
        let (jwt_id, database_id) = (env("NEXUS_JWT_SECRET_ID"), env("NEXUS_DATABASE_SECRET_ID"));
        let mut from_secrets = std::collections::HashMap::new();
        if jwt_id.is_some() || database_id.is_some() {
            let client = aws_sdk_secretsmanager::Client::new(&crate::aws::sdk_config().await);
            // Both at once: each is a network round trip on the cold-start path.
            let fetch = |id: Option<String>| {
                let client = &client;
                async move {
                    match id {
                        Some(id) => crate::secrets_manager::fetch(client, &id).await.map(Some),
                        None => Ok(None),
                    }
                }
            };
            let (jwt, database) = tokio::try_join!(fetch(jwt_id), fetch(database_id))?;
            if let Some(key) = jwt {
                from_secrets.insert("NEXUS_JWT_SECRET", key);
            }
            if let Some(secret) = database {
                from_secrets.insert("DATABASE_URL", database_url(&secret, env("NEXUS_DATABASE_HOST").as_deref())?);
            }
        }
        Self::from_lookup(|name| from_secrets.get(name).cloned().or_else(|| env(name)))
    }

    /// For a function that accepts no tokens (`meta`): only the database from the environment,
    /// and a random signing key, so it needs no access to the real one and no token verifies.
    pub async fn load_without_signing_key() -> Result<Self, ConfigError> {
        let database = DatabaseSettings::load().await?;
        let mut key = vec![0u8; 32];
        getrandom::fill(&mut key)
            .map_err(|e| ConfigError::Invalid { name: "signing key", reason: format!("no randomness: {e}") })?;
        Ok(Self {
            database,
            jwt: JwtSettings {
                secret: Secret::new(key),
                issuer: "nexus".into(),
                audience: "nexus-api".into(),
                access_ttl: MAX_ACCESS_TTL,
                refresh_ttl: MAX_ACCESS_TTL,
            },
            password_hashing: PasswordHashing::OWASP,
            login_throttle: LoginThrottle::default(),
            cors_origin: None,
            map_cache_ttl: Duration::ZERO,
        })
    }

    /// Same as [`Config::from_env`] over any lookup, so it can be tested without touching the
    /// process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &'static str| get(name).filter(|v| !v.is_empty()).ok_or(ConfigError::Missing(name));
        let number = |name: &'static str, default: u64| env_number(&get, name, default);

        let jwt_secret = required("NEXUS_JWT_SECRET")?;
        if jwt_secret.len() < 32 {
            return Err(ConfigError::Invalid { name: "NEXUS_JWT_SECRET", reason: "must be at least 32 bytes".into() });
        }
        let access_ttl = Duration::from_secs(number("NEXUS_ACCESS_TOKEN_TTL_SECS", 900)?);
        if access_ttl.is_zero() || access_ttl > MAX_ACCESS_TTL {
            return Err(ConfigError::Invalid {
                name: "NEXUS_ACCESS_TOKEN_TTL_SECS",
                reason: "must be between 1 and 900 seconds".into(),
            });
        }

        let cors_origin = get("NEXUS_CORS_ORIGIN").filter(|v| !v.is_empty());
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
        let map_cache_ttl = Duration::from_secs(number("NEXUS_MAP_CACHE_SECS", 5)?);
        if map_cache_ttl > Duration::from_secs(60) {
            return Err(ConfigError::Invalid { name: "NEXUS_MAP_CACHE_SECS", reason: "at most 60 seconds".into() });
        }
        Ok(Self {
            database: DatabaseSettings::from_lookup(&get)?,
            jwt: JwtSettings {
                secret: Secret::new(jwt_secret.into_bytes()),
                issuer: get("NEXUS_JWT_ISSUER").unwrap_or_else(|| "nexus".into()),
                audience: get("NEXUS_JWT_AUDIENCE").unwrap_or_else(|| "nexus-api".into()),
                access_ttl,
                refresh_ttl: Duration::from_secs(number("NEXUS_REFRESH_TOKEN_TTL_SECS", 30 * 24 * 3600)?),
            },
            password_hashing: PasswordHashing::OWASP,
            login_throttle: LoginThrottle::default(),
            cors_origin,
            map_cache_ttl,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn defaults_apply_when_only_required_values_are_given() {
        let c = Config::from_lookup(lookup(&[("DATABASE_URL", "postgres://x"), ("NEXUS_JWT_SECRET", SECRET)])).unwrap();
        assert_eq!(c.jwt.access_ttl, Duration::from_secs(900));
        assert_eq!(c.password_hashing, PasswordHashing::OWASP);
        assert_eq!(c.database.max_connections, 5);
        assert!(c.database.ssl_mode.is_none());
    }

    #[test]
    fn the_tls_mode_is_parsed_and_nonsense_is_refused() {
        let with = |mode| {
            Config::from_lookup(lookup(&[
                ("DATABASE_URL", "postgres://x"),
                ("NEXUS_JWT_SECRET", SECRET),
                ("NEXUS_DB_SSLMODE", mode),
            ]))
        };
        assert!(matches!(with("verify-full").unwrap().database.ssl_mode, Some(sqlx::postgres::PgSslMode::VerifyFull)));
        assert!(matches!(with("always"), Err(ConfigError::Invalid { name: "NEXUS_DB_SSLMODE", .. })));
    }

    #[test]
    fn short_jwt_secret_and_long_ttl_are_refused() {
        let short = Config::from_lookup(lookup(&[("DATABASE_URL", "postgres://x"), ("NEXUS_JWT_SECRET", "short")]));
        assert!(matches!(short, Err(ConfigError::Invalid { name: "NEXUS_JWT_SECRET", .. })));
        let long = Config::from_lookup(lookup(&[
            ("DATABASE_URL", "postgres://x"),
            ("NEXUS_JWT_SECRET", SECRET),
            ("NEXUS_ACCESS_TOKEN_TTL_SECS", "3600"),
        ]));
        assert!(matches!(long, Err(ConfigError::Invalid { name: "NEXUS_ACCESS_TOKEN_TTL_SECS", .. })));
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
        let c = Config::load_from(lookup(&[
            ("NEXUS_JWT_SECRET_ID", &jwt),
            ("NEXUS_DATABASE_SECRET_ID", &db),
            ("NEXUS_JWT_SECRET", "a-plain-variable-that-must-lose-000"),
        ]))
        .await
        .unwrap();
        assert_eq!(c.jwt.secret.expose(), b"signing-key-from-secrets-manager-0123");
        assert_eq!(c.database.url.expose(), "postgres://app:pw%2F1@proxy:5432/nexus");
        let printed = format!("{c:?}");
        assert!(!printed.contains("signing-key-from-secrets-manager") && !printed.contains("pw%2F1"));
        let missing =
            Config::load_from(lookup(&[("NEXUS_JWT_SECRET_ID", "nexus/none"), ("DATABASE_URL", "postgres://x")])).await;
        assert!(missing.is_err());
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
    fn missing_database_url_is_named_and_secret_is_not_printed() {
        let err = Config::from_lookup(lookup(&[("NEXUS_JWT_SECRET", SECRET)])).unwrap_err();
        assert_eq!(err.to_string(), "environment variable DATABASE_URL is required");
        let ok = Config::from_lookup(lookup(&[("DATABASE_URL", "postgres://u:pw@h/db"), ("NEXUS_JWT_SECRET", SECRET)]))
            .unwrap();
        let printed = format!("{ok:?}");
        assert!(!printed.contains(SECRET) && !printed.contains("pw@h"));
    }
}
