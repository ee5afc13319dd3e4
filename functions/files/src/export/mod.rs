//! `POST /api/exports`: a list export too large for a response (API Gateway and Lambda carry at
//! most 6 MB, and the list exports stop at 5) written to S3 instead, and a 15-minute download
//! link to it. The rows stream from Postgres through the lists' own CSV writer into an S3
//! multipart upload: memory stays flat whatever the size (one 5 MiB part filling while the
//! previous one uploads, plus a 256 KiB chunk of CSV), and a file that never fills a part is a
//! single PUT.
//!
//! Limits, so the answer comes within API Gateway's 29 s: at most [`ExportLimits::max_rows`]
//! rows (default 500,000) and [`ExportLimits::time_budget`] (default 20 s) of reading and
//! uploading; past either the upload is aborted (S3 keeps nothing) and the request is 422,
//! naming the filters that narrow it. A file is never silently cut short.

pub mod entities;

use std::future::poll_fn;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, SubsecRound, Utc};
use nexus_shared::auth::{Auth, AuthUser, Role, Worker};
use nexus_shared::csv::{CONTENT_TYPE, CsvWriter};
use nexus_shared::extract::Json;
use nexus_shared::storage::{MIN_PART_SIZE, S3Store, UploadWriter};
use nexus_shared::ticket::Visibility;
use nexus_shared::{ApiError, ApiResult, AppState};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgPool};
use utoipa::ToSchema;

use crate::state::FilesState;
use entities::ExportEntity;

/// How long the download link works.
pub const EXPORT_TTL: Duration = Duration::from_secs(15 * 60);

/// CSV is written in chunks of about this much before it joins the part being filled.
const CHUNK: usize = 256 * 1024;

/// How big and how long an export may be.
#[derive(Debug, Clone, Copy)]
pub struct ExportLimits {
    pub max_rows: i64,
    /// Reading and uploading, from the first query to the last part; the completion, the audit
    /// row and the signature follow (well under a second).
    pub time_budget: Duration,
    /// S3 part size (at least 5 MiB, S3's minimum): memory is about two of these.
    pub part_size: usize,
}

impl Default for ExportLimits {
    fn default() -> Self {
        Self { max_rows: 500_000, time_budget: Duration::from_secs(20), part_size: MIN_PART_SIZE }
    }
}

/// What to export: the list and its filters, as that list's query parameters.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportBody {
    pub entity: ExportEntity,
    /// The list's query parameters (and `sort`), e.g. `{"status": "open,assigned",
    /// "region": "Bali"}`; numbers and booleans may be given as JSON or as text. `limit` and
    /// `cursor` are not filters. A name the list does not take is 422.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub filters: serde_json::Map<String, serde_json::Value>,
}

/// The file written, and where to fetch it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportFile {
    /// A presigned GET, valid until `expires_at` (15 minutes); it downloads as
    /// `<entity>-<UTC date>.csv`.
    pub url: String,
    pub expires_at: DateTime<Utc>,
    /// Data rows (the header not counted).
    pub rows: i64,
    /// The file's size in bytes.
    pub bytes: u64,
}

/// Why an export stopped before its end.
enum Stop {
    TooManyRows,
    TooSlow,
}

