//! An approval decision, as stored and shown, and the body that makes one.

use chrono::{DateTime, Utc};
use nexus_shared::ApiError;
use nexus_shared::audit::{Audited, EntityType};
use nexus_shared::ticket::TicketStatus;
use nexus_shared::validate::{self, Validator};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::ToSchema;

nexus_shared::text_enum! {
    pub enum Decision { Approve = "approve", Reject = "reject" }
}

impl Decision {
    /// Where the ticket goes: closed, or back to work.
    pub fn ticket_status(self) -> TicketStatus {
        match self {
            Decision::Approve => TicketStatus::Closed,
            Decision::Reject => TicketStatus::InProgress,
        }
    }
}

#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct Approval {
    pub id: i64,
    pub ticket_id: i64,
    #[sqlx(try_from = "String")]
    pub decision: Decision,
    pub comments: Option<String>,
    pub decided_by: i64,
    pub decided_by_email: String,
    pub created_at: DateTime<Utc>,
}

impl Audited for Approval {
    const ENTITY: EntityType = EntityType::Approval;
    fn id(&self) -> i64 {
        self.id
    }
}

/// The body of `POST /api/approvals`.
// Serialize: its fingerprint tells a retry (same Idempotency-Key, same request) from a misuse.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    #[schema(required = true, value_type = i64)]
    ticket_id: Option<i64>,
    #[schema(required = true, value_type = Decision)]
    decision: Option<Decision>,
    /// Required when rejecting: the technician needs to know what is missing.
    #[schema(max_length = 5000, pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$")]
    comments: Option<String>,
}

#[derive(Debug)]
pub struct NewDecision {
    pub ticket_id: i64,
    pub decision: Decision,
    pub comments: Option<String>,
}

impl NewDecision {
    pub fn parse(body: DecisionBody) -> Result<NewDecision, ApiError> {
        let mut v = Validator::new();
        let ticket_id = v.required("ticket_id", body.ticket_id);
        let decision = v.required("decision", body.decision);
        // None: invalid (already reported); Some(None): none given.
        let comments = v.field("comments", validate::optional_text(body.comments, 5000));
        if decision == Some(Decision::Reject) && comments == Some(None) {
            v.error("comments", "are required to reject: say what is missing");
        }
        match (ticket_id, decision) {
            (Some(ticket_id), Some(decision)) if v.is_valid() => {
                Ok(NewDecision { ticket_id, decision, comments: comments.flatten() })
            }
            _ => Err(v.into_error()),
        }
    }
}
