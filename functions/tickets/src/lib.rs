//! `tickets`: work orders (PM and CM) with their SLA clocks and lifecycle.

mod checklist;
mod export;
mod handlers;
mod history;
mod input;
mod lifecycle;
mod store;
mod ticket;
mod visits;

use axum::Router;
use nexus_shared::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use ticket::Ticket;

/// Every route of the group, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list, handlers::create))
        .routes(routes!(handlers::get, handlers::update, handlers::cancel))
        .routes(routes!(history::history))
        .merge(checklist::routes())
        .merge(visits::routes())
}

pub fn router(state: AppState) -> Router {
    nexus_shared::http::serve(routes(), state)
}
