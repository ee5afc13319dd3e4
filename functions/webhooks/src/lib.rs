//! `webhooks`: the outbound webhook endpoints, for admins. An endpoint is registered behind the
//! SSRF guard (`nexus_shared::webhook::ssrf`), gets a signing secret shown once and stored
//! sealed, can rotate it (both sign for 24 hours), be pinged through the normal delivery
//! pipeline, and shows its deliveries, any of which can be replayed. Every change is audited,
//! never with a secret. Delivery itself is `webhook-dispatch`'s.

mod body;
mod delivery;
mod handlers;
mod state;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use body::{NewWebhookBody, WebhookBody};
pub use delivery::Delivery;
pub use handlers::WithSecret;
pub use state::WebhooksState;

/// Every route of the group, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<WebhooksState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list, handlers::create))
        .routes(routes!(handlers::get, handlers::update, handlers::delete))
        .routes(routes!(handlers::rotate_secret))
        .routes(routes!(handlers::test))
        .routes(routes!(delivery::list))
        .routes(routes!(delivery::replay))
}

pub fn router(state: WebhooksState) -> Router {
    nexus_shared::http::serve(routes(), state)
}