/// Writes every row the list's filters match, in the list's order, as the list's CSV export
/// would (the same columns, quoting and formula guard; UTF-8 with a BOM) to S3, and answers a
/// 15-minute download link. Admins and supervisors export any list; a technician only tickets,
/// and only their own (as the list shows them); viewers may not (403: a bulk copy of the data
/// leaves the system, which viewers' read-only screens do not allow). At most 500,000 rows and
/// 20 s of work: past either, 422 naming the filters to narrow it with. Every export is in the
/// audit log (`entity_type` `export`, the caller's id, the key, filters, rows and bytes).
#[utoipa::path(post, path = "/api/exports", tag = "files", security(("bearer" = [])),
    request_body = ExportBody,
    responses((status = 201, description = "Written: download it from `url` before `expires_at`", body = ExportFile),
              (status = 401, description = "Not signed in", body = nexus_shared::error::Problem),
              (status = 403, description = "A viewer; or a technician exporting locations or assets", body = nexus_shared::error::Problem),
              (status = 422, description = "An unknown `entity` or filter, an invalid filter value or `sort`; or more than 500,000 rows or 20 s of work (field `filters`)", body = nexus_shared::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    State(files): State<Arc<S3Store>>,
    State(limits): State<ExportLimits>,
    caller: Auth<Worker>,
    Json(body): Json<ExportBody>,
) -> ApiResult<(StatusCode, axum::Json<ExportFile>)> {
    if body.entity != ExportEntity::Tickets && !caller.has_any(&[Role::Admin, Role::Supervisor]) {
        return Err(ApiError::Forbidden);
    }
    let started = Instant::now();
    let max_rows = limits.max_rows;
    let plan = match body.entity {
        ExportEntity::Tickets => entities::tickets(&body.filters, Visibility::of(&caller), max_rows),
        ExportEntity::Locations => entities::locations(&body.filters, max_rows),
        ExportEntity::Assets => entities::assets(&body.filters, max_rows),
    }
    .map_err(in_filters)?;
    let narrow_with = plan.narrow_with;
    let key = format!("exports/{}/{}.csv", caller.id, uuid::Uuid::new_v4());
    let mut upload = files.upload_writer(&key, CONTENT_TYPE, limits.part_size);
    let deadline = started + limits.time_budget;
    let streamed = match body.entity {
        ExportEntity::Tickets => {
            stream(
                &state.pool,
                plan.columns,
                plan.query,
                nexus_shared::ticket::export::write,
                &mut upload,
                max_rows,
                deadline,
            )
            .await
        }
        ExportEntity::Locations => {
            stream(
                &state.pool,
                plan.columns,
                plan.query,
                nexus_shared::location::write_csv,
                &mut upload,
                max_rows,
                deadline,
            )
            .await
        }
        ExportEntity::Assets => {
            stream(
                &state.pool,
                plan.columns,
                plan.query,
                nexus_shared::asset::write_csv,
                &mut upload,
                max_rows,
                deadline,
            )
            .await
        }
    };
    let rows = match streamed {
        Ok(Ok(rows)) => rows,
        Ok(Err(stop)) => {
            upload.abort().await;
            return Err(refusal(stop, &limits, narrow_with));
        }
        Err(e) => {
            upload.abort().await;
            return Err(e);
        }
    };
    let parts = upload.parts();
    let bytes = upload.finish().await?;
    tracing::info!(%key, rows, bytes, parts, elapsed_ms = started.elapsed().as_millis() as u64, "export written");
    record(&state.pool, &caller, &key, &body, rows, bytes).await?;
    let expires_at =
        (Utc::now() + chrono::Duration::from_std(EXPORT_TTL).map_err(ApiError::internal)?).trunc_subsecs(6);
    let filename = format!("{}-{}.csv", body.entity, Utc::now().format("%Y-%m-%d"));
    let url = files.presigned_download(&key, EXPORT_TTL, CONTENT_TYPE, &filename).await?;
    Ok((StatusCode::CREATED, axum::Json(ExportFile { url, expires_at, rows, bytes })))
}

fn refusal(stop: Stop, limits: &ExportLimits, narrow_with: &str) -> ApiError {
    let why = match stop {
        Stop::TooManyRows => format!("The export would exceed {} rows", limits.max_rows),
        Stop::TooSlow => format!("The export would take longer than {} s", limits.time_budget.as_secs()),
    };
    ApiError::validation("filters", format!("{why}, the most one request may write; narrow it with {narrow_with}."))
}

/// Validation errors of the filters name them as the body holds them: `filters.<name>`.
fn in_filters(e: ApiError) -> ApiError {
    match e {
        ApiError::Validation(mut errors) => {
            for error in &mut errors {
                if !error.field.starts_with("filters") {
                    error.field = format!("filters.{}", error.field);
                }
            }
            ApiError::Validation(errors)
        }
        other => other,
    }
}

/// Streams the rows of `query` through the CSV writer into `upload`: the CSV is cut into
/// chunks of about [`CHUNK`] (each a fresh writer whose header is dropped after the first), so
/// no more than a chunk of text and the upload's parts are ever held. `Ok(Err(_))`: a limit
/// was reached (the connection is closed rather than drained).
async fn stream<T>(
    pool: &PgPool,
    columns: &'static [&'static str],
    mut query: sqlx::QueryBuilder<sqlx::Postgres>,
    write: fn(&mut CsvWriter, T),
    upload: &mut UploadWriter,
    max_rows: i64,
    deadline: Instant,
) -> ApiResult<Result<i64, Stop>>
where
    T: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    let header = CsvWriter::with_cap(columns, usize::MAX).into_string();
    let mut conn = pool.acquire().await?;
    let mut csv = CsvWriter::with_cap(columns, CHUNK);
    let (mut rows, mut first, mut pending) = (0i64, true, false);
    let mut stop = None;
    {
        let mut stream = query.build_query_as::<T>().fetch(&mut *conn);
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let next = tokio::time::timeout(remaining, poll_fn(|cx| stream.as_mut().poll_next(cx))).await;
            let row = match next {
                Err(_) => {
                    stop = Some(Stop::TooSlow);
                    break;
                }
                Ok(None) => break,
                Ok(Some(row)) => row?,
            };
            rows += 1;
            if rows > max_rows {
                stop = Some(Stop::TooManyRows);
                break;
            }
            write(&mut csv, row);
            pending = true;
            if csv.end_row().is_err() {
                let chunk = std::mem::replace(&mut csv, CsvWriter::with_cap(columns, CHUNK));
                flush(chunk, &header, &mut first, upload).await?;
                pending = false;
                if Instant::now() > deadline {
                    stop = Some(Stop::TooSlow);
                    break;
                }
            }
        }
    }
    if let Some(stop) = stop {
        // The rest of the result is still coming: closing the connection ends it.
        conn.close_on_drop();
        return Ok(Err(stop));
    }
    drop(conn);
    if pending || first {
        flush(csv, &header, &mut first, upload).await?;
    }
    Ok(Ok(rows))
}

