//! The rollup against real Postgres: a generated data set (three sites in three zones, every
//! kind of event) read by the report live, then again once every day that is over has been
//! rolled up — the answers must be the same for every grouping, filter and caller; a rebuild is
//! idempotent; a late event changes a recent day at the next run; runs backfill in batches.

use std::collections::BTreeSet;

use axum::http::{StatusCode, header};
use chrono::{DateTime, Days, Duration, NaiveDate, TimeZone, Utc};
use nexus_report_rollup::{BACKFILL_PER_RUN, HORIZON_DAYS, RECENT_DAYS, RollupReport, last_over, rebuild, run};
use nexus_shared::auth::Role;
use nexus_testkit::{Crew, TestUser, crew, get, request, send, state, user};
use serde_json::Value;
use sqlx::PgPool;

struct World {
    router: axum::Router,
    crew: Crew,
    pool: PgPool,
    other_tech: TestUser,
}

/// A small deterministic generator (LCG), so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn minutes(&mut self, max: u64) -> Duration {
        Duration::minutes(self.below(max) as i64)
    }
}

const FIRST: &str = "2026-08-01";

/// Three sites (Jakarta +7, Jayapura +9, Honolulu −10), assets of two categories and none,
/// two plans and an office calendar; ~`n` tickets created from 1 Aug to now with responses,
/// resolutions, closures, cancellations, holds, visits and approvals at random; none in the future.
async fn world(pool: PgPool, n: usize) -> World {
    let state = state(pool.clone());
    let crew = crew(&state).await;
    let other_tech = user(&state, "other-tech@test.example", &[Role::Technician]).await;
    let mut sites = Vec::new();
    for (code, tz, region) in [
        ("JKT0001", "Asia/Jakarta", "Jawa"),
        ("JAY0001", "Asia/Jayapura", "Papua"),
        ("HNL0001", "Pacific/Honolulu", "Hawaii"),
    ] {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO locations (code, name, timezone, region) VALUES ($1, $1 || ' site', $2, $3) RETURNING id",
        )
        .bind(code)
        .bind(tz)
        .bind(region)
        .fetch_one(&pool)
        .await
        .unwrap();
        sites.push(id);
    }
    let mut assets = Vec::new();
    for (i, site) in sites.iter().enumerate() {
        for (j, category) in [Some("ATM"), Some("Kiosk"), None, Some("ATM")].into_iter().enumerate() {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO assets (location_id, tag, name, category) VALUES ($1, $2, 'ATM', $3) RETURNING id",
            )
            .bind(site)
            .bind(format!("A-{i}-{j}"))
            .bind(category)
            .fetch_one(&pool)
            .await
            .unwrap();
            assets.push(id);
        }
    }
    let office: i64 = sqlx::query_scalar(
        r#"INSERT INTO sla_calendars (name, kind, weekly_hours) VALUES ('office', 'business_hours',
           '[[["08:00","17:00"]],[["08:00","17:00"]],[["08:00","17:00"]],[["08:00","17:00"]],[["08:00","17:00"]],[],[]]')
           RETURNING id"#,
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let mut plans = Vec::new();
    for (every, unit) in [(1, "week"), (1, "month")] {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO pm_plans (name, description, priority, asset_ids, every, unit, anchor, starts_on, start_time, calendar_id)
             VALUES ('p', 'p', 'low', ARRAY[$1::bigint], $2, $3, 'fixed', '2026-01-01', '08:00', 1) RETURNING id",
        )
        .bind(assets[0])
        .bind(every)
        .bind(unit)
        .fetch_one(&pool)
        .await
        .unwrap();
        plans.push(id);
    }
    let techs = [crew.technician.id, other_tech.id];
    let start = Utc.with_ymd_and_hms(2026, 8, 1, 0, 0, 0).unwrap();
    let now = Utc::now();
    let span = (now - start).num_minutes() as u64;
    let mut rng = Rng(7);
    for i in 0..n {
        let cap = |t: DateTime<Utc>| (t < now - Duration::minutes(1)).then_some(t);
        let asset = assets[rng.below(assets.len() as u64) as usize];
        let cm = rng.chance(75);
        let priority = ["critical", "high", "medium", "low"][rng.below(4) as usize];
        let created = start + rng.minutes(span);
        let response_due = created + Duration::minutes(30) + rng.minutes(8 * 60);
        let resolution_due = created + Duration::hours(4) + rng.minutes(92 * 60);
        let responded = if rng.chance(80) { cap(created + rng.minutes(6 * 60)) } else { None };
        let resolved = match responded {
            Some(r) if rng.chance(75) => cap(r + rng.minutes(72 * 60)),
            _ => None,
        };
        let closed = match resolved {
            Some(r) if rng.chance(60) => cap(r + rng.minutes(24 * 60)),
            _ => None,
        };
        let cancelled = if resolved.is_none() && rng.chance(10) { cap(created + rng.minutes(48 * 60)) } else { None };
        let on_hold = match (responded, resolved, cancelled) {
            (Some(r), None, None) if rng.chance(30) => cap(r + rng.minutes(24 * 60)),
            _ => None,
        };
        let status = if cancelled.is_some() {
            "cancelled"
        } else if closed.is_some() {
            "closed"
        } else if resolved.is_some() {
            "resolved"
        } else if on_hold.is_some() {
            "on_hold"
        } else if responded.is_some() {
            "in_progress"
        } else if rng.chance(50) {
            "assigned"
        } else {
            "open"
        };
        let assigned_to = match status {
            "open" => None,
            "cancelled" if rng.chance(50) => None,
            _ => Some(techs[rng.below(2) as usize]),
        };
        // The status changed at its last event, when one is known (else NULL, as old rows are).
        let changed = [on_hold, cancelled, closed, resolved, responded].into_iter().flatten().max();
        let changed = if rng.chance(70) { changed } else { None };
        let scheduled_for = (!cm).then(|| created + rng.minutes(5 * 24 * 60));
        let plan = if !cm && rng.chance(70) { Some(plans[rng.below(2) as usize]) } else { None };
        let calendar = if rng.chance(30) { office } else { 1 };
        let held = if resolved.is_some() && rng.chance(20) { rng.below(7200) as i64 } else { 0 };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO tickets (number, ticket_type, priority, status, asset_id, location_id, description, resolution_notes,
                assigned_to, sla_calendar_id, response_target_minutes, resolution_target_minutes, warning_ratio,
                response_warning_at, response_due_at, resolution_warning_at, resolution_due_at, responded_at, resolved_at,
                closed_at, cancelled_at, on_hold_since, hold_reason, held_seconds, created_at, scheduled_for, pm_plan_id,
                status_changed_at)
             SELECT $1, $2, $3, $4, $5, a.location_id, 'x', CASE WHEN $11::timestamptz IS NULL THEN NULL ELSE 'done' END,
                $6, $7, 60, 240, 0.8, $8, $8, $9, $9, $10, $11, $12, $13, $14,
                CASE WHEN $14::timestamptz IS NULL THEN NULL ELSE 'other' END, $15, $16, $17, $18, $19
             FROM assets a WHERE a.id = $5 RETURNING id",
        )
        .bind(format!("T-{i}"))
        .bind(if cm { "CM" } else { "PM" })
        .bind(priority)
        .bind(status)
        .bind(asset)
        .bind(assigned_to)
        .bind(calendar)
        .bind(response_due)
        .bind(resolution_due)
        .bind(responded)
        .bind(resolved)
        .bind(closed)
        .bind(cancelled)
        .bind(on_hold)
        .bind(held)
        .bind(created)
        .bind(scheduled_for)
        .bind(plan)
        .bind(changed)
        .fetch_one(&pool)
        .await
        .unwrap();
        if closed.is_some() {
            for _ in 0..rng.below(3) {
                let result = if rng.chance(80) { "inside" } else { "outside" };
                sqlx::query(
                    "INSERT INTO visits (ticket_id, technician_id, checked_in_at, lat, lng, accuracy_m, result)
                     VALUES ($1, $2, $3, 0, 0, 5, $4)",
                )
                .bind(id)
                .bind(crew.technician.id)
                .bind(created)
                .bind(result)
                .execute(&pool)
                .await
                .unwrap();
            }
        }
        if let Some(r) = resolved {
            for _ in 0..rng.below(3) {
                let Some(when) = cap(r + rng.minutes(48 * 60)) else { continue };
                let decision = if rng.chance(40) { "reject" } else { "approve" };
                sqlx::query(
                    "INSERT INTO approvals (ticket_id, decision, decided_by, created_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(id)
                .bind(decision)
                .bind(crew.supervisor.id)
                .bind(when)
                .execute(&pool)
                .await
                .unwrap();
            }
        }
    }
    World { router: nexus_reports::router(state), crew, pool, other_tech }
}

