//! The local runner: every function's router in one axum server over real Postgres, every
//! scheduled job on its rate beside it, and the one data generator (demo and scale presets).
//! The same routers Lambda serves, behind the same layers.

pub mod api;
pub mod cli;
pub mod generate;
pub mod jobs;
pub mod states;

use axum::Router;

pub use states::States;

/// All routes of all functions, served as one application.
pub fn app(states: &States) -> Router {
    nexus_shared::http::layers(api::router(states), &states.core.http)
}
