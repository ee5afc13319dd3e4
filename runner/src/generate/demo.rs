//! The `demo` preset, what `scripts/run` serves: one user per role, 60 sites around fifteen
//! Indonesian cities (in their real time zones), a few devices per site and 48 tickets in every
//! state. Idempotent: running it again adds nothing that is already there.

use nexus_shared::ApiError;
use nexus_shared::auth::Role;
use nexus_shared::auth::password::Passwords;
use nexus_shared::secret::Secret;
use sqlx::PgPool;

pub const PASSWORD: &str = "nexus-demo-pass";

pub const USERS: [(&str, Role); 4] = [
    ("admin@example.com", Role::Admin),
    ("supervisor@example.com", Role::Supervisor),
    ("technician@example.com", Role::Technician),
    ("viewer@example.com", Role::Viewer),
];

const SITES: [(&str, &str); 4] = [
    ("Kantor Cabang", "Jl. Jenderal Sudirman"),
    ("Mall", "Jl. Gatot Subroto"),
    ("Stasiun", "Jl. Pemuda"),
    ("Minimarket", "Jl. Diponegoro"),
];
const BANKS: [&str; 4] = ["Bank Mandiri", "BRI", "BNI", "BCA"];
const DEVICES: [(&str, &str, &str); 3] = [
    ("ATM", "Hyosung MX8600 ATM", "ATM"),
    ("EDC", "Ingenico Move/5000 EDC", "EDC"),
    ("KSK", "Self-service kiosk", "Kiosk"),
];

#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub locations: i64,
    pub assets: i64,
    pub tickets: i64,
}

