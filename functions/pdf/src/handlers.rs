use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, SubsecRound, Utc};
use nexus_shared::audit::{self, Action, Actor, EntityType};
use nexus_shared::auth::{Auth, AuthUser, Role, Worker};
use nexus_shared::extract::{Json, Path};
use nexus_shared::storage::{ObjectStore, S3Store};
use nexus_shared::ticket::TicketStatus;
use nexus_shared::{ApiError, ApiResult, AppState};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::jobcard::{self, JobcardFacts};
use crate::store::{self, Jobcard, NewJobcard};

/// How long a download link works.
const LINK_TTL: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobcardRequest {
    ticket_id: i64,
}

/// A presigned download link to a jobcard version.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobcardLink {
    /// Presigned GET, valid 15 minutes.
    pub url: String,
    pub expires_at: DateTime<Utc>,
    /// The object's key in the jobcard bucket.
    pub key: String,
    /// SHA-256 of the PDF, hex.
    pub sha256: String,
    pub version: i32,
}

/// Admins and supervisors for any ticket; a technician for the tickets assigned to them.
fn may_read(caller: &AuthUser, facts: &JobcardFacts) -> bool {
    caller.has_any(&[Role::Admin, Role::Supervisor]) || facts.assigned_to == Some(caller.id)
}

async fn link(store: &S3Store, card: &Jobcard) -> ApiResult<JobcardLink> {
    let url = store.presigned_get(&card.object_key, LINK_TTL).await?;
    // Microseconds, as every timestamp the database gives the API (RFC 3339, 6 digits).
    let expires_at = (Utc::now() + chrono::Duration::from_std(LINK_TTL).map_err(ApiError::internal)?).trunc_subsecs(6);
    Ok(JobcardLink {
        url,
        expires_at,
        key: card.object_key.clone(),
        sha256: card.sha256.clone(),
        version: card.version,
    })
}

/// Makes the jobcard of a closed ticket (or, when the ticket has not changed since the last
/// one, reuses it) and answers a fresh download link. 201 for a new version, 200 for a reused one.
#[utoipa::path(post, path = "/api/pdf/jobcard", tag = "pdf", security(("bearer" = [])),
    request_body = JobcardRequest,
    responses((status = 201, description = "A new jobcard version", body = JobcardLink),
              (status = 200, description = "The ticket is unchanged: the latest version", body = JobcardLink),
              (status = 404, description = "No such ticket (or not yours)", body = nexus_shared::error::Problem),
              (status = 409, description = "The ticket is not closed", body = nexus_shared::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    State(store): State<Arc<S3Store>>,
    caller: Auth<Worker>,
    Json(body): Json<JobcardRequest>,
) -> ApiResult<(StatusCode, axum::Json<JobcardLink>)> {
    let mut tx = state.pool.begin().await?;
    let mut facts = store::facts_for_update(&mut tx, body.ticket_id)
        .await?
        .filter(|f| may_read(&caller, f))
        .ok_or(ApiError::NotFound)?;
    if facts.status != TicketStatus::Closed.as_str() {
        return Err(ApiError::Conflict(format!("Only a closed ticket has a jobcard; this one is {}.", facts.status)));
    }
    let latest = store::latest(&mut tx, facts.id).await?;
    if let Some(card) = latest.as_ref().filter(|c| c.ticket_version == facts.version) {
        // Reuse only what is really there; a vanished object gets a new version below.
        if store.exists(&card.object_key).await? {
            let card = card.clone();
            tx.commit().await?;
            return Ok((StatusCode::OK, axum::Json(link(&store, &card).await?)));
        }
    }
    facts.field_work = store::field_work(&mut tx, &facts).await?;
    let pdf = jobcard::render(&facts);
    let sha256: String = Sha256::digest(&pdf).iter().map(|b| format!("{b:02x}")).collect();
    let version = latest.map_or(1, |c| c.version + 1);
    let key = format!("jobcards/{}/v{version}.pdf", facts.id);
    let size_bytes = i32::try_from(pdf.len()).map_err(ApiError::internal)?;
    // Stored before the row commits: a failed commit leaves an orphan object, never a row
    // pointing at nothing.
    store.put(&key, pdf, "application/pdf").await?;
    let card = store::insert(
        &mut tx,
        &NewJobcard {
            ticket_id: facts.id,
            version,
            key: &key,
            sha256: &sha256,
            size_bytes,
            ticket_version: facts.version,
            created_by: caller.id,
        },
    )
    .await?;
    let actor: Actor = caller.actor();
    audit::record(&mut tx, &actor, EntityType::Jobcard, card.id, Action::Create, None, Some(&card)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(link(&store, &card).await?)))
}

/// A fresh link to the latest jobcard of a ticket.
#[utoipa::path(get, path = "/api/pdf/jobcard/{ticket_id}", tag = "pdf", security(("bearer" = [])),
    params(("ticket_id" = i64, Path, description = "Ticket id")),
    responses((status = 200, description = "The latest version", body = JobcardLink),
              (status = 404, description = "No such ticket, not yours, or no jobcard yet", body = nexus_shared::error::Problem)))]
pub async fn latest(
    State(state): State<AppState>,
    State(store): State<Arc<S3Store>>,
    caller: Auth<Worker>,
    Path(ticket_id): Path<i64>,
) -> ApiResult<axum::Json<JobcardLink>> {
    let mut tx = state.pool.begin().await?;
    store::facts_for_update(&mut tx, ticket_id).await?.filter(|f| may_read(&caller, f)).ok_or(ApiError::NotFound)?;
    let card = store::latest(&mut tx, ticket_id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok(axum::Json(link(&store, &card).await?))
}
