//! `nexus-local [serve|migrate|seed|sla-check|housekeeping]`: runs the whole API on one port for development,
//! with the scheduled SLA check running every minute beside it as EventBridge would run it.

use std::net::SocketAddr;
use std::time::Duration;

use nexus_shared::AppState;
use nexus_shared::db::MIGRATOR;
use sqlx::PgPool;
use sqlx::types::chrono::{DateTime, Utc};

const USAGE: &str = "usage: nexus-local [serve|migrate|seed|sla-check [--now RFC3339]|housekeeping [--now RFC3339]|bench-tickets [N]|bench-cold-start [DIR [STARTS]]|generate [--tids N] [--assets N] [--tickets N]]   \
                     (PORT, DATABASE_URL, NEXUS_JWT_SECRET from the environment)";

/// How often the local server runs the SLA check (the deployed schedule's rate).
const SLA_CHECK_EVERY: Duration = Duration::from_secs(60);

/// What the command line asks for.
enum Command {
    Serve,
    Migrate,
    Seed,
    /// One SLA sweep at `now` (the current instant if not given).
    SlaCheck {
        now: Option<DateTime<Utc>>,
    },
    /// One purge of what is past its retention at `now` (the current instant if not given).
    Housekeeping {
        now: Option<DateTime<Utc>>,
    },
    /// Load N tickets into this (scratch) database and print list and sweep figures.
    BenchTickets {
        tickets: i64,
    },
    /// SLA sweep and jobcard figures on a scratch database: OPEN open tickets, 1 % crossing a line.
    BenchSweep {
        open: i64,
    },
    /// Load realistic data at scale (see `generate.rs`).
    Generate(nexus_local_runner::generate::Scale),
    /// Time STARTS cold starts of every built Lambda under DIR (`target/lambda`).
    BenchColdStart {
        dir: std::path::PathBuf,
        starts: usize,
    },
}

