//! The tickets CSV: one row per ticket, for reports and spreadsheets (tickets are not imported
//! back), written alike by the list (`Accept: text/csv`) and the S3 export (`POST
//! /api/exports`), which must produce the same file. Times are RFC 3339 in UTC; the breach
//! flags `true`/`false`; `assignee_email` is empty when unassigned (ids mean nothing outside
//! this deployment).

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::csv::CsvWriter;

/// The columns, in order.
pub const EXPORT_COLUMNS: &[&str] = &[
    "number",
    "ticket_type",
    "priority",
    "status",
    "location_code",
    "location_name",
    "region",
    "asset_tag",
    "asset_name",
    "description",
    "assignee_email",
    "created_at",
    "scheduled_for",
    "response_due_at",
    "responded_at",
    "response_breached",
    "resolution_due_at",
    "resolved_at",
    "resolution_breached",
    "closed_at",
    "cancelled_at",
];

/// The rows' SELECT over `tickets t` at its asset `a` and site `l` (the list's aliases, so the
/// list's filters apply), ready for ` AND …`: only what the file holds.
pub const EXPORT_SELECT: &str = "SELECT t.number, t.ticket_type, t.priority, t.status, l.code AS location_code,
        l.name AS location_name, l.region, a.tag AS asset_tag, a.name AS asset_name, t.description,
        (SELECT u.email FROM users u WHERE u.id = t.assigned_to) AS assignee_email, t.created_at, t.scheduled_for,
        t.response_due_at, t.responded_at, t.response_breached, t.resolution_due_at, t.resolved_at,
        t.resolution_breached, t.closed_at, t.cancelled_at
    FROM tickets t
    JOIN assets a ON a.id = t.asset_id
    JOIN locations l ON l.id = t.location_id
    WHERE true";

/// One row of the file, as [`EXPORT_SELECT`] reads it.
#[derive(Debug, FromRow)]
pub struct ExportRow {
    number: String,
    ticket_type: String,
    priority: String,
    status: String,
    location_code: String,
    location_name: String,
    region: Option<String>,
    asset_tag: String,
    asset_name: String,
    description: String,
    assignee_email: Option<String>,
    created_at: DateTime<Utc>,
    scheduled_for: Option<DateTime<Utc>>,
    response_due_at: DateTime<Utc>,
    responded_at: Option<DateTime<Utc>>,
    response_breached: bool,
    resolution_due_at: DateTime<Utc>,
    resolved_at: Option<DateTime<Utc>>,
    resolution_breached: bool,
    closed_at: Option<DateTime<Utc>>,
    cancelled_at: Option<DateTime<Utc>>,
}

/// Writes `t` as the next row, in [`EXPORT_COLUMNS`] order.
pub fn write(csv: &mut CsvWriter, t: ExportRow) {
    csv.text(&t.number)
        .value(&t.ticket_type)
        .value(&t.priority)
        .value(&t.status)
        .text(&t.location_code)
        .text(&t.location_name)
        .opt_text(t.region.as_deref())
        .text(&t.asset_tag)
        .text(&t.asset_name)
        .text(&t.description)
        .opt_text(t.assignee_email.as_deref())
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
