//! Every HTTP function in one list: what the local runner serves, what `template.yaml` must
//! route, and where the OpenAPI document (`functions/meta/openapi.json`) comes from.

use axum::Router;
use utoipa::openapi::OpenApi;

use crate::states::States;

/// Each line: the function's binary name (its Lambda in `template.yaml`), its crate, and the
/// field of [`States`] it is served with.
macro_rules! http_functions {
    ($($name:literal => $krate:ident with $state:ident),+ $(,)?) => {
        /// Each HTTP function's binary name and its operations.
        pub fn documents() -> Vec<(&'static str, OpenApi)> {
            vec![$(($name, $krate::routes().into_openapi())),+]
        }

        /// Every HTTP function's routes, each with its own state, as one router.
        pub fn router(states: &States) -> Router {
            Router::new()$(.merge(Router::from($krate::routes()).with_state(states.$state.clone())))+
        }
    };
}

http_functions! {
    "auth" => nexus_auth with auth,
    "users" => nexus_users with core,
    "locations" => nexus_locations with core,
    "assets" => nexus_assets with core,
    "audit" => nexus_audit with core,
    "tickets" => nexus_tickets with core,
    "approvals" => nexus_approvals with core,
    "sla" => nexus_sla with core,
    "pm" => nexus_pm with core,
    "checklists" => nexus_checklists with core,
    "imports" => nexus_imports with core,
    "webhooks" => nexus_webhooks with webhooks,
    "maps" => nexus_maps with maps,
    "pdf" => nexus_pdf with pdf,
    "files" => nexus_files with files,
    "reports" => nexus_reports with core,
    "meta" => nexus_meta with meta,
}

/// The OpenAPI 3.1 document of all routes, built from the same routers that serve them.
pub fn document() -> OpenApi {
    nexus_shared::openapi::document(documents().into_iter().map(|(_, document)| document))
}
