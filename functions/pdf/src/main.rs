#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    nexus_shared::telemetry::init();
    let sdk = nexus_shared::aws::sdk_config().await;
    let storage = nexus_shared::storage::S3Store::from_env(&sdk).await?;
    let state = nexus_shared::AppState::from_env().await?.with_storage(storage);
    lambda_http::run(nexus_pdf::router(state)).await
}
