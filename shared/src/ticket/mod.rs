//! Work orders: their kinds and the lifecycle every function (tickets, approvals, the SLA
//! check) obeys. One state machine, here.

mod clock;
mod filter;
mod status;
pub mod view;

pub use clock::{Lines, SlaClock, Targets, business_hours, load_calendar};
pub use filter::{TicketFilter, TicketQuery, Visibility};
pub use status::{HoldReason, TicketStatus, Transition};

/// The columns of a tickets CSV export, in order: the list's (`Accept: text/csv`) and the
/// S3 export's (`POST /api/exports`), which must write the same file.
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

crate::text_enum! {
    /// Preventive (planned) or corrective (something broke).
    pub enum TicketType { Pm = "PM", Cm = "CM" }
}

crate::text_enum! {
    pub enum Priority { Low = "low", Medium = "medium", High = "high", Critical = "critical" }
}
