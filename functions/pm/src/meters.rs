//! Meters on an asset (`/api/assets/{id}/meters`): a named counter or gauge whose readings can
//! trigger PM plans.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use nexus_shared::audit::{self, Audited, EntityType};
use nexus_shared::auth::{Auth, Staff};
use nexus_shared::error::ResultExt;
use nexus_shared::extract::{Json, Path, Query};
use nexus_shared::pagination::{Page, PageParams, SortKey, Sorting};
use nexus_shared::pm::meter::MeterKind;
use nexus_shared::validate::{self, Validator};
use nexus_shared::{ApiError, ApiResult, AppState};
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, PgConnection};
use utoipa::ToSchema;

/// A meter with its latest reading.
#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct Meter {
    pub id: i64,
    pub asset_id: i64,
    pub name: String,
    pub unit: String,
    #[sqlx(try_from = "String")]
    pub kind: MeterKind,
    /// The reading with the latest `read_at`, if any.
    #[sqlx(json(nullable))]
    pub last_reading: Option<LastReading>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LastReading {
    pub value: f64,
    pub read_at: DateTime<Utc>,
}

impl Audited for Meter {
    const ENTITY: EntityType = EntityType::Meter;
    fn id(&self) -> i64 {
        self.id
    }
}

/// `SELECT` [`Meter`] columns `FROM meters m …`.
const METER_VIEW: &str = "m.id, m.asset_id, m.name, m.unit, m.kind, m.created_at, m.updated_at,
    (SELECT jsonb_build_object('value', r.value, 'read_at', r.read_at) FROM meter_readings r
     WHERE r.meter_id = m.id ORDER BY r.read_at DESC, r.id DESC LIMIT 1) AS last_reading";

pub async fn find(conn: &mut PgConnection, id: i64) -> ApiResult<Option<Meter>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {METER_VIEW} FROM meters m WHERE m.id = $1")))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMeterBody {
    /// Unique on the asset; PM plans' `meter_trigger.meter_name` refers to it.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    name: String,
    #[schema(
        min_length = 1,
        max_length = 30,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    unit: String,
    kind: MeterKind,
}

/// Adds a meter to an asset (admins and supervisors). A name already on the asset is 409.
#[utoipa::path(post, path = "/api/assets/{id}/meters", tag = "pm", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Asset id")),
    request_body = NewMeterBody,
    responses((status = 201, description = "Created", body = Meter),
              (status = 404, description = "No such asset", body = nexus_shared::error::Problem),
              (status = 409, description = "The asset already has a meter of this name", body = nexus_shared::error::Problem),
              (status = 422, description = "Invalid body", body = nexus_shared::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Auth<Staff>,
    Path(asset_id): Path<i64>,
    Json(body): Json<NewMeterBody>,
) -> ApiResult<(StatusCode, axum::Json<Meter>)> {
    let mut v = Validator::new();
    let name = v.field("name", validate::line(body.name, 1, 100));
    let unit = v.field("unit", validate::line(body.unit, 1, 30));
    let (Some(name), Some(unit)) = (name, unit) else { return Err(v.into_error()) };
    let created = audit::create(&state.pool, &caller.actor(), async |conn| {
        let asset: Option<i64> = sqlx::query_scalar("SELECT id FROM assets WHERE id = $1 FOR SHARE")
            .bind(asset_id)
            .fetch_optional(&mut *conn)
            .await?;
        asset.ok_or(ApiError::NotFound)?;
        let id: i64 =
            sqlx::query_scalar("INSERT INTO meters (asset_id, name, unit, kind) VALUES ($1, $2, $3, $4) RETURNING id")
                .bind(asset_id)
                .bind(&name)
                .bind(&unit)
                .bind(body.kind.as_str())
                .fetch_one(&mut *conn)
                .await
                .on_constraint("meters_asset_name_key", |_| {
                    ApiError::Conflict(format!("This asset already has a meter named {name:?}."))
                })?;
        find(conn, id).await?.ok_or_else(|| ApiError::internal("meter vanished after insert"))
    })
    .await?;
    Ok((StatusCode::CREATED, axum::Json(created)))
}

/// How an asset's meters are ordered.
pub struct MeterSorting;

impl Sorting for MeterSorting {
    const KEYS: &'static [SortKey] = &[SortKey { name: "name", column: "m.name", cast: "text" }];
    const DEFAULT: &'static str = "name";
    const ID_COLUMN: &'static str = "m.id";
}

/// An asset's meters, each with its latest reading (every signed-in role).
#[utoipa::path(get, path = "/api/assets/{id}/meters", tag = "pm", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Asset id"), PageParams<MeterSorting>),
    responses((status = 200, description = "A page of meters", body = Page<Meter>),
              (status = 404, description = "No such asset", body = nexus_shared::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Auth,
    Path(asset_id): Path<i64>,
    Query(page): Query<PageParams<MeterSorting>>,
) -> ApiResult<Page<Meter>> {
    let page = page.resolve()?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM assets WHERE id = $1)")
        .bind(asset_id)
        .fetch_one(&state.pool)
        .await?;
    if !exists {
        return Err(ApiError::NotFound);
    }
    let mut qb = page.query(METER_VIEW, "meters m");
    qb.push(" AND m.asset_id = ").push_bind(asset_id);
    Ok(page.fetch(qb, &state.pool).await?)
}
