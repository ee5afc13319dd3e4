use axum::extract::State;
use nexus_shared::auth::session::{self, Rotation};
use nexus_shared::auth::token::RefreshToken;
use nexus_shared::extract::Json;
use nexus_shared::{ApiError, ApiResult, AppState};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::tokens::{self, TokenResponse};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[schema(max_length = 200)]
    refresh_token: String,
}

const INVALID: ApiError = ApiError::Unauthorized("The refresh token is invalid, used or expired; sign in again.");

/// Rotates both tokens. The refresh token presented is dead afterwards; presenting it again
/// revokes the whole session (someone has a copy).
#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, description = "New token pair", body = TokenResponse),
              (status = 401, description = "Unknown, used, expired or revoked refresh token", body = nexus_shared::error::Problem)))]
pub async fn refresh(
    State(state): State<AppState>,
    Json(body): Json<RefreshRequest>,
) -> ApiResult<axum::Json<TokenResponse>> {
    let presented = RefreshToken::parse(&body.refresh_token).ok_or(INVALID)?;
    let mut conn = state.pool.acquire().await?;
    match session::rotate(&mut conn, &presented).await? {
        Rotation::Rotated { user_id, token } => Ok(axum::Json(tokens::pair(&state, user_id, &token).await?)),
        Rotation::Reused => {
            tracing::warn!(session_id = presented.session_id, "refresh token reused; session revoked");
            Err(INVALID)
        }
        Rotation::Invalid => Err(INVALID),
    }
}
