//! GPS check-in and check-out at the site (`/api/tickets/{id}/visits`): the assigned
//! technician's position, judged against the site's coordinates and geofence. A check-in inside
//! the geofence is one way to respond: the first one sets `responded_at` to when it happened
//! and moves an `assigned` ticket to `in_progress`. Other results are recorded, never a response.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use nexus_shared::audit::{self, Action, Audited, EntityType};
use nexus_shared::auth::{Auth, AuthUser, Worker};
use nexus_shared::db::Lock;
use nexus_shared::extract::{Json, Path, Query};
use nexus_shared::geo::great_circle_m;
use nexus_shared::idempotency::{self, Idempotency};
use nexus_shared::pagination::{Page, PageParams, SortKey, Sorting};
use nexus_shared::ticket::{TicketStatus, Visibility};
use nexus_shared::validate::Validator;
use nexus_shared::{ApiError, ApiResult, AppState, offline};
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, PgConnection};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::input::TicketUpdate;
use crate::lifecycle;
use crate::store;
use crate::ticket::TicketRow;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, check_in)).routes(routes!(check_out))
}

nexus_shared::text_enum! {
    /// `inside` the site's geofence; `outside` it; `low_accuracy` when the device's accuracy
    /// radius is larger than the geofence (the position proves nothing); `no_site_position` when
    /// the site has no coordinates.
    pub enum VisitResult {
        Inside = "inside",
        Outside = "outside",
        LowAccuracy = "low_accuracy",
        NoSitePosition = "no_site_position",
    }
}

/// Where the device was, and when (for a check-in made offline and synced later).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PositionBody {
    #[schema(minimum = -90, maximum = 90)]
    lat: f64,
    #[schema(minimum = -180, maximum = 180)]
    lng: f64,
    /// The device's accuracy radius in metres.
    #[schema(minimum = 0, maximum = 100000)]
    accuracy_m: f64,
    /// When it happened: at most 72 hours back and 5 minutes ahead; default now.
    occurred_at: Option<DateTime<Utc>>,
}

/// A position that passed the checks, at the instant it was taken.
#[derive(Debug, Clone, Copy)]
struct Position {
    lat: f64,
    lng: f64,
    accuracy_m: f64,
    at: DateTime<Utc>,
}

impl Position {
    fn parse(body: &PositionBody, now: DateTime<Utc>) -> ApiResult<Position> {
        let mut v = Validator::new();
        if !(-90.0..=90.0).contains(&body.lat) {
            v.error("lat", "must be between -90 and 90");
        }
        if !(-180.0..=180.0).contains(&body.lng) {
            v.error("lng", "must be between -180 and 180");
        }
        if !(0.0..=100_000.0).contains(&body.accuracy_m) {
            v.error("accuracy_m", "must be between 0 and 100,000 metres");
        }
        let at = offline::occurred_at("occurred_at", body.occurred_at, now);
        if let Err(ApiError::Validation(errors)) = &at {
            errors.iter().for_each(|e| v.error(&e.field, e.message.clone()));
        }
        if !v.is_valid() {
            return Err(v.into_error());
        }
        Ok(Position { lat: body.lat, lng: body.lng, accuracy_m: body.accuracy_m, at: at? })
    }
}

/// The site a position is judged against.
#[derive(Debug, Clone, Copy, FromRow)]
struct Site {
    latitude: Option<f64>,
    longitude: Option<f64>,
    geofence_m: i32,
}

impl Site {
    async fn of(conn: &mut PgConnection, location_id: i64) -> ApiResult<Site> {
        Ok(sqlx::query_as("SELECT latitude, longitude, geofence_m FROM locations WHERE id = $1")
            .bind(location_id)
            .fetch_one(conn)
            .await?)
    }

    /// The distance to the site (when it has coordinates) and what it makes of the position.
    fn judge(&self, p: &Position) -> (Option<f64>, VisitResult) {
        let (Some(lat), Some(lng)) = (self.latitude, self.longitude) else {
            return (None, VisitResult::NoSitePosition);
        };
        let distance = great_circle_m((p.lat, p.lng), (lat, lng));
        let geofence = f64::from(self.geofence_m);
        let result = if p.accuracy_m > geofence {
            VisitResult::LowAccuracy
        } else if distance <= geofence {
            VisitResult::Inside
        } else {
            VisitResult::Outside
        };
        (Some(distance), result)
    }
}

