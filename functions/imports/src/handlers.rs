use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use nexus_shared::audit::Actor;
use nexus_shared::auth::{Auth, Staff};
use nexus_shared::extract::{Path, Query};
use nexus_shared::pagination::{Page, PageParams, SortKey, Sorting};
use nexus_shared::{ApiError, ApiResult, AppState};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::file::{self, File, ImportRowError};
use crate::report::{self, ImportEntity, ImportReport, ImportSummary, Outcome};
use crate::{assets, locations};

/// The largest file: 4 MiB. API Gateway hands Lambda the body inside a JSON event (at most 6 MB),
/// where a quote or a line end takes two bytes; [`MAX_EVENT_BYTES`] is checked too.
pub const MAX_BYTES: usize = 4 * 1024 * 1024;

/// The most the body may weigh as a JSON string inside the Lambda event, leaving room under
/// Lambda's 6 MB for the event's other members.
pub const MAX_EVENT_BYTES: usize = 5_800_000;

/// How long a clean dry run's checksum may be applied.
const CHECKSUM_TTL_HOURS: i64 = 24;

/// The header that names the clean dry run an apply follows.
pub const CHECKSUM_HEADER: &str = "x-import-checksum";

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// What the file holds.
    entity: ImportEntity,
    /// `true` (default): check and count, write nothing. `false`: apply, with the checksum of a
    /// clean dry run of the same bytes in `X-Import-Checksum`.
    dry_run: Option<bool>,
}

/// The request body: a CSV file (`text/csv`), UTF-8 with or without a BOM, up to 4 MiB.
pub struct CsvFile(Bytes);

impl PartialSchema for CsvFile {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(MAX_BYTES))
            .description(Some("The CSV file: a header row, then one row per site or device."))
            .into()
    }
}

impl ToSchema for CsvFile {}

impl<S: Send + Sync> FromRequest<S> for CsvFile {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let mime = content_type.split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("text/csv") {
            return Err(ApiError::ExpectedMediaType("text/csv"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest("the request body could not be read".into())
            }
        })?;
        if nexus_shared::csv::json_weight(&bytes) > MAX_EVENT_BYTES {
            return Err(ApiError::PayloadTooLarge);
        }
        Ok(CsvFile(bytes))
    }
}

/// A rejected file: the validation problem (`errors` as `{field: "row 12: latitude", message}`)
/// with the import's report as `report`. A request refused before its file is read (a bad query
/// parameter, a missing or malformed `X-Import-Checksum`) is the plain problem, without `report`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ImportProblem {
    #[schema(rename = "type")]
    problem_type: String,
    title: String,
    status: u16,
    detail: String,
    errors: Vec<nexus_shared::error::FieldError>,
    report: Option<ImportReport>,
}

