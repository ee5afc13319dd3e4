//! The file as a whole: its encoding, its header against the entity's columns, its records cut
//! into cells, and the mistakes only a file can make (a missing, unknown or repeated column, a
//! record of the wrong width, a key given twice). What a cell must hold is the entity's parse,
//! shared with the single-row endpoints (`nexus_shared::location`, `nexus_shared::asset`).

use std::borrow::Cow;
use std::collections::HashMap;

use nexus_shared::csv::{Reader, unharden};
use nexus_shared::error::FieldError;
use serde::Serialize;
use sqlx::FromRow;
use utoipa::ToSchema;

nexus_shared::text_enum! {
    /// What kind of mistake an error is.
    pub enum ImportErrorCode {
        /// The file is not UTF-8.
        Encoding = "encoding",
        /// Not CSV from this row on (a quote left open, text after a closing quote): the rest of
        /// the file was not read.
        Malformed = "malformed",
        /// The header lacks a column the entity requires.
        MissingColumn = "missing_column",
        /// The header names a column the entity does not have.
        UnknownColumn = "unknown_column",
        /// The header names a column twice.
        DuplicateColumn = "duplicate_column",
        /// A row has more or fewer cells than the header.
        FieldCount = "field_count",
        /// A row repeats the key (code, tag) of an earlier row.
        DuplicateKey = "duplicate_key",
        /// An asset names a site (`location_code`) that does not exist.
        UnknownLocation = "unknown_location",
        /// A value the entity refuses, with the single-row endpoint's own message.
        Invalid = "invalid",
    }
}

/// One mistake in the file.
#[derive(Debug, Clone, PartialEq, Serialize, FromRow, ToSchema)]
pub struct ImportRowError {
    /// The row as a spreadsheet numbers it: the header is row 1, the first data row row 2.
    #[sqlx(rename = "row_number")]
    pub row: i32,
    /// The column (its header name); empty when the error is the whole row's.
    #[sqlx(rename = "column_name")]
    pub column: String,
    #[sqlx(try_from = "String")]
    pub code: ImportErrorCode,
    pub message: String,
}

impl ImportRowError {
    pub fn new(row: usize, column: &str, code: ImportErrorCode, message: impl Into<String>) -> Self {
        Self { row: i32::try_from(row).unwrap_or(i32::MAX), column: column.into(), code, message: message.into() }
    }

    /// As a problem's `errors` entry: `{field: "row 12: latitude", message}`.
    pub fn field_error(&self) -> FieldError {
        let field = if self.column.is_empty() {
            format!("row {}", self.row)
        } else {
            format!("row {}: {}", self.row, self.column)
        };
        FieldError::new(field, self.message.clone())
    }
}

/// Columns an export writes that an import does not read: a row is matched by its key, and the
/// times are the server's.
pub const IGNORED: [&str; 3] = ["id", "created_at", "updated_at"];

/// What an entity's file holds: its columns (the export's header, in order) and those a file must
/// have (the key and what a new row cannot do without).
pub struct Columns {
    pub names: &'static [&'static str],
    pub required: &'static [&'static str],
}

/// A record's cells by the entity's column index.
pub struct Row<'a> {
    pub number: usize,
    cells: Vec<Option<Cow<'a, str>>>,
}

impl Row<'_> {
    /// The cell of column `i` as written (`None`: the file has no such column).
    pub fn raw(&self, i: usize) -> Option<&str> {
        self.cells.get(i).and_then(|c| c.as_deref())
    }

    /// A text cell the exporter may have hardened against formulas: its leading `'` removed.
    pub fn text(&self, i: usize) -> Option<&str> {
        self.raw(i).map(unharden)
    }

    /// The row's key (column 0): unhardened and trimmed, as the parse keeps it.
    pub fn key(&self) -> &str {
        self.text(0).map(str::trim).unwrap_or("")
    }
}

/// The file read: its data rows (those of the right width) and the mistakes found so far.
pub struct File<'a> {
    /// Data rows in the file, whatever their state.
    pub rows: usize,
    pub valid_width: Vec<Row<'a>>,
    pub errors: Vec<ImportRowError>,
}

