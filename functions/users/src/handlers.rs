use axum::extract::State;
use axum::http::StatusCode;
use nexus_shared::audit::{self, Action};
use nexus_shared::auth::{Admin, Auth, AuthUser, Role, mfa};
use nexus_shared::extract::{Json, Path, Query};
use nexus_shared::pagination::{Page, PageParams, SortKey, Sorting};
use nexus_shared::user::{self, User};
use nexus_shared::validate;
use nexus_shared::{ApiError, ApiResult, AppState};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::store::{self, Filter};
use crate::update::{UserChange, UserUpdate};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Matches anywhere in the e-mail or name, case-insensitively.
    #[param(max_length = 100, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    q: Option<String>,
    role: Option<Role>,
    active: Option<bool>,
}

/// How the list below is ordered.
pub struct UserSorting;

impl Sorting for UserSorting {
    const KEYS: &'static [SortKey] = &crate::store::SORTS;
    const DEFAULT: &'static str = "email";
    const ID_COLUMN: &'static str = "u.id";
}

/// Lists accounts; `sort` is `email` (default) or `created_at`, `-` for descending.
#[utoipa::path(get, path = "/api/users", tag = "users", security(("bearer" = [])),
    params(ListQuery, PageParams<UserSorting>),
    responses((status = 200, description = "A page of users", body = Page<User>)))]
pub async fn list(
    State(state): State<AppState>,
    _admin: Auth<Admin>,
    Query(query): Query<ListQuery>,
    Query(page): Query<PageParams<UserSorting>>,
) -> ApiResult<axum::Json<Page<User>>> {
    let page = page.resolve()?;
    let filter = Filter { q: validate::query_text("q", query.q)?, role: query.role, active: query.active };
    Ok(axum::Json(store::list(&state.pool, &filter, &page).await?))
}

#[utoipa::path(get, path = "/api/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = i64, Path, description = "User id")),
    responses((status = 200, description = "The user", body = User)))]
pub async fn get(
    State(state): State<AppState>,
    _admin: Auth<Admin>,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<User>> {
    let mut conn = state.pool.acquire().await?;
    user::find(&mut conn, id).await?.map(axum::Json).ok_or(ApiError::NotFound)
}

/// Changes e-mail, name, roles or active flag. Deactivating revokes every session at once.
#[utoipa::path(put, path = "/api/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = i64, Path, description = "User id")), request_body = UserUpdate,
    responses((status = 200, description = "Updated", body = User),
              (status = 409, description = "E-mail taken, or an admin locking themselves out", body = nexus_shared::error::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    admin: Auth<Admin>,
    Path(id): Path<i64>,
    Json(body): Json<UserUpdate>,
) -> ApiResult<axum::Json<User>> {
    change(&state, &admin, id, Action::Update, body).await.map(axum::Json)
}

/// Deactivates the account: it can no longer sign in, its sessions end, its history stays.
#[utoipa::path(delete, path = "/api/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = i64, Path, description = "User id")),
    responses((status = 204, description = "Deactivated"),
              (status = 409, description = "An admin cannot deactivate themselves", body = nexus_shared::error::Problem)))]
pub async fn deactivate(
    State(state): State<AppState>,
    admin: Auth<Admin>,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    change(&state, &admin, id, Action::Delete, UserUpdate::deactivate()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Resets the user's MFA (a lost phone): their authenticator and recovery codes are removed, and
/// they sign in with the password alone until they enrol again (or get a session that may only
/// enrol, when their role requires MFA). Their sessions stay.
#[utoipa::path(delete, path = "/api/users/{id}/mfa", tag = "users", security(("bearer" = [])),
    params(("id" = i64, Path, description = "User id")),
    responses((status = 204, description = "Reset (also when there was nothing to reset)")))]
pub async fn reset_mfa(
    State(state): State<AppState>,
    admin: Auth<Admin>,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    audit::update(&state.pool, &admin.actor(), Action::Update, id, store::lock, async |conn, _| {
        mfa::reset(conn, id).await?;
        user::find(conn, id).await?.ok_or(ApiError::NotFound)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn change(state: &AppState, admin: &AuthUser, id: i64, action: Action, body: UserUpdate) -> ApiResult<User> {
    audit::update(&state.pool, &admin.actor(), action, id, store::lock, async |conn, before| {
        store::apply(conn, id, &UserChange::parse(body, before, admin.id)?).await
    })
    .await
}