impl World {
    async fn report(&self, query: &str, caller: &TestUser) -> Value {
        let r = get(&self.router, &format!("/api/reports/kpis?{query}"), caller).await;
        assert_eq!(r.status, StatusCode::OK, "{query}: {:?}", r.body);
        r.body
    }

    /// Every grouping over three periods (a past month, the whole data set up to today, one
    /// ending before today), with filters, a technician's scope and a page of sites.
    async fn answers(&self) -> Vec<(String, Value)> {
        let today = Utc::now().date_naive();
        let periods = [
            ("2026-09-01".to_string(), "2026-09-30".to_string()),
            (FIRST.to_string(), today.to_string()),
            ("2026-08-15".to_string(), (today - Days::new(3)).to_string()),
        ];
        let groupings =
            ["none", "region", "location", "asset_category", "ticket_type", "priority", "technician", "week", "month"];
        let mut out = Vec::new();
        for (from, to) in &periods {
            for g in groupings {
                let q = format!("from={from}&to={to}&group_by={g}");
                out.push((format!("admin {q}"), self.report(&q, &self.crew.admin).await));
            }
            for filter in [
                "ticket_type=CM",
                "ticket_type=PM&priority=high",
                "region=Papua",
                "group_by=location&limit=2",
                "group_by=month&priority=high",
                "group_by=week&ticket_type=CM",
            ] {
                let q = format!("from={from}&to={to}&{filter}");
                out.push((format!("admin {q}"), self.report(&q, &self.crew.admin).await));
            }
            let q = format!("from={from}&to={to}&group_by=month");
            out.push((format!("technician {q}"), self.report(&q, &self.crew.technician).await));
            out.push((format!("other {q}"), self.report(&q, &self.other_tech).await));
        }
        out
    }
}

