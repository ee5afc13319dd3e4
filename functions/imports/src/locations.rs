//! Sites from a file: each row is a `LocationBody` (the body of POST and PUT
//! /api/locations), merged onto the stored site of its code as PUT merges it, and parsed by the
//! same `LocationDraft::parse`; then all of them upserted in one statement.

use std::collections::HashMap;

use nexus_shared::ApiError;
use nexus_shared::audit::{self, Actor};
use nexus_shared::db::{self, Lock};
use nexus_shared::location::{COLUMNS as COLUMNS_SQL, CSV_COLUMNS, Location, LocationBody, LocationDraft};
use sqlx::{FromRow, PgConnection};

use crate::file::{Cells, Checked, Columns, File, Row, number, refuse_repeated_keys, refused, whole};

/// A new site cannot do without its code and name, so a file must have both columns.
pub const COLUMNS: Columns = Columns { names: &CSV_COLUMNS, required: &["code", "name"] };

pub type CheckedLocations = Checked<LocationDraft, Location>;

/// A row as the JSON body would carry it. An empty cell is no value: it clears an optional field
/// (address, coordinates, region) and is refused for the others; an absent column is an absent
/// field (the stored value kept on update, the default on insert).
fn body_of(cells: &mut Cells) -> LocationBody {
    let latitude = cells.typed(3, "latitude", number);
    let longitude = cells.typed(4, "longitude", number);
    let geofence_m = cells.typed(7, "geofence_m", whole);
    LocationBody {
        code: cells.text(0),
        name: cells.text(1),
        address: cells.text(2).map(Some),
        latitude,
        longitude,
        // Empty is passed on as "" (refused by the parse as not a zone name), not as the default.
        timezone: cells.text(5).map(Some),
        region: cells.text(6).map(Some),
        geofence_m: cells.required("geofence_m", geofence_m),
    }
}

/// Checks every row against the stored sites (locked when `for_update`, as an apply does).
pub async fn check(conn: &mut PgConnection, file: File<'_>, for_update: bool) -> Result<CheckedLocations, ApiError> {
    let mut errors = file.errors;
    let rows: Vec<Row> = refuse_repeated_keys(file.valid_width, "code", &mut errors);
    let keys: Vec<&str> = rows.iter().map(Row::key).filter(|k| !k.is_empty()).collect();
    let lock = if for_update { Lock::ForUpdate } else { Lock::None };
    let stored: Vec<Location> = db::fetch_by_keys(&mut *conn, COLUMNS_SQL, "locations", "code", &keys, lock).await?;
    let stored: HashMap<String, Location> = stored.into_iter().map(|l| (l.code.clone(), l)).collect();
    let mut checked = Checked::new(file.rows, errors, stored);
    for row in &rows {
        let mut cells = Cells::new(row);
        let body = body_of(&mut cells);
        let before = checked.stored.get(row.key());
        let body = match before {
            Some(before) => body.merged_onto(before),
            None => body,
        };
        match LocationDraft::parse(body) {
            Ok(draft) if cells.errors.is_empty() => {
                let before = before.cloned();
                checked.count(draft, before.as_ref(), same);
            }
            Ok(_) => {}
            Err(refusal) => refused(row.number, refusal, &cells.unreadable, &mut cells.errors),
        }
        checked.errors.append(&mut cells.errors);
    }
    Ok(checked.finish())
}

/// Whether applying `draft` would leave the stored site as it is (what the upsert's
/// `IS DISTINCT FROM` decides in the database).
fn same(draft: &LocationDraft, stored: &Location) -> bool {
    draft.code == stored.code
        && draft.name == stored.name
        && draft.address == stored.address
        && draft.coordinates == stored.latitude.zip(stored.longitude)
        && draft.timezone == stored.timezone
        && draft.region == stored.region
        && draft.geofence_m == stored.geofence_m
}

#[derive(FromRow)]
struct Written {
    #[sqlx(flatten)]
    location: Location,
    inserted: bool,
}

/// Upserts every valid row in one statement (a row whose values are all stored already is left
/// alone, so it gets no new `updated_at` and no audit row), then one audit row per site created
/// or changed. Answers (inserted, updated).
pub async fn apply(
    conn: &mut PgConnection,
    checked: &CheckedLocations,
    actor: &Actor,
) -> Result<(usize, usize), ApiError> {
    let n = checked.drafts.len();
    let (mut code, mut name, mut address, mut latitude, mut longitude, mut timezone, mut region, mut geofence_m) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for d in &checked.drafts {
        code.push(d.code.as_str());
        name.push(d.name.as_str());
        address.push(d.address.as_deref());
        latitude.push(d.coordinates.map(|c| c.0));
        longitude.push(d.coordinates.map(|c| c.1));
        timezone.push(d.timezone.as_str());
        region.push(d.region.as_deref());
        geofence_m.push(d.geofence_m);
    }
    let started = std::time::Instant::now();
    let written: Vec<Written> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO locations AS l (code, name, address, latitude, longitude, timezone, region, geofence_m)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::float8[], $6::text[], $7::text[], $8::int4[])
         ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, address = EXCLUDED.address, latitude = EXCLUDED.latitude,
             longitude = EXCLUDED.longitude, timezone = EXCLUDED.timezone, region = EXCLUDED.region,
             geofence_m = EXCLUDED.geofence_m
         WHERE (l.name, l.address, l.latitude, l.longitude, l.timezone, l.region, l.geofence_m)
             IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.address, EXCLUDED.latitude, EXCLUDED.longitude, EXCLUDED.timezone,
                               EXCLUDED.region, EXCLUDED.geofence_m)
         RETURNING {}, (xmax = 0) AS inserted",
        COLUMNS_SQL.split(", ").map(|c| format!("l.{c}")).collect::<Vec<_>>().join(", ")
    )))
    .bind(code)
    .bind(name)
    .bind(address)
    .bind(latitude)
    .bind(longitude)
    .bind(timezone)
    .bind(region)
    .bind(geofence_m)
    .fetch_all(&mut *conn)
    .await?;
    let upserted = started.elapsed();
    let inserted = written.iter().filter(|w| w.inserted).count();
    let changes =
        written.iter().map(|w| ((!w.inserted).then(|| checked.stored.get(&w.location.code)).flatten(), &w.location));
    audit::record_all(conn, actor, changes).await?;
    let upsert_ms = upserted.as_millis() as u64;
    let audit_ms = (started.elapsed() - upserted).as_millis() as u64;
    tracing::info!(upsert_ms, audit_ms, rows = n, "import written");
    Ok((inserted, written.len() - inserted))
}
