//! The SLA state a map marker is coloured by: the worse of a ticket's two clocks, computed in
//! SQL so clusters can take the worst inside. Clocks of a ticket on hold stand at the hold's start.

use nexus_shared::sla::SlaState;

/// 0 met, 1 pending, 2 warning, 3 breached (the order "worse" means). Reads `clock.now`.
pub const SEVERITY_SQL: &str = "GREATEST(
    CASE WHEN t.responded_at IS NOT NULL THEN CASE WHEN t.responded_at <= t.response_due_at THEN 0 ELSE 3 END
         WHEN COALESCE(t.on_hold_since, clock.now) >= t.response_due_at THEN 3
         WHEN COALESCE(t.on_hold_since, clock.now) >= t.response_warning_at THEN 2 ELSE 1 END,
    CASE WHEN t.resolved_at IS NOT NULL THEN CASE WHEN t.resolved_at <= t.resolution_due_at THEN 0 ELSE 3 END
         WHEN COALESCE(t.on_hold_since, clock.now) >= t.resolution_due_at THEN 3
         WHEN COALESCE(t.on_hold_since, clock.now) >= t.resolution_warning_at THEN 2 ELSE 1 END)";

pub fn state(severity: i32) -> SlaState {
    match severity {
        0 => SlaState::Met,
        1 => SlaState::Pending,
        2 => SlaState::Warning,
        _ => SlaState::Breached,
    }
}