/// Equal JSON, numbers within a relative 1e-9 (sums of hours are added in another order).
fn same(a: &Value, b: &Value, path: &str) -> Result<(), String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            if (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0) {
                Ok(())
            } else {
                Err(format!("{path}: {x} != {y}"))
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Err(format!("{path}: {} groups != {}", x.len(), y.len()));
            }
            x.iter().zip(y).enumerate().try_for_each(|(i, (x, y))| same(x, y, &format!("{path}[{i}]")))
        }
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().try_for_each(|k| same(&x[k], y.get(k).unwrap_or(&Value::Null), &format!("{path}.{k}")))
        }
        _ if a == b => Ok(()),
        _ => Err(format!("{path}: {a} != {b}")),
    }
}

/// Every day from 1 Aug to the last one over everywhere.
async fn roll_up_everything(pool: &PgPool) -> u64 {
    let mut day: NaiveDate = FIRST.parse().unwrap();
    let mut rows = 0;
    while day <= last_over(Utc::now()) {
        rows += rebuild(pool, day).await.unwrap();
        day = day.succ_opt().unwrap();
    }
    rows
}

/// The key test: the rollup and the live SQL give the same answers.
#[sqlx::test(migrations = "../../migrations")]
async fn reports_over_the_rollup_equal_the_live_reports(pool: PgPool) {
    let w = world(pool, 1500).await;
    let live = w.answers().await;
    // Sanity: the data set exercises every KPI.
    let all = w.report(&format!("from={FIRST}&to={}", Utc::now().date_naive()), &w.crew.admin).await;
    for kpi in [
        "mttr_hours",
        "mtbf_hours",
        "sla_response_compliance",
        "sla_resolution_compliance",
        "pm_compliance",
        "reopen_rate",
    ] {
        assert!(all["groups"][0][kpi]["denominator"].as_i64().unwrap() > 10, "{kpi}: {}", all["groups"][0][kpi]);
    }
    assert!(all["groups"][0]["first_time_fix_rate"]["denominator"].as_i64().unwrap() > 10);
    assert!(all["groups"][0]["first_time_fix_rate"]["pending"].as_i64().unwrap() > 0);
    assert!(all["groups"][0]["backlog"]["total"].as_i64().unwrap() > 10);

    let rows = roll_up_everything(&w.pool).await;
    assert!(rows > 100, "{rows} rows");
    let settled: i64 =
        sqlx::query_scalar("SELECT count(*) FROM kpi_rollup_days WHERE settled").fetch_one(&w.pool).await.unwrap();
    assert!(settled > 30, "{settled} settled days");
    let rolled = w.answers().await;
    let mut failures = Vec::new();
    for ((query, before), (_, after)) in live.iter().zip(&rolled) {
        if let Err(e) = same(before, after, "") {
            failures.push(format!("{query}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{} answers differ:\n{}", failures.len(), failures.join("\n"));

    // And the answers did come from the rollup: doubling its rows doubles September's counts.
    sqlx::query("UPDATE kpi_daily SET response_due = response_due * 2, response_met = response_met * 2")
        .execute(&w.pool)
        .await
        .unwrap();
    let sept = w.report("from=2026-09-01&to=2026-09-30", &w.crew.admin).await;
    let before = live[0].1["groups"][0]["sla_response_compliance"]["denominator"].as_i64().unwrap();
    assert_eq!(sept["groups"][0]["sla_response_compliance"]["denominator"].as_i64().unwrap(), 2 * before);
    // MTBF from its own rollup: September's failure rows gone, September has no MTBF.
    assert!(sept["groups"][0]["mtbf_hours"]["denominator"].as_i64().unwrap() > 0);
    sqlx::query("DELETE FROM kpi_failures WHERE day BETWEEN '2026-09-01' AND '2026-09-30'")
        .execute(&w.pool)
        .await
        .unwrap();
    let sept = w.report("from=2026-09-01&to=2026-09-30", &w.crew.admin).await;
    assert_eq!(sept["groups"][0]["mtbf_hours"]["denominator"].as_i64().unwrap(), 0);
    // A national report by month reads a whole month's MTBF from its bucket row.
    let by_month = "from=2026-09-01&to=2026-10-31&group_by=month";
    let before = w.report(by_month, &w.crew.admin).await["groups"][1]["mtbf_hours"].clone();
    assert!(before["denominator"].as_i64().unwrap() > 0, "{before}");
    sqlx::query("UPDATE kpi_mtbf_buckets SET assets = assets * 3 WHERE bucket = '2026-10-01' AND kind = 'month'")
        .execute(&w.pool)
        .await
        .unwrap();
    let after = &w.report(by_month, &w.crew.admin).await["groups"][1]["mtbf_hours"];
    assert_eq!(after["denominator"].as_i64().unwrap(), 3 * before["denominator"].as_i64().unwrap());
}

/// The day's rows of both rollup tables, as text.
async fn day_rows(pool: &PgPool, day: NaiveDate) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT k::text FROM kpi_daily k WHERE day = $1
         UNION ALL SELECT 'failures' || f::text FROM kpi_failures f WHERE day = $1 ORDER BY 1",
    )
    .bind(day)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn rebuilding_a_day_is_idempotent(pool: PgPool) {
    let w = world(pool, 400).await;
    // The (site-local) day with the most CM failures, long over.
    let day: NaiveDate = sqlx::query_scalar(
        "SELECT (t.created_at AT TIME ZONE l.timezone)::date FROM tickets t JOIN locations l ON l.id = t.location_id
         WHERE t.ticket_type = 'CM' AND t.status <> 'cancelled' AND t.created_at < now() - interval '5 days'
         GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
    )
    .fetch_one(&w.pool)
    .await
    .unwrap();
    let first = rebuild(&w.pool, day).await.unwrap();
    let rows = day_rows(&w.pool, day).await;
    let failures = rows.iter().filter(|r| r.starts_with("failures")).count();
    assert!(first > 0 && failures > 0 && first as usize + failures == rows.len());
    let again = rebuild(&w.pool, day).await.unwrap();
    assert_eq!((again, day_rows(&w.pool, day).await), (first, rows));
    // Two at once: serialised by the day's lock, same rows.
    let (a, b) = tokio::join!(rebuild(&w.pool, day), rebuild(&w.pool, day));
    assert_eq!((a.unwrap(), b.unwrap()), (first, first));
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM kpi_daily").fetch_one(&w.pool).await.unwrap();
    assert_eq!(total as u64, first);
}

/// A response synced late (recorded two days after it happened, before its due time) turns a
/// breached line into a met one on a day already rolled up: the next run rebuilds that day.
#[sqlx::test(migrations = "../../migrations")]
async fn a_late_event_changes_a_recent_day_at_the_next_run(pool: PgPool) {
    let w = world(pool, 0).await;
    let now = Utc::now();
    let day = last_over(now) - Days::new(1);
    let site: i64 =
        sqlx::query_scalar("SELECT id FROM locations WHERE code = 'JKT0001'").fetch_one(&w.pool).await.unwrap();
    let asset: i64 = sqlx::query_scalar("SELECT id FROM assets WHERE location_id = $1 LIMIT 1")
        .bind(site)
        .fetch_one(&w.pool)
        .await
        .unwrap();
    // Due at noon of that day in Jakarta; no response recorded yet: breached.
    let due =
        chrono_tz::Asia::Jakarta.from_local_datetime(&day.and_hms_opt(12, 0, 0).unwrap()).unwrap().with_timezone(&Utc);
    let ticket: i64 = sqlx::query_scalar(
        "INSERT INTO tickets (number, ticket_type, priority, status, asset_id, location_id, description, assigned_to,
            sla_calendar_id, response_target_minutes, resolution_target_minutes, warning_ratio, response_warning_at,
            response_due_at, resolution_warning_at, resolution_due_at, created_at)
         VALUES ('T-late', 'CM', 'high', 'assigned', $1, $2, 'x', $3, 1, 60, 240, 0.8, $4, $4, $5, $5, $6) RETURNING id",
    )
    .bind(asset)
    .bind(site)
    .bind(w.crew.technician.id)
    .bind(due)
    .bind(due + Duration::days(30))
    .bind(due - Duration::hours(1))
    .fetch_one(&w.pool)
    .await
    .unwrap();
    run(&w.pool, now).await.unwrap();
    let q = format!("from={day}&to={day}");
    let cell = |v: &Value| (v["numerator"].as_f64().unwrap(), v["denominator"].as_i64().unwrap());
    let before = w.report(&q, &w.crew.admin).await;
    assert_eq!(cell(&before["groups"][0]["sla_response_compliance"]), (0.0, 1));
    let met: i64 = sqlx::query_scalar("SELECT response_met FROM kpi_daily WHERE day = $1")
        .bind(day)
        .fetch_one(&w.pool)
        .await
        .unwrap();
    assert_eq!(met, 0);
    // The response, made at 11:30 and synced now.
    sqlx::query("UPDATE tickets SET responded_at = $2, status = 'in_progress' WHERE id = $1")
        .bind(ticket)
        .bind(due - Duration::minutes(30))
        .execute(&w.pool)
        .await
        .unwrap();
    run(&w.pool, now).await.unwrap();
    let after = w.report(&q, &w.crew.admin).await;
    assert_eq!(cell(&after["groups"][0]["sla_response_compliance"]), (1.0, 1));
    let met: i64 = sqlx::query_scalar("SELECT response_met FROM kpi_daily WHERE day = $1")
        .bind(day)
        .fetch_one(&w.pool)
        .await
        .unwrap();
    assert_eq!(met, 1);
}

/// A fresh deploy: each run rebuilds the recent days and backfills a batch of older ones,
/// newest first, until the horizon is covered; then only the recent days (and a day settling).
#[sqlx::test(migrations = "../../migrations")]
async fn runs_backfill_in_bounded_batches(pool: PgPool) {
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 10, 10, 0).unwrap();
    let older = HORIZON_DAYS - RECENT_DAYS + 1;
    let batch = BACKFILL_PER_RUN as u64;
    let first = run(&pool, now).await.unwrap();
    assert_eq!(
        first,
        RollupReport { days_rebuilt: RECENT_DAYS + batch, rows_written: 0, backfill_pending: older - batch }
    );
    // 24 Nov 10:10 UTC: 23 Nov is not over at UTC−12 yet; 20–23 … the recent four end on 23 Nov.
    assert_eq!(last_over(now), "2026-11-23".parse::<NaiveDate>().unwrap());
    let days: Vec<NaiveDate> =
        sqlx::query_scalar("SELECT day FROM kpi_rollup_days ORDER BY day DESC").fetch_all(&pool).await.unwrap();
    assert_eq!(days.len() as u64, RECENT_DAYS + batch);
    assert_eq!(days[0], last_over(now));
    let second = run(&pool, now).await.unwrap();
    assert_eq!(second.backfill_pending, older - 2 * batch);
}

