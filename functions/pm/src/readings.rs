//! Meter readings (`/api/meters/{id}/readings`): batches from field devices, stored all or
//! nothing, firing the PM plans whose meter condition they make true in the same transaction.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use nexus_shared::audit::{self, Audited, EntityType};
use nexus_shared::auth::{Auth, Worker};
use nexus_shared::db::{Lock, fetch_by_id};
use nexus_shared::error::FieldError;
use nexus_shared::extract::{Json, Path, Query};
use nexus_shared::idempotency::{self, Idempotency};
use nexus_shared::pagination::{Page, PageParams, SortKey, Sorting};
use nexus_shared::pm::meter::{self, MAX_BATCH, METER_COLUMNS, MeterKind, MeterRow, Reading};
use nexus_shared::{ApiError, ApiResult, AppState};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadingsBody {
    #[schema(min_items = 1, max_items = 500)]
    readings: Vec<ReadingBody>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadingBody {
    value: f64,
    /// When the device was read (RFC 3339); at most 5 minutes ahead of the server's clock.
    read_at: DateTime<Utc>,
    /// The (cumulative) meter restarted from zero before this reading, so it may be lower.
    #[serde(default)]
    reset: bool,
}

/// What a batch did: the readings stored and the PM tickets they fired.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RecordedReadings {
    pub meter_id: i64,
    pub accepted: u64,
    pub first_read_at: DateTime<Utc>,
    pub last_read_at: DateTime<Utc>,
    /// PM tickets created because a plan's meter trigger fired.
    pub pm_ticket_ids: Vec<i64>,
}

/// The audit row of a batch is the meter's (one row per batch, not per reading).
impl Audited for RecordedReadings {
    const ENTITY: EntityType = EntityType::Meter;
    fn id(&self) -> i64 {
        self.meter_id
    }
}

/// Records readings (technicians, supervisors, admins): all of them or, if any is refused,
/// none. A cumulative meter only grows by `read_at` unless a reading says `reset: true`. A
/// reading that fires a PM plan's meter trigger creates the PM ticket at once.
#[utoipa::path(post, path = "/api/meters/{id}/readings", tag = "pm", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Meter id"),
           ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[!-~]+$",
            description = "1–255 visible ASCII characters; a retry with the same key and body gets the first response")),
    request_body = ReadingsBody,
    responses((status = 201, description = "Stored (or, with Idempotency-Replayed: true, stored by the first request with this key)", body = RecordedReadings),
              (status = 404, description = "No such meter", body = nexus_shared::error::Problem),
              (status = 409, description = "A concurrent request with the same Idempotency-Key", body = nexus_shared::error::Problem),
              (status = 422, description = "A reading refused (`readings[i].value`, `readings[i].read_at`), or an Idempotency-Key already used for another request", body = nexus_shared::error::Problem)))]
pub async fn record(
    State(state): State<AppState>,
    caller: Auth<Worker>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(body): Json<ReadingsBody>,
) -> ApiResult<Response> {
    let idempotency = Idempotency::from_headers(&headers, caller.id, "POST /api/meters/{id}/readings", &(id, &body))?;
    if let Some(replay) = idempotency::replayed(&idempotency, &state.pool).await? {
        return Ok(replay);
    }
    if !(1..=MAX_BATCH).contains(&body.readings.len()) {
        return Err(ApiError::validation("readings", format!("must hold 1 to {MAX_BATCH} readings")));
    }
    let batch: Vec<Reading> =
        body.readings.iter().map(|r| Reading { value: r.value, read_at: r.read_at, reset: r.reset }).collect();
    let now = Utc::now();
    refuse(meter::future_dated(&batch, now))?;
    let actor = caller.actor();
    let request_id = actor.request_id.clone().unwrap_or_else(|| format!("meter-reading:{id}"));
    let recorded = audit::create(&state.pool, &actor, async |conn| {
        // The lock makes concurrent batches of one meter take turns: each checks the order
        // against, and fires triggers on, what the one before it stored.
        let meter: MeterRow =
            fetch_by_id(conn, METER_COLUMNS, "meters", id, Lock::ForUpdate).await?.ok_or(ApiError::NotFound)?;
        let first_read_at = batch.iter().map(|r| r.read_at).min().unwrap_or(now);
        let last_read_at = batch.iter().map(|r| r.read_at).max().unwrap_or(now);
        if meter.kind == MeterKind::Cumulative {
            let stored = meter::neighbours(conn, id, first_read_at, last_read_at).await?;
            refuse(meter::out_of_order(&stored, &batch))?;
        }
        let accepted = meter::insert(conn, id, &batch, caller.id).await?;
        let pm_ticket_ids = nexus_shared::pm::fire(conn, &meter, &batch, now, &request_id).await?;
        let recorded = RecordedReadings { meter_id: id, accepted, first_read_at, last_read_at, pm_ticket_ids };
        if let Some(key) = &idempotency {
            key.remember(conn, StatusCode::CREATED, &recorded, None).await?;
        }
        Ok(recorded)
    })
    .await?;
    Ok((StatusCode::CREATED, axum::Json(recorded)).into_response())
}

fn refuse(errors: Vec<FieldError>) -> ApiResult<()> {
    if errors.is_empty() { Ok(()) } else { Err(ApiError::Validation(errors)) }
}

/// A stored reading.
#[derive(Debug, Serialize, FromRow, ToSchema)]
pub struct StoredReading {
    pub id: i64,
    pub value: f64,
    pub read_at: DateTime<Utc>,
    pub reset: bool,
    pub recorded_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReadingsQuery {
    /// Readings with `read_at` at or after this instant.
    since: Option<DateTime<Utc>>,
}

/// How readings are ordered.
pub struct ReadingSorting;

impl Sorting for ReadingSorting {
    const KEYS: &'static [SortKey] = &[SortKey { name: "read_at", column: "r.read_at", cast: "timestamptz" }];
    const DEFAULT: &'static str = "read_at";
    const ID_COLUMN: &'static str = "r.id";
}

/// A meter's readings by `read_at` (every signed-in role).
#[utoipa::path(get, path = "/api/meters/{id}/readings", tag = "pm", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Meter id"), ReadingsQuery, PageParams<ReadingSorting>),
    responses((status = 200, description = "A page of readings", body = Page<StoredReading>),
              (status = 404, description = "No such meter", body = nexus_shared::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Auth,
    Path(id): Path<i64>,
    Query(query): Query<ReadingsQuery>,
    Query(page): Query<PageParams<ReadingSorting>>,
) -> ApiResult<Page<StoredReading>> {
    let page = page.resolve()?;
    let mut conn = state.pool.acquire().await?;
    let _: MeterRow =
        fetch_by_id(&mut conn, METER_COLUMNS, "meters", id, Lock::None).await?.ok_or(ApiError::NotFound)?;
    drop(conn);
    let mut qb = page.query("r.id, r.value, r.read_at, r.reset, r.recorded_by, r.created_at", "meter_readings r");
    qb.push(" AND r.meter_id = ").push_bind(id);
    if let Some(since) = query.since {
        qb.push(" AND r.read_at >= ").push_bind(since);
    }
    Ok(page.fetch(qb, &state.pool).await?)
}
