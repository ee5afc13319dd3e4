//! One HTTP exchange with a router, as a test reads it: status, headers, JSON body.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use crate::state::TestUser;

/// What came back: status, headers and the body parsed as JSON (`Null` when empty).
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl TestResponse {
    /// The body as JSON; `Null` when empty, a string when it is not JSON.
    pub fn new(status: StatusCode, headers: HeaderMap, bytes: &[u8]) -> Self {
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into()))
        };
        Self { status, headers, body }
    }

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

/// Status, headers and the body's bytes as sent (compressed or not).
pub async fn send_raw(router: &Router, request: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
    let response = router.clone().oneshot(request).await.expect("infallible");
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.into_body().collect().await.expect("body").to_bytes().to_vec())
}

/// The bytes a gzip body stands for.
pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut plain).expect("a gzip stream");
    plain
}

async fn read(response: axum::response::Response) -> TestResponse {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    TestResponse::new(status, headers, &bytes)
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

/// An API Gateway HTTP API (v2) event (see [`crate::lambda::api_gateway_v2_event`]), turned
/// into a request by `lambda_http` exactly as the Lambda runtime does.
pub fn apigw_v2_event(
    method: &str,
    path: &str,
    query: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> lambda_http::Request {
    let event = crate::lambda::api_gateway_v2_event(method, path, query, token, body);
    lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway v2 event")
}

/// What `lambda_http::run` posts to the Runtime API for `event` (an API Gateway v2 event as
/// JSON): the router's answer converted exactly as in Lambda, through `lambda_http`'s own
/// adapter — a body with `Content-Encoding` (or not text) is base64 with `isBase64Encoded: true`.
/// Lambda's 6 MB limit applies to this document serialised.
pub async fn lambda_answer(router: &Router, event: Value) -> Value {
    use lambda_http::request::LambdaRequest;
    use lambda_http::{Adapter, Context, LambdaEvent, Service};
    let request: LambdaRequest = serde_json::from_value(event).expect("an API Gateway v2 event");
    let mut adapter = Adapter::from(router.clone());
    let answer = adapter.call(LambdaEvent::new(request, Context::default())).await.expect("infallible");
    serde_json::to_value(answer).expect("the runtime serialises the answer")
}

/// The body of a [`lambda_answer`] as API Gateway sends it on (base64 decoded).
pub fn lambda_body(answer: &Value) -> Vec<u8> {
    let raw = answer["body"].as_str().unwrap_or_default();
    if answer["isBase64Encoded"] == true {
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, raw).expect("base64 body")
    } else {
        raw.as_bytes().to_vec()
    }
}

/// Sends an API Gateway event through the router, as `lambda_http::run` would.
pub async fn send_event(router: &Router, event: lambda_http::Request) -> TestResponse {
    let response = router.clone().oneshot(event).await.expect("infallible");
    read(response).await
}
