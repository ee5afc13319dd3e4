//! The `scale` preset (`nexus-local generate`): realistic data at scale — sites (TIDs) clustered around Indonesian
//! cities in their time zones, devices per site, staff, and two years of tickets with the
//! status, priority and SLA mix a national ATM fleet shows, their approvals and SLA events.
//! Set-based SQL (`INSERT … SELECT` over `generate_series`, seeded `random()`), so the default
//! scale loads in seconds; rerunning adds nothing twice (codes, tags and e-mails are fixed).

use std::time::Instant;

use nexus_shared::ApiError;
use nexus_shared::auth::Role;
use nexus_shared::auth::password::Passwords;
use nexus_shared::secret::Secret;
use sqlx::PgPool;

use super::cities::{CITIES, City};

/// How much to generate.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub tids: i64,
    pub assets: i64,
    pub tickets: i64,
}

impl Default for Scale {
    fn default() -> Self {
        Self { tids: 10_000, assets: 50_000, tickets: 500_000 }
    }
}

/// Password of every generated account (the demo's).
pub const PASSWORD: &str = super::demo::PASSWORD;

/// Loads `scale` into the database, telling `progress` each step and its time.
pub async fn generate(
    pool: &PgPool,
    passwords: &Passwords,
    scale: Scale,
    progress: impl Fn(&str),
) -> Result<(), ApiError> {
    let started = Instant::now();
    let step =
        |what: &str, rows: u64| progress(&format!("{:>7.1} s  {what}: {rows} rows", started.elapsed().as_secs_f64()));
    // Same seed, same data: figures from two runs compare.
    sqlx::query("SELECT setseed(0.2026)").execute(pool).await?;

    step("sites", sites(pool, scale.tids).await?);
    step("devices", devices(pool, scale.assets).await?);
    let technicians = (scale.tids / 50).max(20);
    step("staff", staff(pool, passwords, technicians).await?);
    step("tickets", tickets(pool, scale.tickets).await?);
    step("approvals", approvals(pool).await?);
    step("SLA events", sla_events(pool).await?);
    // Numbers are `GEN-<year>-<n>`: the API's `CM-`/`PM-` counters never meet them.
    sqlx::query("ANALYZE").execute(pool).await?;
    step("analyzed", 0);
    Ok(())
}

/// Sites: each city's share of `n`, scattered around its centre (a triangular spread of about
/// ±15 km), coded `<CITY>-<number>`.
async fn sites(pool: &PgPool, n: i64) -> Result<u64, ApiError> {
    let column = |f: fn(&City) -> &'static str| CITIES.iter().map(f).collect::<Vec<_>>();
    let weights: Vec<i32> = CITIES.iter().map(|c| c.weight).collect();
    let latitudes: Vec<f64> = CITIES.iter().map(|c| c.latitude).collect();
    let longitudes: Vec<f64> = CITIES.iter().map(|c| c.longitude).collect();
    let result = sqlx::query(
        "WITH city AS (
             SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[], $7::text[], $8::int[])
                 WITH ORDINALITY AS c (code, name, province, lat, lng, tz, weight, i)
         ), slots AS (  -- one row per unit of weight, so a uniform pick is a weighted pick
             SELECT city.*, row_number() OVER () AS slot FROM city, generate_series(1, city.weight)
         ), total AS (SELECT count(*) AS n FROM slots),
         pick AS (SELECT g, 1 + floor(random() * total.n)::bigint AS slot FROM generate_series(1, $1) g, total),
         picked AS (SELECT pick.g, s.* FROM pick JOIN slots s ON s.slot = pick.slot)
         INSERT INTO locations (code, name, address, latitude, longitude, region, timezone)
         SELECT code || '-' || lpad(g::text, 5, '0'),
                'ATM ' || name || ' ' || g,
                'Jl. ' || (ARRAY['Sudirman', 'Thamrin', 'Gatot Subroto', 'Diponegoro', 'Ahmad Yani', 'Pemuda', 'Merdeka'])[1 + g % 7]
                    || ' No. ' || (1 + g % 200) || ', ' || name,
                round((lat + (random() + random() - 1) * 0.14)::numeric, 6),
                round((lng + (random() + random() - 1) * 0.14)::numeric, 6),
                province, tz
         FROM picked
         ON CONFLICT (code) DO NOTHING",
    )
    .bind(n)
    .bind(column(|c| c.code))
    .bind(column(|c| c.name))
    .bind(column(|c| c.region))
    .bind(&latitudes)
    .bind(&longitudes)
    .bind(column(|c| c.timezone))
    .bind(&weights)
    .execute(pool)
    .await?;
    Ok(result.rows_affected())
}

