//! Reading the daily rollup (`kpi_daily`, written by the `report-rollup` scheduled function):
//! which days of a period it holds, the gaps the report reads live, and the sums per group.
//!
//! A day is read from the rollup when `kpi_rollup_days` lists it (the function rolls up only
//! days that are over at every site); PM compliance only when that day is also `settled`
//! (rebuilt after its grace ended, see the function), first-time fix when settled or while every
//! closure of the day is still pending ([`Coverage::read`]). MTBF
//! pairs consecutive failures, which no daily sum holds: its rollup (`kpi_failures`) keeps each
//! asset's first and last failure and their count per day, merged per asset by the report.

use chrono::{Days, NaiveDate};
use nexus_shared::ApiResult;
use nexus_shared::ticket::Visibility;
use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::group::GroupBy;
use crate::kpis::backlog::{self, Backlog};
use crate::kpis::first_time_fix::FirstTimeFix;
use crate::kpis::mttr::Mttr;
use crate::kpis::{Figure, Ratio, Scope};
use crate::period::Period;

/// The days of a period the rollup holds, ascending.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    /// Rolled up: every KPI but first-time fix and PM compliance may be read from the rollup.
    pub rolled: Vec<NaiveDate>,
    /// Rolled up after they settled: PM compliance too.
    pub settled: Vec<NaiveDate>,
    /// First-time fix too: the settled days, and the days whose closures were all still pending
    /// when last rebuilt and still are (see [`Coverage::read`]).
    pub ftf: Vec<NaiveDate>,
}

impl Coverage {
    /// The period's rolled-up days that are over at every site (a day rebuilt by hand before
    /// it ended is not trusted).
    ///
    /// First-time fix of a day that has not settled is final in the rollup while none of its
    /// closures' 30-day windows has ended (the earliest begins at the day's start at UTC+14) and
    /// the last rebuild came after its late events (72 h after the day ended at UTC−12): every
    /// closure counts as pending, then as now. Only the few days around the windows' end (and
    /// the recent ones) are read live.
    pub async fn read(pool: &PgPool, period: Period) -> ApiResult<Coverage> {
        let rows: Vec<(NaiveDate, bool, bool)> = sqlx::query_as(
            "SELECT day, settled, settled OR (
                     rolled_at >= (day + 1)::timestamp AT TIME ZONE 'UTC' + interval '12 hours' + interval '72 hours'
                     AND now() < day::timestamp AT TIME ZONE 'UTC' - interval '14 hours' + interval '30 days')
             FROM kpi_rollup_days WHERE day BETWEEN $1 AND $2
                 AND day < (now() AT TIME ZONE 'UTC' - interval '12 hours')::date ORDER BY day",
        )
        .bind(period.from)
        .bind(period.to)
        .fetch_all(pool)
        .await?;
        let settled = rows.iter().filter(|(_, s, _)| *s).map(|(d, ..)| *d).collect();
        let ftf = rows.iter().filter(|(.., f)| *f).map(|(d, ..)| *d).collect();
        Ok(Coverage { rolled: rows.into_iter().map(|(d, ..)| d).collect(), settled, ftf })
    }
}

/// The maximal runs of days of `period` missing from `have` (ascending): what is read live.
pub fn gaps(period: Period, have: &[NaiveDate]) -> Vec<Period> {
    let mut out = Vec::new();
    let mut start: Option<NaiveDate> = None;
    let mut day = period.from;
    loop {
        let missing = have.binary_search(&day).is_err();
        match (missing, start) {
            (true, None) => start = Some(day),
            (false, Some(s)) => {
                out.push(Period { from: s, to: day.pred_opt().unwrap_or(day) });
                start = None;
            }
            _ => {}
        }
        if day >= period.to {
            break;
        }
        day = day.checked_add_days(Days::new(1)).unwrap_or(period.to);
    }
    if let Some(s) = start {
        out.push(Period { from: s, to: period.to });
    }
    out
}

/// One group's sums over its rolled-up days.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sums {
    pub mttr: Mttr,
    pub response: Ratio,
    pub resolution: Ratio,
    pub pm: Ratio,
    pub ftf: FirstTimeFix,
    pub reopen: Ratio,
}

/// Whether the national rows answer the scope: no site, region or assignee in its filters,
/// grouping or visibility.
pub(crate) fn national(scope: &Scope) -> bool {
    scope.region.is_none()
        && scope.location_ids.is_none()
        && scope.visibility == Visibility::All
        && !matches!(scope.group_by, GroupBy::Region | GroupBy::Location | GroupBy::Technician)
}

