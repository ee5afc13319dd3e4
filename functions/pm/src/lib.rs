//! `pm`: preventive maintenance plans (scope, recurrence, holiday rule, lead time), their
//! forecast and what the generator did with them; meters on assets and their readings, which
//! fire meter-triggered plans. The generating itself is shared with the
//! scheduled `pm-generate` function (`nexus_shared::pm`).

mod forecast;
mod handlers;
mod meters;
mod plan;
mod readings;
mod store;

use axum::Router;
use nexus_shared::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use plan::PmPlan;

/// Every route of the group, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list, handlers::create))
        .routes(routes!(handlers::get, handlers::update, handlers::deactivate))
        .routes(routes!(forecast::forecast))
        .routes(routes!(forecast::occurrences))
        .routes(routes!(meters::list, meters::create))
        .routes(routes!(readings::list, readings::record))
}

pub fn router(state: AppState) -> Router {
    nexus_shared::http::serve(routes(), state)
}
