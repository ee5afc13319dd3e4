//! The layers every router is served behind, in Lambda and in the local runner alike.

use std::any::Any;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::{HeaderName, HeaderValue, Request, Response, header};
use axum::response::IntoResponse;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::extractor::REQUEST_ID_HEADER;
use crate::config::HttpSettings;
use crate::error::ApiError;

/// Request bodies above this are refused with 413.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Headers every response carries (unless the handler set its own, as the maps' caching does):
/// nothing is sniffed, framed, cached by default, leaks a referrer or is fetched over plain HTTP;
/// a JSON API has no page a browser should render, so no content source is allowed at all.
pub const SECURITY_HEADERS: [(HeaderName, &str); 6] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::CONTENT_SECURITY_POLICY, "default-src 'none'; frame-ancestors 'none'"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::STRICT_TRANSPORT_SECURITY, "max-age=63072000; includeSubDomains"),
    (header::CACHE_CONTROL, "no-store"),
];

/// Turns a function's routes into the service Lambda serves: its state and [`layers`].
pub fn serve<S>(routes: OpenApiRouter<S>, state: S) -> Router
where
    S: Clone + Send + Sync + 'static,
    HttpSettings: FromRef<S>,
{
    let http = HttpSettings::from_ref(&state);
    layers(Router::from(routes).with_state(state), &http)
}

/// What every router is served behind (the local runner puts all of them behind it at once): a
/// body limit, problem+json for unknown routes and methods, panics answered as 500 instead of a
/// dropped connection, CORS, and on every response — preflights and CORS refusals included — a
/// request id, the security headers and gzip when it pays ([`crate::compression`]).
pub fn layers(router: Router, http: &HttpSettings) -> Router {
    let request_id = HeaderName::from_static(REQUEST_ID_HEADER);
    let router = router
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(
            ServiceBuilder::new()
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                .layer(CatchPanicLayer::custom(panic_response))
                .layer(DefaultBodyLimit::max(BODY_LIMIT)),
        );
    // Around the routes, so a preflight is answered before routing (no 405 for OPTIONS).
    // (The origin was checked to be one `scheme://host[:port]` when the settings were read.)
    let router =
        match http.cors_origin.as_deref().map(HeaderValue::from_str) {
            Some(Ok(allowed)) => router.layer(crate::cors::layer(allowed.clone())).layer(axum::middleware::from_fn(
                move |request, next| crate::cors::nothing_for_other_origins(allowed.clone(), request, next),
            )),
            _ => router,
        };
    // Outermost: whatever answers, CORS included, carries them.
    router.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
            .layer(PropagateRequestIdLayer::new(request_id))
            .layer(axum::middleware::map_response(add_security_headers))
            .layer(axum::middleware::from_fn(crate::compression::etag_variants))
            .layer(crate::compression::layer()),
    )
}

/// Adds each of [`SECURITY_HEADERS`] the response does not already carry.
async fn add_security_headers<B>(mut response: Response<B>) -> Response<B> {
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    }
    response
}

fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let request_id = request.headers().get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    // The path only: query strings and headers may carry things that do not belong in logs.
    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
}

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<axum::body::Body> {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("non-string panic");
    ApiError::internal(format!("handler panicked: {message}")).into_response()
}
