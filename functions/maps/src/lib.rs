//! `maps`: live work and sites as RFC 7946 GeoJSON for a Leaflet map, with server-side
//! clustering so a national view stays small.

mod bbox;
mod geojson;
mod handlers;
mod query;
mod severity;
mod view_cache;

use axum::Router;
use nexus_shared::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Every route of the group, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    // One view cache per router: per Lambda instance, and per test.
    let views = std::sync::Arc::new(view_cache::ViewCache::default());
    OpenApiRouter::new()
        .routes(routes!(handlers::live_tickets))
        .routes(routes!(handlers::locations))
        .layer(axum::Extension(views))
}

pub fn router(state: AppState) -> Router {
    nexus_shared::http::serve(routes(), state)
}
