//! A PM plan as the API shows it, and the body that creates or changes one.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc, Weekday};
use nexus_shared::ApiError;
use nexus_shared::audit::{Audited, EntityType};
use nexus_shared::pm::{Anchor, MeterTrigger, NonWorking, OpenPolicy, PlanRow, Recurrence, Unit};
use nexus_shared::ticket::Priority;
use nexus_shared::validate::{self, Validator, merge, nullable};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

nexus_shared::text_enum! {
    pub enum Day { Mon = "mon", Tue = "tue", Wed = "wed", Thu = "thu", Fri = "fri", Sat = "sat", Sun = "sun" }
}

impl Day {
    fn weekday(self) -> Weekday {
        Weekday::try_from(Day::ALL.iter().position(|d| *d == self).unwrap_or(0) as u8).unwrap_or(Weekday::Mon)
    }

    fn of(weekday: Weekday) -> Day {
        Day::ALL[weekday.num_days_from_monday() as usize]
    }
}

/// A category or region named in a scope.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ScopeValue(pub String);

/// Documented as the line it is checked to be.
impl utoipa::PartialSchema for ScopeValue {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(1))
            .max_length(Some(100))
            .pattern(Some(r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"))
            .into()
    }
}

impl ToSchema for ScopeValue {}

/// Which assets a plan covers: criteria AND-ed, the values within one OR-ed; only active
/// assets, evaluated at each generation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_items = 1000, min_items = 1)]
    pub asset_ids: Option<Vec<i64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_items = 1000, min_items = 1)]
    pub location_ids: Option<Vec<i64>>,
    /// Asset categories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_items = 100, min_items = 1)]
    pub category: Option<Vec<ScopeValue>>,
    /// Location regions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_items = 100, min_items = 1)]
    pub region: Option<Vec<ScopeValue>>,
}

/// Every `every` days, weeks or months. `weekdays` (weeks only) default to the weekday of
/// `starts_on`; `day_of_month` (months only; past a month's end: its last day) to its day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecurrenceBody {
    #[schema(minimum = 1, maximum = 366)]
    pub every: u32,
    pub unit: Unit,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_items = 7, min_items = 1)]
    pub weekdays: Option<Vec<Day>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 31)]
    pub day_of_month: Option<u32>,
}

/// A preventive maintenance plan.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PmPlan {
    pub id: i64,
    pub name: String,
    /// Copied onto every generated ticket.
    pub description: String,
    pub priority: Priority,
    pub scope: Scope,
    pub recurrence: RecurrenceBody,
    pub anchor: Anchor,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    /// `HH:MM`, in each site's own time zone.
    #[schema(example = "08:00")]
    pub start_time: String,
    pub calendar_id: i64,
    pub non_working: NonWorking,
    pub generate_ahead_days: i32,
    pub open_policy: OpenPolicy,
    pub assigned_to: Option<i64>,
    pub meter_trigger: Option<MeterTrigger>,
    /// The checklist each generated ticket must complete (its latest version at generation).
    pub checklist_id: Option<i64>,
    /// False once deleted: the plan is kept and generates nothing more.
    pub active: bool,
    /// Increases with every change; the ETag is this number in quotes.
    pub version: i32,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl PmPlan {
    pub fn from_row(row: PlanRow) -> PmPlan {
        let weekdays = row
            .weekdays
            .as_ref()
            .map(|days| days.iter().filter_map(|&n| nexus_shared::pm::iso_weekday(n)).map(Day::of).collect::<Vec<_>>());
        PmPlan {
            id: row.id,
            name: row.name,
            description: row.description,
            priority: row.priority,
            scope: Scope {
                asset_ids: row.asset_ids,
                location_ids: row.location_ids,
                category: row.categories.map(|c| c.into_iter().map(ScopeValue).collect()),
                region: row.regions.map(|r| r.into_iter().map(ScopeValue).collect()),
            },
            recurrence: RecurrenceBody {
                every: u32::try_from(row.every).unwrap_or(1),
                unit: row.unit,
                weekdays,
                day_of_month: row.day_of_month.and_then(|d| u32::try_from(d).ok()),
            },
            anchor: row.anchor,
            starts_on: row.starts_on,
            ends_on: row.ends_on,
            start_time: row.start_time.format("%H:%M").to_string(),
            calendar_id: row.calendar_id,
            non_working: row.non_working,
            generate_ahead_days: row.generate_ahead_days,
            open_policy: row.open_policy,
            assigned_to: row.assigned_to,
            checklist_id: row.checklist_id,
            meter_trigger: row.meter_trigger.and_then(|t| serde_json::from_value(t).ok()),
            active: row.active,
            version: row.version,
            created_by: row.created_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

impl Audited for PmPlan {
    const ENTITY: EntityType = EntityType::PmPlan;
    fn id(&self) -> i64 {
        self.id
    }
}

/// Create body, and update body where an absent field keeps its stored value and `null`
/// clears an optional one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanBody {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    name: Option<String>,
    /// Default: the name.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 5000)]
    description: Option<Option<String>>,
    priority: Option<Priority>,
    scope: Option<Scope>,
    recurrence: Option<RecurrenceBody>,
    anchor: Option<Anchor>,
    starts_on: Option<NaiveDate>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<NaiveDate>)]
    ends_on: Option<Option<NaiveDate>>,
    /// `HH:MM` in each site's own zone.
    #[schema(min_length = 5, max_length = 5, pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "08:00")]
    start_time: Option<String>,
    /// The SLA calendar whose holidays and closed weekdays move occurrences; default the 24x7 one.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    calendar_id: Option<Option<i64>>,
    /// Default `next`.
    non_working: Option<NonWorking>,
    /// 0–60, default 7: tickets appear this many days before they are due.
    #[schema(minimum = 0, maximum = 60)]
    generate_ahead_days: Option<i32>,
    /// Default `skip_if_open`.
    open_policy: Option<OpenPolicy>,
    /// An active technician who gets every generated ticket.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    assigned_to: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<MeterTrigger>)]
    meter_trigger: Option<Option<MeterTrigger>>,
    /// A checklist each generated ticket must complete before it is resolved.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    checklist_id: Option<Option<i64>>,
    /// `true` reactivates a deleted plan.
    active: Option<bool>,
}

