//! The Lambda entry point: one sweep per EventBridge scheduled event.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    nexus_shared::scheduled::run("the SLA sweep", nexus_sla_check::sweep).await
}
