//! `/api/tickets/{id}/attachments`: declare a file (→ a presigned upload), confirm it once
//! uploaded (the server reads it back and checks size, SHA-256 and type), list with download links.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SubsecRound, Utc};
use nexus_shared::audit::{self, Action, EntityType};
use nexus_shared::auth::{Auth, AuthUser, Role, Worker};
use nexus_shared::error::FieldError;
use nexus_shared::extract::{Json, Path};
use nexus_shared::idempotency::{self, Idempotency};
use nexus_shared::storage::{ExpectedUpload, ObjectDigest, ObjectStore, S3Store};
use nexus_shared::ticket::{TicketStatus, Visibility};
use nexus_shared::{ApiError, ApiResult, AppState};

use crate::attachment::{
    Attachment, AttachmentDownload, AttachmentList, AttachmentStatus, AttachmentUpload, AttachmentView, MAX_SIZE,
    NewAttachment, NewAttachmentBody, hex, parse_hex,
};
use crate::store::{self, TicketFacts};

/// How long an upload URL works.
pub const UPLOAD_TTL: Duration = Duration::from_secs(15 * 60);
/// How long a download link works.
pub const DOWNLOAD_TTL: Duration = Duration::from_secs(15 * 60);
/// At most this many attachments (pending or stored) per ticket.
pub const MAX_PER_TICKET: i64 = 100;

const CREATE_ROUTE: &str = "POST /api/tickets/{id}/attachments";

/// Admins and supervisors on any ticket; a technician on the tickets assigned to them.
fn may_write(caller: &AuthUser, ticket: &TicketFacts) -> bool {
    caller.has_any(&[Role::Admin, Role::Supervisor]) || ticket.assigned_to == Some(caller.id)
}

/// Whoever may see the ticket (technicians: theirs only).
fn may_read(caller: &AuthUser, ticket: &TicketFacts) -> bool {
    match Visibility::of(caller) {
        Visibility::All => true,
        Visibility::AssignedTo(user) => ticket.assigned_to == Some(user),
    }
}

/// A closed or cancelled ticket is a finished record: it takes no new evidence.
fn refuse_if_finished(ticket: &TicketFacts) -> ApiResult<()> {
    if [TicketStatus::Closed, TicketStatus::Cancelled].iter().any(|s| s.as_str() == ticket.status) {
        return Err(ApiError::Conflict(format!("This ticket is {}: it takes no new attachments.", ticket.status)));
    }
    Ok(())
}

/// Microseconds, as every timestamp the database gives the API (RFC 3339, 6 digits); taken
/// before signing, so the URL never outlives what the API says.
fn expiry(ttl: Duration) -> ApiResult<DateTime<Utc>> {
    Ok((Utc::now() + chrono::Duration::from_std(ttl).map_err(ApiError::internal)?).trunc_subsecs(6))
}

async fn upload(files: &S3Store, attachment: &Attachment) -> ApiResult<AttachmentUpload> {
    let sha256 = parse_hex(&attachment.sha256).ok_or_else(|| ApiError::internal("a stored SHA-256 is not hex"))?;
    let expected = ExpectedUpload {
        key: &attachment.object_key,
        content_type: attachment.content_type.as_str(),
        size_bytes: u64::try_from(attachment.size_bytes).map_err(ApiError::internal)?,
        sha256,
    };
    let expires_at = expiry(UPLOAD_TTL)?;
    let presigned = files.presigned_put(&expected, UPLOAD_TTL).await?;
    Ok(AttachmentUpload {
        url: presigned.url,
        method: presigned.method,
        headers: presigned.headers.into_iter().collect(),
        expires_at,
    })
}

async fn download(files: &S3Store, attachment: &Attachment) -> ApiResult<AttachmentDownload> {
    let expires_at = expiry(DOWNLOAD_TTL)?;
    let url = files.presigned_get_as(&attachment.object_key, DOWNLOAD_TTL, attachment.content_type.as_str()).await?;
    Ok(AttachmentDownload { url, expires_at })
}

/// A stored attachment with its download link; a pending one with an upload URL if `upload`
/// is asked for (its creator's answers), else bare.
async fn view(files: &S3Store, attachment: Attachment, with_upload: bool) -> ApiResult<AttachmentView> {
    let (upload, download) = match attachment.status {
        AttachmentStatus::Stored => (None, Some(download(files, &attachment).await?)),
        AttachmentStatus::Pending if with_upload => (Some(upload(files, &attachment).await?), None),
        AttachmentStatus::Pending => (None, None),
    };
    Ok(AttachmentView { attachment, upload, download })
}

