//! The local runner: every function's router in one axum server over real Postgres, plus the
//! demo data. The same routers Lambda serves, behind the same layers.

pub mod api;
pub mod bench;
mod bench_support;
pub mod cold_start;
pub mod demo;
pub mod generate;

use axum::Router;
use nexus_shared::AppState;

/// All routes of all functions, served as one application.
pub fn app(state: AppState) -> Router {
    nexus_shared::http::serve(api::all_routes(), state)
}
