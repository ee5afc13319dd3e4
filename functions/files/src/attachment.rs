//! An attachment: what a client declares before uploading (kind, type, exact size, SHA-256),
//! the row that records it, and how the API shows it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use nexus_shared::ApiError;
use nexus_shared::audit::{Audited, EntityType};
use nexus_shared::validate::Validator;
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::ToSchema;

/// The largest file accepted: 10 MiB.
pub const MAX_SIZE: u64 = 10 * 1024 * 1024;

nexus_shared::text_enum! {
    /// What an attachment is: a photo taken before or after the work, a signature, a document.
    pub enum AttachmentKind {
        Before = "before",
        After = "after",
        Signature = "signature",
        Document = "document",
    }
}

nexus_shared::text_enum! {
    /// The file's type; the server checks the uploaded bytes start as this type does.
    pub enum AttachmentType {
        Jpeg = "image/jpeg",
        Png = "image/png",
        Webp = "image/webp",
        Pdf = "application/pdf",
    }
}

nexus_shared::text_enum! {
    /// `pending` until the server has read the upload and found the declared size and SHA-256.
    pub enum AttachmentStatus {
        Pending = "pending",
        Stored = "stored",
    }
}

impl AttachmentType {
    pub fn extension(self) -> &'static str {
        match self {
            AttachmentType::Jpeg => "jpg",
            AttachmentType::Png => "png",
            AttachmentType::Webp => "webp",
            AttachmentType::Pdf => "pdf",
        }
    }

    /// Whether a file starting with `head` (its first bytes) is of this type, by its signature.
    pub fn matches(self, head: &[u8]) -> bool {
        match self {
            AttachmentType::Jpeg => head.starts_with(&[0xFF, 0xD8, 0xFF]),
            AttachmentType::Png => head.starts_with(b"\x89PNG\r\n\x1a\n"),
            AttachmentType::Webp => head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP",
            AttachmentType::Pdf => head.starts_with(b"%PDF-"),
        }
    }
}

/// What a client declares before it uploads. The bytes must then be exactly these: S3 refuses
/// others (the signature covers length, type and checksum) and the server checks again.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAttachmentBody {
    pub kind: AttachmentKind,
    /// The key of the checklist item this meets: a `photo` item (kind `before` or `after`) or
    /// a `signature` item (kind `signature`) of the ticket's checklist.
    #[schema(min_length = 1, max_length = 100, pattern = "^[a-z0-9_]{1,100}$")]
    #[serde(default)]
    pub checklist_key: Option<String>,
    pub content_type: AttachmentType,
    /// The file's exact length in bytes, at most 10 MiB.
    #[schema(minimum = 1, maximum = 10485760)]
    pub size_bytes: i64,
    /// SHA-256 of the file, 64 hex digits (either case).
    #[schema(min_length = 64, max_length = 64, pattern = "^[0-9a-fA-F]{64}$")]
    pub sha256: String,
}

/// A declaration that passed its checks.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub kind: AttachmentKind,
    pub checklist_key: Option<String>,
    pub content_type: AttachmentType,
    pub size_bytes: u64,
    /// Lower-case hex.
    pub sha256: String,
    pub digest: [u8; 32],
}

impl NewAttachment {
    pub fn parse(body: &NewAttachmentBody) -> Result<NewAttachment, ApiError> {
        let mut e = Validator::new();
        let size_bytes = e.field(
            "size_bytes",
            u64::try_from(body.size_bytes)
                .ok()
                .filter(|n| (1..=MAX_SIZE).contains(n))
                .ok_or_else(|| format!("must be 1 to {MAX_SIZE} bytes (10 MiB)")),
        );
        let digest = e.field("sha256", parse_hex(&body.sha256).ok_or_else(|| "must be 64 hex digits".to_string()));
        if let Some(key) = &body.checklist_key
            && !is_key(key)
        {
            e.error("checklist_key", "must be 1 to 100 characters: lowercase letters, digits and _");
        }
        match (size_bytes, digest) {
            (Some(size_bytes), Some(digest)) if e.is_valid() => Ok(NewAttachment {
                kind: body.kind,
                checklist_key: body.checklist_key.clone(),
                content_type: body.content_type,
                size_bytes,
                sha256: hex(&digest),
                digest,
            }),
            _ => Err(e.into_error()),
        }
    }
}

