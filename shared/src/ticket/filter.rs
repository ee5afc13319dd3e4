//! The ticket filters every ticket view accepts (the tickets list, the live map), parsed once
//! and turned into SQL in one place. Queries name tickets `t` and their location `l`.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::{Postgres, QueryBuilder};
use utoipa::IntoParams;

use crate::auth::{AuthUser, Role};
use crate::error::{ApiError, ApiResult};
use crate::ticket::{Priority, TicketStatus, TicketType};
use crate::validate;

/// Whose tickets a caller may see: everyone's, or only those assigned to one technician.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    All,
    AssignedTo(i64),
}

impl Visibility {
    /// Technicians see only the tickets assigned to them; everyone else sees all.
    pub fn of(user: &AuthUser) -> Visibility {
        if user.has_any(&[Role::Admin, Role::Supervisor, Role::Viewer]) {
            Visibility::All
        } else {
            Visibility::AssignedTo(user.id)
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketQuery {
    /// One status or a comma-separated list, e.g. `open,assigned,in_progress`.
    #[param(
        max_length = 200,
        pattern = r"^ *((open|assigned|in_progress|on_hold|resolved|closed|cancelled) *(, *(open|assigned|in_progress|on_hold|resolved|closed|cancelled) *)*)?$"
    )]
    pub status: Option<String>,
    pub priority: Option<Priority>,
    pub ticket_type: Option<TicketType>,
    pub assigned_to: Option<i64>,
    pub location_id: Option<i64>,
    pub asset_id: Option<i64>,
    /// The location's region.
    #[param(max_length = 100, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub region: Option<String>,
    /// Whether a response or resolution target has been breached.
    pub breached: Option<bool>,
    /// Resolution due strictly before this instant (RFC 3339).
    pub due_before: Option<DateTime<Utc>>,
    /// `scheduled_for` (a generated PM's due time) strictly before this instant (RFC 3339);
    /// tickets without one are left out.
    pub scheduled_before: Option<DateTime<Utc>>,
}

#[derive(Debug, Default, Clone)]
pub struct TicketFilter {
    pub statuses: Vec<TicketStatus>,
    pub priority: Option<Priority>,
    pub ticket_type: Option<TicketType>,
    pub assigned_to: Option<i64>,
    pub location_id: Option<i64>,
    pub asset_id: Option<i64>,
    pub region: Option<String>,
    pub breached: Option<bool>,
    pub due_before: Option<DateTime<Utc>>,
    pub scheduled_before: Option<DateTime<Utc>>,
}

impl TicketQuery {
    pub fn parse(self) -> ApiResult<TicketFilter> {
        Ok(TicketFilter {
            statuses: parse_statuses(self.status)?,
            priority: self.priority,
            ticket_type: self.ticket_type,
            assigned_to: self.assigned_to,
            location_id: self.location_id,
            asset_id: self.asset_id,
            region: validate::query_text("region", self.region)?,
            breached: self.breached,
            due_before: self.due_before,
            scheduled_before: self.scheduled_before,
        })
    }
}

fn parse_statuses(raw: Option<String>) -> ApiResult<Vec<TicketStatus>> {
    // Spaces only around the names, as the documented pattern says.
    let Some(raw) = raw.filter(|r| !r.trim_matches(' ').is_empty()) else { return Ok(Vec::new()) };
    raw.split(',')
        .map(|s| TicketStatus::try_from(s.trim_matches(' ').to_string()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| {
            let known: Vec<&str> = TicketStatus::ALL.iter().map(|s| s.as_str()).collect();
            ApiError::validation("status", format!("must be one or more of {}", known.join(", ")))
        })
}

impl TicketFilter {
    /// Whether no filter was given (every ticket the caller's visibility allows).
    pub fn is_empty(&self) -> bool {
        let Self {
            statuses,
            priority,
            ticket_type,
            assigned_to,
            location_id,
            asset_id,
            region,
            breached,
            due_before,
            scheduled_before,
        } = self;
        statuses.is_empty()
            && priority.is_none()
            && ticket_type.is_none()
            && assigned_to.is_none()
            && location_id.is_none()
            && asset_id.is_none()
            && region.is_none()
            && breached.is_none()
            && due_before.is_none()
            && scheduled_before.is_none()
    }

    /// Appends ` AND …` conditions for the filter and the caller's visibility.
    pub fn push(&self, qb: &mut QueryBuilder<Postgres>, visibility: Visibility) {
        if let Visibility::AssignedTo(user_id) = visibility {
            qb.push(" AND t.assigned_to = ").push_bind(user_id);
        }
        match self.statuses.as_slice() {
            [] => {}
            // Equality, not ANY: it lets the planner use the (status, …) indexes for the order too.
            [status] => {
                qb.push(" AND t.status = ").push_bind(status.as_str());
            }
            many => {
                let statuses: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
                qb.push(" AND t.status = ANY(").push_bind(statuses).push(")");
            }
        }
        if let Some(priority) = self.priority {
            qb.push(" AND t.priority = ").push_bind(priority.as_str());
        }
        if let Some(ticket_type) = self.ticket_type {
            qb.push(" AND t.ticket_type = ").push_bind(ticket_type.as_str());
        }
        if let Some(assigned_to) = self.assigned_to {
            qb.push(" AND t.assigned_to = ").push_bind(assigned_to);
        }
        if let Some(location_id) = self.location_id {
            qb.push(" AND t.location_id = ").push_bind(location_id);
        }
        if let Some(asset_id) = self.asset_id {
            qb.push(" AND t.asset_id = ").push_bind(asset_id);
        }
        if let Some(region) = &self.region {
            qb.push(" AND l.region = ").push_bind(region.clone());
        }
        match self.breached {
            Some(true) => {
                qb.push(" AND (t.response_breached OR t.resolution_breached)");
            }
            Some(false) => {
                qb.push(" AND NOT (t.response_breached OR t.resolution_breached)");
            }
            None => {}
        }
        if let Some(due_before) = self.due_before {
            qb.push(" AND t.resolution_due_at < ").push_bind(due_before);
        }
        // False for a NULL scheduled_for: unscheduled tickets drop out, and the partial
        // tickets_scheduled_for_idx (scheduled_for IS NOT NULL) applies.
        if let Some(scheduled_before) = self.scheduled_before {
            qb.push(" AND t.scheduled_for < ").push_bind(scheduled_before);
        }
    }
}
