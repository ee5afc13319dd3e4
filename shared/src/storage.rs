//! Object storage behind one port: S3 in Lambda and in tests (against an S3-compatible server),
//! and whatever else implements [`ObjectStore`].

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;

use crate::config::{ConfigError, Env};
use crate::error::ApiError;

/// Where generated documents (jobcards) go. Objects are private: clients only ever get
/// short-lived signed URLs, never a guessable public path.
pub trait ObjectStore: Send + Sync {
    fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> impl Future<Output = Result<(), ApiError>> + Send;
    fn presigned_get(&self, key: &str, ttl: Duration) -> impl Future<Output = Result<String, ApiError>> + Send;
    /// Whether the object is there (a lifecycle rule, or an emptied dev bucket, may remove it).
    fn exists(&self, key: &str) -> impl Future<Output = Result<bool, ApiError>> + Send;
}

#[derive(Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Store {
    /// `NEXUS_JOBCARD_BUCKET` names the bucket; `NEXUS_S3_FORCE_PATH_STYLE=true` for
    /// S3-compatible servers reached by address (moto, MinIO). The SDK reads its own variables.
    pub async fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let bucket = env.required("NEXUS_JOBCARD_BUCKET")?.to_string();
        let path_style = env.get("NEXUS_S3_FORCE_PATH_STYLE") == Some("true");
        Ok(Self::new(&crate::aws::sdk_config().await, bucket, path_style))
    }

    pub fn new(sdk: &aws_config::SdkConfig, bucket: String, force_path_style: bool) -> Self {
        let config = aws_sdk_s3::config::Builder::from(sdk).force_path_style(force_path_style).build();
        Self { client: aws_sdk_s3::Client::from_conf(config), bucket }
    }

    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

impl ObjectStore for S3Store {
    async fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), ApiError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .server_side_encryption(ServerSideEncryption::Aes256)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| ApiError::internal(format!("S3 put {key}: {}", aws_sdk_s3::error::DisplayErrorContext(e))))?;
        Ok(())
    }

    async fn exists(&self, key: &str) -> Result<bool, ApiError> {
        match self.client.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
            Err(e) => Err(ApiError::internal(format!("S3 head {key}: {}", aws_sdk_s3::error::DisplayErrorContext(e)))),
        }
    }

    async fn presigned_get(&self, key: &str, ttl: Duration) -> Result<String, ApiError> {
        let presigning = PresigningConfig::expires_in(ttl).map_err(ApiError::internal)?;
        let request =
            self.client.get_object().bucket(&self.bucket).key(key).presigned(presigning).await.map_err(|e| {
                ApiError::internal(format!("S3 presign {key}: {}", aws_sdk_s3::error::DisplayErrorContext(e)))
            })?;
        Ok(request.uri().to_string())
    }
}