/// Devices: one per site first (no site is empty), the rest at random sites; ATMs mostly, then
/// EDC terminals, cash recyclers and kiosks; a few inactive.
async fn devices(pool: &PgPool, n: i64) -> Result<u64, ApiError> {
    let result = sqlx::query(
        "WITH site AS (SELECT id, code, row_number() OVER (ORDER BY id) AS rn FROM locations WHERE code ~ '^[A-Z]{3}-[0-9]{5}$'),
              total AS (SELECT count(*) AS n FROM site),
              d AS (
                  SELECT g, CASE WHEN g <= total.n THEN g ELSE 1 + floor(random() * total.n)::bigint END AS rn, random() AS kind
                  FROM generate_series(1, $1) g, total
              )
         INSERT INTO assets (location_id, tag, name, category, purchase_date, status)
         SELECT site.id,
                'DEV-' || lpad(d.g::text, 6, '0'),
                CASE WHEN kind < 0.6 THEN 'ATM Hyosung MX8800' WHEN kind < 0.85 THEN 'EDC Verifone V200c'
                     WHEN kind < 0.95 THEN 'CRM NCR SelfServ 84' ELSE 'Kiosk Wincor BEETLE' END,
                CASE WHEN kind < 0.6 THEN 'ATM' WHEN kind < 0.85 THEN 'EDC' WHEN kind < 0.95 THEN 'CRM' ELSE 'KIOSK' END,
                current_date - (random() * 2500)::int,
                CASE WHEN random() < 0.02 THEN 'inactive' ELSE 'active' END
         FROM d JOIN site ON site.rn = d.rn
         ON CONFLICT (tag) DO NOTHING",
    )
    .bind(n)
    .execute(pool)
    .await?;
    Ok(result.rows_affected())
}

