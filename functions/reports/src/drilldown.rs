//! `GET /api/reports/kpis/tickets`: the tickets behind one figure of `GET /api/reports/kpis`,
//! so every number on a dashboard can be opened. The same period, grouping and filters, plus
//! the KPI and the group's key; the rows are the KPI's own population (`push_population` of
//! its file in `kpis/`), so the list and the figure cannot disagree. A cursor list by ticket
//! id, each item with the per-ticket facts the formula used (`flags`).

use std::collections::HashMap;
use std::str::FromStr;

use axum::extract::State;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use nexus_shared::auth::Auth;
use nexus_shared::extract::Query;
use nexus_shared::pagination::{DEFAULT_LIMIT, MAX_LIMIT};
use nexus_shared::sla::Calendar;
use nexus_shared::ticket::{Priority, TicketType, Visibility, load_calendar};
use nexus_shared::{ApiError, ApiResult, AppState, validate};
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, Postgres, QueryBuilder};
use utoipa::{IntoParams, ToSchema};

use crate::group::{GroupBy, NONE_KEY};
use crate::kpis::backlog::STATUS_THEN;
use crate::kpis::mttr::working_hours;
use crate::kpis::sla::Line;
use crate::kpis::{self, Scope};
use crate::period::Period;

nexus_shared::text_enum! {
    /// The figure to open, named as `GET /api/reports/kpis` names it.
    pub enum KpiName {
        MttrHours = "mttr_hours",
        MttrWorkingHours = "mttr_working_hours",
        MtbfHours = "mtbf_hours",
        SlaResponseCompliance = "sla_response_compliance",
        SlaResolutionCompliance = "sla_resolution_compliance",
        FirstTimeFixRate = "first_time_fix_rate",
        PmCompliance = "pm_compliance",
        ReopenRate = "reopen_rate",
        Backlog = "backlog",
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DrillQuery {
    /// First site-local date, inclusive.
    pub from: NaiveDate,
    /// Last site-local date, inclusive; at most 366 days from `from`.
    pub to: NaiveDate,
    /// How the figure was grouped (default `none`).
    pub group_by: Option<GroupBy>,
    /// The group's `key` as the KPI report gave it (`all` for `group_by=none`, the default).
    #[param(max_length = 200)]
    pub key: Option<String>,
    pub kpi: KpiName,
    pub ticket_type: Option<TicketType>,
    pub priority: Option<Priority>,
    /// The site's region.
    #[param(max_length = 100, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub region: Option<String>,
    /// Items per page, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[param(max_length = 400)]
    pub cursor: Option<String>,
}

/// One ticket behind the figure (for `reopen_rate`, one decided approval: a ticket rejected
/// twice is listed twice, once per approval).
#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct KpiTicket {
    pub ticket_id: i64,
    pub number: String,
    pub ticket_type: String,
    pub priority: String,
    pub status: String,
    pub location_code: String,
    pub asset_tag: String,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// What the formula used of this ticket, by KPI:
    /// `mttr_*`: `hours` (wall-clock repair time), `working_hours`, `held_seconds`;
    /// `mtbf_hours`: `asset_id`, `hours_since_previous` (null for the asset's first failure in the group);
    /// `sla_*`: `due_at`, `event_at`, `met`;
    /// `first_time_fix_rate`: `closed_at`, `inside_visits`, `pending` (window not over: in neither count), `fixed`;
    /// `pm_compliance`: `scheduled_for`, `deadline`, `met`;
    /// `reopen_rate`: `approval_id`, `decided_at`, `rejected`;
    /// `backlog`: `as_of`, `age_hours`, `status_then`.
    #[schema(value_type = Object)]
    pub flags: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KpiTicketPage {
    pub kpi: KpiName,
    pub group_by: GroupBy,
    pub key: String,
    pub items: Vec<KpiTicket>,
    pub next_cursor: Option<String>,
}

/// The facts every item carries, aliased so they never clash with a population's own columns.
const ITEM_COLUMNS: &str = "t.id AS d_ticket_id, t.number AS d_number, t.ticket_type AS d_ticket_type,
    t.priority AS d_priority, t.status AS d_status, l.code AS d_location_code,
    (SELECT da.tag FROM assets da WHERE da.id = t.asset_id) AS d_asset_tag, t.created_at AS d_created_at,
    t.resolved_at AS d_resolved_at";

impl KpiName {
    /// The population with the item columns and `d_flags` (jsonb) and `d_sub` (a second
    /// cursor key: the approval for `reopen_rate`, else 0), ready to wrap.
    fn push_rows(self, scope: &Scope, qb: &mut QueryBuilder<Postgres>) {
        let cols = |flags: &str| format!("{ITEM_COLUMNS}, {flags}");
        match self {
            KpiName::MttrHours | KpiName::MttrWorkingHours => {
                qb.push("SELECT *, 0::bigint AS d_sub FROM (");
                kpis::mttr::push_population(
                    scope,
                    qb,
                    &cols(
                        "jsonb_build_object('hours', extract(epoch FROM t.resolved_at - t.created_at)::float8 / 3600,
                            'held_seconds', t.held_seconds, 'sla_calendar_id', t.sla_calendar_id,
                            'timezone', l.timezone) AS d_flags",
                    ),
                );
                qb.push(") p");
            }
            KpiName::MtbfHours => {
                // The denominator counts assets with two failures or more in the group: their tickets.
                let key = scope.group_by.key_sql("t.created_at");
                qb.push(
                    "SELECT *, 0::bigint AS d_sub FROM (SELECT *, jsonb_build_object('asset_id', d_asset_id,
                    'hours_since_previous', extract(epoch FROM d_at - prev)::float8 / 3600) AS d_flags FROM (",
                );
                kpis::mtbf::push_population(
                    scope,
                    qb,
                    &cols(&format!(
                        "t.asset_id AS d_asset_id, t.created_at AS d_at,
                         count(*) OVER (PARTITION BY {key}, t.asset_id) AS d_failures"
                    )),
                );
                qb.push(") cm WHERE d_failures >= 2) p");
            }
            KpiName::SlaResponseCompliance | KpiName::SlaResolutionCompliance => {
                let (line, due, event) = if self == KpiName::SlaResponseCompliance {
                    (Line::Response, "t.response_due_at", "t.responded_at")
                } else {
                    (Line::Resolution, "t.resolution_due_at", "t.resolved_at")
                };
                qb.push("SELECT *, 0::bigint AS d_sub FROM (");
                kpis::sla::push_population(
                    scope,
                    line,
                    qb,
                    &cols(&format!(
                        "jsonb_build_object('due_at', {due}, 'event_at', {event}, 'met', {}) AS d_flags",
                        line.met()
                    )),
                );
                qb.push(") p");
            }
            KpiName::FirstTimeFixRate => {
                use kpis::first_time_fix::{FIXED, PENDING};
                qb.push("SELECT *, 0::bigint AS d_sub FROM (");
                kpis::first_time_fix::push_population(
                    scope,
                    qb,
                    &cols(&format!(
                        "jsonb_build_object('closed_at', t.closed_at,
                            'inside_visits', (SELECT count(*) FROM visits v WHERE v.ticket_id = t.id AND v.result = 'inside'),
                            'pending', {PENDING}, 'fixed', {FIXED}) AS d_flags"
                    )),
                );
                qb.push(") p");
            }
            KpiName::PmCompliance => {
                use kpis::pm_compliance::{DEADLINE, met};
                qb.push("SELECT *, 0::bigint AS d_sub FROM (");
                kpis::pm_compliance::push_population(
                    scope,
                    qb,
                    &cols(&format!(
                        "jsonb_build_object('scheduled_for', t.scheduled_for, 'deadline', {DEADLINE}, 'met', {}) AS d_flags",
                        met()
                    )),
                );
                qb.push(") p");
            }
            KpiName::ReopenRate => {
                qb.push("SELECT * FROM (");
                kpis::reopen::push_population(
                    scope,
                    qb,
                    &cols(
                        "jsonb_build_object('approval_id', ap.id, 'decided_at', ap.created_at,
                            'rejected', ap.decision = 'reject') AS d_flags, ap.id AS d_sub",
                    ),
                );
                qb.push(") p");
            }
            KpiName::Backlog => {
                qb.push(format_args!(
                    "SELECT *, jsonb_build_object('as_of', asof, 'age_hours', extract(epoch FROM asof - created_at)::float8 / 3600,
                        'status_then', {STATUS_THEN}) AS d_flags, 0::bigint AS d_sub FROM ("
                ));
                kpis::backlog::push_population(scope, qb, ITEM_COLUMNS);
                qb.push(") p");
            }
        }
    }
}

