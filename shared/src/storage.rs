//! Object storage behind one port: S3 in Lambda and in tests (against an S3-compatible server),
//! and whatever else implements [`ObjectStore`].
//!
//! Uploads from clients go straight to S3 through a presigned PUT whose signature covers the
//! length, the type and the SHA-256 the client declared ([`ObjectStore::presigned_put`]), so S3
//! itself refuses other bytes; the server still reads what arrived back ([`ObjectStore::digest`],
//! streamed: one chunk in memory at a time) before it trusts it, because S3-compatible stores
//! (moto among them) enforce neither.

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{MetadataDirective, ServerSideEncryption};
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::config::{ConfigError, Env};
use crate::error::ApiError;

/// Where generated documents (jobcards) and uploaded files (attachments) go. Objects are
/// private: clients only ever get short-lived signed URLs, never a guessable public path.
pub trait ObjectStore: Send + Sync {
    fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> impl Future<Output = Result<(), ApiError>> + Send;
    fn presigned_get(&self, key: &str, ttl: Duration) -> impl Future<Output = Result<String, ApiError>> + Send;
    /// Whether the object is there (a lifecycle rule, or an emptied dev bucket, may remove it).
    fn exists(&self, key: &str) -> impl Future<Output = Result<bool, ApiError>> + Send;
    /// A presigned GET whose response says `content_type` whatever the object was stored with.
    fn presigned_get_as(
        &self,
        key: &str,
        ttl: Duration,
        content_type: &str,
    ) -> impl Future<Output = Result<String, ApiError>> + Send;
    /// A presigned PUT of exactly the declared bytes: its signature covers `Content-Length`,
    /// `Content-Type` and `x-amz-checksum-sha256`, so S3 refuses any other length, type or
    /// content. Fails (500) rather than hand out a URL whose signature would not cover them.
    fn presigned_put(
        &self,
        upload: &ExpectedUpload<'_>,
        ttl: Duration,
    ) -> impl Future<Output = Result<PresignedUpload, ApiError>> + Send;
    /// Reads the object through once, hashing as it streams (one chunk in memory at a time), and
    /// stops after `limit` bytes. `None` if there is no such object.
    fn digest(&self, key: &str, limit: u64) -> impl Future<Output = Result<Option<ObjectDigest>, ApiError>> + Send;
    /// Copies exactly the object version `source` read, only if it is unchanged since (its
    /// ETag), to `to`, encrypted, with `content_type`. `false`: the source changed or went (and
    /// nothing is left at `to`).
    fn copy(
        &self,
        source: &ObjectDigest,
        to: &str,
        content_type: &str,
    ) -> impl Future<Output = Result<bool, ApiError>> + Send;
    /// Deletes the object; with a version id, that version for good (in a versioned bucket a
    /// plain delete only hides the bytes behind a delete marker). Deleting nothing is no error.
    fn delete(&self, key: &str, version_id: Option<&str>) -> impl Future<Output = Result<(), ApiError>> + Send;
}

/// The one upload a presigned PUT allows: where, what type, how long and which bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedUpload<'a> {
    pub key: &'a str,
    pub content_type: &'a str,
    pub size_bytes: u64,
    pub sha256: [u8; 32],
}

impl ExpectedUpload<'_> {
    /// The `x-amz-checksum-sha256` value: base64 of the raw digest (not hex).
    pub fn checksum_header(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.sha256)
    }
}

/// A presigned upload: send `method` to `url` with every one of `headers` and the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedUpload {
    pub url: String,
    pub method: String,
    /// Lower-case names; the signature covers each of them (and `host`, which is in the URL).
    pub headers: Vec<(String, String)>,
}

/// The headers a presigned upload's signature must cover; without them S3 would take any bytes.
pub const SIGNED_UPLOAD_HEADERS: [&str; 3] = ["content-length", "content-type", "x-amz-checksum-sha256"];

