#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    nexus_shared::telemetry::init();
    // Health and the document need no token, so this function never reads the signing key.
    let state = nexus_shared::AppState::from_env_without_signing_key().await?;
    lambda_http::run(nexus_meta::router(state)).await
}
