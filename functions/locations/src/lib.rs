//! `locations`: the sites (TIDs) where devices stand, with their coordinates and time zone.

mod csv;
mod handlers;
mod store;

use axum::Router;
use nexus_shared::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use nexus_shared::location::{CSV_COLUMNS, Location};

/// Every route of the group, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(handlers::list, handlers::create)).routes(routes!(
        handlers::get,
        handlers::update,
        handlers::delete
    ))
}

pub fn router(state: AppState) -> Router {
    nexus_shared::http::serve(routes(), state)
}
