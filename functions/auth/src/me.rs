use axum::extract::State;
use nexus_shared::auth::AuthOrEnrolling;
use nexus_shared::user::{self, User};
use nexus_shared::{ApiError, ApiResult, AppState};

/// The signed-in user, with their roles.
#[utoipa::path(get, path = "/api/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "The caller", body = User)))]
pub async fn me(State(state): State<AppState>, caller: AuthOrEnrolling) -> ApiResult<axum::Json<User>> {
    let mut conn = state.pool.acquire().await?;
    let me = user::find(&mut conn, caller.id)
        .await?
        .ok_or(ApiError::Unauthorized("The session has ended; sign in again."))?;
    Ok(axum::Json(me))
}