/// `Accept: text/csv`: one row per group and KPI, the same figures as the JSON.
#[sqlx::test(migrations = "../../migrations")]
async fn the_kpi_csv_has_a_row_per_group_and_kpi(pool: PgPool) {
    let w = world(pool, 300).await;
    let q = "/api/reports/kpis?from=2026-09-01&to=2026-09-30&group_by=ticket_type";
    let json = w.report("from=2026-09-01&to=2026-09-30&group_by=ticket_type", &w.crew.admin).await;
    let mut req = request(axum::http::Method::GET, q, Some(&w.crew.admin.token), None);
    req.headers_mut().insert(header::ACCEPT, "text/csv".parse().unwrap());
    let r = send(&w.router, req).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type().starts_with("text/csv"));
    let body = r.body.as_str().unwrap().trim_start_matches('\u{feff}').to_string();
    let lines: Vec<&str> = body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines[0], "key,kpi,value,numerator,denominator");
    // 2 groups × (8 ratios + pending + 10 backlog counts).
    assert_eq!(lines.len(), 1 + 2 * 19);
    // The same figures as the JSON; sums of hours may differ in the last bit (two queries, two
    // summation orders), so numbers compare within 1e-9.
    let cm = &json["groups"][0];
    let row = lines.iter().find(|l| l.starts_with("CM,mttr_hours,")).expect("a CM mttr_hours row");
    let cells: Vec<f64> = row.split(',').skip(2).map(|c| c.parse().unwrap()).collect();
    let expected = [
        cm["mttr_hours"]["value"].as_f64().unwrap(),
        cm["mttr_hours"]["numerator"].as_f64().unwrap(),
        cm["mttr_hours"]["denominator"].as_f64().unwrap(),
    ];
    for (got, want) in cells.iter().zip(expected) {
        assert!((got - want).abs() <= 1e-9 * want.abs().max(1.0), "{row} against {expected:?}");
    }
    assert_eq!(cells.len(), 3, "{row}");
    assert!(lines.contains(&format!("PM,backlog.total,{},,", json["groups"][1]["backlog"]["total"]).as_str()));
}
