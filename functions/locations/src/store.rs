//! The locations table.

use nexus_shared::ApiError;
use nexus_shared::csv::CsvBody;
use nexus_shared::db::{self, Lock, like_pattern};
use nexus_shared::error::ResultExt;
use nexus_shared::pagination::{Page, PageRequest, SortKey};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

use nexus_shared::location::{COLUMNS, Location, LocationDraft};

pub const SORTS: [SortKey; 3] = [
    SortKey { name: "code", column: "code", cast: "text" },
    SortKey { name: "name", column: "name", cast: "text" },
    SortKey { name: "created_at", column: "created_at", cast: "timestamptz" },
];

pub struct Filter {
    pub q: Option<String>,
    pub region: Option<String>,
}

pub async fn list(pool: &PgPool, filter: &Filter, page: &PageRequest) -> Result<Page<Location>, ApiError> {
    page.fetch(filtered(filter, page), pool).await
}

/// Every location the filter matches, in the list's order, as CSV (up to the cap).
pub async fn export(pool: &PgPool, filter: &Filter, order: &PageRequest) -> Result<CsvBody, ApiError> {
    let mut qb = filtered(filter, order);
    order.push_order_limit(&mut qb);
    crate::csv::EXPORT.run(pool, qb, nexus_shared::location::write_csv).await
}

fn filtered(filter: &Filter, page: &PageRequest) -> QueryBuilder<Postgres> {
    let mut qb = page.query(COLUMNS, "locations");
    if let Some(q) = &filter.q {
        // Matches the trigram index locations_search_idx.
        qb.push(" AND (code || ' ' || name) ILIKE ").push_bind(like_pattern(q));
    }
    if let Some(region) = &filter.region {
        qb.push(" AND region = ").push_bind(region.clone());
    }
    qb
}

pub async fn find(conn: &mut PgConnection, id: i64, lock: Lock) -> Result<Option<Location>, ApiError> {
    db::fetch_by_id(conn, COLUMNS, "locations", id, lock).await
}

/// Inserts (`id` None) or rewrites (`id` Some) a location; a duplicate code is 409.
pub async fn save(conn: &mut PgConnection, id: Option<i64>, draft: &LocationDraft) -> Result<Location, ApiError> {
    let sql = match id {
        None => format!(
            "INSERT INTO locations (code, name, address, latitude, longitude, timezone, region, geofence_m)
             VALUES ($2, $3, $4, $5, $6, $7, $8, $9) RETURNING {COLUMNS}"
        ),
        Some(_) => format!(
            "UPDATE locations SET code = $2, name = $3, address = $4, latitude = $5, longitude = $6, timezone = $7, region = $8,
                 geofence_m = $9
             WHERE id = $1 RETURNING {COLUMNS}"
        ),
    };
    let (latitude, longitude) = draft.coordinates.unzip();
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(&draft.code)
        .bind(&draft.name)
        .bind(&draft.address)
        .bind(latitude)
        .bind(longitude)
        .bind(&draft.timezone)
        .bind(&draft.region)
        .bind(draft.geofence_m)
        .fetch_one(conn)
        .await
        .on_constraint("locations_code_key", |_| {
            ApiError::Conflict(format!("A location with code {} already exists.", draft.code))
        })
}

/// Deletes the location; one that still has assets is refused by the foreign key (409).
pub async fn delete(conn: &mut PgConnection, id: i64) -> Result<Option<Location>, ApiError> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("DELETE FROM locations WHERE id = $1 RETURNING {COLUMNS}")))
        .bind(id)
        .fetch_optional(conn)
        .await
        .on_constraint("assets_location_id_fkey", |_| {
            ApiError::Conflict("The location still has assets; move or remove them first.".into())
        })
}
