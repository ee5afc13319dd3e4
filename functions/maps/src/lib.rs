//! `maps`: live work and sites as RFC 7946 GeoJSON for a Leaflet map, with server-side
//! clustering so a national view stays small.

mod bbox;
mod bounded;
mod geojson;
mod live_tickets;
mod national;
mod query;
mod response;
mod severity;
mod sites;
mod state;
mod view_cache;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use state::MapsState;

/// The unfinished statuses as SQL, spelled once from `TicketStatus`: what both maps show.
static ACTIVE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    nexus_shared::ticket::TicketStatus::sql_list(nexus_shared::ticket::TicketStatus::ACTIVE)
});

/// A ticket generated ahead of its date (a PM whose `scheduled_for` is still to come) is not work
/// yet: neither map shows it until then. Reads `clock.now`.
const STARTED: &str = "(t.scheduled_for IS NULL OR t.scheduled_for <= clock.now)";

/// Every route of the group, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<MapsState> {
    OpenApiRouter::new().routes(routes!(live_tickets::live_tickets)).routes(routes!(sites::locations))
}

pub fn router(state: MapsState) -> Router {
    nexus_shared::http::serve(routes(), state)
}
