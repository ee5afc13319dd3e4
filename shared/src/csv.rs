//! CSV exports of lists: a list asked for `Accept: text/csv` answers every row its filters
//! match (`limit` and `cursor` ignored, `sort` kept) as one RFC 4180 file that Excel opens as is.
//!
//! - **Format**: UTF-8 with a byte-order mark (without it Excel reads the file as the local
//!   code page), a header row, CRLF after every row, a field quoted when it holds `"`, `,`, CR or
//!   LF and its quotes doubled. An absent value is an empty field. Times are RFC 3339 in UTC
//!   (`2026-11-29T03:04:05Z`), booleans `true`/`false`, numbers as Rust prints them (never with
//!   an exponent).
//! - **Formula injection** (OWASP, "CSV Injection"): a text cell that begins with `=`, `+`, `-`,
//!   `@`, TAB or CR is prefixed with `'`, so a spreadsheet shows it as text instead of running
//!   it. A text cell beginning with `'` gets one too, which makes the escape reversible:
//!   [`unharden`] removes one leading `'` from every text cell, as the import does. Cells the
//!   server formats itself (numbers, times, enums) are never prefixed: `-6.2` stays a number.
//! - **Size**: API Gateway and Lambda answer at most 6 MB and cannot stream, so the body is
//!   built in memory and capped as [`crate::response_size`] caps every body: at most
//!   [`MAX_BYTES`] (its gzip, base64-encoded, still fits) and at most 6 MB less the envelope as
//!   the plain Lambda response carries it (a JSON string, where a quote or a line end takes two
//!   bytes). Writing stops at the first row past the cap and the request is answered 422, naming
//!   the filters that narrow it and the S3 export; a file is never silently cut short.
//! - **Reading** ([`Reader`]): the same format back, as an import reads it (a BOM or none, CRLF
//!   or LF), record by record, without copying a field unless it holds a doubled quote.

use std::borrow::Cow;
use std::fmt::{Display, Write as _};
use std::future::poll_fn;

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgPool, Postgres, QueryBuilder};

use crate::error::{ApiError, ApiResult};
use crate::pagination::{PageParams, PageRequest, Sorting};

/// The longest export one response carries: 4.7 MB, whose gzip still fits base64-encoded.
pub const MAX_BYTES: usize = crate::response_size::MAX_BODY_BYTES;

/// The media type of an export.
pub const CONTENT_TYPE: &str = "text/csv; charset=utf-8";

const BOM: &str = "\u{feff}";

/// Whether the request asks for CSV: its `Accept` names `text/csv` itself (a wildcard is not
/// enough) with a quality above zero and at least that of JSON (`application/json`,
/// `application/*` or `*/*`, the most specific that is listed). Without `Accept`, or with
/// anything else, the list answers JSON as it always has.
pub fn accepts_csv(headers: &HeaderMap) -> bool {
    // (specificity, q) of the most specific range matching each type.
    let mut csv: Option<(u8, f32)> = None;
    let mut json: Option<(u8, f32)> = None;
    let ranges = headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(','));
    for range in ranges {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut q = 1.0;
        for param in parts {
            if let Some((name, value)) = param.split_once('=')
                && name.trim().eq_ignore_ascii_case("q")
            {
                // An unreadable quality makes the range count for nothing.
                q = value.trim().parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q)).unwrap_or(0.0);
            }
        }
        let note = |slot: &mut Option<(u8, f32)>, specificity: u8| {
            if slot.is_none_or(|(s, _)| specificity > s) {
                *slot = Some((specificity, q));
            }
        };
        match media.as_str() {
            "text/csv" => note(&mut csv, 2),
            "application/json" => note(&mut json, 2),
            "application/*" => note(&mut json, 1),
            "*/*" => note(&mut json, 0),
            _ => {}
        }
    }
    match csv {
        Some((_, q_csv)) => q_csv > 0.0 && q_csv >= json.map_or(0.0, |(_, q)| q),
        None => false,
    }
}

/// The writer has passed its cap: the export must be narrowed.
#[derive(Debug, PartialEq, Eq)]
pub struct TooLarge;

