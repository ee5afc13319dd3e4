//! Devices from a file: each row is an `AssetBody` (the body of POST and PUT /api/assets) whose
//! site is named by its code, merged onto the stored device of its tag as PUT merges it, and
//! parsed by the same `AssetDraft` parse; then all of them upserted in one statement.
//!
//! A device file can name only sites that exist: sites are imported from their own file (first),
//! so `location_code` is looked up among the stored sites, never among rows of another file.

use std::collections::HashMap;

use chrono::NaiveDate;
use nexus_shared::ApiError;
use nexus_shared::asset::{Asset, AssetBody, AssetDraft, AssetStatus, COLUMNS as COLUMNS_SQL, CSV_COLUMNS};
use nexus_shared::audit::{self, Actor};
use nexus_shared::db::{self, Lock};
use nexus_shared::validate::Validator;
use sqlx::{FromRow, PgConnection};

use crate::file::{Cells, Checked, Columns, File, ImportErrorCode, Row, refuse_repeated_keys, refused};

/// A new device cannot do without its tag, site and name, so a file must have those columns.
pub const COLUMNS: Columns = Columns { names: &CSV_COLUMNS, required: &["tag", "location_code", "name"] };

pub type CheckedAssets = Checked<AssetDraft, Asset>;

/// A row as the JSON body would carry it (the site apart: it is named by code). An empty cell is
/// no value: it clears an optional field (category, purchase date) and is refused for the others;
/// an absent column is an absent field.
fn body_of(cells: &mut Cells) -> AssetBody {
    let purchase_date = cells.typed(4, "purchase_date", |cell| {
        NaiveDate::parse_from_str(cell, "%Y-%m-%d").map_err(|_| "must be a date, YYYY-MM-DD".into())
    });
    let status = cells.typed(5, "status", |cell| {
        AssetStatus::try_from(cell.to_string()).map_err(|_| {
            let names: Vec<&str> = AssetStatus::ALL.iter().map(|s| s.as_str()).collect();
            format!("must be one of {}", names.join(", "))
        })
    });
    AssetBody {
        location_id: None,
        tag: cells.text(0),
        name: cells.text(2),
        category: cells.text(3).map(Some),
        purchase_date,
        status: cells.required("status", status),
    }
}

/// Checks every row against the stored devices (locked when `for_update`, as an apply does) and
/// the stored sites.
pub async fn check(conn: &mut PgConnection, file: File<'_>, for_update: bool) -> Result<CheckedAssets, ApiError> {
    let mut errors = file.errors;
    let rows: Vec<Row> = refuse_repeated_keys(file.valid_width, "tag", &mut errors);
    let tags: Vec<&str> = rows.iter().map(Row::key).filter(|k| !k.is_empty()).collect();
    let lock = if for_update { Lock::ForUpdate } else { Lock::None };
    let stored: Vec<Asset> = db::fetch_by_keys(&mut *conn, COLUMNS_SQL, "assets", "tag", &tags, lock).await?;
    let stored: HashMap<String, Asset> = stored.into_iter().map(|a| (a.tag.clone(), a)).collect();
    let mut codes: Vec<&str> = rows.iter().filter_map(|r| r.text(1)).map(str::trim).collect();
    codes.sort_unstable();
    codes.dedup();
    let sites: Vec<(String, i64)> = sqlx::query_as("SELECT code, id FROM locations WHERE code = ANY($1)")
        .bind(&codes)
        .fetch_all(&mut *conn)
        .await?;
    let sites: HashMap<String, i64> = sites.into_iter().collect();

    let mut checked = Checked::new(file.rows, errors, stored);
    for row in &rows {
        let mut cells = Cells::new(row);
        let body = body_of(&mut cells);
        let before = checked.stored.get(row.key());
        let body = match before {
            Some(before) => body.merged_onto(before),
            None => body,
        };
        let mut v = Validator::new();
        let code = row.text(1).map(str::trim).unwrap_or("");
        let location_id = match sites.get(code) {
            Some(id) => Some(*id),
            None if code.is_empty() => {
                v.error("location_code", "must not be empty");
                None
            }
            None => {
                v.error(
                    "location_code",
                    format!("names no site: no location has code {code} (import the sites first)"),
                );
                None
            }
        };
        let unknown_site = location_id.is_none() && !code.is_empty();
        let found = cells.errors.len();
        match AssetDraft::parse_located(v, location_id, body) {
            Ok(draft) if cells.errors.is_empty() => {
                let before = before.cloned();
                checked.count(draft, before.as_ref(), same);
            }
            Ok(_) => {}
            Err(refusal) => refused(row.number, refusal, &cells.unreadable, &mut cells.errors),
        }
        if unknown_site {
            for e in cells.errors[found..].iter_mut().filter(|e| e.column == "location_code") {
                e.code = ImportErrorCode::UnknownLocation;
            }
        }
        checked.errors.append(&mut cells.errors);
    }
    Ok(checked.finish())
}

