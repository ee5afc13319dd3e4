//! `assets`: the devices (ATMs, terminals, kiosks) installed at locations.

mod asset;
mod csv;
mod handlers;
mod store;

use axum::Router;
use nexus_shared::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use asset::Asset;
pub use csv::COLUMNS as CSV_COLUMNS;

/// Every route of the group, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(handlers::list, handlers::create)).routes(routes!(
        handlers::get,
        handlers::update,
        handlers::decommission
    ))
}

pub fn router(state: AppState) -> Router {
    nexus_shared::http::serve(routes(), state)
}
