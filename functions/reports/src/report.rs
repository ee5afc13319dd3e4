//! `GET /api/reports/kpis`: every KPI per group, from the daily rollup for the days it holds and
//! live SQL (one aggregate per KPI) for the others; JSON or CSV.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDate;
use nexus_shared::auth::Auth;
use nexus_shared::csv::{CsvBody, CsvWriter, accepts_csv};
use nexus_shared::extract::Query;
use nexus_shared::pagination::{DEFAULT_LIMIT, MAX_LIMIT};
use nexus_shared::ticket::{Priority, TicketType, Visibility};
use nexus_shared::{ApiError, ApiResult, AppState, validate};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};

use crate::group::GroupBy;
use crate::kpis::backlog::{self, Backlog};
use crate::kpis::first_time_fix::FirstTimeFix;
use crate::kpis::mttr::Mttr;
use crate::kpis::sla::Line;
use crate::kpis::{self, DEFINITION_VERSION, Figure, Ratio, Scope};
use crate::period::Period;
use crate::rollup::{self, Coverage, Sums, gaps};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KpiQuery {
    /// First site-local date, inclusive.
    pub from: NaiveDate,
    /// Last site-local date, inclusive; at most 366 days from `from`.
    pub to: NaiveDate,
    /// How figures are grouped (default `none`).
    pub group_by: Option<GroupBy>,
    pub ticket_type: Option<TicketType>,
    pub priority: Option<Priority>,
    /// The site's region.
    #[param(max_length = 100, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub region: Option<String>,
    /// `group_by=location` only: sites per page, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// `group_by=location` only: `next_cursor` of the previous page.
    #[param(max_length = 400)]
    pub cursor: Option<String>,
}

/// `first_time_fix_rate`: the ratio and the closures whose 30 days are not over.
#[derive(Debug, Clone, Copy, Default, Serialize, ToSchema)]
pub struct FirstTimeFixFigure {
    #[serde(flatten)]
    pub rate: Ratio,
    pub pending: i64,
}

/// One group's figures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KpiGroup {
    /// `all`, a region, a site code, a category, `CM`/`PM`, a priority, a user id, `2026-W48`,
    /// `2026-11`; `(none)` for tickets without a region, category or assignee.
    pub key: String,
    pub label: String,
    pub mttr_hours: Ratio,
    pub mttr_working_hours: Ratio,
    pub mtbf_hours: Ratio,
    pub sla_response_compliance: Ratio,
    pub sla_resolution_compliance: Ratio,
    pub first_time_fix_rate: FirstTimeFixFigure,
    pub pm_compliance: Ratio,
    pub reopen_rate: Ratio,
    pub backlog: Backlog,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KpiReport {
    /// Changes whenever a formula does.
    pub definition_version: u32,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub group_by: GroupBy,
    pub groups: Vec<KpiGroup>,
    /// `group_by=location`: pass as `cursor` for the next sites; otherwise always null.
    pub next_cursor: Option<String>,
}

/// The parsed query: the scope and, for `group_by=location`, the page of sites.
pub struct Resolved {
    pub scope: Scope,
    /// `group_by=location`: the page's sites (code, name) in order, and the next cursor.
    pub sites: Option<SitePage>,
}

/// A page of sites (code, name) in order, and the cursor of the next.
pub type SitePage = (Vec<(String, String)>, Option<String>);

