//! `auth`: sign-up, login (with MFA's second step), token refresh, logout, password change, MFA
//! enrolment and "who am I".

mod login;
mod logout;
mod me;
mod mfa;
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
        .routes(routes!(mfa::enroll::enroll))
        .routes(routes!(mfa::confirm::confirm))
        .routes(routes!(mfa::verify::verify))
}

pub fn router(state: AuthState) -> Router {
    nexus_shared::http::serve(routes(), state)
}
