//! Test helpers for the functions' tests (feature `testing`): state over a `#[sqlx::test]` pool,
//! users with ready tokens, HTTP exchanges with `oneshot`, and real API Gateway v2 events.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use sqlx::PgPool;
use tower::ServiceExt;

use crate::auth::Role;
use crate::auth::session;
use crate::config::{Config, DatabaseSettings, JwtSettings, LoginThrottle, PasswordHashing};
use crate::lambda_emulator::LambdaProcess;
pub use crate::lambda_emulator::api_gateway_v2_event as apigw_v2_event_json;
use crate::secret::Secret;
use crate::state::AppState;

pub const TEST_PASSWORD: &str = "correct-horse-battery-staple";

/// Configuration for tests: weak password hashing (fast), a fixed JWT key.
pub fn config() -> Config {
    Config {
        database: DatabaseSettings {
            url: Secret::new(String::new()),
            max_connections: 5,
            acquire_timeout: Duration::from_secs(5),
            ssl_mode: None,
        },
        jwt: JwtSettings {
            secret: Secret::new(b"test-signing-key-of-at-least-32-bytes".to_vec()),
            issuer: "nexus".into(),
            audience: "nexus-api".into(),
            access_ttl: Duration::from_secs(900),
            refresh_ttl: Duration::from_secs(3600),
        },
        password_hashing: PasswordHashing::FAST_INSECURE_FOR_TESTS,
        login_throttle: LoginThrottle::default(),
        // Tests change data and look again at once: no view may be served from a cache.
        map_cache_ttl: Duration::ZERO,
        cors_origin: None,
    }
}

pub fn state(pool: PgPool) -> AppState {
    AppState::new(config(), pool)
}

/// A user in the database with a live session and its access token.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: i64,
    pub email: String,
    pub token: String,
}

/// Creates an active user holding `roles` (password [`TEST_PASSWORD`]) and signs them in.
pub async fn user(state: &AppState, email: &str, roles: &[Role]) -> TestUser {
    let hash = state.passwords.hash(Secret::new(TEST_PASSWORD.into())).await.expect("hash");
    let mut tx = state.pool.begin().await.expect("begin");
    let id = crate::user::ensure(&mut tx, email, None, &hash, roles).await.expect("insert user");
    let refresh = session::open(&mut tx, id, chrono::Utc::now() + chrono::Duration::hours(1)).await.expect("session");
    tx.commit().await.expect("commit");
    let token = state.tokens.issue_access(id, refresh.session_id).expect("token");
    TestUser { id, email: email.into(), token }
}

/// One user per role plus `None` for anonymous: the five callers every endpoint is checked for.
pub async fn everyone(state: &AppState) -> Vec<(&'static str, Option<TestUser>)> {
    let mut callers = vec![("anonymous", None)];
    for &role in Role::ALL {
        let u = user(state, &format!("{}@test.example", role.as_str()), &[role]).await;
        callers.push((role.as_str(), Some(u)));
    }
    callers
}

/// What came back: status, headers and the body parsed as JSON (`Null` when empty).
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl TestResponse {
    pub fn content_type(&self) -> &str {
        self.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

/// Builds a request; `body` is sent as JSON when given.
pub fn request(method: Method, uri: &str, token: Option<&str>, body: Option<Value>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    match body {
        Some(body) => builder.header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_string())),
        None => builder.body(Body::empty()),
    }
    .expect("request")
}

pub async fn send(router: &Router, request: Request<Body>) -> TestResponse {
    let response = router.clone().oneshot(request).await.expect("infallible");
    read(response).await
}

async fn read(response: axum::response::Response) -> TestResponse {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    TestResponse { status, headers, body }
}

pub async fn get(router: &Router, uri: &str, user: &TestUser) -> TestResponse {
    send(router, request(Method::GET, uri, Some(&user.token), None)).await
}

pub async fn post(router: &Router, uri: &str, user: &TestUser, body: Value) -> TestResponse {
    send(router, request(Method::POST, uri, Some(&user.token), Some(body))).await
}

pub async fn put(router: &Router, uri: &str, user: &TestUser, body: Value) -> TestResponse {
    send(router, request(Method::PUT, uri, Some(&user.token), Some(body))).await
}

pub async fn delete(router: &Router, uri: &str, user: &TestUser) -> TestResponse {
    send(router, request(Method::DELETE, uri, Some(&user.token), None)).await
}

