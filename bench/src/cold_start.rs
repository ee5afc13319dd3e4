//! Cold-start benchmark: each built Lambda (`target/lambda/<name>/bootstrap`) is spawned against
//! the loopback Runtime API and timed from spawn to its first answer, for a request that needs
//! no database and for one that does (the difference is what the first connection costs), and
//! the database connections that first request opened are counted.

use std::path::Path;
use std::time::Duration;

use nexus_local_runner::States;
use nexus_shared::AppState;
use nexus_shared::auth::Role;
use nexus_shared::config::{ConfigError, Env};
use nexus_testkit::lambda::{LambdaProcess, api_gateway_v2_event as apigw_v2_event};
use serde_json::{Value, json};

use crate::bench::Figures;

/// One function and the two events it is timed with.
struct Case {
    function: &'static str,
    /// Sent 21 times to one warm instance before its peak memory is read (its heaviest
    /// request: a login's argon2 for auth, the biggest page or document for the others).
    heaviest: Value,
    /// Answered without touching the database (a 401 before any session lookup, or a static
    /// document); `None` for functions that are all database work.
    without_database: Option<Value>,
    with_database: Value,
}

fn cases(token: &str) -> Vec<Case> {
    let anonymous = |path: &str| Some(apigw_v2_event("GET", path, "", None, None));
    let signed_in = |path: &str, query: &str| apigw_v2_event("GET", path, query, Some(token), None);
    let http = |function, open: &str, path: &str, query: &str, heaviest: &str| Case {
        function,
        heaviest: signed_in(path, heaviest),
        without_database: anonymous(open),
        with_database: signed_in(path, query),
    };
    let login = json!({"email": LOGIN_EMAIL, "password": LOGIN_PASSWORD});
    vec![
        Case {
            heaviest: apigw_v2_event("POST", "/api/auth/login", "", None, Some(login)),
            ..http("auth", "/api/auth/me", "/api/auth/me", "", "")
        },
        http("users", "/api/users", "/api/users", "limit=20", "limit=500"),
        http("locations", "/api/locations", "/api/locations", "limit=20", "limit=500"),
        http("assets", "/api/assets", "/api/assets", "limit=20", "limit=500"),
        http("audit", "/api/audit-logs", "/api/audit-logs", "limit=20", "limit=500"),
        http("tickets", "/api/tickets", "/api/tickets", "limit=20", "limit=500"),
        http("approvals", "/api/approvals/1", "/api/approvals/1", "", ""),
        http("sla", "/api/sla", "/api/sla", "", ""),
        http("pm", "/api/pm-plans", "/api/pm-plans", "limit=20", "limit=500"),
        http("checklists", "/api/checklists", "/api/checklists", "limit=20", "limit=500"),
        http("imports", "/api/imports", "/api/imports", "limit=20", "limit=500"),
        http("webhooks", "/api/webhooks", "/api/webhooks", "limit=20", "limit=500"),
        http("maps", "/api/maps/locations", "/api/maps/locations", "", ""),
        http("pdf", "/api/pdf/jobcard/1", "/api/pdf/jobcard/1", "", ""),
        http("files", "/api/tickets/1/attachments", "/api/tickets/1/attachments", "", ""),
        http(
            "reports",
            "/api/reports/kpis",
            "/api/reports/kpis",
            "from=2026-11-01&to=2026-11-30",
            "from=2025-12-01&to=2026-11-30&group_by=month",
        ),
        Case {
            heaviest: anonymous("/api/openapi.json").unwrap(),
            ..http("meta", "/api/openapi.json", "/api/health", "", "")
        },
        Case {
            function: "sla-check",
            heaviest: scheduled_event("sla-check"),
            without_database: None,
            with_database: scheduled_event("sla-check"),
        },
        Case {
            function: "pm-generate",
            heaviest: scheduled_event("pm-generate"),
            without_database: None,
            with_database: scheduled_event("pm-generate"),
        },
        Case {
            function: "report-rollup",
            heaviest: scheduled_event("report-rollup"),
            without_database: None,
            with_database: scheduled_event("report-rollup"),
        },
        Case {
            // Nothing due in the bench's database: a claim that finds nothing.
            function: "webhook-dispatch",
            heaviest: scheduled_event("webhook-dispatch"),
            without_database: None,
            with_database: scheduled_event("webhook-dispatch"),
        },
        Case {
            function: "housekeeping",
            heaviest: scheduled_event("housekeeping"),
            without_database: None,
            with_database: scheduled_event("housekeeping"),
        },
        Case { function: "migrate", heaviest: json!({}), without_database: None, with_database: json!({}) },
        Case {
            // The rotation's setSecret step touches neither the database nor Secrets Manager (the
            // bench runs none): the cold start alone.
            function: "key-rotate",
            heaviest: rotation_step("setSecret"),
            without_database: None,
            with_database: rotation_step("setSecret"),
        },
    ]
}

