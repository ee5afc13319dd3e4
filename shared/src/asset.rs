//! An asset as stored and shown, its status, the body that creates or updates one, and the one
//! parse that validates it: used by the assets endpoints and the bulk import alike.

use crate::ApiError;
use crate::audit::{Audited, EntityType};
use crate::validate::{self, Validator, merge, nullable};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::ToSchema;

crate::text_enum! {
    pub enum AssetStatus {
        Active = "active",
        Inactive = "inactive",
        Decommissioned = "decommissioned",
    }
}

/// Assets as CSV: the header an export writes (`GET /api/assets` with `Accept: text/csv`) and an
/// import reads (`POST /api/imports?entity=assets`), so an exported file can be edited and
/// imported back, into this deployment or another (an asset's site is named by its location's
/// code, never by an id).
///
/// | column | value |
/// | --- | --- |
/// | `tag` | unique: the key an import matches rows on |
/// | `location_code` | the code (TID) of the asset's location |
/// | `name` | 1–200 characters |
/// | `category` | empty for none |
/// | `purchase_date` | `YYYY-MM-DD`, empty for none |
/// | `status` | `active`, `inactive` or `decommissioned` |
///
/// Text cells may carry the export's formula guard (a leading `'`); an import removes it with
/// [`crate::csv::unharden`].
pub const CSV_COLUMNS: [&str; 6] = ["tag", "location_code", "name", "category", "purchase_date", "status"];

/// The SELECT list (and RETURNING list) of an [`Asset`].
pub const COLUMNS: &str = "id, location_id, tag, name, category, purchase_date, status, created_at, updated_at";

/// An asset with its location's code: a CSV row.
#[derive(FromRow)]
pub struct ExportRow {
    #[sqlx(flatten)]
    pub asset: Asset,
    pub location_code: String,
}

/// The SELECT list's addition for [`ExportRow`] over `assets` (a subquery: the list's own
/// columns stay unqualified and unambiguous).
pub const LOCATION_CODE: &str = ", (SELECT l.code FROM locations l WHERE l.id = assets.location_id) AS location_code";

/// Writes `row` as the next CSV row, in [`CSV_COLUMNS`] order (the list export and the S3 export).
pub fn write_csv(csv: &mut crate::csv::CsvWriter, row: ExportRow) {
    let a = row.asset;
    csv.text(&a.tag)
        .text(&row.location_code)
        .text(&a.name)
        .opt_text(a.category.as_deref())
        .opt_value(a.purchase_date)
        .value(a.status);
}

#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct Asset {
    pub id: i64,
    pub location_id: i64,
    /// Unique asset tag (serial or inventory number).
    pub tag: String,
    pub name: String,
    pub category: Option<String>,
    pub purchase_date: Option<NaiveDate>,
    #[sqlx(try_from = "String")]
    pub status: AssetStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Audited for Asset {
    const ENTITY: EntityType = EntityType::Asset;
    fn id(&self) -> i64 {
        self.id
    }
}

/// Create body, and update body where an absent field keeps its stored value and `null`
/// clears it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetBody {
    pub location_id: Option<i64>,
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub tag: Option<String>,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 100, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub category: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<NaiveDate>)]
    pub purchase_date: Option<Option<NaiveDate>>,
    /// Default `active`.
    pub status: Option<AssetStatus>,
}

crate::create_body! {
    /// What creates an asset.
    pub struct NewAssetBody(AssetBody) requires ["location_id", "tag", "name"];
}

impl AssetBody {
    /// The update that retires an asset.
    pub fn decommission() -> AssetBody {
        AssetBody { status: Some(AssetStatus::Decommissioned), ..AssetBody::default() }
    }

    pub fn merged_onto(self, stored: &Asset) -> AssetBody {
        AssetBody {
            location_id: self.location_id.or(Some(stored.location_id)),
            tag: self.tag.or_else(|| Some(stored.tag.clone())),
            name: self.name.or_else(|| Some(stored.name.clone())),
            category: Some(merge(stored.category.clone(), self.category)),
            purchase_date: Some(merge(stored.purchase_date, self.purchase_date)),
            status: self.status.or(Some(stored.status)),
        }
    }
}

/// An asset's fields, all valid (the location's existence is checked by its foreign key).
#[derive(Debug, Clone)]
pub struct AssetDraft {
    pub location_id: i64,
    pub tag: String,
    pub name: String,
    pub category: Option<String>,
    pub purchase_date: Option<NaiveDate>,
    pub status: AssetStatus,
}

impl AssetDraft {
    pub fn parse(body: AssetBody) -> Result<AssetDraft, ApiError> {
        let mut v = Validator::new();
        let location_id = v.required("location_id", body.location_id);
        Self::parse_located(v, location_id, body)
    }

    /// The same checks when the site was named another way (an import names it by its code) and
    /// looked up by the caller: `location_id` is what it found, and `v` already holds the error
    /// when it found nothing. `body.location_id` is not read.
    pub fn parse_located(mut v: Validator, location_id: Option<i64>, body: AssetBody) -> Result<AssetDraft, ApiError> {
        let tag = v.required("tag", body.tag).and_then(|t| v.field("tag", validate::line(t, 1, 100)));
        let name = v.required("name", body.name).and_then(|n| v.field("name", validate::line(n, 1, 200)));
        let category = v.field("category", validate::optional_line(body.category.flatten(), 100));
        let purchase_date = body.purchase_date.flatten();
        if purchase_date.is_some_and(|d| d > Utc::now().date_naive()) {
            v.error("purchase_date", "must not be in the future");
        }
        match (location_id, tag, name, category) {
            (Some(location_id), Some(tag), Some(name), Some(category)) if v.is_valid() => Ok(AssetDraft {
                location_id,
                tag,
                name,
                category,
                purchase_date,
                status: body.status.unwrap_or(AssetStatus::Active),
            }),
            _ => Err(v.into_error()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_document_requires_what_parse_requires() {
        use nexus_testkit::schema::required_fields;
        let Err(ApiError::Validation(errors)) = AssetDraft::parse(AssetBody::default()) else { panic!("a 422") };
        let missing: Vec<String> = errors.into_iter().map(|e| e.field).collect();
        assert_eq!(required_fields(<NewAssetBody as utoipa::PartialSchema>::schema()), missing);
    }

    fn parse(body: serde_json::Value) -> Result<AssetDraft, ApiError> {
        AssetDraft::parse(serde_json::from_value(body).unwrap())
    }

    #[test]
    fn defaults_to_active_and_requires_the_essentials() {
        let d = parse(json!({"location_id": 1, "tag": "ATM-1", "name": "Hyosung MX8600"})).unwrap();
        assert_eq!(d.status, AssetStatus::Active);
        let Err(ApiError::Validation(errors)) = parse(json!({"tag": " "})) else { panic!() };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["location_id", "tag", "name"]);
    }

    #[test]
    fn future_purchase_dates_are_refused() {
        assert!(parse(json!({"location_id": 1, "tag": "T", "name": "n", "purchase_date": "2999-01-01"})).is_err());
        assert!(parse(json!({"location_id": 1, "tag": "T", "name": "n", "purchase_date": "2024-02-29"})).is_ok());
    }
}