/// An API Gateway HTTP API (v2) event, from the fixture shipped in `shared/fixtures`, turned
/// into a request by `lambda_http` exactly as the Lambda runtime does.
pub fn apigw_v2_event(
    method: &str,
    path: &str,
    query: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> lambda_http::Request {
    let event = crate::lambda_emulator::api_gateway_v2_event(method, path, query, token, body);
    lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway v2 event")
}

/// What a deployed function is given, pointed at this test's database (and at the
/// S3/Secrets Manager server `scripts/test` starts, for the variables that are set).
pub fn lambda_env(pool: &PgPool) -> Vec<(&'static str, String)> {
    let options = pool.connect_options();
    let url = format!(
        "postgres://{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("postgres")
    );
    let secret = String::from_utf8(config().jwt.secret.expose().clone()).expect("an ASCII test key");
    let mut env = vec![("DATABASE_URL", url), ("NEXUS_JWT_SECRET", secret), ("RUST_LOG", "info".into())];
    for name in
        ["AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "NEXUS_S3_FORCE_PATH_STYLE"]
    {
        if let Ok(value) = std::env::var(name) {
            env.push((name, value));
        }
    }
    env
}

/// Starts a built function binary (`env!("CARGO_BIN_EXE_<name>")`) against a loopback Lambda
/// Runtime API, configured by [`lambda_env`] plus `extra`.
pub async fn start_lambda(binary: &str, pool: &PgPool, extra: &[(&'static str, String)]) -> LambdaProcess {
    let mut env = lambda_env(pool);
    env.extend(extra.iter().cloned());
    let name = std::path::Path::new(binary).file_name().and_then(|n| n.to_str()).unwrap_or("function").to_string();
    LambdaProcess::start(std::path::Path::new(binary), &name, &env).await.expect("spawn the function binary")
}

/// Sends an API Gateway v2 event through a running function and reads API Gateway's answer.
pub async fn invoke_http(process: &mut LambdaProcess, event: Value) -> TestResponse {
    let answer = process.invoke(&event, Duration::from_secs(30)).await.unwrap_or_else(|e| panic!("{e}"));
    api_gateway_response(&answer)
}

/// An API Gateway v2 (payload 2.0) response document as status, headers and JSON body.
pub fn api_gateway_response(answer: &Value) -> TestResponse {
    let status = answer["statusCode"].as_u64().and_then(|s| StatusCode::from_u16(s as u16).ok()).expect("statusCode");
    let mut headers = HeaderMap::new();
    for (name, value) in answer["headers"].as_object().into_iter().flatten() {
        if let (Ok(name), Some(Ok(value))) =
            (axum::http::HeaderName::from_bytes(name.as_bytes()), value.as_str().map(axum::http::HeaderValue::from_str))
        {
            headers.insert(name, value);
        }
    }
    let raw = answer["body"].as_str().unwrap_or_default();
    let bytes = if answer["isBase64Encoded"] == true {
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, raw).expect("base64 body")
    } else {
        raw.as_bytes().to_vec()
    };
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    TestResponse { status, headers, body }
}

/// Sends an API Gateway event through the router, as `lambda_http::run` would.
pub async fn send_event(router: &Router, event: lambda_http::Request) -> TestResponse {
    let response = router.clone().oneshot(event).await.expect("infallible");
    read(response).await
}

/// A location with one asset, for tests that need somewhere to open tickets.
#[derive(Debug, Clone, Copy)]
pub struct Site {
    pub location_id: i64,
    pub asset_id: i64,
}

/// Creates location `code` in `timezone` with one asset tagged `ATM-<code>`.
pub async fn site(pool: &PgPool, code: &str, timezone: &str) -> Site {
    let location_id: i64 =
        sqlx::query_scalar("INSERT INTO locations (code, name, timezone) VALUES ($1, $1, $2) RETURNING id")
            .bind(code)
            .bind(timezone)
            .fetch_one(pool)
            .await
            .expect("insert location");
    let asset_id: i64 =
        sqlx::query_scalar("INSERT INTO assets (location_id, tag, name) VALUES ($1, $2, 'ATM') RETURNING id")
            .bind(location_id)
            .bind(format!("ATM-{code}"))
            .fetch_one(pool)
            .await
            .expect("insert asset");
    Site { location_id, asset_id }
}
