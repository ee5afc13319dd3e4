//! Keyset pagination shared by every list: `?limit=&cursor=&sort=`, answered as
//! `{"items": [...], "next_cursor": "..." | null}`.
//!
//! The cursor is opaque to clients (base64url JSON of the sort, the last row's sort value and
//! id). Pages are fetched with a row comparison on `(sort column, id)`, which an index on the
//! same pair serves without OFFSET, so page 1,000 costs what page 1 costs.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgRow;
use sqlx::{FromRow, Postgres, QueryBuilder, Row};
use std::marker::PhantomData;
use utoipa::openapi::Required;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

/// How a list can be ordered: the sorts it offers, the one used by default (possibly with `-`)
/// and the list's primary key as its query names it (the tie-breaker).
pub trait Sorting {
    const KEYS: &'static [SortKey];
    const DEFAULT: &'static str;
    const ID_COLUMN: &'static str;
}

/// The paging parameters every list accepts; the `sort` values a list offers come from `S`,
/// so the document lists them.
#[derive(Debug, Deserialize)]
#[serde(bound = "")]
pub struct PageParams<S: Sorting> {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    pub sort: Option<String>,
    #[serde(skip)]
    sorting: PhantomData<S>,
}

impl<S: Sorting> Default for PageParams<S> {
    fn default() -> Self {
        Self { limit: None, cursor: None, sort: None, sorting: PhantomData }
    }
}

/// Longer than any cursor a list issues: a sort name, an id and a sort value of at most 200
/// characters (a name), which base64 of its JSON keeps under 1,300 even at 4 bytes a character.
const MAX_CURSOR_LEN: usize = 4096;

impl<S: Sorting> IntoParams for PageParams<S> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let query = |name: &str, description: &str, schema: ObjectBuilder| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(description))
                .schema(Some(schema))
                .build()
        };
        // Checked whenever the document is built (a test does): a default the list does not
        // offer would make every request without `sort` a 422.
        let default = S::DEFAULT.strip_prefix('-').unwrap_or(S::DEFAULT);
        assert!(S::KEYS.iter().any(|k| k.name == default), "default sort {default} is not offered");
        let sorts = S::KEYS.iter().flat_map(|k| [k.name.to_string(), format!("-{}", k.name)]);
        vec![
            query(
                "limit",
                &format!("Page size, 1–{MAX_LIMIT} (default {DEFAULT_LIMIT})."),
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                    .minimum(Some(1))
                    .maximum(Some(MAX_LIMIT)),
            ),
            query(
                "cursor",
                "`next_cursor` of the previous page (only a value the list issued is valid).",
                ObjectBuilder::new().schema_type(Type::String).max_length(Some(MAX_CURSOR_LEN)),
            ),
            query(
                "sort",
                &format!("Order of the list; `-` for descending (default `{}`).", S::DEFAULT),
                ObjectBuilder::new().schema_type(Type::String).enum_values(Some(sorts)),
            ),
        ]
    }
}

/// One way a list can be ordered. `column` is trusted SQL (a constant), `cast` the type the
/// cursor's text value is cast back to.
#[derive(Debug)]
pub struct SortKey {
    pub name: &'static str,
    pub column: &'static str,
    pub cast: &'static str,
}

/// A validated page request.
#[derive(Debug)]
pub struct PageRequest {
    pub limit: i64,
    key: &'static SortKey,
    descending: bool,
    id_column: &'static str,
    after: Option<CursorData>,
}

#[derive(Debug, Serialize, Deserialize)]
struct CursorData {
    /// The sort the cursor was made for, e.g. `-created_at`.
    s: String,
    /// The last row's sort value, as text.
    v: String,
    /// The last row's id (the tie-breaker).
    i: i64,
}

