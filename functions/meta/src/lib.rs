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

/// Every function's routes: what the local runner mounts and what the document describes.
pub fn all_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(nexus_auth::routes())
        .merge(nexus_users::routes())
        .merge(nexus_locations::routes())
        .merge(nexus_assets::routes())
        .merge(nexus_audit::routes())
        .merge(nexus_tickets::routes())
        .merge(nexus_approvals::routes())
        .merge(nexus_sla::routes())
        .merge(nexus_maps::routes())
        .merge(nexus_pdf::routes())
        .merge(routes())
}

/// The OpenAPI 3.1 document of all routes, built from the same routers that serve them.
pub fn document() -> OpenApi {
    nexus_shared::openapi::document([all_routes().into_openapi()])
}
