//! `checklists`: checklist templates (dynamic forms) of typed items. Every change makes a new
//! version and a version never changes, so a ticket answers the version it was given. The items
//! and what meets them are `nexus_shared::checklist`; a ticket's answers are served by `tickets`.

mod checklist;
mod handlers;

use axum::Router;
use nexus_shared::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use checklist::{Checklist, ChecklistSummary};

/// Every route of the group, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list, handlers::create))
        .routes(routes!(handlers::get, handlers::update))
}

pub fn router(state: AppState) -> Router {
    nexus_shared::http::serve(routes(), state)
}
