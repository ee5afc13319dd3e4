//! A location (TID) as stored and shown, the body that creates or updates one, and the one parse
//! that validates it: used by the locations endpoints and the bulk import alike.

use std::str::FromStr;

use crate::ApiError;
use crate::audit::{Audited, EntityType};
use crate::validate::{self, Validator, merge, nullable};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::ToSchema;

pub const DEFAULT_TIMEZONE: &str = "Asia/Jakarta";

/// Locations as CSV: the header an export writes (`GET /api/locations` with `Accept: text/csv`)
/// and an import reads (`POST /api/imports?entity=locations`), so an exported file can be edited
/// and imported back, into this deployment or another (a site is named by its code, never by its
/// id).
///
/// | column | value |
/// | --- | --- |
/// | `code` | the TID, unique: the key an import matches rows on |
/// | `name` | 1–200 characters |
/// | `address` | empty for none |
/// | `latitude`, `longitude` | decimal degrees, both or neither |
/// | `timezone` | IANA name, e.g. `Asia/Makassar` |
/// | `region` | empty for none |
/// | `geofence_m` | 20–5,000 metres |
///
/// Text cells may carry the export's formula guard (a leading `'`); an import removes it with
/// [`crate::csv::unharden`].
pub const CSV_COLUMNS: [&str; 8] =
    ["code", "name", "address", "latitude", "longitude", "timezone", "region", "geofence_m"];

/// The SELECT list (and RETURNING list) of a [`Location`].
pub const COLUMNS: &str =
    "id, code, name, address, latitude, longitude, timezone, region, geofence_m, created_at, updated_at";

/// Writes `l` as the next CSV row, in [`CSV_COLUMNS`] order (the list export and the S3 export).
pub fn write_csv(csv: &mut crate::csv::CsvWriter, l: Location) {
    csv.text(&l.code)
        .text(&l.name)
        .opt_text(l.address.as_deref())
        .opt_value(l.latitude)
        .opt_value(l.longitude)
        .text(&l.timezone)
        .opt_text(l.region.as_deref())
        .value(l.geofence_m);
}

#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct Location {
    pub id: i64,
    /// The TID: unique, 1–100 letters, digits, `-` or `_`.
    pub code: String,
    pub name: String,
    pub address: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// IANA time zone the site's SLA calendars are evaluated in.
    pub timezone: String,
    pub region: Option<String>,
    /// How close to the coordinates a technician's check-in counts as at the site (metres).
    pub geofence_m: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Audited for Location {
    const ENTITY: EntityType = EntityType::Location;
    fn id(&self) -> i64 {
        self.id
    }
}

/// Create body, and update body where an absent field keeps its stored value and `null`
/// clears it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationBody {
    #[schema(pattern = "^[A-Za-z0-9_-]{1,100}$", min_length = 1, max_length = 100)]
    pub code: Option<String>,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 500, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub address: Option<Option<String>>,
    /// -90..90; give latitude and longitude together, or neither.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<f64>, minimum = -90, maximum = 90)]
    pub latitude: Option<Option<f64>>,
    /// -180..180.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<f64>, minimum = -180, maximum = 180)]
    pub longitude: Option<Option<f64>>,
    /// IANA name such as `Asia/Makassar`; default `Asia/Jakarta`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<TimeZoneName>)]
    pub timezone: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 100, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub region: Option<Option<String>>,
    /// Check-ins within this many metres of the coordinates are at the site: 20–5,000, default 200.
    #[schema(minimum = 20, maximum = 5000)]
    pub geofence_m: Option<i32>,
}

crate::create_body! {
    /// What creates a location.
    pub struct NewLocationBody(LocationBody) requires ["code", "name"];
}

