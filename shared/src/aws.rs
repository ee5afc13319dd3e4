//! AWS SDK configuration, built once per cold start. The SDK's default HTTP client is left out
//! (it compiles aws-lc); this one is rustls on ring, like the rest of the workspace. Region,
//! credentials and endpoint come from the standard variables (`AWS_REGION`, `AWS_ACCESS_KEY_ID`…,
//! `AWS_ENDPOINT_URL` for an S3-compatible server such as moto in tests).

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

pub async fn sdk_config() -> SdkConfig {
    let http =
        aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::Ring)).build_https();
    aws_config::defaults(BehaviorVersion::latest()).http_client(http).load().await
}