/// Declares a file to attach to a ticket and answers where to upload it: a presigned `PUT`
/// (15 minutes) to a key the server chose, whose signature covers the declared length, type
/// and SHA-256. The attachment stays `pending` (and counts for nothing) until confirmed.
/// A retry with the same `Idempotency-Key` creates nothing and answers the same attachment
/// as it is now: pending with a fresh upload URL, or stored with a download link.
#[utoipa::path(post, path = "/api/tickets/{id}/attachments", tag = "files", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Ticket id"),
           ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[!-~]+$",
            description = "1–255 visible ASCII characters; a retry with the same key and body creates nothing and gets the same attachment")),
    request_body = NewAttachmentBody,
    responses((status = 201, description = "Declared: upload the bytes as `upload` says, then confirm (or, with Idempotency-Replayed: true, declared by the first request with this key)", body = AttachmentView),
              (status = 404, description = "No such ticket (or not assigned to you)", body = nexus_shared::error::Problem),
              (status = 409, description = "The ticket is closed or cancelled, has 100 attachments, or a concurrent request with the same Idempotency-Key; or the attachment this key created was never confirmed and has been removed", body = nexus_shared::error::Problem),
              (status = 422, description = "Invalid body (`size_bytes` over 10 MiB, `sha256` not hex, `checklist_key` not a photo or signature item of the ticket's checklist taking this kind), or an Idempotency-Key already used for another request", body = nexus_shared::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    State(files): State<Arc<S3Store>>,
    caller: Auth<Worker>,
    Path(ticket_id): Path<i64>,
    headers: HeaderMap,
    Json(body): Json<NewAttachmentBody>,
) -> ApiResult<Response> {
    let idempotency = Idempotency::from_headers(&headers, caller.id, CREATE_ROUTE, &(ticket_id, &body))?;
    if let Some(replay) = idempotency::replayed(&idempotency, &state.pool).await? {
        return replayed(replay, &state, &files, &caller).await;
    }
    let new = NewAttachment::parse(&body)?;
    let mut tx = state.pool.begin().await?;
    let ticket = store::ticket_for_update(&mut tx, ticket_id)
        .await?
        .filter(|t| may_write(&caller, t))
        .ok_or(ApiError::NotFound)?;
    refuse_if_finished(&ticket)?;
    if let Some(key) = &new.checklist_key {
        let item_type = store::checklist_item_type(&mut tx, ticket_id, key)
            .await?
            .ok_or_else(|| ApiError::validation("checklist_key", "is not an item of this ticket's checklist"))?;
        match store::kinds_for(&item_type) {
            None => {
                return Err(ApiError::validation(
                    "checklist_key",
                    format!("names a {item_type} item; only photo and signature items take attachments"),
                ));
            }
            Some(kinds) if !kinds.contains(&new.kind) => {
                let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
                return Err(ApiError::validation(
                    "kind",
                    format!("must be {} for the {item_type} item {key:?}", kinds.join(" or ")),
                ));
            }
            Some(_) => {}
        }
    }
    if store::count(&mut tx, ticket_id).await? >= MAX_PER_TICKET {
        return Err(ApiError::Conflict(format!("This ticket has {MAX_PER_TICKET} attachments, the most it may have.")));
    }
    // Random, and the client's input plays no part: nobody can aim an upload at another key.
    let key = format!("uploads/pending/{ticket_id}/{}", uuid::Uuid::new_v4().simple());
    let attachment = store::insert(&mut tx, ticket_id, &new, &key, caller.id).await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        EntityType::Attachment,
        attachment.id,
        Action::Create,
        None,
        Some(&attachment),
    )
    .await?;
    if let Some(key) = &idempotency {
        // The attachment, not the answer: a replay signs a fresh URL rather than hand back one
        // that may have expired (and no signed URL sits in the database).
        key.remember(&mut tx, StatusCode::CREATED, &attachment, None).await?;
    }
    tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(view(&files, attachment, true).await?)).into_response())
}

/// The answer to a retried creation: the attachment the first request created, as it is now.
async fn replayed(replay: Response, state: &AppState, files: &S3Store, caller: &AuthUser) -> ApiResult<Response> {
    let (parts, body) = replay.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.map_err(ApiError::internal)?;
    let first: serde_json::Value = serde_json::from_slice(&bytes).map_err(ApiError::internal)?;
    let id = first["id"].as_i64().ok_or_else(|| ApiError::internal("a remembered attachment without an id"))?;
    let mut conn = state.pool.acquire().await?;
    let Some(attachment) = store::find(&mut conn, id).await? else {
        return Err(ApiError::Conflict(
            "The attachment this Idempotency-Key created was never confirmed and has been removed; declare it again with a new key."
                .into(),
        ));
    };
    store::ticket(&mut conn, attachment.ticket_id).await?.filter(|t| may_write(caller, t)).ok_or(ApiError::NotFound)?;
    drop(conn);
    let mut response = (parts.status, axum::Json(view(files, attachment, true).await?)).into_response();
    response.headers_mut().insert(HeaderName::from_static(idempotency::REPLAYED), HeaderValue::from_static("true"));
    Ok(response)
}

