//! SLA maths: working-time calendars and clock states. Pure: no I/O, no clock reads.

mod calendar;
mod state;

pub use calendar::{BusinessHours, Calendar, CalendarError};
pub use state::{SlaState, state, warning_at};
