//! Health and the OpenAPI document.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use nexus_shared::config::DatabaseSettings;
use nexus_shared::secret::Secret;
use nexus_shared::testing::{self, request, send};
use sqlx::PgPool;

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn health_is_ok_when_the_database_answers(pool: PgPool) {
    let app = nexus_meta::router(testing::state(pool));
    let r = testing::send_event(&app, testing::apigw_v2_event("GET", "/api/health", "", None, None)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, serde_json::json!({"status": "ok", "database": "ok"}));
}

#[tokio::test]
async fn health_is_503_and_other_requests_problem_503_when_the_database_is_gone() {
    let settings = DatabaseSettings {
        url: Secret::new("postgres://postgres@127.0.0.1:1/none".into()),
        max_connections: 1,
        acquire_timeout: Duration::from_millis(500),
    };
    let pool = nexus_shared::db::lazy_pool(&settings).unwrap();
    let state = nexus_shared::AppState::new(testing::config(), pool);
    let app = nexus_meta::router(state.clone());
    let r = send(&app, request(Method::GET, "/api/health", None, None)).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.body["database"], "unreachable");

    // Anything that needs the database says 503 problem+json, never 500, and leaks no address.
    let users = nexus_users::router(state);
    let token = testing::config();
    let keys = nexus_shared::auth::token::TokenKeys::new(&token.jwt);
    let access = keys.issue_access(1, 1).unwrap();
    let r = send(&users, request(Method::GET, "/api/users", Some(&access), None)).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.content_type(), "application/problem+json");
    assert!(!r.body.to_string().contains("127.0.0.1"));
}

#[tokio::test]
async fn every_group_contributes_operations_to_the_document() {
    let doc = nexus_meta::document();
    let tags: Vec<String> = doc
        .paths
        .paths
        .values()
        .flat_map(|item| {
            [&item.get, &item.post, &item.put, &item.delete]
                .into_iter()
                .flatten()
                .flat_map(|op| op.tags.clone().unwrap_or_default())
                .collect::<Vec<_>>()
        })
        .collect();
    for group in ["auth", "users", "locations", "assets", "audit", "meta"] {
        assert!(tags.iter().any(|t| t == group), "no operation tagged {group}");
    }
}
