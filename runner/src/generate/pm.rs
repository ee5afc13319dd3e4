//! The demo's PM plans (the demo preset only): a monthly inspection of the Jakarta sites on an
//! office-hours calendar with public holidays, and a weekly cash cassette check of the cash
//! recyclers on 24x7. Their bookmarks start two days back, so the generator makes what is coming
//! up, never a back-fill of history.

use nexus_shared::ApiError;
use sqlx::PgConnection;

/// The business-hours calendar the inspection moves its dates by.
pub const OFFICE_HOURS: &str = "Office hours (Mon–Fri 08:00–17:00)";
pub const MONTHLY_INSPECTION: &str = "Monthly site inspection";
pub const WEEKLY_CASSETTE_CHECK: &str = "Weekly cash cassette check";

/// Some Indonesian public holidays of 2026 and 2027.
const HOLIDAYS: [&str; 5] = ["2026-08-17", "2026-12-25", "2027-01-01", "2027-08-17", "2027-12-25"];

/// The calendar (if missing) and the two plans (each if no plan has its name).
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
    Ok(calendars.rows_affected() + plans.rows_affected())
}
