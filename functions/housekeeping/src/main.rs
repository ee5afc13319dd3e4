//! The Lambda entry point: one purge per EventBridge scheduled event.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    nexus_shared::scheduled::run("housekeeping", nexus_housekeeping::purge).await
}
