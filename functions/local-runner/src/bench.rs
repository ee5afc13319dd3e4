//! `nexus-local bench-tickets`: loads N tickets into the (dedicated) database and measures the
//! tickets list and the SLA sweep, printing figures. A benchmark, not a test: it asserts
//! nothing, it reports. Requests go through the same router Lambda serves, in process
//! (`oneshot`), so the figures are handler + SQL, without HTTP parsing or network.

use std::time::{Duration, Instant};

use axum::http::Method;
use nexus_shared::auth::Role;
use nexus_shared::{ApiError, AppState};

use crate::bench_support::{request_json, sign_in};

/// Bench sites (their own, so the demo's are untouched) in ten regions.
const REGIONS: [&str; 10] = [
    "DKI Jakarta",
    "Jawa Barat",
    "Jawa Timur",
    "Jawa Tengah",
    "Bali",
    "Sumatera Utara",
    "Riau",
    "Sulawesi Selatan",
    "Kalimantan Timur",
    "Papua",
];

/// Creates `sites` locations with one asset each and `tickets` tickets: ~70 % closed over two
/// years, ~30 % active within the last day (open, assigned, in progress, on hold, resolved).
pub async fn load(state: &AppState, sites: i64, tickets: i64) -> Result<Duration, ApiError> {
    let started = Instant::now();
    let regions: Vec<&str> = REGIONS.to_vec();
    let mut tx = state.pool.begin().await?;
    sqlx::query(
        "INSERT INTO locations (code, name, latitude, longitude, region, timezone)
         SELECT 'BENCH' || lpad(g::text, 6, '0'), 'Bench site ' || g, -8 + (g % 1000) * 0.01, 100 + (g % 4000) * 0.01,
                ($2::text[])[1 + g % 10], 'Asia/Jakarta'
         FROM generate_series(1, $1) g
         ON CONFLICT (code) DO NOTHING",
    )
    .bind(sites)
    .bind(&regions)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO assets (location_id, tag, name, category)
         SELECT id, 'B-' || code, 'Bench ATM', 'ATM' FROM locations WHERE code LIKE 'BENCH%'
         ON CONFLICT (tag) DO NOTHING",
    )
    .execute(&mut *tx)
    .await?;
    let technician =
        nexus_shared::user::ensure(&mut tx, "bench-technician@example.com", None, "x", &[Role::Technician]).await?;
    sqlx::query(
        "WITH assets_numbered AS (
             SELECT id, location_id, row_number() OVER (ORDER BY id) AS rn FROM assets WHERE tag LIKE 'B-BENCH%'
         ), n AS (SELECT count(*) AS total FROM assets_numbered),
         rows AS (
             SELECT g,
                    CASE WHEN (g * 7919) % 100 < 70 THEN 'closed'
                         WHEN (g * 7919) % 100 < 80 THEN 'open'
                         WHEN (g * 7919) % 100 < 88 THEN 'assigned'
                         WHEN (g * 7919) % 100 < 95 THEN 'in_progress'
                         WHEN (g * 7919) % 100 < 97 THEN 'on_hold'
                         ELSE 'resolved' END AS st,
                    (ARRAY['low', 'medium', 'high', 'critical'])[1 + (g * 31) % 4] AS pr,
                    CASE WHEN g % 5 = 0 THEN 'PM' ELSE 'CM' END AS tt
             FROM generate_series(1, $1) g
         ), timed AS (
             SELECT rows.*, CASE WHEN st = 'closed' THEN now() - make_interval(mins => ((g * 37) % 1051200 + 1440)::int)
                                 ELSE now() - make_interval(mins => ((g * 13) % 1440)::int) END AS c
             FROM rows
         )
         INSERT INTO tickets (number, ticket_type, priority, status, asset_id, location_id, description, assigned_to,
             sla_calendar_id, response_target_minutes, resolution_target_minutes, warning_ratio,
             response_warning_at, response_due_at, resolution_warning_at, resolution_due_at, responded_at,
             resolved_at, closed_at, resolution_notes, on_hold_since, hold_reason, created_at, updated_at)
         SELECT 'BENCH-' || g, tt, pr, st, a.id, a.location_id, 'Bench ticket',
                CASE WHEN st = 'open' THEN NULL ELSE $2 END,
                1, 120, 480, 0.8,
                c + interval '96 minutes', c + interval '120 minutes', c + interval '384 minutes', c + interval '480 minutes',
                CASE WHEN st IN ('in_progress', 'on_hold', 'resolved', 'closed') THEN c + interval '30 minutes' END,
                CASE WHEN st IN ('resolved', 'closed') THEN c + interval '4 hours' END,
                CASE WHEN st = 'closed' THEN c + interval '6 hours' END,
                CASE WHEN st IN ('resolved', 'closed') THEN 'Bench fix' END,
                CASE WHEN st = 'on_hold' THEN now() END,
                CASE WHEN st = 'on_hold' THEN 'other' END,
                c, c
         FROM timed, n, assets_numbered a WHERE a.rn = 1 + timed.g % n.total",
    )
    .bind(tickets)
    .bind(technician)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    sqlx::query("ANALYZE").execute(&state.pool).await?;
    Ok(started.elapsed())
}