impl KpiQuery {
    /// Validates the period, region and paging; for `group_by=location` reads the page of sites.
    pub async fn resolve(self, state: &AppState, visibility: Visibility) -> ApiResult<Resolved> {
        let period = Period::new(self.from, self.to)?;
        let region = validate::query_text("region", self.region)?;
        let group_by = self.group_by.unwrap_or(GroupBy::None);
        let mut scope = Scope {
            period,
            group_by,
            ticket_type: self.ticket_type,
            priority: self.priority,
            region,
            visibility,
            location_ids: None,
            key: None,
        };
        if group_by != GroupBy::Location {
            return Ok(Resolved { scope, sites: None });
        }
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::validation("limit", format!("must be between 1 and {MAX_LIMIT}")));
        }
        let after = self
            .cursor
            .map(|c| decode(&c).ok_or_else(|| ApiError::validation("cursor", "is not a cursor this list issued")))
            .transpose()?;
        // Keyset over the unique code (locations_code_key, or locations_region_idx by region).
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT id, code, name FROM locations WHERE ($1::text IS NULL OR code > $1) AND ($2::text IS NULL OR region = $2)
             ORDER BY code LIMIT $3",
        )
        .bind(after)
        .bind(scope.region.clone())
        .bind(limit + 1)
        .fetch_all(state.read_pool())
        .await?;
        let has_more = rows.len() as i64 > limit;
        let rows: Vec<_> = rows.into_iter().take(limit as usize).collect();
        let next = rows.last().filter(|_| has_more).map(|(_, code, _)| encode(code));
        scope.location_ids = Some(rows.iter().map(|(id, ..)| *id).collect());
        Ok(Resolved { scope, sites: Some((rows.into_iter().map(|(_, code, name)| (code, name)).collect(), next)) })
    }
}

fn encode(code: &str) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&serde_json::json!({ "c": code })).unwrap_or_default())
}

fn decode(cursor: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value["c"].as_str().map(str::to_string)
}

/// KPIs for the period, per group. Every signed-in role; a technician's figures cover only the
/// tickets assigned to them. Days are cut in each site's own zone; `from`/`to` are inclusive.
///
/// **Definitions** (`definition_version` changes whenever one does):
///
/// - **mttr_hours, mttr_working_hours** — MTTR (CM only): the mean of `resolved_at − created_at`, in hours, over the CM tickets resolved in the period (the resolution's site-local date within `from`..`to`; cancelled tickets are left out). `mttr_hours` is wall-clock time, holds included; `mttr_working_hours` is working time on the ticket's SLA calendar (in its site's zone) minus the working time the ticket spent on hold. Numerator: the sum of the hours; denominator: the tickets. Week and month groups place a ticket by its resolution.
/// - **mtbf_hours** — MTBF (per asset): for each asset, the mean time in hours between the creation of consecutive CM tickets on it, both created in the period (site-local dates; cancelled tickets are not failures and are left out); assets with fewer than two such tickets are not counted. A group's value is the mean over its assets: numerator = the sum of the per-asset means, denominator = the assets counted. The pairs are formed within a group, so by week or month (placed by creation) a gap spanning two buckets counts in neither.
/// - **sla_response_compliance, sla_resolution_compliance** — SLA compliance, response and resolution separately: lines met / lines due in the period. A line is due in the period when its due time (`response_due_at`, `resolution_due_at`, holds already added) falls in it at the site; it is met when its event (`responded_at`, `resolved_at`) came at or before the due time, and breached when the due time was crossed before the event (or with no event yet). Lines not yet decided — no event and the due time still ahead, or a resolution clock paused on hold before its due time — and cancelled tickets are left out of both. Week and month groups place a line by its due time.
/// - **first_time_fix_rate** — First-time fix rate: CM tickets closed in the period (the closure's site-local date) with exactly one `inside` visit and no new CM ticket (not cancelled, whoever it is assigned to) created on the same asset within 30 days after the closure / CM tickets closed in the period. Tickets whose 30 days are not over yet are left out of both and counted in `pending`. Week and month groups place a ticket by its closure.
/// - **pm_compliance** — PM compliance (SMRP style): PM tickets resolved by `scheduled_for` + 20 % of their plan's interval (at most 28 days; a month counts 30 days; a PM without a plan gets no grace) / PM tickets due in the period (`scheduled_for`'s site-local date; PM tickets without `scheduled_for` and cancelled ones are left out). A PM still unresolved before its grace ends is not yet decided and left out of both. Week and month groups place a ticket by `scheduled_for`.
/// - **reopen_rate** — Reopen rate: approvals rejected / approvals decided in the period (the decision's site-local date), a rejection sending a resolved ticket back to work. Grouped by the ticket's dimensions; week and month groups place an approval by its decision.
/// - **backlog** — Backlog: the tickets open at the end of `to` (site-local midnight ending that day, or now if that is later than now): created before it and neither resolved nor cancelled by then, judged by `resolved_at`/`cancelled_at`, so a past `to` shows the backlog as it stood (a rejected resolution clears `resolved_at`; resolved tickets awaiting approval are not backlog). Counted by age at that instant (`lt_1d` under 1 day, `d1_3` 1–3 days, `d3_7` 3–7, `d7_30` 7–30, `gt_30d` 30 days or more) and by status at that instant: the current status if it has not changed since, otherwise `in_progress` once responded to and `open` before. Week and month groups show the backlog at the end of each week or month (or of `to`, if earlier).
///
/// Each ratio is `{value, numerator, denominator}`, `value` = numerator / denominator or null
/// when the denominator is 0. `none`, `ticket_type`, `priority`, `week` and `month` list every
/// group even when empty; `region`, `asset_category` and `technician` the groups with data;
/// `location` is a cursor list over every site (`limit`, `next_cursor`) ordered by code.
#[utoipa::path(get, path = "/api/reports/kpis", tag = "reports", security(("bearer" = [])),
    params(KpiQuery),
    responses((status = 200, description = "The KPIs per group; for `Accept: text/csv`, the same figures as RFC 4180 CSV, one row per group and KPI: `key,kpi,value,numerator,denominator` (the backlog's parts and first-time fix `pending` as counts in `value`, kpi `backlog.total`, `backlog.by_age.lt_1d`, …)",
               content((KpiReport = "application/json"), (String = "text/csv")),
               headers(("Content-Disposition" = String, description = "CSV only: `attachment; filename=\"kpis-<date>.csv\"`"))),
              (status = 401, description = "Not signed in", body = nexus_shared::error::Problem),
              (status = 422, description = "`to` before `from`, more than 366 days, an unknown `group_by`, or a bad cursor", body = nexus_shared::error::Problem)))]
