//! Backlog: the open work at the end of the period, by age and by status.

use chrono::{DateTime, Days, NaiveDate, Utc};
use nexus_shared::ApiResult;
use serde::Serialize;
use sqlx::{PgPool, Postgres, QueryBuilder};
use utoipa::ToSchema;

use super::{Figure, Scope};

pub const DEFINITION: &str = "Backlog: the tickets open at the end of `to` (site-local midnight ending that day, \
or now if that is later than now): created before it and neither resolved nor cancelled by then, judged by \
`resolved_at`/`cancelled_at`, so a past `to` shows the backlog as it stood (a rejected resolution clears \
`resolved_at`; resolved tickets awaiting approval are not backlog). Counted by age at that instant (`lt_1d` \
under 1 day, `d1_3` 1–3 days, `d3_7` 3–7, `d7_30` 7–30, `gt_30d` 30 days or more) and by status at that instant: \
the current status if it has not changed since, otherwise `in_progress` once responded to and `open` before. \
Week and month groups show the backlog at the end of each week or month (or of `to`, if earlier).";

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, ToSchema)]
pub struct ByAge {
    pub lt_1d: i64,
    pub d1_3: i64,
    pub d3_7: i64,
    pub d7_30: i64,
    pub gt_30d: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, ToSchema)]
pub struct ByStatus {
    pub open: i64,
    pub assigned: i64,
    pub in_progress: i64,
    pub on_hold: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, ToSchema)]
pub struct Backlog {
    pub total: i64,
    pub by_age: ByAge,
    pub by_status: ByStatus,
}

impl Backlog {
    /// The sum of two disjoint counts (other sites or tickets at the same instant).
    pub fn plus(self, o: Backlog) -> Backlog {
        let (a, b) = (self.by_age, o.by_age);
        let (s, t) = (self.by_status, o.by_status);
        Backlog {
            total: self.total + o.total,
            by_age: ByAge {
                lt_1d: a.lt_1d + b.lt_1d,
                d1_3: a.d1_3 + b.d1_3,
                d3_7: a.d3_7 + b.d3_7,
                d7_30: a.d7_30 + b.d7_30,
                gt_30d: a.gt_30d + b.gt_30d,
            },
            by_status: ByStatus {
                open: s.open + t.open,
                assigned: s.assigned + t.assigned,
                in_progress: s.in_progress + t.in_progress,
                on_hold: s.on_hold + t.on_hold,
            },
        }
    }
}

/// The days whose end the backlog is counted at: one per week or month group, else `to`
/// (keyed `-`, the ticket's own group key applying).
pub fn snapshots(scope: &Scope) -> Vec<(String, NaiveDate)> {
    if scope.group_by.is_time() {
        scope.group_by.fixed_groups(scope.period)
    } else {
        vec![("-".into(), scope.period.to)]
    }
}

/// The tickets open at the end of each snapshot day (`s`), with `asof` (that end, or now) and
/// `status_then`.
pub fn push_population(scope: &Scope, qb: &mut QueryBuilder<Postgres>, columns: &str) {
    push_population_at(scope, snapshots(scope), qb, columns);
}

