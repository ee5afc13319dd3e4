//! `imports`: bulk import of sites (locations) and devices (assets) from CSV — a dry run that
//! checks every row as the single-row endpoints do and counts what would change, then an apply
//! of the same bytes (named by the dry run's checksum) in one transaction, audited row by row.
//! Reports are kept (`imports`, `import_errors`). Imports emit no webhook events: none of the
//! planned ones (tickets, approvals, checklists, jobcards) concerns sites or devices.

mod assets;
mod file;
mod handlers;
mod locations;
mod report;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use nexus_shared::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use file::{ImportErrorCode, ImportRowError};
pub use handlers::{CHECKSUM_HEADER, MAX_BYTES};
pub use report::{ERRORS_SHOWN, ImportEntity, ImportReport, ImportSummary};

/// Every route of the group, with its OpenAPI description. The import's route takes a body of up
/// to [`MAX_BYTES`] (4 MiB) where every other route keeps the common 1 MiB limit: the route's own
/// limit is the innermost, so it is the one applied.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::create))
        .layer(DefaultBodyLimit::max(MAX_BYTES))
        .routes(routes!(handlers::list))
        .routes(routes!(handlers::get))
        .routes(routes!(handlers::errors))
}

pub fn router(state: AppState) -> Router {
    nexus_shared::http::serve(routes(), state)
}
