//! SLA rules: one per ticket type × priority.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use nexus_shared::audit::{self, Action, Audited, EntityType};
use nexus_shared::auth::{Auth, Staff};
use nexus_shared::error::ResultExt;
use nexus_shared::extract::{Json, Query};
use nexus_shared::pagination::{Page, PageParams, SortKey, Sorting};
use nexus_shared::ticket::{Priority, TicketType};
use nexus_shared::validate::Validator;
use nexus_shared::{ApiError, ApiResult, AppState};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct SlaRule {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub ticket_type: TicketType,
    #[sqlx(try_from = "String")]
    pub priority: Priority,
    /// Working minutes (by the calendar) to respond (start work).
    pub response_target_minutes: i32,
    /// Working minutes to resolve.
    pub resolution_target_minutes: i32,
    pub calendar_id: i64,
    /// Share of a target after which the clock shows `warning` (default 0.8).
    pub warning_ratio: f32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Audited for SlaRule {
    const ENTITY: EntityType = EntityType::SlaRule;
    fn id(&self) -> i64 {
        self.id
    }
}

const COLUMNS: &str = "id, ticket_type, priority, response_target_minutes, resolution_target_minutes, calendar_id,
    warning_ratio, created_at, updated_at";

/// How the rule list is ordered.
pub struct RuleSorting;

impl Sorting for RuleSorting {
    const KEYS: &'static [SortKey] = &[
        SortKey { name: "ticket_type", column: "ticket_type", cast: "text" },
        SortKey { name: "created_at", column: "created_at", cast: "timestamptz" },
    ];
    const DEFAULT: &'static str = "ticket_type";
    const ID_COLUMN: &'static str = "id";
}

/// Every rule (at most eight: two types × four priorities, so the primary key serves the sorts).
#[utoipa::path(get, path = "/api/sla", tag = "sla", security(("bearer" = [])),
    params(PageParams<RuleSorting>),
    responses((status = 200, description = "A page of rules", body = Page<SlaRule>)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Auth,
    Query(page): Query<PageParams<RuleSorting>>,
) -> ApiResult<Page<SlaRule>> {
    let page = page.resolve()?;
    Ok(page.fetch(page.query(COLUMNS, "sla_matrices"), &state.pool).await?)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    #[schema(required = true, value_type = TicketType)]
    ticket_type: Option<TicketType>,
    #[schema(required = true, value_type = Priority)]
    priority: Option<Priority>,
    #[schema(minimum = 1, maximum = 525600)]
    response_target_minutes: Option<i32>,
    #[schema(minimum = 1, maximum = 525600)]
    resolution_target_minutes: Option<i32>,
    /// Default: the `24x7` calendar.
    calendar_id: Option<i64>,
    /// The share of a target after which a warning is recorded, 0.01–0.99 (default 0.8).
    #[schema(minimum = 0.01, maximum = 0.99)]
    warning_ratio: Option<f64>,
}

struct Rule {
    ticket_type: TicketType,
    priority: Priority,
    response: i32,
    resolution: i32,
    calendar_id: Option<i64>,
    warning_ratio: f32,
}

fn parse(body: RuleBody) -> ApiResult<Rule> {
    let mut v = Validator::new();
    let ticket_type = v.required("ticket_type", body.ticket_type);
    let priority = v.required("priority", body.priority);
    let minutes = |v: &mut Validator, field: &str, value: Option<i32>| {
        v.required(field, value).and_then(|m| {
            v.field(
                field,
                if (1..=525_600).contains(&m) { Ok(m) } else { Err("must be 1 to 525600 minutes (a year)".into()) },
            )
        })
    };
    let response = minutes(&mut v, "response_target_minutes", body.response_target_minutes);
    let resolution = minutes(&mut v, "resolution_target_minutes", body.resolution_target_minutes);
    if let (Some(r), Some(s)) = (response, resolution)
        && s < r
    {
        v.error("resolution_target_minutes", "must not be shorter than the response target");
    }
    // Judged as sent (f64), stored as `real`: within these bounds no rounding reaches 0 or 1.
    let warning_ratio = body.warning_ratio.unwrap_or(0.8);
    if !(0.01..=0.99).contains(&warning_ratio) {
        v.error("warning_ratio", "must be between 0.01 and 0.99");
    }
    match (ticket_type, priority, response, resolution) {
        (Some(ticket_type), Some(priority), Some(response), Some(resolution)) if v.is_valid() => Ok(Rule {
            ticket_type,
            priority,
            response,
            resolution,
            calendar_id: body.calendar_id,
            warning_ratio: warning_ratio as f32,
        }),
        _ => Err(v.into_error()),
    }
}

/// Creates the rule for a ticket type × priority, or replaces it (201 or 200). Running tickets
/// keep the targets they were opened with; new tickets and priority changes use the new rule.
#[utoipa::path(post, path = "/api/sla", tag = "sla", security(("bearer" = [])),
    request_body = RuleBody,
    responses((status = 201, description = "Created", body = SlaRule),
              (status = 200, description = "Replaced", body = SlaRule)))]
pub async fn upsert(
    State(state): State<AppState>,
    caller: Auth<Staff>,
    Json(body): Json<RuleBody>,
) -> ApiResult<(StatusCode, axum::Json<SlaRule>)> {
    let rule = parse(body)?;
    let actor = caller.actor();
    let mut tx = state.pool.begin().await?;
    let before: Option<SlaRule> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM sla_matrices WHERE ticket_type = $1 AND priority = $2 FOR UPDATE"
    )))
    .bind(rule.ticket_type.as_str())
    .bind(rule.priority.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    let after: SlaRule = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO sla_matrices (ticket_type, priority, response_target_minutes, resolution_target_minutes, calendar_id, warning_ratio)
         VALUES ($1, $2, $3, $4, COALESCE($5, (SELECT id FROM sla_calendars WHERE name = '24x7')), $6)
         ON CONFLICT (ticket_type, priority) DO UPDATE SET
             response_target_minutes = EXCLUDED.response_target_minutes,
             resolution_target_minutes = EXCLUDED.resolution_target_minutes,
             calendar_id = EXCLUDED.calendar_id, warning_ratio = EXCLUDED.warning_ratio
         RETURNING {COLUMNS}"
    )))
    .bind(rule.ticket_type.as_str())
    .bind(rule.priority.as_str())
    .bind(rule.response)
    .bind(rule.resolution)
    .bind(rule.calendar_id)
    .bind(rule.warning_ratio)
    .fetch_one(&mut *tx)
    .await
    .on_constraint("sla_matrices_calendar_id_fkey", |_| ApiError::validation("calendar_id", "no such calendar"))?;
    let action = if before.is_some() { Action::Update } else { Action::Create };
    audit::record(&mut tx, &actor, EntityType::SlaRule, after.id, action, before.as_ref(), Some(&after)).await?;
    tx.commit().await?;
    let status = if before.is_some() { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, axum::Json(after)))
}
