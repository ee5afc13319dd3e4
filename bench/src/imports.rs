//! `nexus-bench bench-imports`: bulk imports at fleet scale, through the router in process. A
//! 10,000-site file and a 50,000-device file (on those sites), each dry-run then applied into an
//! empty deployment (every row an insert and an audit row), then the same files again (every
//! row unchanged: nothing written), each timed once end to end (request to report). Peak memory
//! is the process's high-water mark (`VmHWM`), read after each step: the files are built once
//! before the first, so growth past them is the import's. It prints figures and asserts nothing.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use nexus_local_runner::States;
use nexus_shared::ApiError;
use nexus_shared::auth::Role;

const SITES: usize = 10_000;
const DEVICES: usize = 50_000;

/// Kilobytes of the process's memory high-water mark (`VmHWM`) or current size (`VmRSS`).
fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix(field)?.trim().strip_suffix("kB")?.trim().parse().ok()).unwrap_or(0)
}

fn mib(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

fn sites_file() -> String {
    const ZONES: [(&str, &str, f64, f64); 3] = [
        ("Asia/Jakarta", "DKI Jakarta", -6.2, 106.8),
        ("Asia/Makassar", "Bali", -8.65, 115.2),
        ("Asia/Jayapura", "Papua", -2.53, 140.7),
    ];
    let mut csv = String::from("\u{feff}code,name,address,latitude,longitude,timezone,region,geofence_m\r\n");
    for i in 0..SITES {
        let (zone, region, lat, lng) = ZONES[i % 3];
        let (lat, lng) = (lat + (i % 100) as f64 * 0.001, lng + (i / 100) as f64 * 0.001);
        csv.push_str(&format!(
            "IMP-{i:06},\"Bench site {i}, {region}\",Jl. Bench {i},{lat},{lng},{zone},{region},{}\r\n",
            150 + i % 100
        ));
    }
    csv
}

fn devices_file() -> String {
    const KINDS: [(&str, &str); 3] = [("ATM", "Hyosung MX8600"), ("EDC", "Verifone V200c"), ("KSK", "Kiosk lobby")];
    let mut csv = String::from("\u{feff}tag,location_code,name,category,purchase_date,status\r\n");
    for i in 0..DEVICES {
        let (kind, name) = KINDS[i % 3];
        let date = format!("2024-{:02}-{:02}", 1 + i % 12, 1 + i % 28);
        csv.push_str(&format!("{kind}-{i:07},IMP-{:06},{name},{},{date},active\r\n", i % SITES, kind.to_lowercase()));
    }
    csv
}

/// One import request: (status, report, time).
async fn import(
    app: &axum::Router,
    token: &str,
    entity: &str,
    file: &str,
    checksum: Option<&str>,
) -> Result<(serde_json::Value, Duration), ApiError> {
    let uri = format!("/api/imports?entity={entity}&dry_run={}", checksum.is_none());
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(&uri)
        .header(header::CONTENT_TYPE, "text/csv")
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    if let Some(checksum) = checksum {
        request = request.header("x-import-checksum", checksum);
    }
    let request = request.body(Body::from(file.to_string())).map_err(ApiError::internal)?;
    let started = Instant::now();
    let response = nexus_testkit::send(app, request).await;
    let took = started.elapsed();
    let expected = if checksum.is_none() { StatusCode::OK } else { StatusCode::CREATED };
    if response.status != expected {
        return Err(ApiError::internal(format!("{uri} answered {}: {}", response.status, response.body)));
    }
    Ok((response.body, took))
}

pub async fn run(states: &States) -> Result<(), ApiError> {
    let app = nexus_local_runner::app(states);
    let token = crate::bench::sign_in(&states.core, Role::Admin).await;
    let (sites, devices) = (sites_file(), devices_file());
    println!(
        "Files: {SITES} sites ({:.2} MiB), {DEVICES} devices ({:.2} MiB); process before the first import: \
         RSS {:.1} MiB, peak {:.1} MiB\n",
        sites.len() as f64 / 1048576.0,
        devices.len() as f64 / 1048576.0,
        mib(status_kb("VmRSS:")),
        mib(status_kb("VmHWM:"))
    );
    println!(
        "| import (in process, one run each) | rows | inserted | updated | unchanged | ms | peak RSS after, MiB |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for (entity, label, file) in [("locations", "sites", &sites), ("assets", "devices", &devices)] {
        for pass in ["into an empty deployment", "again (all unchanged)"] {
            let (dry, dry_took) = import(&app, &token, entity, file, None).await?;
            row(&format!("{label}: dry run, {pass}"), &dry, dry_took);
            let checksum = dry["checksum"].as_str().unwrap_or_default().to_string();
            let (applied, took) = import(&app, &token, entity, file, Some(&checksum)).await?;
            row(&format!("{label}: apply, {pass}"), &applied, took);
        }
    }
    let audit: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_logs").fetch_one(&states.core.pool).await?;
    println!("\nAudit rows written: {audit} (one per row created; none for unchanged rows)");
    Ok(())
}

fn row(label: &str, report: &serde_json::Value, took: Duration) {
    let n = |k: &str| report[k].as_i64().unwrap_or(-1);
    println!(
        "| {label} | {} | {} | {} | {} | {:.0} | {:.1} |",
        n("rows"),
        n("inserted"),
        n("updated"),
        n("unchanged"),
        took.as_secs_f64() * 1e3,
        mib(status_kb("VmHWM:"))
    );
}
