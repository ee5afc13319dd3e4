//! Checklists: versioned templates of items (`checklists`, `checklist_versions`), attached to a
//! ticket at one version, answered item by item (`checklist_answers`), and the gate that a
//! ticket's required items are met before it is resolved. Pure parts (items, answers, what is
//! met) are table-tested here; the `checklists` function serves the templates and `tickets`
//! the answers.

pub mod answer;
pub mod item;
mod unmet;

pub use answer::{Answer, AnswerValue};
pub use item::{CreateCm, Item, ItemBody, ItemType, OnFail, parse_items};
pub use unmet::{Evidence, unmet, unmet_required};

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgConnection};

use crate::error::{ApiError, ApiResult};

/// One version of a checklist, as stored (a version never changes once made).
#[derive(Debug, Clone, FromRow)]
pub struct Version {
    pub checklist_id: i64,
    pub version: i32,
    pub name: String,
    #[sqlx(json)]
    pub items: Vec<Item>,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}

pub const VERSION_COLUMNS: &str = "checklist_id, version, name, items, created_by, created_at";

pub async fn load_version(conn: &mut PgConnection, checklist_id: i64, version: i32) -> ApiResult<Option<Version>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {VERSION_COLUMNS} FROM checklist_versions WHERE checklist_id = $1 AND version = $2"
    )))
    .bind(checklist_id)
    .bind(version)
    .fetch_optional(conn)
    .await?)
}

/// The checklist's latest version, if there is such a checklist.
pub async fn latest_version(conn: &mut PgConnection, checklist_id: i64) -> ApiResult<Option<i32>> {
    Ok(sqlx::query_scalar("SELECT version FROM checklists WHERE id = $1")
        .bind(checklist_id)
        .fetch_optional(conn)
        .await?)
}

/// Gives the ticket the checklist's latest version (the one new work is done against). For a
/// ticket being created or changed, on its transaction: 422 `checklist_id` if there is no such
/// checklist, 404 if there is no such ticket. Attaching what the ticket already has changes
/// nothing; replacing a checklist (or its version) is refused with 409 once the ticket has
/// answers, which belong to the items they answered. A change bumps the checklist's ETag
/// (`checklist_revision`).
pub async fn attach_latest(conn: &mut PgConnection, ticket_id: i64, checklist_id: i64) -> ApiResult<()> {
    let version = latest_version(conn, checklist_id)
        .await?
        .ok_or_else(|| ApiError::validation("checklist_id", "no such checklist"))?;
    let current: Option<(Option<i64>, Option<i32>, bool)> = sqlx::query_as(
        "SELECT checklist_id, checklist_version, EXISTS (SELECT 1 FROM checklist_answers WHERE ticket_id = t.id)
         FROM tickets t WHERE id = $1 FOR UPDATE",
    )
    .bind(ticket_id)
    .fetch_optional(&mut *conn)
    .await?;
    let (current_id, current_version, answered) = current.ok_or(ApiError::NotFound)?;
    if (current_id, current_version) == (Some(checklist_id), Some(version)) {
        return Ok(());
    }
    if answered {
        return Err(ApiError::Conflict(
            "The ticket's checklist already has answers; it can no longer be replaced.".into(),
        ));
    }
    sqlx::query(
        "UPDATE tickets SET checklist_id = $2, checklist_version = $3, checklist_revision = checklist_revision + 1
         WHERE id = $1",
    )
    .bind(ticket_id)
    .bind(checklist_id)
    .bind(version)
    .execute(conn)
    .await?;
    Ok(())
}
