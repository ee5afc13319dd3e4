//! `report-rollup`: the scheduled Lambda that keeps the daily KPI rollup (`kpi_daily`) that
//! `GET /api/reports/kpis` reads for days that are over, so a report over a year does not scan
//! the tickets of that year.
//!
//! - **What a day holds**: per (site, type, priority, asset category, assignee), the additive
//!   parts of every KPI placed on that site-local day by its own event (MTTR sums by resolution,
//!   SLA lines by due time, PM by `scheduled_for`, first-time fix by closure, reopen by the
//!   decision) and the backlog at the end of the day; and national rows (site 0, no assignee)
//!   summing them per type, priority and category, which national reports read alone; and
//!   MTBF's rows (`kpi_failures`: per asset, the day's first and last CM failure and their count).
//!   Each part is computed by the report's own population SQL
//!   (`nexus_reports::kpis::*::push_population`) for that one day, so a rolled-up
//!   day and a live one cannot disagree by construction.
//! - **Which days**: a day is rolled up once it is over at every site (UTC−12 included). Each run
//!   rebuilds the last [`RECENT_DAYS`] such days (late events, up to 72 h, change them), plus at
//!   most [`BACKFILL_PER_RUN`] older days of the last [`HORIZON_DAYS`], newest first: days never
//!   rolled up (a fresh deploy) and days that have since settled.
//! - **Settled**: first-time fix waits 30 days after a closure and PM compliance up to 28 days
//!   after `scheduled_for`; a day rebuilt [`SETTLE_DAYS`] days after it ended everywhere has every
//!   figure final (late events included) and is marked settled. The report reads those two KPIs
//!   from the rollup only for settled days, and live (through their indexes) otherwise.
//! - **Rebuilding a day** deletes and inserts its rows in one transaction under a per-day
//!   advisory lock: idempotent, and concurrent runs do not collide. Its cost follows the tickets
//!   with an event on that day (each population reads an index range on its instant), plus the
//!   tickets open at its end.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, Days, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use nexus_reports::group::GroupBy;
use nexus_reports::kpis::sla::Line;
use nexus_reports::kpis::{self, Scope, backlog, first_time_fix, mtbf, mttr, pm_compliance};
use nexus_reports::period::Period;
use nexus_shared::ApiError;
use nexus_shared::sla::Calendar;
use nexus_shared::ticket::{Visibility, load_calendar};
use serde::Serialize;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

/// Days rebuilt by every run, ending with the last day that is over everywhere.
pub const RECENT_DAYS: u64 = 4;
/// Older days (missing, or settled since their last rebuild) rebuilt per run at most.
pub const BACKFILL_PER_RUN: usize = 16;
/// How far back a run looks for days to backfill: a year's report and its settling.
pub const HORIZON_DAYS: u64 = 400;
/// Days after a day ended everywhere before its figures are final: 30 days of first-time fix
/// window (PM grace is at most 28), 72 h of late events, a day of slack.
pub const SETTLE_DAYS: i64 = 34;

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RollupReport {
    /// Days deleted and written again.
    pub days_rebuilt: u64,
    /// Rows written over those days.
    pub rows_written: u64,
    /// Older days still to backfill or settle after this run.
    pub backfill_pending: u64,
}

/// The last date that is over at every site at `now`: a date ends latest at UTC−12, 12:00 UTC
/// the next day.
pub fn last_over(now: DateTime<Utc>) -> NaiveDate {
    let date = (now - Duration::hours(12)).date_naive();
    date.pred_opt().unwrap_or(date)
}

/// One run at `now` (the schedule's `time`): the last [`RECENT_DAYS`] days, then a batch of
/// older days to backfill or settle.
pub async fn run(pool: &PgPool, now: DateTime<Utc>) -> Result<RollupReport, ApiError> {
    let last = last_over(now);
    let mut days: Vec<NaiveDate> = (0..RECENT_DAYS).filter_map(|i| last.checked_sub_days(Days::new(i))).collect();
    let oldest = last.checked_sub_days(Days::new(HORIZON_DAYS)).unwrap_or(last);
    let newest_old = last.checked_sub_days(Days::new(RECENT_DAYS)).unwrap_or(last);
    let older = candidates(pool, oldest, newest_old).await?;
    let pending = older.len().saturating_sub(BACKFILL_PER_RUN) as u64;
    days.extend(older.into_iter().take(BACKFILL_PER_RUN));
    let mut report = RollupReport { backfill_pending: pending, ..RollupReport::default() };
    for day in days {
        report.rows_written += rebuild(pool, day).await?;
        report.days_rebuilt += 1;
    }
    Ok(report)
}

