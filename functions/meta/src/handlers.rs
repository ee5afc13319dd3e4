use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `unavailable` when a dependency is down.
    pub status: &'static str,
    /// `ok` or `unreachable`.
    pub database: &'static str,
}

/// How long the health check waits for the database before calling it unreachable.
const DATABASE_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Liveness and database reachability; no authentication.
#[utoipa::path(get, path = "/api/health", tag = "meta",
    responses((status = 200, description = "All good", body = Health),
              (status = 503, description = "The database is unreachable", body = Health)))]
pub async fn health(State(pool): State<PgPool>) -> (StatusCode, axum::Json<Health>) {
    let probe = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&pool);
    match tokio::time::timeout(DATABASE_PROBE_TIMEOUT, probe).await {
        Ok(Ok(_)) => (StatusCode::OK, axum::Json(Health { status: "ok", database: "ok" })),
        outcome => {
            let error = match outcome {
                Ok(Err(e)) => e.to_string(),
                _ => "timed out".into(),
            };
            tracing::warn!(%error, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(Health { status: "unavailable", database: "unreachable" }))
        }
    }
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], crate::DOCUMENT)
}
