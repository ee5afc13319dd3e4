//! SLA maths: working-time calendars and clock states. Pure: no I/O, no clock reads.

mod calendar;
mod state;

pub(crate) use calendar::to_utc;
pub use calendar::{BusinessHours, Calendar, CalendarError, ClosedDay};
pub use state::{SlaState, state, warning_at};
