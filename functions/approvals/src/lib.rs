//! placeholder
pub fn router(state: nexus_shared::AppState) -> axum::Router {
    nexus_shared::http::serve(utoipa_axum::router::OpenApiRouter::new(), state)
}