/// An RFC 4180 writer into memory, with the byte-order mark and header row written at creation.
/// Write a row's cells in the header's order, then [`CsvWriter::end_row`].
pub struct CsvWriter {
    buf: String,
    /// Bytes the body takes as a JSON string (what the Lambda response carries).
    weight: usize,
    /// The most `weight` may reach.
    cap: usize,
    /// The most bytes the body may hold.
    len_cap: usize,
    columns: usize,
    cells: usize,
    row_start: usize,
}

impl CsvWriter {
    pub fn new(header: &[&str]) -> Self {
        use crate::response_size::{ENVELOPE, LAMBDA_LIMIT};
        Self { len_cap: MAX_BYTES, ..Self::with_cap(header, LAMBDA_LIMIT - ENVELOPE) }
    }

    /// A writer whose body may weigh `cap` (and so hold no more bytes).
    pub fn with_cap(header: &[&str], cap: usize) -> Self {
        let mut writer =
            Self { buf: BOM.to_string(), weight: 0, cap, len_cap: cap, columns: header.len(), cells: 0, row_start: 0 };
        for name in header {
            writer.value(name);
        }
        // The header alone never exceeds a real cap; a tiny one in a test may.
        let _ = writer.end_row();
        writer
    }

    /// Free text (names, descriptions, codes): quoted when needed and hardened against formulas.
    pub fn text(&mut self, value: &str) -> &mut Self {
        self.cell(value, true)
    }

    pub fn opt_text(&mut self, value: Option<&str>) -> &mut Self {
        self.cell(value.unwrap_or(""), true)
    }

    /// A value the server formats (a number, an enum, a boolean, a date): quoted when needed,
    /// never prefixed.
    pub fn value(&mut self, value: impl Display) -> &mut Self {
        let mut text = String::new();
        let _ = write!(text, "{value}");
        self.cell(&text, false)
    }

    pub fn opt_value(&mut self, value: Option<impl Display>) -> &mut Self {
        match value {
            Some(value) => self.value(value),
            None => self.cell("", false),
        }
    }

    /// An instant as RFC 3339 in UTC, to the second.
    pub fn time(&mut self, value: DateTime<Utc>) -> &mut Self {
        self.cell(&value.to_rfc3339_opts(SecondsFormat::Secs, true), false)
    }

    pub fn opt_time(&mut self, value: Option<DateTime<Utc>>) -> &mut Self {
        match value {
            Some(value) => self.time(value),
            None => self.cell("", false),
        }
    }

    fn cell(&mut self, value: &str, harden: bool) -> &mut Self {
        if self.cells > 0 {
            self.buf.push(',');
        }
        self.cells += 1;
        let prefix = harden && value.starts_with(['=', '+', '-', '@', '\t', '\r', '\'']);
        let quote = value.contains(['"', ',', '\r', '\n']);
        if quote {
            self.buf.push('"');
        }
        if prefix {
            self.buf.push('\'');
        }
        if quote {
            for c in value.chars() {
                if c == '"' {
                    self.buf.push('"');
                }
                self.buf.push(c);
            }
            self.buf.push('"');
        } else {
            self.buf.push_str(value);
        }
        self
    }

    /// Ends the row; past the cap the row stays written but the export is over.
    pub fn end_row(&mut self) -> Result<(), TooLarge> {
        debug_assert_eq!(self.cells, self.columns, "a row must have a cell for each column");
        self.buf.push_str("\r\n");
        self.weight += json_weight(&self.buf.as_bytes()[self.row_start..]);
        self.row_start = self.buf.len();
        self.cells = 0;
        if self.weight > self.cap || self.buf.len() > self.len_cap { Err(TooLarge) } else { Ok(()) }
    }

    pub fn into_string(self) -> String {
        self.buf
    }
}

/// What `bytes` take inside a JSON string as serde_json writes it (the Lambda response, or the
/// API Gateway event a request body arrives in).
pub fn json_weight(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0x00..=0x1f => 6,
            _ => 1,
        })
        .sum()
}

/// One record of a CSV file: its number, counted as a spreadsheet numbers rows (the header is 1,
/// a blank line counts, a quoted line break does not), and its fields.
#[derive(Debug, PartialEq, Eq)]
pub struct Record<'a> {
    pub number: usize,
    pub fields: Vec<Cow<'a, str>>,
}