/// [`push_population`] at the given snapshots (key, day) only.
pub fn push_population_at(
    scope: &Scope,
    snaps: Vec<(String, NaiveDate)>,
    qb: &mut QueryBuilder<Postgres>,
    columns: &str,
) {
    let (keys, days): (Vec<String>, Vec<NaiveDate>) = snaps.into_iter().unzip();
    let first = days.iter().min().copied().unwrap_or(scope.period.to);
    let last = days.iter().max().copied().unwrap_or(scope.period.to);
    let midnight = |d: Option<NaiveDate>| -> DateTime<Utc> {
        d.unwrap_or(first).and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
    };
    // Every snapshot's end lies between these in any zone: the index ranges of the OR below.
    let (lo, hi) = (midnight(first.checked_sub_days(Days::new(1))), midnight(last.checked_add_days(Days::new(2))));

    qb.push("WITH snap (skey, day) AS (SELECT * FROM unnest(").push_bind(keys).push("::text[], ").push_bind(days);
    qb.push("::date[])) SELECT * FROM (");
    let key = if scope.group_by.is_time() { "s.skey".to_string() } else { scope.group_by.key_sql("t.created_at") };
    let columns = format!(
        "LEAST((s.day + 1)::timestamp AT TIME ZONE l.timezone, now()) AS asof,
         (s.day + 1)::timestamp AT TIME ZONE l.timezone AS day_end, t.created_at, t.resolved_at, t.cancelled_at,
         t.status, t.status_changed_at, t.responded_at, {columns}"
    );
    scope.push_select_keyed(qb, &key, &columns, "snap s CROSS JOIN tickets t");
    // Unfinished now, or finished after the earliest snapshot could end: three indexed sets.
    qb.push(" AND ((t.resolved_at IS NULL AND t.cancelled_at IS NULL) OR t.resolved_at >= ").push_bind(lo);
    qb.push(" OR t.cancelled_at >= ").push_bind(lo).push(") AND t.created_at < ").push_bind(hi);
    qb.push(
        ") o WHERE created_at < day_end AND (resolved_at IS NULL OR resolved_at >= day_end)
           AND (cancelled_at IS NULL OR cancelled_at >= day_end)",
    );
}

/// SQL over the population: the status at `asof`.
pub const STATUS_THEN: &str = "CASE WHEN resolved_at IS NULL AND cancelled_at IS NULL
        AND (status_changed_at IS NULL OR status_changed_at <= asof) THEN status
    WHEN responded_at <= asof THEN 'in_progress' ELSE 'open' END";

pub async fn figures(pool: &PgPool, scope: &Scope) -> ApiResult<Vec<Figure<Backlog>>> {
    figures_at(pool, scope, snapshots(scope)).await
}

/// The backlog at the given snapshots (key, day) only; none asked, none read.
pub async fn figures_at(
    pool: &PgPool,
    scope: &Scope,
    snaps: Vec<(String, NaiveDate)>,
) -> ApiResult<Vec<Figure<Backlog>>> {
    if snaps.is_empty() {
        return Ok(Vec::new());
    }
    let mut qb = QueryBuilder::new(format!(
        "SELECT key, label, count(*),
            count(*) FILTER (WHERE age < interval '1 day'),
            count(*) FILTER (WHERE age >= interval '1 day' AND age < interval '3 days'),
            count(*) FILTER (WHERE age >= interval '3 days' AND age < interval '7 days'),
            count(*) FILTER (WHERE age >= interval '7 days' AND age < interval '30 days'),
            count(*) FILTER (WHERE age >= interval '30 days'),
            count(*) FILTER (WHERE st = 'open'), count(*) FILTER (WHERE st = 'assigned'),
            count(*) FILTER (WHERE st = 'in_progress'), count(*) FILTER (WHERE st = 'on_hold')
         FROM (SELECT key, label, asof - created_at AS age, {STATUS_THEN} AS st FROM ("
    ));
    push_population_at(scope, snaps, &mut qb, "t.id");
    qb.push(") population) aged GROUP BY key, label");
    read(qb, pool).await
}

/// The figures of a query selecting `key, label, total, <the five ages>, <the four statuses>`
/// (the live population's counts or the rollup's sums).
pub async fn read(mut qb: QueryBuilder<Postgres>, pool: &PgPool) -> ApiResult<Vec<Figure<Backlog>>> {
    type Row = (String, Option<String>, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64);
    let rows: Vec<Row> = qb.build_query_as().fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .map(|(key, label, total, a1, a2, a3, a4, a5, open, assigned, in_progress, on_hold)| Figure {
            key,
            label,
            value: Backlog {
                total,
                by_age: ByAge { lt_1d: a1, d1_3: a2, d3_7: a3, d7_30: a4, gt_30d: a5 },
                by_status: ByStatus { open, assigned, in_progress, on_hold },
            },
        })
        .collect())
}