/// Technicians (one per ~50 sites), supervisors (one per ten technicians) and a few viewers,
/// all with the demo password (hashed once).
async fn staff(pool: &PgPool, passwords: &Passwords, technicians: i64) -> Result<u64, ApiError> {
    let hash = passwords.hash(Secret::new(PASSWORD.into())).await?;
    let mut tx = pool.begin().await?;
    let mut created = 0;
    for (role, count) in [(Role::Technician, technicians), (Role::Supervisor, technicians / 10 + 1), (Role::Viewer, 5)]
    {
        let emails: Vec<String> = (1..=count).map(|i| format!("{role}-{i:04}@fleet.example.com")).collect();
        let names: Vec<String> = (1..=count).map(|i| format!("{} {i:04}", capitalised(role.as_str()))).collect();
        let inserted = sqlx::query(
            "WITH new AS (
                 INSERT INTO users (email, full_name, password_hash)
                 SELECT e, n, $3 FROM unnest($1::text[], $2::text[]) AS u (e, n)
                 ON CONFLICT (email) DO NOTHING RETURNING id
             )
             INSERT INTO user_roles (user_id, role) SELECT id, $4 FROM new",
        )
        .bind(&emails)
        .bind(&names)
        .bind(&hash)
        .bind(role.as_str())
        .execute(&mut *tx)
        .await?;
        created += inserted.rows_affected();
    }
    tx.commit().await?;
    Ok(created)
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// Tickets over two years: 70 % closed (created any time), 30 % active (created in the last
/// three days: open, assigned, in progress, on hold, resolved); 75 % corrective; priorities
/// 5/20/45/30 % critical/high/medium/low; targets from the SLA matrix; each site's tickets go
/// to the technician of its territory; about one response in seven and one resolution in ten
/// late, with the flags the SLA check would have set.
async fn tickets(pool: &PgPool, n: i64) -> Result<u64, ApiError> {
    let result = sqlx::query(
        "WITH device AS (SELECT id, location_id, row_number() OVER (ORDER BY id) AS rn FROM assets WHERE tag LIKE 'DEV-%'),
              devices AS (SELECT count(*) AS n FROM device),
              tech AS (SELECT u.id, row_number() OVER (ORDER BY u.id) - 1 AS k FROM users u
                       JOIN user_roles r ON r.user_id = u.id AND r.role = 'technician' WHERE u.email LIKE '%@fleet.example.com'),
              techs AS (SELECT count(*) AS n FROM tech),
              creator AS (SELECT min(u.id) AS id FROM users u JOIN user_roles r ON r.user_id = u.id AND r.role = 'supervisor'
                          WHERE u.email LIKE '%@fleet.example.com'),
              base AS (
                  SELECT g, random() AS s, random() AS p, random() AS t, random() AS late_r, random() AS late_f,
                         random() AS spread, 1 + floor(random() * devices.n)::bigint AS device_rn
                  FROM generate_series(1, $1) g, devices
              ),
              shaped AS (
                  SELECT g, device_rn, late_r, late_f,
                         CASE WHEN s < 0.70 THEN 'closed' WHEN s < 0.80 THEN 'open' WHEN s < 0.88 THEN 'assigned'
                              WHEN s < 0.95 THEN 'in_progress' WHEN s < 0.97 THEN 'on_hold' ELSE 'resolved' END AS status,
                         CASE WHEN p < 0.05 THEN 'critical' WHEN p < 0.25 THEN 'high' WHEN p < 0.70 THEN 'medium' ELSE 'low' END AS priority,
                         CASE WHEN t < 0.25 THEN 'PM' ELSE 'CM' END AS ticket_type,
                         CASE WHEN s < 0.70 THEN now() - interval '3 days' - spread * interval '727 days'
                              ELSE now() - spread * interval '3 days' END AS created
                  FROM base
              ),
              timed AS (
                  SELECT sh.*, m.response_target_minutes AS rt, m.resolution_target_minutes AS st, m.warning_ratio AS w,
                         m.calendar_id,
                         -- Responded within 0.1–1.3× the target (one in seven late), resolved within 0.2–1.2×.
                         sh.created + make_interval(secs => m.response_target_minutes * 60 * (0.1 + 1.2 * sh.late_r)) AS responded,
                         sh.created + make_interval(secs => m.resolution_target_minutes * 60 * (0.2 + 1.0 * sh.late_f)) AS resolved
                  FROM shaped sh JOIN sla_matrices m ON m.ticket_type = sh.ticket_type AND m.priority = sh.priority
              )
         INSERT INTO tickets (number, ticket_type, priority, status, asset_id, location_id, description, assigned_to, created_by,
             sla_calendar_id, response_target_minutes, resolution_target_minutes, warning_ratio,
             response_warning_at, response_due_at, resolution_warning_at, resolution_due_at,
             responded_at, resolved_at, closed_at, resolution_notes, on_hold_since, hold_reason,
             response_warned, response_breached, resolution_warned, resolution_breached, created_at, updated_at)
         SELECT 'GEN-' || extract(year FROM x.created) || '-' || lpad(x.g::text, 7, '0'), x.ticket_type, x.priority, x.status,
                d.id, d.location_id,
                (ARRAY['Cash dispenser jammed', 'Card reader fault', 'Receipt printer out of paper', 'Network down',
                       'Preventive maintenance visit', 'Screen unresponsive', 'Vault door alarm', 'Power supply failure'])
                    [CASE WHEN x.ticket_type = 'PM' THEN 5 ELSE 1 + x.g % 8 END],
                CASE WHEN x.status = 'open' THEN NULL ELSE tech.id END, creator.id,
                x.calendar_id, x.rt, x.st, x.w,
                x.created + make_interval(secs => x.rt * 60 * x.w), x.created + make_interval(mins => x.rt),
                x.created + make_interval(secs => x.st * 60 * x.w), x.created + make_interval(mins => x.st),
                CASE WHEN x.status IN ('in_progress', 'on_hold', 'resolved', 'closed') THEN least(x.responded, now()) END,
                CASE WHEN x.status IN ('resolved', 'closed') THEN least(greatest(x.resolved, x.responded), now()) END,
                CASE WHEN x.status = 'closed' THEN greatest(x.resolved, x.responded) + interval '2 hours' END,
                CASE WHEN x.status IN ('resolved', 'closed') THEN 'Replaced the faulty module; tested OK' END,
                CASE WHEN x.status = 'on_hold' THEN least(x.responded, now()) END,
                CASE WHEN x.status = 'on_hold' THEN 'awaiting_parts' END,
                -- Responded after 0.8× (warning) or 1× (deadline) of the target: 0.1 + 1.2 r > 0.8, > 1.
                x.status <> 'open' AND x.status <> 'assigned' AND x.late_r > 0.5834,
                x.status <> 'open' AND x.status <> 'assigned' AND x.late_r > 0.75,
                x.status IN ('resolved', 'closed') AND x.late_f > 0.6,
                x.status IN ('resolved', 'closed') AND x.late_f > 0.8,
                x.created, x.created
         FROM timed x
         JOIN device d ON d.rn = x.device_rn
         CROSS JOIN techs CROSS JOIN creator
         JOIN tech ON tech.k = d.location_id % techs.n
         ON CONFLICT (number) DO NOTHING",
    )
    .bind(n)
    .execute(pool)
    .await?;
    Ok(result.rows_affected())
}

