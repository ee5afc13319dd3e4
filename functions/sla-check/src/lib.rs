//! `sla-check`: the scheduled Lambda that records SLA crossings. Every run marks the tickets
//! whose response or resolution line (warning or deadline) has been crossed, and records each
//! crossing once in `sla_events` with its audit row, so notifications and reports can rely on
//! the events instead of recomputing clocks.

mod line;
mod report;
mod sweep;

pub use report::SweepReport;
pub use sweep::sweep;
