//! Locations as CSV: the export writes `nexus_shared::location::CSV_COLUMNS` (the columns, and
//! what each holds, are stated there for the export and the import alike) with
//! `nexus_shared::location::write_csv`.

use nexus_shared::csv::Export;
use nexus_shared::location::CSV_COLUMNS;

pub const EXPORT: Export = Export { name: "locations", columns: &CSV_COLUMNS, narrow_with: "region= or q=" };
