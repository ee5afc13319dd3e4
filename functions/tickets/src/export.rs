//! The tickets list as CSV (`Accept: text/csv`): the file `nexus_shared::ticket::export`
//! describes, which the S3 export writes too.

use nexus_shared::csv::Export;

pub const EXPORT: Export = Export {
    name: "tickets",
    columns: nexus_shared::ticket::EXPORT_COLUMNS,
    narrow_with: "status=, priority=, ticket_type=, region=, location_id=, asset_id=, assigned_to=, breached=, \
                  due_before= or scheduled_before=",
};
