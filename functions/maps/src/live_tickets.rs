//! `GET /api/maps/live-tickets`: the unfinished tickets at located sites, as markers or, with
//! `cluster=true&zoom=`, grid clusters carrying a count and the worst SLA state.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::body::Bytes;
use axum::response::Response;
use chrono::{DateTime, Utc};
use nexus_shared::sla::SlaState;
use nexus_shared::ticket::{Priority, TicketFilter, TicketQuery, TicketStatus, TicketType, Visibility};
use nexus_shared::{ApiError, ApiResult, AppState};
use serde::Serialize;
use sqlx::{FromRow, Postgres, QueryBuilder};
use utoipa::ToSchema;

use crate::bbox::{Bbox, EXTENT};
use crate::bounded::{self, Frame, MAX_FEATURES};
use crate::geojson::{Feature, FeatureCollection};
use crate::query::{MapQuery, View};
use crate::response::{MapRequest, to_json};
use crate::severity::{self, SEVERITY_SQL};

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
pub(crate) struct CellRow {
    pub longitude: f64,
    pub latitude: f64,
    pub point_count: i64,
    pub severity: i32,
    /// The cell's ticket when it holds one.
    pub first_id: i64,
}

/// `WITH clock AS (SELECT now) SELECT … FROM clock, tickets t JOIN locations l …` with the viewport
/// and the filters applied; `select` names the columns.
fn tickets_query(
    select: &str,
    now: DateTime<Utc>,
    view: &View,
    filter: &TicketFilter,
    visibility: Visibility,
) -> ApiResult<QueryBuilder<Postgres>> {
    let (active, started) = (&*crate::ACTIVE, crate::STARTED);
    let mut qb = QueryBuilder::new("WITH clock AS (SELECT ");
    qb.push_bind(now);
    qb.push(format_args!(
        "::timestamptz AS now) SELECT {select} FROM clock, tickets t JOIN locations l ON l.id = t.location_id
         WHERE t.status IN {active} AND {started} AND l.latitude IS NOT NULL"
    ));
    if let Some(bbox) = view.bbox {
        bbox.push(&mut qb);
    }
    filter.push(&mut qb, visibility);
    Ok(qb)
}

