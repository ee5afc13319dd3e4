//! The connection pool and the migrator.

use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgConnection, PgPool};

use crate::error::ApiError;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr;

use crate::config::{ConfigError, DatabaseSettings};

/// All migrations of the workspace, embedded at compile time. Applied once per deploy (and by
/// the local runner and `#[sqlx::test]`), never at a Lambda cold start.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Builds the pool without connecting: a cold start pays for a connection only when a request
/// needs one, and a database outage turns into 503s instead of a crash loop.
pub fn lazy_pool(settings: &DatabaseSettings) -> Result<PgPool, ConfigError> {
    // The parser's message may quote the URL, password included: name the variable only.
    let invalid = |_| ConfigError::Invalid {
        name: "DATABASE_URL",
        reason: "not a PostgreSQL connection URL (from the variable, or the secret NEXUS_DATABASE_SECRET_ID names)"
            .into(),
    };
    let mut options = PgConnectOptions::from_str(settings.url.expose()).map_err(invalid)?.application_name("nexus");
    if let Some(mode) = settings.ssl_mode {
        options = options.ssl_mode(mode);
    }
    Ok(PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        .connect_lazy_with(options))
}

/// Whether a read takes a row lock until the transaction ends (so two updates cannot interleave).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    None,
    ForUpdate,
}

/// One row of `table` by its `id` key; `columns` and `table` are constants of the caller.
pub async fn fetch_by_id<T>(
    conn: &mut PgConnection,
    columns: &str,
    table: &str,
    id: i64,
    lock: Lock,
) -> Result<Option<T>, ApiError>
where
    T: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    let suffix = if lock == Lock::ForUpdate { " FOR UPDATE" } else { "" };
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {columns} FROM {table} WHERE id = $1{suffix}")))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

/// The rows of `table` whose `key_column` is one of `keys` (a bulk import's stored rows by their
/// natural keys); `columns`, `table` and `key_column` are constants of the caller.
pub async fn fetch_by_keys<T>(
    conn: &mut PgConnection,
    columns: &str,
    table: &str,
    key_column: &str,
    keys: &[&str],
    lock: Lock,
) -> Result<Vec<T>, ApiError>
where
    T: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    let suffix = if lock == Lock::ForUpdate { " FOR UPDATE" } else { "" };
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {columns} FROM {table} WHERE {key_column} = ANY($1){suffix}"
    )))
    .bind(keys)
    .fetch_all(conn)
    .await?)
}

/// `%q%` for ILIKE, with the LIKE wildcards in `q` taken literally.
pub fn like_pattern(q: &str) -> String {
    let escaped = q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_migration_file_is_embedded() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations");
        let files = std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "sql"))
            .count();
        assert_eq!(super::MIGRATOR.iter().count(), files, "rebuild: the embedded migrator is stale");
    }

    #[test]
    fn like_wildcards_are_literal() {
        assert_eq!(super::like_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
