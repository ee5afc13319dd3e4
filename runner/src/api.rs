//! Every function's routes in one place: what the local runner serves, what `template.yaml`
//! must route, and where the OpenAPI document (`functions/meta/openapi.json`) comes from.

use nexus_shared::AppState;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;

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
        ("meta", nexus_meta::routes()),
    ]
}

/// Every function's routes, merged.
pub fn all_routes() -> OpenApiRouter<AppState> {
    functions().into_iter().fold(OpenApiRouter::new(), |all, (_, routes)| all.merge(routes))
}

/// The OpenAPI 3.1 document of all routes, built from the same routers that serve them.
pub fn document() -> OpenApi {
    nexus_shared::openapi::document([all_routes().into_openapi()])
}