/// Checks a CSV file of sites or devices and, when told, applies it (admins and supervisors).
///
/// **Dry run** (`dry_run=true`, the default): every row is checked as the single-row endpoints
/// check it (`POST`/`PUT /api/locations`, `/api/assets`: the same parse), against what is stored,
/// and counted as it would be applied; nothing is written but the report. A clean file answers
/// 200 with its `checksum`; a file with errors answers 422 with the report.
///
/// **Apply** (`dry_run=false`): send the same bytes with `X-Import-Checksum: <checksum>` of a clean
/// dry run of them (same entity) from the last 24 hours. The file is checked again, then written
/// in one transaction, all or nothing, with one audit row per site or device created or changed,
/// and answers 201. Applying a file again changes nothing (`unchanged` = `rows`).
///
/// **The file**: UTF-8 (a BOM or none), RFC 4180 (`,` separated, fields quoted with `"` when
/// they hold `,`, `"` or line breaks), a header row naming the columns in any order. Sites:
/// `code,name,address,latitude,longitude,timezone,region,geofence_m` (`code` and `name`
/// required); devices: `tag,location_code,name,category,purchase_date,status` (`tag`,
/// `location_code` and `name` required) — the columns the CSV exports of `GET /api/locations` and
/// `GET /api/assets` write, so an export imports back; its `id`, `created_at` and `updated_at`
/// columns are ignored. Rows are matched by `code` (sites) and `tag` (devices): a new key
/// inserts, a known one updates. A column left out keeps each stored value (the default for a
/// new row); an empty cell clears an optional value (address, coordinates, region, category,
/// purchase date) and is refused for the others. A leading `'` (the export's guard against
/// spreadsheet formulas) is removed from text cells. A device names its site by `location_code`,
/// which must be a stored site (import sites first, from their own file).
///
/// **Errors** (`{row, column, code, message}`, the header being row 1): `encoding`, `malformed`,
/// `missing_column`, `unknown_column`, `duplicate_column`, `field_count`, `duplicate_key`,
/// `unknown_location`, `invalid` (with the single-row endpoint's message). Every error is
/// found; the report holds the first 1,000 and `GET /api/imports/{id}/errors` all of them.
#[utoipa::path(post, path = "/api/imports", tag = "imports", security(("bearer" = [])),
    params(ImportQuery,
           ("X-Import-Checksum" = Option<String>, Header, max_length = 64, pattern = "^[0-9a-fA-F]{64}$",
            description = "Apply only: the `checksum` of a clean dry run of these bytes from the last 24 hours")),
    request_body(content = CsvFile, content_type = "text/csv"),
    responses((status = 200, description = "Dry run of a clean file: what applying it would do", body = ImportReport),
              (status = 201, description = "Applied: the file's rows written", body = ImportReport),
              (status = 409, description = "Apply: the checksum is not that of a clean dry run of these bytes for this entity in the last 24 hours", body = nexus_shared::error::Problem),
              (status = 413, description = "A file over 4 MiB", body = nexus_shared::error::Problem),
              (status = 415, description = "A body that is not `text/csv`", body = nexus_shared::error::Problem),
              (status = 422, description = "Rows with errors (nothing written; the report as `report`), or a missing or malformed `X-Import-Checksum` on an apply",
               content_type = "application/problem+json", body = ImportProblem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Auth<Staff>,
    Query(query): Query<ImportQuery>,
    headers: HeaderMap,
    CsvFile(bytes): CsvFile,
) -> ApiResult<Response> {
    let dry_run = query.dry_run.unwrap_or(true);
    let claimed = claimed_checksum(&headers, dry_run)?;
    let checksum: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    let actor = caller.actor();
    let outcome = |rows, counts: (usize, usize, usize), errors| Outcome {
        entity: query.entity,
        dry_run,
        checksum: checksum.clone(),
        rows,
        inserted: counts.0,
        updated: counts.1,
        unchanged: counts.2,
        errors,
    };
    let text = match file::decode(&bytes) {
        Ok(text) => text,
        Err(error) => {
            let report =
                report::save(&mut *state.pool.acquire().await?, &actor, outcome(0, (0, 0, 0), vec![error])).await?;
            return Ok(rejected(report));
        }
    };
    let columns = match query.entity {
        ImportEntity::Locations => &locations::COLUMNS,
        ImportEntity::Assets => &assets::COLUMNS,
    };
    let file = file::read(text, columns);

    if dry_run {
        let mut conn = state.pool.acquire().await?;
        let checked = Checked::of(&mut conn, query.entity, file, false).await?;
        let (rows, counts, errors) = checked.parts();
        let clean = errors.is_empty();
        let report = report::save(&mut conn, &actor, outcome(rows, counts, errors)).await?;
        return Ok(if clean { (StatusCode::OK, axum::Json(report)).into_response() } else { rejected(report) });
    }

    // An apply names a clean dry run of these bytes for this entity (409 otherwise: which bytes
    // and which entity are the first facts about the request), then the file is checked again
    // inside its transaction, the stored rows it changes locked, so what is written is what was
    // checked now (the data may have moved since the dry run: a 422 report then).
    check_dry_run(&mut *state.pool.acquire().await?, claimed.as_deref(), &checksum, query.entity).await?;
    let started = std::time::Instant::now();
    let mut tx = state.pool.begin().await?;
    let checked = Checked::of(&mut tx, query.entity, file, true).await?;
    let check_ms = started.elapsed().as_millis() as u64;
    if checked.has_errors() {
        tx.rollback().await?;
        let (rows, counts, errors) = checked.parts();
        let report = report::save(&mut *state.pool.acquire().await?, &actor, outcome(rows, counts, errors)).await?;
        return Ok(rejected(report));
    }
    let (inserted, updated) = checked.apply(&mut tx, &actor).await?;
    let rows = checked.rows();
    let report =
        report::save(&mut tx, &actor, outcome(rows, (inserted, updated, rows - inserted - updated), Vec::new()))
            .await?;
    tx.commit().await?;
    let total_ms = started.elapsed().as_millis() as u64;
    tracing::info!(import_id = report.summary.import_id, entity = %query.entity, rows, inserted, updated, check_ms, total_ms, "import applied");
    Ok((StatusCode::CREATED, axum::Json(report)).into_response())
}

/// `X-Import-Checksum`: required to apply, 64 hex digits whenever sent (lowercased).
fn claimed_checksum(headers: &HeaderMap, dry_run: bool) -> ApiResult<Option<String>> {
    let refuse = |message: &str| ApiError::validation("X-Import-Checksum", message);
    match headers.get(CHECKSUM_HEADER) {
        None if dry_run => Ok(None),
        None => Err(refuse(
            "is required to apply: the checksum of a clean dry run of this file (POST with dry_run=true first)",
        )),
        Some(value) => {
            let value = value.to_str().unwrap_or("").trim();
            if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
                Ok(Some(value.to_ascii_lowercase()))
            } else {
                Err(refuse("must be the 64 hexadecimal digits of a dry run's checksum (SHA-256)"))
            }
        }
    }
}

