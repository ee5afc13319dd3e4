//! A ticket's timeline, read from the audit log: its own changes and the approval decisions
//! made on it, oldest first.

use axum::extract::State;
use nexus_shared::audit::{self, AuditEntry};
use nexus_shared::auth::Auth;
use nexus_shared::db::Lock;
use nexus_shared::extract::{Path, Query};
use nexus_shared::pagination::{Page, PageParams, SortKey, Sorting};
use nexus_shared::ticket::Visibility;
use nexus_shared::{ApiError, ApiResult, AppState};

use crate::store;

/// How the list below is ordered.
pub struct HistorySorting;

impl Sorting for HistorySorting {
    const KEYS: &'static [SortKey] = &nexus_shared::audit::ENTRY_SORTS;
    const DEFAULT: &'static str = "created_at";
    const ID_COLUMN: &'static str = "a.id";
}

/// The ticket's timeline (same visibility as the ticket itself).
#[utoipa::path(get, path = "/api/tickets/{id}/history", tag = "tickets", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Ticket id"), PageParams<HistorySorting>),
    responses((status = 200, description = "Oldest first; `sort=-created_at` for newest first", body = Page<AuditEntry>)))]
pub async fn history(
    State(state): State<AppState>,
    caller: Auth,
    Path(id): Path<i64>,
    Query(page): Query<PageParams<HistorySorting>>,
) -> ApiResult<Page<AuditEntry>> {
    let page = page.resolve()?;
    let mut conn = state.pool.acquire().await?;
    store::find(&mut conn, id, Visibility::of(&caller), Lock::None).await?.ok_or(ApiError::NotFound)?;
    drop(conn);
    let mut qb = audit::entries_query(&page);
    qb.push(" AND ((a.entity_type = 'ticket' AND a.entity_id = ");
    qb.push_bind(id);
    qb.push(
        ") OR (a.entity_type = 'approval' AND a.entity_id IN (SELECT ap.id FROM approvals ap WHERE ap.ticket_id = ",
    );
    qb.push_bind(id);
    qb.push(")))");
    Ok(page.fetch(qb, &state.pool).await?)
}
