//! The Lambda entry point: one dispatch run per EventBridge scheduled event, stopping before the
//! invocation's deadline.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    nexus_shared::scheduled::run_with("webhook dispatch", nexus_webhook_dispatch::Dispatcher::run_scheduled).await
}
