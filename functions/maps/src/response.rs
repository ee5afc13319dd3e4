//! The shape both maps share: what they are asked ([`MapRequest`]: who asks, the viewport, the
//! ticket filters) and what they answer — a GeoJSON body from the view cache (identical views
//! share one computation for the configured seconds), a content ETag so an unchanged view costs
//! a bodiless 304, and `Cache-Control` whose `max-age` is that same number of seconds.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use nexus_shared::auth::{AnyRole, Auth};
use nexus_shared::extract::Query;
use nexus_shared::ticket::{TicketQuery, Visibility};
use nexus_shared::{ApiError, ApiResult, AppState};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::query::{MapQuery, View};
use crate::state::MapsState;
use crate::view_cache::ViewCache;

/// A map request, extracted in the order a client's mistakes are reported: the token, then the
/// map's parameters, then the ticket filters.
pub struct MapRequest {
    core: AppState,
    views: Views,
    visibility: Visibility,
    view: View,
    tickets: TicketQuery,
    uri: Uri,
    headers: HeaderMap,
}

impl FromRequestParts<MapsState> for MapRequest {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &MapsState) -> Result<Self, ApiError> {
        let caller = Auth::<AnyRole>::from_request_parts(parts, state).await?;
        let Query(map) = Query::<MapQuery>::from_request_parts(parts, state).await?;
        let Query(tickets) = Query::<TicketQuery>::from_request_parts(parts, state).await?;
        Ok(Self {
            core: state.core.clone(),
            views: state.views.clone(),
            visibility: Visibility::of(&caller),
            view: map.parse()?,
            tickets,
            uri: parts.uri.clone(),
            headers: parts.headers.clone(),
        })
    }
}

impl MapRequest {
    /// The view from the cache, or `body`'s computation of it (then cached), as GeoJSON.
    pub async fn answer<F, Fut>(self, body: F) -> ApiResult<Response>
    where
        F: FnOnce(AppState, View, TicketQuery, Visibility) -> Fut,
        Fut: Future<Output = ApiResult<Bytes>>,
    {
        let Self { core, views, visibility, view, tickets, uri, headers } = self;
        views.serve(visibility, &uri, &headers, || body(core, view, tickets, visibility)).await
    }
}

/// The router's view cache and how long a view is shared (and may be kept by the browser).
#[derive(Clone)]
pub struct Views {
    cache: Arc<ViewCache>,
    ttl: Duration,
}

impl Views {
    /// One cache per router: per Lambda instance, and per test.
    pub fn new(ttl: Duration) -> Self {
        Self { cache: Arc::default(), ttl }
    }

    /// The view `uri` asks for as `visibility` may see it: cached, or `compute`d (then cached).
    pub async fn serve<F, Fut>(
        &self,
        visibility: Visibility,
        uri: &Uri,
        headers: &HeaderMap,
        compute: F,
    ) -> ApiResult<Response>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ApiResult<Bytes>>,
    {
        // Who may see what, and exactly what was asked.
        let key = format!("{visibility:?} {uri}");
        let body = self.cache.get_or_compute(key, self.ttl, compute).await?;
        self.geojson(headers, body)
    }

    /// A map polled every few seconds: private (per caller), revalidated once the view may have
    /// changed, 304 when the caller's ETag is current.
    fn geojson(&self, headers: &HeaderMap, bytes: Bytes) -> ApiResult<Response> {
        let digest = Sha256::digest(&bytes);
        let etag = format!("\"{}\"", digest.iter().take(16).map(|b| format!("{b:02x}")).collect::<String>());
        let cache = HeaderValue::from_str(&format!("private, max-age={}, must-revalidate", self.ttl.as_secs()))
            .map_err(ApiError::internal)?;
        let etag_value = HeaderValue::from_str(&etag).map_err(ApiError::internal)?;
        let unchanged = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim().trim_start_matches("W/") == etag));
        if unchanged {
            return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag_value), (header::CACHE_CONTROL, cache)])
                .into_response());
        }
        let content_type = HeaderValue::from_static("application/geo+json");
        Ok(([(header::CONTENT_TYPE, content_type), (header::ETAG, etag_value), (header::CACHE_CONTROL, cache)], bytes)
            .into_response())
    }
}

pub fn to_json<T: Serialize>(body: &T) -> ApiResult<Bytes> {
    serde_json::to_vec(body).map(Bytes::from).map_err(ApiError::internal)
}
