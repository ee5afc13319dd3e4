//! Assets as CSV: the columns an export writes (`GET /api/assets` with `Accept: text/csv`) and
//! an import reads (W2 6/7), so an exported file can be edited and imported back, into this
//! deployment or another (an asset's site is named by its location's code, never by an id).
//!
//! | column | value |
//! | --- | --- |
//! | `tag` | unique: the key an import matches rows on |
//! | `location_code` | the code (TID) of the asset's location |
//! | `name` | 1–200 characters |
//! | `category` | empty for none |
//! | `purchase_date` | `YYYY-MM-DD`, empty for none |
//! | `status` | `active`, `inactive` or `decommissioned` |
//!
//! Text cells may carry the export's formula guard (a leading `'`); an import removes it with
//! [`nexus_shared::csv::unharden`].

use nexus_shared::csv::{CsvWriter, Export};
use sqlx::FromRow;

use crate::asset::Asset;

/// The header row, in order: the contract between export and import.
pub const COLUMNS: [&str; 6] = ["tag", "location_code", "name", "category", "purchase_date", "status"];

pub const EXPORT: Export =
    Export { name: "assets", columns: &COLUMNS, narrow_with: "location_id=, status=, category= or q=" };

/// An asset with its location's code.
#[derive(FromRow)]
pub struct ExportRow {
    #[sqlx(flatten)]
    pub asset: Asset,
    pub location_code: String,
}

/// The SELECT list's addition for [`ExportRow`] (a subquery: the list's own columns stay
/// unqualified and unambiguous).
pub const LOCATION_CODE: &str = ", (SELECT l.code FROM locations l WHERE l.id = assets.location_id) AS location_code";

pub fn write(csv: &mut CsvWriter, row: ExportRow) {
    let a = row.asset;
    csv.text(&a.tag)
        .text(&row.location_code)
        .text(&a.name)
        .opt_text(a.category.as_deref())
        .opt_value(a.purchase_date)
        .value(a.status);
}
