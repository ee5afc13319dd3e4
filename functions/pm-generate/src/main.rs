//! The Lambda entry point: one generator run per EventBridge scheduled event.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    nexus_shared::scheduled::run("the PM generator", nexus_pm_generate::run).await
}