/// SQL: the instant a day (`$d`) settles.
fn settles_at(day: &str) -> String {
    format!("(({day} + 1)::timestamp AT TIME ZONE 'UTC' + interval '12 hours' + interval '{SETTLE_DAYS} days')")
}

/// The days from `oldest` to `newest` (newest first) that are not rolled up, or were rolled up
/// before they settled and have settled since.
async fn candidates(pool: &PgPool, oldest: NaiveDate, newest: NaiveDate) -> Result<Vec<NaiveDate>, ApiError> {
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT d::date FROM generate_series($1::date, $2::date, interval '1 day') d
         LEFT JOIN kpi_rollup_days r ON r.day = d::date
         WHERE r.day IS NULL OR (NOT r.settled AND now() >= {})
         ORDER BY d DESC",
        settles_at("d::date")
    )))
    .bind(oldest)
    .bind(newest)
    .fetch_all(pool)
    .await?)
}

/// The dimensions of a rollup row, as the populations select them.
const DIMS: &str =
    "t.location_id AS loc, t.ticket_type AS tt, t.priority AS pr, a.category AS cat, t.assigned_to AS asg";

/// The measures the set-based part writes, in `kpi_daily`'s names (MTTR is written apart).
const MEASURES: [&str; 21] = [
    "response_met",
    "response_due",
    "resolution_met",
    "resolution_due",
    "pm_met",
    "pm_due",
    "ftf_fixed",
    "ftf_decided",
    "ftf_pending",
    "reopen_rejected",
    "reopen_decided",
    "backlog_total",
    "backlog_lt_1d",
    "backlog_d1_3",
    "backlog_d3_7",
    "backlog_d7_30",
    "backlog_gt_30d",
    "backlog_open",
    "backlog_assigned",
    "backlog_in_progress",
    "backlog_on_hold",
];

/// `SELECT loc, tt, pr, cat, asg, <every measure> FROM (<population>) x`: the named measures as
/// given (SQL over the population's columns, as integers), the others 0.
fn push_part(
    qb: &mut QueryBuilder<Postgres>,
    set: &[(&str, &str)],
    population: impl FnOnce(&mut QueryBuilder<Postgres>),
) {
    qb.push("SELECT loc, tt, pr, cat, asg");
    for m in MEASURES {
        match set.iter().find(|(name, _)| *name == m) {
            Some((_, sql)) => qb.push(format_args!(", ({sql})::int::int8 AS {m}")),
            None => qb.push(format_args!(", 0::int8 AS {m}")),
        };
    }
    qb.push(" FROM (");
    population(qb);
    qb.push(") x");
}

/// The scope of one day over every ticket, keyed so that the asset is joined (`a`).
fn day_scope(day: NaiveDate) -> Scope {
    Scope {
        period: Period { from: day, to: day },
        group_by: GroupBy::AssetCategory,
        ticket_type: None,
        priority: None,
        region: None,
        visibility: Visibility::All,
        location_ids: None,
        key: None,
    }
}

