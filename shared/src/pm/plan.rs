//! A PM plan as stored, what the generator and the API both read from it, and the SQL that
//! finds the assets in a plan's scope.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::ToSchema;

use super::{Anchor, NonWorking, Recurrence, Schedule, Unit};
use crate::error::ApiError;
use crate::sla::Calendar;
use crate::ticket::Priority;

crate::text_enum! {
    /// `skip_if_open`: no new ticket while the plan's previous one for that asset is not closed
    /// or cancelled (the occurrence is recorded as skipped); `always`: a ticket every time.
    pub enum OpenPolicy { SkipIfOpen = "skip_if_open", Always = "always" }
}

/// The plan columns, for `SELECT {PLAN_COLUMNS} FROM pm_plans`.
pub const PLAN_COLUMNS: &str = "id, name, description, priority, asset_ids, location_ids, categories, regions, every,
    unit, weekdays, day_of_month, anchor, starts_on, ends_on, start_time, calendar_id, non_working,
    generate_ahead_days, open_policy, assigned_to, meter_trigger, active, generated_through, version, created_by,
    created_at, updated_at, checklist_id";

/// [`PLAN_COLUMNS`] qualified by a table alias, for queries that join.
pub fn plan_columns(alias: &str) -> String {
    PLAN_COLUMNS.split(',').map(|c| format!("{alias}.{}", c.trim())).collect::<Vec<_>>().join(", ")
}

#[derive(Debug, Clone, FromRow, Serialize)]
pub struct PlanRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    #[sqlx(try_from = "String")]
    pub priority: Priority,
    pub asset_ids: Option<Vec<i64>>,
    pub location_ids: Option<Vec<i64>>,
    pub categories: Option<Vec<String>>,
    pub regions: Option<Vec<String>>,
    pub every: i32,
    #[sqlx(try_from = "String")]
    pub unit: Unit,
    /// ISO numbers, 1 = Monday.
    pub weekdays: Option<Vec<i16>>,
    pub day_of_month: Option<i16>,
    #[sqlx(try_from = "String")]
    pub anchor: Anchor,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub start_time: NaiveTime,
    pub calendar_id: i64,
    #[sqlx(try_from = "String")]
    pub non_working: NonWorking,
    pub generate_ahead_days: i32,
    #[sqlx(try_from = "String")]
    pub open_policy: OpenPolicy,
    pub assigned_to: Option<i64>,
    pub meter_trigger: Option<serde_json::Value>,
    pub checklist_id: Option<i64>,
    pub active: bool,
    pub generated_through: Option<NaiveDate>,
    pub version: i32,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl PlanRow {
    pub fn recurrence(&self) -> Result<Recurrence, ApiError> {
        let weekdays = self.weekdays.iter().flatten().map(|&n| iso_weekday(n)).collect::<Option<Vec<_>>>();
        let weekdays = weekdays.ok_or_else(|| ApiError::internal(format!("plan {} has a bad weekday", self.id)))?;
        let every = u32::try_from(self.every).unwrap_or(0);
        let day_of_month = self.day_of_month.and_then(|d| u32::try_from(d).ok());
        Recurrence::new(every, self.unit, weekdays, day_of_month)
            .map_err(|e| ApiError::internal(format!("plan {} is stored invalid: {} {}", self.id, e.field, e.message)))
    }

    /// The plan's dates under `calendar` (the plan's `calendar_id`, loaded by the caller).
    pub fn schedule(&self, calendar: Calendar) -> Result<Schedule, ApiError> {
        Ok(Schedule {
            recurrence: self.recurrence()?,
            anchor: self.anchor,
            starts_on: self.starts_on,
            ends_on: self.ends_on,
            start_time: self.start_time,
            non_working: self.non_working,
            calendar,
        })
    }

    /// The stored meter trigger (validated when the plan was saved).
    pub fn meter_trigger(&self) -> Option<MeterTrigger> {
        self.meter_trigger.clone().and_then(|t| serde_json::from_value(t).ok())
    }

    /// How long before an occurrence is due its ticket appears.
    pub fn lead_time(&self) -> chrono::Duration {
        chrono::Duration::days(self.generate_ahead_days.into())
    }
}

/// Monday = 1 … Sunday = 7, as Postgres's `isodow` and the stored plans count.
pub fn iso_weekday(n: i16) -> Option<Weekday> {
    (1..=7).contains(&n).then(|| Weekday::try_from(u8::try_from(n - 1).unwrap_or(0)).ok()).flatten()
}

