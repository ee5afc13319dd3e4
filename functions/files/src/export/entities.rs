//! What each exportable list writes: its filters (the list's own query parameters), the
//! SELECT, the order and the row writer. These repeat the list crates' CSV exports (tickets
//! `export.rs`, locations and assets `csv.rs`) column for column — `files` must not link those
//! crates — and `tests/exports.rs` holds every file to the list export's bytes for the same
//! filters, so the two cannot drift apart unnoticed. The ticket filters are the shared
//! [`TicketQuery`] itself.

use nexus_shared::db::like_pattern;
use nexus_shared::pagination::{PageParams, PageRequest, SortKey, Sorting};
use nexus_shared::ticket::{TicketQuery, Visibility};
use nexus_shared::{ApiError, ApiResult, validate};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sqlx::{Postgres, QueryBuilder};

nexus_shared::text_enum! {
    /// Which list to export.
    pub enum ExportEntity {
        Tickets = "tickets",
        Locations = "locations",
        Assets = "assets",
    }
}

/// The filters as the list's query string carries them: `{"status": "open,assigned",
/// "location_id": 3}` reads as `?status=open,assigned&location_id=3` (numbers and booleans
/// as their text, `null` as absent). A key the list does not take is 422, not ignored.
pub fn parse<T: DeserializeOwned>(
    filters: &serde_json::Map<String, serde_json::Value>,
    known: &[&str],
) -> ApiResult<T> {
    let mut pairs = Vec::new();
    for (name, value) in filters {
        if !known.contains(&name.as_str()) {
            return Err(ApiError::validation(
                format!("filters.{name}"),
                format!("is not a filter of this list (one of {})", known.join(", ")),
            ));
        }
        let text = match value {
            serde_json::Value::Null => continue,
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            _ => return Err(ApiError::validation(format!("filters.{name}"), "must be a string, number or boolean")),
        };
        pairs.push((name.clone(), text));
    }
    let query = serde_urlencoded::to_string(&pairs).map_err(ApiError::internal)?;
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let field = if field == "." || field.is_empty() { "filters".to_string() } else { format!("filters.{field}") };
        ApiError::validation(field, e.inner().to_string())
    })
}

/// The list's `sort`, as the list validates it; every row, up to `max_rows + 1` (one more
/// tells that the cap was passed).
fn order<S: Sorting>(sort: Option<String>, max_rows: i64) -> ApiResult<PageRequest> {
    let mut params = PageParams::<S>::default();
    params.sort = sort;
    let mut order = params.resolve()?;
    order.limit = max_rows;
    Ok(order)
}

/// One export: the header, the statement (filters, order, LIMIT), and what narrows it.
pub struct Plan {
    pub columns: &'static [&'static str],
    pub query: QueryBuilder<Postgres>,
    pub narrow_with: &'static str,
}

// ---------------------------------------------------------------- tickets

pub const TICKET_COLUMNS: &[&str] = nexus_shared::ticket::EXPORT_COLUMNS;

const TICKET_FILTERS: &[&str] = &[
    "status",
    "priority",
    "ticket_type",
    "assigned_to",
    "location_id",
    "asset_id",
    "region",
    "breached",
    "due_before",
    "scheduled_before",
    "sort",
];

struct TicketSorting;
impl Sorting for TicketSorting {
    const KEYS: &'static [SortKey] = &[
        SortKey { name: "created_at", column: "t.created_at", cast: "timestamptz" },
        SortKey { name: "resolution_due_at", column: "t.resolution_due_at", cast: "timestamptz" },
    ];
    const DEFAULT: &'static str = "-created_at";
    const ID_COLUMN: &'static str = "t.id";
}

#[derive(Deserialize)]
struct Sort {
    sort: Option<String>,
}

pub fn tickets(
    filters: &serde_json::Map<String, serde_json::Value>,
    visibility: Visibility,
    max_rows: i64,
) -> ApiResult<Plan> {
    let query: TicketQuery = parse(filters, TICKET_FILTERS)?;
    let Sort { sort } = parse(filters, TICKET_FILTERS)?;
    let filter = query.parse()?;
    let order = order::<TicketSorting>(sort, max_rows)?;
    let mut qb = QueryBuilder::new(nexus_shared::ticket::export::EXPORT_SELECT);
    filter.push(&mut qb, visibility);
    order.push_order_limit(&mut qb);
    Ok(Plan {
        columns: TICKET_COLUMNS,
        query: qb,
        narrow_with: "status, priority, ticket_type, region, location_id, asset_id, assigned_to, breached, due_before \
                      or scheduled_before",
    })
}

// ---------------------------------------------------------------- locations

pub const LOCATION_COLUMNS: &[&str] =
    &["code", "name", "address", "latitude", "longitude", "timezone", "region", "geofence_m"];

