use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use nexus_shared::auth::Auth;
use nexus_shared::extract::Query;
use nexus_shared::sla::SlaState;
use nexus_shared::ticket::{Priority, TicketQuery, TicketStatus, TicketType, Visibility};
use nexus_shared::{ApiError, ApiResult, AppState};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{FromRow, Postgres, QueryBuilder};
use utoipa::ToSchema;

use crate::geojson::{Feature, FeatureCollection};
use crate::query::{MapQuery, View};
use crate::severity::{self, SEVERITY_SQL};
use crate::view_cache::ViewCache;

/// More points than this unclustered is a request for clustering.
const MAX_POINTS: i64 = 10_000;

const ACTIVE: &str = "('open', 'assigned', 'in_progress', 'on_hold', 'resolved')";

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketMarker {
    pub id: i64,
    pub number: String,
    pub status: TicketStatus,
    pub priority: Priority,
    pub ticket_type: TicketType,
    pub location_code: String,
    pub location_name: String,
    /// The worse of the response and resolution clocks: colour the marker by it.
    pub sla_state: SlaState,
    pub resolution_due_at: DateTime<Utc>,
    /// Minutes until the next unmet deadline (response, then resolution); negative once past;
    /// null when both are met.
    pub minutes_to_breach: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Cluster {
    /// Always true: this feature stands for `point_count` points.
    pub cluster: bool,
    pub point_count: i64,
    /// The worst SLA state inside.
    pub sla_state: SlaState,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum TicketProperties {
    Ticket(TicketMarker),
    Cluster(Cluster),
}

#[derive(FromRow)]
struct TicketRow {
    id: i64,
    number: String,
    #[sqlx(try_from = "String")]
    status: TicketStatus,
    #[sqlx(try_from = "String")]
    priority: Priority,
    #[sqlx(try_from = "String")]
    ticket_type: TicketType,
    code: String,
    name: String,
    longitude: f64,
    latitude: f64,
    severity: i32,
    resolution_due_at: DateTime<Utc>,
    next_due: Option<DateTime<Utc>>,
}

#[derive(FromRow)]
struct CellRow {
    longitude: f64,
    latitude: f64,
    point_count: i64,
    severity: i32,
}

/// `WITH clock AS (SELECT now) SELECT … FROM clock, tickets t JOIN locations l …` with the viewport
/// and the filters applied; `select` names the columns.
fn tickets_query(
    select: &str,
    view: &View,
    query: TicketQuery,
    visibility: Visibility,
) -> ApiResult<QueryBuilder<Postgres>> {
    let filter = query.parse()?;
    let mut qb = QueryBuilder::new("WITH clock AS (SELECT ");
    qb.push_bind(Utc::now());
    qb.push(format_args!(
        "::timestamptz AS now) SELECT {select} FROM clock, tickets t JOIN locations l ON l.id = t.location_id
         WHERE t.status IN {ACTIVE} AND l.latitude IS NOT NULL"
    ));
    if let Some(bbox) = view.bbox {
        bbox.push(&mut qb);
    }
    filter.push(&mut qb, visibility);
    Ok(qb)
}

/// Active tickets (open … resolved) at located sites, as GeoJSON for a live map. With
/// `cluster=true&zoom=` nearby tickets become grid clusters with a count and the worst SLA state.
#[utoipa::path(get, path = "/api/maps/live-tickets", tag = "maps", security(("bearer" = [])),
    params(MapQuery, TicketQuery),
    responses((status = 200, description = "RFC 7946 FeatureCollection", body = FeatureCollection<TicketProperties>,
               content_type = "application/geo+json", headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Unchanged since the ETag sent in If-None-Match")))]
pub async fn live_tickets(
    State(state): State<AppState>,
    Extension(views): Extension<Arc<ViewCache>>,
    caller: Auth,
    headers: HeaderMap,
    uri: Uri,
    Query(map): Query<MapQuery>,
    Query(tickets): Query<TicketQuery>,
) -> ApiResult<Response> {
    let view = map.parse()?;
    let visibility = Visibility::of(&caller);
    let ttl = state.config.map_cache_ttl;
    let body =
        views.get_or_compute(cache_key(visibility, &uri), ttl, || live_tickets_body(&state, view, tickets, visibility));
    geojson_response(&headers, body.await?)
}

async fn live_tickets_body(
    state: &AppState,
    view: View,
    tickets: TicketQuery,
    visibility: Visibility,
) -> ApiResult<Bytes> {
    let features: Vec<Feature<TicketProperties>> = match view.cell {
        Some(cell) => {
            let select = format!(
                "floor(l.longitude / {cell}) AS cx, floor(l.latitude / {cell}) AS cy, avg(l.longitude) AS longitude,
                 avg(l.latitude) AS latitude, count(*) AS point_count, max({SEVERITY_SQL}) AS severity"
            );
            let mut qb = tickets_query(&select, &view, tickets, visibility)?;
            qb.push(" GROUP BY cx, cy ORDER BY cx, cy");
            let cells: Vec<CellRow> = qb.build_query_as().fetch_all(&state.pool).await?;
            cells
                .into_iter()
                .map(|c| {
                    let props =
                        Cluster { cluster: true, point_count: c.point_count, sla_state: severity::state(c.severity) };
                    Feature::point(c.longitude, c.latitude, TicketProperties::Cluster(props))
                })
                .collect()
        }
        None => {
            let select = format!(
                "t.id, t.number, t.status, t.priority, t.ticket_type, l.code, l.name, l.longitude, l.latitude,
                 {SEVERITY_SQL} AS severity, t.resolution_due_at,
                 CASE WHEN t.responded_at IS NULL THEN t.response_due_at
                      WHEN t.resolved_at IS NULL THEN t.resolution_due_at END AS next_due"
            );
            let mut qb = tickets_query(&select, &view, tickets, visibility)?;
            qb.push(" ORDER BY t.id LIMIT ").push_bind(MAX_POINTS + 1);
            let rows: Vec<TicketRow> = qb.build_query_as().fetch_all(&state.pool).await?;
            if rows.len() as i64 > MAX_POINTS {
                return Err(ApiError::validation(
                    "bbox",
                    format!("more than {MAX_POINTS} tickets in view: zoom in, filter, or ask for cluster=true"),
                ));
            }
            let now = Utc::now();
            rows.into_iter()
                .map(|r| {
                    let marker = TicketMarker {
                        id: r.id,
                        number: r.number,
                        status: r.status,
                        priority: r.priority,
                        ticket_type: r.ticket_type,
                        location_code: r.code,
                        location_name: r.name,
                        sla_state: severity::state(r.severity),
                        resolution_due_at: r.resolution_due_at,
                        minutes_to_breach: r.next_due.map(|due| (due - now).num_minutes()),
                    };
                    Feature::point(r.longitude, r.latitude, TicketProperties::Ticket(marker))
                })
                .collect()
        }
    };
    to_json(&FeatureCollection::new(features))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SiteMarker {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub region: Option<String>,
    /// Active tickets at the site (matching the ticket filters, and the caller's own for technicians).
    pub active_ticket_count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SiteCluster {
    pub cluster: bool,
    pub point_count: i64,
    pub active_ticket_count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum SiteProperties {
    Site(SiteMarker),
    Cluster(SiteCluster),
}

#[derive(FromRow)]
struct SiteRow {
    id: i64,
    code: String,
    name: String,
    region: Option<String>,
    longitude: f64,
    latitude: f64,
    active_ticket_count: i64,
}

#[derive(FromRow)]
struct SiteCellRow {
    longitude: f64,
    latitude: f64,
    point_count: i64,
    active_ticket_count: i64,
}

/// Every located site with its count of active tickets, as GeoJSON; clustered like the tickets.
#[utoipa::path(get, path = "/api/maps/locations", tag = "maps", security(("bearer" = [])),
    params(MapQuery, TicketQuery),
    responses((status = 200, description = "RFC 7946 FeatureCollection", body = FeatureCollection<SiteProperties>,
               content_type = "application/geo+json", headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Unchanged since the ETag sent in If-None-Match")))]
pub async fn locations(
    State(state): State<AppState>,
    Extension(views): Extension<Arc<ViewCache>>,
    caller: Auth,
    headers: HeaderMap,
    uri: Uri,
    Query(map): Query<MapQuery>,
    Query(tickets): Query<TicketQuery>,
) -> ApiResult<Response> {
    let view = map.parse()?;
    let visibility = Visibility::of(&caller);
    let ttl = state.config.map_cache_ttl;
    let body =
        views.get_or_compute(cache_key(visibility, &uri), ttl, || locations_body(&state, view, tickets, visibility));
    geojson_response(&headers, body.await?)
}

async fn locations_body(
    state: &AppState,
    view: View,
    tickets: TicketQuery,
    visibility: Visibility,
) -> ApiResult<Bytes> {
    let filter = tickets.parse()?;
    // Active tickets per site, counted once, then joined to the sites in view.
    let mut qb = QueryBuilder::new(format!(
        "WITH counts AS (SELECT t.location_id, count(*) AS n FROM tickets t JOIN locations l ON l.id = t.location_id
         WHERE t.status IN {ACTIVE}"
    ));
    filter.push(&mut qb, visibility);
    qb.push(" GROUP BY t.location_id) SELECT ");
    match view.cell {
        Some(cell) => qb.push(format_args!(
            "floor(l.longitude / {cell}) AS cx, floor(l.latitude / {cell}) AS cy, avg(l.longitude) AS longitude,
             avg(l.latitude) AS latitude, count(*) AS point_count, COALESCE(sum(c.n), 0)::bigint AS active_ticket_count"
        )),
        None => {
            qb.push("l.id, l.code, l.name, l.region, l.longitude, l.latitude, COALESCE(c.n, 0) AS active_ticket_count")
        }
    };
    qb.push(" FROM locations l LEFT JOIN counts c ON c.location_id = l.id WHERE l.latitude IS NOT NULL");
    if let Some(bbox) = view.bbox {
        bbox.push(&mut qb);
    }
    if let Some(region) = &filter.region {
        qb.push(" AND l.region = ").push_bind(region.clone());
    }
    let features: Vec<Feature<SiteProperties>> = match view.cell {
        Some(_) => {
            qb.push(" GROUP BY cx, cy ORDER BY cx, cy");
            let cells: Vec<SiteCellRow> = qb.build_query_as().fetch_all(&state.pool).await?;
            cells
                .into_iter()
                .map(|c| {
                    let props = SiteCluster {
                        cluster: true,
                        point_count: c.point_count,
                        active_ticket_count: c.active_ticket_count,
                    };
                    Feature::point(c.longitude, c.latitude, SiteProperties::Cluster(props))
                })
                .collect()
        }
        None => {
            qb.push(" ORDER BY l.code");
            let rows: Vec<SiteRow> = qb.build_query_as().fetch_all(&state.pool).await?;
            rows.into_iter()
                .map(|r| {
                    let props = SiteMarker {
                        id: r.id,
                        code: r.code,
                        name: r.name,
                        region: r.region,
                        active_ticket_count: r.active_ticket_count,
                    };
                    Feature::point(r.longitude, r.latitude, SiteProperties::Site(props))
                })
                .collect()
        }
    };
    to_json(&FeatureCollection::new(features))
}

/// The cache key of a view: who may see what, and exactly what was asked.
fn cache_key(visibility: Visibility, uri: &Uri) -> String {
    format!("{visibility:?} {uri}")
}

fn to_json<T: Serialize>(body: &T) -> ApiResult<Bytes> {
    serde_json::to_vec(body).map(Bytes::from).map_err(ApiError::internal)
}

/// A map polled every few seconds: a content ETag, so an unchanged view costs a 304 and no
/// body; private (per caller) and to be revalidated after 5 s.
fn geojson_response(headers: &HeaderMap, bytes: Bytes) -> ApiResult<Response> {
    let digest = Sha256::digest(&bytes);
    let etag = format!("\"{}\"", digest.iter().take(16).map(|b| format!("{b:02x}")).collect::<String>());
    let cache = HeaderValue::from_static("private, max-age=5, must-revalidate");
    let etag_value = HeaderValue::from_str(&etag).map_err(ApiError::internal)?;
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().trim_start_matches("W/") == etag));
    if unchanged {
        return Ok(
            (StatusCode::NOT_MODIFIED, [(header::ETAG, etag_value), (header::CACHE_CONTROL, cache)]).into_response()
        );
    }
    let content_type = HeaderValue::from_static("application/geo+json");
    Ok(([(header::CONTENT_TYPE, content_type), (header::ETAG, etag_value), (header::CACHE_CONTROL, cache)], bytes)
        .into_response())
}
