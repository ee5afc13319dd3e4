//! The export benchmark (W2 5/7: "a 100,000-row export to S3 ≤ 5 s with flat memory"), run by
//! hand, not in the suite: the built `files` binary under the loopback Lambda Runtime API, moto
//! for S3, 100,000 tickets in Postgres. It prints the time of each export (the invocation, as
//! API Gateway would wait for it) and the process's peak RSS (`VmHWM`, what Lambda reports as
//! "Max Memory Used") after a tiny export, a 25,000-row one and the 100,000-row one.
//!
//! `cargo build --release -p nexus-files --bin files` first, then
//! `NEXUS_BENCH_FILES_BIN=target/release/files /tmp/export-test.sh -p nexus-files --test export_bench -- --ignored --nocapture`
//! (without the variable it runs the debug binary: slower, same shape).

use std::time::Instant;

use nexus_testkit::{self as testing, TestUser};
use serde_json::{Value, json};
use sqlx::PgPool;

async fn export(process: &mut nexus_testkit::lambda::LambdaProcess, user: &TestUser, filters: Value) -> (Value, f64) {
    let event = nexus_testkit::lambda::api_gateway_v2_event(
        "POST",
        "/api/exports",
        "",
        Some(&user.token),
        Some(json!({"entity": "tickets", "filters": filters})),
    );
    let started = Instant::now();
    let r = testing::invoke_http(process, event).await;
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(r.status.as_u16(), 201, "{:?}\n{}", r.body, process.log());
    (r.body, seconds)
}

#[sqlx::test(migrations = "../../migrations")]
#[ignore = "a benchmark: run by hand (see the module's comment)"]
async fn a_100k_row_export_to_s3(pool: PgPool) {
    let store = nexus_testkit::fetch::s3_test_store().await;
    let state = testing::state(pool.clone());
    let admin = testing::user(&state, "admin@test.example", &[nexus_shared::auth::Role::Admin]).await;
    let site = testing::site(&pool, "JKT0001", "Asia/Jakarta").await;
    let seeded = Instant::now();
    sqlx::query(
        r#"INSERT INTO tickets (number, ticket_type, priority, status, asset_id, location_id, description,
               sla_calendar_id, response_target_minutes, resolution_target_minutes, warning_ratio,
               response_warning_at, response_due_at, resolution_warning_at, resolution_due_at, created_at)
           SELECT 'CM-' || lpad(g::text, 7, '0'), 'CM', (ARRAY['critical', 'high', 'medium', 'low'])[1 + g % 4], 'open',
               $1, $2, 'Card reader error at the lobby ATM, customer card retained ' || g, 1, 60, 240, 0.8,
               now() + interval '1 hour', now() + interval '2 hours', now() + interval '3 hours', now() + interval '4 hours',
               timestamptz '2026-11-01T00:00:00Z' + g * interval '1 second'
           FROM generate_series(1, 100000) g"#,
    )
    .bind(site.asset_id)
    .bind(site.location_id)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE tickets").execute(&pool).await.unwrap();
    println!("seeded 100,000 tickets in {:.1} s", seeded.elapsed().as_secs_f64());

    let binary = std::env::var("NEXUS_BENCH_FILES_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_files").to_string());
    let mut process =
        testing::start_lambda(&binary, &pool, &[("NEXUS_JOBCARD_BUCKET", store.bucket().to_string())]).await;
    for (what, filters) in [
        ("tiny (0 rows)", json!({"status": "open", "asset_id": -1})),
        ("25,000 rows", json!({"priority": "high"})),
        ("100,000 rows", json!({})),
        ("100,000 rows again", json!({})),
    ] {
        let (answer, seconds) = export(&mut process, &admin, filters).await;
        println!(
            "{binary}: {what}: {} rows, {:.1} MB in {seconds:.2} s; peak RSS so far {} KiB",
            answer["rows"],
            answer["bytes"].as_f64().unwrap() / 1e6,
            process.peak_rss_kib().unwrap_or(0)
        );
    }
}
