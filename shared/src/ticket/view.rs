//! A ticket as stored (with what a list screen needs from its asset and location) and as shown.

use super::{HoldReason, Priority, Targets, TicketStatus, TicketType};
use crate::audit::{Audited, EntityType};
use crate::sla::{self, SlaState};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::FromRow;
use utoipa::ToSchema;

/// The SELECT list and joins that produce a [`TicketRow`] from `tickets t`.
pub const SELECT: &str = "SELECT t.id, t.number, t.ticket_type, t.priority, t.status, t.description, t.notes,
        t.resolution_notes, t.hold_reason, t.asset_id, a.tag AS asset_tag, a.name AS asset_name,
        t.location_id, l.code AS location_code, l.name AS location_name, l.latitude, l.longitude, l.region,
        l.timezone, t.assigned_to, t.created_by, t.sla_calendar_id, t.response_target_minutes,
        t.resolution_target_minutes, t.warning_ratio, t.response_warning_at, t.response_due_at,
        t.resolution_warning_at, t.resolution_due_at, t.responded_at, t.resolved_at, t.closed_at,
        t.cancelled_at, t.on_hold_since, t.held_seconds, t.response_warned, t.response_breached,
        t.resolution_warned, t.resolution_breached, t.pm_plan_id, t.scheduled_for, t.sla_started_at,
        t.status_changed_at, t.status_received_at, t.checklist_id, t.checklist_version, t.parent_ticket_id,
        t.version, t.created_at, t.updated_at
    FROM tickets t
    JOIN assets a ON a.id = t.asset_id
    JOIN locations l ON l.id = t.location_id";

