//! The Lambda entry point: any event applies the pending migrations and answers what it did.

use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    nexus_shared::telemetry::init();
    let settings = nexus_shared::config::load::<nexus_shared::config::DatabaseSettings>().await?;
    let pool = &nexus_shared::db::lazy_pool(&settings)?;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<serde::de::IgnoredAny>| async move {
        match nexus_migrate::migrate(pool).await {
            // The deploy's record of what changed in the schema, beside the answer it reads.
            Ok(report) => {
                tracing::info!(applied = ?report.applied, latest = ?report.latest, "migrations applied");
                Ok(report)
            }
            Err(error) => {
                tracing::error!(%error, "migration failed");
                Err(lambda_runtime::Error::from("the migration failed; the cause is in the function's log"))
            }
        }
    }))
    .await
}
