//! The assets table.

use nexus_shared::ApiError;
use nexus_shared::csv::CsvBody;
use nexus_shared::db::{self, Lock, like_pattern};
use nexus_shared::error::ResultExt;
use nexus_shared::pagination::{Page, PageRequest, SortKey};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

use nexus_shared::asset::{Asset, AssetDraft, AssetStatus, COLUMNS};

pub const SORTS: [SortKey; 3] = [
    SortKey { name: "tag", column: "tag", cast: "text" },
    SortKey { name: "name", column: "name", cast: "text" },
    SortKey { name: "created_at", column: "created_at", cast: "timestamptz" },
];

pub struct Filter {
    pub location_id: Option<i64>,
    pub status: Option<AssetStatus>,
    pub category: Option<String>,
    pub q: Option<String>,
}

pub async fn list(pool: &PgPool, filter: &Filter, page: &PageRequest) -> Result<Page<Asset>, ApiError> {
    page.fetch(filtered(COLUMNS, filter, page), pool).await
}

/// Every asset the filter matches, in the list's order, as CSV (up to the cap).
pub async fn export(pool: &PgPool, filter: &Filter, order: &PageRequest) -> Result<CsvBody, ApiError> {
    let mut qb = filtered(&format!("{COLUMNS}{}", nexus_shared::asset::LOCATION_CODE), filter, order);
    order.push_order_limit(&mut qb);
    crate::csv::EXPORT.run(pool, qb, nexus_shared::asset::write_csv).await
}

fn filtered(columns: &str, filter: &Filter, page: &PageRequest) -> QueryBuilder<Postgres> {
    let mut qb = page.query(columns, "assets");
    if let Some(location_id) = filter.location_id {
        qb.push(" AND location_id = ").push_bind(location_id);
    }
    if let Some(status) = filter.status {
        qb.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(category) = &filter.category {
        qb.push(" AND category = ").push_bind(category.clone());
    }
    if let Some(q) = &filter.q {
        // Matches the trigram index assets_search_idx.
        qb.push(" AND (tag || ' ' || name) ILIKE ").push_bind(like_pattern(q));
    }
    qb
}

pub async fn find(conn: &mut PgConnection, id: i64, lock: Lock) -> Result<Option<Asset>, ApiError> {
    db::fetch_by_id(conn, COLUMNS, "assets", id, lock).await
}

/// Inserts (`id` None) or rewrites (`id` Some) an asset; a duplicate tag is 409 and an unknown
/// location 422.
pub async fn save(conn: &mut PgConnection, id: Option<i64>, draft: &AssetDraft) -> Result<Asset, ApiError> {
    let sql = match id {
        None => format!(
            "INSERT INTO assets (location_id, tag, name, category, purchase_date, status)
             VALUES ($2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
        ),
        Some(_) => format!(
            "UPDATE assets SET location_id = $2, tag = $3, name = $4, category = $5, purchase_date = $6, status = $7
             WHERE id = $1 RETURNING {COLUMNS}"
        ),
    };
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(draft.location_id)
        .bind(&draft.tag)
        .bind(&draft.name)
        .bind(&draft.category)
        .bind(draft.purchase_date)
        .bind(draft.status.as_str())
        .fetch_one(conn)
        .await
        .on_constraint("assets_tag_key", |_| {
            ApiError::Conflict(format!("An asset with tag {} already exists.", draft.tag))
        })
        .on_constraint("assets_location_id_fkey", |_| ApiError::validation("location_id", "no such location"))
}