/// Median and 95th percentile of `runs` timings of `f`.
pub struct Figures {
    pub median: Duration,
    pub p95: Duration,
}

impl Figures {
    /// The figures of a non-empty set of samples.
    pub fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        let n = samples.len();
        Self { median: samples[n / 2], p95: samples[(n * 95 / 100).min(n - 1)] }
    }
}

pub async fn measure<F: AsyncFnMut() -> Result<(), ApiError>>(runs: usize, mut f: F) -> Result<Figures, ApiError> {
    for _ in 0..5 {
        f().await?;
    }
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        f().await?;
        samples.push(started.elapsed());
    }
    Ok(Figures::of(samples))
}

pub fn row(label: &str, f: &Figures) -> String {
    format!("| {label:<58} | {:>9.2} | {:>9.2} |", f.median.as_secs_f64() * 1e3, f.p95.as_secs_f64() * 1e3)
}

/// The list queries a dispatcher's screen makes.
pub async fn tickets_list(state: &AppState, runs: usize) -> Result<Vec<String>, ApiError> {
    let app = crate::app(state.clone());
    let token = sign_in(state, Role::Supervisor).await?;
    let mut rows = Vec::new();
    let queries = [
        ("GET /api/tickets (first page, 50, newest first)", "/api/tickets".to_string()),
        (
            "GET /api/tickets?status=active&priority=high&region=Bali",
            "/api/tickets?status=open,assigned,in_progress,on_hold&priority=high&region=Bali".to_string(),
        ),
        ("GET /api/tickets?breached=true", "/api/tickets?breached=true".to_string()),
        (
            "GET /api/tickets?sort=resolution_due_at&status=open",
            "/api/tickets?sort=resolution_due_at&status=open".to_string(),
        ),
    ];
    for (label, uri) in queries {
        let figures = measure(runs, async || request_json(&app, Method::GET, &uri, &token).await.map(|_| ())).await?;
        rows.push(row(label, &figures));
    }
    // A deep page: 20 pages in, through the cursor.
    let mut uri = "/api/tickets?limit=50".to_string();
    for _ in 0..20 {
        let page = request_json(&app, Method::GET, &uri, &token).await?;
        match page["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/api/tickets?limit=50&cursor={cursor}"),
            None => break,
        }
    }
    let deep = measure(runs, async || request_json(&app, Method::GET, &uri, &token).await.map(|_| ())).await?;
    rows.push(row("GET /api/tickets (page 21 via cursor)", &deep));
    let one: i64 = sqlx::query_scalar("SELECT max(id) FROM tickets").fetch_one(&state.pool).await?;
    let get_one = format!("/api/tickets/{one}");
    let single = measure(runs, async || request_json(&app, Method::GET, &get_one, &token).await.map(|_| ())).await?;
    rows.push(row("GET /api/tickets/{id}", &single));
    Ok(rows)
}

