//! The one data generator: set-based SQL over one table of cities (`INSERT … SELECT` over
//! `generate_series`, `random()` seeded so the same preset gives the same data), in two presets:
//! - [`Preset::demo`], what `scripts/run` serves and the README promises: 60 sites around the
//!   demo's fifteen cities, 105 devices, the four demo accounts, 56 tickets (8 in each of the
//!   seven states), and two PM plans whose tickets the PM generator makes (run once at the end,
//!   then every minute while serving);
//! - [`Preset::scale`], a national fleet for the benchmarks: 10,000 sites, 50,000 devices, a
//!   technician per ~50 sites, 500,000 tickets over two years in realistic shares.
//!
//! Rerunning adds nothing twice: codes, tags, e-mails and ticket numbers are fixed by position.

mod cities;
pub mod field;
mod people;
mod places;
mod pm;
mod tickets;

use std::time::Instant;

use chrono::Utc;
use nexus_shared::ApiError;
use nexus_shared::auth::password::Passwords;
use sqlx::PgPool;

pub use people::{PASSWORD, USERS};
pub use pm::{DISPENSER_SERVICE, MONTHLY_INSPECTION, NOTES_DISPENSED, OFFICE_HOURS, WEEKLY_CASSETTE_CHECK};

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    /// The demo's fifteen cities, evenly; or all twenty, weighted by their share of a fleet.
    pub every_city_evenly: bool,
    pub sites: i64,
    pub devices: i64,
    /// Fleet staff (`*@fleet.example.com`) who get the tickets, by territory; 0: the demo's
    /// accounts do.
    pub technicians: i64,
    pub tickets: i64,
    /// Tickets: every state in equal numbers within the last two days (the demo), or a fleet's
    /// shares — 70 % closed over two years, the rest active in the last three days.
    pub every_state_equally: bool,
    /// A fleet's steady flow instead: arrivals even over two years, and what is older than a
    /// week closed but for 1 % left in the backlog (what the fleet shares leave on recent days).
    pub steady_flow: bool,
    /// The demo's PM plans (see [`pm`]).
    pub pm_plans: bool,
}

impl Preset {
    pub fn demo() -> Self {
        Self {
            every_city_evenly: true,
            sites: 60,
            devices: 105,
            technicians: 0,
            tickets: 56,
            every_state_equally: true,
            steady_flow: false,
            pm_plans: true,
        }
    }

    pub fn scale(sites: i64, devices: i64, tickets: i64) -> Self {
        Self {
            every_city_evenly: false,
            sites,
            devices,
            technicians: (sites / 50).max(20),
            tickets,
            every_state_equally: false,
            steady_flow: false,
            pm_plans: false,
        }
    }

    /// [`Preset::scale`] with the tickets of a steady flow (see [`Preset::steady_flow`]).
    pub fn steady(sites: i64, devices: i64, tickets: i64) -> Self {
        Self { steady_flow: true, ..Self::scale(sites, devices, tickets) }
    }

    /// Whose e-mails the tickets' technicians and supervisors have.
    fn staff_domain(&self) -> &'static str {
        if self.technicians > 0 { "@fleet.example.com" } else { "@example.com" }
    }
}

/// What the database holds afterwards.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub locations: i64,
    pub assets: i64,
    /// Tickets other than those generated from PM plans.
    pub tickets: i64,
    pub pm_plans: i64,
    /// Tickets generated from PM plans.
    pub pm_tickets: i64,
}

/// The demo preset, quietly, then one run of the PM generator and of the demo meters' triggers
/// so the plans' upcoming work is there at once: what `scripts/run` serves.
pub async fn demo(pool: &PgPool, passwords: &Passwords) -> Result<Summary, ApiError> {
    let summary = generate(pool, passwords, Preset::demo(), |_| {}).await?;
    nexus_shared::pm::generate(pool, Utc::now()).await?;
    pm::fire_meter_triggers(pool, Utc::now()).await?;
    let pm_tickets =
        sqlx::query_scalar("SELECT count(*) FROM tickets WHERE pm_plan_id IS NOT NULL").fetch_one(pool).await?;
    Ok(Summary { pm_tickets, ..summary })
}

/// Loads `preset`, telling `progress` each step, its rows and the time so far.
pub async fn generate(
    pool: &PgPool,
    passwords: &Passwords,
    preset: Preset,
    progress: impl Fn(&str),
) -> Result<Summary, ApiError> {
    let started = Instant::now();
    let step =
        |what: &str, rows: u64| progress(&format!("{:>7.1} s  {what}: {rows} rows", started.elapsed().as_secs_f64()));
    // Same seed, same data: figures from two runs compare, and a rerun finds what it made. The
    // seed belongs to a session, so every step runs on this one connection.
    let mut conn = pool.acquire().await?;
    sqlx::query("SELECT setseed(0.2026)").execute(&mut *conn).await?;
    step("sites", places::sites(&mut conn, &preset).await?);
    step("devices", places::devices(&mut conn, &preset).await?);
    step("people", people::create(&mut conn, passwords, &preset).await?);
    step("tickets", tickets::create(&mut conn, &preset).await?);
    step("approvals", tickets::approvals(&mut conn, &preset).await?);
    step("SLA events", tickets::sla_events(&mut conn).await?);
    if preset.pm_plans {
        step("PM plans", pm::plans(&mut conn).await?);
        step("field work", field::create(&mut conn).await?);
    }
    sqlx::query("ANALYZE").execute(&mut *conn).await?;
    step("analyzed", 0);
    let (locations, assets, tickets, pm_plans, pm_tickets) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM locations), (SELECT count(*) FROM assets),
                (SELECT count(*) FROM tickets WHERE pm_plan_id IS NULL), (SELECT count(*) FROM pm_plans),
                (SELECT count(*) FROM tickets WHERE pm_plan_id IS NOT NULL)",
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(Summary { locations, assets, tickets, pm_plans, pm_tickets })
}