/// An apply must follow a clean dry run of the same bytes for the same entity, less than 24 hours
/// old: anything else is 409, saying which.
async fn check_dry_run(
    conn: &mut PgConnection,
    claimed: Option<&str>,
    checksum: &str,
    entity: ImportEntity,
) -> ApiResult<()> {
    let Some(claimed) = claimed else {
        return Err(ApiError::validation("X-Import-Checksum", "is required to apply"));
    };
    if claimed != checksum {
        return Err(ApiError::Conflict(
            "X-Import-Checksum is not the checksum of this file: send the bytes that were dry-run, or dry-run these"
                .into(),
        ));
    }
    let runs = report::clean_dry_runs(conn, checksum).await?;
    let latest = runs.iter().find(|(e, _)| *e == entity).map(|(_, at)| *at);
    match latest {
        Some(at) if Utc::now() - at < chrono::Duration::hours(CHECKSUM_TTL_HOURS) => Ok(()),
        Some(_) => Err(ApiError::Conflict(format!(
            "The dry run of this file is more than {CHECKSUM_TTL_HOURS} hours old: dry-run it again (dry_run=true) and apply with the new checksum."
        ))),
        None => Err(ApiError::Conflict(match runs.first() {
            Some((other, _)) => {
                format!("This file was dry-run as {other}, not {entity}: dry-run it as {entity} first.")
            }
            None => {
                "No clean dry run of this file: POST it with dry_run=true first, then apply with its checksum.".into()
            }
        })),
    }
}

/// A report with errors, as a 422 problem: `errors` as `row N: column`, the report as `report`.
fn rejected(report: ImportReport) -> Response {
    let s = &report.summary;
    let detail = format!(
        "{} error{} in the file; nothing was written.{}",
        s.error_count,
        if s.error_count == 1 { "" } else { "s" },
        if report.errors_truncated {
            format!(" The first {} are listed; all at /api/imports/{}/errors.", report.errors.len(), s.import_id)
        } else {
            String::new()
        }
    );
    let fields = report.errors.iter().map(ImportRowError::field_error).collect();
    let value = serde_json::to_value(&report).unwrap_or_default();
    ApiError::Validation(fields).into_response_with(detail, "report", value)
}

/// A file checked as one entity or the other.
enum Checked {
    Locations(locations::CheckedLocations),
    Assets(assets::CheckedAssets),
}