impl Command {
    /// `None` when the arguments are not understood.
    fn parse(args: &[String]) -> Option<Command> {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        match args.as_slice() {
            [] | ["serve"] => Some(Command::Serve),
            ["migrate"] => Some(Command::Migrate),
            ["seed"] => Some(Command::Seed),
            ["sla-check"] => Some(Command::SlaCheck { now: None }),
            ["sla-check", "--now", instant] => Some(Command::SlaCheck { now: Some(parse_instant(instant)?) }),
            ["housekeeping"] => Some(Command::Housekeeping { now: None }),
            ["housekeeping", "--now", instant] => Some(Command::Housekeeping { now: Some(parse_instant(instant)?) }),
            ["bench-tickets"] => Some(Command::BenchTickets { tickets: 100_000 }),
            ["bench-tickets", n] => n.parse().ok().filter(|n| *n > 0).map(|tickets| Command::BenchTickets { tickets }),
            ["bench-sweep"] => Some(Command::BenchSweep { open: 1_000_000 }),
            ["bench-sweep", n] => n.parse().ok().filter(|n| *n > 0).map(|open| Command::BenchSweep { open }),
            ["generate", rest @ ..] => {
                let mut scale = nexus_local_runner::generate::Scale::default();
                for pair in rest.chunks(2) {
                    let value: i64 = pair.get(1)?.parse().ok().filter(|n| *n > 0)?;
                    match pair[0] {
                        "--tids" => scale.tids = value,
                        "--assets" => scale.assets = value,
                        "--tickets" => scale.tickets = value,
                        _ => return None,
                    }
                }
                Some(Command::Generate(scale))
            }
            ["bench-cold-start", rest @ ..] if rest.len() <= 2 => {
                let dir = rest.first().map_or("target/lambda", |d| d).into();
                let starts = rest.get(1).map_or(Some(11), |n| n.parse().ok().filter(|n| *n > 0))?;
                Some(Command::BenchColdStart { dir, starts })
            }
            _ => None,
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    nexus_shared::telemetry::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = Command::parse(&args) else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let mut state = AppState::from_env().await?;
    if std::env::var_os("NEXUS_JOBCARD_BUCKET").is_some() {
        state = state.with_storage(local_storage().await?);
    }
    MIGRATOR.run(&state.pool).await?;
    match command {
        Command::Migrate => {}
        Command::Seed => {
            nexus_local_runner::demo::seed(&state).await?;
        }
        Command::SlaCheck { now } => {
            let report = nexus_sla_check::sweep(&state.pool, now.unwrap_or_else(Utc::now)).await?;
            println!("{}", serde_json::to_string(&report)?);
        }
        Command::Housekeeping { now } => {
            let report = nexus_housekeeping::purge(&state.pool, now.unwrap_or_else(Utc::now)).await?;
            println!("{}", serde_json::to_string(&report)?);
        }
        Command::BenchTickets { tickets } => bench_tickets(&state, tickets).await?,
        Command::BenchSweep { open } => bench_sweep(&state, open).await?,
        Command::Generate(scale) => {
            println!("Generating {} sites, {} devices, {} tickets", scale.tids, scale.assets, scale.tickets);
            nexus_local_runner::generate::generate(&state, scale).await?;
        }
        Command::BenchColdStart { dir, starts } => {
            println!("Cold starts through the loopback Runtime API, median of {starts} starts each:\n");
            println!("{}", nexus_local_runner::cold_start::HEADER);
            for row in nexus_local_runner::cold_start::run(&state, &dir, starts).await? {
                println!("{row}");
            }
        }
        Command::Serve => {
            let summary = nexus_local_runner::demo::seed(&state).await?;
            tokio::spawn(check_sla_periodically(state.pool.clone()));
            serve(state, summary).await?;
        }
    }
    Ok(())
}

fn parse_instant(instant: &str) -> Option<DateTime<Utc>> {
    Some(DateTime::parse_from_rfc3339(instant).ok()?.with_timezone(&Utc))
}

/// Prints the tickets benchmark as a Markdown table.
async fn bench_tickets(state: &AppState, tickets: i64) -> Result<(), nexus_shared::ApiError> {
    use nexus_local_runner::bench;
    nexus_local_runner::demo::seed(state).await?;
    let (render, size) = bench::jobcard(1_000);
    println!(
        "Jobcard PDF: median {:.2} ms, p95 {:.2} ms, {size} bytes (1000 renders)",
        render.median.as_secs_f64() * 1e3,
        render.p95.as_secs_f64() * 1e3
    );
    let loaded = bench::load(state, 2_000, tickets).await?;
    println!("Loaded {tickets} tickets at 2000 bench sites in {:.1} s", loaded.as_secs_f64());
    println!("\n| request (in process, 200 runs each) | median ms | p95 ms |\n| --- | ---: | ---: |");
    for row in bench::tickets_list(state, 200).await? {
        println!("{row}");
    }
    // Record what the loaded history has already crossed, so the timed run sees only the 1 %.
    let (catch_up, caught) = bench::time_sweep(state).await?;
    let open = tickets;
    let due = bench::load_open(state, "a", open, 0.01, 600).await?;
    let (first, recorded) = bench::time_sweep(state).await?;
    let (idle, nothing) = bench::time_sweep(state).await?;
    println!("\nSLA sweep over {open} more open tickets ({due} past their lines):");
    println!("| sweep | ms | events recorded |\n| --- | ---: | ---: |");
    println!(
        "| catch-up over the loaded history (before the open tickets) | {:.1} | {caught} |",
        catch_up.as_secs_f64() * 1e3
    );
    println!("| 1 % due | {:.1} | {recorded} |", first.as_secs_f64() * 1e3);
    println!("| nothing due (same data, next run) | {:.1} | {nothing} |", idle.as_secs_f64() * 1e3);
    println!("\n| map request (in process, 50 runs each) | median ms | p95 ms |\n| --- | ---: | ---: |");
    for row in bench::live_map(state, 50).await? {
        println!("{row}");
    }
    Ok(())
}

/// The in-process part of `bench/run`: the SLA sweep at scale (and that its cost follows what is
/// due, not what is open) and jobcard rendering, as Markdown rows.
async fn bench_sweep(state: &AppState, open: i64) -> Result<(), nexus_shared::ApiError> {
    use nexus_local_runner::bench;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    bench::load(state, 2_000, 0).await?;
    let mut rows = Vec::new();
    let due = bench::load_open(state, "a", open, 0.01, 100).await?;
    let (first, recorded) = bench::time_sweep(state).await?;
    rows.push(format!("| {open} open, {due} crossing one line (warning) | {:.0} | {recorded} |", ms(first)));
    let more = bench::load_open(state, "b", open, 0.01, 100).await?;
    let (doubled, recorded) = bench::time_sweep(state).await?;
    rows.push(format!(
        "| {} open (non-due doubled), {more} crossing one line | {:.0} | {recorded} |",
        2 * open,
        ms(doubled)
    ));
    let (idle, nothing) = bench::time_sweep(state).await?;
    rows.push(format!("| {} open, nothing due | {:.0} | {nothing} |", 2 * open, ms(idle)));
    let outage = bench::load_open(state, "c", open / 10, 0.1, 600).await?;
    let (all_four, recorded) = bench::time_sweep(state).await?;
    rows.push(format!(
        "| after a 10-hour outage: {outage} tickets crossing all four lines | {:.0} | {recorded} |",
        ms(all_four)
    ));
    println!("| SLA sweep | ms | events recorded |\n| --- | ---: | ---: |");
    for row in rows {
        println!("{row}");
    }
    let (render, size) = bench::jobcard(1_000);
    println!(
        "\n| jobcard PDF (1000 renders) | median ms | p95 ms | bytes |\n| --- | ---: | ---: | ---: |\n| render | {:.3} | {:.3} | {size} |",
        ms(render.median),
        ms(render.p95)
    );
    Ok(())
}

/// S3 for jobcards (moto locally, started by `scripts/run`); the bucket is created when missing.
async fn local_storage() -> Result<nexus_shared::storage::S3Store, Box<dyn std::error::Error + Send + Sync>> {
    let sdk = nexus_shared::aws::sdk_config().await;
    let store = nexus_shared::storage::S3Store::from_env(&sdk).await?;
    if store.client().head_bucket().bucket(store.bucket()).send().await.is_err() {
        let region = sdk.region().map(|r| r.to_string()).unwrap_or_else(|| "us-east-1".into());
        let location = aws_sdk_s3::types::CreateBucketConfiguration::builder()
            .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region.as_str()))
            .build();
        store.client().create_bucket().bucket(store.bucket()).create_bucket_configuration(location).send().await?;
    }
    Ok(store)
}