/// A meter condition that makes PM work (checked when a reading arrives).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeterTrigger {
    /// The meter of this name on each asset in scope.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub meter_name: String,
    /// Cumulative meters: a PM each time the reading has grown by this much since the plan's
    /// last PM on the asset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<f64>,
    /// Gauges: a PM when a reading is above (or below) this value…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub above: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below: Option<f64>,
    /// …and no PM of this plan was made for the asset in the last this many hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 8760)]
    pub cooldown_hours: Option<u32>,
}

/// `(plan_id, asset_id, location_id, timezone)` for every active asset in scope of the plans
/// in a relation named `plans` (the caller's CTE, with pm_plans' scope columns), each row then
/// carrying the columns that replace `(CARRY)` (none in [`assets_in_scope`]).
///
/// Each branch is driven by one criterion with an index behind it (asset ids, location ids,
/// region, category, in that order of preference) and checks the others that may be set on
/// such a plan (the [`SCOPE`] test, less what the branch's own condition already settles), so
/// its cost follows the assets in scope rather than every asset times every plan. The active
/// assets' `(location_id, category)` and `(category, location_id)` indexes carry the id, so
/// the site and region branches and the fleet-wide category one read no asset row.
pub const ASSETS_IN_SCOPE: &str = "
    SELECT p.id AS plan_id, a.id AS asset_id, a.location_id, l.timezone(CARRY)
    FROM plans p JOIN assets a ON a.id = ANY(p.asset_ids) JOIN locations l ON l.id = a.location_id
    WHERE p.asset_ids IS NOT NULL AND a.status = 'active'
      AND (p.location_ids IS NULL OR a.location_id = ANY(p.location_ids))
      AND (p.categories IS NULL OR a.category = ANY(p.categories))
      AND (p.regions IS NULL OR l.region = ANY(p.regions))
    UNION ALL
    SELECT p.id, a.id, a.location_id, l.timezone(CARRY)
    FROM plans p JOIN assets a ON a.location_id = ANY(p.location_ids) JOIN locations l ON l.id = a.location_id
    WHERE p.asset_ids IS NULL AND p.location_ids IS NOT NULL AND a.status = 'active'
      AND (p.categories IS NULL OR a.category = ANY(p.categories))
      AND (p.regions IS NULL OR l.region = ANY(p.regions))
    UNION ALL
    SELECT p.id, a.id, a.location_id, l.timezone(CARRY)
    FROM plans p JOIN locations l ON l.region = ANY(p.regions) JOIN assets a ON a.location_id = l.id
    WHERE p.asset_ids IS NULL AND p.location_ids IS NULL AND p.regions IS NOT NULL AND a.status = 'active'
      AND (p.categories IS NULL OR a.category = ANY(p.categories))
    UNION ALL
    SELECT p.id, a.id, a.location_id, l.timezone(CARRY)
    FROM plans p JOIN assets a ON a.category = ANY(p.categories) JOIN locations l ON l.id = a.location_id
    WHERE p.asset_ids IS NULL AND p.location_ids IS NULL AND p.regions IS NULL AND a.status = 'active'";

/// The whole scope test for one plan `p`, asset `a` and its location `l`.
pub const SCOPE: &str = "a.status = 'active'
    AND (p.asset_ids IS NULL OR a.id = ANY(p.asset_ids))
    AND (p.location_ids IS NULL OR a.location_id = ANY(p.location_ids))
    AND (p.categories IS NULL OR a.category = ANY(p.categories))
    AND (p.regions IS NULL OR l.region = ANY(p.regions))";

/// [`ASSETS_IN_SCOPE`]: `(plan_id, asset_id, location_id, timezone)`.
pub fn assets_in_scope() -> String {
    assets_in_scope_carrying(&[])
}

/// [`ASSETS_IN_SCOPE`] with the columns `carry` on each row, under their own names: columns of
/// the plan (`p.`, the caller's `plans`) or of the asset's location (`l.`), qualified.
pub fn assets_in_scope_carrying(carry: &[&str]) -> String {
    let carry: String = carry.iter().map(|c| format!(", {c}")).collect();
    ASSETS_IN_SCOPE.replace("(CARRY)", &carry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekdays_count_from_monday() {
        assert_eq!(iso_weekday(1), Some(Weekday::Mon));
        assert_eq!(iso_weekday(7), Some(Weekday::Sun));
        assert_eq!(iso_weekday(0), None);
        assert_eq!(iso_weekday(8), None);
    }
}
