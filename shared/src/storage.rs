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
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, MetadataDirective, ServerSideEncryption};
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

/// The smallest part S3 takes in a multipart upload (all but the last part).
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

impl S3Store {
    /// A presigned GET that downloads as `filename` with `content_type`, whatever the object
    /// was stored with.
    pub async fn presigned_download(
        &self,
        key: &str,
        ttl: Duration,
        content_type: &str,
        filename: &str,
    ) -> Result<String, ApiError> {
        let presigning = PresigningConfig::expires_in(ttl).map_err(ApiError::internal)?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_type(content_type)
            .response_content_disposition(format!("attachment; filename=\"{filename}\""))
            .presigned(presigning)
            .await
            .map_err(|e| s3_error("presign", key, e))?;
        Ok(request.uri().to_string())
    }

    /// A writer of one object of unknown length, memory bounded: bytes gather into a part of
    /// `part_size` (at least [`MIN_PART_SIZE`]); each full part is uploaded while the next one
    /// fills, so at most two parts are held. An object that never fills a part is one plain
    /// PUT at [`UploadWriter::finish`] (no multipart upload is ever created for it).
    pub fn upload_writer(&self, key: &str, content_type: &str, part_size: usize) -> UploadWriter {
        let part_size = part_size.max(MIN_PART_SIZE);
        UploadWriter {
            store: self.clone(),
            key: key.to_string(),
            content_type: content_type.to_string(),
            part_size,
            buf: Vec::with_capacity(part_size),
            upload_id: None,
            parts: Vec::new(),
            in_flight: None,
            bytes: 0,
        }
    }
}

type PartUpload = tokio::task::JoinHandle<Result<CompletedPart, ApiError>>;

/// See [`S3Store::upload_writer`]. Dropping it without [`UploadWriter::finish`] leaves a
/// multipart upload behind: call [`UploadWriter::abort`] on every failure path (a bucket
/// lifecycle rule on incomplete uploads is the backstop).
pub struct UploadWriter {
    store: S3Store,
    key: String,
    content_type: String,
    part_size: usize,
    buf: Vec<u8>,
    upload_id: Option<String>,
    parts: Vec<CompletedPart>,
    in_flight: Option<PartUpload>,
    bytes: u64,
}

impl UploadWriter {
    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Parts uploaded or uploading so far (0 while everything still fits one part).
    pub fn parts(&self) -> usize {
        self.parts.len() + usize::from(self.in_flight.is_some())
    }

    pub async fn write(&mut self, mut data: &[u8]) -> Result<(), ApiError> {
        self.bytes += data.len() as u64;
        while !data.is_empty() {
            let room = self.part_size - self.buf.len();
            let take = room.min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.buf.len() == self.part_size {
                self.send_part().await?;
            }
        }
        Ok(())
    }

    /// Starts the upload of the buffer as the next part, after the previous one has finished.
    async fn send_part(&mut self) -> Result<(), ApiError> {
        self.settle().await?;
        let upload_id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let created = self
                    .store
                    .client
                    .create_multipart_upload()
                    .bucket(&self.store.bucket)
                    .key(&self.key)
                    .content_type(&self.content_type)
                    .server_side_encryption(ServerSideEncryption::Aes256)
                    .send()
                    .await
                    .map_err(|e| s3_error("create multipart", &self.key, e))?;
                let id = created.upload_id().ok_or_else(|| ApiError::internal("S3 gave no upload id"))?.to_string();
                self.upload_id = Some(id.clone());
                id
            }
        };
        let body = std::mem::replace(&mut self.buf, Vec::with_capacity(self.part_size));
        let number = self.parts.len() as i32 + 1;
        let (client, bucket, key) = (self.store.client.clone(), self.store.bucket.clone(), self.key.clone());
        self.in_flight = Some(tokio::spawn(async move {
            let part = client
                .upload_part()
                .bucket(&bucket)
                .key(&key)
                .upload_id(&upload_id)
                .part_number(number)
                .body(ByteStream::from(body))
                .send()
                .await
                .map_err(|e| s3_error("upload part", &key, e))?;
            Ok(CompletedPart::builder()
                .part_number(number)
                .set_e_tag(part.e_tag().map(str::to_string))
                .set_checksum_crc32(part.checksum_crc32().map(str::to_string))
                .set_checksum_crc32_c(part.checksum_crc32_c().map(str::to_string))
                .set_checksum_crc64_nvme(part.checksum_crc64_nvme().map(str::to_string))
                .set_checksum_sha1(part.checksum_sha1().map(str::to_string))
                .set_checksum_sha256(part.checksum_sha256().map(str::to_string))
                .build())
        }));
        Ok(())
    }

    /// Waits for the part in flight, if any.
    async fn settle(&mut self) -> Result<(), ApiError> {
        if let Some(handle) = self.in_flight.take() {
            let part = handle.await.map_err(ApiError::internal)??;
            self.parts.push(part);
        }
        Ok(())
    }

    /// Writes what is left and makes the object: a plain PUT if it never filled a part,
    /// otherwise the last part and the completion. On an error the upload is aborted.
    pub async fn finish(mut self) -> Result<u64, ApiError> {
        match self.finish_inner().await {
            Ok(()) => Ok(self.bytes),
            Err(e) => {
                self.abort().await;
                Err(e)
            }
        }
    }

    async fn finish_inner(&mut self) -> Result<(), ApiError> {
        if self.upload_id.is_none() {
            let body = std::mem::take(&mut self.buf);
            return self.store.put(&self.key, body, &self.content_type).await;
        }
        if !self.buf.is_empty() {
            self.send_part().await?;
        }
        self.settle().await?;
        let upload_id = self.upload_id.clone().unwrap_or_default();
        let parts = std::mem::take(&mut self.parts);
        let count = parts.len();
        let completed = self
            .store
            .client
            .complete_multipart_upload()
            .bucket(&self.store.bucket)
            .key(&self.key)
            .upload_id(&upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .send()
            .await;
        if let Err(e) = completed {
            // A 200 whose body the SDK cannot read: moto 5.2 names its root element
            // `CompleteMultipartUploadResponse` where S3 says `…Result`. Whether the object was
            // made is then read from the bucket: a multipart object's ETag ends `-<parts>`.
            let answered_200 = e.raw_response().is_some_and(|r| r.status().as_u16() == 200);
            if !(answered_200 && self.completed_as(count).await) {
                return Err(s3_error("complete multipart", &self.key, e));
            }
        }
        self.upload_id = None;
        Ok(())
    }

    /// Whether the key holds an object made of `parts` parts.
    async fn completed_as(&self, parts: usize) -> bool {
        let head = self.store.client.head_object().bucket(&self.store.bucket).key(&self.key).send().await;
        head.ok().and_then(|h| h.e_tag().map(|t| t.trim_matches('"').ends_with(&format!("-{parts}")))).unwrap_or(false)
    }

    /// Gives up: the part in flight is waited for, the multipart upload (if any) aborted so
    /// S3 keeps (and bills) nothing. Errors here are logged, not returned: the caller is
    /// already answering another error.
    pub async fn abort(mut self) {
        if let Some(handle) = self.in_flight.take() {
            let _ = handle.await;
        }
        if let Some(upload_id) = self.upload_id.take() {
            let aborted = self
                .store
                .client
                .abort_multipart_upload()
                .bucket(&self.store.bucket)
                .key(&self.key)
                .upload_id(&upload_id)
                .send()
                .await;
            if let Err(e) = aborted {
                tracing::warn!(key = %self.key, error = %aws_sdk_s3::error::DisplayErrorContext(e), "abort multipart");
            }
        }
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