const LOGIN_EMAIL: &str = "bench-login@example.com";
const LOGIN_PASSWORD: &str = "bench-login-password";

/// A Secrets Manager rotation event for the signing-key secret.
fn rotation_step(step: &str) -> Value {
    json!({"SecretId": "nexus/jwt", "ClientRequestToken": "5f0c1f5e-4c52-4bd4-9f0e-3b1b0b6a2e11", "Step": step})
}

/// The function's scheduled event (its `infra/events` fixture), fired now.
fn scheduled_event(function: &str) -> Value {
    let mut event = nexus_testkit::lambda::scheduled_event(function);
    event["time"] = chrono::Utc::now().to_rfc3339().into();
    event
}

/// One row of the printed table.
pub struct Row {
    function: &'static str,
    zip_bytes: Option<u64>,
    without_database: Option<Figures>,
    with_database: Figures,
    /// Connections the instance had opened when it answered its first request (median of `starts`).
    connections: i64,
    warm: Figures,
    peak_rss_kib: Option<u64>,
}

impl std::fmt::Display for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1e3);
        let zip = self.zip_bytes.map(|b| format!("{:.2}", b as f64 / 1024.0 / 1024.0)).unwrap_or("-".into());
        let (cold, connect) = match &self.without_database {
            Some(t) => (ms(t.median), ms(self.with_database.median.saturating_sub(t.median))),
            None => ("-".into(), "-".into()),
        };
        write!(
            f,
            "| {} | {zip} | {cold} | {} | {connect} | {} | {} | {} |",
            self.function,
            ms(self.with_database.median),
            self.connections,
            ms(self.warm.median),
            self.peak_rss_kib.map_or("-".into(), |k| format!("{:.1}", k as f64 / 1024.0))
        )
    }
}

pub const HEADER: &str = "| function | zip MiB | cold, no database (ms) | cold, first query (ms) | connect + query adds (ms) | connections opened by it | warm, same query (ms) | peak RSS, heaviest request (MiB) |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |";

/// Times `starts` cold starts per event for every function found under `dir`.
pub async fn run(
    states: &States,
    env: &Env,
    dir: &Path,
    starts: usize,
) -> Result<Vec<Row>, Box<dyn std::error::Error + Send + Sync>> {
    let state = &states.core;
    let token = crate::bench::sign_in(state, Role::Admin).await;
    let hash = states.passwords().hash(nexus_shared::secret::Secret::new(LOGIN_PASSWORD.into())).await?;
    let mut tx = state.pool.begin().await?;
    nexus_shared::user::ensure(&mut tx, LOGIN_EMAIL, None, &hash, &[Role::Technician]).await?;
    tx.commit().await?;
    // NEXUS_COLD_FUNCTIONS="meta auth": only those (scripts/bench-cold-start builds only them).
    let only: Option<Vec<String>> =
        env.get("NEXUS_COLD_FUNCTIONS").map(|names| names.split_whitespace().map(str::to_string).collect());
    let env = environment(env)?;
    let mut rows = Vec::new();
    for case in cases(&token).into_iter().filter(|c| only.as_ref().is_none_or(|o| o.iter().any(|n| n == c.function))) {
        let binary = dir.join(case.function).join("bootstrap");
        if !binary.exists() {
            return Err(format!("{} is missing: run scripts/build-lambdas first", binary.display()).into());
        }
        let env = with_pool_size(&env, case.function);
        let without_database = match &case.without_database {
            Some(event) => Some(Figures::of(cold_starts(state, &binary, case.function, &env, event, starts).await?.0)),
            None => None,
        };
        let (cold, warm, mut connections) =
            cold_starts(state, &binary, case.function, &env, &case.with_database, starts).await?;
        connections.sort_unstable();
        let zip_bytes = std::fs::metadata(dir.join(case.function).join("bootstrap.zip")).ok().map(|m| m.len());
        let peak_rss_kib = peak_memory(&binary, case.function, &env, &case.heaviest).await?;
        rows.push(Row {
            peak_rss_kib,
            function: case.function,
            zip_bytes,
            without_database,
            with_database: Figures::of(cold),
            connections: connections[connections.len() / 2],
            warm: Figures::of(warm),
        });
    }
    Ok(rows)
}

