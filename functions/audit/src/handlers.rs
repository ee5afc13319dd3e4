use axum::extract::State;
use chrono::{DateTime, Utc};
use nexus_shared::audit::{Action, EntityType};
use nexus_shared::auth::{Auth, Staff};
use nexus_shared::extract::Query;
use nexus_shared::pagination::{Page, PageParams, SortKey};
use nexus_shared::{ApiResult, AppState};
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, QueryBuilder};
use utoipa::{IntoParams, ToSchema};

/// One recorded change.
#[derive(Debug, Serialize, FromRow, ToSchema)]
pub struct AuditLog {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub entity_type: EntityType,
    pub entity_id: i64,
    #[sqlx(try_from = "String")]
    pub action: Action,
    /// Null for changes made by the system.
    pub actor_id: Option<i64>,
    pub actor_email: Option<String>,
    /// The changed fields: `{"field": {"old": .., "new": ..}}`.
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
    /// The request that made the change, to find its log lines.
    pub request_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    entity_type: Option<EntityType>,
    entity_id: Option<i64>,
    actor_id: Option<i64>,
    action: Option<Action>,
}

static SORTS: [SortKey; 1] = [SortKey { name: "created_at", column: "a.created_at", cast: "timestamptz" }];

const COLUMNS: &str = "a.id, a.entity_type, a.entity_id, a.action, a.actor_id, u.email AS actor_email, a.changes, a.request_id, a.created_at";

/// The audit log, newest first by default (`sort=created_at` for oldest first).
#[utoipa::path(get, path = "/api/audit-logs", tag = "audit", security(("bearer" = [])),
    params(ListQuery, PageParams),
    responses((status = 200, description = "A page of audit entries", body = Page<AuditLog>)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Auth<Staff>,
    Query(query): Query<ListQuery>,
    Query(page): Query<PageParams>,
) -> ApiResult<axum::Json<Page<AuditLog>>> {
    let page = page.resolve(&SORTS, "-created_at", "a.id")?;
    let mut qb = QueryBuilder::new(format!(
        "SELECT {COLUMNS}{} FROM audit_logs a LEFT JOIN users u ON u.id = a.actor_id WHERE true",
        page.select_keys()
    ));
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
    Ok(axum::Json(page.fetch(qb, &state.pool).await?))
}