struct LocationSorting;
impl Sorting for LocationSorting {
    const KEYS: &'static [SortKey] = &[
        SortKey { name: "code", column: "code", cast: "text" },
        SortKey { name: "name", column: "name", cast: "text" },
        SortKey { name: "created_at", column: "created_at", cast: "timestamptz" },
    ];
    const DEFAULT: &'static str = "code";
    const ID_COLUMN: &'static str = "id";
}

#[derive(Deserialize)]
struct LocationFilters {
    q: Option<String>,
    region: Option<String>,
    sort: Option<String>,
}

pub fn locations(filters: &serde_json::Map<String, serde_json::Value>, max_rows: i64) -> ApiResult<Plan> {
    let f: LocationFilters = parse(filters, &["q", "region", "sort"])?;
    let (q, region) = (validate::query_text("q", f.q)?, validate::query_text("region", f.region)?);
    let order = order::<LocationSorting>(f.sort, max_rows)?;
    let mut qb = QueryBuilder::new(format!("SELECT {} FROM locations WHERE true", nexus_shared::location::COLUMNS));
    if let Some(q) = q {
        qb.push(" AND (code || ' ' || name) ILIKE ").push_bind(like_pattern(&q));
    }
    if let Some(region) = region {
        qb.push(" AND region = ").push_bind(region);
    }
    order.push_order_limit(&mut qb);
    Ok(Plan { columns: LOCATION_COLUMNS, query: qb, narrow_with: "region or q" })
}

// ---------------------------------------------------------------- assets

pub const ASSET_COLUMNS: &[&str] = &["tag", "location_code", "name", "category", "purchase_date", "status"];

struct AssetSorting;
impl Sorting for AssetSorting {
    const KEYS: &'static [SortKey] = &[
        SortKey { name: "tag", column: "tag", cast: "text" },
        SortKey { name: "name", column: "name", cast: "text" },
        SortKey { name: "created_at", column: "created_at", cast: "timestamptz" },
    ];
    const DEFAULT: &'static str = "tag";
    const ID_COLUMN: &'static str = "id";
}

nexus_shared::text_enum! {
    pub enum AssetStatus {
        Active = "active",
        Inactive = "inactive",
        Decommissioned = "decommissioned",
    }
}

#[derive(Deserialize)]
struct AssetFilters {
    location_id: Option<i64>,
    status: Option<AssetStatus>,
    category: Option<String>,
    q: Option<String>,
    sort: Option<String>,
}

pub fn assets(filters: &serde_json::Map<String, serde_json::Value>, max_rows: i64) -> ApiResult<Plan> {
    let f: AssetFilters = parse(filters, &["location_id", "status", "category", "q", "sort"])?;
    let (category, q) = (validate::query_text("category", f.category)?, validate::query_text("q", f.q)?);
    let order = order::<AssetSorting>(f.sort, max_rows)?;
    let mut qb = QueryBuilder::new(format!(
        "SELECT {}{} FROM assets WHERE true",
        nexus_shared::asset::COLUMNS,
        nexus_shared::asset::LOCATION_CODE
    ));
    if let Some(location_id) = f.location_id {
        qb.push(" AND location_id = ").push_bind(location_id);
    }
    if let Some(status) = f.status {
        qb.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(category) = category {
        qb.push(" AND category = ").push_bind(category);
    }
    if let Some(q) = q {
        qb.push(" AND (tag || ' ' || name) ILIKE ").push_bind(like_pattern(&q));
    }
    order.push_order_limit(&mut qb);
    Ok(Plan { columns: ASSET_COLUMNS, query: qb, narrow_with: "location_id, status, category or q" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn filters_read_as_the_list_query_string() {
        let q: TicketQuery = parse(
            &map(json!({"status": "open, assigned", "location_id": 3, "breached": true, "region": null})),
            TICKET_FILTERS,
        )
        .unwrap();
        let f = q.parse().unwrap();
        assert_eq!((f.statuses.len(), f.location_id, f.breached, f.region), (2, Some(3), Some(true), None));
        let typo = parse::<TicketQuery>(&map(json!({"staus": "open"})), TICKET_FILTERS).unwrap_err();
        assert!(format!("{typo:?}").contains("filters.staus"));
        let bad = parse::<TicketQuery>(&map(json!({"location_id": "three"})), TICKET_FILTERS).unwrap_err();
        assert!(format!("{bad:?}").contains("filters.location_id"), "{bad:?}");
        let nested = parse::<TicketQuery>(&map(json!({"status": ["open"]})), TICKET_FILTERS).unwrap_err();
        assert!(format!("{nested:?}").contains("filters.status"));
        assert!(locations(&map(json!({"sort": "nope"})), 10).is_err());
        assert!(assets(&map(json!({"status": "broken"})), 10).is_err());
    }
}