/// Every closed generated ticket was approved by a supervisor when it closed.
async fn approvals(pool: &PgPool) -> Result<u64, ApiError> {
    let result = sqlx::query(
        "WITH spv AS (SELECT u.id, row_number() OVER (ORDER BY u.id) - 1 AS k FROM users u
                      JOIN user_roles r ON r.user_id = u.id AND r.role = 'supervisor' WHERE u.email LIKE '%@fleet.example.com'),
              spvs AS (SELECT count(*) AS n FROM spv)
         INSERT INTO approvals (ticket_id, decision, comments, decided_by, created_at)
         SELECT t.id, 'approve', 'Work verified', spv.id, t.closed_at
         FROM tickets t CROSS JOIN spvs JOIN spv ON spv.k = t.location_id % spvs.n
         WHERE t.number LIKE 'GEN-%' AND t.status = 'closed'
           AND NOT EXISTS (SELECT 1 FROM approvals a WHERE a.ticket_id = t.id)",
    )
    .execute(pool)
    .await?;
    Ok(result.rows_affected())
}

/// The crossings the SLA check would have recorded for the generated tickets' flags.
async fn sla_events(pool: &PgPool) -> Result<u64, ApiError> {
    let result = sqlx::query(
        "INSERT INTO sla_events (ticket_id, kind, line_at, detected_at)
         SELECT t.id, e.kind, e.line_at, e.line_at + interval '3 minutes'
         FROM tickets t
         CROSS JOIN LATERAL (VALUES
             ('response_warning', t.response_warning_at, t.response_warned),
             ('response_breach', t.response_due_at, t.response_breached),
             ('resolution_warning', t.resolution_warning_at, t.resolution_warned),
             ('resolution_breach', t.resolution_due_at, t.resolution_breached)) AS e (kind, line_at, crossed)
         WHERE t.number LIKE 'GEN-%' AND e.crossed
         ON CONFLICT (ticket_id, kind) DO NOTHING",
    )
    .execute(pool)
    .await?;
    Ok(result.rows_affected())
}
