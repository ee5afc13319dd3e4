//! The fixture the report tests share: two sites in two time zones, a crew (and a second
//! technician), and helpers writing assets, tickets, visits, approvals, PM plans and an office
//! calendar directly (their timestamps are the point).

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use nexus_shared::auth::Role;
use nexus_testkit::{Crew, TestUser, crew, state, user};
use sqlx::PgPool;

pub const JKT: Tz = chrono_tz::Asia::Jakarta; // UTC+7
pub const JAY: Tz = chrono_tz::Asia::Jayapura; // UTC+9

pub fn at(tz: Tz, s: &str) -> DateTime<Utc> {
    tz.from_local_datetime(&NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()).unwrap().with_timezone(&Utc)
}

pub fn jkt(s: &str) -> DateTime<Utc> {
    at(JKT, s)
}

static NUMBER: AtomicUsize = AtomicUsize::new(0);

/// A ticket as the report reads it; unset instants are NULL, due times default to 2030, the
/// calendar to 1 (24x7).
#[derive(Default, Clone)]
pub struct T {
    pub cm: bool,
    pub priority: Option<&'static str>,
    pub asset: i64,
    pub created: Option<DateTime<Utc>>,
    pub responded: Option<DateTime<Utc>>,
    pub resolved: Option<DateTime<Utc>>,
    pub closed: Option<DateTime<Utc>>,
    pub cancelled: Option<DateTime<Utc>>,
    pub response_due: Option<DateTime<Utc>>,
    pub resolution_due: Option<DateTime<Utc>>,
    pub held_seconds: i64,
    pub calendar: Option<i64>,
    pub assigned_to: Option<i64>,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub pm_plan: Option<i64>,
    pub on_hold_since: Option<DateTime<Utc>>,
}

pub fn cm(asset: i64, created: DateTime<Utc>) -> T {
    T { cm: true, asset, created: Some(created), ..T::default() }
}

pub struct World {
    pub router: axum::Router,
    pub crew: Crew,
    pub pool: PgPool,
    /// JKT0001 (Jawa, Asia/Jakarta) and JAY0001 (Papua, Asia/Jayapura).
    pub jkt: i64,
    pub jay: i64,
    pub other_tech: TestUser,
}

impl World {
    pub async fn new(pool: PgPool) -> World {
        let state = state(pool.clone());
        let crew = crew(&state).await;
        let other_tech = user(&state, "other-tech@test.example", &[Role::Technician]).await;
        let site = async |code: &str, tz: &str, region: &str| -> i64 {
            sqlx::query_scalar(
                "INSERT INTO locations (code, name, timezone, region) VALUES ($1, $1 || ' site', $2, $3) RETURNING id",
            )
            .bind(code)
            .bind(tz)
            .bind(region)
            .fetch_one(&pool)
            .await
            .unwrap()
        };
        let jkt = site("JKT0001", "Asia/Jakarta", "Jawa").await;
        let jay = site("JAY0001", "Asia/Jayapura", "Papua").await;
        World { router: nexus_reports::router(state), crew, pool, jkt, jay, other_tech }
    }

    pub async fn asset(&self, location_id: i64, category: &str) -> i64 {
        let n = NUMBER.fetch_add(1, Ordering::Relaxed);
        sqlx::query_scalar(
            "INSERT INTO assets (location_id, tag, name, category) VALUES ($1, $2, 'ATM', $3) RETURNING id",
        )
        .bind(location_id)
        .bind(format!("A-{n}"))
        .bind(category)
        .fetch_one(&self.pool)
        .await
        .unwrap()
    }

