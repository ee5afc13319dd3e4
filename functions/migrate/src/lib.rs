//! `migrate`: applies the migrations embedded in `nexus_shared::db::MIGRATOR`. It is invoked once
//! after each deploy (`infra/deploy.sh`), never at a cold start of the API functions, so a
//! request never waits for, or races, a schema change. Then it makes sure the deployment has an
//! admin ([`first_admin`]).

pub mod first_admin;

use nexus_shared::config::{ConfigError, DatabaseSettings, Env, FromEnv, SecretVar};
use serde::Serialize;
use sqlx::PgPool;

use crate::first_admin::{AdminOutcome, FirstAdmin};

/// What the function reads: the database, and who the first admin is (optional).
pub struct MigrateSettings {
    pub database: DatabaseSettings,
    pub admin: Option<FirstAdmin>,
}

impl FromEnv for MigrateSettings {
    const SECRETS: &'static [SecretVar] = &[SecretVar::DatabaseUrl];
    async fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self { database: DatabaseSettings::from_env(env)?, admin: FirstAdmin::from_env(env)? })
    }
}

/// What an invocation answers: the migrations, and what it did about the first admin.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct DeployReport {
    #[serde(flatten)]
    pub migrations: MigrationReport,
    pub admin: AdminOutcome,
}

/// What the invocation returns: the versions this run applied and the newest one now present.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct MigrationReport {
    pub applied: Vec<i64>,
    pub latest: Option<i64>,
}

/// Applies every pending migration; already applied ones are skipped (sqlx checks their
/// checksums and refuses an edited migration, which is why migrations are never edited).
pub async fn migrate(pool: &PgPool) -> Result<MigrationReport, sqlx::migrate::MigrateError> {
    let before = applied_versions(pool).await?;
    nexus_shared::db::MIGRATOR.run(pool).await?;
    let after = applied_versions(pool).await?;
    let applied = after.iter().copied().filter(|v| !before.contains(v)).collect();
    Ok(MigrationReport { applied, latest: after.last().copied() })
}

async fn applied_versions(pool: &PgPool) -> Result<Vec<i64>, sqlx::Error> {
    let table_exists: bool =
        sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL").fetch_one(pool).await?;
    if !table_exists {
        return Ok(Vec::new());
    }
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version").fetch_all(pool).await
}
