//! What a jobcard reads (the ticket with its site, people and approval; its checklist, answers,
//! visits and stored attachments) and the jobcards table.

use nexus_shared::{ApiError, ApiResult};
use serde::Serialize;
use sqlx::{FromRow, PgConnection};

use crate::jobcard::{ChecklistCard, FieldWork, JobcardFacts};

/// The ticket's facts, its row locked so two requests cannot both make version n.
pub async fn facts_for_update(conn: &mut PgConnection, ticket_id: i64) -> ApiResult<Option<JobcardFacts>> {
    Ok(sqlx::query_as(
        "SELECT t.id, t.number, t.ticket_type, t.priority, t.status, t.version, t.description, t.resolution_notes,
                t.created_at, t.responded_at, t.resolved_at, t.closed_at, t.response_due_at, t.resolution_due_at,
                t.response_target_minutes, t.resolution_target_minutes, t.assigned_to,
                a.tag AS asset_tag, a.name AS asset_name, l.code AS location_code, l.name AS location_name,
                l.address, l.latitude, l.longitude, l.timezone, t.checklist_id, t.checklist_version,
                CASE WHEN u.id IS NULL THEN NULL
                     ELSE COALESCE(u.full_name || ' <' || u.email || '>', u.email) END AS technician,
                COALESCE(au.full_name || ' <' || au.email || '>', au.email) AS approver,
                ap.comments AS approval_comments
         FROM tickets t
         JOIN assets a ON a.id = t.asset_id
         JOIN locations l ON l.id = t.location_id
         LEFT JOIN users u ON u.id = t.assigned_to
         LEFT JOIN LATERAL (SELECT decided_by, comments FROM approvals
                            WHERE ticket_id = t.id AND decision = 'approve' ORDER BY created_at DESC, id DESC LIMIT 1) ap ON true
         LEFT JOIN users au ON au.id = ap.decided_by
         WHERE t.id = $1
         FOR UPDATE OF t",
    )
    .bind(ticket_id)
    .fetch_optional(conn)
    .await?)
}

/// The ticket's field work, read on the transaction that holds its lock (a closed ticket takes
/// no new answers, visits or attachments anyway). People are named by name, else email.
pub async fn field_work(conn: &mut PgConnection, facts: &JobcardFacts) -> ApiResult<FieldWork> {
    let checklist = match (facts.checklist_id, facts.checklist_version) {
        (Some(id), Some(version)) => {
            let version = nexus_shared::checklist::load_version(&mut *conn, id, version)
                .await?
                .ok_or_else(|| ApiError::internal("a ticket's checklist version is missing"))?;
            Some(ChecklistCard { name: version.name, version: version.version, items: version.items })
        }
        _ => None,
    };
    let answers = sqlx::query_as(
        "SELECT a.key, a.value, COALESCE(u.full_name, u.email) AS answered_by, a.occurred_at, a.received_at
         FROM checklist_answers a LEFT JOIN users u ON u.id = a.answered_by
         WHERE a.ticket_id = $1",
    )
    .bind(facts.id)
    .fetch_all(&mut *conn)
    .await?;
    let visits = sqlx::query_as(
        "SELECT v.id, COALESCE(u.full_name, u.email) AS technician, v.checked_in_at, v.distance_m, v.result,
                v.checked_out_at, v.checkout_distance_m, v.checkout_result
         FROM visits v JOIN users u ON u.id = v.technician_id
         WHERE v.ticket_id = $1 ORDER BY v.checked_in_at, v.id",
    )
    .bind(facts.id)
    .fetch_all(&mut *conn)
    .await?;
    let attachments = sqlx::query_as(
        "SELECT id, kind, checklist_key, content_type, size_bytes, sha256, stored_at FROM attachments
         WHERE ticket_id = $1 AND status = 'stored' ORDER BY id",
    )
    .bind(facts.id)
    .fetch_all(conn)
    .await?;
    Ok(FieldWork { checklist, answers, visits, attachments })
}

/// A stored jobcard version.
#[derive(Debug, Clone, Serialize, FromRow)]
pub struct Jobcard {
    pub id: i64,
    pub ticket_id: i64,
    pub version: i32,
    pub object_key: String,
    pub sha256: String,
    pub size_bytes: i32,
    pub ticket_version: i32,
}

impl nexus_shared::audit::Audited for Jobcard {
    const ENTITY: nexus_shared::audit::EntityType = nexus_shared::audit::EntityType::Jobcard;
    fn id(&self) -> i64 {
        self.id
    }
}

const COLUMNS: &str = "id, ticket_id, version, object_key, sha256, size_bytes, ticket_version";

pub async fn latest(conn: &mut PgConnection, ticket_id: i64) -> ApiResult<Option<Jobcard>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM jobcards WHERE ticket_id = $1 ORDER BY version DESC LIMIT 1"
    )))
    .bind(ticket_id)
    .fetch_optional(conn)
    .await?)
}

pub async fn insert(conn: &mut PgConnection, card: &NewJobcard<'_>) -> ApiResult<Jobcard> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO jobcards (ticket_id, version, object_key, sha256, size_bytes, ticket_version, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
    )))
    .bind(card.ticket_id)
    .bind(card.version)
    .bind(card.key)
    .bind(card.sha256)
    .bind(card.size_bytes)
    .bind(card.ticket_version)
    .bind(card.created_by)
    .fetch_one(conn)
    .await?)
}

pub struct NewJobcard<'a> {
    pub ticket_id: i64,
    pub version: i32,
    pub key: &'a str,
    pub sha256: &'a str,
    pub size_bytes: i32,
    pub ticket_version: i32,
    pub created_by: i64,
}