/// The scheduled SLA check, in-process: every minute, sweep at the current instant. A failed
/// sweep is logged and retried on the next tick; it never takes the server down.
async fn check_sla_periodically(pool: PgPool) {
    let mut ticks = tokio::time::interval(SLA_CHECK_EVERY);
    // After a stall (a laptop waking up), one catch-up sweep is enough: it sees every line.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match nexus_sla_check::sweep(&pool, Utc::now()).await {
            Ok(report) if report.total() > 0 => tracing::info!(
                response_warnings = report.response_warnings,
                response_breaches = report.response_breaches,
                resolution_warnings = report.resolution_warnings,
                resolution_breaches = report.resolution_breaches,
                "SLA check recorded crossings"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "SLA check failed; retrying at the next tick"),
        }
    }
}

async fn serve(state: AppState, summary: nexus_local_runner::demo::Summary) -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(3000);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("Nexus API on http://{addr}  (OpenAPI: http://{addr}/api/openapi.json)");
    println!("Demo data: {} locations, {} assets, {} tickets", summary.locations, summary.assets, summary.tickets);
    println!("Demo logins (password {}):", nexus_local_runner::demo::PASSWORD);
    for (email, role) in nexus_local_runner::demo::USERS {
        println!("  {email:<26} {role}");
    }
    println!("SLA check: every {} s", SLA_CHECK_EVERY.as_secs());
    axum::serve(listener, nexus_local_runner::app(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