/// Rebuilds one site-local day (backfill, or a day changed by hand): deletes its rows and
/// writes them again in one transaction; the rows written. Idempotent. A day not over at every
/// site yet is refused (422 `day`).
pub async fn rebuild(pool: &PgPool, day: NaiveDate) -> Result<u64, ApiError> {
    if day > last_over(Utc::now()) {
        return Err(ApiError::validation("day", "is not over at every site yet"));
    }
    let scope = day_scope(day);
    let mut tx = pool.begin().await?;
    // One rebuild of a day at a time (key: 'KPI', days since 2000-01-01).
    let since = (day - NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or(day)).num_days() as i32;
    sqlx::query("SELECT pg_advisory_xact_lock(4935753, $1)").bind(since).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM kpi_daily WHERE day = $1").bind(day).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM kpi_failures WHERE day = $1").bind(day).execute(&mut *tx).await?;

    let mut qb =
        QueryBuilder::new("INSERT INTO kpi_daily (day, location_id, ticket_type, priority, asset_category, assignee");
    for m in MEASURES {
        qb.push(format_args!(", {m}"));
    }
    qb.push(") SELECT ").push_bind(day).push(", loc, tt, pr, cat, asg");
    for m in MEASURES {
        qb.push(format_args!(", sum({m})"));
    }
    qb.push(" FROM (");
    let columns = |measures: &str| format!("{DIMS}, {measures}");
    for (i, line) in [Line::Response, Line::Resolution].into_iter().enumerate() {
        let (met, due) = if i == 0 { ("response_met", "response_due") } else { ("resolution_met", "resolution_due") };
        push_part(&mut qb, &[(met, "met"), (due, "1")], |qb| {
            kpis::sla::push_population(&scope, line, qb, &columns(&format!("{} AS met", line.met())))
        });
        qb.push(" UNION ALL ");
    }
    push_part(&mut qb, &[("pm_met", "met"), ("pm_due", "1")], |qb| {
        pm_compliance::push_population(&scope, qb, &columns(&format!("{} AS met", pm_compliance::met())))
    });
    qb.push(" UNION ALL ");
    push_part(
        &mut qb,
        &[("ftf_fixed", "NOT pending AND fixed"), ("ftf_decided", "NOT pending"), ("ftf_pending", "pending")],
        |qb| {
            let measures = format!("{} AS pending, {} AS fixed", first_time_fix::PENDING, first_time_fix::FIXED);
            first_time_fix::push_population(&scope, qb, &columns(&measures))
        },
    );
    qb.push(" UNION ALL ");
    push_part(&mut qb, &[("reopen_rejected", "rejected"), ("reopen_decided", "1")], |qb| {
        kpis::reopen::push_population(&scope, qb, &columns("ap.decision = 'reject' AS rejected"))
    });
    qb.push(" UNION ALL ");
    let status = format!("({})", backlog::STATUS_THEN);
    let age = "asof - created_at";
    let lt1 = format!("{age} < interval '1 day'");
    let d13 = format!("{age} >= interval '1 day' AND {age} < interval '3 days'");
    let d37 = format!("{age} >= interval '3 days' AND {age} < interval '7 days'");
    let d730 = format!("{age} >= interval '7 days' AND {age} < interval '30 days'");
    let gt30 = format!("{age} >= interval '30 days'");
    let st = |s: &str| format!("{status} = '{s}'");
    let (open, assigned, in_progress, on_hold) = (st("open"), st("assigned"), st("in_progress"), st("on_hold"));
    push_part(
        &mut qb,
        &[
            ("backlog_total", "1"),
            ("backlog_lt_1d", &lt1),
            ("backlog_d1_3", &d13),
            ("backlog_d3_7", &d37),
            ("backlog_d7_30", &d730),
            ("backlog_gt_30d", &gt30),
            ("backlog_open", &open),
            ("backlog_assigned", &assigned),
            ("backlog_in_progress", &in_progress),
            ("backlog_on_hold", &on_hold),
        ],
        |qb| backlog::push_population(&scope, qb, DIMS),
    );
    qb.push(") parts GROUP BY loc, tt, pr, cat, asg");
    qb.build().execute(&mut *tx).await?;
    write_mttr(&mut tx, &scope, day).await?;
    write_failures(&mut tx, &scope, day).await?;
    // The national rows: the site rows summed per type, priority and category.
    let mut qb = QueryBuilder::new(
        "INSERT INTO kpi_daily (day, location_id, ticket_type, priority, asset_category, assignee, mttr_count,
            mttr_wall_hours, mttr_working_hours",
    );
    for m in MEASURES {
        qb.push(format_args!(", {m}"));
    }
    qb.push(") SELECT day, 0, ticket_type, priority, asset_category, NULL, sum(mttr_count), sum(mttr_wall_hours), sum(mttr_working_hours)");
    for m in MEASURES {
        qb.push(format_args!(", sum({m})"));
    }
    qb.push(" FROM kpi_daily WHERE day = ").push_bind(day);
    qb.push(" AND location_id <> 0 GROUP BY day, ticket_type, priority, asset_category");
    qb.build().execute(&mut *tx).await?;
    let rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM kpi_daily WHERE day = $1").bind(day).fetch_one(&mut *tx).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO kpi_rollup_days (day, rolled_at, settled) VALUES ($1, now(), now() >= {0})
         ON CONFLICT (day) DO UPDATE SET rolled_at = now(), settled = now() >= {0}",
        settles_at("$1::date")
    )))
    .bind(day)
    .execute(&mut *tx)
    .await?;
    mtbf::write_buckets(&mut tx, day).await?;
    tx.commit().await?;
    Ok(rows as u64)
}