/// A file that is not CSV from `record` on: where a quote is left open or a closing quote is
/// followed by more text, no later record boundary can be trusted, so reading stops there.
#[derive(Debug, PartialEq, Eq)]
pub struct Malformed {
    pub record: usize,
    pub message: &'static str,
}

/// Reads RFC 4180 text (what [`CsvWriter`] writes, and what spreadsheets save): a leading BOM
/// skipped, fields separated by `,`, records ended by CRLF or LF (the last one need not be), a
/// field in double quotes holding `,`, line breaks and `""` for one quote. Lenient where
/// spreadsheets are: a quote inside an unquoted field is kept as written, and blank lines are
/// skipped (but counted).
pub struct Reader<'a> {
    text: &'a str,
    pos: usize,
    number: usize,
    failed: bool,
}

impl<'a> Reader<'a> {
    pub fn new(text: &'a str) -> Self {
        let text = text.strip_prefix(BOM).unwrap_or(text);
        Self { text, pos: 0, number: 0, failed: false }
    }

    fn fail(&mut self, message: &'static str) -> Option<Result<Record<'a>, Malformed>> {
        self.failed = true;
        Some(Err(Malformed { record: self.number, message }))
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Record<'a>, Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        let (text, bytes) = (self.text, self.text.as_bytes());
        loop {
            if self.failed || self.pos >= bytes.len() {
                return None;
            }
            self.number += 1;
            match &bytes[self.pos..] {
                [b'\n', ..] => self.pos += 1,
                [b'\r', b'\n', ..] => self.pos += 2,
                _ => break,
            }
        }
        let mut fields = Vec::new();
        loop {
            let pos = self.pos;
            if bytes.get(pos) == Some(&b'"') {
                // A quoted field: up to the quote that is not doubled.
                let mut owned: Option<String> = None;
                let (mut segment, mut at) = (pos + 1, pos + 1);
                let close = loop {
                    let Some(q) = bytes[at..].iter().position(|b| *b == b'"').map(|i| at + i) else {
                        return self.fail("a quoted field is not closed");
                    };
                    if bytes.get(q + 1) == Some(&b'"') {
                        owned.get_or_insert_with(String::new).push_str(&text[segment..=q]);
                        (segment, at) = (q + 2, q + 2);
                    } else {
                        break q;
                    }
                };
                fields.push(match owned {
                    None => Cow::Borrowed(&text[segment..close]),
                    Some(mut value) => {
                        value.push_str(&text[segment..close]);
                        Cow::Owned(value)
                    }
                });
                match &bytes[close + 1..] {
                    [b',', ..] => self.pos = close + 2,
                    [b'\n', ..] => {
                        self.pos = close + 2;
                        break;
                    }
                    [b'\r', b'\n', ..] => {
                        self.pos = close + 3;
                        break;
                    }
                    [] => {
                        self.pos = close + 1;
                        break;
                    }
                    _ => return self.fail("a closing quote must end its field (write a quote inside one as \"\")"),
                }
            } else {
                let end = bytes[pos..].iter().position(|b| *b == b',' || *b == b'\n').map_or(bytes.len(), |i| pos + i);
                let at_line_end = bytes.get(end) != Some(&b',');
                let mut value = &text[pos..end];
                if at_line_end && bytes.get(end) == Some(&b'\n') {
                    value = value.strip_suffix('\r').unwrap_or(value);
                }
                fields.push(Cow::Borrowed(value));
                self.pos = end + 1;
                if at_line_end {
                    break;
                }
            }
        }
        Some(Ok(Record { number: self.number, fields }))
    }
}

/// The text cell as it was before [`CsvWriter::text`] hardened it: one leading `'` removed.
/// What an import applies to every text cell it reads.
pub fn unharden(cell: &str) -> &str {
    cell.strip_prefix('\'').unwrap_or(cell)
}

/// An export's body with its headers: `text/csv; charset=utf-8`, an attachment named
/// `<name>-<UTC date>.csv`, and `Vary: Accept` (the same URL also answers JSON).
pub struct CsvBody {
    pub filename: String,
    pub body: String,
}

impl IntoResponse for CsvBody {
    fn into_response(self) -> Response {
        let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", self.filename))
            .unwrap_or(HeaderValue::from_static("attachment"));
        (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE)),
                (header::CONTENT_DISPOSITION, disposition),
                (header::VARY, HeaderValue::from_static("accept")),
            ],
            self.body,
        )
            .into_response()
    }
}

