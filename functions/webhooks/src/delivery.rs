//! An endpoint's deliveries: one per event sent to it, with where its attempts stand; a
//! delivered or failed one can be replayed (same `webhook-id`, so receivers can deduplicate).

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use nexus_shared::audit::{self, Action, EntityType};
use nexus_shared::auth::{Admin, Auth};
use nexus_shared::db::Lock;
use nexus_shared::extract::{Path, Query};
use nexus_shared::pagination::{Page, PageParams, SortKey, Sorting};
use nexus_shared::webhook::endpoint;
use nexus_shared::{ApiError, ApiResult, AppState};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{FromRow, PgConnection};
use utoipa::{IntoParams, ToSchema};

nexus_shared::text_enum! {
    /// `pending` (due at `next_attempt_at`), `delivered` (a 2xx answer) or `failed` (every
    /// attempt of the schedule failed, or the endpoint was disabled).
    pub enum DeliveryStatus {
        Pending = "pending",
        Delivered = "delivered",
        Failed = "failed",
    }
}

/// One event sent (or to be sent) to one endpoint.
#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: i64,
    pub event_id: i64,
    /// The event's type, e.g. `ticket.created`.
    pub event_type: String,
    /// The `webhook-id` header: the same on every attempt and replay.
    pub message_id: String,
    #[sqlx(try_from = "String")]
    pub status: DeliveryStatus,
    /// Attempts made (since the last replay).
    pub attempts: i32,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The last attempt's HTTP status; null when none answered (timeout, refused, unreachable).
    pub last_status_code: Option<i32>,
    /// Why the last attempt failed, in short.
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "d.id, d.webhook_id, d.event_id, e.type AS event_type, d.message_id, d.status, d.attempts,
    d.next_attempt_at, d.last_attempt_at, d.last_status_code, d.last_error, d.delivered_at, d.created_at";
const FROM: &str = "webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id";

pub async fn find(conn: &mut PgConnection, webhook: i64, id: i64) -> Result<Option<Delivery>, ApiError> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE d.id = $1 AND d.webhook_id = $2"
    )))
    .bind(id)
    .bind(webhook)
    .fetch_optional(conn)
    .await?)
}

/// How the list below is ordered.
pub struct DeliverySorting;

impl Sorting for DeliverySorting {
    const KEYS: &'static [SortKey] = &[SortKey { name: "created_at", column: "d.created_at", cast: "timestamptz" }];
    const DEFAULT: &'static str = "-created_at";
    const ID_COLUMN: &'static str = "d.id";
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// Only deliveries in this state.
    status: Option<DeliveryStatus>,
}

/// An endpoint's deliveries, newest first (admins): status, attempts, the last answer's code
/// and time.
#[utoipa::path(get, path = "/api/webhooks/{id}/deliveries", tag = "webhooks", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Endpoint id"), DeliveryQuery, PageParams<DeliverySorting>),
    responses((status = 200, description = "A page of deliveries", body = Page<Delivery>),
              (status = 404, description = "No such endpoint", body = nexus_shared::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Auth<Admin>,
    Path(id): Path<i64>,
    Query(query): Query<DeliveryQuery>,
    Query(page): Query<PageParams<DeliverySorting>>,
) -> ApiResult<Page<Delivery>> {
    let page = page.resolve()?;
    let mut conn = state.pool.acquire().await?;
    endpoint::find(&mut conn, id, Lock::None).await?.ok_or(ApiError::NotFound)?;
    drop(conn);
    let mut qb = page.query(COLUMNS, FROM);
    qb.push(" AND d.webhook_id = ").push_bind(id);
    if let Some(status) = query.status {
        qb.push(" AND d.status = ").push_bind(status.as_str());
    }
    Ok(page.fetch(qb, &state.pool).await?)
}

/// Sends a delivered or failed delivery again (admins): pending, due now, a fresh retry
/// schedule, the same `webhook-id`. 409 when it is still pending or the endpoint is disabled.
#[utoipa::path(post, path = "/api/webhooks/{id}/deliveries/{delivery_id}/replay", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Endpoint id"), ("delivery_id" = i64, Path, description = "Delivery id")),
    responses((status = 202, description = "Pending again, due now", body = Delivery),
              (status = 404, description = "No such endpoint or delivery", body = nexus_shared::error::Problem),
              (status = 409, description = "Still pending, or the endpoint is disabled", body = nexus_shared::error::Problem)))]
pub async fn replay(
    State(state): State<AppState>,
    caller: Auth<Admin>,
    Path((id, delivery_id)): Path<(i64, i64)>,
) -> ApiResult<(StatusCode, axum::Json<Delivery>)> {
    let mut tx = state.pool.begin().await?;
    let webhook = endpoint::find(&mut tx, id, Lock::None).await?.ok_or(ApiError::NotFound)?;
    // The row lock keeps a concurrent replay (or a dispatcher's result) from interleaving.
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM webhook_deliveries WHERE id = $1 AND webhook_id = $2 FOR UPDATE")
            .bind(delivery_id)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    match status.as_deref() {
        None => return Err(ApiError::NotFound),
        Some("pending") => return Err(ApiError::Conflict("The delivery is still pending.".into())),
        Some(_) if !webhook.enabled => {
            return Err(ApiError::Conflict("The endpoint is disabled: enable it first.".into()));
        }
        Some(_) => {}
    }
    sqlx::query(
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(), attempts = 0, delivered_at = NULL
         WHERE id = $1",
    )
    .bind(delivery_id)
    .execute(&mut *tx)
    .await?;
    let noted = json!({"replayed_delivery_id": delivery_id});
    audit::record(&mut tx, &caller.actor(), EntityType::Webhook, id, Action::Update, Some(&json!({})), Some(&noted))
        .await?;
    let delivery = find(&mut tx, id, delivery_id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok((StatusCode::ACCEPTED, axum::Json(delivery)))
}