nexus_shared::create_body! {
    /// What creates a PM plan.
    pub struct NewPlanBody(PlanBody) requires ["name", "priority", "scope", "anchor", "recurrence", "starts_on", "start_time"];
}

impl PlanBody {
    pub fn merged_onto(self, stored: &PmPlan) -> PlanBody {
        PlanBody {
            name: self.name.or_else(|| Some(stored.name.clone())),
            description: Some(merge(Some(stored.description.clone()), self.description)),
            priority: self.priority.or(Some(stored.priority)),
            scope: self.scope.or_else(|| Some(stored.scope.clone())),
            recurrence: self.recurrence.or_else(|| Some(stored.recurrence.clone())),
            anchor: self.anchor.or(Some(stored.anchor)),
            starts_on: self.starts_on.or(Some(stored.starts_on)),
            ends_on: Some(merge(stored.ends_on, self.ends_on)),
            start_time: self.start_time.or_else(|| Some(stored.start_time.clone())),
            calendar_id: Some(merge(Some(stored.calendar_id), self.calendar_id)),
            non_working: self.non_working.or(Some(stored.non_working)),
            generate_ahead_days: self.generate_ahead_days.or(Some(stored.generate_ahead_days)),
            open_policy: self.open_policy.or(Some(stored.open_policy)),
            assigned_to: Some(merge(stored.assigned_to, self.assigned_to)),
            meter_trigger: Some(merge(stored.meter_trigger.clone(), self.meter_trigger)),
            checklist_id: Some(merge(stored.checklist_id, self.checklist_id)),
            active: self.active.or(Some(stored.active)),
        }
    }

    /// The update that retires a plan.
    pub fn deactivate() -> PlanBody {
        PlanBody { active: Some(false), ..PlanBody::default() }
    }
}

/// A plan's fields, all valid by themselves (references are checked by the store).
#[derive(Debug, Clone)]
pub struct PlanDraft {
    pub name: String,
    pub description: String,
    pub priority: Priority,
    pub asset_ids: Option<Vec<i64>>,
    pub location_ids: Option<Vec<i64>>,
    pub categories: Option<Vec<String>>,
    pub regions: Option<Vec<String>>,
    pub recurrence: Recurrence,
    pub anchor: Anchor,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub start_time: NaiveTime,
    pub calendar_id: Option<i64>,
    pub non_working: NonWorking,
    pub generate_ahead_days: i32,
    pub open_policy: OpenPolicy,
    pub assigned_to: Option<i64>,
    pub meter_trigger: Option<MeterTrigger>,
    pub checklist_id: Option<i64>,
    pub active: bool,
}

