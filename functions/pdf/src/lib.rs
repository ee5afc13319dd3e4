//! `pdf`: jobcards, the signed-off record of a closed ticket, stored in S3 and handed out as
//! short-lived presigned links.

pub mod jobcard;

use axum::Router;
use nexus_shared::AppState;
use utoipa_axum::router::OpenApiRouter;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}

pub fn router(state: AppState) -> Router {
    nexus_shared::http::serve(routes(), state)
}
