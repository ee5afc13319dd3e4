//! The Lambda entry point: one sweep per EventBridge scheduled event, over a pool built once
//! per cold start.

use lambda_runtime::{LambdaEvent, service_fn};
use nexus_sla_check::ScheduledEvent;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    nexus_shared::telemetry::init();
    // Only the database: this function signs no tokens and needs no signing key.
    let pool = &nexus_shared::db::lazy_pool(&nexus_shared::config::DatabaseSettings::load().await?)?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ScheduledEvent>| async move {
        nexus_sla_check::handle(pool, event.payload).await.map_err(|error| {
            // The cause goes to the log only; the invocation's error says nothing internal.
            tracing::error!(%error, "SLA sweep failed");
            lambda_runtime::Error::from("the SLA sweep failed; the cause is in the function's log")
        })
    }))
    .await
}
