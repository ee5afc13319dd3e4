//! A ticket's timeline, read from the audit log: its own changes and the approval decisions
//! made on it, oldest first.

use axum::extract::State;
use chrono::{DateTime, Utc};
use nexus_shared::audit::{Action, EntityType};
use nexus_shared::auth::Auth;
use nexus_shared::db::Lock;
use nexus_shared::extract::{Path, Query};
use nexus_shared::pagination::{Page, PageParams, SortKey};
use nexus_shared::ticket::Visibility;
use nexus_shared::{ApiError, ApiResult, AppState};
use serde::Serialize;
use sqlx::{FromRow, QueryBuilder};
use utoipa::ToSchema;

use crate::store;

#[derive(Debug, Serialize, FromRow, ToSchema)]
pub struct HistoryEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// `ticket` for changes of the ticket, `approval` for decisions on it.
    #[sqlx(try_from = "String")]
    pub entity_type: EntityType,
    #[sqlx(try_from = "String")]
    pub action: Action,
    /// Null for changes made by the system (the SLA check).
    pub actor_id: Option<i64>,
    pub actor_email: Option<String>,
    /// The changed fields: `{"field": {"old": .., "new": ..}}`.
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
}

static SORTS: [SortKey; 1] = [SortKey { name: "at", column: "a.created_at", cast: "timestamptz" }];

/// The ticket's timeline (same visibility as the ticket itself).
#[utoipa::path(get, path = "/api/tickets/{id}/history", tag = "tickets", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Ticket id"), PageParams),
    responses((status = 200, description = "Oldest first; `sort=-at` for newest first", body = Page<HistoryEntry>)))]
pub async fn history(
    State(state): State<AppState>,
    caller: Auth,
    Path(id): Path<i64>,
    Query(page): Query<PageParams>,
) -> ApiResult<axum::Json<Page<HistoryEntry>>> {
    let page = page.resolve(&SORTS, "at", "a.id")?;
    let mut conn = state.pool.acquire().await?;
    store::find(&mut conn, id, Visibility::of(&caller), Lock::None).await?.ok_or(ApiError::NotFound)?;
    drop(conn);
    let mut qb = QueryBuilder::new(format!(
        "SELECT a.id, a.created_at AS at, a.entity_type, a.action, a.actor_id, u.email AS actor_email, a.changes{}
         FROM audit_logs a LEFT JOIN users u ON u.id = a.actor_id
         WHERE ((a.entity_type = 'ticket' AND a.entity_id = ",
        page.select_keys()
    ));
    qb.push_bind(id);
    qb.push(
        ") OR (a.entity_type = 'approval' AND a.entity_id IN (SELECT ap.id FROM approvals ap WHERE ap.ticket_id = ",
    );
    qb.push_bind(id);
    qb.push(")))");
    Ok(axum::Json(page.fetch(qb, &state.pool).await?))
}