    pub async fn ticket(&self, t: T) -> i64 {
        let status = if t.cancelled.is_some() {
            "cancelled"
        } else if t.closed.is_some() {
            "closed"
        } else if t.resolved.is_some() {
            "resolved"
        } else if t.on_hold_since.is_some() {
            "on_hold"
        } else if t.responded.is_some() {
            "in_progress"
        } else if t.assigned_to.is_some() {
            "assigned"
        } else {
            "open"
        };
        let assigned_to = match status {
            "open" | "cancelled" => t.assigned_to,
            _ => Some(t.assigned_to.unwrap_or(self.other_tech.id)),
        };
        let far = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
        let n = NUMBER.fetch_add(1, Ordering::Relaxed);
        sqlx::query_scalar(
            "INSERT INTO tickets (number, ticket_type, priority, status, asset_id, location_id, description, resolution_notes,
                assigned_to, sla_calendar_id, response_target_minutes, resolution_target_minutes, warning_ratio,
                response_warning_at, response_due_at, resolution_warning_at, resolution_due_at, responded_at, resolved_at,
                closed_at, cancelled_at, on_hold_since, hold_reason, held_seconds, created_at, scheduled_for, pm_plan_id)
             SELECT $1, $2, $3, $4, $5, a.location_id, 'x', CASE WHEN $11::timestamptz IS NULL THEN NULL ELSE 'done' END,
                $6, $7, 60, 240, 0.8, $8, $8, $9, $9, $10, $11, $12, $13, $14, CASE WHEN $14::timestamptz IS NULL THEN NULL ELSE 'other' END,
                $15, $16, $17, $18
             FROM assets a WHERE a.id = $5 RETURNING id",
        )
        .bind(format!("T-{n}"))
        .bind(if t.cm { "CM" } else { "PM" })
        .bind(t.priority.unwrap_or("high"))
        .bind(status)
        .bind(t.asset)
        .bind(assigned_to)
        .bind(t.calendar.unwrap_or(1))
        .bind(t.response_due.unwrap_or(far))
        .bind(t.resolution_due.unwrap_or(far))
        .bind(t.responded)
        .bind(t.resolved)
        .bind(t.closed)
        .bind(t.cancelled)
        .bind(t.on_hold_since)
        .bind(t.held_seconds)
        .bind(t.created.unwrap_or_else(|| jkt("2026-09-01 00:00")))
        .bind(t.scheduled_for)
        .bind(t.pm_plan)
        .fetch_one(&self.pool)
        .await
        .unwrap()
    }

    /// A visit to `ticket` by the crew's technician, with `result` (`inside`, `outside`, …).
    pub async fn visit(&self, ticket: i64, result: &str) {
        sqlx::query(
            "INSERT INTO visits (ticket_id, technician_id, checked_in_at, lat, lng, accuracy_m, result)
             VALUES ($1, $2, '2026-10-01T00:00:00Z', 0, 0, 5, $3)",
        )
        .bind(ticket)
        .bind(self.crew.technician.id)
        .bind(result)
        .execute(&self.pool)
        .await
        .unwrap();
    }

    /// The crew's supervisor deciding (`approve`/`reject`) on `ticket` at `when`.
    pub async fn decide(&self, ticket: i64, decision: &str, when: DateTime<Utc>) {
        sqlx::query("INSERT INTO approvals (ticket_id, decision, decided_by, created_at) VALUES ($1, $2, $3, $4)")
            .bind(ticket)
            .bind(decision)
            .bind(self.crew.supervisor.id)
            .bind(when)
            .execute(&self.pool)
            .await
            .unwrap();
    }

    /// A fixed-anchor PM plan on `asset` every `every` `unit`s from 1 Jan 2026 08:00.
    pub async fn plan(&self, asset: i64, every: i32, unit: &str) -> i64 {
        sqlx::query_scalar(
            "INSERT INTO pm_plans (name, description, priority, asset_ids, every, unit, anchor, starts_on, start_time, calendar_id)
             VALUES ('p', 'p', 'low', ARRAY[$1], $2, $3, 'fixed', '2026-01-01', '08:00', 1) RETURNING id",
        )
        .bind(asset)
        .bind(every)
        .bind(unit)
        .fetch_one(&self.pool)
        .await
        .unwrap()
    }

    /// An office-hours SLA calendar: Mon–Fri 08:00–17:00.
    pub async fn office_calendar(&self) -> i64 {
        sqlx::query_scalar(
            r#"INSERT INTO sla_calendars (name, kind, weekly_hours) VALUES ('office', 'business_hours',
               '[[["08:00","17:00"]],[["08:00","17:00"]],[["08:00","17:00"]],[["08:00","17:00"]],[["08:00","17:00"]],[],[]]')
               RETURNING id"#,
        )
        .fetch_one(&self.pool)
        .await
        .unwrap()
    }
}
