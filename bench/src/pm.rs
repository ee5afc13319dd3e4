//! `nexus-bench bench-pm`: the PM generator and the forecast at fleet scale. 1,000 plans (asset
//! lists, site lists, sites + a category, a region + a category, two fleet-wide categories;
//! daily, weekly and monthly; fixed and floating; 24x7 and an office calendar with a holiday)
//! over 50,000 devices at 10,000 sites, all seven days ahead, inserted set-based; then the
//! generator's first run (what a week ahead holds: ~10,000 tickets), its reruns, and the forecast
//! of one plan over 1,000 assets for a year through the `pm` router, in process. It prints
//! figures and asserts nothing.

use std::time::{Duration, Instant};

use chrono::{DateTime, Days, NaiveDate, Utc};
use nexus_local_runner::States;
use nexus_shared::auth::Role;
use nexus_shared::pm::GenerateReport;
use nexus_shared::{ApiError, AppState};
use sqlx::{AssertSqlSafe, PgPool};

use crate::bench::{self, Figures};

const SITES: i64 = 10_000;
const DEVICES: i64 = 50_000;
const PLANS: i32 = 1_000;
/// Timed runs of what can be repeated (a run that writes nothing), after five untimed ones.
const RERUNS: usize = 20;
/// Calendar the office plans move their dates by: Monday to Friday, a holiday three days in.
const OFFICE: &str = "Bench office hours (Mon–Fri 08:00–17:00)";

