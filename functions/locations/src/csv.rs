//! Locations as CSV: the export writes [`CSV_COLUMNS`] (the columns, and what each holds, are
//! stated there, in `nexus_shared::location`, for the export and the import alike).

use nexus_shared::csv::{CsvWriter, Export};
use nexus_shared::location::{CSV_COLUMNS, Location};

pub const EXPORT: Export = Export { name: "locations", columns: &CSV_COLUMNS, narrow_with: "region= or q=" };

pub fn write(csv: &mut CsvWriter, l: Location) {
    csv.text(&l.code)
        .text(&l.name)
        .opt_text(l.address.as_deref())
        .opt_value(l.latitude)
        .opt_value(l.longitude)
        .text(&l.timezone)
        .opt_text(l.region.as_deref())
        .value(l.geofence_m);
}