pub async fn seed(pool: &PgPool, passwords: &Passwords) -> Result<Summary, ApiError> {
    seed_users(pool, passwords).await?;
    let mut tx = pool.begin().await?;
    for (c, city) in super::cities::demo().enumerate() {
        for (s, (site, street)) in SITES.iter().enumerate() {
            let n = s + 1;
            let code = format!("{}{:04}", city.code, n);
            // Sites spread a few kilometres around the city centre, deterministically.
            let latitude = city.latitude + 0.012 * (s as f64 - 1.5);
            let longitude = city.longitude + 0.015 * (((s * 7 + c) % 5) as f64 - 2.0);
            let location_id: i64 = sqlx::query_scalar(
                "WITH inserted AS (
                     INSERT INTO locations (code, name, address, latitude, longitude, timezone, region)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (code) DO NOTHING
                     RETURNING id)
                 SELECT id FROM inserted UNION ALL SELECT id FROM locations WHERE code = $1 LIMIT 1",
            )
            .bind(&code)
            .bind(format!("{} {} {}", BANKS[(c + s) % BANKS.len()], site, city.name))
            .bind(format!("{street} No. {}, {}", 10 + 7 * n, city.name))
            .bind(latitude)
            .bind(longitude)
            .bind(city.timezone)
            .bind(city.region)
            .fetch_one(&mut *tx)
            .await?;
            // Every site has an ATM; most have an EDC terminal; malls have a kiosk too.
            let devices = if *site == "Mall" {
                3
            } else if n % 2 == 0 {
                2
            } else {
                1
            };
            for (prefix, name, category) in DEVICES.iter().take(devices) {
                sqlx::query(
                    "INSERT INTO assets (location_id, tag, name, category, purchase_date)
                     VALUES ($1, $2, $3, $4, DATE '2023-01-15' + ($5 * 37) % 900)
                     ON CONFLICT (tag) DO NOTHING",
                )
                .bind(location_id)
                .bind(format!("{prefix}-{code}"))
                .bind(name)
                .bind(category)
                .bind((c * 4 + s) as i32)
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    tx.commit().await?;
    let tickets = seed_tickets(pool).await?;
    let (locations, assets) = sqlx::query_as("SELECT (SELECT count(*) FROM locations), (SELECT count(*) FROM assets)")
        .fetch_one(pool)
        .await?;
    Ok(Summary { locations, assets, tickets })
}

async fn seed_users(pool: &PgPool, passwords: &Passwords) -> Result<(), ApiError> {
    for (email, role) in USERS {
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE email = $1)")
            .bind(email)
            .fetch_one(pool)
            .await?;
        if exists {
            continue;
        }
        let hash = passwords.hash(Secret::new(PASSWORD.into())).await?;
        let mut tx = pool.begin().await?;
        nexus_shared::user::ensure(&mut tx, email, Some(&format!("Demo {role}")), &hash, &[role]).await?;
        tx.commit().await?;
    }
    Ok(())
}

const DEMO_TICKETS: i64 = 48;
const DESCRIPTIONS: [&str; 6] = [
    "Card reader does not accept cards",
    "Cash dispenser jammed",
    "Receipt printer out of order",
    "Screen flickering, customers complain",
    "Quarterly preventive maintenance",
    "Network link down since morning",
];

/// Tickets in every state, spread over the last two days, so lists, maps and the SLA check
/// have something to show. Only when there are no tickets yet.
pub async fn seed_tickets(pool: &PgPool) -> Result<i64, ApiError> {
    let existing: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets").fetch_one(pool).await?;
    if existing > 0 {
        return Ok(existing);
    }
    let (supervisor, technician): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT id FROM users WHERE email = 'supervisor@example.com'), (SELECT id FROM users WHERE email = 'technician@example.com')",
    )
    .fetch_one(pool)
    .await?;
    let statuses = ["open", "assigned", "in_progress", "on_hold", "resolved", "closed"];
    let priorities = ["low", "medium", "high", "critical"];
    let mut tx = pool.begin().await?;
    for i in 0..DEMO_TICKETS {
        let status = statuses[(i % 6) as usize];
        let priority = priorities[(i % 4) as usize];
        let ticket_type = if i % 5 == 4 { "PM" } else { "CM" };
        // Rule targets and 24x7 lines in SQL; the demo does not need business hours.
        sqlx::query(
            "WITH site AS (
                 SELECT a.id AS asset_id, a.location_id FROM assets a ORDER BY a.id OFFSET $1 LIMIT 1
             ), rule AS (
                 SELECT * FROM sla_matrices WHERE ticket_type = $2 AND priority = $3
             ), num AS (
                 INSERT INTO ticket_counters (ticket_type, year, last_value) VALUES ($2, extract(year FROM now())::int, 1)
                 ON CONFLICT (ticket_type, year) DO UPDATE SET last_value = ticket_counters.last_value + 1
                 RETURNING last_value
             ), base AS (
                 SELECT now() - make_interval(mins => ($1 * 53)::int) AS created_at
             )
             INSERT INTO tickets (number, ticket_type, priority, status, asset_id, location_id, description,
                 assigned_to, created_by, sla_calendar_id, response_target_minutes, resolution_target_minutes,
                 warning_ratio, response_warning_at, response_due_at, resolution_warning_at, resolution_due_at,
                 responded_at, resolved_at, closed_at, resolution_notes, on_hold_since, hold_reason, created_at, updated_at)
             SELECT $2 || '-' || extract(year FROM now())::int || '-' || lpad(num.last_value::text, 6, '0'),
                 $2, $3, $4, site.asset_id, site.location_id, $5,
                 CASE WHEN $4 = 'open' THEN NULL ELSE $6 END, $7, rule.calendar_id,
                 rule.response_target_minutes, rule.resolution_target_minutes, rule.warning_ratio,
                 base.created_at + make_interval(secs => rule.response_target_minutes * 60 * rule.warning_ratio),
                 base.created_at + make_interval(mins => rule.response_target_minutes),
                 base.created_at + make_interval(secs => rule.resolution_target_minutes * 60 * rule.warning_ratio),
                 base.created_at + make_interval(mins => rule.resolution_target_minutes),
                 CASE WHEN $4 IN ('in_progress', 'on_hold', 'resolved', 'closed') THEN base.created_at + interval '25 minutes' END,
                 CASE WHEN $4 IN ('resolved', 'closed') THEN base.created_at + interval '3 hours' END,
                 CASE WHEN $4 = 'closed' THEN base.created_at + interval '5 hours' END,
                 CASE WHEN $4 IN ('resolved', 'closed') THEN 'Replaced the faulty module and tested a transaction' END,
                 CASE WHEN $4 = 'on_hold' THEN now() - interval '20 minutes' END,
                 CASE WHEN $4 = 'on_hold' THEN 'awaiting_parts' END,
                 base.created_at, base.created_at
             FROM site, rule, num, base",
        )
        .bind(i * 2)
        .bind(ticket_type)
        .bind(priority)
        .bind(status)
        .bind(DESCRIPTIONS[(i % 6) as usize])
        .bind(technician)
        .bind(supervisor)
        .execute(&mut *tx)
        .await?;
    }
    // Closed tickets went through an approval: record the supervisor's decision.
    sqlx::query(
        "INSERT INTO approvals (ticket_id, decision, comments, decided_by, created_at)
         SELECT id, 'approve', 'Checked the photos and the test transaction', $1, closed_at
         FROM tickets WHERE status = 'closed'",
    )
    .bind(supervisor)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(DEMO_TICKETS)
}