/// Decodes the bytes (UTF-8, a BOM or none); refused as a whole otherwise. A NUL byte is refused
/// too: no text column can store U+0000, and a file full of them is UTF-16 ("Unicode text").
pub fn decode(bytes: &[u8]) -> Result<&str, ImportRowError> {
    let line_of = |end: usize| bytes[..end].iter().filter(|b| **b == b'\n').count() + 1;
    if let Some(at) = bytes.iter().position(|b| *b == 0) {
        let message = "holds the NUL character (U+0000): save the file as \"CSV UTF-8\"";
        return Err(ImportRowError::new(line_of(at), "", ImportErrorCode::Encoding, message));
    }
    std::str::from_utf8(bytes).map_err(|e| {
        ImportRowError::new(
            line_of(e.valid_up_to()),
            "",
            ImportErrorCode::Encoding,
            "is not UTF-8: save the file as \"CSV UTF-8\"",
        )
    })
}

/// Reads the header and every record. A header that lacks or mistakes a column stops there (no
/// row can be read against it); a record of the wrong width is an error and skipped.
pub fn read<'a>(text: &'a str, columns: &Columns) -> File<'a> {
    let mut records = Reader::new(text);
    let mut file = File { rows: 0, valid_width: Vec::new(), errors: Vec::new() };
    let header = match records.next() {
        None => {
            let names = columns.names.join(",");
            file.errors.push(ImportRowError::new(
                1,
                "",
                ImportErrorCode::MissingColumn,
                format!("the file is empty: the first row must be the header ({names})"),
            ));
            return file;
        }
        Some(Err(e)) => {
            file.errors.push(ImportRowError::new(e.record, "", ImportErrorCode::Malformed, e.message));
            return file;
        }
        Some(Ok(header)) => header,
    };
    let Some(positions) = header_positions(&header.fields, header.number, columns, &mut file.errors) else {
        return file;
    };
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let message = format!("{}; the rest of the file was not read", e.message);
                file.errors.push(ImportRowError::new(e.record, "", ImportErrorCode::Malformed, message));
                // The malformed record counts as a row; what follows it is unknown.
                file.rows += 1;
                break;
            }
        };
        file.rows += 1;
        if record.fields.len() != header.fields.len() {
            file.errors.push(ImportRowError::new(
                record.number,
                "",
                ImportErrorCode::FieldCount,
                format!("has {} cells where the header has {}", record.fields.len(), header.fields.len()),
            ));
            continue;
        }
        let mut fields: Vec<Option<Cow<str>>> = record.fields.into_iter().map(Some).collect();
        let cells = positions.iter().map(|p| p.and_then(|p| fields[p].take())).collect();
        file.valid_width.push(Row { number: record.number, cells });
    }
    file
}

/// Where each of the entity's columns is in the header (`None`: absent), or `None` when the
/// header is wrong (its errors recorded).
fn header_positions(
    header: &[Cow<str>],
    row: usize,
    columns: &Columns,
    errors: &mut Vec<ImportRowError>,
) -> Option<Vec<Option<usize>>> {
    let before = errors.len();
    let mut positions = vec![None; columns.names.len()];
    let mut seen = HashMap::new();
    for (at, name) in header.iter().enumerate() {
        let name = name.trim();
        if seen.insert(name, at).is_some() {
            errors.push(ImportRowError::new(
                row,
                name,
                ImportErrorCode::DuplicateColumn,
                "is named twice in the header",
            ));
            continue;
        }
        match columns.names.iter().position(|c| *c == name) {
            Some(i) => positions[i] = Some(at),
            None if IGNORED.contains(&name) => {}
            None => errors.push(ImportRowError::new(
                row,
                name,
                ImportErrorCode::UnknownColumn,
                format!("is not a column of this file; the columns are {}", columns.names.join(", ")),
            )),
        }
    }
    for required in columns.required {
        if !seen.contains_key(required) {
            errors.push(ImportRowError::new(row, required, ImportErrorCode::MissingColumn, "is a required column"));
        }
    }
    (errors.len() == before).then_some(positions)
}