/// The group's key as the report gives it; anything it could not have given is 422 `key`.
async fn check_key(state: &AppState, group_by: GroupBy, period: Period, key: Option<String>) -> ApiResult<String> {
    let bad = |why: &str| ApiError::validation("key", why.to_string());
    let key = match (group_by, key) {
        (GroupBy::None, None) => return Ok("all".into()),
        (_, None) => return Err(bad("is required with this group_by")),
        (_, Some(k)) => k,
    };
    if key.len() > 200 || key.chars().any(char::is_control) {
        return Err(bad("is not a key this grouping gives"));
    }
    let ok = match group_by {
        GroupBy::None | GroupBy::TicketType | GroupBy::Priority | GroupBy::Week | GroupBy::Month => {
            group_by.fixed_groups(period).iter().any(|(k, _)| *k == key)
        }
        GroupBy::Technician => key == NONE_KEY || key.parse::<i64>().is_ok_and(|id| id > 0),
        GroupBy::Location => {
            sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM locations WHERE code = $1)")
                .bind(&key)
                .fetch_one(state.read_pool())
                .await?
        }
        GroupBy::Region | GroupBy::AssetCategory => !key.is_empty(),
    };
    if !ok {
        return Err(bad(match group_by {
            GroupBy::Week | GroupBy::Month => "must be one of the period's groups (e.g. 2026-W48, 2026-11)",
            GroupBy::Technician => "must be a user id or (none)",
            GroupBy::Location => "must be a site code",
            _ => "must be one of this grouping's keys",
        }));
    }
    Ok(key)
}

