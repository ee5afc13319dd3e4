use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use nexus_shared::audit::{self, Action};
use nexus_shared::auth::{Auth, AuthUser, Staff};
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
use nexus_shared::asset::{Asset, AssetBody, AssetDraft, AssetStatus, NewAssetBody};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    location_id: Option<i64>,
    status: Option<AssetStatus>,
    /// Exact category.
    #[param(max_length = 100, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    category: Option<String>,
    /// Matches anywhere in the tag or name, case-insensitively.
    #[param(max_length = 100, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    q: Option<String>,
}

/// How the list below is ordered.
pub struct AssetSorting;

impl Sorting for AssetSorting {
    const KEYS: &'static [SortKey] = &crate::store::SORTS;
    const DEFAULT: &'static str = "tag";
    const ID_COLUMN: &'static str = "id";
}

/// Lists assets; `sort` is `tag` (default), `name` or `created_at`, `-` for descending.
///
/// With `Accept: text/csv` the answer is every asset the filters match (`limit` and `cursor`
/// are ignored) as one CSV file (UTF-8 with a BOM, a header row) in the columns an import reads:
/// `tag,location_code,name,category,purchase_date,status`. Up to 4.7 MB: a larger export is 422,
/// to be narrowed with the filters.
#[utoipa::path(get, path = "/api/assets", tag = "assets", security(("bearer" = [])),
    params(ListQuery, PageParams<AssetSorting>),
    responses((status = 200, description = "A page of assets; or, for `Accept: text/csv`, every asset the filters match as CSV",
               content((Page<Asset> = "application/json"), (String = "text/csv")),
               headers(("Content-Disposition" = String, description = "CSV only: `attachment; filename=\"assets-<date>.csv\"`"))),
              (status = 422, description = "Invalid filter or page; or a CSV export over 4.7 MB (field `filter`; `POST /api/exports` writes any size to S3)", body = nexus_shared::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Auth,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
    Query(page): Query<PageParams<AssetSorting>>,
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
        Ok(Filter {
            location_id: self.location_id,
            status: self.status,
            category: validate::query_text("category", self.category)?,
            q: validate::query_text("q", self.q)?,
        })
    }
}

#[utoipa::path(get, path = "/api/assets/{id}", tag = "assets", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Asset id")),
    responses((status = 200, description = "The asset", body = Asset)))]
pub async fn get(State(state): State<AppState>, _caller: Auth, Path(id): Path<i64>) -> ApiResult<axum::Json<Asset>> {
    let mut conn = state.pool.acquire().await?;
    store::find(&mut conn, id, Lock::None).await?.map(axum::Json).ok_or(ApiError::NotFound)
}

#[utoipa::path(post, path = "/api/assets", tag = "assets", security(("bearer" = [])),
    request_body = NewAssetBody,
    responses((status = 201, description = "Created", body = Asset),
              (status = 409, description = "Tag already used", body = nexus_shared::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Auth<Staff>,
    Json(NewAssetBody(body)): Json<NewAssetBody>,
) -> ApiResult<(StatusCode, axum::Json<Asset>)> {
    let draft = AssetDraft::parse(body)?;
    let created =
        audit::create(&state.pool, &caller.actor(), async |conn| store::save(conn, None, &draft).await).await?;
    Ok((StatusCode::CREATED, axum::Json(created)))
}

/// Updates the fields given; an absent field keeps its value, `null` clears an optional one.
#[utoipa::path(put, path = "/api/assets/{id}", tag = "assets", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Asset id")), request_body = AssetBody,
    responses((status = 200, description = "Updated", body = Asset),
              (status = 409, description = "Tag already used", body = nexus_shared::error::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Auth<Staff>,
    Path(id): Path<i64>,
    Json(body): Json<AssetBody>,
) -> ApiResult<axum::Json<Asset>> {
    change(&state, &caller, id, Action::Update, body).await
}

/// Decommissions the asset: its status becomes `decommissioned`; the row and its history stay.
#[utoipa::path(delete, path = "/api/assets/{id}", tag = "assets", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Asset id")),
    responses((status = 200, description = "Decommissioned", body = Asset)))]
pub async fn decommission(
    State(state): State<AppState>,
    caller: Auth<Staff>,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<Asset>> {
    change(&state, &caller, id, Action::Delete, AssetBody::decommission()).await
}

/// Applies an update body to a stored asset, under a row lock, with its audit row.
async fn change(
    state: &AppState,
    caller: &AuthUser,
    id: i64,
    action: Action,
    body: AssetBody,
) -> ApiResult<axum::Json<Asset>> {
    let locked = async |conn: &mut PgConnection, id| store::find(conn, id, Lock::ForUpdate).await;
    let updated = audit::update(&state.pool, &caller.actor(), action, id, locked, async |conn, before| {
        store::save(conn, Some(id), &AssetDraft::parse(body.merged_onto(before))?).await
    })
    .await?;
    Ok(axum::Json(updated))
}
