//! The audit log: one row per change, written on the change's own transaction so neither can
//! exist without the other; [`record`] also writes the change's webhook events there
//! (`webhook::change`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};
use sqlx::{FromRow, PgConnection, PgPool, Postgres, QueryBuilder};

use crate::pagination::{PageRequest, SortKey};
use utoipa::ToSchema;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::auth::AuthUser;
use crate::auth::extractor::REQUEST_ID_HEADER;
use crate::error::ApiError;

crate::text_enum! {
    pub enum EntityType {
        User = "user",
        Location = "location",
        Asset = "asset",
        Ticket = "ticket",
        Approval = "approval",
        SlaRule = "sla_rule",
        SlaCalendar = "sla_calendar",
        SlaEvent = "sla_event",
        Jobcard = "jobcard",
        PmPlan = "pm_plan",
        Meter = "meter",
        Attachment = "attachment",
        Checklist = "checklist",
        Visit = "visit",
        Export = "export",
        Webhook = "webhook",
    }
}

crate::text_enum! {
    pub enum Action {
        Create = "create",
        Update = "update",
        Delete = "delete",
    }
}

/// Who made the change, and the request that carried it.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub request_id: Option<String>,
}

/// For requests without a signed-in user (sign-up): the request id only; the change is
/// recorded with no actor.
impl<S: Send + Sync> FromRequestParts<S> for Actor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let request_id = parts.headers.get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(Self { user_id: None, request_id })
    }
}

impl AuthUser {
    /// The caller as the audit log records them.
    pub fn actor(&self) -> Actor {
        Actor { user_id: Some(self.id), request_id: self.request_id.clone() }
    }
}

