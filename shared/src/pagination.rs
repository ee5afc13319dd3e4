//! Keyset pagination shared by every list: `?limit=&cursor=&sort=`, answered as
//! `{"items": [...], "next_cursor": "..." | null}`.
//!
//! The cursor is opaque to clients (base64url JSON of the sort, the last row's sort value and
//! id). Pages are fetched with a row comparison on `(sort column, id)`, which an index on the
//! same pair serves without OFFSET, so page 1,000 costs what page 1 costs.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgRow;
use sqlx::{FromRow, Postgres, QueryBuilder, Row};
use std::marker::PhantomData;
use utoipa::openapi::path::{Parameter, ParameterIn};
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
            crate::openapi::query_parameter(name, description, schema).build()
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
        let sort = self.sort_token();
        let next_cursor = match rows.last() {
            Some(last) if has_more => Some(cursor(&sort, &last.sort_value, last.id)),
            _ => None,
        };
        let (items, keys) = rows.into_iter().map(|r| (r.item, (r.sort_value, r.id))).unzip();
        Page { items, next_cursor, resume: Some(Resume { sort, keys }) }
    }
}

fn cursor(sort: &str, sort_value: &str, id: i64) -> String {
    let data = CursorData { s: sort.to_string(), v: sort_value.to_string(), i: id };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&data).unwrap_or_default())
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

/// One page of a list. As a response it is cut short when its rows would not fit in one Lambda
/// response ([`crate::response_size`]): fewer than `limit` items, and a `next_cursor` after the
/// last one sent, so a client that follows the cursor misses nothing. (A ticket's text alone can
/// reach 120 KB as a JSON string: 500 of them would be 60 MB.)
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
    /// Where the list resumes after each item, to cut the page there.
    #[serde(skip)]
    resume: Option<Resume>,
}

#[derive(Debug)]
struct Resume {
    sort: String,
    /// Each item's sort value and id.
    keys: Vec<(String, i64)>,
}

impl<T> Page<T> {
    /// A page of a list that pages by itself: it cannot be cut, so its items must be small
    /// enough that `limit` of them always fit.
    pub fn new(items: Vec<T>, next_cursor: Option<String>) -> Self {
        Self { items, next_cursor, resume: None }
    }

    /// The same page with each item turned into `f(item)` (a stored row into its view).
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next_cursor: self.next_cursor, resume: self.resume }
    }
}

impl<T: Serialize> Page<T> {
    /// The JSON body: the whole page, or as many items as fit and the cursor after the last.
    pub fn to_json(&self) -> Result<Vec<u8>, ApiError> {
        let mut body = Vec::with_capacity(64 + 256 * self.items.len());
        body.extend_from_slice(b"{\"items\":[");
        let mut ends = Vec::with_capacity(self.items.len());
        for item in &self.items {
            if !ends.is_empty() {
                body.push(b',');
            }
            serde_json::to_writer(&mut body, item).map_err(ApiError::internal)?;
            ends.push(body.len());
        }
        let items_end = body.len();
        close(&mut body, self.next_cursor.as_deref());
        if crate::response_size::fits(&body) {
            return Ok(body);
        }
        let keep = fitting_items(&body[..items_end], &ends);
        let last = keep.checked_sub(1).zip(self.resume.as_ref()).and_then(|(i, r)| Some((r, r.keys.get(i)?)));
        let Some((resume, (sort_value, id))) = last else {
            return Err(ApiError::internal("a page too large for one response, and no item to cut it after"));
        };
        body.truncate(ends[keep - 1]);
        close(&mut body, Some(&cursor(&resume.sort, sort_value, *id)));
        Ok(body)
    }
}

/// How many of the items (ending at `ends` in `items`) fit with room left for the longest
/// `next_cursor`.
fn fitting_items(items: &[u8], ends: &[usize]) -> usize {
    use crate::response_size::{ENVELOPE, LAMBDA_LIMIT, MAX_BODY_BYTES};
    // `],"next_cursor":"…"}`, weighed as a JSON string.
    const TAIL: usize = 2 * (MAX_CURSOR_LEN + 32);
    let (mut start, mut weight) = (0, 0);
    let mut keep = 0;
    for &end in ends {
        weight += crate::csv::json_weight(&items[start..end]);
        if end + TAIL > MAX_BODY_BYTES || weight + TAIL > LAMBDA_LIMIT - ENVELOPE {
            break;
        }
        (start, keep) = (end, keep + 1);
    }
    keep
}

fn close(body: &mut Vec<u8>, next_cursor: Option<&str>) {
    body.extend_from_slice(b"],\"next_cursor\":");
    // Serialising a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *body, &next_cursor);
    body.push(b'}');
}

impl<T: Serialize> IntoResponse for Page<T> {
    fn into_response(self) -> Response {
        match self.to_json() {
            Ok(body) => ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response(),
            Err(error) => error.into_response(),
        }
    }
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

    /// The largest page of the largest rows is cut where it still fits one Lambda response, and
    /// its cursor resumes right after the last item sent.
    #[test]
    fn a_page_too_large_for_one_response_is_cut_short() {
        let req = params(Some(500), Some("code"), None).resolve().unwrap();
        // 20,000 quotes: 40 KB of JSON, 80 KB as the Lambda response's string.
        let rows: Vec<Keyed<String>> =
            (1..=501).map(|i| Keyed { item: "\"".repeat(20_000), sort_value: format!("C{i:04}"), id: i }).collect();
        let body = req.finish(rows).to_json().unwrap();
        assert!(crate::response_size::fits(&body), "{} bytes", body.len());
        let page: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let sent = page["items"].as_array().unwrap().len();
        assert!((50..500).contains(&sent), "{sent} items sent");
        let cursor = decode_cursor(page["next_cursor"].as_str().unwrap()).unwrap();
        assert_eq!((cursor.s.as_str(), cursor.v, cursor.i), ("code", format!("C{sent:04}"), sent as i64));

        // A page that fits is sent whole, as serde would write it.
        let small: Vec<Keyed<String>> =
            (1..=3).map(|i| Keyed { item: "x".into(), sort_value: i.to_string(), id: i }).collect();
        let whole = req.finish(small);
        assert_eq!(whole.to_json().unwrap(), serde_json::to_vec(&whole).unwrap());
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
