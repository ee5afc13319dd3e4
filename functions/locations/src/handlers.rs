use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use nexus_shared::audit::{self, Action};
use nexus_shared::auth::{Auth, Staff};
use nexus_shared::csv::accepts_csv;
use nexus_shared::db::Lock;
use nexus_shared::extract::{Json, Path, Query};
use nexus_shared::pagination::{Page, PageParams, SortKey, Sorting};
use nexus_shared::validate;
use nexus_shared::{ApiError, ApiResult, AppState};
use serde::Deserialize;
use sqlx::PgConnection;
use utoipa::IntoParams;

use crate::store::{self, Filter};
use nexus_shared::location::{Location, LocationBody, LocationDraft, NewLocationBody};

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
///
/// With `Accept: text/csv` the answer is every location the filters match (`limit` and `cursor`
/// are ignored) as one CSV file (UTF-8 with a BOM, a header row) in the columns an import reads:
/// `code,name,address,latitude,longitude,timezone,region,geofence_m`. Up to 4.7 MB: a larger
/// export is 422, to be narrowed with the filters or sent to S3 with `POST /api/exports`.
#[utoipa::path(get, path = "/api/locations", tag = "locations", security(("bearer" = [])),
    params(ListQuery, PageParams<LocationSorting>),
    responses((status = 200, description = "A page of locations; or, for `Accept: text/csv`, every location the filters match as CSV",
               content((Page<Location> = "application/json"), (String = "text/csv")),
               headers(("Content-Disposition" = String, description = "CSV only: `attachment; filename=\"locations-<date>.csv\"`"))),
              (status = 422, description = "Invalid filter or page; or a CSV export over 4.7 MB (field `filter`; `POST /api/exports` writes any size to S3)", body = nexus_shared::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Auth,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
    Query(page): Query<PageParams<LocationSorting>>,
) -> ApiResult<Response> {
    if accepts_csv(&headers) {
        let order = crate::csv::EXPORT.order(page)?;
        return Ok(store::export(&state.pool, &query.filter()?, &order).await?.into_response());
    }
    let page = page.resolve()?;
    Ok(store::list(&state.pool, &query.filter()?, &page).await?.into_response())
}

impl ListQuery {
    fn filter(self) -> ApiResult<Filter> {
        Ok(Filter { q: validate::query_text("q", self.q)?, region: validate::query_text("region", self.region)? })
    }
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
