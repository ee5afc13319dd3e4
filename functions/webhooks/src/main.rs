#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    nexus_shared::telemetry::init();
    let state = nexus_shared::config::load::<nexus_webhooks::WebhooksState>().await?;
    lambda_http::run(nexus_webhooks::router(state)).await
}
