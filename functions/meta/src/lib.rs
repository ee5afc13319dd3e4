//! `meta`: the health check and the OpenAPI document of every route the functions serve; in
//! API Gateway also the `$default` route, so unknown paths get a problem+json 404.

mod handlers;
mod state;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use state::MetaState;

/// Every route of the group, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<MetaState> {
    OpenApiRouter::new().routes(routes!(handlers::health)).routes(routes!(handlers::openapi))
}

pub fn router(state: MetaState) -> Router {
    nexus_shared::http::serve(routes(), state)
}

/// The OpenAPI 3.1 document of every route of every function. Generated from the routers that
/// serve (`runner/src/api.rs`), committed, and checked against them by the local runner's
/// tests; embedded here so this function does not link every other function's code.
pub const DOCUMENT: &str = include_str!("../openapi.json");