/// A visit: the check-in and, once made, the check-out.
#[derive(Debug, Clone, Serialize, Deserialize, FromRow, ToSchema)]
pub struct Visit {
    pub id: i64,
    pub ticket_id: i64,
    pub technician_id: i64,
    /// When the check-in happened (the device's `occurred_at`).
    pub checked_in_at: DateTime<Utc>,
    /// When the server received it.
    pub received_at: DateTime<Utc>,
    pub lat: f64,
    pub lng: f64,
    pub accuracy_m: f64,
    /// Great-circle distance to the site in metres; null when the site has no coordinates.
    pub distance_m: Option<f64>,
    #[sqlx(try_from = "String")]
    pub result: VisitResult,
    pub checked_out_at: Option<DateTime<Utc>>,
    pub checkout_received_at: Option<DateTime<Utc>>,
    pub checkout_lat: Option<f64>,
    pub checkout_lng: Option<f64>,
    pub checkout_accuracy_m: Option<f64>,
    pub checkout_distance_m: Option<f64>,
    #[sqlx(json(nullable))]
    pub checkout_result: Option<VisitResult>,
}

impl Audited for Visit {
    const ENTITY: EntityType = EntityType::Visit;
    fn id(&self) -> i64 {
        self.id
    }
}

const VISIT_COLUMNS: &str =
    "v.id, v.ticket_id, v.technician_id, v.checked_in_at, v.received_at, v.lat, v.lng, v.accuracy_m,
    v.distance_m, v.result, v.checked_out_at, v.checkout_received_at, v.checkout_lat, v.checkout_lng,
    v.checkout_accuracy_m, v.checkout_distance_m, to_jsonb(v.checkout_result) AS checkout_result";

/// The ticket, locked, if the caller is the technician assigned to it (404 if they may not see
/// it, 403 if they see it but are not its technician, 409 once it is finished).
async fn assigned_ticket(conn: &mut PgConnection, caller: &AuthUser, ticket_id: i64) -> ApiResult<TicketRow> {
    let ticket =
        store::find(conn, ticket_id, Visibility::of(caller), Lock::ForUpdate).await?.ok_or(ApiError::NotFound)?;
    if ticket.assigned_to != Some(caller.id) {
        return Err(ApiError::Forbidden);
    }
    if ticket.status.is_terminal() {
        return Err(ApiError::Conflict(format!("A {} ticket takes no more visits.", ticket.status)));
    }
    Ok(ticket)
}

/// Checks the assigned technician in at the site. An `inside` check-in responds to the ticket
/// (the first one sets `responded_at` to its `occurred_at` and moves an `assigned` ticket to
/// `in_progress`, retracting a response breach the check recorded before it arrived).
#[utoipa::path(post, path = "/api/tickets/{id}/visits", tag = "tickets", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Ticket id"),
           ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[!-~]+$",
            description = "1–255 visible ASCII characters; a retry with the same key and body gets the first response")),
    request_body = PositionBody,
    responses((status = 201, description = "Checked in (or, with Idempotency-Replayed: true, by the first request with this key)", body = Visit),
              (status = 403, description = "Not the ticket's assigned technician", body = nexus_shared::error::Problem),
              (status = 404, description = "No such ticket (or not yours)", body = nexus_shared::error::Problem),
              (status = 409, description = "The ticket is closed or cancelled", body = nexus_shared::error::Problem),
              (status = 422, description = "Invalid position or occurred_at", body = nexus_shared::error::Problem)))]
