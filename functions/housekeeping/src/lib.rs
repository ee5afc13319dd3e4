//! `housekeeping`: the daily scheduled Lambda that deletes what has outlived its use — login
//! failures past the throttle's window, idempotency keys past the retry horizon of an offline
//! device, sessions long expired, attachments never uploaded or confirmed, webhook events
//! delivered over 30 days ago — so these tables
//! stay small and keep no personal data longer than needed.

mod purge;

pub use purge::{PurgeReport, RETENTION, purge};
