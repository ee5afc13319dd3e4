//! `approvals`: supervisors approve a resolved ticket's closure, or send it back to work.

mod approval;
mod handlers;
mod store;

use axum::Router;
use nexus_shared::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Every route of the group, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(handlers::decide)).routes(routes!(handlers::history))
}

pub fn router(state: AppState) -> Router {
    nexus_shared::http::serve(routes(), state)
}