pub async fn kpis(
    State(state): State<AppState>,
    caller: Auth,
    headers: HeaderMap,
    Query(query): Query<KpiQuery>,
) -> ApiResult<Response> {
    let (from, to) = (query.from, query.to);
    let Resolved { scope, sites } = query.resolve(&state, Visibility::of(&caller)).await?;
    let report = build(state.read_pool(), &scope, sites, from, to).await?;
    if accepts_csv(&headers) {
        return Ok(csv(&report)?.into_response());
    }
    Ok(axum::Json(report).into_response())
}

/// The report of a resolved query: the rollup for the days it holds, live SQL for the rest
/// (today, days not rolled up yet).
pub async fn build(
    pool: &PgPool,
    scope: &Scope,
    sites: Option<SitePage>,
    from: NaiveDate,
    to: NaiveDate,
) -> ApiResult<KpiReport> {
    let coverage = Coverage::read(pool, scope.period).await?;
    let fresh_gaps = gaps(scope.period, &coverage.rolled);
    let (ftf_gaps, pm_gaps) = (gaps(scope.period, &coverage.ftf), gaps(scope.period, &coverage.settled));
    let (rolled_snaps, live_snaps): (Vec<_>, Vec<_>) =
        backlog::snapshots(scope).into_iter().partition(|(_, day)| coverage.rolled.binary_search(day).is_ok());
    let rolled_snaps: Vec<NaiveDate> = rolled_snaps.into_iter().map(|(_, day)| day).collect();
    // The rollup's days and, at once, live SQL over the gaps: the days it does not hold (for
    // first-time fix and PM compliance, the days not final in it).
    let (mtbf, sums, rolled_backlog, live_backlog, fresh, ftf, pm) = tokio::try_join!(
        kpis::mtbf::figures(pool, scope, &coverage.rolled, &fresh_gaps),
        rollup::sums(pool, scope, &coverage),
        rollup::backlog(pool, scope, rolled_snaps),
        backlog::figures_at(pool, scope, live_snaps),
        over_gaps(scope, &fresh_gaps, |s| async move {
            tokio::try_join!(
                kpis::mttr::figures(pool, &s),
                kpis::sla::figures(pool, &s, Line::Response),
                kpis::sla::figures(pool, &s, Line::Resolution),
                kpis::reopen::figures(pool, &s),
            )
        }),
        over_gaps(scope, &ftf_gaps, |s| async move { kpis::first_time_fix::figures(pool, &s).await }),
        over_gaps(scope, &pm_gaps, |s| async move { kpis::pm_compliance::figures(pool, &s).await }),
    )?;

    let group_by = scope.group_by;
    let mut groups = Groups::default();
    let next_cursor = match sites {
        Some((sites, next)) => {
            for (code, name) in sites {
                groups.slot(&code, Some(name), group_by);
            }
            next
        }
        None => {
            for (key, _) in group_by.fixed_groups(scope.period) {
                groups.slot(&key, None, group_by);
            }
            None
        }
    };
    let fixed = groups.list.len();
    groups.apply(mtbf, group_by, |g, r| g.mtbf_hours = r);
    groups.apply(sums, group_by, |g, s: Sums| {
        add_mttr(g, s.mttr);
        g.sla_response_compliance = g.sla_response_compliance.plus(s.response);
        g.sla_resolution_compliance = g.sla_resolution_compliance.plus(s.resolution);
        g.pm_compliance = g.pm_compliance.plus(s.pm);
        add_ftf(g, s.ftf);
        g.reopen_rate = g.reopen_rate.plus(s.reopen);
    });
    groups.apply(rolled_backlog, group_by, |g, b| g.backlog = g.backlog.plus(b));
    groups.apply(live_backlog, group_by, |g, b| g.backlog = g.backlog.plus(b));
    for (mttr, response, resolution, reopen) in fresh {
        groups.apply(mttr, group_by, add_mttr);
        groups.apply(response, group_by, |g, r| g.sla_response_compliance = g.sla_response_compliance.plus(r));
        groups.apply(resolution, group_by, |g, r| g.sla_resolution_compliance = g.sla_resolution_compliance.plus(r));
        groups.apply(reopen, group_by, |g, r| g.reopen_rate = g.reopen_rate.plus(r));
    }
    for f in ftf {
        groups.apply(f, group_by, add_ftf);
    }
    for p in pm {
        groups.apply(p, group_by, |g, r| g.pm_compliance = g.pm_compliance.plus(r));
    }
    let mut list = groups.list;
    // Groups found in the data follow the fixed ones, in key order (user ids numerically, `(none)` last).
    list[fixed..].sort_by(|a, b| match (a.key.parse::<i64>(), b.key.parse::<i64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        _ => a.key.cmp(&b.key),
    });
    Ok(KpiReport { definition_version: DEFINITION_VERSION, from, to, group_by, groups: list, next_cursor })
}

