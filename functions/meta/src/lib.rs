//! `meta`: the health check and the OpenAPI document of every route the functions serve.

mod handlers;

use axum::Router;
use nexus_shared::AppState;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Every route of the group, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(handlers::health)).routes(routes!(handlers::openapi))
}

pub fn router(state: AppState) -> Router {
    nexus_shared::http::serve(routes(), state)
}

/// Each HTTP function's binary name (its Lambda in `template.yaml`) and its routes.
pub fn functions() -> Vec<(&'static str, OpenApiRouter<AppState>)> {
    vec![
        ("auth", nexus_auth::routes()),
        ("users", nexus_users::routes()),
        ("locations", nexus_locations::routes()),
        ("assets", nexus_assets::routes()),
        ("audit", nexus_audit::routes()),
        ("tickets", nexus_tickets::routes()),
        ("approvals", nexus_approvals::routes()),
        ("sla", nexus_sla::routes()),
        ("maps", nexus_maps::routes()),
        ("pdf", nexus_pdf::routes()),
        ("meta", routes()),
    ]
}

/// Every function's routes: what the local runner mounts and what the document describes.
pub fn all_routes() -> OpenApiRouter<AppState> {
    functions().into_iter().fold(OpenApiRouter::new(), |all, (_, routes)| all.merge(routes))
}

/// The OpenAPI 3.1 document of all routes, built from the same routers that serve them.
pub fn document() -> OpenApi {
    nexus_shared::openapi::document([all_routes().into_openapi()])
}