impl PlanDraft {
    pub fn parse(body: PlanBody) -> Result<PlanDraft, ApiError> {
        let mut v = Validator::new();
        let name = v.required("name", body.name).and_then(|n| v.field("name", validate::line(n, 1, 200)));
        let description = v.field("description", validate::optional_text(body.description.flatten(), 5000));
        let priority = v.required("priority", body.priority);
        let scope = v.required("scope", body.scope).and_then(|s| parse_scope(&mut v, s));
        let anchor = v.required("anchor", body.anchor);
        let recurrence = v.required("recurrence", body.recurrence).and_then(|r| {
            let weekdays = r.weekdays.unwrap_or_default().into_iter().map(Day::weekday).collect();
            Recurrence::new(r.every, r.unit, weekdays, r.day_of_month)
                .map_err(|e| v.error(&format!("recurrence.{}", e.field), e.message))
                .ok()
        });
        if anchor == Some(Anchor::Floating) && recurrence.as_ref().is_some_and(Recurrence::pins_days) {
            v.error("recurrence", "a floating plan follows the last closure: give no weekdays or day_of_month");
        }
        let starts_on = v.required("starts_on", body.starts_on);
        let ends_on = body.ends_on.flatten();
        if let (Some(start), Some(end)) = (starts_on, ends_on)
            && end < start
        {
            v.error("ends_on", "must not be before starts_on");
        }
        let start_time = v.required("start_time", body.start_time).and_then(|t| {
            let parsed = (t.len() == 5).then(|| NaiveTime::parse_from_str(&t, "%H:%M").ok()).flatten();
            v.field("start_time", parsed.ok_or_else(|| "must be a time like 08:00".to_string()))
        });
        let generate_ahead_days = body.generate_ahead_days.unwrap_or(7);
        if !(0..=60).contains(&generate_ahead_days) {
            v.error("generate_ahead_days", "must be 0 to 60");
        }
        let meter_trigger = body.meter_trigger.flatten().and_then(|t| parse_trigger(&mut v, t));
        match (name, description, priority, scope, recurrence, anchor, starts_on, start_time) {
            (
                Some(name),
                Some(description),
                Some(priority),
                Some(scope),
                Some(recurrence),
                Some(anchor),
                Some(starts_on),
                Some(start_time),
            ) if v.is_valid() => Ok(PlanDraft {
                description: description.unwrap_or_else(|| name.clone()),
                name,
                priority,
                asset_ids: scope.asset_ids,
                location_ids: scope.location_ids,
                categories: scope.category.map(|c| c.into_iter().map(|v| v.0).collect()),
                regions: scope.region.map(|r| r.into_iter().map(|v| v.0).collect()),
                recurrence,
                anchor,
                starts_on,
                ends_on,
                start_time,
                calendar_id: body.calendar_id.flatten(),
                non_working: body.non_working.unwrap_or(NonWorking::Next),
                generate_ahead_days,
                open_policy: body.open_policy.unwrap_or(OpenPolicy::SkipIfOpen),
                assigned_to: body.assigned_to.flatten(),
                meter_trigger,
                checklist_id: body.checklist_id.flatten(),
                active: body.active.unwrap_or(true),
            }),
            _ => Err(v.into_error()),
        }
    }
}

/// The scope with lists sorted and deduplicated; its errors are recorded in `v`.
fn parse_scope(v: &mut Validator, scope: Scope) -> Option<Scope> {
    let ids = |v: &mut Validator, field: &str, ids: Option<Vec<i64>>| {
        let ids = ids?;
        if ids.is_empty() || ids.len() > 1000 {
            v.error(&format!("scope.{field}"), "must list 1 to 1,000 ids");
        }
        let mut ids = ids;
        ids.sort_unstable();
        ids.dedup();
        Some(ids)
    };
    let names = |v: &mut Validator, field: &str, names: Option<Vec<ScopeValue>>| {
        let names = names?;
        if names.is_empty() || names.len() > 100 {
            v.error(&format!("scope.{field}"), "must list 1 to 100 values");
        }
        let mut kept = Vec::new();
        for (i, name) in names.into_iter().enumerate() {
            if let Some(name) = v.field(&format!("scope.{field}[{i}]"), validate::line(name.0, 1, 100)) {
                kept.push(ScopeValue(name));
            }
        }
        kept.sort();
        kept.dedup();
        Some(kept)
    };
    let scope = Scope {
        asset_ids: ids(v, "asset_ids", scope.asset_ids),
        location_ids: ids(v, "location_ids", scope.location_ids),
        category: names(v, "category", scope.category),
        region: names(v, "region", scope.region),
    };
    if scope == Scope::default() {
        v.error("scope", "must give at least one of asset_ids, location_ids, category, region");
    }
    Some(scope)
}

