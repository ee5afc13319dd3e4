//! The attachments table and what the handlers read of a ticket.

use nexus_shared::ApiResult;
use sqlx::{FromRow, PgConnection};

use crate::attachment::{Attachment, AttachmentKind, NewAttachment};

/// What decides who may attach to a ticket, and whether it still takes attachments.
#[derive(Debug, Clone, FromRow)]
pub struct TicketFacts {
    pub status: String,
    pub assigned_to: Option<i64>,
}

const TICKET: &str = "SELECT status, assigned_to FROM tickets WHERE id = $1";

pub async fn ticket(conn: &mut PgConnection, id: i64) -> ApiResult<Option<TicketFacts>> {
    Ok(sqlx::query_as(TICKET).bind(id).fetch_optional(conn).await?)
}

/// The ticket, locked so it cannot close (nor another creation count past the cap) until this
/// transaction ends; `NO KEY`: rows referencing the ticket may still be written meanwhile.
pub async fn ticket_for_update(conn: &mut PgConnection, id: i64) -> ApiResult<Option<TicketFacts>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!("{TICKET} FOR NO KEY UPDATE"))).bind(id).fetch_optional(conn).await?)
}

/// The type of the item `key` of the ticket's checklist version, if it has one by that key.
pub async fn checklist_item_type(conn: &mut PgConnection, ticket_id: i64, key: &str) -> ApiResult<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT item ->> 'type'
         FROM tickets t
         JOIN checklist_versions cv ON cv.checklist_id = t.checklist_id AND cv.version = t.checklist_version
         CROSS JOIN LATERAL jsonb_array_elements(cv.items) item
         WHERE t.id = $1 AND item ->> 'key' = $2
         LIMIT 1",
    )
    .bind(ticket_id)
    .bind(key)
    .fetch_optional(conn)
    .await?)
}

pub async fn count(conn: &mut PgConnection, ticket_id: i64) -> ApiResult<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM attachments WHERE ticket_id = $1")
        .bind(ticket_id)
        .fetch_one(conn)
        .await?)
}

const COLUMNS: &str = "id, ticket_id, kind, checklist_key, content_type, size_bytes, sha256, status, object_key,
                       uploaded_by, created_at, stored_at";

pub async fn insert(
    conn: &mut PgConnection,
    ticket_id: i64,
    new: &NewAttachment,
    key: &str,
    uploaded_by: i64,
) -> ApiResult<Attachment> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO attachments (ticket_id, kind, checklist_key, content_type, size_bytes, sha256, object_key, uploaded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLUMNS}"
    )))
    .bind(ticket_id)
    .bind(new.kind.as_str())
    .bind(new.checklist_key.as_deref())
    .bind(new.content_type.as_str())
    .bind(new.size_bytes as i64)
    .bind(&new.sha256)
    .bind(key)
    .bind(uploaded_by)
    .fetch_one(conn)
    .await?)
}

pub async fn find(conn: &mut PgConnection, id: i64) -> ApiResult<Option<Attachment>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM attachments WHERE id = $1")))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

/// The attachment `id` of ticket `ticket_id`, locked, with its ticket share-locked (it cannot
/// close while the upload is checked).
pub async fn lock(conn: &mut PgConnection, ticket_id: i64, id: i64) -> ApiResult<Option<(Attachment, TicketFacts)>> {
    let Some(ticket) = sqlx::query_as::<_, TicketFacts>(sqlx::AssertSqlSafe(format!("{TICKET} FOR SHARE")))
        .bind(ticket_id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let attachment: Option<Attachment> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM attachments WHERE id = $1 AND ticket_id = $2 FOR NO KEY UPDATE"
    )))
    .bind(id)
    .bind(ticket_id)
    .fetch_optional(conn)
    .await?;
    Ok(attachment.map(|a| (a, ticket)))
}

pub async fn mark_stored(conn: &mut PgConnection, id: i64, key: &str) -> ApiResult<Attachment> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE attachments SET status = 'stored', stored_at = now(), object_key = $2 WHERE id = $1 RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(key)
    .fetch_one(conn)
    .await?)
}

pub async fn list(conn: &mut PgConnection, ticket_id: i64) -> ApiResult<Vec<Attachment>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM attachments WHERE ticket_id = $1 ORDER BY id"
    )))
    .bind(ticket_id)
    .fetch_all(conn)
    .await?)
}

/// Which kinds an item of `item_type` takes, or `None` if it takes no attachment.
pub fn kinds_for(item_type: &str) -> Option<&'static [AttachmentKind]> {
    match item_type {
        "photo" => Some(&[AttachmentKind::Before, AttachmentKind::After]),
        "signature" => Some(&[AttachmentKind::Signature]),
        _ => None,
    }
}
