use axum::extract::State;
use axum::http::StatusCode;
use nexus_shared::audit::{self, Action};
use nexus_shared::auth::{Auth, Staff};
use nexus_shared::db::Lock;
use nexus_shared::extract::{Json, Path, Query};
use nexus_shared::pagination::{Page, PageParams, SortKey, Sorting};
use nexus_shared::validate;
use nexus_shared::{ApiError, ApiResult, AppState};
use serde::Deserialize;
use sqlx::PgConnection;
use utoipa::IntoParams;

use crate::location::{Location, LocationBody, LocationDraft, NewLocationBody};
use crate::store::{self, Filter};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Matches anywhere in the code or name, case-insensitively.
    #[param(max_length = 100, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    q: Option<String>,
    /// Exact region.
    #[param(max_length = 100, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    region: Option<String>,
}

/// How the list below is ordered.
pub struct LocationSorting;

impl Sorting for LocationSorting {
    const KEYS: &'static [SortKey] = &crate::store::SORTS;
    const DEFAULT: &'static str = "code";
    const ID_COLUMN: &'static str = "id";
}

/// Lists locations; `sort` is `code` (default), `name` or `created_at`, `-` for descending.
#[utoipa::path(get, path = "/api/locations", tag = "locations", security(("bearer" = [])),
    params(ListQuery, PageParams<LocationSorting>),
    responses((status = 200, description = "A page of locations", body = Page<Location>)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Auth,
    Query(query): Query<ListQuery>,
    Query(page): Query<PageParams<LocationSorting>>,
) -> ApiResult<axum::Json<Page<Location>>> {
    let page = page.resolve()?;
    let filter =
        Filter { q: validate::query_text("q", query.q)?, region: validate::query_text("region", query.region)? };
    Ok(axum::Json(store::list(&state.pool, &filter, &page).await?))
}

#[utoipa::path(get, path = "/api/locations/{id}", tag = "locations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Location id")),
    responses((status = 200, description = "The location", body = Location)))]
pub async fn get(State(state): State<AppState>, _caller: Auth, Path(id): Path<i64>) -> ApiResult<axum::Json<Location>> {
    let mut conn = state.pool.acquire().await?;
    store::find(&mut conn, id, Lock::None).await?.map(axum::Json).ok_or(ApiError::NotFound)
}

#[utoipa::path(post, path = "/api/locations", tag = "locations", security(("bearer" = [])),
    request_body = NewLocationBody,
    responses((status = 201, description = "Created", body = Location),
              (status = 409, description = "Code already used", body = nexus_shared::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Auth<Staff>,
    Json(NewLocationBody(body)): Json<NewLocationBody>,
) -> ApiResult<(StatusCode, axum::Json<Location>)> {
    let draft = LocationDraft::parse(body)?;
    let created =
        audit::create(&state.pool, &caller.actor(), async |conn| store::save(conn, None, &draft).await).await?;
    Ok((StatusCode::CREATED, axum::Json(created)))
}

/// Updates the fields given; an absent field keeps its value, `null` clears an optional one.
#[utoipa::path(put, path = "/api/locations/{id}", tag = "locations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Location id")), request_body = LocationBody,
    responses((status = 200, description = "Updated", body = Location),
              (status = 409, description = "Code already used", body = nexus_shared::error::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Auth<Staff>,
    Path(id): Path<i64>,
    Json(body): Json<LocationBody>,
) -> ApiResult<axum::Json<Location>> {
    let locked = async |conn: &mut PgConnection, id| store::find(conn, id, Lock::ForUpdate).await;
    let updated = audit::update(&state.pool, &caller.actor(), Action::Update, id, locked, async |conn, before| {
        store::save(conn, Some(id), &LocationDraft::parse(body.merged_onto(before))?).await
    })
    .await?;
    Ok(axum::Json(updated))
}

/// Deletes a location that has no assets (409 otherwise: nothing disappears by cascade).
#[utoipa::path(delete, path = "/api/locations/{id}", tag = "locations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Location id")),
    responses((status = 204, description = "Deleted"),
              (status = 409, description = "The location still has assets", body = nexus_shared::error::Problem)))]
pub async fn delete(State(state): State<AppState>, caller: Auth<Staff>, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    audit::delete(&state.pool, &caller.actor(), id, store::delete).await?;
    Ok(StatusCode::NO_CONTENT)
}