/// One stored version of an object, as it was read: copy or delete exactly that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectVersion {
    pub key: String,
    pub etag: Option<String>,
    /// `None` in a bucket without versioning.
    pub version_id: Option<String>,
}

/// What reading an object back showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectDigest {
    /// The bytes read: all of them, unless `too_large`.
    pub size_bytes: u64,
    /// SHA-256 of the bytes read (meaningless when `too_large`).
    pub sha256: [u8; 32],
    /// The first bytes (up to 16), to tell the file's type by its magic number.
    pub head: Vec<u8>,
    /// More than the limit: reading stopped (or never started, when S3 said so up front).
    pub too_large: bool,
    pub version: ObjectVersion,
}

const HEAD_BYTES: usize = 16;

fn s3_error<E>(what: &str, key: &str, e: aws_sdk_s3::error::SdkError<E>) -> ApiError
where
    E: std::error::Error + Send + Sync + 'static,
{
    ApiError::internal(format!("S3 {what} {key}: {}", aws_sdk_s3::error::DisplayErrorContext(e)))
}

/// The value of one query parameter of a URL, percent-decoded.
fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes()).find(|(n, _)| n == name).map(|(_, v)| v.into_owned())
}

/// An S3 copy source, `bucket/key`, percent-encoded (keys may hold characters a URL may not).
fn copy_source(bucket: &str, key: &str, version_id: Option<&str>) -> String {
    let encoded: String = key
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    match version_id {
        Some(v) => format!("{bucket}/{encoded}?versionId={v}"),
        None => format!("{bucket}/{encoded}"),
    }
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

    async fn presigned_get_as(&self, key: &str, ttl: Duration, content_type: &str) -> Result<String, ApiError> {
        let presigning = PresigningConfig::expires_in(ttl).map_err(ApiError::internal)?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_type(content_type)
            .presigned(presigning)
            .await
            .map_err(|e| s3_error("presign", key, e))?;
        Ok(request.uri().to_string())
    }

    async fn presigned_put(&self, upload: &ExpectedUpload<'_>, ttl: Duration) -> Result<PresignedUpload, ApiError> {
        let presigning = PresigningConfig::expires_in(ttl).map_err(ApiError::internal)?;
        let length = i64::try_from(upload.size_bytes).map_err(ApiError::internal)?;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(upload.key)
            .content_type(upload.content_type)
            .content_length(length)
            .checksum_sha256(upload.checksum_header())
            .presigned(presigning)
            .await
            .map_err(|e| s3_error("presign upload", upload.key, e))?;
        let url = request.uri().to_string();
        let headers: Vec<(String, String)> =
            request.headers().map(|(name, value)| (name.to_ascii_lowercase(), value.to_string())).collect();
        // The SDK decides which values become signed headers and which query parameters (where
        // S3 ignores a checksum); what it did is checked on every URL, not assumed.
        let signed = query_param(&url, "X-Amz-SignedHeaders").unwrap_or_default();
        let signed: Vec<&str> = signed.split(';').collect();
        for name in SIGNED_UPLOAD_HEADERS {
            if !signed.contains(&name) || !headers.iter().any(|(n, _)| n == name) {
                return Err(ApiError::internal(format!(
                    "S3 presign upload {}: {name} is not a signed header (signed: {signed:?})",
                    upload.key
                )));
            }
        }
        Ok(PresignedUpload { url, method: request.method().to_string(), headers })
    }

    async fn digest(&self, key: &str, limit: u64) -> Result<Option<ObjectDigest>, ApiError> {
        let object = match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(object) => object,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(s3_error("get", key, e)),
        };
        let version = ObjectVersion {
            key: key.to_string(),
            etag: object.e_tag().map(str::to_string),
            version_id: object.version_id().filter(|v| *v != "null").map(str::to_string),
        };
        let stated = object.content_length().and_then(|n| u64::try_from(n).ok());
        if let Some(stated) = stated.filter(|n| *n > limit) {
            // Not worth reading: dropping the body closes the connection.
            return Ok(Some(ObjectDigest {
                size_bytes: stated,
                sha256: [0; 32],
                head: Vec::new(),
                too_large: true,
                version,
            }));
        }
        let mut body = object.body;
        let (mut hasher, mut size, mut head) = (Sha256::new(), 0u64, Vec::with_capacity(HEAD_BYTES));
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| ApiError::internal(format!("S3 read {key}: {e}")))?;
            size += chunk.len() as u64;
            if size > limit {
                return Ok(Some(ObjectDigest { size_bytes: size, sha256: [0; 32], head, too_large: true, version }));
            }
            let missing = HEAD_BYTES.saturating_sub(head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..missing]);
            hasher.update(&chunk);
        }
        Ok(Some(ObjectDigest { size_bytes: size, sha256: hasher.finalize().into(), head, too_large: false, version }))
    }

    async fn copy(&self, source: &ObjectDigest, to: &str, content_type: &str) -> Result<bool, ApiError> {
        let from = &source.version;
        let mut copy = self
            .client
            .copy_object()
            .bucket(&self.bucket)
            .copy_source(copy_source(&self.bucket, &from.key, from.version_id.as_deref()))
            .key(to)
            .content_type(content_type)
            .metadata_directive(MetadataDirective::Replace)
            .server_side_encryption(ServerSideEncryption::Aes256);
        if let Some(etag) = &from.etag {
            copy = copy.copy_source_if_match(etag);
        }
        let copied = match copy.send().await {
            Ok(copied) => copied,
            Err(e) if e.raw_response().is_some_and(|r| matches!(r.status().as_u16(), 404 | 412)) => return Ok(false),
            Err(e) => return Err(s3_error("copy", &from.key, e)),
        };
        // S3 honours the precondition; a store that ignores it (moto does) still says what it
        // copied. Another ETag (a swap, or encryption whose ETags are no MD5) is settled by
        // reading the copy: other bytes at `to` are removed, not left for a later reader.
        let etag = copied.copy_object_result().and_then(|r| r.e_tag());
        if from.etag.is_none() || etag.is_none() || etag == from.etag.as_deref() {
            return Ok(true);
        }
        let limit = source.size_bytes;
        let same = self
            .digest(to, limit)
            .await?
            .is_some_and(|d| !d.too_large && d.size_bytes == source.size_bytes && d.sha256 == source.sha256);
        if !same {
            self.delete(to, copied.version_id()).await?;
        }
        Ok(same)
    }

    async fn delete(&self, key: &str, version_id: Option<&str>) -> Result<(), ApiError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .set_version_id(version_id.map(str::to_string))
            .send()
            .await
            .map_err(|e| s3_error("delete", key, e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksum_header_is_base64_of_the_raw_digest() {
        // SHA-256 of "abc": ba7816bf…15ad in hex; S3 wants the 32 bytes in base64.
        let sha256: [u8; 32] = Sha256::digest(b"abc").into();
        let upload = ExpectedUpload { key: "k", content_type: "image/png", size_bytes: 3, sha256 };
        assert_eq!(upload.checksum_header(), "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
    }

    #[test]
    fn copy_sources_are_encoded_and_name_their_version() {
        assert_eq!(copy_source("b", "uploads/pending/1/a b+c", None), "b/uploads/pending/1/a%20b%2Bc");
        assert_eq!(copy_source("b", "k", Some("v1")), "b/k?versionId=v1");
    }

    #[test]
    fn query_parameters_are_read_decoded() {
        let url = "http://h/b/k?X-Amz-SignedHeaders=content-length%3Bhost&X-Amz-Expires=900";
        assert_eq!(query_param(url, "X-Amz-SignedHeaders").as_deref(), Some("content-length;host"));
        assert_eq!(query_param(url, "X-Amz-Expires").as_deref(), Some("900"));
        assert_eq!(query_param(url, "missing"), None);
    }
}
