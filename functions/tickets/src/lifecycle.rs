//! Applying an update to a ticket: who may change what, the lifecycle's guards and side
//! effects (response and resolution times, holds pausing the clock, recomputed deadlines).
//!
//! A status change happens at its `occurred_at` (a device that was offline sends it late), or
//! when it arrives: every time it sets, and every SLA judgement, uses that instant.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use nexus_shared::auth::{AuthUser, Role};
use nexus_shared::db::Lock;
use nexus_shared::ticket::{SlaClock, TicketStatus, Transition, Visibility};
use nexus_shared::{ApiError, ApiResult, offline};
use sqlx::PgConnection;

use crate::input::TicketUpdate;
use crate::store;
use crate::ticket::TicketRow;

/// Statuses a technician may move their own tickets to.
const TECHNICIAN_MOVES: [TicketStatus; 3] = [TicketStatus::InProgress, TicketStatus::OnHold, TicketStatus::Resolved];

/// Admins and supervisors plan and edit any ticket; everyone else with write access is working
/// their own assigned tickets.
pub fn is_planner(user: &AuthUser) -> bool {
    user.has_any(&[Role::Admin, Role::Supervisor])
}

/// Applies `update` to the locked `before` and stores it with what it implies: the lines it
/// crossed, the breaches it retracted. Answers the ticket as stored.
pub async fn commit(
    conn: &mut PgConnection,
    before: &TicketRow,
    update: TicketUpdate,
    caller: &AuthUser,
    now: DateTime<Utc>,
) -> ApiResult<TicketRow> {
    let next = apply(conn, before, update, caller, now).await?;
    store::write(conn, &next, before.version).await?;
    store::record_crossings(conn, before, &next, now).await?;
    store::record_retractions(conn, before, &next, now).await?;
    // Read back: the row as stored (updated_at is set by the database).
    store::find(conn, before.id, Visibility::All, Lock::None).await?.ok_or(ApiError::NotFound)
}