/// `f` over the scope of each gap in turn (gaps are few: today, days not rolled up yet).
async fn over_gaps<T, F: Future<Output = ApiResult<T>>>(
    scope: &Scope,
    gaps: &[Period],
    f: impl Fn(Scope) -> F,
) -> ApiResult<Vec<T>> {
    let mut out = Vec::with_capacity(gaps.len());
    for period in gaps {
        out.push(f(Scope { period: *period, ..scope.clone() }).await?);
    }
    Ok(out)
}

fn add_mttr(g: &mut KpiGroup, m: Mttr) {
    g.mttr_hours = g.mttr_hours.plus(m.wall);
    g.mttr_working_hours = g.mttr_working_hours.plus(m.working);
}

fn add_ftf(g: &mut KpiGroup, f: FirstTimeFix) {
    let old = g.first_time_fix_rate;
    g.first_time_fix_rate = FirstTimeFixFigure { rate: old.rate.plus(f.rate), pending: old.pending + f.pending };
}

/// The columns of the KPI CSV.
pub const CSV_COLUMNS: &[&str] = &["key", "kpi", "value", "numerator", "denominator"];

/// The report as RFC 4180 CSV: one row per group and KPI (`key, kpi, value, numerator,
/// denominator`); counts (first-time fix `pending`, the backlog's parts) carry only `value`.
pub fn csv(report: &KpiReport) -> ApiResult<CsvBody> {
    let mut w = CsvWriter::new(CSV_COLUMNS);
    let too_large = |_| {
        let most = nexus_shared::response_size::MAX_BODY_TEXT;
        ApiError::validation(
            "filter",
            format!("The export would exceed {most}; narrow it with from/to or a page of sites."),
        )
    };
    for g in &report.groups {
        let ratios = [
            ("mttr_hours", g.mttr_hours),
            ("mttr_working_hours", g.mttr_working_hours),
            ("mtbf_hours", g.mtbf_hours),
            ("sla_response_compliance", g.sla_response_compliance),
            ("sla_resolution_compliance", g.sla_resolution_compliance),
            ("first_time_fix_rate", g.first_time_fix_rate.rate),
            ("pm_compliance", g.pm_compliance),
            ("reopen_rate", g.reopen_rate),
        ];
        for (kpi, r) in ratios {
            w.text(&g.key).value(kpi).opt_value(r.value).value(r.numerator).value(r.denominator);
            w.end_row().map_err(too_large)?;
        }
        let b = &g.backlog;
        let counts = [
            ("first_time_fix_rate.pending", g.first_time_fix_rate.pending),
            ("backlog.total", b.total),
            ("backlog.by_age.lt_1d", b.by_age.lt_1d),
            ("backlog.by_age.d1_3", b.by_age.d1_3),
            ("backlog.by_age.d3_7", b.by_age.d3_7),
            ("backlog.by_age.d7_30", b.by_age.d7_30),
            ("backlog.by_age.gt_30d", b.by_age.gt_30d),
            ("backlog.by_status.open", b.by_status.open),
            ("backlog.by_status.assigned", b.by_status.assigned),
            ("backlog.by_status.in_progress", b.by_status.in_progress),
            ("backlog.by_status.on_hold", b.by_status.on_hold),
        ];
        for (kpi, n) in counts {
            w.text(&g.key).value(kpi).value(n).opt_value(None::<i64>).opt_value(None::<i64>);
            w.end_row().map_err(too_large)?;
        }
    }
    let filename = format!("kpis-{}.csv", chrono::Utc::now().format("%Y-%m-%d"));
    Ok(CsvBody { filename, body: w.into_string() })
}

