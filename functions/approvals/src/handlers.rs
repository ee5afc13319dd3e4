use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use nexus_shared::audit::{self, Action, EntityType};
use nexus_shared::auth::{Auth, Staff};
use nexus_shared::extract::{Json, Path};
use nexus_shared::idempotency::{self, Idempotency};
use nexus_shared::ticket::{Transition, Visibility};
use nexus_shared::{ApiError, ApiResult, AppState};
use serde::Serialize;
use utoipa::ToSchema;

use crate::approval::{Approval, DecisionBody, NewDecision};
use crate::store;

/// Approves (→ `closed`) or rejects (→ `in_progress`, with the comments) a resolved ticket.
/// Only one decision per resolution wins: concurrent ones get 409.
#[utoipa::path(post, path = "/api/approvals", tag = "approvals", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[!-~]+$",
            description = "1–255 visible ASCII characters; a retry with the same key and body gets the first response")),
    request_body = DecisionBody,
    responses((status = 201, description = "Decision recorded (or, with Idempotency-Replayed: true, recorded by the first request with this key)", body = Approval),
              (status = 404, description = "No such ticket", body = nexus_shared::error::Problem),
              (status = 409, description = "The ticket is not resolved, or a concurrent request with the same Idempotency-Key", body = nexus_shared::error::Problem),
              (status = 422, description = "Invalid body, or an Idempotency-Key already used for another request", body = nexus_shared::error::Problem)))]
pub async fn decide(
    State(state): State<AppState>,
    caller: Auth<Staff>,
    headers: HeaderMap,
    Json(body): Json<DecisionBody>,
) -> ApiResult<Response> {
    let idempotency = Idempotency::from_headers(&headers, caller.id, "POST /api/approvals", &body)?;
    if let Some(replay) = idempotency::replayed(&idempotency, &state.pool).await? {
        return Ok(replay);
    }
    let decision = NewDecision::parse(body)?;
    let actor = caller.actor();
    let mut approval = None;
    audit::update(&state.pool, &actor, Action::Update, decision.ticket_id, store::lock_ticket, async |conn, ticket| {
        let to = decision.decision.ticket_status();
        if !ticket.status.can_become(to, Transition::Approval) {
            return Err(ApiError::Conflict(format!(
                "Only a resolved ticket can be approved or rejected; this one is {}.",
                ticket.status
            )));
        }
        let after = store::apply(conn, ticket, to, Utc::now()).await?;
        let recorded = store::insert(conn, &decision, caller.id).await?;
        audit::record(conn, &actor, EntityType::Approval, recorded.id, Action::Create, None, Some(&recorded)).await?;
        if let Some(key) = &idempotency {
            key.remember(conn, StatusCode::CREATED, &recorded, None).await?;
        }
        approval = Some(recorded);
        Ok(after)
    })
    .await?;
    let approval = approval.ok_or_else(|| ApiError::internal("decision recorded without an approval"))?;
    Ok((StatusCode::CREATED, axum::Json(approval)).into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalHistory {
    pub items: Vec<Approval>,
}

/// Every decision on a ticket, oldest first. Technicians see it for their own tickets only.
#[utoipa::path(get, path = "/api/approvals/{ticket_id}", tag = "approvals", security(("bearer" = [])),
    params(("ticket_id" = i64, Path, description = "Ticket id")),
    responses((status = 200, description = "The decisions", body = ApprovalHistory)))]
pub async fn history(
    State(state): State<AppState>,
    caller: Auth,
    Path(ticket_id): Path<i64>,
) -> ApiResult<axum::Json<ApprovalHistory>> {
    let ticket = store::ticket(&state.pool, ticket_id).await?.ok_or(ApiError::NotFound)?;
    if let Visibility::AssignedTo(user) = Visibility::of(&caller)
        && ticket.assigned_to != Some(user)
    {
        return Err(ApiError::NotFound);
    }
    Ok(axum::Json(ApprovalHistory { items: store::history(&state.pool, ticket_id).await? }))
}
