//! The local runner: every function's router in one axum server over real Postgres, every
//! scheduled job on its rate beside it, and the one data generator (demo and scale presets).
//! The same routers Lambda serves, behind the same layers.

pub mod api;
pub mod generate;
pub mod jobs;

use axum::Router;
use nexus_shared::AppState;

/// All routes of all functions, served as one application.
pub fn app(state: AppState) -> Router {
    nexus_shared::http::serve(api::all_routes(), state)
}