#[derive(Default)]
struct Groups {
    list: Vec<KpiGroup>,
    index: HashMap<String, usize>,
}

impl Groups {
    fn slot(&mut self, key: &str, label: Option<String>, group_by: GroupBy) -> usize {
        if let Some(&i) = self.index.get(key) {
            return i;
        }
        self.list.push(KpiGroup {
            key: key.to_string(),
            label: group_by.label(key, label.as_deref()),
            mttr_hours: Ratio::default(),
            mttr_working_hours: Ratio::default(),
            mtbf_hours: Ratio::default(),
            sla_response_compliance: Ratio::default(),
            sla_resolution_compliance: Ratio::default(),
            first_time_fix_rate: FirstTimeFixFigure::default(),
            pm_compliance: Ratio::default(),
            reopen_rate: Ratio::default(),
            backlog: Backlog::default(),
        });
        self.index.insert(key.to_string(), self.list.len() - 1);
        self.list.len() - 1
    }

    fn apply<T>(&mut self, figures: Vec<Figure<T>>, group_by: GroupBy, set: impl Fn(&mut KpiGroup, T)) {
        for f in figures {
            let i = self.slot(&f.key, f.label, group_by);
            set(&mut self.list[i], f.value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The OpenAPI description states every definition the formulas use, word for word.
    #[test]
    fn the_description_states_every_definition() {
        let (_, api) = crate::routes().split_for_parts();
        let op = serde_json::to_value(&api.paths.paths["/api/reports/kpis"]).unwrap();
        let description = op["get"]["description"].as_str().unwrap().replace('\n', " ");
        for (name, definition) in kpis::DEFINITIONS {
            assert!(description.contains(&definition.replace('\n', " ")), "{name} is not stated as defined");
        }
    }
}
