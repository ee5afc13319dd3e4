//! Assets as CSV: the export writes `nexus_shared::asset::CSV_COLUMNS` (the columns, and what
//! each holds, are stated there for the export and the import alike) with
//! `nexus_shared::asset::write_csv`.

use nexus_shared::asset::CSV_COLUMNS;
use nexus_shared::csv::Export;

pub const EXPORT: Export =
    Export { name: "assets", columns: &CSV_COLUMNS, narrow_with: "location_id=, status=, category= or q=" };
