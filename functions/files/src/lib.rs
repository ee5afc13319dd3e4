//! `files`: photo evidence, signatures and documents of tickets. Clients upload straight to S3
//! through presigned PUTs the server signs for the exact bytes declared; the server reads each
//! upload back before it counts (`stored`). The only HTTP function besides `pdf` that links the
//! S3 SDK, so the others' zips stay small.

pub mod attachment;
pub mod export;
mod handlers;
mod state;
mod store;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use export::{EXPORT_TTL, ExportLimits};
pub use handlers::{DOWNLOAD_TTL, MAX_PER_TICKET, UPLOAD_TTL};
pub use state::FilesState;

/// Every route of the group, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<FilesState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list, handlers::create))
        .routes(routes!(handlers::confirm))
        .routes(routes!(export::create))
}

pub fn router(state: FilesState) -> Router {
    nexus_shared::http::serve(routes(), state)
}