pub async fn check_in(
    State(state): State<AppState>,
    caller: Auth<Worker>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(body): Json<PositionBody>,
) -> ApiResult<Response> {
    let idempotency = Idempotency::from_headers(&headers, caller.id, "POST /api/tickets/{id}/visits", &(id, &body))?;
    if let Some(replay) = idempotency::replayed(&idempotency, &state.pool).await? {
        return Ok(replay);
    }
    let now = Utc::now();
    let position = Position::parse(&body, now)?;
    let actor = caller.actor();
    let visit = audit::create(&state.pool, &actor, async |conn| {
        let ticket = assigned_ticket(conn, &caller, id).await?;
        let (distance, result) = Site::of(conn, ticket.location_id).await?.judge(&position);
        let visit: Visit = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO visits AS v (ticket_id, technician_id, checked_in_at, received_at, lat, lng, accuracy_m,
                                      distance_m, result)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {VISIT_COLUMNS}"
        )))
        .bind(id)
        .bind(caller.id)
        .bind(position.at)
        .bind(now)
        .bind(position.lat)
        .bind(position.lng)
        .bind(position.accuracy_m)
        .bind(distance)
        .bind(result.as_str())
        .fetch_one(&mut *conn)
        .await?;
        if result == VisitResult::Inside && responds(&ticket, position.at) {
            let update = TicketUpdate {
                status: Some(TicketStatus::InProgress),
                occurred_at: Some(position.at),
                ..TicketUpdate::default()
            };
            let after = lifecycle::commit(conn, &ticket, update, &caller, now).await?;
            audit::record(conn, &actor, EntityType::Ticket, id, Action::Update, Some(&ticket), Some(&after)).await?;
        }
        if let Some(key) = &idempotency {
            key.remember(conn, StatusCode::CREATED, &visit, None).await?;
        }
        Ok(visit)
    })
    .await?;
    Ok((StatusCode::CREATED, axum::Json(visit)).into_response())
}

/// Whether an inside check-in at `at` is the ticket's response: it has none yet, waits for it
/// (`assigned`), and the check-in does not precede what already happened to the ticket (a
/// check-in before the ticket existed is recorded, not counted).
fn responds(ticket: &TicketRow, at: DateTime<Utc>) -> bool {
    ticket.responded_at.is_none()
        && ticket.status == TicketStatus::Assigned
        && at >= ticket.status_changed_at.unwrap_or(ticket.created_at)
}

/// Checks the technician out (same position rules). A second check-out is 409.
#[utoipa::path(post, path = "/api/tickets/{id}/visits/{visit_id}/checkout", tag = "tickets", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Ticket id"), ("visit_id" = i64, Path, description = "Visit id"),
           ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[!-~]+$",
            description = "1–255 visible ASCII characters; a retry with the same key and body gets the first response")),
    request_body = PositionBody,
    responses((status = 200, description = "Checked out (or, with Idempotency-Replayed: true, by the first request with this key)", body = Visit),
              (status = 403, description = "Not the ticket's assigned technician", body = nexus_shared::error::Problem),
              (status = 404, description = "No such ticket or visit", body = nexus_shared::error::Problem),
              (status = 409, description = "Already checked out, a check-out before the check-in, or a finished ticket", body = nexus_shared::error::Problem),
              (status = 422, description = "Invalid position or occurred_at", body = nexus_shared::error::Problem)))]