/// A rollup table as the report reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    /// `kpi_daily`: rows per site and national rows (site 0).
    Daily,
    /// `kpi_failures` (every failure is a CM ticket): rows per site and asset only; a national
    /// report reads them all without joining the sites.
    Failures,
}

/// `… FROM <table> k JOIN <days> r JOIN locations l … WHERE <the scope's filters>`, ready for
/// ` AND …`; `r` is `(day, settled, ftf)` of the days to read (PM compliance and first-time fix
/// may be read from the rollup).
fn push_from(
    scope: &Scope,
    qb: &mut QueryBuilder<Postgres>,
    key: &str,
    table: Table,
    days: Vec<NaiveDate>,
    settled: Vec<bool>,
    ftf: Vec<bool>,
) {
    match table {
        Table::Daily => qb.push(" FROM kpi_daily k"),
        Table::Failures => qb.push(" FROM (SELECT *, 'CM'::text AS ticket_type FROM kpi_failures) k"),
    };
    qb.push(" JOIN unnest(").push_bind(days).push("::date[], ").push_bind(settled).push("::bool[], ");
    qb.push_bind(ftf).push("::bool[]) AS r (day, settled, ftf) ON r.day = k.day");
    if national(scope) {
        // Neither site, region nor assignee matters: the national rows alone (every failure row).
        qb.push(match table {
            Table::Daily => " WHERE k.location_id = 0",
            Table::Failures => " WHERE true",
        });
        if let Some(ticket_type) = scope.ticket_type {
            qb.push(" AND k.ticket_type = ").push_bind(ticket_type.as_str());
        }
        if let Some(priority) = scope.priority {
            qb.push(" AND k.priority = ").push_bind(priority.as_str());
        }
        if let Some(k) = &scope.key {
            qb.push(format_args!(" AND {key} = ")).push_bind(k.clone());
        }
        return;
    }
    // The site rows (the join leaves out the national rows, site 0).
    qb.push(format_args!(" JOIN locations l ON l.id = k.location_id{} WHERE true", scope.group_by.rollup_joins()));
    if let Visibility::AssignedTo(user_id) = scope.visibility {
        qb.push(" AND k.assignee = ").push_bind(user_id);
    }
    if let Some(ticket_type) = scope.ticket_type {
        qb.push(" AND k.ticket_type = ").push_bind(ticket_type.as_str());
    }
    if let Some(priority) = scope.priority {
        qb.push(" AND k.priority = ").push_bind(priority.as_str());
    }
    if let Some(region) = &scope.region {
        qb.push(" AND l.region = ").push_bind(region.clone());
    }
    if let Some(ids) = &scope.location_ids {
        qb.push(" AND k.location_id = ANY(").push_bind(ids.clone()).push(")");
    }
    if let Some(k) = &scope.key {
        qb.push(format_args!(" AND {key} = ")).push_bind(k.clone());
    }
}

/// `SELECT key, label, asset_id, first_at, last_at, failures FROM kpi_failures …`: MTBF's
/// rolled-up failures of `days` (ascending), per group key and asset.
pub fn push_failures(scope: &Scope, qb: &mut QueryBuilder<Postgres>, days: &[NaiveDate]) {
    let key = scope.group_by.rollup_key_sql();
    qb.push(format_args!(
        "SELECT {key} AS key, {} AS label, k.asset_id, k.first_at, k.last_at, k.failures",
        scope.group_by.label_sql()
    ));
    let (first, last) = (days.first().copied(), days.last().copied());
    push_from(scope, qb, &key, Table::Failures, days.to_vec(), vec![false; days.len()], vec![false; days.len()]);
    qb.push(" AND k.day BETWEEN ").push_bind(first).push(" AND ").push_bind(last);
}

