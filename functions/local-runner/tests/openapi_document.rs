//! The document `meta` serves (`functions/meta/openapi.json`, embedded at build time) is the one
//! generated from the routers that serve. After changing a route or its schema, regenerate it:
//! `NEXUS_UPDATE_OPENAPI=1 cargo test -p nexus-local-runner --test openapi_document`.

#[test]
fn the_served_document_is_the_generated_one() {
    let generated = nexus_local_runner::api::document().to_pretty_json().unwrap() + "\n";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../meta/openapi.json");
    if std::env::var_os("NEXUS_UPDATE_OPENAPI").is_some() {
        std::fs::write(path, &generated).unwrap();
        return; // the embedded copy is the old one until the next build
    }
    let served: serde_json::Value = serde_json::from_str(nexus_meta::DOCUMENT).unwrap();
    let expected: serde_json::Value = serde_json::from_str(&generated).unwrap();
    assert!(
        served == expected,
        "functions/meta/openapi.json is stale: run NEXUS_UPDATE_OPENAPI=1 cargo test -p nexus-local-runner --test openapi_document"
    );
}
