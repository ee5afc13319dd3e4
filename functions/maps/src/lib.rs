//! `maps`: live work and sites as RFC 7946 GeoJSON for a Leaflet map, with server-side
//! clustering so a national view stays small.

mod bbox;
mod geojson;
mod handlers;
mod query;
mod severity;

use axum::Router;
use nexus_shared::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Every route of the group, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(handlers::live_tickets)).routes(routes!(handlers::locations))
}

pub fn router(state: AppState) -> Router {
    nexus_shared::http::serve(routes(), state)
}
