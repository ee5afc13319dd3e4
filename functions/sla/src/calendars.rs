//! SLA calendars: when clocks run (always, or business hours with holidays).

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use nexus_shared::audit::{self, Action, Audited, EntityType};
use nexus_shared::auth::{Auth, Staff};
use nexus_shared::error::ResultExt;
use nexus_shared::extract::{Json, Path, Query};
use nexus_shared::pagination::{Page, PageParams, SortKey, Sorting};
use nexus_shared::ticket::business_hours;
use nexus_shared::validate::{self, Validator};
use nexus_shared::{ApiError, ApiResult, AppState};
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, PgConnection};
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

/// How the calendar list is ordered.
pub struct CalendarSorting;

impl Sorting for CalendarSorting {
    const KEYS: &'static [SortKey] = &[
        SortKey { name: "created_at", column: "created_at", cast: "timestamptz" },
        SortKey { name: "name", column: "name", cast: "text" },
    ];
    const DEFAULT: &'static str = "created_at";
    const ID_COLUMN: &'static str = "id";
}

/// The calendars, oldest first by default. A handful per deployment, so no index beyond the
/// primary key and the unique name serves the sorts.
#[utoipa::path(get, path = "/api/sla/calendars", tag = "sla", security(("bearer" = [])),
    params(PageParams<CalendarSorting>),
    responses((status = 200, description = "A page of calendars", body = Page<SlaCalendar>)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Auth,
    Query(page): Query<PageParams<CalendarSorting>>,
) -> ApiResult<Page<SlaCalendar>> {
    let page = page.resolve()?;
    Ok(page.fetch(page.query(COLUMNS, "sla_calendars"), &state.pool).await?)
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
    let calendar = NewCalendar::parse(body.name, body.kind, body.weekly_hours, body.holidays)?;
    let created = audit::create(&state.pool, &caller.actor(), async |conn| calendar.save(conn, None).await).await?;
    Ok((StatusCode::CREATED, axum::Json(created)))
}

/// Changes the fields given (holidays change every year). Tickets keep the SLA lines computed
/// when they were opened; only tickets opened afterwards follow the new hours.
#[utoipa::path(put, path = "/api/sla/calendars/{id}", tag = "sla", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Calendar id")),
    request_body = CalendarChange,
    responses((status = 200, description = "Changed", body = SlaCalendar),
              (status = 409, description = "Name taken", body = nexus_shared::error::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Auth<Staff>,
    Path(id): Path<i64>,
    Json(body): Json<CalendarChange>,
) -> ApiResult<axum::Json<SlaCalendar>> {
    let locked = async |conn: &mut PgConnection, id: i64| {
        let sql = format!("SELECT {COLUMNS} FROM sla_calendars WHERE id = $1 FOR UPDATE");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(conn).await?)
    };
    let updated =
        audit::update(&state.pool, &caller.actor(), Action::Update, id, locked, async |conn, before: &SlaCalendar| {
            let weekly = body.weekly_hours.or_else(|| serde_json::from_value(before.weekly_hours.clone()).ok());
            let holidays = body.holidays.unwrap_or_else(|| before.holidays.clone());
            let calendar = NewCalendar::parse(
                Some(body.name.unwrap_or_else(|| before.name.clone())),
                Some(body.kind.unwrap_or(before.kind)),
                weekly,
                Some(holidays),
            )?;
            calendar.save(conn, Some(id)).await
        })
        .await?;
    Ok(axum::Json(updated))
}

/// What `PUT /api/sla/calendars/{id}` may change; an absent field keeps its value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarChange {
    // Optional and nullable in the document, as the server reads it: absent or null keeps the name.
    #[schema(value_type = Option<String>, min_length = 1, max_length = 100, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$")]
    name: Option<String>,
    #[schema(value_type = Option<CalendarKind>)]
    kind: Option<CalendarKind>,
    /// Seven days from Monday; for `business_hours`.
    #[schema(max_items = 7, value_type = Option<Vec<Vec<(TimeOfDay, TimeOfDay)>>>)]
    weekly_hours: Option<Vec<Vec<(String, String)>>>,
    #[schema(max_items = 366)]
    holidays: Option<Vec<NaiveDate>>,
}

/// A calendar as it will be stored, checked whole (a 24x7 one has no hours; business hours are
/// well-formed) and every problem named.
struct NewCalendar {
    name: String,
    kind: CalendarKind,
    weekly: serde_json::Value,
    holidays: Vec<NaiveDate>,
}

impl NewCalendar {
    fn parse(
        name: Option<String>,
        kind: Option<CalendarKind>,
        weekly: Option<Vec<Vec<(String, String)>>>,
        holidays: Option<Vec<NaiveDate>>,
    ) -> Result<Self, ApiError> {
        let mut v = Validator::new();
        let name = v.required("name", name).and_then(|n| v.field("name", validate::line(n, 1, 100)));
        let kind = v.required("kind", kind);
        let weekly = weekly.unwrap_or_default();
        let holidays = holidays.unwrap_or_default();
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
        Ok(Self {
            name,
            kind,
            weekly: serde_json::to_value(&weekly).map_err(ApiError::internal)?,
            holidays: holidays.into_iter().collect::<BTreeSet<_>>().into_iter().collect(),
        })
    }

    /// Inserts it, or with `id` replaces that calendar.
    async fn save(&self, conn: &mut PgConnection, id: Option<i64>) -> Result<SlaCalendar, ApiError> {
        let sql = match id {
            None => format!(
                "INSERT INTO sla_calendars (name, kind, weekly_hours, holidays) VALUES ($1, $2, $3, $4) RETURNING {COLUMNS}"
            ),
            Some(_) => format!(
                "UPDATE sla_calendars SET name = $1, kind = $2, weekly_hours = $3, holidays = $4, updated_at = now()
                 WHERE id = $5 RETURNING {COLUMNS}"
            ),
        };
        let name = &self.name;
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(name)
            .bind(self.kind.as_str())
            .bind(&self.weekly)
            .bind(&self.holidays)
            .bind(id)
            .fetch_one(conn)
            .await
            .on_constraint("sla_calendars_name_key", |_| ApiError::Conflict(format!("A calendar named {name} exists.")))
    }
}
