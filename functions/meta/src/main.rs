#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    nexus_shared::telemetry::init();
    let state = nexus_shared::config::load::<nexus_meta::MetaState>().await?;
    lambda_http::run(nexus_meta::router(state)).await
}
