use axum::extract::State;
use axum::http::StatusCode;
use nexus_shared::auth::AuthOrEnrolling;
use nexus_shared::auth::session::{self, RevokeReason};
use nexus_shared::{ApiResult, AppState};

/// Ends the caller's session: its access token and refresh token stop working at once.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "Signed out")))]
pub async fn logout(State(state): State<AppState>, user: AuthOrEnrolling) -> ApiResult<StatusCode> {
    let mut conn = state.pool.acquire().await?;
    session::revoke(&mut conn, user.session_id, RevokeReason::Logout).await?;
    Ok(StatusCode::NO_CONTENT)
}
