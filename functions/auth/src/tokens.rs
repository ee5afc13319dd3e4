//! The token pair a login or refresh answers with.

use nexus_shared::ApiError;
use nexus_shared::auth::token::RefreshToken;
use nexus_shared::state::AppState;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// JWT to send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires (at most 900).
    pub expires_in: u64,
    /// Single-use: `POST /api/auth/refresh` returns a new pair and kills this one.
    pub refresh_token: String,
}

pub async fn pair(state: &AppState, user_id: i64, refresh: &RefreshToken) -> Result<TokenResponse, ApiError> {
    Ok(TokenResponse {
        access_token: state.tokens.issue_access(user_id, refresh.session_id).await?,
        token_type: "Bearer",
        expires_in: state.tokens.access_ttl.as_secs(),
        refresh_token: refresh.to_token(),
    })
}
