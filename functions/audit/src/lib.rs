//! `audit`: reading the audit log (admins and supervisors).

mod handlers;

use axum::Router;
use nexus_shared::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Every route of the group, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(handlers::list))
}

pub fn router(state: AppState) -> Router {
    nexus_shared::http::serve(routes(), state)
}
