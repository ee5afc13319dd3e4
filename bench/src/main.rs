//! `nexus-bench [bench-tickets [N]|bench-sweep [N]|bench-pm [TICKETS]|bench-reports [TICKETS]|bench-imports|bench-cold-start [DIR [STARTS]]]`:
//! the in-process benchmarks (tickets list and map, SLA sweep, PM generator and forecast) and the
//! cold-start measurement, each on a scratch database (`DATABASE_URL`) that `bench/run` and
//! `scripts/bench-*` create. Benchmarks print figures; they assert nothing.

mod bench;
mod cold_start;
mod imports;
mod pm;
mod reports;

use std::time::Duration;

use nexus_local_runner::States;
use nexus_shared::ApiError;
use nexus_shared::config::{Env, FromEnv};
use nexus_shared::db::MIGRATOR;

const USAGE: &str = "usage: nexus-bench [bench-tickets [N]|bench-map|bench-outage [OPEN]|bench-sweep [N]|bench-pm [TICKETS]|bench-reports [TICKETS]|bench-imports|bench-cold-start [DIR [STARTS]]]   \
                     (DATABASE_URL, NEXUS_JWT_SECRET from the environment)";

enum Command {
    /// Load N tickets into this (scratch) database and print list, sweep and map figures.
    Tickets { tickets: i64 },
    /// The live map figures alone, over what this database holds (e.g. what bench-tickets left).
    Map,
    /// The SLA check after an outage alone: OPEN open tickets (default 100,000), a tenth of them
    /// ten hours past all four lines.
    Outage { open: i64 },
    /// SLA sweep and jobcard figures: OPEN open tickets, 1 % crossing a line.
    Sweep { open: i64 },
    /// PM generator and forecast figures: 1,000 plans over 50,000 devices (TICKETS ordinary
    /// tickets beside them).
    Pm { tickets: i64 },
    /// KPI rollup and report figures: a year of days rolled up, then the report over a year
    /// (TICKETS tickets at 10,000 sites, default 500,000).
    Reports { tickets: i64 },
    /// Bulk import figures: 10,000 sites and 50,000 devices, dry run and apply, twice each.
    Imports,
    /// Time STARTS cold starts of every built Lambda under DIR (`target/lambda`).
    ColdStart { dir: std::path::PathBuf, starts: usize },
}

impl Command {
    fn parse(args: &[&str]) -> Option<Command> {
        let count = |n: &str| n.parse().ok().filter(|n: &i64| *n > 0);
        match args {
            ["bench-tickets"] => Some(Command::Tickets { tickets: 100_000 }),
            ["bench-tickets", n] => Some(Command::Tickets { tickets: count(n)? }),
            ["bench-map"] => Some(Command::Map),
            ["bench-outage"] => Some(Command::Outage { open: 100_000 }),
            ["bench-outage", n] => Some(Command::Outage { open: count(n)? }),
            ["bench-sweep"] => Some(Command::Sweep { open: 1_000_000 }),
            ["bench-sweep", n] => Some(Command::Sweep { open: count(n)? }),
            ["bench-pm"] => Some(Command::Pm { tickets: 10_000 }),
            ["bench-pm", n] => Some(Command::Pm { tickets: n.parse().ok().filter(|n: &i64| *n >= 0)? }),
            ["bench-reports"] => Some(Command::Reports { tickets: 500_000 }),
            ["bench-reports", n] => Some(Command::Reports { tickets: count(n)? }),
            ["bench-imports"] => Some(Command::Imports),
            ["bench-cold-start", rest @ ..] if rest.len() <= 2 => {
                let dir = rest.first().map_or("target/lambda", |d| d).into();
                let starts = rest.get(1).map_or(Some(11), |n| n.parse().ok().filter(|n| *n > 0))?;
                Some(Command::ColdStart { dir, starts })
            }
            _ => None,
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    nexus_shared::telemetry::init();
    let command = nexus_local_runner::cli::command(USAGE, Command::parse);
    let env = Env::load(States::SECRETS).await?;
    let states = States::from_env(&env).await?;
    MIGRATOR.run(&states.core.pool).await?;
    match command {
        Command::Tickets { tickets } => bench_tickets(&states, tickets).await?,
        Command::Map => {
            println!("| map request (in process, 50 runs each) | median ms | p95 ms |\n| --- | ---: | ---: |");
            for row in bench::live_map(&states, 50).await? {
                println!("{row}");
            }
        }
        Command::Outage { open } => {
            bench::load(&states, 0).await?;
            let due = bench::load_open(&states.core, "o", open, 0.1, 600).await?;
            let (took, recorded) = bench::time_sweep(&states.core).await?;
            println!(
                "| after a 10-hour outage: {due} of {open} open tickets crossing all four lines | {:.0} ms | {recorded} events |",
                took.as_secs_f64() * 1e3
            );
        }
        Command::Sweep { open } => bench_sweep(&states, open).await?,
        Command::Pm { tickets } => pm::run(&states, tickets).await?,
        Command::Reports { tickets } => reports::run(&states, tickets).await?,
        Command::Imports => imports::run(&states).await?,
        Command::ColdStart { dir, starts } => {
            println!("Cold starts through the loopback Runtime API, median of {starts} starts each:\n");
            println!("{}", cold_start::HEADER);
            for row in cold_start::run(&states, &env, &dir, starts).await? {
                println!("{row}");
            }
        }
    }
    Ok(())
}

/// Prints the tickets benchmark as a Markdown table.
async fn bench_tickets(states: &States, tickets: i64) -> Result<(), ApiError> {
    let state = &states.core;
    nexus_local_runner::generate::demo(&state.pool, states.passwords()).await?;
    let (render, size) = bench::jobcard(1_000);
    println!(
        "Jobcard PDF: median {:.2} ms, p95 {:.2} ms, {size} bytes (1000 renders)",
        render.median.as_secs_f64() * 1e3,
        render.p95.as_secs_f64() * 1e3
    );
    let loaded = bench::load(states, tickets).await?;
    println!("Loaded {tickets} tickets at 2000 bench sites in {:.1} s", loaded.as_secs_f64());
    println!("\n| request (in process, 200 runs each) | median ms | p95 ms |\n| --- | ---: | ---: |");
    for row in bench::tickets_list(states, 200).await? {
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
    for row in bench::live_map(states, 50).await? {
        println!("{row}");
    }
    Ok(())
}

/// The in-process part of `bench/run`: the SLA sweep at scale (and that its cost follows what is
/// due, not what is open) and jobcard rendering, as Markdown rows.
async fn bench_sweep(states: &States, open: i64) -> Result<(), ApiError> {
    let state = &states.core;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    bench::load(states, 0).await?;
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
