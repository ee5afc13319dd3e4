//! Health and the OpenAPI document.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use nexus_meta::MetaState;
use nexus_shared::config::{ConfigError, DatabaseSettings, Env, FromEnv, HttpSettings, SecretVar};
use nexus_shared::secret::Secret;
use nexus_testkit::{self as testing, request, send};
use sqlx::PgPool;

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn health_is_ok_when_the_database_answers(pool: PgPool) {
    let app = nexus_meta::router(MetaState::from_core(&testing::state(pool)));
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
        ssl_mode: None,
    };
    let pool = nexus_shared::db::lazy_pool(&settings).unwrap();
    let state = testing::state(pool);
    let app = nexus_meta::router(MetaState::from_core(&state));
    let r = send(&app, request(Method::GET, "/api/health", None, None)).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.body["database"], "unreachable");

    // Anything that needs the database says 503 problem+json, never 500, and leaks no address.
    let users = nexus_users::router(state);
    let keys = nexus_shared::auth::token::TokenKeys::new(&testing::jwt());
    let access = keys.issue_access(1, 1).await.unwrap();
    let r = send(&users, request(Method::GET, "/api/users", Some(&access), None)).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.content_type(), "application/problem+json");
    assert!(!r.body.to_string().contains("127.0.0.1"));
}

#[test]
fn every_group_contributes_operations_to_the_served_document() {
    let doc: serde_json::Value = serde_json::from_str(nexus_meta::DOCUMENT).expect("the embedded document is JSON");
    let tags: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .flat_map(|op| op["tags"].as_array().into_iter().flatten().filter_map(|t| t.as_str()))
        .collect();
    for group in ["auth", "users", "locations", "assets", "audit", "tickets", "approvals", "sla", "maps", "pdf", "meta"]
    {
        assert!(tags.contains(&group), "no operation tagged {group}");
    }
}

/// Without its configuration the built process stops at init, naming what is missing and
/// nothing secret.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn without_its_configuration_the_built_function_stops_at_init(pool: sqlx::PgPool) {
    use nexus_testkit::built::start_lambda;
    let env = [("DATABASE_URL", String::new())];
    let mut broken = start_lambda(env!("CARGO_BIN_EXE_meta"), &pool, &env).await;
    let event = nexus_testkit::apigw_v2_event_json("GET", "/api/health", "", None, None);
    match broken.invoke(&event, std::time::Duration::from_secs(30)).await {
        Err(nexus_testkit::lambda::InvokeError::Exited { log, .. }) => {
            assert!(log.contains("DATABASE_URL"), "{log}");
            assert!(!log.contains("test-signing-key"), "{log}");
        }
        other => panic!("expected the process to exit at init, got {other:?}"),
    }
}

/// CORS answers only the configured origin: its preflight is allowed, any other origin gets no
/// CORS headers (so the browser refuses), and without an origin configured there are none.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn cors_is_for_the_configured_origin_only(pool: sqlx::PgPool) {
    use axum::http::header;
    let http = HttpSettings { cors_origin: Some("https://app.example.com".into()) };
    let app = nexus_meta::router(MetaState { pool: pool.clone(), http });
    let preflight = |origin: &str| {
        let mut r = request(Method::OPTIONS, "/api/health", None, None);
        r.headers_mut().insert(header::ORIGIN, origin.parse().unwrap());
        r.headers_mut().insert(header::ACCESS_CONTROL_REQUEST_METHOD, "GET".parse().unwrap());
        r.headers_mut()
            .insert(header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization,idempotency-key".parse().unwrap());
        r
    };
    let allowed = send(&app, preflight("https://app.example.com")).await;
    assert!(allowed.status.is_success(), "{}", allowed.status);
    assert_eq!(allowed.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://app.example.com");
    let allowed_headers = allowed.headers[header::ACCESS_CONTROL_ALLOW_HEADERS].to_str().unwrap().to_string();
    assert!(allowed_headers.contains("idempotency-key"), "{allowed_headers}");

    let evil = send(&app, preflight("https://evil.example.net")).await;
    let told: Vec<_> = evil.headers.keys().filter(|h| h.as_str().starts_with("access-control-")).collect();
    assert!(told.is_empty(), "another origin is told {told:?}");
    // Preflights, answered before routing, still carry the request id and the security headers.
    for answer in [&allowed, &evil] {
        assert!(answer.headers.contains_key("x-request-id"), "{:?}", answer.headers);
        assert_eq!(answer.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    }

    let mut get = request(Method::GET, "/api/health", None, None);
    get.headers_mut().insert(header::ORIGIN, "https://app.example.com".parse().unwrap());
    let r = send(&app, get).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://app.example.com");
    let exposed = r.headers[header::ACCESS_CONTROL_EXPOSE_HEADERS].to_str().unwrap().to_string();
    for name in ["etag", "location", "retry-after", "idempotency-replayed", "x-request-id"] {
        assert!(exposed.contains(name), "{name} not in {exposed}");
    }

    let without = nexus_meta::router(MetaState::from_core(&testing::state(pool)));
    let none = send(&without, preflight("https://app.example.com")).await;
    assert!(none.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
}

/// The built binary, started as Lambda starts it, answers its event from the test kit's table
/// through the Runtime API.
#[sqlx::test(migrations = false)]
async fn the_built_function_answers_through_the_lambda_runtime_api(pool: sqlx::PgPool) {
    nexus_testkit::built::the_built_function_answers(env!("CARGO_BIN_EXE_meta"), pool).await;
}

/// No signing key to read, and none fetched: only the database secret is asked for.
#[tokio::test]
async fn meta_starts_without_a_signing_key_and_without_cors() {
    assert_eq!(MetaState::SECRETS, &[SecretVar::DatabaseUrl]);
    let env = Env::from_pairs([
        ("DATABASE_URL", "postgres://nexus@localhost/nexus"),
        ("NEXUS_CORS_ORIGIN", "https://app.example.com"),
    ]);
    let state = MetaState::from_env(&env).await.expect("the database alone is enough");
    assert!(state.http.cors_origin.is_none());
    let missing = MetaState::from_env(&Env::default()).await;
    assert!(matches!(missing, Err(ConfigError::Missing("DATABASE_URL"))));
}
