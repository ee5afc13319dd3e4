//! The demo's PM plans (the demo preset only): a monthly inspection of the Jakarta sites on an
//! office-hours calendar with public holidays, a weekly cash cassette check of the cash
//! recyclers on 24x7, and a dispenser service of the ATMs every 20,000 notes (or half-yearly).
//! Their bookmarks start two days back, so the generator makes what is coming up, never a
//! back-fill of history. The ATMs' note counters have two weeks of daily readings.

use chrono::{DateTime, Utc};
use nexus_shared::ApiError;
use nexus_shared::pm::meter::{METER_COLUMNS, MeterRow};
use sqlx::{AssertSqlSafe, PgConnection, PgPool};

/// The business-hours calendar the inspection moves its dates by.
pub const OFFICE_HOURS: &str = "Office hours (Mon–Fri 08:00–17:00)";
pub const MONTHLY_INSPECTION: &str = "Monthly site inspection";
pub const WEEKLY_CASSETTE_CHECK: &str = "Weekly cash cassette check";
pub const DISPENSER_SERVICE: &str = "Dispenser service every 20,000 notes";
/// The cumulative meter on every demo ATM.
pub const NOTES_DISPENSED: &str = "notes_dispensed";

/// Some Indonesian public holidays of 2026 and 2027.
const HOLIDAYS: [&str; 5] = ["2026-08-17", "2026-12-25", "2027-01-01", "2027-08-17", "2027-12-25"];

/// The calendar (if missing), the three plans (each if no plan has its name) and the ATMs'
/// note counters with their readings (each if missing).
pub async fn plans(conn: &mut PgConnection) -> Result<u64, ApiError> {
    let office = r#"[[["08:00","17:00"]],[["08:00","17:00"]],[["08:00","17:00"]],[["08:00","17:00"]],[["08:00","17:00"]],[],[]]"#;
    let calendars = sqlx::query(
        "INSERT INTO sla_calendars (name, kind, weekly_hours, holidays)
         VALUES ($1, 'business_hours', $2::jsonb, $3::date[])
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(OFFICE_HOURS)
    .bind(office)
    .bind(HOLIDAYS)
    .execute(&mut *conn)
    .await?;
    let plans = sqlx::query(
        "WITH admin AS (SELECT min(id) AS id FROM users WHERE email = 'admin@example.com'),
              tech AS (SELECT min(id) AS id FROM users WHERE email = 'technician@example.com'),
              plan (name, description, priority, regions, categories, every, unit, weekdays, day_of_month,
                    start_time, calendar, generate_ahead_days, assigned) AS (VALUES
                  ($1, 'Walk the site: ATM booth, signage, lighting, CCTV, UPS and air conditioning; photograph anything damaged.',
                   'medium', ARRAY['DKI Jakarta'], NULL::text[], 1, 'month', NULL::smallint[], 1::smallint,
                   time '09:00', $3, 14, false),
                  ($2, 'Check the cash cassettes: seating, sensors, rejects bin; clean the note path.',
                   'low', NULL::text[], ARRAY['CRM'], 1, 'week', ARRAY[1]::smallint[], NULL::smallint,
                   time '08:00', '24x7', 7, true))
         INSERT INTO pm_plans (name, description, priority, regions, categories, every, unit, weekdays, day_of_month,
             anchor, starts_on, start_time, calendar_id, non_working, generate_ahead_days, open_policy, assigned_to,
             generated_through, created_by)
         SELECT p.name, p.description, p.priority, p.regions, p.categories, p.every, p.unit, p.weekdays, p.day_of_month,
                'fixed', date_trunc('month', current_date - 2)::date, p.start_time, c.id, 'next', p.generate_ahead_days,
                'skip_if_open', CASE WHEN p.assigned THEN tech.id END, current_date - 2, admin.id
         FROM plan p JOIN sla_calendars c ON c.name = p.calendar CROSS JOIN admin CROSS JOIN tech
         WHERE NOT EXISTS (SELECT 1 FROM pm_plans x WHERE x.name = p.name)
         ORDER BY p.name",
    )
    .bind(MONTHLY_INSPECTION)
    .bind(WEEKLY_CASSETTE_CHECK)
    .bind(OFFICE_HOURS)
    .execute(&mut *conn)
    .await?;
    // Made two weeks ago, when the counters' readings start: its count starts there.
    let meter_plan = sqlx::query(
        "INSERT INTO pm_plans (name, description, priority, categories, every, unit, day_of_month, anchor, starts_on,
             start_time, calendar_id, generate_ahead_days, open_policy, meter_trigger, generated_through, created_by,
             created_at)
         SELECT $1, 'Service the note dispenser: pick module, belts, sensors; run a test dispense.', 'medium',
                ARRAY['ATM'], 6, 'month', 1, 'fixed', date_trunc('month', current_date - 2)::date, time '09:00',
                c.id, 7, 'skip_if_open', jsonb_build_object('meter_name', $2::text, 'every', 20000), current_date - 2,
                (SELECT min(id) FROM users WHERE email = 'admin@example.com'), now() - interval '15 days'
         FROM sla_calendars c WHERE c.kind = '24x7' AND NOT EXISTS (SELECT 1 FROM pm_plans x WHERE x.name = $1)
         ORDER BY c.id LIMIT 1",
    )
    .bind(DISPENSER_SERVICE)
    .bind(NOTES_DISPENSED)
    .execute(&mut *conn)
    .await?;
    let meters = sqlx::query(
        "INSERT INTO meters (asset_id, name, unit, kind)
         SELECT id, $1, 'notes', 'cumulative' FROM assets WHERE category = 'ATM' ORDER BY id
         ON CONFLICT (asset_id, name) DO NOTHING",
    )
    .bind(NOTES_DISPENSED)
    .execute(&mut *conn)
    .await?;
    // A daily reading for the last 14 days: 800 to 2,400 notes a day, so about half the ATMs are due.
    let readings = sqlx::query(
        "INSERT INTO meter_readings (meter_id, value, read_at)
         SELECT m.id, 100000 * m.id + sum(800 + floor(random() * 1600)) OVER (PARTITION BY m.id ORDER BY d DESC),
                date_trunc('day', now()) - make_interval(days => d) + interval '1 hour'
         FROM meters m CROSS JOIN generate_series(14, 1, -1) d
         WHERE m.name = $1 AND NOT EXISTS (SELECT 1 FROM meter_readings r WHERE r.meter_id = m.id)
         ORDER BY m.id, d DESC",
    )
    .bind(NOTES_DISPENSED)
    .execute(&mut *conn)
    .await?;
    Ok(calendars.rows_affected()
        + plans.rows_affected()
        + meter_plan.rows_affected()
        + meters.rows_affected()
        + readings.rows_affected())
}

/// Fires the meter triggers on the demo's note counters, as their readings would have on
/// arrival through the API. Answers the PM tickets made.
pub async fn fire_meter_triggers(pool: &PgPool, now: DateTime<Utc>) -> Result<usize, ApiError> {
    let meters: Vec<MeterRow> =
        sqlx::query_as(AssertSqlSafe(format!("SELECT {METER_COLUMNS} FROM meters WHERE name = $1 ORDER BY id")))
            .bind(NOTES_DISPENSED)
            .fetch_all(pool)
            .await?;
    let mut fired = 0;
    for meter in meters {
        let mut tx = pool.begin().await?;
        fired += nexus_shared::pm::fire(&mut tx, &meter, &[], now, "demo-seed").await?.len();
        tx.commit().await?;
    }
    Ok(fired)
}
