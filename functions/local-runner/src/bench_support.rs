//! What the benchmark needs to call the API in process: a signed-in user and a request helper.

use axum::body::Body;
use axum::http::{Method, Request, header};
use http_body_util::BodyExt;
use nexus_shared::auth::{Role, session};
use nexus_shared::{ApiError, AppState};
use tower::ServiceExt;

/// An access token for a fresh session of a bench user holding `role`.
pub async fn sign_in(state: &AppState, role: Role) -> Result<String, ApiError> {
    let mut tx = state.pool.begin().await?;
    let email = format!("bench-{role}@example.com");
    let id = nexus_shared::user::ensure(&mut tx, &email, None, "x", &[role]).await?;
    let refresh = session::open(&mut tx, id, chrono::Utc::now() + chrono::Duration::hours(2)).await?;
    tx.commit().await?;
    state.tokens.issue_access(id, refresh.session_id)
}

/// Sends a request through the router and returns the JSON body; a non-2xx answer is an error.
pub async fn request_json(
    app: &axum::Router,
    method: Method,
    uri: &str,
    token: &str,
) -> Result<serde_json::Value, ApiError> {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .map_err(ApiError::internal)?;
    let response = app.clone().oneshot(request).await.map_err(ApiError::internal)?;
    let status = response.status();
    let bytes = response.into_body().collect().await.map_err(ApiError::internal)?.to_bytes();
    if !status.is_success() {
        return Err(ApiError::internal(format!("{uri} answered {status}: {}", String::from_utf8_lossy(&bytes))));
    }
    serde_json::from_slice(&bytes).map_err(ApiError::internal)
}
