use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use nexus_shared::audit::{self, Action};
use nexus_shared::auth::{Auth, Staff};
use nexus_shared::db::Lock;
use nexus_shared::extract::{Json, Path, Query};
use nexus_shared::pagination::{Page, PageParams, SortKey, Sorting};
use nexus_shared::{ApiError, ApiResult, AppState, etag, validate};
use serde::Deserialize;
use sqlx::PgConnection;
use utoipa::IntoParams;

use crate::checklist::{self, Checklist, ChecklistBody, ChecklistSummary, Draft, NewChecklistBody};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Matches anywhere in the name, case-insensitively.
    #[param(max_length = 100, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    q: Option<String>,
}

/// How the list below is ordered.
pub struct ChecklistSorting;

impl Sorting for ChecklistSorting {
    const KEYS: &'static [SortKey] = &checklist::SORTS;
    const DEFAULT: &'static str = "name";
    const ID_COLUMN: &'static str = "c.id";
}

/// Lists checklists at their latest version, without their items (every signed-in role);
/// `sort` is `name` (default) or `created_at`, `-` for descending.
#[utoipa::path(get, path = "/api/checklists", tag = "checklists", security(("bearer" = [])),
    params(ListQuery, PageParams<ChecklistSorting>),
    responses((status = 200, description = "A page of checklists", body = Page<ChecklistSummary>)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Auth,
    Query(query): Query<ListQuery>,
    Query(page): Query<PageParams<ChecklistSorting>>,
) -> ApiResult<Page<ChecklistSummary>> {
    let page = page.resolve()?;
    let q = validate::query_text("q", query.q)?;
    Ok(checklist::list(&state.pool, q.as_deref(), &page).await?)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionQuery {
    /// A past version (default: the latest).
    #[param(minimum = 1)]
    version: Option<i32>,
}

/// A checklist at its latest version, or at `?version=`, with that version as its `ETag`
/// (every signed-in role).
#[utoipa::path(get, path = "/api/checklists/{id}", tag = "checklists", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Checklist id"), VersionQuery),
    responses((status = 200, description = "The checklist", body = Checklist, headers(("ETag" = String))),
              (status = 404, description = "No such checklist, or no such version of it", body = nexus_shared::error::Problem),
              (status = 422, description = "A version below 1", body = nexus_shared::error::Problem)))]
pub async fn get(
    State(state): State<AppState>,
    _caller: Auth,
    Path(id): Path<i64>,
    Query(query): Query<VersionQuery>,
) -> ApiResult<(HeaderMap, axum::Json<Checklist>)> {
    if query.version.is_some_and(|v| v < 1) {
        return Err(ApiError::validation("version", "must be at least 1"));
    }
    let mut conn = state.pool.acquire().await?;
    let found = checklist::find(&mut conn, id, query.version, Lock::None).await?.ok_or(ApiError::NotFound)?;
    Ok(with_etag(found))
}

fn with_etag(checklist: Checklist) -> (HeaderMap, axum::Json<Checklist>) {
    (etag::headers(checklist.version), axum::Json(checklist))
}

/// Creates a checklist at version 1 (admins and supervisors).
#[utoipa::path(post, path = "/api/checklists", tag = "checklists", security(("bearer" = [])),
    request_body = NewChecklistBody,
    responses((status = 201, description = "Created", body = Checklist, headers(("ETag" = String))),
              (status = 422, description = "Invalid body: each mistake named, e.g. `items[2].options`", body = nexus_shared::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Auth<Staff>,
    Json(NewChecklistBody(body)): Json<NewChecklistBody>,
) -> ApiResult<(StatusCode, HeaderMap, axum::Json<Checklist>)> {
    let draft = Draft::parse(body, None)?;
    let actor = caller.actor();
    let created =
        audit::create(&state.pool, &actor, async |conn| checklist::save(conn, None, &draft, &actor).await).await?;
    let (headers, body) = with_etag(created);
    Ok((StatusCode::CREATED, headers, body))
}

/// Makes the checklist's next version (admins and supervisors): `items`, if sent, replace the
/// list; an absent field keeps the latest version's. Earlier versions stay as they were, for
/// the tickets that use them. Send the `ETag` you read as `If-Match` to be sure nobody made a
/// version meanwhile (412 otherwise).
#[utoipa::path(put, path = "/api/checklists/{id}", tag = "checklists", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Checklist id"),
           ("If-Match" = Option<String>, Header, max_length = 100, description = "The ETag last read")),
    request_body = ChecklistBody,
    responses((status = 200, description = "The new version", body = Checklist, headers(("ETag" = String))),
              (status = 404, description = "No such checklist", body = nexus_shared::error::Problem),
              (status = 412, description = "Stale If-Match", body = nexus_shared::error::Problem),
              (status = 422, description = "Invalid body", body = nexus_shared::error::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Auth<Staff>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(body): Json<ChecklistBody>,
) -> ApiResult<(HeaderMap, axum::Json<Checklist>)> {
    let if_match = etag::if_match(&headers)?;
    let actor = caller.actor();
    let locked = async |conn: &mut PgConnection, id| checklist::find(conn, id, None, Lock::ForUpdate).await;
    let updated = audit::update(&state.pool, &actor, Action::Update, id, locked, async |conn, latest| {
        // A body that is wrong whatever the version is a 422 before a stale If-Match is a 412.
        let draft = Draft::parse(body, Some(latest))?;
        etag::check(if_match.as_deref(), latest.version)?;
        checklist::save(conn, Some(id), &draft, &actor).await
    })
    .await?;
    Ok(with_etag(updated))
}
