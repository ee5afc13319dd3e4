//! AWS SDK configuration, built once per cold start, from the environment only: `AWS_REGION`,
//! the credentials Lambda puts in `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`,
//! and `AWS_ENDPOINT_URL` for an S3-compatible server (moto in tests). Not the SDK's default
//! chain: its profile, SSO, STS and metadata-service providers are dead weight in a Lambda
//! (~0.5 MB of every zip) and a laptop without variables would wait on the metadata service.
//! The HTTP client is rustls on ring, like the rest of the workspace (the SDK's default
//! client compiles aws-lc).

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

pub async fn sdk_config() -> SdkConfig {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let http =
        aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::Ring)).build_https();
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http)
        .region(env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")).map(Region::new))
        .credentials_provider(SharedCredentialsProvider::new(EnvironmentVariableCredentialsProvider::new()));
    if let Some(endpoint) = env("AWS_ENDPOINT_URL") {
        config = config.endpoint_url(endpoint);
    }
    config.build()
}
