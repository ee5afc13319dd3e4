//! `GET /api/maps/locations`: every located site with its count of active tickets, as markers or
//! grid clusters.

use axum::body::Bytes;
use axum::response::Response;
use nexus_shared::ticket::{TicketFilter, TicketQuery, Visibility};
use nexus_shared::{ApiResult, AppState};
use serde::Serialize;
use sqlx::{FromRow, Postgres, QueryBuilder};
use utoipa::ToSchema;

use crate::bbox::{Bbox, EXTENT};
use crate::bounded::{self, Frame, MAX_FEATURES};
use crate::geojson::{Feature, FeatureCollection};
use crate::query::{MapQuery, View};
use crate::response::{MapRequest, to_json};

#[derive(Debug, Serialize, ToSchema)]
pub struct SiteMarker {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub region: Option<String>,
    /// Active tickets at the site, as the live map counts them (matching the ticket filters, and
    /// the caller's own for technicians).
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
pub async fn locations(request: MapRequest) -> ApiResult<Response> {
    request.answer(locations_body).await
}

async fn locations_body(state: AppState, view: View, tickets: TicketQuery, visibility: Visibility) -> ApiResult<Bytes> {
    let filter = tickets.parse()?;
    let features: Vec<Feature<SiteProperties>> = match view.cell {
        Some(cell) => {
            let mut qb = sites_query(
                &format!(
                    "floor(l.longitude / {cell}) AS cx, floor(l.latitude / {cell}) AS cy, avg(l.longitude) AS longitude,
                     avg(l.latitude) AS latitude, count(*) AS point_count, COALESCE(sum(c.n), 0)::bigint AS active_ticket_count"
                ),
                &view,
                &filter,
                visibility,
            );
            qb.push(" GROUP BY cx, cy ORDER BY cx, cy");
            let cells: Vec<SiteCellRow> = qb.build_query_as().fetch_all(state.read_pool()).await?;
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
            let mut qb = sites_query(SITE, &view, &filter, visibility);
            qb.push(" ORDER BY l.code LIMIT ").push_bind(MAX_FEATURES + 1);
            let rows: Vec<SiteRow> = qb.build_query_as().fetch_all(state.read_pool()).await?;
            if rows.len() as i64 > MAX_FEATURES {
                let frame = match &view.bbox {
                    Some(bbox) => Frame::of(bbox),
                    None => {
                        let mut qb = sites_query(EXTENT, &view, &filter, visibility);
                        Frame::of(&qb.build_query_as::<Bbox>().fetch_one(state.read_pool()).await?)
                    }
                };
                let mut qb = sites_query(SITE, &view, &filter, visibility);
                qb.push(format_args!(" ORDER BY {}, l.id LIMIT ", frame.distance_sql())).push_bind(MAX_FEATURES);
                let rows: Vec<SiteRow> = qb.build_query_as().fetch_all(state.read_pool()).await?;
                let nearest: Vec<_> = rows.into_iter().map(site).collect();
                return Err(bounded::too_many(&nearest, frame, "sites")?);
            }
            let sites: Vec<_> = rows.into_iter().map(site).collect();
            return bounded::collection(&sites, view.bbox.as_ref().map(Frame::of), "sites");
        }
    };
    to_json(&FeatureCollection::new(features))
}

/// One site's marker columns.
const SITE: &str = "l.id, l.code, l.name, l.region, l.longitude, l.latitude, COALESCE(c.n, 0) AS active_ticket_count";

/// `SELECT select FROM locations l LEFT JOIN counts c …`: the located sites in view (and in the
/// filter's region), each with its count of active tickets, as the live map counts them.
fn sites_query(select: &str, view: &View, filter: &TicketFilter, visibility: Visibility) -> QueryBuilder<Postgres> {
    let (active, started) = (&*crate::ACTIVE, crate::STARTED);
    // Active tickets per site (those the live map shows), counted once, then joined to the sites in view.
    let mut qb = QueryBuilder::new(format!(
        "WITH clock AS (SELECT now() AS now), counts AS (SELECT t.location_id, count(*) AS n
         FROM clock, tickets t JOIN locations l ON l.id = t.location_id
         WHERE t.status IN {active} AND {started}"
    ));
    filter.push(&mut qb, visibility);
    qb.push(format_args!(
        " GROUP BY t.location_id) SELECT {select} FROM locations l LEFT JOIN counts c ON c.location_id = l.id
         WHERE l.latitude IS NOT NULL"
    ));
    if let Some(bbox) = view.bbox {
        bbox.push(&mut qb);
    }
    if let Some(region) = &filter.region {
        qb.push(" AND l.region = ").push_bind(region.clone());
    }
    qb
}

fn site(r: SiteRow) -> Feature<SiteProperties> {
    let props = SiteMarker {
        id: r.id,
        code: r.code,
        name: r.name,
        region: r.region,
        active_ticket_count: r.active_ticket_count,
    };
    Feature::point(r.longitude, r.latitude, SiteProperties::Site(props))
}
