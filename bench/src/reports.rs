//! `nexus-bench bench-reports`: the KPI report at fleet scale. 10,000 sites, 50,000 devices and
//! TICKETS tickets (default 500,000) from the scale preset (70 % closed over two years, the rest
//! active in the last three days); then every day of the last year rolled up one by one
//! (`nexus_report_rollup::rebuild`, timed per day), a steady-state run (the last four days), and
//! `GET /api/reports/kpis` for that year through the router, in process: national by month and
//! by location (first page), over the rollup and, for contrast, live (the rollup hidden). It
//! prints figures and asserts nothing.

use std::time::{Duration, Instant};

use chrono::{Days, Utc};
use nexus_local_runner::States;
use nexus_local_runner::generate::Preset;
use nexus_shared::ApiError;
use nexus_shared::auth::Role;

use crate::bench::{self, Figures};

const SITES: i64 = 10_000;
const DEVICES: i64 = 50_000;
/// Timed requests of each kind, after five untimed ones.
const RUNS: usize = 20;
/// Timed requests of the live (rollup hidden) contrast.
const LIVE_RUNS: usize = 3;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

pub async fn run(states: &States, tickets: i64) -> Result<(), ApiError> {
    let pool = &states.core.pool;
    let now = Utc::now();
    // NEXUS_BENCH_REUSE=data: the tickets of an earlier run stay (not loaded again); =rollup:
    // its rollup too, and only the requests run.
    let reuse = std::env::var("NEXUS_BENCH_REUSE").unwrap_or_default();
    if reuse == "rollup" {
        return requests(states, now).await;
    }
    if reuse != "data" {
        // NEXUS_BENCH_SHAPE=steady: the tickets of a steady flow instead of the scale preset's burst.
        let steady = std::env::var("NEXUS_BENCH_SHAPE").is_ok_and(|v| v == "steady");
        let preset =
            if steady { Preset::steady(SITES, DEVICES, tickets) } else { Preset::scale(SITES, DEVICES, tickets) };
        let loaded = bench::load_preset(states, preset).await?;
        sqlx::query("ANALYZE").execute(pool).await?;
        println!(
            "Loaded {SITES} sites, {DEVICES} devices and {tickets} tickets in {:.1} s ({})\n",
            loaded.as_secs_f64(),
            if steady {
                "steady flow: even arrivals over two years, older than a week closed but 1 %"
            } else {
                "scale preset: 70 % closed over two years, the rest active in the last three days"
            }
        );
    }

    // Roll up every day of the year that is over everywhere, one rebuild each.
    let today = now.date_naive();
    let from = today - Days::new(364);
    let last = nexus_report_rollup::last_over(now);
    let mut samples = Vec::new();
    let mut slowest = (Duration::ZERO, from, 0);
    let mut rows_total = 0;
    let started = Instant::now();
    let mut day = from;
    while day <= last {
        let t = Instant::now();
        let rows = nexus_report_rollup::rebuild(pool, day).await?;
        let took = t.elapsed();
        samples.push(took);
        rows_total += rows;
        if took > slowest.0 {
            slowest = (took, day, rows);
        }
        day = day + Days::new(1);
    }
    let days = samples.len();
    let all = started.elapsed();
    let per_day = Figures::of(samples);
    // As autovacuum would after the inserts: statistics, and the visibility map for index-only scans.
    sqlx::query("VACUUM (ANALYZE) kpi_daily, kpi_failures").execute(pool).await?;
    let size: String = sqlx::query_scalar(
        "SELECT pg_size_pretty(pg_total_relation_size('kpi_daily') + pg_total_relation_size('kpi_failures'))",
    )
    .fetch_one(pool)
    .await?;
    println!(
        "Rollup of {days} days ({from} to {last}): {rows_total} rows, {size} with indexes, {:.1} s in all\n",
        all.as_secs_f64()
    );
    println!("| rolling up one day | median ms | p95 ms | slowest ms (day, rows) |\n| --- | ---: | ---: | ---: |");
    println!(
        "| `rebuild(day)`, each day of the year | {:.1} | {:.1} | {:.1} ({}, {}) |",
        ms(per_day.median),
        ms(per_day.p95),
        ms(slowest.0),
        slowest.1,
        slowest.2
    );
    // Backfill what the run's horizon holds beyond the year, untimed; then the steady state.
    let mut backfill = Duration::ZERO;
    loop {
        let t = Instant::now();
        let report = nexus_report_rollup::run(pool, now).await?;
        backfill += t.elapsed();
        if report.backfill_pending == 0 {
            break;
        }
    }
    let steady = bench::measure_after(0, 3, async || nexus_report_rollup::run(pool, now).await.map(|_| ())).await?;
    println!(
        "| `run(now)`, steady state: the last {} days rebuilt, nothing to backfill (3 runs) | {:.1} | – | – |",
        nexus_report_rollup::RECENT_DAYS,
        ms(steady.median)
    );
    println!(
        "\n(Backfilling the rest of the run's {}-day horizon first took {:.1} s.)",
        nexus_report_rollup::HORIZON_DAYS,
        backfill.as_secs_f64()
    );
    requests(states, now).await
}

