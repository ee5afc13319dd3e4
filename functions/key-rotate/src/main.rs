//! The Lambda entry point: one rotation step per Secrets Manager rotation event.

use lambda_runtime::{LambdaEvent, service_fn};
use nexus_key_rotate::{RotateSettings, RotationEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    nexus_shared::telemetry::init();
    let settings = &nexus_shared::config::load::<RotateSettings>().await?;
    let client = &aws_sdk_secretsmanager::Client::new(&nexus_shared::aws::sdk_config().await);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<RotationEvent>| async move {
        let event = event.payload;
        match nexus_key_rotate::step(client, settings, &event, chrono::Utc::now()).await {
            Ok(report) => {
                tracing::info!(secret = %event.secret_id, version = %event.client_request_token, ?report, "rotation step done");
                Ok(report)
            }
            Err(error) => {
                tracing::error!(secret = %event.secret_id, version = %event.client_request_token, step = ?event.step, %error, "rotation step failed");
                Err(lambda_runtime::Error::from(error.to_string()))
            }
        }
    }))
    .await
}
