//! `sla`: the SLA rules (targets per ticket type × priority), their calendars, and the log of
//! warning and breach crossings recorded by the scheduled check.

mod calendars;
mod events;
mod rules;

use axum::Router;
use nexus_shared::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Every route of the group, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(rules::list, rules::upsert))
        .routes(routes!(calendars::list, calendars::create))
        .routes(routes!(calendars::update))
        .routes(routes!(events::list))
}

pub fn router(state: AppState) -> Router {
    nexus_shared::http::serve(routes(), state)
}