fn parse_trigger(v: &mut Validator, trigger: MeterTrigger) -> Option<MeterTrigger> {
    let mut ok = true;
    let mut fail = |v: &mut Validator, field: &str, message: &str| {
        v.error(&format!("meter_trigger.{field}"), message);
        ok = false;
    };
    let meter_name = match validate::line(trigger.meter_name.clone(), 1, 100) {
        Ok(name) => name,
        Err(message) => {
            fail(v, "meter_name", &message);
            String::new()
        }
    };
    let finite_positive = |x: Option<f64>| x.is_none_or(|x| x.is_finite() && x > 0.0);
    let finite = |x: Option<f64>| x.is_none_or(f64::is_finite);
    match (trigger.every, trigger.above.or(trigger.below)) {
        (Some(_), Some(_)) => {
            fail(v, "every", "a trigger is either cumulative (every) or a gauge (above/below), not both")
        }
        (None, None) => fail(v, "every", "give every (a cumulative meter) or above/below (a gauge)"),
        (Some(_), None) if trigger.cooldown_hours.is_some() => {
            fail(v, "cooldown_hours", "applies to gauge triggers (above/below) only")
        }
        (Some(_), None) if !finite_positive(trigger.every) => fail(v, "every", "must be a positive number"),
        (None, Some(_)) if trigger.above.is_some() && trigger.below.is_some() => {
            fail(v, "above", "give above or below, not both")
        }
        (None, Some(_)) if !finite(trigger.above) || !finite(trigger.below) => fail(v, "above", "must be a number"),
        (None, Some(_)) if trigger.cooldown_hours.is_none_or(|h| !(1..=8760).contains(&h)) => {
            fail(v, "cooldown_hours", "is required with above/below: 1 to 8,760 hours")
        }
        _ => {}
    }
    ok.then_some(MeterTrigger { meter_name, ..trigger })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: serde_json::Value) -> Result<PlanDraft, ApiError> {
        PlanDraft::parse(serde_json::from_value(body).unwrap())
    }

    fn fields(result: Result<PlanDraft, ApiError>) -> Vec<String> {
        match result {
            Err(ApiError::Validation(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    fn minimal() -> serde_json::Value {
        json!({"name": "Monthly inspection", "priority": "medium", "scope": {"region": ["Jawa"]},
               "recurrence": {"every": 1, "unit": "month", "day_of_month": 31}, "anchor": "fixed",
               "starts_on": "2026-12-01", "start_time": "08:00"})
    }

    #[test]
    fn the_document_requires_what_parse_requires() {
        use nexus_testkit::schema::{fields_in, required_fields};
        let missing = fields_in(PlanDraft::parse(PlanBody::default()).unwrap_err());
        assert_eq!(required_fields(<NewPlanBody as utoipa::PartialSchema>::schema()), missing);
    }

    #[test]
    fn defaults() {
        let d = parse(minimal()).unwrap();
        assert_eq!(d.description, "Monthly inspection");
        assert_eq!(
            (d.non_working, d.open_policy, d.generate_ahead_days),
            (NonWorking::Next, OpenPolicy::SkipIfOpen, 7)
        );
        assert_eq!(d.recurrence.day_of_month(), Some(31));
        assert!(d.active && d.calendar_id.is_none() && d.meter_trigger.is_none());
    }

    #[test]
    fn every_mistake_is_named() {
        let mut body = minimal();
        body["scope"] = json!({});
        body["recurrence"] = json!({"every": 0, "unit": "week"});
        body["start_time"] = json!("8:00");
        body["ends_on"] = json!("2026-11-01");
        body["generate_ahead_days"] = json!(61);
        assert_eq!(fields(parse(body)), ["scope", "recurrence.every", "ends_on", "start_time", "generate_ahead_days"]);
        let mut body = minimal();
        body["anchor"] = json!("floating");
        assert_eq!(fields(parse(body)), ["recurrence"], "a floating plan cannot pin a day of the month");
        let mut body = minimal();
        body["recurrence"] = json!({"every": 1, "unit": "month", "weekdays": ["mon"]});
        assert_eq!(fields(parse(body)), ["recurrence.weekdays"]);
        let mut body = minimal();
        body["scope"] = json!({"region": [" ", "Bali"], "asset_ids": []});
        assert_eq!(fields(parse(body)), ["scope.asset_ids", "scope.region[0]"]);
    }

    #[test]
    fn meter_triggers_are_cumulative_or_gauges() {
        let with = |trigger: serde_json::Value| {
            let mut body = minimal();
            body["meter_trigger"] = trigger;
            parse(body)
        };
        assert!(with(json!({"meter_name": "cash_cycles", "every": 10000})).is_ok());
        assert!(with(json!({"meter_name": "temperature", "above": 45.0, "cooldown_hours": 24})).is_ok());
        assert_eq!(fields(with(json!({"meter_name": "t", "above": 45.0}))), ["meter_trigger.cooldown_hours"]);
        assert_eq!(fields(with(json!({"meter_name": "t", "every": 5, "below": 1}))), ["meter_trigger.every"]);
        assert_eq!(fields(with(json!({"meter_name": "t", "every": -5}))), ["meter_trigger.every"]);
        assert_eq!(fields(with(json!({"meter_name": "", "every": 5}))), ["meter_trigger.meter_name"]);
    }
}