impl<S: Sorting> PageParams<S> {
    /// Validates limit, sort and cursor against the sorts the list offers.
    pub fn resolve(self) -> Result<PageRequest, ApiError> {
        let (keys, default_sort, id_column) = (S::KEYS, S::DEFAULT, S::ID_COLUMN);
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::validation("limit", format!("must be between 1 and {MAX_LIMIT}")));
        }
        let sort = self.sort.as_deref().unwrap_or(default_sort);
        let (descending, name) = match sort.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, sort),
        };
        let key = keys.iter().find(|k| k.name == name).ok_or_else(|| {
            let offered: Vec<&str> = keys.iter().map(|k| k.name).collect();
            ApiError::validation("sort", format!("must be one of {} (prefix - for descending)", offered.join(", ")))
        })?;
        let after = match self.cursor {
            None => None,
            Some(cursor) if cursor.len() > MAX_CURSOR_LEN => {
                return Err(ApiError::validation("cursor", "is not a cursor this list issued"));
            }
            Some(cursor) => {
                let data = decode_cursor(&cursor)
                    .ok_or_else(|| ApiError::validation("cursor", "is not a cursor this list issued"))?;
                if data.s != sort {
                    return Err(ApiError::validation("cursor", "was issued for another sort order"));
                }
                Some(data)
            }
        };
        Ok(PageRequest { limit, key, descending, id_column, after })
    }
}

fn decode_cursor(cursor: &str) -> Option<CursorData> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    serde_json::from_slice(&bytes).ok()
}

impl PageRequest {
    fn sort_token(&self) -> String {
        if self.descending { format!("-{}", self.key.name) } else { self.key.name.to_string() }
    }

    /// `SELECT columns, <the keys> FROM from WHERE true`: a page query with no filter yet (push
    /// ` AND …` for each), ready for [`PageRequest::fetch`].
    pub fn query(&self, columns: &str, from: &str) -> QueryBuilder<Postgres> {
        QueryBuilder::new(format!("SELECT {columns}{} FROM {from} WHERE true", self.select_keys()))
    }

    /// The two extra columns a page query must select (after its own, starting with a comma).
    pub fn select_keys(&self) -> String {
        format!(", ({})::text AS page_sort_value, {} AS page_id", self.key.column, self.id_column)
    }

    /// ` AND (col, id) > (cursor value, cursor id)` when a cursor was given (`<` descending).
    pub fn push_after(&self, qb: &mut QueryBuilder<Postgres>) {
        if let Some(after) = &self.after {
            let op = if self.descending { "<" } else { ">" };
            qb.push(format_args!(" AND ({}, {}) {op} (", self.key.column, self.id_column));
            qb.push_bind(after.v.clone());
            qb.push(format_args!("::{}, ", self.key.cast));
            qb.push_bind(after.i);
            qb.push(")");
        }
    }

    /// ` ORDER BY col, id LIMIT n+1`: one row beyond the page tells whether there is a next one.
    pub fn push_order_limit(&self, qb: &mut QueryBuilder<Postgres>) {
        let dir = if self.descending { "DESC" } else { "ASC" };
        qb.push(format_args!(" ORDER BY {} {dir}, {} {dir} LIMIT ", self.key.column, self.id_column));
        qb.push_bind(self.limit + 1);
    }

    /// Completes a page query (whose SELECT list ends with [`PageRequest::select_keys`] and whose
    /// WHERE clause holds the list's filters) with the cursor condition, order and limit, and
    /// runs it.
    pub async fn fetch<T>(&self, mut qb: QueryBuilder<Postgres>, pool: &sqlx::PgPool) -> Result<Page<T>, ApiError>
    where
        T: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        self.push_after(&mut qb);
        self.push_order_limit(&mut qb);
        let rows: Vec<Keyed<T>> = qb.build_query_as().fetch_all(pool).await?;
        Ok(self.finish(rows))
    }

    /// Cuts the extra row and makes the next cursor from the last row kept.
    pub fn finish<T>(&self, mut rows: Vec<Keyed<T>>) -> Page<T> {
        let has_more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let next_cursor = match rows.last() {
            Some(last) if has_more => {
                let data = CursorData { s: self.sort_token(), v: last.sort_value.clone(), i: last.id };
                Some(URL_SAFE_NO_PAD.encode(serde_json::to_vec(&data).unwrap_or_default()))
            }
            _ => None,
        };
        Page { items: rows.into_iter().map(|r| r.item).collect(), next_cursor }
    }
}

