//! SLA calendars: when clocks run (always, or business hours with holidays).

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use nexus_shared::audit::{self, Audited, EntityType};
use nexus_shared::auth::{Auth, Staff};
use nexus_shared::error::ResultExt;
use nexus_shared::extract::Json;
use nexus_shared::ticket::business_hours;
use nexus_shared::validate::{self, Validator};
use nexus_shared::{ApiError, ApiResult, AppState};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::ToSchema;

nexus_shared::text_enum! {
    pub enum CalendarKind { Always = "24x7", BusinessHours = "business_hours" }
}

#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct SlaCalendar {
    pub id: i64,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub kind: CalendarKind,
    /// Seven days from Monday, each a list of `["HH:MM", "HH:MM"]` opening intervals in the
    /// location's local time; empty for `24x7`.
    #[schema(value_type = Vec<Vec<Vec<String>>>)]
    pub weekly_hours: serde_json::Value,
    pub holidays: Vec<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Audited for SlaCalendar {
    const ENTITY: EntityType = EntityType::SlaCalendar;
    fn id(&self) -> i64 {
        self.id
    }
}

const COLUMNS: &str = "id, name, kind, weekly_hours, holidays, created_at, updated_at";

#[derive(Debug, Serialize, ToSchema)]
pub struct SlaCalendars {
    pub items: Vec<SlaCalendar>,
}

#[utoipa::path(get, path = "/api/sla/calendars", tag = "sla", security(("bearer" = [])),
    responses((status = 200, description = "The calendars", body = SlaCalendars)))]
pub async fn list(State(state): State<AppState>, _caller: Auth) -> ApiResult<axum::Json<SlaCalendars>> {
    let items = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM sla_calendars ORDER BY id")))
        .fetch_all(&state.pool)
        .await?;
    Ok(axum::Json(SlaCalendars { items }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarBody {
    #[schema(required = true, value_type = String, min_length = 1, max_length = 100, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$")]
    name: Option<String>,
    #[schema(required = true, value_type = CalendarKind)]
    kind: Option<CalendarKind>,
    /// Required for `business_hours`: seven days from Monday, e.g. `[[["08:00","17:00"]], ..., [], []]`.
    #[schema(max_items = 7, value_type = Option<Vec<Vec<(TimeOfDay, TimeOfDay)>>>)]
    weekly_hours: Option<Vec<Vec<(String, String)>>>,
    #[schema(max_items = 366)]
    holidays: Option<Vec<NaiveDate>>,
}

/// A time of day, `HH:MM` on the 24-hour clock, as the calendar's opening hours are written.
pub struct TimeOfDay;

impl utoipa::PartialSchema for TimeOfDay {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^([01]?[0-9]|2[0-3]):[0-5][0-9]$"))
            .max_length(Some(5))
            .examples(["08:00"])
            .into()
    }
}

impl ToSchema for TimeOfDay {}

/// Creates a calendar; an SLA rule then refers to it by id.
#[utoipa::path(post, path = "/api/sla/calendars", tag = "sla", security(("bearer" = [])),
    request_body = CalendarBody,
    responses((status = 201, description = "Created", body = SlaCalendar),
              (status = 409, description = "Name taken", body = nexus_shared::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Auth<Staff>,
    Json(body): Json<CalendarBody>,
) -> ApiResult<(StatusCode, axum::Json<SlaCalendar>)> {
    let mut v = Validator::new();
    let name = v.required("name", body.name).and_then(|n| v.field("name", validate::line(n, 1, 100)));
    let kind = v.required("kind", body.kind);
    let weekly = body.weekly_hours.unwrap_or_default();
    let holidays = body.holidays.unwrap_or_default();
    // Counted as sent, as the document's maxItems says; repeats then collapse.
    if holidays.len() > 366 {
        v.error("holidays", "must list at most 366 dates");
    }
    match kind {
        Some(CalendarKind::BusinessHours) => {
            v.field("weekly_hours", business_hours(&weekly, holidays.iter().copied().collect()));
        }
        Some(CalendarKind::Always) if !weekly.is_empty() || !holidays.is_empty() => {
            v.error("weekly_hours", "a 24x7 calendar has no hours or holidays");
        }
        _ => {}
    }
    let (Some(name), Some(kind)) = (name, kind) else { return Err(v.into_error()) };
    if !v.is_valid() {
        return Err(v.into_error());
    }
    let weekly_json = serde_json::to_value(&weekly).map_err(ApiError::internal)?;
    let holidays: Vec<NaiveDate> = holidays.into_iter().collect::<BTreeSet<_>>().into_iter().collect();
    let created = audit::create(&state.pool, &caller.actor(), async |conn| {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO sla_calendars (name, kind, weekly_hours, holidays) VALUES ($1, $2, $3, $4) RETURNING {COLUMNS}"
        )))
        .bind(&name)
        .bind(kind.as_str())
        .bind(&weekly_json)
        .bind(&holidays)
        .fetch_one(conn)
        .await
        .on_constraint("sla_calendars_name_key", |_| ApiError::Conflict(format!("A calendar named {name} exists.")))
    })
    .await?;
    Ok((StatusCode::CREATED, axum::Json(created)))
}
