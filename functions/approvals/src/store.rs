//! Approvals, and the part of a ticket a decision changes.

use chrono::{DateTime, Utc};
use nexus_shared::audit::{Audited, EntityType};
use nexus_shared::ticket::TicketStatus;
use nexus_shared::{ApiError, ApiResult};
use serde::Serialize;
use sqlx::{FromRow, PgConnection, PgPool};

use crate::approval::{Approval, NewDecision};

/// What an approval reads and writes of a ticket (and what its audit row shows).
#[derive(Debug, Clone, Serialize, FromRow)]
pub struct TicketClosure {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub status: TicketStatus,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub assigned_to: Option<i64>,
    pub version: i32,
}

impl Audited for TicketClosure {
    const ENTITY: EntityType = EntityType::Ticket;
    fn id(&self) -> i64 {
        self.id
    }
}

const CLOSURE: &str = "SELECT id, status, resolved_at, closed_at, assigned_to, version FROM tickets";

/// The ticket, locked: fifty concurrent decisions queue here and each sees the one before.
pub async fn lock_ticket(conn: &mut PgConnection, id: i64) -> ApiResult<Option<TicketClosure>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!("{CLOSURE} WHERE id = $1 FOR UPDATE")))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

pub async fn ticket(pool: &PgPool, id: i64) -> ApiResult<Option<TicketClosure>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!("{CLOSURE} WHERE id = $1"))).bind(id).fetch_optional(pool).await?)
}

/// Closes the ticket or sends it back to work (clearing `resolved_at`, so its resolution
/// clock runs again until it is resolved anew).
pub async fn apply(
    conn: &mut PgConnection,
    ticket: &TicketClosure,
    to: TicketStatus,
    now: DateTime<Utc>,
) -> ApiResult<TicketClosure> {
    let (resolved_at, closed_at) = match to {
        TicketStatus::Closed => (ticket.resolved_at, Some(now)),
        _ => (None, None),
    };
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(
        "UPDATE tickets SET status = $2, resolved_at = $3, closed_at = $4, version = version + 1,
             status_changed_at = $5, status_received_at = $5
         WHERE id = $1
         RETURNING id, status, resolved_at, closed_at, assigned_to, version",
    ))
    .bind(ticket.id)
    .bind(to.as_str())
    .bind(resolved_at)
    .bind(closed_at)
    .bind(now)
    .fetch_one(conn)
    .await?)
}

const APPROVAL: &str =
    "SELECT a.id, a.ticket_id, a.decision, a.comments, a.decided_by, u.email AS decided_by_email, a.created_at
    FROM approvals a JOIN users u ON u.id = a.decided_by";

pub async fn insert(conn: &mut PgConnection, decision: &NewDecision, decided_by: i64) -> ApiResult<Approval> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO approvals (ticket_id, decision, comments, decided_by) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(decision.ticket_id)
    .bind(decision.decision.as_str())
    .bind(&decision.comments)
    .bind(decided_by)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query_as(sqlx::AssertSqlSafe(format!("{APPROVAL} WHERE a.id = $1")))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| ApiError::internal("approval vanished after insert"))
}

pub async fn history(pool: &PgPool, ticket_id: i64) -> ApiResult<Vec<Approval>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!("{APPROVAL} WHERE a.ticket_id = $1 ORDER BY a.created_at, a.id")))
        .bind(ticket_id)
        .fetch_all(pool)
        .await?)
}
