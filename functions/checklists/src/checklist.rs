//! A checklist as the API shows it, the body that creates or changes one, and its tables.

use chrono::{DateTime, Utc};
use nexus_shared::audit::{Actor, Audited, EntityType};
use nexus_shared::checklist::{Item, ItemBody, parse_items};
use nexus_shared::db::{Lock, like_pattern};
use nexus_shared::pagination::{Page, PageRequest, SortKey};
use nexus_shared::validate::{self, Validator};
use nexus_shared::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, PgConnection, PgPool, Postgres, QueryBuilder};
use utoipa::ToSchema;

/// One version of a checklist template.
#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct Checklist {
    pub id: i64,
    /// The name this version was given.
    pub name: String,
    /// This version; the ETag is this number in quotes. A version never changes: tickets
    /// keep the version they were given.
    pub version: i32,
    /// The newest version, which tickets get from now on.
    pub latest_version: i32,
    #[sqlx(json)]
    pub items: Vec<Item>,
    /// Who made this version.
    pub created_by: Option<i64>,
    /// When this version was made.
    pub created_at: DateTime<Utc>,
}

impl Audited for Checklist {
    const ENTITY: EntityType = EntityType::Checklist;
    fn id(&self) -> i64 {
        self.id
    }
}

/// A checklist in a list: its latest version, without the items.
#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct ChecklistSummary {
    pub id: i64,
    pub name: String,
    /// The latest version.
    pub version: i32,
    pub item_count: i32,
    /// Who created the checklist (version 1).
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    /// When the latest version was made.
    pub updated_at: DateTime<Utc>,
}

/// Create body, and update body where an absent field keeps the latest version's value.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChecklistBody {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    name: Option<String>,
    /// The whole list (an update replaces it): 1–200 items with distinct keys.
    #[schema(min_items = 1, max_items = 200)]
    items: Option<Vec<ItemBody>>,
}

nexus_shared::create_body! {
    /// What creates a checklist.
    pub struct NewChecklistBody(ChecklistBody) requires ["name", "items"];
}

/// A checklist's fields, all valid.
#[derive(Debug, Clone)]
pub struct Draft {
    pub name: String,
    pub items: Vec<Item>,
}

impl Draft {
    /// The new version: `body` over `latest` (None when creating, where both fields are required).
    pub fn parse(body: ChecklistBody, latest: Option<&Checklist>) -> Result<Draft, ApiError> {
        let mut v = Validator::new();
        let name = match body.name {
            Some(name) => v.field("name", validate::line(name, 1, 200)),
            None => v.required("name", latest.map(|c| c.name.clone())),
        };
        let items = match body.items {
            Some(items) => match parse_items("items", items) {
                Ok(items) => Some(items),
                Err(errors) => {
                    errors.into_iter().for_each(|e| v.error(&e.field, e.message));
                    None
                }
            },
            None => v.required("items", latest.map(|c| c.items.clone())),
        };
        match (name, items) {
            (Some(name), Some(items)) if v.is_valid() => Ok(Draft { name, items }),
            _ => Err(v.into_error()),
        }
    }
}

pub const SORTS: [SortKey; 2] = [
    SortKey { name: "name", column: "c.name", cast: "text" },
    SortKey { name: "created_at", column: "c.created_at", cast: "timestamptz" },
];

pub async fn list(pool: &PgPool, q: Option<&str>, page: &PageRequest) -> ApiResult<Page<ChecklistSummary>> {
    let mut qb = page.query(
        "c.id, c.name, c.version, jsonb_array_length(v.items) AS item_count, c.created_by, c.created_at, c.updated_at",
        "checklists c JOIN checklist_versions v ON v.checklist_id = c.id AND v.version = c.version",
    );
    if let Some(q) = q {
        qb.push(" AND c.name ILIKE ").push_bind(like_pattern(q));
    }
    page.fetch(qb, pool).await
}

/// The checklist at `version` (None: its latest); with `Lock::ForUpdate` the checklist's row
/// stays locked, so versions are made one at a time.
pub async fn find(conn: &mut PgConnection, id: i64, version: Option<i32>, lock: Lock) -> ApiResult<Option<Checklist>> {
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(
        "SELECT c.id, v.name, v.version, c.version AS latest_version, v.items, v.created_by, v.created_at
         FROM checklists c JOIN checklist_versions v ON v.checklist_id = c.id AND v.version = COALESCE(",
    );
    qb.push_bind(version).push("::integer, c.version) WHERE c.id = ").push_bind(id);
    if lock == Lock::ForUpdate {
        qb.push(" FOR UPDATE OF c");
    }
    Ok(qb.build_query_as().fetch_optional(conn).await?)
}

/// Creates a checklist (`id` None) at version 1, or gives it its next version.
pub async fn save(conn: &mut PgConnection, id: Option<i64>, draft: &Draft, actor: &Actor) -> ApiResult<Checklist> {
    let (id, version): (i64, i32) = match id {
        None => {
            sqlx::query_as("INSERT INTO checklists (name, created_by) VALUES ($1, $2) RETURNING id, version")
                .bind(&draft.name)
                .bind(actor.user_id)
                .fetch_one(&mut *conn)
                .await?
        }
        Some(id) => {
            sqlx::query_as("UPDATE checklists SET name = $2, version = version + 1 WHERE id = $1 RETURNING id, version")
                .bind(id)
                .bind(&draft.name)
                .fetch_one(&mut *conn)
                .await?
        }
    };
    let items = serde_json::to_value(&draft.items).map_err(ApiError::internal)?;
    sqlx::query(
        "INSERT INTO checklist_versions (checklist_id, version, name, items, created_by) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(version)
    .bind(&draft.name)
    .bind(items)
    .bind(actor.user_id)
    .execute(&mut *conn)
    .await?;
    find(conn, id, None, Lock::None).await?.ok_or_else(|| ApiError::internal("checklist vanished after save"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: serde_json::Value, latest: Option<&Checklist>) -> Result<Draft, ApiError> {
        Draft::parse(serde_json::from_value(body).unwrap(), latest)
    }

    #[test]
    fn the_document_requires_what_parse_requires() {
        use nexus_testkit::schema::{fields_in, required_fields};
        let missing = fields_in(Draft::parse(ChecklistBody::default(), None).unwrap_err());
        assert_eq!(required_fields(<NewChecklistBody as utoipa::PartialSchema>::schema()), missing);
    }

    #[test]
    fn an_update_keeps_what_it_does_not_send_and_names_each_mistake() {
        let items = json!([{"key": "door", "label": "Door closed", "type": "check", "required": true}]);
        let created = parse(json!({"name": " Monthly ", "items": items}), None).unwrap();
        assert_eq!(created.name, "Monthly");
        let latest = Checklist {
            id: 1,
            name: created.name.clone(),
            version: 1,
            latest_version: 1,
            items: created.items.clone(),
            created_by: None,
            created_at: Utc::now(),
        };
        let renamed = parse(json!({"name": "Quarterly"}), Some(&latest)).unwrap();
        assert_eq!((renamed.name.as_str(), renamed.items), ("Quarterly", created.items));
        let bad = parse(
            json!({"name": "", "items": [{"key": "a", "label": "A", "type": "text", "required": true, "min": 1}]}),
            Some(&latest),
        );
        assert_eq!(nexus_testkit::schema::fields_in(bad.unwrap_err()), ["name", "items[0].min"]);
    }
}
