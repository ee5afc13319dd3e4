//! The bodies that create and change tickets, parsed into what the lifecycle needs.

use chrono::{DateTime, Utc};
use nexus_shared::ApiError;
use nexus_shared::ticket::{HoldReason, Priority, TicketStatus, TicketType};
use nexus_shared::validate::{self, Validator, nullable};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The body of `POST /api/tickets`.
// Serialize: its fingerprint tells a retry (same Idempotency-Key, same request) from a misuse.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTicketBody {
    #[schema(required = true, value_type = i64)]
    asset_id: Option<i64>,
    #[schema(required = true, value_type = TicketType)]
    ticket_type: Option<TicketType>,
    #[schema(required = true, value_type = Priority)]
    priority: Option<Priority>,
    #[schema(required = true, value_type = String, min_length = 1, max_length = 5000, pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$")]
    description: Option<String>,
    /// A technician to assign at once (the ticket then starts `assigned`).
    assigned_to: Option<i64>,
    /// A checklist to complete before the ticket can be resolved (its latest version).
    checklist_id: Option<i64>,
}

#[derive(Debug)]
pub struct NewTicket {
    pub asset_id: i64,
    pub ticket_type: TicketType,
    pub priority: Priority,
    pub description: String,
    pub assigned_to: Option<i64>,
    pub checklist_id: Option<i64>,
}

impl NewTicket {
    pub fn parse(body: NewTicketBody) -> Result<NewTicket, ApiError> {
        let mut v = Validator::new();
        let asset_id = v.required("asset_id", body.asset_id);
        let ticket_type = v.required("ticket_type", body.ticket_type);
        let priority = v.required("priority", body.priority);
        let description =
            v.required("description", body.description).and_then(|d| v.field("description", validate::text(d, 5000)));
        match (asset_id, ticket_type, priority, description) {
            (Some(asset_id), Some(ticket_type), Some(priority), Some(description)) if v.is_valid() => Ok(NewTicket {
                asset_id,
                ticket_type,
                priority,
                description,
                assigned_to: body.assigned_to,
                checklist_id: body.checklist_id,
            }),
            _ => Err(v.into_error()),
        }
    }
}

/// `PUT /api/tickets/{id}`: every field optional; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketUpdateBody {
    /// Move the ticket along its lifecycle (closing and reopening go through approvals).
    status: Option<TicketStatus>,
    /// Assign (or with `null`, unassign an `open` ticket). Assigning an `open` ticket makes it `assigned`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    assigned_to: Option<Option<i64>>,
    /// Changing it recomputes the SLA deadlines from the new rule.
    priority: Option<Priority>,
    #[schema(
        max_length = 5000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    description: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 20000, pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$")]
    notes: Option<Option<String>>,
    /// Required when moving to `on_hold`.
    hold_reason: Option<HoldReason>,
    /// Required when moving to `resolved`.
    #[schema(
        max_length = 5000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    resolution_notes: Option<String>,
    /// Give the ticket this checklist (its latest version); refused once it has answers.
    checklist_id: Option<i64>,
    /// When the status change happened, for changes made offline and synced later (only with
    /// `status`): at most 72 hours back and 5 minutes ahead. The SLA is judged by it.
    occurred_at: Option<DateTime<Utc>>,
}

/// A validated update.
#[derive(Debug, Default)]
pub struct TicketUpdate {
    pub status: Option<TicketStatus>,
    pub assigned_to: Option<Option<i64>>,
    pub priority: Option<Priority>,
    pub description: Option<String>,
    pub notes: Option<Option<String>>,
    pub hold_reason: Option<HoldReason>,
    pub resolution_notes: Option<String>,
    /// When the status change happened (checked against the window in the lifecycle).
    pub occurred_at: Option<DateTime<Utc>>,
    pub checklist_id: Option<i64>,
}

impl TicketUpdate {
    pub fn parse(body: TicketUpdateBody) -> Result<TicketUpdate, ApiError> {
        let mut v = Validator::new();
        let description = body.description.map(|d| v.field("description", validate::text(d, 5000)));
        // Empty notes clear them, like null.
        let notes = body.notes.map(|n| v.field("notes", validate::optional_text(n, 20000)));
        let resolution_notes = body.resolution_notes.map(|r| v.field("resolution_notes", validate::text(r, 5000)));
        if body.occurred_at.is_some() && body.status.is_none() {
            v.error("occurred_at", "is only accepted together with status");
        }
        if !v.is_valid() {
            return Err(v.into_error());
        }
        Ok(TicketUpdate {
            status: body.status,
            assigned_to: body.assigned_to,
            priority: body.priority,
            description: description.flatten(),
            notes: notes.map(Option::flatten),
            hold_reason: body.hold_reason,
            resolution_notes: resolution_notes.flatten(),
            occurred_at: body.occurred_at,
            checklist_id: body.checklist_id,
        })
    }

    /// The fields only planners (admin, supervisor) may change.
    pub fn touches_planning(&self) -> bool {
        self.assigned_to.is_some()
            || self.priority.is_some()
            || self.description.is_some()
            || self.checklist_id.is_some()
    }

    /// Cancellation, as `DELETE /api/tickets/{id}` does it.
    pub fn cancel() -> TicketUpdate {
        TicketUpdate { status: Some(TicketStatus::Cancelled), ..TicketUpdate::default() }
    }
}