/// A row plus the sort value and id its page query selected with [`PageRequest::select_keys`].
pub struct Keyed<T> {
    pub item: T,
    sort_value: String,
    id: i64,
}

impl<'r, T: FromRow<'r, PgRow>> FromRow<'r, PgRow> for Keyed<T> {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self { item: T::from_row(row)?, sort_value: row.try_get("page_sort_value")?, id: row.try_get("page_id")? })
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    struct ByCode;

    impl Sorting for ByCode {
        const KEYS: &'static [SortKey] = &[
            SortKey { name: "code", column: "code", cast: "text" },
            SortKey { name: "created_at", column: "created_at", cast: "timestamptz" },
        ];
        const DEFAULT: &'static str = "code";
        const ID_COLUMN: &'static str = "id";
    }

    fn params(limit: Option<i64>, sort: Option<&str>, cursor: Option<&str>) -> PageParams<ByCode> {
        PageParams { limit, sort: sort.map(Into::into), cursor: cursor.map(Into::into), sorting: PhantomData }
    }

    #[test]
    fn the_document_lists_the_sorts_offered() {
        let params = PageParams::<ByCode>::into_params(|| None);
        let sort = serde_json::to_value(&params[2]).unwrap();
        assert_eq!(sort["schema"]["enum"], serde_json::json!(["code", "-code", "created_at", "-created_at"]));
    }

    #[test]
    fn limit_outside_bounds_is_422() {
        for bad in [0, -1, 501] {
            assert!(matches!(params(Some(bad), None, None).resolve(), Err(ApiError::Validation(_))));
        }
        assert_eq!(params(None, None, None).resolve().unwrap().limit, 50);
    }

    #[test]
    fn unknown_sort_and_forged_cursor_are_422() {
        assert!(params(None, Some("password"), None).resolve().is_err());
        assert!(params(None, None, Some("not-a-cursor")).resolve().is_err());
    }

    #[test]
    fn a_cursor_only_works_with_its_own_sort() {
        let req = params(Some(1), Some("-created_at"), None).resolve().unwrap();
        let rows = vec![
            Keyed { item: 1, sort_value: "2026-01-01 00:00:00+00".into(), id: 1 },
            Keyed { item: 2, sort_value: "2025-01-01 00:00:00+00".into(), id: 2 },
        ];
        let page = req.finish(rows);
        assert_eq!(page.items, vec![1]);
        let cursor = page.next_cursor.unwrap();
        assert!(params(None, Some("-created_at"), Some(&cursor)).resolve().is_ok());
        assert!(params(None, Some("created_at"), Some(&cursor)).resolve().is_err());
    }

    /// The cap on cursors must never refuse one a list issued: the longest name, all 4-byte
    /// characters and quotes, still gives a cursor under it.
    #[test]
    fn the_longest_issued_cursor_is_accepted() {
        let longest = "\"😀".repeat(100);
        let req = params(Some(1), Some("-code"), None).resolve().unwrap();
        let rows = vec![
            Keyed { item: 1, sort_value: longest.clone(), id: i64::MAX },
            Keyed { item: 2, sort_value: longest, id: 1 },
        ];
        let cursor = req.finish(rows).next_cursor.unwrap();
        assert!(cursor.len() < MAX_CURSOR_LEN / 2, "{}", cursor.len());
        assert!(params(None, Some("-code"), Some(&cursor)).resolve().is_ok());
        assert!(params(None, Some("-code"), Some(&"A".repeat(MAX_CURSOR_LEN + 1))).resolve().is_err());
    }

    #[test]
    fn descending_pages_compare_backwards() {
        let req = params(None, Some("-code"), None).resolve().unwrap();
        let mut qb = QueryBuilder::new("SELECT 1 WHERE true");
        let with_cursor = PageRequest { after: Some(CursorData { s: "-code".into(), v: "X".into(), i: 3 }), ..req };
        with_cursor.push_after(&mut qb);
        with_cursor.push_order_limit(&mut qb);
        assert_eq!(
            qb.sql().as_str(),
            "SELECT 1 WHERE true AND (code, id) < ($1::text, $2) ORDER BY code DESC, id DESC LIMIT $3"
        );
    }
}