impl LocationBody {
    /// The update body completed with the stored values it does not mention.
    pub fn merged_onto(self, stored: &Location) -> LocationBody {
        LocationBody {
            code: self.code.or_else(|| Some(stored.code.clone())),
            name: self.name.or_else(|| Some(stored.name.clone())),
            address: Some(merge(stored.address.clone(), self.address)),
            latitude: Some(merge(stored.latitude, self.latitude)),
            longitude: Some(merge(stored.longitude, self.longitude)),
            timezone: Some(merge(Some(stored.timezone.clone()), self.timezone)),
            region: Some(merge(stored.region.clone(), self.region)),
            geofence_m: self.geofence_m.or(Some(stored.geofence_m)),
        }
    }
}

/// A location's fields, all valid.
#[derive(Debug, Clone)]
pub struct LocationDraft {
    pub code: String,
    pub name: String,
    pub address: Option<String>,
    pub coordinates: Option<(f64, f64)>,
    pub timezone: String,
    pub region: Option<String>,
    pub geofence_m: i32,
}

/// The geofence a location gets unless told otherwise.
pub const DEFAULT_GEOFENCE_M: i32 = 200;

impl LocationDraft {
    pub fn parse(body: LocationBody) -> Result<LocationDraft, ApiError> {
        let mut v = Validator::new();
        let code = v.required("code", body.code).and_then(|c| v.field("code", parse_code(c)));
        let name = v.required("name", body.name).and_then(|n| v.field("name", validate::line(n, 1, 200)));
        let address = v.field("address", validate::optional_line(body.address.flatten(), 500));
        let coordinates = parse_coordinates(&mut v, body.latitude.flatten(), body.longitude.flatten());
        let timezone = v.field("timezone", parse_timezone(body.timezone.flatten()));
        let region = v.field("region", validate::optional_line(body.region.flatten(), 100));
        let geofence_m = body.geofence_m.unwrap_or(DEFAULT_GEOFENCE_M);
        if !(20..=5000).contains(&geofence_m) {
            v.error("geofence_m", "must be 20 to 5,000 metres");
        }
        match (code, name, address, coordinates, timezone, region) {
            (Some(code), Some(name), Some(address), Some(coordinates), Some(timezone), Some(region))
                if v.is_valid() =>
            {
                Ok(LocationDraft { code, name, address, coordinates, timezone, region, geofence_m })
            }
            _ => Err(v.into_error()),
        }
    }
}

fn parse_code(code: String) -> Result<String, String> {
    let ok =
        (1..=100).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok { Ok(code) } else { Err("must be 1 to 100 letters, digits, '-' or '_'".into()) }
}

fn parse_coordinates(v: &mut Validator, latitude: Option<f64>, longitude: Option<f64>) -> Option<Option<(f64, f64)>> {
    // Every problem is named at once: a lone latitude of 123 is out of range *and* unpaired.
    let mut ok = true;
    let mut refuse = |field: &str, why: &str| {
        v.error(field, why);
        ok = false;
    };
    if latitude.is_some_and(|lat| !(-90.0..=90.0).contains(&lat)) {
        refuse("latitude", "must be between -90 and 90");
    }
    if longitude.is_some_and(|lng| !(-180.0..=180.0).contains(&lng)) {
        refuse("longitude", "must be between -180 and 180");
    }
    match (latitude, longitude) {
        (Some(_), None) => refuse("longitude", "is required when latitude is given"),
        (None, Some(_)) => refuse("latitude", "is required when longitude is given"),
        _ => {}
    }
    ok.then(|| latitude.zip(longitude))
}

/// An IANA time zone name; documented as the list of names the server knows (chrono-tz's).
pub struct TimeZoneName;

impl utoipa::PartialSchema for TimeZoneName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let names = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
        ObjectBuilder::new().schema_type(Type::String).enum_values(Some(names)).into()
    }
}

impl ToSchema for TimeZoneName {}

