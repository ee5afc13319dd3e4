//! `auth`: sign-up, login, token refresh, logout, password change and "who am I".

mod login;
mod logout;
mod me;
mod password;
mod refresh;
mod signup;
mod state;
mod throttle;
mod tokens;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use state::AuthState;
pub use throttle::LoginThrottle;

/// Every route of the group, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AuthState> {
    OpenApiRouter::new()
        .routes(routes!(signup::signup))
        .routes(routes!(login::login))
        .routes(routes!(refresh::refresh))
        .routes(routes!(logout::logout))
        .routes(routes!(me::me))
        .routes(routes!(password::change_password))
}

pub fn router(state: AuthState) -> Router {
    nexus_shared::http::serve(routes(), state)
}