#[derive(Debug, Clone, FromRow, Serialize)]
pub struct TicketRow {
    pub id: i64,
    pub number: String,
    #[sqlx(try_from = "String")]
    pub ticket_type: TicketType,
    #[sqlx(try_from = "String")]
    pub priority: Priority,
    #[sqlx(try_from = "String")]
    pub status: TicketStatus,
    pub description: String,
    pub notes: Option<String>,
    pub resolution_notes: Option<String>,
    pub hold_reason: Option<String>,
    pub asset_id: i64,
    pub asset_tag: String,
    pub asset_name: String,
    pub location_id: i64,
    pub location_code: String,
    pub location_name: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub region: Option<String>,
    pub timezone: String,
    pub assigned_to: Option<i64>,
    pub created_by: Option<i64>,
    pub sla_calendar_id: i64,
    pub response_target_minutes: i32,
    pub resolution_target_minutes: i32,
    pub warning_ratio: f32,
    pub response_warning_at: DateTime<Utc>,
    pub response_due_at: DateTime<Utc>,
    pub resolution_warning_at: DateTime<Utc>,
    pub resolution_due_at: DateTime<Utc>,
    pub responded_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub on_hold_since: Option<DateTime<Utc>>,
    pub held_seconds: i64,
    pub response_warned: bool,
    pub response_breached: bool,
    pub resolution_warned: bool,
    pub resolution_breached: bool,
    pub pm_plan_id: Option<i64>,
    pub scheduled_for: Option<DateTime<Utc>>,
    /// Where every computation of the lines starts (set once, by the database, at insert).
    pub sla_started_at: DateTime<Utc>,
    /// When the last explicit status change happened (a device's `occurred_at`) and arrived.
    pub status_changed_at: Option<DateTime<Utc>>,
    pub status_received_at: Option<DateTime<Utc>>,
    pub checklist_id: Option<i64>,
    pub checklist_version: Option<i32>,
    pub parent_ticket_id: Option<i64>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TicketRow {
    pub fn targets(&self) -> Targets {
        Targets {
            calendar_id: self.sla_calendar_id,
            response_minutes: self.response_target_minutes,
            resolution_minutes: self.resolution_target_minutes,
            warning_ratio: self.warning_ratio,
        }
    }

    /// The strong ETag of this version.
    pub fn etag(&self) -> String {
        crate::etag::of_version(self.version)
    }

    /// The ticket as the API shows it at `now`. A ticket on hold shows its clocks as they
    /// stood when the hold began; a cancelled one as they stood when it was cancelled.
    pub fn view(self, now: DateTime<Utc>) -> Ticket {
        let clock_time = self.on_hold_since.or(self.cancelled_at).unwrap_or(now);
        let sla = Sla {
            started_at: self.sla_started_at,
            response_due_at: self.response_due_at,
            resolution_due_at: self.resolution_due_at,
            responded_at: self.responded_at,
            resolved_at: self.resolved_at,
            response_state: sla::state(self.response_due_at, self.response_warning_at, self.responded_at, clock_time),
            resolution_state: sla::state(
                self.resolution_due_at,
                self.resolution_warning_at,
                self.resolved_at,
                clock_time,
            ),
            response_target_minutes: self.response_target_minutes,
            resolution_target_minutes: self.resolution_target_minutes,
        };
        Ticket {
            id: self.id,
            number: self.number,
            ticket_type: self.ticket_type,
            priority: self.priority,
            status: self.status,
            description: self.description,
            notes: self.notes,
            resolution_notes: self.resolution_notes,
            hold_reason: self.hold_reason.and_then(|r| HoldReason::try_from(r).ok()),
            asset_id: self.asset_id,
            asset_tag: self.asset_tag,
            asset_name: self.asset_name,
            location_id: self.location_id,
            location_code: self.location_code,
            location_name: self.location_name,
            latitude: self.latitude,
            longitude: self.longitude,
            region: self.region,
            assigned_to: self.assigned_to,
            created_by: self.created_by,
            pm_plan_id: self.pm_plan_id,
            scheduled_for: self.scheduled_for,
            checklist_id: self.checklist_id,
            checklist_version: self.checklist_version,
            parent_ticket_id: self.parent_ticket_id,
            status_changed_at: self.status_changed_at,
            status_received_at: self.status_received_at,
            sla,
            on_hold_since: self.on_hold_since,
            closed_at: self.closed_at,
            cancelled_at: self.cancelled_at,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// The SLA of a ticket: deadlines stored at creation (recomputed on priority change and after
/// a hold) and the state of each clock.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Sla {
    /// The instant the clocks start: `scheduled_for` for a generated PM, `created_at` otherwise.
    pub started_at: DateTime<Utc>,
    pub response_due_at: DateTime<Utc>,
    pub resolution_due_at: DateTime<Utc>,
    pub responded_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub response_state: SlaState,
    pub resolution_state: SlaState,
    pub response_target_minutes: i32,
    pub resolution_target_minutes: i32,
}

/// A work order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Ticket {
    pub id: i64,
    /// Human-readable, e.g. `CM-2026-000123`.
    pub number: String,
    pub ticket_type: TicketType,
    pub priority: Priority,
    pub status: TicketStatus,
    pub description: String,
    pub notes: Option<String>,
    pub resolution_notes: Option<String>,
    pub hold_reason: Option<HoldReason>,
    pub asset_id: i64,
    pub asset_tag: String,
    pub asset_name: String,
    pub location_id: i64,
    /// The site's TID.
    pub location_code: String,
    pub location_name: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub region: Option<String>,
    pub assigned_to: Option<i64>,
    pub created_by: Option<i64>,
    /// The PM plan that generated this ticket.
    pub pm_plan_id: Option<i64>,
    /// When a generated PM is due; it is generated ahead of this and its SLA starts here.
    pub scheduled_for: Option<DateTime<Utc>>,
    /// The checklist (and the version of it) to complete before the ticket can be resolved.
    pub checklist_id: Option<i64>,
    pub checklist_version: Option<i32>,
    /// The ticket whose failed checklist item made this one.
    pub parent_ticket_id: Option<i64>,
    /// When the last status change happened (an offline device's `occurred_at`) and when the
    /// server received it.
    pub status_changed_at: Option<DateTime<Utc>>,
    pub status_received_at: Option<DateTime<Utc>>,
    pub sla: Sla,
    pub on_hold_since: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Increases with every change; the ETag is this number in quotes.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Audited as the stored row: the log keeps the SLA bookkeeping (targets, hold time) too.
impl Audited for TicketRow {
    const ENTITY: EntityType = EntityType::Ticket;
    fn id(&self) -> i64 {
        self.id
    }
}

/// The tickets `ids` as the API shows them at `now` (any order; missing ids are left out): the
/// webhook outbox renders the tickets of its events with this.
pub async fn views(conn: &mut sqlx::PgConnection, ids: &[i64], now: DateTime<Utc>) -> sqlx::Result<Vec<Ticket>> {
    let rows: Vec<TicketRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE t.id = ANY($1)"))).bind(ids).fetch_all(conn).await?;
    Ok(rows.into_iter().map(|r| r.view(now)).collect())
}
