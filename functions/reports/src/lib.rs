//! `reports`: KPIs over the work orders (MTTR, MTBF, SLA compliance, first-time fix, PM
//! compliance, backlog, reopen rate) per group, each formula defined once in `kpis/` and stated
//! in the OpenAPI description; and the tickets behind any figure. Live SQL over tickets for
//! now: each KPI is one aggregate read through an index on the instant that places a ticket in
//! the period.

pub mod group;
pub mod kpis;
pub mod period;
mod report;

use axum::Router;
use nexus_shared::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use report::{KpiGroup, KpiReport};

/// Every route of the group, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(report::kpis))
}

pub fn router(state: AppState) -> Router {
    nexus_shared::http::serve(routes(), state)
}