/// The report requests over a year to today, over the rollup and live.
async fn requests(states: &States, now: chrono::DateTime<Utc>) -> Result<(), ApiError> {
    let pool = &states.core.pool;
    let today = now.date_naive();
    let from = today - Days::new(364);
    let last = nexus_report_rollup::last_over(now);
    let (app, state) = (nexus_local_runner::app(states), &states.core);
    let region: String = sqlx::query_scalar(
        "SELECT region FROM locations WHERE region IS NOT NULL GROUP BY region ORDER BY count(*) DESC LIMIT 1",
    )
    .fetch_one(pool)
    .await?;
    let region = region.replace(' ', "%20");
    let token = bench::sign_in(state, Role::Supervisor).await;
    let queries = [
        (
            "every KPI, a year, national, `group_by=month`",
            format!("/api/reports/kpis?from={from}&to={today}&group_by=month"),
        ),
        (
            "every KPI, a year, `group_by=location` (10,000 sites, first page of 50)",
            format!("/api/reports/kpis?from={from}&to={today}&group_by=location"),
        ),
        ("every KPI, a year, `group_by=none`", format!("/api/reports/kpis?from={from}&to={today}")),
        (
            "every KPI, a year ending yesterday, national, `group_by=month` (no live day)",
            format!("/api/reports/kpis?from={}&to={last}&group_by=month", from - Days::new(1)),
        ),
        (
            "every KPI, a year, `group_by=month&region=<one of 20>`",
            format!("/api/reports/kpis?from={from}&to={today}&group_by=month&region={region}"),
        ),
        (
            "every KPI, a year, `group_by=technician`",
            format!("/api/reports/kpis?from={from}&to={today}&group_by=technician"),
        ),
    ];
    println!(
        "\n| request (in process, a year to today) | source | median ms | p95 ms | runs |\n| --- | --- | ---: | ---: | ---: |"
    );
    // NEXUS_BENCH_ONLY=<text>: only the requests whose label contains it, and no live contrast.
    let only = std::env::var("NEXUS_BENCH_ONLY").ok();
    for (label, uri) in queries.iter().filter(|(label, _)| only.as_ref().is_none_or(|o| label.contains(o.as_str()))) {
        let f = bench::measure(RUNS, async || bench::request_json(&app, uri, &token).await.map(|_| ())).await?;
        println!("| {label} | rollup + today live | {:.1} | {:.1} | {RUNS} |", ms(f.median), ms(f.p95));
    }
    if only.is_some() {
        return Ok(());
    }
    // The same, live: the rollup's days hidden (and put back).
    sqlx::query("CREATE TABLE kpi_rollup_days_hidden AS SELECT * FROM kpi_rollup_days").execute(pool).await?;
    sqlx::query("DELETE FROM kpi_rollup_days").execute(pool).await?;
    for (label, uri) in queries.iter().take(2) {
        let f = bench::measure_after(1, LIVE_RUNS, async || bench::request_json(&app, uri, &token).await.map(|_| ()))
            .await?;
        println!("| {label} | live only (no rollup) | {:.1} | {:.1} | {LIVE_RUNS} |", ms(f.median), ms(f.p95));
    }
    sqlx::query("INSERT INTO kpi_rollup_days SELECT * FROM kpi_rollup_days_hidden").execute(pool).await?;
    sqlx::query("DROP TABLE kpi_rollup_days_hidden").execute(pool).await?;
    Ok(())
}