/// A chunk's text into the upload, its header row dropped unless it is the file's first.
async fn flush(chunk: CsvWriter, header: &str, first: &mut bool, upload: &mut UploadWriter) -> ApiResult<()> {
    let text = chunk.into_string();
    let body = if *first { text.as_str() } else { text.strip_prefix(header).unwrap_or(&text) };
    *first = false;
    upload.write(body.as_bytes()).await
}

/// The audit row: `export` by the caller (its `entity_id`), with what was written where.
async fn record(
    pool: &PgPool,
    caller: &AuthUser,
    key: &str,
    body: &ExportBody,
    rows: i64,
    bytes: u64,
) -> ApiResult<()> {
    let after = serde_json::json!({
        "key": key,
        "entity": body.entity,
        "filters": body.filters,
        "rows": rows,
        "bytes": bytes,
    });
    let actor = caller.actor();
    sqlx::query(
        "INSERT INTO audit_logs (entity_type, entity_id, action, actor_id, changes, request_id)
         VALUES ('export', $1, 'create', $1, $2, $3)",
    )
    .bind(caller.id)
    .bind(nexus_shared::audit::diff(None, Some(&after)))
    .bind(actor.request_id.as_deref())
    .execute(pool)
    .await?;
    Ok(())
}

impl axum::extract::FromRef<FilesState> for ExportLimits {
    fn from_ref(state: &FilesState) -> Self {
        state.exports
    }
}
