use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use nexus_shared::audit::{self, Action};
use nexus_shared::auth::{Auth, AuthUser, Staff};
use nexus_shared::db::Lock;
use nexus_shared::extract::{Json, Path, Query};
use nexus_shared::pagination::{Page, PageParams, SortKey, Sorting};
use nexus_shared::{ApiError, ApiResult, AppState, etag, validate};
use serde::Deserialize;
use sqlx::PgConnection;
use utoipa::IntoParams;

use crate::plan::{NewPlanBody, PlanBody, PlanDraft, PmPlan};
use crate::store::{self, Filter};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    active: Option<bool>,
    /// Plans scoped to this region.
    #[param(max_length = 100, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    region: Option<String>,
    /// Plans whose scope holds this asset now.
    asset_id: Option<i64>,
}

/// How the list below is ordered.
pub struct PlanSorting;

impl Sorting for PlanSorting {
    const KEYS: &'static [SortKey] = &store::SORTS;
    const DEFAULT: &'static str = "created_at";
    const ID_COLUMN: &'static str = "p.id";
}

/// Lists PM plans; `sort` is `created_at` (default) or `name`, `-` for descending.
#[utoipa::path(get, path = "/api/pm-plans", tag = "pm", security(("bearer" = [])),
    params(ListQuery, PageParams<PlanSorting>),
    responses((status = 200, description = "A page of plans", body = Page<PmPlan>)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Auth,
    Query(query): Query<ListQuery>,
    Query(page): Query<PageParams<PlanSorting>>,
) -> ApiResult<Page<PmPlan>> {
    let page = page.resolve()?;
    let filter = Filter {
        active: query.active,
        region: validate::query_text("region", query.region)?,
        asset_id: query.asset_id,
    };
    Ok(store::list(&state.pool, &filter, &page).await?)
}

/// A plan with an `ETag` to send back as `If-Match` when changing it.
#[utoipa::path(get, path = "/api/pm-plans/{id}", tag = "pm", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Plan id")),
    responses((status = 200, description = "The plan", body = PmPlan, headers(("ETag" = String)))))]
pub async fn get(
    State(state): State<AppState>,
    _caller: Auth,
    Path(id): Path<i64>,
) -> ApiResult<(HeaderMap, axum::Json<PmPlan>)> {
    let mut conn = state.pool.acquire().await?;
    let row = store::find(&mut conn, id, Lock::None).await?.ok_or(ApiError::NotFound)?;
    Ok(with_etag(PmPlan::from_row(row)))
}

fn with_etag(plan: PmPlan) -> (HeaderMap, axum::Json<PmPlan>) {
    (etag::headers(plan.version), axum::Json(plan))
}

/// Creates a plan; what is already within its lead time is generated at once.
#[utoipa::path(post, path = "/api/pm-plans", tag = "pm", security(("bearer" = [])),
    request_body = NewPlanBody,
    responses((status = 201, description = "Created", body = PmPlan, headers(("ETag" = String))),
              (status = 422, description = "Invalid body, or an asset, location, calendar or assignee that does not exist", body = nexus_shared::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Auth<Staff>,
    Json(NewPlanBody(body)): Json<NewPlanBody>,
) -> ApiResult<(StatusCode, HeaderMap, axum::Json<PmPlan>)> {
    let draft = PlanDraft::parse(body)?;
    let actor = caller.actor();
    let created = audit::create(&state.pool, &actor, async |conn| {
        Ok(PmPlan::from_row(store::save(conn, None, &draft, &actor).await?))
    })
    .await?;
    generate_now(&state).await;
    let (headers, body) = with_etag(created);
    Ok((StatusCode::CREATED, headers, body))
}

/// Changes the fields given (absent keeps, `null` clears). Tickets generated ahead and not
/// started are cancelled (each audited) and generated again under the new rule. Send the
/// `ETag` you read as `If-Match` to be sure nobody changed the plan meanwhile (412 otherwise).
#[utoipa::path(put, path = "/api/pm-plans/{id}", tag = "pm", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Plan id"),
           ("If-Match" = Option<String>, Header, max_length = 100, description = "The ETag last read")),
    request_body = PlanBody,
    responses((status = 200, description = "Updated", body = PmPlan, headers(("ETag" = String))),
              (status = 412, description = "Stale If-Match", body = nexus_shared::error::Problem),
              (status = 422, description = "Invalid body", body = nexus_shared::error::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Auth<Staff>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(body): Json<PlanBody>,
) -> ApiResult<(HeaderMap, axum::Json<PmPlan>)> {
    let if_match = etag::if_match(&headers)?;
    change(&state, &caller, id, Action::Update, body, if_match).await.map(with_etag)
}

/// Deactivates the plan: it is kept (with its history) and generates nothing more; its
/// tickets generated ahead and not started are cancelled.
#[utoipa::path(delete, path = "/api/pm-plans/{id}", tag = "pm", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Plan id")),
    responses((status = 200, description = "Deactivated", body = PmPlan, headers(("ETag" = String)))))]
pub async fn deactivate(
    State(state): State<AppState>,
    caller: Auth<Staff>,
    Path(id): Path<i64>,
) -> ApiResult<(HeaderMap, axum::Json<PmPlan>)> {
    change(&state, &caller, id, Action::Delete, PlanBody::deactivate(), None).await.map(with_etag)
}

async fn change(
    state: &AppState,
    caller: &AuthUser,
    id: i64,
    action: Action,
    body: PlanBody,
    if_match: Option<String>,
) -> ApiResult<PmPlan> {
    let actor = caller.actor();
    let locked =
        async |conn: &mut PgConnection, id| Ok(store::find(conn, id, Lock::ForUpdate).await?.map(PmPlan::from_row));
    let updated = audit::update(&state.pool, &actor, action, id, locked, async |conn, before| {
        // A body that is wrong whatever the version is a 422 before a stale If-Match is a 412.
        let draft = PlanDraft::parse(body.merged_onto(before))?;
        etag::check(if_match.as_deref(), before.version)?;
        store::cancel_generated_ahead(conn, id, Utc::now(), &actor).await?;
        Ok(PmPlan::from_row(store::save(conn, Some(id), &draft, &actor).await?))
    })
    .await?;
    generate_now(state).await;
    Ok(updated)
}

/// Runs the generator after a plan change so its tickets show at once rather than at the next
/// scheduled run. A failure is only logged: the schedule catches up.
async fn generate_now(state: &AppState) {
    if let Err(error) = nexus_shared::pm::generate(&state.pool, Utc::now()).await {
        tracing::warn!(%error, "generating after a plan change failed; the scheduled run will catch up");
    }
}
