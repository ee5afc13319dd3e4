//! `pdf`: jobcards, the signed-off record of a closed ticket, stored in S3 (private, encrypted)
//! and handed out as 15-minute presigned links.

mod handlers;
pub mod jobcard;
mod pdf;
mod state;
mod store;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use state::PdfState;

/// Every route of the group, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<PdfState> {
    OpenApiRouter::new().routes(routes!(handlers::create)).routes(routes!(handlers::latest))
}

pub fn router(state: PdfState) -> Router {
    nexus_shared::http::serve(routes(), state)
}
