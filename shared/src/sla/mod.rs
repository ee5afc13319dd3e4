//! SLA maths: working-time calendars, clock states and the lines as stored. Pure: no I/O, no clock reads.

mod calendar;
mod line;
mod state;

pub(crate) use calendar::to_utc;
pub use calendar::{BusinessHours, Calendar, CalendarError, ClosedDay};
pub use line::Line;
pub use state::{SlaState, state, warning_at};