/// Why the upload is not what was declared (empty: it is).
fn mismatches(attachment: &Attachment, digest: &ObjectDigest) -> Vec<FieldError> {
    let declared = attachment.size_bytes as u64;
    if digest.too_large || digest.size_bytes != declared {
        let size = if digest.too_large { format!("more than {MAX_SIZE}") } else { digest.size_bytes.to_string() };
        return vec![FieldError::new("size_bytes", format!("the upload has {size} bytes; {declared} were declared"))];
    }
    let mut errors = Vec::new();
    if hex(&digest.sha256) != attachment.sha256 {
        errors.push(FieldError::new("sha256", "the uploaded bytes do not have the declared SHA-256"));
    }
    if !attachment.content_type.matches(&digest.head) {
        errors.push(FieldError::new("content_type", format!("the uploaded bytes are not {}", attachment.content_type)));
    }
    errors
}

/// Checks an upload and, if it is what was declared, stores it: the server reads the object
/// back (size, SHA-256, file signature), copies exactly that version to its final key and marks
/// the attachment `stored` (only stored attachments meet checklist items). A mismatch is 422:
/// the upload is deleted and the attachment stays pending (upload again, then confirm).
/// Confirming a stored attachment again changes nothing and answers 200.
#[utoipa::path(post, path = "/api/tickets/{id}/attachments/{aid}/confirm", tag = "files", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Ticket id"), ("aid" = i64, Path, description = "Attachment id")),
    responses((status = 200, description = "Stored (now or before), with a download link", body = AttachmentView),
              (status = 404, description = "No such attachment on this ticket (or the ticket is not assigned to you)", body = nexus_shared::error::Problem),
              (status = 409, description = "Nothing uploaded yet, the upload changed while it was checked, or the ticket is closed or cancelled", body = nexus_shared::error::Problem),
              (status = 422, description = "The upload is not what was declared (`size_bytes`, `sha256`, `content_type`): it has been deleted", body = nexus_shared::error::Problem)))]
pub async fn confirm(
    State(state): State<AppState>,
    State(files): State<Arc<S3Store>>,
    caller: Auth<Worker>,
    Path((ticket_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<AttachmentView>> {
    // The row stays locked while the upload is read: a concurrent confirmation waits, then
    // finds it stored.
    let mut tx = state.pool.begin().await?;
    let (attachment, ticket) =
        store::lock(&mut tx, ticket_id, id).await?.filter(|(_, t)| may_write(&caller, t)).ok_or(ApiError::NotFound)?;
    if attachment.status == AttachmentStatus::Stored {
        tx.commit().await?;
        return Ok(axum::Json(view(&files, attachment, false).await?));
    }
    refuse_if_finished(&ticket)?;
    let digest = files.digest(&attachment.object_key, MAX_SIZE).await?.ok_or_else(|| {
        ApiError::Conflict(
            "Nothing has been uploaded for this attachment yet: PUT the file to its upload URL first.".into(),
        )
    })?;
    let errors = mismatches(&attachment, &digest);
    if !errors.is_empty() {
        tx.rollback().await?;
        if let Err(error) = files.delete(&digest.version.key, digest.version.version_id.as_deref()).await {
            // The lifecycle rule on uploads/pending/ removes it within a day or two.
            tracing::warn!(%error, key = %digest.version.key, "a refused upload could not be deleted");
        }
        return Err(ApiError::Validation(errors));
    }
    let key = format!("attachments/{ticket_id}/{id}.{}", attachment.content_type.extension());
    // Exactly the version read, and only if unchanged since (its ETag): bytes swapped in after
    // the check are not what gets stored.
    if !files.copy(&digest, &key, attachment.content_type.as_str()).await? {
        return Err(ApiError::Conflict("The upload changed while it was being checked; confirm again.".into()));
    }
    let stored = store::mark_stored(&mut tx, id, &key).await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        EntityType::Attachment,
        id,
        Action::Update,
        Some(&attachment),
        Some(&stored),
    )
    .await?;
    tx.commit().await?;
    if let Err(error) = files.delete(&digest.version.key, digest.version.version_id.as_deref()).await {
        tracing::warn!(%error, key = %digest.version.key, "a confirmed upload's pending copy could not be deleted");
    }
    Ok(axum::Json(view(&files, stored, false).await?))
}

/// A ticket's attachments, oldest first: stored ones with a download link (15 minutes),
/// pending ones without (they are not evidence yet). Technicians see their own tickets' only.
#[utoipa::path(get, path = "/api/tickets/{id}/attachments", tag = "files", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Ticket id")),
    responses((status = 200, description = "The attachments", body = AttachmentList),
              (status = 404, description = "No such ticket (or not assigned to you)", body = nexus_shared::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    State(files): State<Arc<S3Store>>,
    caller: Auth,
    Path(ticket_id): Path<i64>,
) -> ApiResult<axum::Json<AttachmentList>> {
    let mut conn = state.pool.acquire().await?;
    store::ticket(&mut conn, ticket_id).await?.filter(|t| may_read(&caller, t)).ok_or(ApiError::NotFound)?;
    let rows = store::list(&mut conn, ticket_id).await?;
    drop(conn);
    let mut items = Vec::with_capacity(rows.len());
    for attachment in rows {
        items.push(view(&files, attachment, false).await?);
    }
    Ok(axum::Json(AttachmentList { items }))
}
