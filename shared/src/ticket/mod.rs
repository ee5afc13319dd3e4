//! Work orders: their kinds and the lifecycle every function (tickets, approvals, the SLA
//! check) obeys. One state machine, here.

mod clock;
pub mod export;
mod filter;
mod status;
pub mod view;

pub use clock::{Lines, SlaClock, Targets, business_hours, load_calendar};
pub use export::EXPORT_COLUMNS;
pub use filter::{TicketFilter, TicketQuery, Visibility};
pub use status::{HoldReason, TicketStatus, Transition};

crate::text_enum! {
    /// Preventive (planned) or corrective (something broke).
    pub enum TicketType { Pm = "PM", Cm = "CM" }
}

crate::text_enum! {
    pub enum Priority { Low = "low", Medium = "medium", High = "high", Critical = "critical" }
}
