//! Locations as CSV: the columns an export writes (`GET /api/locations` with `Accept: text/csv`)
//! and an import reads (W2 6/7), so an exported file can be edited and imported back, into this
//! deployment or another (a site is named by its code, never by its id).
//!
//! | column | value |
//! | --- | --- |
//! | `code` | the TID, unique: the key an import matches rows on |
//! | `name` | 1–200 characters |
//! | `address` | empty for none |
//! | `latitude`, `longitude` | decimal degrees, both or neither |
//! | `timezone` | IANA name, e.g. `Asia/Makassar` |
//! | `region` | empty for none |
//! | `geofence_m` | 20–5,000 metres |
//!
//! Text cells may carry the export's formula guard (a leading `'`); an import removes it with
//! [`nexus_shared::csv::unharden`].

use nexus_shared::csv::{CsvWriter, Export};

use crate::location::Location;

/// The header row, in order: the contract between export and import.
pub const COLUMNS: [&str; 8] = ["code", "name", "address", "latitude", "longitude", "timezone", "region", "geofence_m"];

pub const EXPORT: Export = Export { name: "locations", columns: &COLUMNS, narrow_with: "region= or q=" };

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
