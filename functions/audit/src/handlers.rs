use axum::extract::State;
use nexus_shared::audit::{self, Action, AuditEntry, EntityType};
use nexus_shared::auth::{Auth, Staff};
use nexus_shared::extract::Query;
use nexus_shared::pagination::{Page, PageParams, SortKey, Sorting};
use nexus_shared::{ApiResult, AppState};
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    entity_type: Option<EntityType>,
    entity_id: Option<i64>,
    actor_id: Option<i64>,
    action: Option<Action>,
}

/// How the list below is ordered.
pub struct AuditSorting;

impl Sorting for AuditSorting {
    const KEYS: &'static [SortKey] = &nexus_shared::audit::ENTRY_SORTS;
    const DEFAULT: &'static str = "-created_at";
    const ID_COLUMN: &'static str = "a.id";
}

/// The audit log, newest first by default (`sort=created_at` for oldest first).
#[utoipa::path(get, path = "/api/audit-logs", tag = "audit", security(("bearer" = [])),
    params(ListQuery, PageParams<AuditSorting>),
    responses((status = 200, description = "A page of audit entries", body = Page<AuditEntry>)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Auth<Staff>,
    Query(query): Query<ListQuery>,
    Query(page): Query<PageParams<AuditSorting>>,
) -> ApiResult<Page<AuditEntry>> {
    let page = page.resolve()?;
    let mut qb = audit::entries_query(&page);
    if let Some(entity_type) = query.entity_type {
        qb.push(" AND a.entity_type = ").push_bind(entity_type.as_str());
    }
    if let Some(entity_id) = query.entity_id {
        qb.push(" AND a.entity_id = ").push_bind(entity_id);
    }
    if let Some(actor_id) = query.actor_id {
        qb.push(" AND a.actor_id = ").push_bind(actor_id);
    }
    if let Some(action) = query.action {
        qb.push(" AND a.action = ").push_bind(action.as_str());
    }
    Ok(page.fetch(qb, &state.pool).await?)
}