impl Checked {
    async fn of(conn: &mut PgConnection, entity: ImportEntity, file: File<'_>, for_update: bool) -> ApiResult<Checked> {
        Ok(match entity {
            ImportEntity::Locations => Checked::Locations(locations::check(conn, file, for_update).await?),
            ImportEntity::Assets => Checked::Assets(assets::check(conn, file, for_update).await?),
        })
    }

    fn has_errors(&self) -> bool {
        match self {
            Checked::Locations(c) => !c.errors.is_empty(),
            Checked::Assets(c) => !c.errors.is_empty(),
        }
    }

    fn rows(&self) -> usize {
        match self {
            Checked::Locations(c) => c.rows,
            Checked::Assets(c) => c.rows,
        }
    }

    /// (rows, (inserted, updated, unchanged), errors).
    fn parts(self) -> (usize, (usize, usize, usize), Vec<ImportRowError>) {
        match self {
            Checked::Locations(c) => (c.rows, (c.inserted, c.updated, c.unchanged), c.errors),
            Checked::Assets(c) => (c.rows, (c.inserted, c.updated, c.unchanged), c.errors),
        }
    }

    async fn apply(&self, conn: &mut PgConnection, actor: &Actor) -> ApiResult<(usize, usize)> {
        match self {
            Checked::Locations(c) => locations::apply(conn, c, actor).await,
            Checked::Assets(c) => assets::apply(conn, c, actor).await,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    entity: Option<ImportEntity>,
    dry_run: Option<bool>,
}

/// How the list below is ordered.
pub struct ImportSorting;

impl Sorting for ImportSorting {
    const KEYS: &'static [SortKey] = &report::SORTS;
    const DEFAULT: &'static str = "-created_at";
    const ID_COLUMN: &'static str = "id";
}

/// Lists imports, dry runs and applies alike, the latest first (admins and supervisors).
#[utoipa::path(get, path = "/api/imports", tag = "imports", security(("bearer" = [])),
    params(ListQuery, PageParams<ImportSorting>),
    responses((status = 200, description = "A page of imports", body = Page<ImportSummary>)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Auth<Staff>,
    Query(query): Query<ListQuery>,
    Query(page): Query<PageParams<ImportSorting>>,
) -> ApiResult<Page<ImportSummary>> {
    let page = page.resolve()?;
    let filter = report::Filter { entity: query.entity, dry_run: query.dry_run };
    Ok(report::list(&state.pool, &filter, &page).await?)
}

/// An import's report, with its first 1,000 errors (admins and supervisors).
#[utoipa::path(get, path = "/api/imports/{id}", tag = "imports", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Import id")),
    responses((status = 200, description = "The report", body = ImportReport),
              (status = 404, description = "No such import", body = nexus_shared::error::Problem)))]
pub async fn get(
    State(state): State<AppState>,
    _caller: Auth<Staff>,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<ImportReport>> {
    report::find(&state.pool, id).await?.map(axum::Json).ok_or(ApiError::NotFound)
}

/// How an import's errors are ordered: as found (by row, the header first).
pub struct ErrorSorting;

impl Sorting for ErrorSorting {
    const KEYS: &'static [SortKey] = &report::ERROR_SORTS;
    const DEFAULT: &'static str = "row";
    const ID_COLUMN: &'static str = "seq";
}

/// Every error of an import, paged (admins and supervisors).
#[utoipa::path(get, path = "/api/imports/{id}/errors", tag = "imports", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Import id"), PageParams<ErrorSorting>),
    responses((status = 200, description = "A page of the import's errors", body = Page<ImportRowError>),
              (status = 404, description = "No such import", body = nexus_shared::error::Problem)))]
pub async fn errors(
    State(state): State<AppState>,
    _caller: Auth<Staff>,
    Path(id): Path<i64>,
    Query(page): Query<PageParams<ErrorSorting>>,
) -> ApiResult<Page<ImportRowError>> {
    let page = page.resolve()?;
    if !report::exists(&state.pool, id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(report::errors(&state.pool, id, &page).await?)
}