/// Whether applying `draft` would leave the stored device as it is (what the upsert's
/// `IS DISTINCT FROM` decides in the database).
fn same(draft: &AssetDraft, stored: &Asset) -> bool {
    draft.location_id == stored.location_id
        && draft.tag == stored.tag
        && draft.name == stored.name
        && draft.category == stored.category
        && draft.purchase_date == stored.purchase_date
        && draft.status == stored.status
}

#[derive(FromRow)]
struct Written {
    #[sqlx(flatten)]
    asset: Asset,
    inserted: bool,
}

/// Upserts every valid row in one statement (a row whose values are all stored already is left
/// alone: no new `updated_at`, no audit row), then one audit row per device created or changed.
/// Answers (inserted, updated).
pub async fn apply(
    conn: &mut PgConnection,
    checked: &CheckedAssets,
    actor: &Actor,
) -> Result<(usize, usize), ApiError> {
    let n = checked.drafts.len();
    let (mut location_id, mut tag, mut name, mut category, mut purchase_date, mut status) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for d in &checked.drafts {
        location_id.push(d.location_id);
        tag.push(d.tag.as_str());
        name.push(d.name.as_str());
        category.push(d.category.as_deref());
        purchase_date.push(d.purchase_date);
        status.push(d.status.as_str());
    }
    let started = std::time::Instant::now();
    let written: Vec<Written> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO assets AS a (location_id, tag, name, category, purchase_date, status)
         SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::date[], $6::text[])
         ON CONFLICT (tag) DO UPDATE SET location_id = EXCLUDED.location_id, name = EXCLUDED.name,
             category = EXCLUDED.category, purchase_date = EXCLUDED.purchase_date, status = EXCLUDED.status
         WHERE (a.location_id, a.name, a.category, a.purchase_date, a.status)
             IS DISTINCT FROM (EXCLUDED.location_id, EXCLUDED.name, EXCLUDED.category, EXCLUDED.purchase_date, EXCLUDED.status)
         RETURNING {}, (xmax = 0) AS inserted",
        COLUMNS_SQL.split(", ").map(|c| format!("a.{c}")).collect::<Vec<_>>().join(", ")
    )))
    .bind(location_id)
    .bind(tag)
    .bind(name)
    .bind(category)
    .bind(purchase_date)
    .bind(status)
    .fetch_all(&mut *conn)
    .await?;
    let upserted = started.elapsed();
    let inserted = written.iter().filter(|w| w.inserted).count();
    let changes = written.iter().map(|w| ((!w.inserted).then(|| checked.stored.get(&w.asset.tag)).flatten(), &w.asset));
    audit::record_all(conn, actor, changes).await?;
    let upsert_ms = upserted.as_millis() as u64;
    let audit_ms = (started.elapsed() - upserted).as_millis() as u64;
    tracing::info!(upsert_ms, audit_ms, rows = n, "import written");
    Ok((inserted, written.len() - inserted))
}
