//! The tickets list as CSV (`Accept: text/csv`): one row per ticket, for reports and
//! spreadsheets (tickets are not imported back).
//!
//! Columns, in this order: `number`, `ticket_type`, `priority`, `status`, `location_code`,
//! `location_name`, `region`, `asset_tag`, `asset_name`, `description`, `assignee_email`
//! (empty when unassigned), `created_at`, `scheduled_for`, `response_due_at`, `responded_at`,
//! `response_breached`, `resolution_due_at`, `resolved_at`, `resolution_breached`, `closed_at`,
//! `cancelled_at`. Times are RFC 3339 in UTC; the breach flags `true`/`false`.

use nexus_shared::csv::{CsvWriter, Export};
use sqlx::FromRow;

use crate::ticket::TicketRow;

pub const EXPORT: Export = Export {
    name: "tickets",
    columns: nexus_shared::ticket::EXPORT_COLUMNS,
    narrow_with: "status=, priority=, ticket_type=, region=, location_id=, asset_id=, assigned_to=, breached=, \
                  due_before= or scheduled_before=",
};

/// A ticket with its assignee's email (ids mean nothing outside this deployment).
#[derive(FromRow)]
pub struct ExportRow {
    #[sqlx(flatten)]
    pub ticket: TicketRow,
    pub assignee_email: Option<String>,
}

/// The SELECT list's addition for [`ExportRow`].
pub const ASSIGNEE_EMAIL: &str = ", (SELECT u.email FROM users u WHERE u.id = t.assigned_to) AS assignee_email";

pub fn write(csv: &mut CsvWriter, row: ExportRow) {
    let t = row.ticket;
    csv.text(&t.number)
        .value(t.ticket_type)
        .value(t.priority)
        .value(t.status)
        .text(&t.location_code)
        .text(&t.location_name)
        .opt_text(t.region.as_deref())
        .text(&t.asset_tag)
        .text(&t.asset_name)
        .text(&t.description)
        .opt_text(row.assignee_email.as_deref())
        .time(t.created_at)
        .opt_time(t.scheduled_for)
        .time(t.response_due_at)
        .opt_time(t.responded_at)
        .value(t.response_breached)
        .time(t.resolution_due_at)
        .opt_time(t.resolved_at)
        .value(t.resolution_breached)
        .opt_time(t.closed_at)
        .opt_time(t.cancelled_at);
}