pub async fn check_out(
    State(state): State<AppState>,
    caller: Auth<Worker>,
    Path((id, visit_id)): Path<(i64, i64)>,
    headers: HeaderMap,
    Json(body): Json<PositionBody>,
) -> ApiResult<Response> {
    let route = "POST /api/tickets/{id}/visits/{visit_id}/checkout";
    let idempotency = Idempotency::from_headers(&headers, caller.id, route, &(id, visit_id, &body))?;
    if let Some(replay) = idempotency::replayed(&idempotency, &state.pool).await? {
        return Ok(replay);
    }
    let now = Utc::now();
    let position = Position::parse(&body, now)?;
    let actor = caller.actor();
    let locked = async |conn: &mut PgConnection, visit_id: i64| {
        assigned_ticket(conn, &caller, id).await?;
        let visit: Option<Visit> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {VISIT_COLUMNS} FROM visits v WHERE v.id = $1 AND v.ticket_id = $2 FOR UPDATE"
        )))
        .bind(visit_id)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
        Ok(visit)
    };
    let visit = audit::update(&state.pool, &actor, Action::Update, visit_id, locked, async |conn, before| {
        if before.checked_out_at.is_some() {
            return Err(ApiError::Conflict("This visit is already checked out.".into()));
        }
        if position.at < before.checked_in_at {
            return Err(ApiError::Conflict("occurred_at precedes the visit's check-in.".into()));
        }
        let location_id: i64 = sqlx::query_scalar("SELECT location_id FROM tickets WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
        let (distance, result) = Site::of(conn, location_id).await?.judge(&position);
        let visit: Visit = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE visits AS v SET checked_out_at = $2, checkout_received_at = $3, checkout_lat = $4, checkout_lng = $5,
                 checkout_accuracy_m = $6, checkout_distance_m = $7, checkout_result = $8
             WHERE v.id = $1 RETURNING {VISIT_COLUMNS}"
        )))
        .bind(visit_id)
        .bind(position.at)
        .bind(now)
        .bind(position.lat)
        .bind(position.lng)
        .bind(position.accuracy_m)
        .bind(distance)
        .bind(result.as_str())
        .fetch_one(&mut *conn)
        .await?;
        if let Some(key) = &idempotency {
            key.remember(conn, StatusCode::OK, &visit, None).await?;
        }
        Ok(visit)
    })
    .await?;
    Ok((StatusCode::OK, axum::Json(visit)).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VisitQuery {
    result: Option<VisitResult>,
}

/// How visits are ordered.
pub struct VisitSorting;

impl Sorting for VisitSorting {
    const KEYS: &'static [SortKey] =
        &[SortKey { name: "checked_in_at", column: "v.checked_in_at", cast: "timestamptz" }];
    const DEFAULT: &'static str = "checked_in_at";
    const ID_COLUMN: &'static str = "v.id";
}

/// The ticket's visits, first check-in first (whoever may see the ticket).
#[utoipa::path(get, path = "/api/tickets/{id}/visits", tag = "tickets", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Ticket id"), VisitQuery, PageParams<VisitSorting>),
    responses((status = 200, description = "A page of visits", body = Page<Visit>),
              (status = 404, description = "No such ticket (or not yours)", body = nexus_shared::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Auth,
    Path(id): Path<i64>,
    Query(query): Query<VisitQuery>,
    Query(page): Query<PageParams<VisitSorting>>,
) -> ApiResult<Page<Visit>> {
    let page = page.resolve()?;
    let mut conn = state.pool.acquire().await?;
    store::find(&mut conn, id, Visibility::of(&caller), Lock::None).await?.ok_or(ApiError::NotFound)?;
    drop(conn);
    let mut qb = page.query(VISIT_COLUMNS, "visits v");
    qb.push(" AND v.ticket_id = ").push_bind(id);
    if let Some(result) = query.result {
        qb.push(" AND v.result = ").push_bind(result.as_str());
    }
    Ok(page.fetch(qb, &state.pool).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(lat: f64, lng: f64, accuracy_m: f64) -> Position {
        Position { lat, lng, accuracy_m, at: Utc::now() }
    }

    #[test]
    fn a_position_is_judged_by_distance_and_accuracy_against_the_geofence() {
        let site = Site { latitude: Some(-6.2), longitude: Some(106.8), geofence_m: 200 };
        let (d, r) = site.judge(&at(-6.2, 106.8, 10.0));
        assert_eq!((d, r), (Some(0.0), VisitResult::Inside));
        // 0.001° of latitude ≈ 111 m: inside; 0.003° ≈ 334 m: outside.
        assert_eq!(site.judge(&at(-6.201, 106.8, 10.0)).1, VisitResult::Inside);
        let (d, r) = site.judge(&at(-6.203, 106.8, 10.0));
        assert_eq!(r, VisitResult::Outside);
        assert!((d.unwrap() - 333.6).abs() < 1.0);
        // Accuracy worse than the geofence proves nothing, even at the spot.
        assert_eq!(site.judge(&at(-6.2, 106.8, 201.0)).1, VisitResult::LowAccuracy);
        assert_eq!(site.judge(&at(-6.2, 106.8, 200.0)).1, VisitResult::Inside);
        let nowhere = Site { latitude: None, longitude: None, geofence_m: 200 };
        assert_eq!(nowhere.judge(&at(-6.2, 106.8, 5.0)), (None, VisitResult::NoSitePosition));
    }
}