/// Every additive KPI per group over the rolled-up days of the period, in one pass over the
/// rows (PM compliance over the settled days only, first-time fix over [`Coverage::ftf`]).
pub async fn sums(pool: &PgPool, scope: &Scope, coverage: &Coverage) -> ApiResult<Vec<Figure<Sums>>> {
    let (Some(&first), Some(&last)) = (coverage.rolled.first(), coverage.rolled.last()) else {
        return Ok(Vec::new());
    };
    let key = scope.group_by.rollup_key_sql();
    let flag =
        |days: &[NaiveDate]| -> Vec<bool> { coverage.rolled.iter().map(|d| days.binary_search(d).is_ok()).collect() };
    let (settled, ftf) = (flag(&coverage.settled), flag(&coverage.ftf));
    let mut qb = QueryBuilder::new(format!(
        "SELECT {key} AS key, {} AS label,
            sum(k.mttr_count)::int8, sum(k.mttr_wall_hours)::float8, sum(k.mttr_working_hours)::float8,
            sum(k.response_met)::float8, sum(k.response_due)::int8,
            sum(k.resolution_met)::float8, sum(k.resolution_due)::int8,
            COALESCE(sum(k.pm_met) FILTER (WHERE r.settled), 0)::float8,
            COALESCE(sum(k.pm_due) FILTER (WHERE r.settled), 0)::int8,
            COALESCE(sum(k.ftf_fixed) FILTER (WHERE r.ftf), 0)::float8,
            COALESCE(sum(k.ftf_decided) FILTER (WHERE r.ftf), 0)::int8,
            COALESCE(sum(k.ftf_pending) FILTER (WHERE r.ftf), 0)::int8,
            sum(k.reopen_rejected)::float8, sum(k.reopen_decided)::int8",
        scope.group_by.label_sql()
    ));
    push_from(scope, &mut qb, &key, Table::Daily, coverage.rolled.clone(), settled, ftf);
    // The index range of the days (the join above keeps exactly the listed ones).
    qb.push(" AND k.day BETWEEN ").push_bind(first).push(" AND ").push_bind(last);
    qb.push(" GROUP BY 1, 2");
    type Row = (String, Option<String>, i64, f64, f64, f64, i64, f64, i64, f64, i64, f64, i64, i64, f64, i64);
    let rows: Vec<Row> = qb.build_query_as().fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .map(|(key, label, n, wall, working, rm, rd, sm, sd, pm, pd, ff, fd, fp, rr, rdc)| Figure {
            key,
            label,
            value: Sums {
                mttr: Mttr { wall: Ratio::new(wall, n), working: Ratio::new(working, n) },
                response: Ratio::new(rm, rd),
                resolution: Ratio::new(sm, sd),
                pm: Ratio::new(pm, pd),
                ftf: FirstTimeFix { rate: Ratio::new(ff, fd), pending: fp },
                reopen: Ratio::new(rr, rdc),
            },
        })
        .collect())
}

/// The backlog per group at the end of each of `days` (rolled-up snapshot days); a week or
/// month group's key is that of its snapshot day.
pub async fn backlog(pool: &PgPool, scope: &Scope, days: Vec<NaiveDate>) -> ApiResult<Vec<Figure<Backlog>>> {
    if days.is_empty() {
        return Ok(Vec::new());
    }
    let key = scope.group_by.rollup_key_sql();
    let mut qb = QueryBuilder::new(format!(
        "SELECT {key} AS key, {} AS label, sum(k.backlog_total)::int8,
            sum(k.backlog_lt_1d)::int8, sum(k.backlog_d1_3)::int8, sum(k.backlog_d3_7)::int8,
            sum(k.backlog_d7_30)::int8, sum(k.backlog_gt_30d)::int8,
            sum(k.backlog_open)::int8, sum(k.backlog_assigned)::int8, sum(k.backlog_in_progress)::int8,
            sum(k.backlog_on_hold)::int8",
        scope.group_by.label_sql()
    ));
    let unused = vec![false; days.len()];
    push_from(scope, &mut qb, &key, Table::Daily, days.clone(), unused.clone(), unused);
    qb.push(" AND k.day = ANY(").push_bind(days).push(") AND k.backlog_total > 0 GROUP BY 1, 2");
    backlog::read(qb, pool).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn gaps_are_the_runs_of_days_not_rolled_up() {
        let p = Period::new(d("2026-11-01"), d("2026-11-10")).unwrap();
        let span = |a: &str, b: &str| Period { from: d(a), to: d(b) };
        assert_eq!(gaps(p, &[]), vec![p]);
        let have: Vec<NaiveDate> = (1..=10).map(|n| d(&format!("2026-11-{n:02}"))).collect();
        assert_eq!(gaps(p, &have), vec![]);
        let some = [d("2026-10-30"), d("2026-11-02"), d("2026-11-03"), d("2026-11-07")];
        assert_eq!(
            gaps(p, &some),
            vec![span("2026-11-01", "2026-11-01"), span("2026-11-04", "2026-11-06"), span("2026-11-08", "2026-11-10")]
        );
    }
}