/// Marks every row that repeats an earlier row's key; returns the rows that may be planned (a
/// repeated key is refused in each of its rows after the first, which stays).
pub fn refuse_repeated_keys<'a>(rows: Vec<Row<'a>>, column: &str, errors: &mut Vec<ImportRowError>) -> Vec<Row<'a>> {
    let mut first: HashMap<String, usize> = HashMap::with_capacity(rows.len());
    let mut kept = Vec::with_capacity(rows.len());
    for row in rows {
        let key = row.key();
        if !key.is_empty()
            && let Some(earlier) = first.get(key)
        {
            errors.push(ImportRowError::new(
                row.number,
                column,
                ImportErrorCode::DuplicateKey,
                format!("repeats row {earlier}"),
            ));
            continue;
        }
        if !key.is_empty() {
            first.insert(key.to_string(), row.number);
        }
        kept.push(row);
    }
    kept
}

/// Records a parse's refusal of a row: each field it names, except those whose cell could not
/// even be read (already reported, and which the parse then saw as absent).
pub fn refused(row: usize, refusal: nexus_shared::ApiError, unreadable: &[&str], errors: &mut Vec<ImportRowError>) {
    match refusal {
        nexus_shared::ApiError::Validation(fields) => {
            for f in fields.into_iter().filter(|f| !unreadable.contains(&f.field.as_str())) {
                errors.push(ImportRowError::new(row, &f.field, ImportErrorCode::Invalid, f.message));
            }
        }
        other => errors.push(ImportRowError::new(row, "", ImportErrorCode::Invalid, other.to_string())),
    }
}

/// A file checked against the stored rows: what applying it would do to each valid row, every
/// error, and what an apply writes (`drafts`, with the stored rows they change, by key).
pub struct Checked<D, T> {
    pub rows: usize,
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub errors: Vec<ImportRowError>,
    pub drafts: Vec<D>,
    pub stored: HashMap<String, T>,
}

impl<D, T> Checked<D, T> {
    pub fn new(rows: usize, errors: Vec<ImportRowError>, stored: HashMap<String, T>) -> Self {
        Self { rows, inserted: 0, updated: 0, unchanged: 0, errors, drafts: Vec::new(), stored }
    }

    /// Counts a valid row as what it would do: a new key inserts, a stored one updates unless
    /// every value is already the stored one.
    pub fn count(&mut self, draft: D, stored: Option<&T>, same: impl FnOnce(&D, &T) -> bool) {
        match stored {
            None => self.inserted += 1,
            Some(stored) if same(&draft, stored) => self.unchanged += 1,
            Some(_) => self.updated += 1,
        }
        self.drafts.push(draft);
    }

    /// The errors by row, the header first (stable: a row's own stay in the order found).
    pub fn finish(mut self) -> Self {
        self.errors.sort_by_key(|e| e.row);
        self
    }
}

/// Reads typed cells (numbers, dates, enums) the way the JSON body's types would, recording a
/// cell that cannot be read: an empty cell is `None` (no value).
pub struct Cells<'r, 'a> {
    pub row: &'r Row<'a>,
    pub errors: Vec<ImportRowError>,
    pub unreadable: Vec<&'static str>,
}

impl<'r, 'a> Cells<'r, 'a> {
    pub fn new(row: &'r Row<'a>) -> Self {
        Self { row, errors: Vec::new(), unreadable: Vec::new() }
    }

