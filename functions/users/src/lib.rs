//! `users`: account administration (admins only).

mod handlers;
mod store;
mod update;

use axum::Router;
use nexus_shared::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Every route of the group, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list))
        .routes(routes!(handlers::get, handlers::update, handlers::deactivate))
        .routes(routes!(handlers::reset_mfa))
}

pub fn router(state: AppState) -> Router {
    nexus_shared::http::serve(routes(), state)
}
