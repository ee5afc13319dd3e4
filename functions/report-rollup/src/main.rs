//! The Lambda entry point: one rollup run per EventBridge scheduled event.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    nexus_shared::scheduled::run("the KPI rollup", nexus_report_rollup::run).await
}
