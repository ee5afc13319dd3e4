//! The audit log: one row per change, written on the change's own transaction so neither can
//! exist without the other.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::auth::AuthUser;
use crate::auth::extractor::REQUEST_ID_HEADER;
use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntityType {
    User,
    Location,
    Asset,
}

impl EntityType {
    pub const ALL: [EntityType; 3] = [EntityType::User, EntityType::Location, EntityType::Asset];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Location => "location",
            Self::Asset => "asset",
        }
    }
}

impl TryFrom<String> for EntityType {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::ALL.into_iter().find(|e| e.as_str() == s).ok_or_else(|| format!("unknown entity type {s}"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    pub const ALL: [Action; 3] = [Action::Create, Action::Update, Action::Delete];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }
}

impl TryFrom<String> for Action {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::ALL.into_iter().find(|a| a.as_str() == s).ok_or_else(|| format!("unknown audit action {s}"))
    }
}

/// Who made the change, and the request that carried it.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub request_id: Option<String>,
}

/// For requests without a signed-in user (sign-up): the request id only; the handler fills in
/// the user once it exists.
impl<S: Send + Sync> FromRequestParts<S> for Actor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let request_id = parts.headers.get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(Self { user_id: None, request_id })
    }
}

impl From<&AuthUser> for Actor {
    fn from(user: &AuthUser) -> Self {
        Self { user_id: Some(user.id), request_id: user.request_id.clone() }
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
    let changes = diff(to_value(before)?.as_ref(), to_value(after)?.as_ref());
    sqlx::query(
        "INSERT INTO audit_logs (entity_type, entity_id, action, actor_id, changes, request_id)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(entity.as_str())
    .bind(entity_id)
    .bind(action.as_str())
    .bind(actor.user_id)
    .bind(changes)
    .bind(actor.request_id.as_deref())
    .execute(conn)
    .await?;
    Ok(())
}

/// A change to one entity, as the API shows it before and after.
pub struct Change<T> {
    pub id: i64,
    pub before: Option<T>,
    pub after: Option<T>,
}

impl<T> Change<T> {
    pub fn created(id: i64, after: T) -> Self {
        Self { id, before: None, after: Some(after) }
    }

    pub fn updated(id: i64, before: T, after: T) -> Self {
        Self { id, before: Some(before), after: Some(after) }
    }

    pub fn deleted(id: i64, before: T) -> Self {
        Self { id, before: Some(before), after: None }
    }

    /// The entity after the change, for the response.
    pub fn into_after(self) -> Result<T, ApiError> {
        self.after.ok_or_else(|| ApiError::internal("change has no after state"))
    }
}

/// Runs `change` in a transaction and writes its audit row in that same transaction: both
/// commit, or neither does. Every write endpoint goes through here.
pub async fn audited<T: Serialize>(
    pool: &PgPool,
    actor: &Actor,
    entity: EntityType,
    action: Action,
    change: impl AsyncFnOnce(&mut PgConnection) -> Result<Change<T>, ApiError>,
) -> Result<Change<T>, ApiError> {
    let mut tx = pool.begin().await?;
    let done = change(&mut tx).await?;
    record(&mut tx, actor, entity, done.id, action, done.before.as_ref(), done.after.as_ref()).await?;
    tx.commit().await?;
    Ok(done)
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