/// A checklist item key, as checklists define them: 1–100 of `a-z`, `0-9`, `_`.
fn is_key(key: &str) -> bool {
    (1..=100).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

pub fn parse_hex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An attachment as stored (and as the audit log records it: never a URL).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, FromRow, ToSchema)]
pub struct Attachment {
    pub id: i64,
    pub ticket_id: i64,
    #[sqlx(try_from = "String")]
    pub kind: AttachmentKind,
    pub checklist_key: Option<String>,
    #[sqlx(try_from = "String")]
    pub content_type: AttachmentType,
    pub size_bytes: i64,
    /// SHA-256 of the file, lower-case hex.
    pub sha256: String,
    #[sqlx(try_from = "String")]
    pub status: AttachmentStatus,
    /// Chosen by the server: `uploads/pending/{ticket_id}/{random}` until confirmed, then
    /// `attachments/{ticket_id}/{id}.{ext}`.
    pub object_key: String,
    pub uploaded_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub stored_at: Option<DateTime<Utc>>,
}

impl Audited for Attachment {
    const ENTITY: EntityType = EntityType::Attachment;
    fn id(&self) -> i64 {
        self.id
    }
}

/// How to upload the bytes: `method` to `url` with every one of `headers` (your HTTP client
/// sets `Content-Length` from the body; it must be the declared size), before `expires_at`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttachmentUpload {
    pub url: String,
    /// Always `PUT`.
    pub method: String,
    /// Signed: `content-length`, `content-type`, `x-amz-checksum-sha256` (base64 of the digest).
    pub headers: BTreeMap<String, String>,
    pub expires_at: DateTime<Utc>,
}

/// A short-lived link to a stored attachment's bytes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttachmentDownload {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// An attachment with what the caller can do next: upload it (pending, in the answer to its
/// creation) or download it (stored).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttachmentView {
    #[serde(flatten)]
    pub attachment: Attachment,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload: Option<AttachmentUpload>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download: Option<AttachmentDownload>,
}

/// A ticket's attachments, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentList {
    pub items: Vec<AttachmentView>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(size_bytes: i64, sha256: &str, checklist_key: Option<&str>) -> NewAttachmentBody {
        NewAttachmentBody {
            kind: AttachmentKind::Before,
            checklist_key: checklist_key.map(str::to_string),
            content_type: AttachmentType::Jpeg,
            size_bytes,
            sha256: sha256.into(),
        }
    }

    fn fields(result: Result<NewAttachment, ApiError>) -> Vec<String> {
        match result {
            Err(ApiError::Validation(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    #[test]
    fn a_declaration_is_checked_and_its_digest_kept_in_lower_case() {
        let upper = "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD";
        let parsed = NewAttachment::parse(&body(10_485_760, upper, Some("fascia_1"))).unwrap();
        assert_eq!(parsed.sha256, upper.to_ascii_lowercase());
        assert_eq!(parsed.digest[..2], [0xba, 0x78]);
        assert_eq!(parsed.size_bytes, MAX_SIZE);
        assert_eq!(
            fields(NewAttachment::parse(&body(0, "xyz", Some("Bad Key")))),
            ["size_bytes", "sha256", "checklist_key"]
        );
        assert_eq!(fields(NewAttachment::parse(&body(10_485_761, upper, None))), ["size_bytes"]);
        assert_eq!(fields(NewAttachment::parse(&body(1, &"g".repeat(64), None))), ["sha256"]);
        assert_eq!(fields(NewAttachment::parse(&body(1, upper, Some(&"k".repeat(101))))), ["checklist_key"]);
    }

    #[test]
    fn file_types_are_told_by_their_first_bytes() {
        assert!(AttachmentType::Jpeg.matches(&[0xFF, 0xD8, 0xFF, 0xE0]));
        assert!(AttachmentType::Png.matches(b"\x89PNG\r\n\x1a\n\0\0"));
        assert!(AttachmentType::Webp.matches(b"RIFF\x10\0\0\0WEBPVP8 "));
        assert!(AttachmentType::Pdf.matches(b"%PDF-1.7"));
        assert!(!AttachmentType::Webp.matches(b"RIFF\x10\0\0\0WAVE"));
        assert!(!AttachmentType::Png.matches(b"<html><script>"));
        assert!(!AttachmentType::Jpeg.matches(b""));
    }
}
