//! `nexus-bench bench-tickets`: loads N tickets into the (dedicated) database and measures the
//! tickets list and the SLA sweep, printing figures. A benchmark, not a test: it asserts
//! nothing, it reports. Requests go through the same router Lambda serves, in process
//! (`oneshot`), so the figures are handler + SQL, without HTTP parsing or network.

use std::time::{Duration, Instant};

use axum::http::Method;
use nexus_local_runner::States;
use nexus_local_runner::generate::Preset;
use nexus_shared::auth::Role;
use nexus_shared::ticket::TicketStatus;
use nexus_shared::{ApiError, AppState};

/// The sites the benchmarks load: their own (the demo's are untouched), one device each.
const SITES: i64 = 2_000;

/// The scale preset at [`SITES`] sites with one device each and `tickets` tickets (~70 % closed
/// over two years, ~30 % active within the last days).
pub async fn load(states: &States, tickets: i64) -> Result<Duration, ApiError> {
    load_fleet(states, SITES, SITES, tickets).await
}

/// The scale preset at `sites` sites with `devices` devices and `tickets` tickets.
pub async fn load_fleet(states: &States, sites: i64, devices: i64, tickets: i64) -> Result<Duration, ApiError> {
    load_preset(states, Preset::scale(sites, devices, tickets)).await
}

/// Loads `preset` into the scratch database; the time it took.
pub async fn load_preset(states: &States, preset: Preset) -> Result<Duration, ApiError> {
    let started = Instant::now();
    nexus_local_runner::generate::generate(&states.core.pool, states.passwords(), preset, |step| eprintln!("{step}"))
        .await?;
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

pub async fn measure<F: AsyncFnMut() -> Result<(), ApiError>>(runs: usize, f: F) -> Result<Figures, ApiError> {
    measure_after(5, runs, f).await
}

/// [`measure`] after `warmups` untimed runs.
pub async fn measure_after<F: AsyncFnMut() -> Result<(), ApiError>>(
    warmups: usize,
    runs: usize,
    mut f: F,
) -> Result<Figures, ApiError> {
    for _ in 0..warmups {
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
pub async fn tickets_list(states: &States, runs: usize) -> Result<Vec<String>, ApiError> {
    let (app, state) = (nexus_local_runner::app(states), &states.core);
    let token = sign_in(state, Role::Supervisor).await;
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
        let figures = measure(runs, async || request_json(&app, &uri, &token).await.map(|_| ())).await?;
        rows.push(row(label, &figures));
    }
    // A deep page: 20 pages in, through the cursor.
    let mut uri = "/api/tickets?limit=50".to_string();
    for _ in 0..20 {
        let page = request_json(&app, &uri, &token).await?;
        match page["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/api/tickets?limit=50&cursor={cursor}"),
            None => break,
        }
    }
    let deep = measure(runs, async || request_json(&app, &uri, &token).await.map(|_| ())).await?;
    rows.push(row("GET /api/tickets (page 21 via cursor)", &deep));
    let one: i64 = sqlx::query_scalar("SELECT max(id) FROM tickets").fetch_one(&state.pool).await?;
    let get_one = format!("/api/tickets/{one}");
    let single = measure(runs, async || request_json(&app, &get_one, &token).await.map(|_| ())).await?;
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
        "WITH a AS (SELECT id, location_id, row_number() OVER (ORDER BY id) AS rn FROM assets WHERE tag LIKE 'DEV-%'),
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
/// views (the national one also through the per-ticket path a filter takes), and an unclustered
/// viewport. Uncached when `NEXUS_MAP_CACHE_SECS=0` (what `scripts/bench-tickets` sets).
pub async fn live_map(states: &States, runs: usize) -> Result<Vec<String>, ApiError> {
    let (app, state) = (nexus_local_runner::app(states), &states.core);
    let token = sign_in(state, Role::Supervisor).await;
    let active =
        format!("SELECT count(*) FROM tickets WHERE status IN {}", TicketStatus::sql_list(TicketStatus::ACTIVE));
    let active: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(active)).fetch_one(&state.pool).await?;
    let views = [
        (
            format!("live-tickets, {active} active, cluster zoom 5 (national)"),
            "/api/maps/live-tickets?cluster=true&zoom=5",
        ),
        (
            format!("live-tickets, {active} active, cluster zoom 5, every active status named (the per-ticket path)"),
            "/api/maps/live-tickets?cluster=true&zoom=5&status=open,assigned,in_progress,on_hold,resolved",
        ),
        (
            format!("live-tickets, {active} active, cluster zoom 12 (Jakarta)"),
            "/api/maps/live-tickets?cluster=true&zoom=12&bbox=106.6,-6.4,107.0,-6.0",
        ),
        (
            "live-tickets unclustered, bbox 0.2° x 0.2° (Jakarta)".to_string(),
            "/api/maps/live-tickets?bbox=106.75,-6.3,106.95,-6.1",
        ),
        ("locations, 2,000 generated sites, unclustered".to_string(), "/api/maps/locations"),
    ];
    let mut rows = Vec::new();
    for (label, uri) in views {
        // A refused view (too many points for this data) is a row saying so, not the end of the run.
        let features = match request_json(&app, uri, &token).await {
            Ok(body) => body["features"].as_array().map_or(0, Vec::len),
            Err(refused) => {
                rows.push(format!("| {label} | {refused} | |"));
                continue;
            }
        };
        let figures = measure(runs, async || request_json(&app, uri, &token).await.map(|_| ())).await?;
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

/// An access token for a fresh session of a bench user holding `role`.
pub async fn sign_in(state: &AppState, role: Role) -> String {
    nexus_testkit::user(state, &format!("bench-{role}@example.com"), &[role]).await.token
}

/// Sends a GET through the router and returns the JSON body; a non-2xx answer is an error.
pub async fn request_json(app: &axum::Router, uri: &str, token: &str) -> Result<serde_json::Value, ApiError> {
    let response = nexus_testkit::send(app, nexus_testkit::request(Method::GET, uri, Some(token), None)).await;
    match response.status.is_success() {
        true => Ok(response.body),
        false => Err(ApiError::internal(format!("{uri} answered {}: {}", response.status, response.body))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_and_p95_are_read_from_the_sorted_samples() {
        let samples = (1..=100).rev().map(Duration::from_millis).collect();
        let figures = Figures::of(samples);
        assert_eq!((figures.median, figures.p95), (Duration::from_millis(51), Duration::from_millis(96)));
        let one = Figures::of(vec![Duration::from_millis(7)]);
        assert_eq!((one.median, one.p95), (Duration::from_millis(7), Duration::from_millis(7)));
    }
}