/// Loads the fleet (`tickets` ordinary tickets beside it), the plans, and prints every table.
pub async fn run(states: &States, tickets: i64) -> Result<(), ApiError> {
    let pool = &states.core.pool;
    let loaded = bench::load_fleet(states, SITES, DEVICES, tickets).await?;
    println!(
        "Loaded {SITES} sites, {DEVICES} devices and {tickets} tickets in {:.1} s (scale preset)",
        loaded.as_secs_f64()
    );
    // Site-local dates are what plans count in; the runs' instants are fixed against them.
    let today = Utc::now().date_naive();
    let at = |days: u64, hour: u32| {
        let now = (today + Days::new(days)).and_hms_opt(hour, 0, 0).expect("a valid hour").and_utc();
        (now, format!("T+{days} {hour:02}:00Z"))
    };
    let started = Instant::now();
    let plans = insert_plans(pool, today).await?;
    println!("Inserted {plans} PM plans in {:.0} ms (one statement)\n", ms(started.elapsed()));
    print_mix(pool).await?;

    println!(
        "\nGenerator runs (`nexus_shared::pm::generate`, in process; T = {today}, sites in UTC+7..+9, start times \
         07:00–10:00 local, 7 days ahead):\n"
    );
    println!(
        "| run | now | plans due | generated | skipped (open) | skipped (non-working) | ms (median) | p95 ms | runs |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    // (what, day, hour, repeatable: a run that writes nothing is timed RERUNS times).
    let runs = [
        ("first run: every date up to T+7 (a week ahead)", 0, 12, false),
        ("immediate rerun (same now)", 0, 12, true),
        ("same day, later: no date pending yet", 0, 16, true),
        ("same day, later: T+8's dates pending (due in UTC+14's lead time, at no site yet)", 0, 20, true),
        ("one day later: what T+8 brings", 1, 12, false),
        ("its immediate rerun", 1, 12, true),
        ("that day, later: T+9's dates pending, none due yet", 1, 20, true),
        ("that night: T+9's earliest starts reached (UTC+9 07:00–08:00, UTC+8 07:00)", 1, 23, false),
        ("its immediate rerun: nothing new, T+9's dates pending at the other sites (assets read)", 1, 23, true),
    ];
    let mut written_by_first = None;
    for (label, day, hour, repeatable) in runs {
        let (now, when) = at(day, hour);
        let (figures, report) = if repeatable { repeat(pool, now).await? } else { once(pool, now).await? };
        println!("{}", report_row(label, &when, &report, &figures, if repeatable { RERUNS } else { 1 }));
        if written_by_first.is_none() {
            written_by_first = Some(written(pool).await?);
        }
    }
    let pending: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pm_occurrences o JOIN pm_plans p ON p.id = o.plan_id
         WHERE p.anchor = 'fixed' AND o.source = 'schedule' AND o.due_on = $1",
    )
    .bind(today + Days::new(8))
    .fetch_one(pool)
    .await?;
    println!(
        "\n(\"generated\" and the skips of a repeated run are summed over its runs, five untimed ones included.) \
         The dates pending at T+0 20:00Z are {pending} (plan, asset) pairs of fixed plans: the occurrences due on T+8 \
         that the run a day later decided."
    );
    println!("\nWritten by the first run (counted in the database afterwards):\n");
    println!("| rows | count |\n| --- | ---: |");
    for (label, count) in written_by_first.unwrap_or_default() {
        println!("| {label} | {count} |");
    }

    println!(
        "\nForecast `GET /api/pm-plans/{{id}}/forecast?from=T&to=T+364` of one plan over exactly 1,000 assets \
         (asset list, office calendar, holiday moves), in process through the router:\n"
    );
    println!("| plan | items in the year | request | pages | median ms | p95 ms | runs |");
    println!("| --- | ---: | --- | ---: | ---: | ---: | ---: |");
    for row in forecast(states, today).await? {
        println!("{row}");
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn report_row(label: &str, when: &str, r: &GenerateReport, f: &Figures, runs: usize) -> String {
    let p95 = if runs > 1 { format!("{:.1}", ms(f.p95)) } else { "–".into() };
    format!(
        "| {label} | {when} | {} | {} | {} | {} | {:.1} | {p95} | {runs} |",
        r.plans_due,
        r.generated,
        r.skipped_open,
        r.skipped_non_working,
        ms(f.median)
    )
}

/// One timed run (it writes, so it is not repeated).
async fn once(pool: &PgPool, now: DateTime<Utc>) -> Result<(Figures, GenerateReport), ApiError> {
    let started = Instant::now();
    let report = nexus_shared::pm::generate(pool, now).await?;
    Ok((Figures::of(vec![started.elapsed()]), report))
}

/// A run that writes nothing, repeated: its figures and the sum of what every run reported.
async fn repeat(pool: &PgPool, now: DateTime<Utc>) -> Result<(Figures, GenerateReport), ApiError> {
    let mut total = GenerateReport::default();
    let figures = bench::measure(RERUNS, async || {
        let r = nexus_shared::pm::generate(pool, now).await?;
        total.generated += r.generated;
        total.skipped_open += r.skipped_open;
        total.skipped_non_working += r.skipped_non_working;
        total.plans_due = r.plans_due;
        Ok(())
    })
    .await?;
    Ok((figures, total))
}

/// The office calendar and [`PLANS`] plans, every one starting within a month of `today`, in
/// one statement. Plan g's scope by `g % 20`: 0–8 ten devices by id (0–1 floating), 9–16 two
/// sites, 17 ten sites' ATMs, 18 a province's kiosks, 19 ten sites' cash recyclers (g = 19 and
/// 39: every kiosk, every cash recycler). Its recurrence by `(g / 20) % 10`: 0 daily (starting
/// today), 1–3 weekly (starting 0–6 days ahead; 3: on two weekdays), 4–9 monthly (starting 0–28
/// days ahead, so about 8 in 29 have a date within the first week; the fleet-wide ones 8 and 20).
/// Every fifth plan is on the office calendar, half of those skipping closed days; every second
/// is assigned to a technician; 1 in 50 is `always`, the rest `skip_if_open`.
async fn insert_plans(pool: &PgPool, today: NaiveDate) -> Result<u64, ApiError> {
    let hours = r#"[[["08:00","17:00"]],[["08:00","17:00"]],[["08:00","17:00"]],[["08:00","17:00"]],[["08:00","17:00"]],[],[]]"#;
    let office: i64 = sqlx::query_scalar(
        "INSERT INTO sla_calendars (name, kind, weekly_hours, holidays)
         VALUES ($1, 'business_hours', $2::jsonb, ARRAY[$3::date + 3, $3::date + 40])
         ON CONFLICT (name) DO UPDATE SET holidays = EXCLUDED.holidays
         RETURNING id",
    )
    .bind(OFFICE)
    .bind(hours)
    .bind(today)
    .fetch_one(pool)
    .await?;
    let inserted = sqlx::query(
        "WITH fleet AS (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM assets WHERE tag LIKE 'DEV-%'),
              fleet_n AS (SELECT count(*) AS n FROM fleet),
              site AS (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM locations WHERE code ~ '^[A-Z]{3}-[0-9]{5}$'),
              site_n AS (SELECT count(*) AS n FROM site),
              province AS (SELECT array_agg(DISTINCT l.region ORDER BY l.region) AS r FROM locations l JOIN site USING (id)),
              tech AS (SELECT array_agg(u.id ORDER BY u.id) AS ids FROM users u JOIN user_roles r ON r.user_id = u.id
                       WHERE r.role = 'technician' AND u.active),
              plan AS (
                  SELECT g, g % 20 AS kind, (g / 20) % 10 AS rec,
                         CASE WHEN g IN (19, 39) OR (g / 20) % 10 >= 4 THEN 'month'
                              WHEN (g / 20) % 10 = 0 THEN 'day' ELSE 'week' END AS unit,
                         CASE WHEN g = 19 THEN 8 WHEN g = 39 THEN 20 WHEN (g / 20) % 10 = 0 THEN 0
                              WHEN (g / 20) % 10 <= 3 THEN g % 7 ELSE (g * 11) % 29 END AS offset_days
                  FROM generate_series(1, $1) g
              ),
              devices AS (
                  SELECT p.g, array_agg(f.id ORDER BY f.id) AS ids
                  FROM plan p CROSS JOIN fleet_n CROSS JOIN generate_series(0, 9) i
                  JOIN fleet f ON f.rn = 1 + ((p.g * 10 + i) * 7919) % fleet_n.n
                  WHERE p.kind <= 8
                  GROUP BY p.g
              ),
              sites AS (
                  SELECT p.g, array_agg(s.id ORDER BY s.id) AS ids
                  FROM plan p CROSS JOIN site_n CROSS JOIN generate_series(0, CASE WHEN p.kind IN (17, 19) THEN 9 ELSE 1 END) i
                  JOIN site s ON s.rn = 1 + ((p.g * 10 + i) * 7919) % site_n.n
                  WHERE p.kind BETWEEN 9 AND 17 OR (p.kind = 19 AND p.g NOT IN (19, 39))
                  GROUP BY p.g
              )
         INSERT INTO pm_plans (name, description, priority, asset_ids, location_ids, categories, regions, every, unit,
             weekdays, anchor, starts_on, start_time, calendar_id, non_working, generate_ahead_days, open_policy,
             assigned_to)
         SELECT 'Bench PM ' || lpad(p.g::text, 4, '0'), 'Bench preventive maintenance (' || p.unit || ')',
                (ARRAY['low', 'medium', 'high', 'critical'])[1 + p.g % 4], d.ids, s.ids,
                CASE WHEN p.g = 19 OR p.kind = 18 THEN ARRAY['KIOSK'] WHEN p.kind = 19 THEN ARRAY['CRM']
                     WHEN p.kind = 17 THEN ARRAY['ATM'] END,
                CASE WHEN p.kind = 18 THEN ARRAY[province.r[1 + (p.g / 20) % cardinality(province.r)]] END,
                1, p.unit,
                CASE WHEN p.unit = 'week' AND p.rec = 3 AND p.kind >= 2
                     THEN ARRAY[extract(isodow FROM $2::date + p.offset_days),
                                1 + (extract(isodow FROM $2::date + p.offset_days)::int + 2) % 7]::smallint[] END,
                CASE WHEN p.kind <= 1 THEN 'floating' ELSE 'fixed' END,
                $2::date + p.offset_days, time '07:00' + make_interval(hours => p.g % 4),
                CASE WHEN p.g % 5 = 2 THEN $3 ELSE (SELECT id FROM sla_calendars WHERE name = '24x7') END,
                CASE WHEN p.g % 10 = 7 THEN 'skip' ELSE 'next' END, 7,
                CASE WHEN p.g % 50 = 25 THEN 'always' ELSE 'skip_if_open' END,
                CASE WHEN p.g % 2 = 0 THEN tech.ids[1 + p.g % cardinality(tech.ids)] END
         FROM plan p LEFT JOIN devices d ON d.g = p.g LEFT JOIN sites s ON s.g = p.g CROSS JOIN province CROSS JOIN tech
         ORDER BY p.g",
    )
    .bind(PLANS)
    .bind(today)
    .bind(office)
    .execute(pool)
    .await?;
    sqlx::query("ANALYZE pm_plans").execute(pool).await?;
    Ok(inserted.rows_affected())
}

/// The plans by scope and recurrence, with the active assets in their scopes.
async fn print_mix(pool: &PgPool) -> Result<(), ApiError> {
    let sql = format!(
        "WITH plans AS (SELECT * FROM pm_plans WHERE name LIKE 'Bench PM %'),
              scope AS ({scope}),
              sizes AS (SELECT plan_id, count(*) AS assets FROM scope GROUP BY plan_id),
              sized AS (SELECT p.*, coalesce(z.assets, 0) AS assets FROM plans p LEFT JOIN sizes z ON z.plan_id = p.id)
         SELECT CASE WHEN asset_ids IS NOT NULL THEN 'asset ids (10)'
                     WHEN location_ids IS NOT NULL AND categories IS NOT NULL THEN 'sites (10) + category'
                     WHEN location_ids IS NOT NULL THEN 'sites (2)'
                     WHEN regions IS NOT NULL THEN 'province + category (kiosks)'
                     ELSE 'category (fleet-wide)' END AS scope,
                count(*), count(*) FILTER (WHERE unit = 'day'), count(*) FILTER (WHERE unit = 'week'),
                count(*) FILTER (WHERE unit = 'month'), count(*) FILTER (WHERE anchor = 'floating'),
                count(*) FILTER (WHERE calendar_id <> (SELECT id FROM sla_calendars WHERE name = '24x7')),
                sum(assets)::bigint, min(assets), max(assets)
         FROM sized GROUP BY 1 ORDER BY 1",
        scope = nexus_shared::pm::assets_in_scope()
    );
    type Mix = (String, i64, i64, i64, i64, i64, i64, i64, i64, i64);
    let rows: Vec<Mix> = sqlx::query_as(AssertSqlSafe(sql)).fetch_all(pool).await?;
    println!(
        "| plans by scope | plans | daily | weekly | monthly | floating | office calendar | assets in scope (sum) | min | max |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (scope, plans, day, week, month, floating, office, assets, min, max) in rows {
        println!("| {scope} | {plans} | {day} | {week} | {month} | {floating} | {office} | {assets} | {min} | {max} |");
    }
    Ok(())
}

/// What the generator has written: occurrences, tickets with their numbers and SLA lines, and
/// audit rows.
async fn written(pool: &PgPool) -> Result<Vec<(&'static str, String)>, ApiError> {
    let w: Written = sqlx::query_as(
        "SELECT (SELECT count(*) FROM pm_occurrences WHERE outcome = 'generated') AS generated,
                (SELECT count(*) FROM pm_occurrences WHERE outcome = 'skip_open') AS skip_open,
                (SELECT count(*) FROM pm_occurrences WHERE outcome = 'skip_non_working') AS skip_non_working,
                count(*) AS tickets, count(DISTINCT number) AS numbers, min(number) AS first, max(number) AS last,
                count(*) FILTER (WHERE sla_started_at = scheduled_for AND response_warning_at > sla_started_at
                                 AND response_due_at > response_warning_at AND resolution_warning_at > sla_started_at
                                 AND resolution_due_at >= response_due_at) AS lines,
                count(*) FILTER (WHERE status = 'assigned') AS assigned,
                (SELECT count(*) FROM audit_logs WHERE request_id LIKE 'pm-generate:%') AS audit
         FROM tickets WHERE pm_plan_id IS NOT NULL",
    )
    .fetch_one(pool)
    .await?;
    Ok(vec![
        ("occurrences, generated", w.generated.to_string()),
        ("occurrences, skipped: previous ticket open", w.skip_open.to_string()),
        ("occurrences, skipped: non-working day", w.skip_non_working.to_string()),
        ("PM tickets", w.tickets.to_string()),
        ("distinct ticket numbers", w.numbers.to_string()),
        ("number range", format!("{} … {}", w.first.unwrap_or_default(), w.last.unwrap_or_default())),
        ("tickets with all four SLA lines, from scheduled_for", w.lines.to_string()),
        ("tickets assigned (the plan's technician)", w.assigned.to_string()),
        ("audit rows (request_id pm-generate:…)", w.audit.to_string()),
    ])
}

#[derive(sqlx::FromRow)]
struct Written {
    generated: i64,
    skip_open: i64,
    skip_non_working: i64,
    tickets: i64,
    numbers: i64,
    first: Option<String>,
    last: Option<String>,
    lines: i64,
    assigned: i64,
    audit: i64,
}

/// One plan per recurrence over 1,000 active devices: the first page at the largest limit, and
/// every page of the year through `next_cursor`.
async fn forecast(states: &States, today: NaiveDate) -> Result<Vec<String>, ApiError> {
    let (app, state) = (nexus_local_runner::app(states), &states.core);
    let token = bench::sign_in(state, Role::Supervisor).await;
    let (from, to) = (today, today + Days::new(364));
    let mut rows = Vec::new();
    // (unit, untimed and timed walks of the whole year): a daily year is ~365,000 items, ~730 pages.
    for (unit, warmups, walks) in [("month", 1, 5), ("week", 1, 5), ("day", 0, 1)] {
        let id = forecast_plan(state, unit, today).await?;
        let base = format!("/api/pm-plans/{id}/forecast?from={from}&to={to}&limit=500");
        let first_page =
            bench::measure(RERUNS, async || bench::request_json(&app, &base, &token).await.map(|_| ())).await?;
        let (mut pages, mut items) = (0, 0);
        let walk = bench::measure_after(warmups, walks, async || {
            (pages, items) = walk_pages(&app, &base, &token).await?;
            Ok(())
        })
        .await?;
        let label = format!("{}, 1,000 assets", if unit == "day" { "daily".into() } else { format!("{unit}ly") });
        rows.push(format!(
            "| {label} | {items} | first page, limit=500 | 1 | {:.1} | {:.1} | {RERUNS} |",
            ms(first_page.median),
            ms(first_page.p95)
        ));
        rows.push(format!(
            "| {label} | {items} | whole year, every page via next_cursor | {pages} | {:.1} | {:.1} | {walks} |",
            ms(walk.median),
            ms(walk.p95)
        ));
    }
    Ok(rows)
}

/// Every page from `base` on: how many pages and items.
async fn walk_pages(app: &axum::Router, base: &str, token: &str) -> Result<(usize, usize), ApiError> {
    let (mut pages, mut items, mut uri) = (0, 0, base.to_string());
    loop {
        let page = bench::request_json(app, &uri, token).await?;
        pages += 1;
        items += page["items"].as_array().map_or(0, Vec::len);
        match page["next_cursor"].as_str() {
            Some(cursor) => uri = format!("{base}&cursor={cursor}"),
            None => return Ok((pages, items)),
        }
    }
}

/// A fixed plan on the office calendar over exactly 1,000 active devices, starting `today`.
async fn forecast_plan(state: &AppState, unit: &str, today: NaiveDate) -> Result<i64, ApiError> {
    let id = sqlx::query_scalar(
        "INSERT INTO pm_plans (name, description, priority, asset_ids, every, unit, anchor, starts_on, start_time,
                               calendar_id, non_working, generate_ahead_days)
         SELECT 'Bench forecast (' || $1 || ')', 'Bench forecast plan', 'medium',
                ARRAY(SELECT id FROM assets WHERE tag LIKE 'DEV-%' AND status = 'active' ORDER BY id LIMIT 1000),
                1, $1, 'fixed', $2, time '08:00', c.id, 'next', 7
         FROM sla_calendars c WHERE c.name = $3
         RETURNING id",
    )
    .bind(unit)
    .bind(today)
    .bind(OFFICE)
    .fetch_one(&state.pool)
    .await?;
    Ok(id)
}