fn parse_timezone(timezone: Option<String>) -> Result<String, String> {
    // Exactly a documented name: a blank or padded one is refused, not read as the default.
    let Some(tz) = timezone else { return Ok(DEFAULT_TIMEZONE.into()) };
    chrono_tz::Tz::from_str(&tz).map(|_| tz).map_err(|_| "must be an IANA time zone name such as Asia/Jakarta".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_document_requires_what_parse_requires() {
        use nexus_testkit::schema::required_fields;
        let Err(ApiError::Validation(errors)) = LocationDraft::parse(LocationBody::default()) else { panic!("a 422") };
        let missing: Vec<String> = errors.into_iter().map(|e| e.field).collect();
        assert_eq!(required_fields(<NewLocationBody as utoipa::PartialSchema>::schema()), missing);
    }

    fn parse(body: serde_json::Value) -> Result<LocationDraft, ApiError> {
        LocationDraft::parse(serde_json::from_value(body).unwrap())
    }

    fn fields(err: ApiError) -> Vec<String> {
        match err {
            ApiError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected 422, got {other:?}"),
        }
    }

    #[test]
    fn a_minimal_body_gets_defaults() {
        let d = parse(json!({"code": "TID-0001", "name": "BCA Thamrin"})).unwrap();
        assert_eq!(d.timezone, "Asia/Jakarta");
        assert_eq!(d.coordinates, None);
    }

    #[test]
    fn coordinates_come_in_pairs_and_in_range() {
        assert_eq!(fields(parse(json!({"code": "A", "name": "n", "latitude": -6.2})).unwrap_err()), ["longitude"]);
        assert_eq!(
            fields(parse(json!({"code": "A", "name": "n", "latitude": 123})).unwrap_err()),
            ["latitude", "longitude"],
            "out of range and unpaired, both named"
        );
        assert_eq!(
            fields(parse(json!({"code": "A", "name": "n", "longitude": -200})).unwrap_err()),
            ["longitude", "latitude"]
        );
        assert_eq!(
            fields(parse(json!({"code": "A", "name": "n", "latitude": 91, "longitude": 181})).unwrap_err()),
            ["latitude", "longitude"]
        );
        let edge = parse(json!({"code": "A", "name": "n", "latitude": -90, "longitude": 180})).unwrap();
        assert_eq!(edge.coordinates, Some((-90.0, 180.0)));
    }

    #[test]
    fn the_geofence_defaults_to_200_metres_within_20_to_5000() {
        assert_eq!(parse(json!({"code": "A", "name": "n"})).unwrap().geofence_m, 200);
        assert_eq!(parse(json!({"code": "A", "name": "n", "geofence_m": 20})).unwrap().geofence_m, 20);
        assert_eq!(parse(json!({"code": "A", "name": "n", "geofence_m": 5000})).unwrap().geofence_m, 5000);
        for bad in [19, 5001, -1] {
            assert_eq!(
                fields(parse(json!({"code": "A", "name": "n", "geofence_m": bad})).unwrap_err()),
                ["geofence_m"]
            );
        }
    }

    #[test]
    fn codes_and_timezones_are_checked() {
        assert_eq!(fields(parse(json!({"code": "TID 1", "name": "n"})).unwrap_err()), ["code"]);
        assert_eq!(fields(parse(json!({"code": "x".repeat(101), "name": "n"})).unwrap_err()), ["code"]);
        assert_eq!(
            fields(parse(json!({"code": "A", "name": "n", "timezone": "Mars/Olympus"})).unwrap_err()),
            ["timezone"]
        );
        assert_eq!(
            parse(json!({"code": "A", "name": "n", "timezone": "Asia/Jayapura"})).unwrap().timezone,
            "Asia/Jayapura"
        );
        assert_eq!(fields(parse(json!({})).unwrap_err()), ["code", "name"]);
        // Exactly a known name: a blank or padded one is not quietly the default.
        for sent in ["", " ", " Asia/Jakarta"] {
            assert_eq!(fields(parse(json!({"code": "A", "name": "n", "timezone": sent})).unwrap_err()), ["timezone"]);
        }
    }
}
