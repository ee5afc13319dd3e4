//! An import's report as answered and kept (`imports`, `import_errors`): the counts, every error
//! stored, the first [`ERRORS_SHOWN`] shown in the report and the rest paged.

use chrono::{DateTime, Utc};
use nexus_shared::ApiError;
use nexus_shared::audit::Actor;
use nexus_shared::pagination::{Page, PageRequest, SortKey};
use serde::Serialize;
use sqlx::{FromRow, PgConnection, PgPool};
use utoipa::ToSchema;

use crate::file::ImportRowError;

/// The errors a report carries itself; `GET /api/imports/{id}/errors` pages through all of them.
pub const ERRORS_SHOWN: usize = 1_000;

nexus_shared::text_enum! {
    /// What a file holds: sites or devices.
    pub enum ImportEntity {
        Locations = "locations",
        Assets = "assets",
    }
}

/// The counts of an import, as listed.
#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct ImportSummary {
    pub import_id: i64,
    #[sqlx(try_from = "String")]
    pub entity: ImportEntity,
    /// A dry run checks and counts, and writes nothing; an apply wrote its rows (when it has no
    /// errors; with errors it wrote nothing).
    pub dry_run: bool,
    /// SHA-256 of the file's bytes (lowercase hex): what `X-Import-Checksum` names to apply it.
    pub checksum: String,
    /// Data rows in the file (the header not counted).
    pub rows: i32,
    /// Rows that insert (a dry run: would insert): their key is new.
    pub inserted: i32,
    /// Rows that change a stored row.
    pub updated: i32,
    /// Rows equal to what is stored: nothing written, no audit row.
    pub unchanged: i32,
    /// Every error in the file; a file with any writes nothing.
    pub error_count: i32,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// An import's report: its counts and its first errors.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportReport {
    #[serde(flatten)]
    pub summary: ImportSummary,
    /// Every error up to the first 1,000, by row (the header is row 1); all of them at
    /// `GET /api/imports/{import_id}/errors`.
    pub errors: Vec<ImportRowError>,
    /// Whether `error_count` is more than `errors` holds.
    pub errors_truncated: bool,
}

/// What a report is made of before it is stored.
pub struct Outcome {
    pub entity: ImportEntity,
    pub dry_run: bool,
    pub checksum: String,
    pub rows: usize,
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub errors: Vec<ImportRowError>,
}

const SUMMARY: &str = "id AS import_id, entity, dry_run, checksum, rows, inserted, updated, unchanged, error_count, created_by, created_at";

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Stores the report and every error (in the caller's transaction when it is an apply's).
pub async fn save(conn: &mut PgConnection, actor: &Actor, outcome: Outcome) -> Result<ImportReport, ApiError> {
    let summary: ImportSummary = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO imports (entity, dry_run, checksum, rows, inserted, updated, unchanged, error_count, created_by, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {SUMMARY}"
    )))
    .bind(outcome.entity.as_str())
    .bind(outcome.dry_run)
    .bind(&outcome.checksum)
    .bind(count(outcome.rows))
    .bind(count(outcome.inserted))
    .bind(count(outcome.updated))
    .bind(count(outcome.unchanged))
    .bind(count(outcome.errors.len()))
    .bind(actor.user_id)
    .bind(actor.request_id.as_deref())
    .fetch_one(&mut *conn)
    .await?;
    if !outcome.errors.is_empty() {
        let (mut rows, mut columns, mut codes, mut messages) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for e in &outcome.errors {
            rows.push(e.row);
            columns.push(e.column.as_str());
            codes.push(e.code.as_str());
            messages.push(e.message.as_str());
        }
        sqlx::query(
            "INSERT INTO import_errors (import_id, seq, row_number, column_name, code, message)
             SELECT $1, seq, row_number, column_name, code, message
             FROM unnest($2::int4[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY
                 AS e (row_number, column_name, code, message, seq)",
        )
        .bind(summary.import_id)
        .bind(rows)
        .bind(columns)
        .bind(codes)
        .bind(messages)
        .execute(&mut *conn)
        .await?;
    }
    let mut errors = outcome.errors;
    let errors_truncated = errors.len() > ERRORS_SHOWN;
    errors.truncate(ERRORS_SHOWN);
    Ok(ImportReport { summary, errors, errors_truncated })
}

/// A stored report with its first errors.
pub async fn find(pool: &PgPool, id: i64) -> Result<Option<ImportReport>, ApiError> {
    let summary: Option<ImportSummary> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {SUMMARY} FROM imports WHERE id = $1")))
            .bind(id)
            .fetch_optional(pool)
            .await?;
    let Some(summary) = summary else { return Ok(None) };
    let errors: Vec<ImportRowError> = sqlx::query_as(
        "SELECT row_number, column_name, code, message FROM import_errors WHERE import_id = $1 ORDER BY seq LIMIT $2",
    )
    .bind(id)
    .bind(ERRORS_SHOWN as i64)
    .fetch_all(pool)
    .await?;
    let errors_truncated = summary.error_count as usize > errors.len();
    Ok(Some(ImportReport { summary, errors, errors_truncated }))
}

/// When a clean dry run of these bytes was made for each entity, the latest first.
pub async fn clean_dry_runs(
    conn: &mut PgConnection,
    checksum: &str,
) -> Result<Vec<(ImportEntity, DateTime<Utc>)>, ApiError> {
    let found: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT entity, max(created_at) FROM imports WHERE checksum = $1 AND dry_run AND error_count = 0
         GROUP BY entity ORDER BY 2 DESC",
    )
    .bind(checksum)
    .fetch_all(conn)
    .await?;
    Ok(found.into_iter().filter_map(|(e, at)| ImportEntity::try_from(e).ok().map(|e| (e, at))).collect())
}

pub const SORTS: [SortKey; 1] = [SortKey { name: "created_at", column: "created_at", cast: "timestamptz" }];

pub struct Filter {
    pub entity: Option<ImportEntity>,
    pub dry_run: Option<bool>,
}

pub async fn list(pool: &PgPool, filter: &Filter, page: &PageRequest) -> Result<Page<ImportSummary>, ApiError> {
    let mut qb = page.query(SUMMARY, "imports");
    if let Some(entity) = filter.entity {
        qb.push(" AND entity = ").push_bind(entity.as_str());
    }
    if let Some(dry_run) = filter.dry_run {
        qb.push(" AND dry_run = ").push_bind(dry_run);
    }
    page.fetch(qb, pool).await
}

/// Errors are paged in the order found: by row, the header first.
pub const ERROR_SORTS: [SortKey; 1] = [SortKey { name: "row", column: "seq", cast: "bigint" }];

pub async fn errors(pool: &PgPool, id: i64, page: &PageRequest) -> Result<Page<ImportRowError>, ApiError> {
    let mut qb = page.query("row_number, column_name, code, message", "import_errors");
    qb.push(" AND import_id = ").push_bind(id);
    page.fetch(qb, pool).await
}

pub async fn exists(pool: &PgPool, id: i64) -> Result<bool, ApiError> {
    Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM imports WHERE id = $1)").bind(id).fetch_one(pool).await?)
}