/// Adds `open` open tickets (numbered `OPEN-<batch>-<n>`) whose lines are a day away, except
/// `due_share` of them, created `overdue_minutes` ago (targets 120/480 min, warning at 80 %:
/// 100 minutes crosses one line, 600 all four): the load a scheduled SLA check meets.
pub async fn load_open(
    state: &AppState,
    batch: &str,
    open: i64,
    due_share: f64,
    overdue_minutes: i32,
) -> Result<i64, ApiError> {
    let due_every = (1.0 / due_share.clamp(1e-6, 1.0)).round() as i64;
    let (due,): (i64,) = sqlx::query_as(
        "WITH a AS (SELECT id, location_id, row_number() OVER (ORDER BY id) AS rn FROM assets WHERE tag LIKE 'B-BENCH%'),
              n AS (SELECT count(*) AS c FROM a),
              ins AS (
                  INSERT INTO tickets (number, ticket_type, priority, status, asset_id, location_id, description,
                      sla_calendar_id, response_target_minutes, resolution_target_minutes, warning_ratio,
                      response_warning_at, response_due_at, resolution_warning_at, resolution_due_at, created_at, updated_at)
                  SELECT 'OPEN-' || $3 || '-' || g, 'CM', 'high', 'open', a.id, a.location_id, 'Bench open ticket', 1, 120, 480, 0.8,
                         l.base + interval '96 minutes', l.base + interval '120 minutes',
                         l.base + interval '384 minutes', l.base + interval '480 minutes', now(), now()
                  FROM generate_series(1, $1) g
                  CROSS JOIN n
                  JOIN a ON a.rn = 1 + g % n.c
                  CROSS JOIN LATERAL (SELECT CASE WHEN g % $2 = 0 THEN now() - make_interval(mins => $4) ELSE now() + interval '1 day' END AS base) l
                  RETURNING response_warning_at
              )
         SELECT count(*) FILTER (WHERE response_warning_at < now()) FROM ins",
    )
    .bind(open)
    .bind(due_every)
    .bind(batch)
    .bind(overdue_minutes)
    .fetch_one(&state.pool)
    .await?;
    sqlx::query("ANALYZE tickets").execute(&state.pool).await?;
    Ok(due)
}

/// Times one sweep (it changes what it records, so it cannot be repeated like a GET).
pub async fn time_sweep(state: &AppState) -> Result<(Duration, u64), ApiError> {
    let started = Instant::now();
    let report = nexus_sla_check::sweep(&state.pool, chrono::Utc::now()).await?;
    Ok((started.elapsed(), report.total()))
}

/// The live map over everything active (after [`load_open`]): clustered national and city
/// views, and an unclustered viewport.
pub async fn live_map(state: &AppState, runs: usize) -> Result<Vec<String>, ApiError> {
    let app = crate::app(state.clone());
    let token = sign_in(state, Role::Supervisor).await?;
    let active: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM tickets WHERE status IN ('open', 'assigned', 'in_progress', 'on_hold', 'resolved')",
    )
    .fetch_one(&state.pool)
    .await?;
    let views = [
        (
            format!("live-tickets, {active} active, cluster zoom 5 (national)"),
            "/api/maps/live-tickets?cluster=true&zoom=5",
        ),
        (
            format!("live-tickets, {active} active, cluster zoom 12"),
            "/api/maps/live-tickets?cluster=true&zoom=12&bbox=100,-8,101,-7",
        ),
        ("live-tickets unclustered, bbox 0.2° x 0.2°".to_string(), "/api/maps/live-tickets?bbox=100,-8,100.2,-7.8"),
        ("locations, 2,000 bench sites, unclustered".to_string(), "/api/maps/locations"),
    ];
    let mut rows = Vec::new();
    for (label, uri) in views {
        let features = request_json(&app, Method::GET, uri, &token).await?["features"].as_array().map_or(0, Vec::len);
        let figures = measure(runs, async || request_json(&app, Method::GET, uri, &token).await.map(|_| ())).await?;
        rows.push(row(&format!("{label} → {features} features"), &figures));
    }
    Ok(rows)
}

/// Jobcard rendering alone (no S3): median and p95 over `runs`, and the size.
pub fn jobcard(runs: usize) -> (Figures, usize) {
    let facts = nexus_pdf::jobcard::JobcardFacts::example();
    let mut samples = Vec::with_capacity(runs);
    let mut size = 0;
    for _ in 0..runs {
        let started = Instant::now();
        size = nexus_pdf::jobcard::render(&facts).len();
        samples.push(started.elapsed());
    }
    (Figures::of(samples), size)
}