/// One list's export: the file's name (`tickets` gives `tickets-2026-11-29.csv`), its columns,
/// and the filters a 422 suggests to narrow it.
pub struct Export {
    pub name: &'static str,
    pub columns: &'static [&'static str],
    pub narrow_with: &'static str,
}

impl Export {
    /// The list's order for the export: its `sort` (validated like the list's; `limit` and
    /// `cursor` ignored) and a LIMIT one row above the most rows that can fit under the cap (even
    /// all-empty rows take a comma per column and a line end), so a list too big to export is
    /// read no further than needed to find out.
    pub fn order<S: Sorting>(&self, params: PageParams<S>) -> ApiResult<PageRequest> {
        let mut sorted = PageParams::<S>::default();
        sorted.sort = params.sort;
        let mut order = sorted.resolve()?;
        // An empty row: a comma between each two cells and CRLF.
        order.limit = (MAX_BYTES / (self.columns.len() + 1)) as i64;
        Ok(order)
    }

    /// Runs `query` (filtered, with `order`'s ORDER BY and LIMIT pushed) and writes each row
    /// with `write` as it arrives, holding no more than the body in memory.
    pub async fn run<T>(
        &self,
        pool: &PgPool,
        mut query: QueryBuilder<Postgres>,
        mut write: impl FnMut(&mut CsvWriter, T),
    ) -> ApiResult<CsvBody>
    where
        T: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        let mut conn = pool.acquire().await?;
        let mut csv = CsvWriter::new(self.columns);
        let mut too_large = false;
        {
            let mut rows = query.build_query_as::<T>().fetch(&mut *conn);
            // `poll_next` of the stream's `dyn Stream` (no futures crate needed for one call).
            while let Some(row) = poll_fn(|cx| rows.as_mut().poll_next(cx)).await {
                write(&mut csv, row?);
                if csv.end_row().is_err() {
                    too_large = true;
                    break;
                }
            }
        }
        if too_large {
            // The rest of the result is still coming: closing the connection ends it, where
            // returning it to the pool would read it all first.
            conn.close_on_drop();
            return Err(self.too_large());
        }
        let filename = format!("{}-{}.csv", self.name, Utc::now().format("%Y-%m-%d"));
        Ok(CsvBody { filename, body: csv.into_string() })
    }

    pub fn too_large(&self) -> ApiError {
        ApiError::validation(
            "filter",
            format!(
                "The export would exceed {}, the most one response can carry; narrow it with {}, or ask \
                 POST /api/exports for the whole file in S3.",
                crate::response_size::MAX_BODY_TEXT,
                self.narrow_with
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(values: &[&str]) -> bool {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        }
        accepts_csv(&headers)
    }

    #[test]
    fn csv_only_when_asked_for_by_name() {
        assert!(accept(&["text/csv"]));
        assert!(accept(&["Text/CSV; charset=utf-8"]));
        assert!(accept(&["text/csv, */*;q=0.1"]));
        assert!(accept(&["application/json;q=0.5, text/csv"]));
        assert!(accept(&["application/json", "text/csv"]), "a tie goes to the type named");
        assert!(accept(&["text/csv;q=0.8, application/*;q=0.5"]));
        assert!(!accept(&[]));
        assert!(!accept(&["*/*"]));
        assert!(!accept(&["text/*"]));
        assert!(!accept(&["application/json"]));
        assert!(!accept(&["text/csv;q=0"]));
        assert!(!accept(&["text/csv;q=0.5, application/json"]));
        assert!(!accept(&["text/csv;q=0.5, */*"]));
        assert!(!accept(&["text/csv;q=oops"]));
        assert!(!accept(&["text/csvx"]));
    }

    fn row(cells: &[&str]) -> String {
        let mut w = CsvWriter::with_cap(&["a"; 3][..cells.len()], usize::MAX);
        for c in cells {
            w.text(c);
        }
        w.end_row().unwrap();
        w.into_string()
    }

    #[test]
    fn bom_header_crlf_and_rfc4180_quoting() {
        let body = row(&["plain", "a,b", "say \"hi\""]);
        assert_eq!(body, "\u{feff}a,a,a\r\nplain,\"a,b\",\"say \"\"hi\"\"\"\r\n");
        assert_eq!(row(&["two\nlines", "cr\rhere"]), "\u{feff}a,a\r\n\"two\nlines\",\"cr\rhere\"\r\n");
        assert_eq!(row(&[""]), "\u{feff}a\r\n\r\n");
    }

    #[test]
    fn formulas_are_defused_reversibly_in_text_only() {
        let body = row(&["=SUM(A1)", "+1", "-2"]);
        assert!(body.ends_with("'=SUM(A1),'+1,'-2\r\n"), "{body}");
        let body = row(&["@cmd", "\tx", "'quoted"]);
        assert!(body.ends_with("'@cmd,'\tx,''quoted\r\n"), "{body}");
        assert!(row(&["\rx"]).ends_with("\"'\rx\"\r\n"), "prefixed inside the quotes");
        for original in ["=SUM(A1)", "'quoted", "plain", "-"] {
            let body = row(&[original]);
            let cell = body.strip_prefix("\u{feff}a\r\n").unwrap().strip_suffix("\r\n").unwrap();
            assert_eq!(unharden(cell), original);
        }
        let mut w = CsvWriter::with_cap(&["lat", "when", "none"], usize::MAX);
        w.value(-6.2).time(DateTime::from_timestamp(1_800_000_000, 123).unwrap()).opt_value(None::<i32>);
        w.end_row().unwrap();
        assert!(w.into_string().ends_with("\r\n-6.2,2027-01-15T08:00:00Z,\r\n"));
    }

    #[test]
    fn the_cap_counts_the_body_as_a_json_string() {
        // BOM (3 bytes, not escaped), `a` and CRLF (`\r\n`, 4 bytes).
        let mut w = CsvWriter::with_cap(&["a"], 24);
        assert_eq!(w.weight, 8);
        // Six quotes (the two sent, doubled and enclosed) at 2 bytes each, and CRLF: exactly 24.
        w.text("\"\"");
        assert_eq!(w.end_row(), Ok(()));
        w.text("x");
        assert_eq!(w.end_row(), Err(TooLarge));
    }

    fn read(text: &str) -> Vec<Result<(usize, Vec<String>), Malformed>> {
        Reader::new(text).map(|r| r.map(|r| (r.number, r.fields.into_iter().map(String::from).collect()))).collect()
    }

    fn ok(number: usize, fields: &[&str]) -> Result<(usize, Vec<String>), Malformed> {
        Ok((number, fields.iter().map(|f| f.to_string()).collect()))
    }

    #[test]
    fn reads_what_it_writes_and_what_spreadsheets_save() {
        let mut w = CsvWriter::with_cap(&["a", "b", "c"], usize::MAX);
        w.text("a,b").text("say \"hi\"").text("two\r\nlines");
        w.end_row().unwrap();
        w.text("").text("=1").opt_text(None);
        w.end_row().unwrap();
        assert_eq!(
            read(&w.into_string()),
            [ok(1, &["a", "b", "c"]), ok(2, &["a,b", "say \"hi\"", "two\r\nlines"]), ok(3, &["", "'=1", ""])]
        );
        // No BOM, LF ends, no final line end, a blank line counted but skipped, empty fields.
        assert_eq!(read("x,y\n\n1,\n,2"), [ok(1, &["x", "y"]), ok(3, &["1", ""]), ok(4, &["", "2"])]);
        assert_eq!(read("\u{feff}x\r\n\r\n"), [ok(1, &["x"])]);
        assert_eq!(read(""), []);
        // A quote inside an unquoted field is kept; a lone CR stays in its field.
        assert_eq!(read("5\" screen,a\rb\r\n"), [ok(1, &["5\" screen", "a\rb"])]);
        assert_eq!(read("\"\",\"\"\"\""), [ok(1, &["", "\""])]);
    }

    #[test]
    fn a_broken_quote_stops_the_reading_where_it_starts() {
        assert_eq!(
            read("a\n\"open,b\nc\n"),
            [ok(1, &["a"]), Err(Malformed { record: 2, message: "a quoted field is not closed" })]
        );
        let after = read("a\n\"x\"y,b\nc\n");
        assert_eq!(after[0], ok(1, &["a"]));
        assert!(matches!(after[1], Err(Malformed { record: 2, .. })), "{after:?}");
        assert_eq!(after.len(), 2);
    }
}
