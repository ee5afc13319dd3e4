//! CORS: the one web origin that may call the API from a browser, and what its pages may send
//! and read. One list, served by the functions (the local runner, and any client that reaches a
//! function directly) and by API Gateway, whose `CorsConfiguration` in `template.yaml` replaces
//! the functions' CORS headers in AWS: a test holds the template to these lists.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::auth::extractor::REQUEST_ID_HEADER;
use crate::idempotency;

pub const ALLOW_METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];

/// What the web app sends: the token, JSON, the ETag it updates against, a retry's key, the dry
/// run an import applies.
pub const ALLOW_HEADERS: [&str; 6] =
    ["authorization", "content-type", "if-match", "if-none-match", idempotency::HEADER, "x-import-checksum"];

/// What the web app's code may read: the ETag for If-Match, a created row's address, how long to
/// wait after a 429, whether an answer is a replay, and the request id to quote in a report.
pub const EXPOSE_HEADERS: [&str; 5] = ["etag", "location", "retry-after", idempotency::REPLAYED, REQUEST_ID_HEADER];

/// How long a browser may reuse a preflight's answer, in seconds.
pub const MAX_AGE_SECS: u64 = 600;

/// CORS for exactly `origin` (`scheme://host[:port]`).
pub fn layer(origin: HeaderValue) -> CorsLayer {
    let names = |list: &[&'static str]| list.iter().map(|h| HeaderName::from_static(h)).collect::<Vec<_>>();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list([origin]))
        .allow_methods(ALLOW_METHODS.map(|m| Method::from_bytes(m.as_bytes()).expect("a method")))
        .allow_headers(names(&ALLOW_HEADERS))
        .expose_headers(names(&EXPOSE_HEADERS))
        .max_age(std::time::Duration::from_secs(MAX_AGE_SECS))
}

/// Another origin gets no CORS header at all, its preflight included (the CORS layer would still
/// list the allowed methods and headers to it): the browser refuses, and nothing about the API's
/// surface is told to a page that may not use it.
pub async fn nothing_for_other_origins(allowed: HeaderValue, request: Request, next: Next) -> Response {
    let foreign = request.headers().get(header::ORIGIN).is_some_and(|origin| *origin != allowed);
    let mut response = next.run(request).await;
    if foreign {
        let cors: Vec<HeaderName> =
            response.headers().keys().filter(|name| name.as_str().starts_with("access-control-")).cloned().collect();
        for name in cors {
            response.headers_mut().remove(name);
        }
    }
    response
}