/// MTTR's `working_hours`: the ticket's repair time on its SLA calendar in its site's zone less
/// the time on hold, as `kpis/mttr.rs` computes it (one read per calendar, as the figure does);
/// the calendar and zone it was read with leave the flags.
async fn with_working_hours(
    pool: &sqlx::PgPool,
    calendars: &mut HashMap<i64, Calendar>,
    row: &Row,
    mut flags: serde_json::Value,
) -> ApiResult<serde_json::Value> {
    let Some(map) = flags.as_object_mut() else { return Ok(flags) };
    let calendar_id = map.remove("sla_calendar_id").and_then(|v| v.as_i64()).unwrap_or_default();
    let timezone = map.remove("timezone").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    let held = map.get("held_seconds").and_then(|v| v.as_i64()).unwrap_or_default();
    let Some(resolved) = row.d_resolved_at else { return Ok(flags) };
    if let std::collections::hash_map::Entry::Vacant(slot) = calendars.entry(calendar_id) {
        let mut conn = pool.acquire().await?;
        slot.insert(load_calendar(&mut conn, calendar_id).await?);
    }
    let tz = Tz::from_str(&timezone).unwrap_or(chrono_tz::Asia::Jakarta);
    let hours = working_hours(&calendars[&calendar_id], tz, row.d_created_at, resolved, held);
    map.insert("working_hours".into(), serde_json::json!(hours));
    Ok(flags)
}

fn encode(after: (i64, i64)) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&serde_json::json!({ "t": after.0, "s": after.1 })).unwrap_or_default())
}

fn decode(cursor: &str) -> Option<(i64, i64)> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    Some((value["t"].as_i64()?, value["s"].as_i64()?))
}

#[derive(FromRow)]
struct Row {
    d_ticket_id: i64,
    d_number: String,
    d_ticket_type: String,
    d_priority: String,
    d_status: String,
    d_location_code: String,
    d_asset_tag: String,
    d_created_at: DateTime<Utc>,
    d_resolved_at: Option<DateTime<Utc>>,
    d_flags: serde_json::Value,
    d_sub: i64,
}