/// The ticket after `update`, or why it cannot be made.
pub async fn apply(
    conn: &mut PgConnection,
    before: &TicketRow,
    update: TicketUpdate,
    caller: &AuthUser,
    now: DateTime<Utc>,
) -> ApiResult<TicketRow> {
    if before.status.is_terminal() {
        return Err(ApiError::Conflict(format!("A {} ticket can no longer change.", before.status)));
    }
    if !is_planner(caller) {
        let moves_allowed = update.status.is_none_or(|s| s == before.status || TECHNICIAN_MOVES.contains(&s));
        if update.touches_planning() || !moves_allowed {
            return Err(ApiError::Forbidden);
        }
    }

    let mut next = before.clone();
    let mut recompute = false;
    if let Some(description) = update.description {
        next.description = description;
    }
    if let Some(notes) = update.notes {
        next.notes = notes;
    }
    if let Some(priority) = update.priority.filter(|p| *p != before.priority) {
        let targets = store::rule(conn, before.ticket_type, priority).await?;
        next.priority = priority;
        next.response_target_minutes = targets.response_minutes;
        next.resolution_target_minutes = targets.resolution_minutes;
        next.warning_ratio = targets.warning_ratio;
        next.sla_calendar_id = targets.calendar_id;
        recompute = true;
    }
    let mut implied_status = None;
    if let Some(assignee) = update.assigned_to {
        match assignee {
            Some(user_id) => {
                store::check_assignable(conn, user_id).await?;
                if before.status == TicketStatus::Open {
                    implied_status = Some(TicketStatus::Assigned);
                }
            }
            None if before.status != TicketStatus::Open => {
                return Err(ApiError::Conflict("Only an open ticket can be left unassigned.".into()));
            }
            None => {}
        }
        next.assigned_to = assignee;
    }

    let target = update.status.or(implied_status).filter(|s| *s != before.status);
    // An explicit status change happens when the device says; an assignment's implied one now.
    let explicit = update.status.is_some_and(|s| s != before.status);
    let at = if explicit { offline::occurred_at("occurred_at", update.occurred_at, now)? } else { now };
    let mut clock: Option<SlaClock> = None;
    if let Some(to) = target {
        if !before.status.can_become(to, Transition::Edit) {
            return Err(forbidden_transition(before.status, to));
        }
        if explicit {
            check_order(conn, before, to, at).await?;
            next.status_changed_at = Some(at);
            next.status_received_at = Some(now);
        }
        match to {
            TicketStatus::Assigned if next.assigned_to.is_none() => {
                return Err(ApiError::validation("assigned_to", "is required to assign a ticket"));
            }
            TicketStatus::InProgress => {
                if next.responded_at.is_none() {
                    next.responded_at = Some(at);
                    next.response_warned |= at > next.response_warning_at;
                    // Judged by when it happened: a response made offline before the line
                    // clears a breach the check recorded before it arrived (see commit).
                    next.response_breached = at > next.response_due_at;
                }
                if let Some(held_since) = before.on_hold_since {
                    let c = clock.insert(SlaClock::load(conn, &before.timezone, next.targets()).await?);
                    // Only the part of the hold after the clocks started (a PM worked ahead of
                    // its date) paused anything.
                    let paused_from = held_since.max(before.sla_started_at);
                    next.held_seconds += c.hold_credit(paused_from, at, before.resolution_due_at).num_seconds();
                    next.on_hold_since = None;
                    next.hold_reason = None;
                    recompute = true;
                }
            }
            TicketStatus::OnHold => {
                let reason = update
                    .hold_reason
                    .ok_or_else(|| ApiError::validation("hold_reason", "is required to put a ticket on hold"))?;
                next.hold_reason = Some(reason.as_str().to_string());
                next.on_hold_since = Some(at);
                // The clocks stop here, and the check does not look at tickets on hold: a line
                // they passed since its last run is recorded now, as that run would have.
                if next.responded_at.is_none() {
                    next.response_warned |= at >= next.response_warning_at;
                    next.response_breached |= at >= next.response_due_at;
                }
                next.resolution_warned |= at >= next.resolution_warning_at;
                next.resolution_breached |= at >= next.resolution_due_at;
            }
            TicketStatus::Resolved => {
                // Every required checklist item answered (photos and signature stored) first.
                let unmet = nexus_shared::checklist::unmet_required(conn, before.id).await?;
                if !unmet.is_empty() {
                    return Err(ApiError::Validation(unmet));
                }
                let notes = update.resolution_notes.clone().or_else(|| before.resolution_notes.clone());
                next.resolution_notes = Some(
                    notes
                        .ok_or_else(|| ApiError::validation("resolution_notes", "are required to resolve a ticket"))?,
                );
                next.resolved_at = Some(at);
                next.resolution_warned |= at > next.resolution_warning_at;
                next.resolution_breached = at > next.resolution_due_at;
            }
            TicketStatus::Cancelled => {
                next.cancelled_at = Some(at);
                next.on_hold_since = None;
                next.hold_reason = None;
            }
            _ => {}
        }
        next.status = to;
    }
    if update.hold_reason.is_some() && next.status != TicketStatus::OnHold {
        return Err(ApiError::validation("hold_reason", "is only accepted when putting a ticket on hold"));
    }
    if update.resolution_notes.is_some() && target != Some(TicketStatus::Resolved) {
        return Err(ApiError::validation("resolution_notes", "are only accepted when resolving a ticket"));
    }

    if recompute {
        let clock = match clock {
            Some(c) if next.sla_calendar_id == before.sla_calendar_id => c,
            _ => SlaClock::load(conn, &before.timezone, next.targets()).await?,
        };
        let lines = clock.lines(next.sla_started_at, Duration::seconds(next.held_seconds));
        next.response_warning_at = lines.response_warning_at;
        next.response_due_at = lines.response_due_at;
        next.resolution_warning_at = lines.resolution_warning_at;
        next.resolution_due_at = lines.resolution_due_at;
    }
    next.version += 1;
    Ok(next)
}

/// A late status change may not go back before what already happened to the ticket: its
/// previous status change (or its creation) and, to resolve it, its first check-in at the site.
async fn check_order(
    conn: &mut PgConnection,
    before: &TicketRow,
    to: TicketStatus,
    at: DateTime<Utc>,
) -> ApiResult<()> {
    let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let (previous, what) = match before.status_changed_at {
        Some(changed) => (changed, "the ticket's previous status change"),
        None => (before.created_at, "the ticket's creation"),
    };
    if at < previous {
        return Err(ApiError::Conflict(format!(
            "occurred_at {} precedes {what} ({}); a status change cannot be placed before it.",
            stamp(at),
            stamp(previous)
        )));
    }
    if to == TicketStatus::Resolved
        && let Some(first) = store::first_inside_visit(conn, before.id).await?
        && at < first
    {
        return Err(ApiError::Conflict(format!(
            "occurred_at {} precedes the first check-in at the site ({}); the work cannot be resolved before it began.",
            stamp(at),
            stamp(first)
        )));
    }
    Ok(())
}

/// 409 naming the statuses that are allowed from here.
pub fn forbidden_transition(from: TicketStatus, to: TicketStatus) -> ApiError {
    let allowed: Vec<&str> = from.next(Transition::Edit).iter().map(|s| s.as_str()).collect();
    let allowed = if allowed.is_empty() { "none".to_string() } else { allowed.join(", ") };
    ApiError::Conflict(format!("A ticket cannot move from {from} to {to}; allowed from {from}: {allowed}."))
}
