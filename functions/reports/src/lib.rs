//! `reports`: KPIs over the work orders (MTTR, MTBF, SLA compliance, first-time fix, PM
//! compliance, backlog, reopen rate) per group, each formula defined once in `kpis/` and stated
//! in the OpenAPI description; and the tickets behind any figure. Days that are over are read
//! from the daily rollup (`kpi_daily`, kept by `report-rollup`); today and days not rolled up
//! live, each KPI one aggregate read through an index on the instant that places a ticket in
//! the period. Reads go to the replica when one is configured.

pub mod drilldown;
pub mod group;
pub mod kpis;
pub mod period;
mod report;
pub mod rollup;

use axum::Router;
use nexus_shared::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use report::{KpiGroup, KpiReport};
pub use report::{Resolved, build, csv};

/// Every route of the group, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(report::kpis)).routes(routes!(drilldown::tickets))
}

pub fn router(state: AppState) -> Router {
    nexus_shared::http::serve(routes(), state)
}