/// The tickets behind one figure of `GET /api/reports/kpis`: the same `from`, `to`,
/// `group_by`, `ticket_type`, `priority` and `region`, the figure's `kpi` and its group's `key`.
/// Every signed-in role; a technician's list holds only the tickets assigned to them (as their
/// figures do). Ordered by ticket id (then approval id, for `reopen_rate`), a cursor list.
///
/// What is listed, per KPI: the tickets its **denominator** counts, with the flags that put
/// them in its numerator — `mttr_*`: the CM tickets resolved in the period (`hours`);
/// `mtbf_hours`: the CM failures of the assets counted (two or more in the group; the
/// denominator is the number of distinct `asset_id`s); `sla_*`: the decided lines due in the
/// period (`met`); `pm_compliance`: the decided PM tickets due (`met`); `reopen_rate`: the
/// approvals decided (`rejected`); `backlog`: the tickets open at the end (`total`;
/// `status_then`, `age_hours`). `first_time_fix_rate` lists every CM closure in the period:
/// those with `pending: false` are the denominator (`fixed` the numerator), those with
/// `pending: true` the figure's `pending`.
#[utoipa::path(get, path = "/api/reports/kpis/tickets", tag = "reports", security(("bearer" = [])),
    params(DrillQuery),
    responses((status = 200, description = "A page of the tickets behind the figure", body = KpiTicketPage),
              (status = 401, description = "Not signed in", body = nexus_shared::error::Problem),
              (status = 422, description = "`to` before `from` or more than 366 days, an unknown `kpi` or `group_by`, a `key` this grouping cannot give, a bad `limit` or cursor", body = nexus_shared::error::Problem)))]
pub async fn tickets(
    State(state): State<AppState>,
    caller: Auth,
    Query(query): Query<DrillQuery>,
) -> ApiResult<axum::Json<KpiTicketPage>> {
    let period = Period::new(query.from, query.to)?;
    let region = validate::query_text("region", query.region)?;
    let group_by = query.group_by.unwrap_or(GroupBy::None);
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::validation("limit", format!("must be between 1 and {MAX_LIMIT}")));
    }
    let after = query
        .cursor
        .map(|c| decode(&c).ok_or_else(|| ApiError::validation("cursor", "is not a cursor this list issued")))
        .transpose()?;
    let key = check_key(&state, group_by, period, query.key).await?;
    let scope = Scope {
        period,
        group_by,
        ticket_type: query.ticket_type,
        priority: query.priority,
        region,
        visibility: Visibility::of(&caller),
        location_ids: None,
        // `none` has one group and no key column to test.
        key: (group_by != GroupBy::None).then(|| key.clone()),
    };

    let mut qb = QueryBuilder::new(
        "SELECT d_ticket_id, d_number, d_ticket_type, d_priority, d_status, d_location_code,
        d_asset_tag, d_created_at, d_resolved_at, d_flags, d_sub FROM (",
    );
    query.kpi.push_rows(&scope, &mut qb);
    qb.push(") drill WHERE true");
    if let Some((ticket, sub)) = after {
        qb.push(" AND (d_ticket_id, d_sub) > (").push_bind(ticket).push(", ").push_bind(sub).push(")");
    }
    qb.push(" ORDER BY d_ticket_id, d_sub LIMIT ").push_bind(limit + 1);
    let rows: Vec<Row> = qb.build_query_as().fetch_all(state.read_pool()).await?;
    let has_more = rows.len() as i64 > limit;
    let rows: Vec<Row> = rows.into_iter().take(limit as usize).collect();
    let next_cursor = rows.last().filter(|_| has_more).map(|r| encode((r.d_ticket_id, r.d_sub)));
    let mut calendars: HashMap<i64, Calendar> = HashMap::new();
    let mut items = Vec::with_capacity(rows.len());
    for mut r in rows {
        if matches!(query.kpi, KpiName::MttrHours | KpiName::MttrWorkingHours) {
            r.d_flags = with_working_hours(state.read_pool(), &mut calendars, &r, r.d_flags.clone()).await?;
        }
        items.push(r);
    }
    let items = items
        .into_iter()
        .map(|r| KpiTicket {
            ticket_id: r.d_ticket_id,
            number: r.d_number,
            ticket_type: r.d_ticket_type,
            priority: r.d_priority,
            status: r.d_status,
            location_code: r.d_location_code,
            asset_tag: r.d_asset_tag,
            created_at: r.d_created_at,
            resolved_at: r.d_resolved_at,
            flags: r.d_flags,
        })
        .collect();
    Ok(axum::Json(KpiTicketPage { kpi: query.kpi, group_by, key, items, next_cursor }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_strangers_are_refused() {
        assert_eq!(decode(&encode((42, 7))), Some((42, 7)));
        assert_eq!(decode("not-a-cursor"), None);
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode(b"{\"c\":\"JKT0001\"}")), None);
    }
}