    /// Column `i` (named `name`): absent → `None`; empty → `Some(None)`; else `read` of it.
    pub fn typed<T>(
        &mut self,
        i: usize,
        name: &'static str,
        read: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<Option<T>> {
        let cell = self.row.raw(i)?.trim();
        if cell.is_empty() {
            return Some(None);
        }
        match read(cell) {
            Ok(value) => Some(Some(value)),
            Err(message) => {
                self.errors.push(ImportRowError::new(self.row.number, name, ImportErrorCode::Invalid, message));
                self.unreadable.push(name);
                None
            }
        }
    }

    /// A column whose value is never empty (the key, a name, a time zone): an empty cell is
    /// refused here rather than read as "no value".
    pub fn required<T>(&mut self, name: &'static str, value: Option<Option<T>>) -> Option<T> {
        match value {
            Some(None) => {
                self.errors.push(ImportRowError::new(
                    self.row.number,
                    name,
                    ImportErrorCode::Invalid,
                    "must not be empty",
                ));
                self.unreadable.push(name);
                None
            }
            Some(Some(v)) => Some(v),
            None => None,
        }
    }

    /// A text cell, unhardened: absent → `None`; else the text (empty included).
    pub fn text(&self, i: usize) -> Option<String> {
        self.row.text(i).map(str::to_string)
    }
}

/// A decimal number as the JSON body takes one: finite.
pub fn number(cell: &str) -> Result<f64, String> {
    cell.parse::<f64>().ok().filter(|n| n.is_finite()).ok_or_else(|| "must be a number".to_string())
}

/// A whole number.
pub fn whole(cell: &str) -> Result<i32, String> {
    cell.parse::<i32>().map_err(|_| "must be a whole number".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: Columns = Columns { names: &["code", "name", "region"], required: &["code", "name"] };

    fn errors_of(text: &str) -> Vec<(i32, String, ImportErrorCode)> {
        read(text, &COLUMNS).errors.into_iter().map(|e| (e.row, e.column, e.code)).collect()
    }

    #[test]
    fn the_header_must_name_the_required_columns_and_only_known_ones() {
        assert_eq!(
            errors_of("code,colour,code\r\n"),
            [
                (1, "colour".into(), ImportErrorCode::UnknownColumn),
                (1, "code".into(), ImportErrorCode::DuplicateColumn),
                (1, "name".into(), ImportErrorCode::MissingColumn)
            ]
        );
        assert_eq!(errors_of(""), [(1, "".into(), ImportErrorCode::MissingColumn)]);
        // The export's own extras are ignored, and the order is free.
        let file = read("\u{feff}updated_at,name,id,code\r\nx,Site,7,A\r\n", &COLUMNS);
        assert!(file.errors.is_empty(), "{:?}", file.errors);
        let row = &file.valid_width[0];
        assert_eq!((row.raw(0), row.raw(1), row.raw(2)), (Some("A"), Some("Site"), None));
    }

    #[test]
    fn a_row_of_the_wrong_width_is_refused_and_the_others_read() {
        let file = read("code,name\nA,a\nB\nC,c,extra\nD,d\n", &COLUMNS);
        assert_eq!(file.rows, 4);
        assert_eq!(file.valid_width.iter().map(|r| r.number).collect::<Vec<_>>(), [2, 5]);
        let found: Vec<_> = file.errors.iter().map(|e| (e.row, e.code)).collect();
        assert_eq!(found, [(3, ImportErrorCode::FieldCount), (4, ImportErrorCode::FieldCount)]);
    }

    #[test]
    fn repeated_keys_are_refused_after_their_first_row() {
        let file = read("code,name\nA,a\n'B,b\nA,again\nB,b2\n,empty\n,empty\n", &COLUMNS);
        let mut errors = Vec::new();
        let kept = refuse_repeated_keys(file.valid_width, "code", &mut errors);
        assert_eq!(kept.iter().map(|r| r.number).collect::<Vec<_>>(), [2, 3, 6, 7]);
        assert_eq!(
            errors.iter().map(|e| (e.row, e.message.as_str())).collect::<Vec<_>>(),
            [(4, "repeats row 2"), (5, "repeats row 3")]
        );
    }

    #[test]
    fn a_nul_byte_is_refused_at_its_line() {
        let refused = decode(b"code,name\nJKT1,Site\nJKT2,Si\0te\n").unwrap_err();
        assert_eq!((refused.row, refused.code), (3, ImportErrorCode::Encoding));
        // UTF-16 ("Unicode text" in a spreadsheet's save dialog) is full of them.
        let utf16: Vec<u8> = "code,name".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(decode(&utf16).unwrap_err().row, 1);
    }

    #[test]
    fn a_file_that_is_not_utf8_is_refused_at_its_line() {
        let error = decode(b"code,name\nA,caf\xe9\n").unwrap_err();
        assert_eq!((error.row, error.code), (2, ImportErrorCode::Encoding));
    }
}