/// Writes the audit row for one change. `before`/`after` are the entity as the API shows it;
/// only the fields that differ are stored, as `{"field": {"old": .., "new": ..}}`.
pub async fn record<T: Serialize>(
    conn: &mut PgConnection,
    actor: &Actor,
    entity: EntityType,
    entity_id: i64,
    action: Action,
    before: Option<&T>,
    after: Option<&T>,
) -> Result<(), ApiError> {
    let to_value = |v: Option<&T>| v.map(serde_json::to_value).transpose().map_err(ApiError::internal);
    let after = to_value(after)?;
    let changes = diff(to_value(before)?.as_ref(), after.as_ref());
    sqlx::query(
        "INSERT INTO audit_logs (entity_type, entity_id, action, actor_id, changes, request_id)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(entity.as_str())
    .bind(entity_id)
    .bind(action.as_str())
    .bind(actor.user_id)
    .bind(&changes)
    .bind(actor.request_id.as_deref())
    .execute(&mut *conn)
    .await?;
    // The change's webhook events, in the same transaction (the outbox).
    crate::webhook::change::emit(conn, entity, entity_id, action, &changes, after.as_ref()).await
}

/// Writes the audit rows of many changes of one entity type in one statement (a bulk import):
/// each `(before, after)` is a creation when `before` is None, else an update, recorded exactly
/// as [`record`] records one. Each row's changes are kept as JSON text once computed (a parsed
/// JSON tree weighs some kilobytes a row, which 50,000 rows would hold at once).
pub async fn record_all<'a, T: Audited + 'a>(
    conn: &mut PgConnection,
    actor: &Actor,
    changes: impl IntoIterator<Item = (Option<&'a T>, &'a T)>,
) -> Result<u64, ApiError> {
    let (mut ids, mut actions, mut diffs) = (Vec::new(), Vec::new(), Vec::new());
    for (before, after) in changes {
        let to_value = |v: &T| serde_json::to_value(v).map_err(ApiError::internal);
        let before = before.map(to_value).transpose()?;
        ids.push(after.id());
        actions.push(if before.is_some() { Action::Update } else { Action::Create }.as_str());
        diffs.push(diff(before.as_ref(), Some(&to_value(after)?)).to_string());
    }
    let written = sqlx::query(
        "INSERT INTO audit_logs (entity_type, entity_id, action, actor_id, changes, request_id)
         SELECT $1, entity_id, action, $4, changes::jsonb, $5 FROM unnest($2::bigint[], $3::text[], $6::text[])
             AS c (entity_id, action, changes)",
    )
    .bind(T::ENTITY.as_str())
    .bind(ids)
    .bind(actions)
    .bind(actor.user_id)
    .bind(actor.request_id.as_deref())
    .bind(diffs)
    .execute(conn)
    .await?;
    Ok(written.rows_affected())
}

/// An entity whose changes are audited: its type in the log and its id.
pub trait Audited: Serialize {
    const ENTITY: EntityType;
    fn id(&self) -> i64;
}

/// Every write endpoint goes through one of the three helpers below: each runs the change and
/// its audit row in one transaction, so both commit or neither does.
///
/// `insert` creates the entity.
pub async fn create<T: Audited>(
    pool: &PgPool,
    actor: &Actor,
    insert: impl AsyncFnOnce(&mut PgConnection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let mut tx = pool.begin().await?;
    let created = insert(&mut tx).await?;
    record(&mut tx, actor, T::ENTITY, created.id(), Action::Create, None, Some(&created)).await?;
    tx.commit().await?;
    Ok(created)
}

/// `lock` reads the entity with a row lock (None: 404); `apply` turns it into its new state.
/// `action` is `Update`, or `Delete` for soft deletes (decommission, deactivate).
pub async fn update<T: Audited>(
    pool: &PgPool,
    actor: &Actor,
    action: Action,
    id: i64,
    lock: impl AsyncFnOnce(&mut PgConnection, i64) -> Result<Option<T>, ApiError>,
    apply: impl AsyncFnOnce(&mut PgConnection, &T) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let mut tx = pool.begin().await?;
    let before = lock(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    let after = apply(&mut tx, &before).await?;
    record(&mut tx, actor, T::ENTITY, id, action, Some(&before), Some(&after)).await?;
    tx.commit().await?;
    Ok(after)
}

/// `remove` deletes the row and returns it (None: 404).
pub async fn delete<T: Audited>(
    pool: &PgPool,
    actor: &Actor,
    id: i64,
    remove: impl AsyncFnOnce(&mut PgConnection, i64) -> Result<Option<T>, ApiError>,
) -> Result<(), ApiError> {
    let mut tx = pool.begin().await?;
    let removed = remove(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    record(&mut tx, actor, T::ENTITY, id, Action::Delete, Some(&removed), None).await?;
    tx.commit().await?;
    Ok(())
}

/// One recorded change, as the audit list and a ticket's history show it.
#[derive(Debug, Serialize, FromRow, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub entity_type: EntityType,
    pub entity_id: i64,
    #[sqlx(try_from = "String")]
    pub action: Action,
    /// Null for changes made by the system (sign-up, the SLA check).
    pub actor_id: Option<i64>,
    pub actor_email: Option<String>,
    /// The changed fields: `{"field": {"old": .., "new": ..}}`.
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
    /// The request (or scheduled run) that made the change, to find its log lines.
    pub request_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Audit entries page by time (ties broken by id).
pub const ENTRY_SORTS: [SortKey; 1] = [SortKey { name: "created_at", column: "a.created_at", cast: "timestamptz" }];

/// `SELECT` [`AuditEntry`] columns and the page keys `FROM audit_logs a … WHERE true`: the caller
/// adds its conditions and fetches with `page.fetch`.
pub fn entries_query(page: &PageRequest) -> QueryBuilder<Postgres> {
    page.query(
        "a.id, a.entity_type, a.entity_id, a.action, a.actor_id, u.email AS actor_email, a.changes, a.request_id,
         a.created_at",
        "audit_logs a LEFT JOIN users u ON u.id = a.actor_id",
    )
}

/// Fields that change on every write and say nothing about what changed.
const IGNORED: [&str; 2] = ["updated_at", "created_at"];

/// The changed top-level fields between two JSON objects.
pub fn diff(before: Option<&Value>, after: Option<&Value>) -> Value {
    let empty = Map::new();
    let as_map = |v: Option<&Value>| v.and_then(Value::as_object).cloned().unwrap_or_else(|| empty.clone());
    let (before, after) = (as_map(before), as_map(after));
    let mut changes = Map::new();
    for key in before.keys().chain(after.keys()) {
        if IGNORED.contains(&key.as_str()) || changes.contains_key(key) {
            continue;
        }
        let (old, new) = (before.get(key).unwrap_or(&Value::Null), after.get(key).unwrap_or(&Value::Null));
        if old != new {
            changes.insert(key.clone(), json!({ "old": old, "new": new }));
        }
    }
    Value::Object(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_keeps_only_changed_fields() {
        let before = json!({"id": 1, "name": "Old", "region": null, "updated_at": "a"});
        let after = json!({"id": 1, "name": "New", "region": "Jawa", "updated_at": "b"});
        assert_eq!(
            diff(Some(&before), Some(&after)),
            json!({"name": {"old": "Old", "new": "New"}, "region": {"old": null, "new": "Jawa"}})
        );
    }

    #[test]
    fn creation_records_every_field_as_new() {
        let after = json!({"id": 5, "code": "TID-1"});
        assert_eq!(
            diff(None, Some(&after)),
            json!({"id": {"old": null, "new": 5}, "code": {"old": null, "new": "TID-1"}})
        );
    }
}