/// MTBF's rows of the day: per asset and dimensions, the first and last CM failure and their
/// count (the report merges days per asset).
async fn write_failures(conn: &mut PgConnection, scope: &Scope, day: NaiveDate) -> Result<(), ApiError> {
    let mut qb = QueryBuilder::new(
        "INSERT INTO kpi_failures (day, asset_id, location_id, priority, asset_category, assignee, first_at, last_at, failures)
         SELECT ",
    );
    qb.push_bind(day).push(", asset_id, loc, pr, cat, asg, min(created_at), max(created_at), count(*) FROM (");
    mtbf::push_failures(scope, &mut qb, &format!("t.asset_id, {DIMS}, t.created_at"));
    qb.push(") f GROUP BY asset_id, loc, pr, cat, asg");
    qb.build().execute(&mut *conn).await?;
    Ok(())
}

type Dims = (i64, String, String, Option<String>, Option<i64>);

/// MTTR's parts of the day: working time is walked on each ticket's calendar (as the live
/// report does), summed per row, and merged into the rows written.
async fn write_mttr(conn: &mut PgConnection, scope: &Scope, day: NaiveDate) -> Result<(), ApiError> {
    let mut qb = QueryBuilder::new("");
    mttr::push_population(
        scope,
        &mut qb,
        &format!("{DIMS}, t.created_at, t.resolved_at, t.held_seconds, t.sla_calendar_id, l.timezone"),
    );
    type Row = (
        String,
        Option<String>,
        i64,
        String,
        String,
        Option<String>,
        Option<i64>,
        DateTime<Utc>,
        DateTime<Utc>,
        i64,
        i64,
        String,
    );
    let rows: Vec<Row> = qb.build_query_as().fetch_all(&mut *conn).await?;
    let mut calendars: HashMap<i64, Calendar> = HashMap::new();
    let mut sums: HashMap<Dims, (i64, f64, f64)> = HashMap::new();
    for (_, _, loc, tt, pr, cat, asg, created, resolved, held, calendar_id, timezone) in rows {
        if let std::collections::hash_map::Entry::Vacant(slot) = calendars.entry(calendar_id) {
            slot.insert(load_calendar(&mut *conn, calendar_id).await?);
        }
        let tz = Tz::from_str(&timezone).unwrap_or(chrono_tz::Asia::Jakarta);
        let working = mttr::working_hours(&calendars[&calendar_id], tz, created, resolved, held);
        let s = sums.entry((loc, tt, pr, cat, asg)).or_default();
        *s = (s.0 + 1, s.1 + mttr::wall_hours(created, resolved), s.2 + working);
    }
    if sums.is_empty() {
        return Ok(());
    }
    let n = sums.len();
    let (mut locs, mut types, mut priorities) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut categories, mut assignees) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut counts, mut walls, mut workings) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    for ((loc, tt, pr, cat, asg), (count, wall, working)) in sums {
        locs.push(loc);
        types.push(tt);
        priorities.push(pr);
        categories.push(cat);
        assignees.push(asg);
        counts.push(count);
        walls.push(wall);
        workings.push(working);
    }
    sqlx::query(
        "INSERT INTO kpi_daily (day, location_id, ticket_type, priority, asset_category, assignee,
             mttr_count, mttr_wall_hours, mttr_working_hours)
         SELECT $1, * FROM unnest($2::int8[], $3::text[], $4::text[], $5::text[], $6::int8[], $7::int8[], $8::float8[], $9::float8[])
         ON CONFLICT (day, location_id, ticket_type, priority, COALESCE(asset_category, ''), COALESCE(assignee, 0))
         DO UPDATE SET mttr_count = EXCLUDED.mttr_count, mttr_wall_hours = EXCLUDED.mttr_wall_hours,
             mttr_working_hours = EXCLUDED.mttr_working_hours",
    )
    .bind(day)
    .bind(locs)
    .bind(types)
    .bind(priorities)
    .bind(categories)
    .bind(assignees)
    .bind(counts)
    .bind(walls)
    .bind(workings)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
