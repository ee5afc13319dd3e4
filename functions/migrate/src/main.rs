//! The Lambda entry point: any event applies the pending migrations, makes sure an admin exists,
//! and answers what it did.

use lambda_runtime::{LambdaEvent, service_fn};
use nexus_migrate::first_admin::{self, AdminOutcome};
use nexus_migrate::{DeployReport, MigrateSettings};
use nexus_shared::auth::password::{PasswordHashing, Passwords};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    nexus_shared::telemetry::init();
    let settings = nexus_shared::config::load::<MigrateSettings>().await?;
    let pool = &nexus_shared::db::lazy_pool(&settings.database)?;
    let secrets = &aws_sdk_secretsmanager::Client::new(&nexus_shared::aws::sdk_config().await);
    let (admin, passwords) = (&settings.admin, &Passwords::new(PasswordHashing::OWASP));
    lambda_runtime::run(service_fn(move |_: LambdaEvent<serde::de::IgnoredAny>| async move {
        let failed = |what: &str, error: &dyn std::fmt::Display| {
            tracing::error!(%error, "{what} failed");
            lambda_runtime::Error::from(format!("{what} failed; the cause is in the function's log"))
        };
        let migrations = nexus_migrate::migrate(pool).await.map_err(|e| failed("the migration", &e))?;
        let admin = match admin {
            Some(admin) => {
                first_admin::ensure(pool, passwords, admin, secrets).await.map_err(|e| failed("the first admin", &e))?
            }
            None => AdminOutcome::NotConfigured,
        };
        // The deploy's record of what changed, beside the answer it reads.
        tracing::info!(applied = ?migrations.applied, latest = ?migrations.latest, ?admin, "deployed");
        Ok::<_, lambda_runtime::Error>(DeployReport { migrations, admin })
    }))
    .await
}