/// Active tickets (open … resolved) at located sites, as GeoJSON for a live map; a PM generated
/// ahead of its date appears once its `scheduled_for` has passed. With `cluster=true&zoom=`
/// nearby tickets become grid clusters with a count and the worst SLA state; a cell that holds
/// one ticket is that ticket's marker.
#[utoipa::path(get, path = "/api/maps/live-tickets", tag = "maps", security(("bearer" = [])),
    params(MapQuery, TicketQuery),
    responses((status = 200, description = "RFC 7946 FeatureCollection", body = FeatureCollection<TicketProperties>,
               content_type = "application/geo+json", headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Unchanged since the ETag sent in If-None-Match")))]
pub async fn live_tickets(request: MapRequest) -> ApiResult<Response> {
    request.answer(live_tickets_body).await
}

async fn live_tickets_body(
    state: AppState,
    view: View,
    tickets: TicketQuery,
    visibility: Visibility,
) -> ApiResult<Bytes> {
    let now = Utc::now();
    let filter = tickets.parse()?;
    let features: Vec<Feature<TicketProperties>> = match view.cell {
        // Every operations screen's view: from the per-site counts, not every active ticket.
        Some(cell) if visibility == Visibility::All && filter.is_empty() => {
            let cells = crate::national::cells(&state, now, &view, cell).await?;
            cells_to_features(&state, now, cells).await?
        }
        Some(cell) => {
            let select = format!(
                "floor(l.longitude / {cell}) AS cx, floor(l.latitude / {cell}) AS cy, avg(l.longitude) AS longitude,
                 avg(l.latitude) AS latitude, count(*) AS point_count, max({SEVERITY_SQL}) AS severity,
                 min(t.id) AS first_id"
            );
            let mut qb = tickets_query(&select, now, &view, &filter, visibility)?;
            qb.push(" GROUP BY cx, cy ORDER BY cx, cy");
            let cells: Vec<CellRow> = qb.build_query_as().fetch_all(state.read_pool()).await?;
            cells_to_features(&state, now, cells).await?
        }
        None => {
            let mut qb = tickets_query(&MARKER, now, &view, &filter, visibility)?;
            qb.push(" ORDER BY t.id LIMIT ").push_bind(MAX_FEATURES + 1);
            let rows: Vec<TicketRow> = qb.build_query_as().fetch_all(state.read_pool()).await?;
            if rows.len() as i64 > MAX_FEATURES {
                return Err(too_many(&state, now, &view, &filter, visibility).await?);
            }
            let markers: Vec<_> = rows.into_iter().map(|r| marker(r, now)).collect();
            return bounded::collection(&markers, view.bbox.as_ref().map(Frame::of), "tickets");
        }
    };
    to_json(&FeatureCollection::new(features))
}

/// The 422 for a view of more markers than can fit: the viewport's frame (the tickets' own
/// without a bbox) and the markers nearest its centre say which smaller viewport fits.
async fn too_many(
    state: &AppState,
    now: DateTime<Utc>,
    view: &View,
    filter: &TicketFilter,
    visibility: Visibility,
) -> ApiResult<ApiError> {
    let frame = match &view.bbox {
        Some(bbox) => Frame::of(bbox),
        None => {
            let mut qb = tickets_query(EXTENT, now, view, filter, visibility)?;
            Frame::of(&qb.build_query_as::<Bbox>().fetch_one(state.read_pool()).await?)
        }
    };
    let mut qb = tickets_query(&MARKER, now, view, filter, visibility)?;
    qb.push(format_args!(" ORDER BY {}, t.id LIMIT ", frame.distance_sql())).push_bind(MAX_FEATURES);
    let rows: Vec<TicketRow> = qb.build_query_as().fetch_all(state.read_pool()).await?;
    let nearest: Vec<_> = rows.into_iter().map(|r| marker(r, now)).collect();
    bounded::too_many(&nearest, frame, "tickets")
}

/// The features of `cells`: a cell of one ticket is that ticket's marker (the document promises
/// a marker or a real cluster), any other a cluster.
async fn cells_to_features(
    state: &AppState,
    now: DateTime<Utc>,
    cells: Vec<CellRow>,
) -> ApiResult<Vec<Feature<TicketProperties>>> {
    let singles: Vec<i64> = cells.iter().filter(|c| c.point_count == 1).map(|c| c.first_id).collect();
    let mut markers: HashMap<i64, TicketRow> = HashMap::new();
    if !singles.is_empty() {
        let mut qb = QueryBuilder::new("WITH clock AS (SELECT ");
        qb.push_bind(now);
        qb.push(format_args!(
            "::timestamptz AS now) SELECT {} FROM clock, tickets t JOIN locations l ON l.id = t.location_id
             WHERE t.id = ANY(",
            *MARKER
        ));
        qb.push_bind(&singles).push(")");
        let rows: Vec<TicketRow> = qb.build_query_as().fetch_all(state.read_pool()).await?;
        markers = rows.into_iter().map(|r| (r.id, r)).collect();
    }
    Ok(cells
        .into_iter()
        .map(|c| match markers.remove(&c.first_id).filter(|_| c.point_count == 1) {
            Some(row) => marker(row, now),
            None => {
                let props =
                    Cluster { cluster: true, point_count: c.point_count, sla_state: severity::state(c.severity) };
                Feature::point(c.longitude, c.latitude, TicketProperties::Cluster(props))
            }
        })
        .collect())
}

/// The columns of one ticket's marker (the query's `clock` gives `now` to the severity).
static MARKER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "t.id, t.number, t.status, t.priority, t.ticket_type, l.code, l.name, l.longitude, l.latitude,
         {SEVERITY_SQL} AS severity, t.resolution_due_at,
         CASE WHEN t.responded_at IS NULL THEN t.response_due_at
              WHEN t.resolved_at IS NULL THEN t.resolution_due_at END AS next_due"
    )
});

fn marker(r: TicketRow, now: DateTime<Utc>) -> Feature<TicketProperties> {
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
}