/// `starts` fresh processes: spawn → first answer, then the same event again (warm); and the
/// connections each had opened by its first answer (backends of this database started since).
async fn cold_starts(
    state: &AppState,
    binary: &Path,
    function: &str,
    env: &[(&str, String)],
    event: &Value,
    starts: usize,
) -> Result<(Vec<Duration>, Vec<Duration>, Vec<i64>), Box<dyn std::error::Error + Send + Sync>> {
    let (mut cold, mut warm, mut connections) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..starts {
        let since: chrono::DateTime<chrono::Utc> =
            sqlx::query_scalar("SELECT clock_timestamp()").fetch_one(&state.pool).await?;
        let mut process = LambdaProcess::start(binary, function, env).await?;
        let answer = process.invoke(event, Duration::from_secs(30)).await?;
        check(function, &answer)?;
        cold.push(process.answered_at.expect("answered").duration_since(process.spawned_at));
        connections.push(
            sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND backend_start > $1 AND pid <> pg_backend_pid()",
            )
            .bind(since)
            .fetch_one(&state.pool)
            .await?,
        );
        let sent = std::time::Instant::now();
        process.invoke(event, Duration::from_secs(30)).await?;
        warm.push(process.answered_at.expect("answered").duration_since(sent));
    }
    Ok((cold, warm, connections))
}

/// One instance serving its heaviest request 21 times, as Lambda would one after another: its
/// peak resident memory (what Lambda reports as "Max Memory Used").
async fn peak_memory(
    binary: &Path,
    function: &str,
    env: &[(&str, String)],
    event: &Value,
) -> Result<Option<u64>, Box<dyn std::error::Error + Send + Sync>> {
    let mut process = LambdaProcess::start(binary, function, env).await?;
    for _ in 0..21 {
        let answer = process.invoke(event, Duration::from_secs(60)).await?;
        check(function, &answer)?;
    }
    Ok(process.peak_rss_kib())
}

/// A benchmark of failures measures nothing: every answer must be the expected kind.
fn check(function: &str, answer: &Value) -> Result<(), String> {
    match answer.get("statusCode").and_then(Value::as_u64) {
        Some(200 | 401 | 404) | None => Ok(()),
        Some(status) => Err(format!("{function} answered {status}: {answer}")),
    }
}

/// The function's pool size as template.yaml sets it (`NEXUS_COLD_MAX_CONNECTIONS` instead, for
/// every function, when set): one connection, two where a handler needs them at once.
fn with_pool_size(env: &[(&'static str, String)], function: &str) -> Vec<(&'static str, String)> {
    let size = std::env::var("NEXUS_COLD_MAX_CONNECTIONS")
        .unwrap_or_else(|_| if function == "reports" { "2" } else { "1" }.into());
    let mut env = env.to_vec();
    env.push(("NEXUS_DB_MAX_CONNECTIONS", size));
    env
}

/// What Lambda would pass: the database (and its TLS mode and CA, when set), the signing key, and
/// AWS settings that make the SDK read credentials from the environment (no metadata-service
/// probing on a laptop).
fn environment(env: &Env) -> Result<Vec<(&'static str, String)>, ConfigError> {
    let mut vars = vec![
        ("DATABASE_URL", env.required("DATABASE_URL")?.to_string()),
        ("NEXUS_JWT_SECRET", env.required("NEXUS_JWT_SECRET")?.to_string()),
        ("NEXUS_JOBCARD_BUCKET", "cold-start-bench".into()),
        // Any 32 bytes: the bench opens no secret.
        ("NEXUS_WEBHOOK_KEY", "bmV4dXMtbG9jYWwtZGV2ZWxvcG1lbnQtb25seS1rZXk=".into()),
        ("NEXUS_MFA_KEY", "bmV4dXMtbG9jYWwtbWZhLWtleS1kZXZlbG9wbWVudDA=".into()),
        ("AWS_REGION", "ap-southeast-3".into()),
        ("AWS_ACCESS_KEY_ID", "bench".into()),
        ("AWS_SECRET_ACCESS_KEY", "bench".into()),
        ("RUST_LOG", "warn".into()),
        // As template.yaml sets it (see there): argon2's 19 MiB goes back to the system after each hash.
        ("MALLOC_MMAP_THRESHOLD_", "131072".into()),
    ];
    for name in ["NEXUS_DB_SSLMODE", "NEXUS_DB_SSLROOTCERT"] {
        vars.extend(env.get(name).map(|value| (name, value.to_string())));
    }
    Ok(vars)
}
