//! Assets as CSV: the export writes [`CSV_COLUMNS`] (the columns, and what each holds, are
//! stated there, in `nexus_shared::asset`, for the export and the import alike).

use nexus_shared::asset::{Asset, CSV_COLUMNS};
use nexus_shared::csv::{CsvWriter, Export};
use sqlx::FromRow;

pub const EXPORT: Export =
    Export { name: "assets", columns: &CSV_COLUMNS, narrow_with: "location_id=, status=, category= or q=" };

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
