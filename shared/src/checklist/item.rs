//! A checklist's items: what a template's body sends (`ItemBody`, loosely typed so every
//! mistake is named at once) and what is stored and shown (`Item`, valid by construction).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::FieldError;
use crate::ticket::Priority;
use crate::validate;

crate::text_enum! {
    /// How an item is answered: `check` true/false; `pass_fail_na` "pass", "fail" or "na";
    /// `number` a number within `min`..`max`; `text` up to `max_length` characters; `select` one
    /// of `options`; `photo` at least `min_count` stored photos carrying the item's key;
    /// `meter` a reading of the asset's meter `meter_name`; `signature` a stored signature.
    pub enum ItemType {
        Check = "check",
        PassFailNa = "pass_fail_na",
        Number = "number",
        Text = "text",
        Select = "select",
        Photo = "photo",
        Meter = "meter",
        Signature = "signature",
    }
}

/// At most this many items in a checklist.
pub const MAX_ITEMS: usize = 200;
/// The longest text answer (and the default `max_length`).
pub const MAX_TEXT: u32 = 5000;
/// At most this many options in a `select` item.
pub const MAX_OPTIONS: usize = 100;
/// The most photos a `photo` item may ask for.
pub const MAX_PHOTOS: u32 = 20;

/// What a `fail` answer does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OnFail {
    pub create_cm: CreateCm,
}

/// Opens a corrective ticket on the same asset, linked to the ticket (`parent_ticket_id`); once
/// per ticket and item, however often the item is failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCm {
    pub priority: Priority,
}

/// One item of a checklist version, as stored and shown. Only the fields of its type are present.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = ChecklistItem)]
pub struct Item {
    /// Unique in the checklist; answers and attachments (`checklist_key`) name the item by it.
    pub key: String,
    pub label: String,
    #[serde(rename = "type")]
    pub item_type: ItemType,
    /// A required item must be met before the ticket can be resolved.
    pub required: bool,
    /// `number`: the lowest accepted answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// `number`: the highest accepted answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// `number`: shown next to the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// `text`: the longest accepted answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// `select`: the accepted answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<String>>,
    /// `photo`: how many stored photos with this item's key meet it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_count: Option<u32>,
    /// `meter`: the meter of the ticket's asset the answer is recorded on as a reading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meter_name: Option<String>,
    /// `pass_fail_na`: what a `fail` answer does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_fail: Option<OnFail>,
}

impl Item {
    /// Answered by a value in `PUT /api/tickets/{id}/checklist` (photos and signatures are
    /// met by uploads instead).
    pub fn takes_a_value(&self) -> bool {
        !matches!(self.item_type, ItemType::Photo | ItemType::Signature)
    }
}

/// A `select` option as sent: a line of 1–200 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OptionText(pub String);

/// Documented as the line it is checked to be.
impl utoipa::PartialSchema for OptionText {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(1))
            .max_length(Some(200))
            .pattern(Some(r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"))
            .into()
    }
}

impl ToSchema for OptionText {}

/// One item as a template's body sends it. Fields that do not apply to the item's type are
/// refused; `key`, `label`, `type` and `required` are required.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ChecklistItemBody)]
pub struct ItemBody {
    /// 1–100 characters: lowercase letters, digits and `_`; unique in the checklist.
    #[schema(required = true, value_type = String, min_length = 1, max_length = 100, pattern = r"^[a-z0-9_]+$")]
    pub key: Option<String>,
    #[schema(
        required = true,
        value_type = String,
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub label: Option<String>,
    #[serde(rename = "type")]
    #[schema(required = true, value_type = ItemType)]
    pub item_type: Option<ItemType>,
    #[schema(required = true, value_type = bool)]
    pub required: Option<bool>,
    /// `number` only.
    pub min: Option<f64>,
    /// `number` only; not below `min`.
    pub max: Option<f64>,
    /// `number` only.
    #[schema(
        min_length = 1,
        max_length = 30,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub unit: Option<String>,
    /// `text` only: 1–5,000, default 5,000.
    #[schema(minimum = 1, maximum = 5000)]
    pub max_length: Option<u32>,
    /// `select` only, and required there: 1–100 distinct options.
    #[schema(min_items = 1, max_items = 100)]
    pub options: Option<Vec<OptionText>>,
    /// `photo` only: 1–20, default 1.
    #[schema(minimum = 1, maximum = 20)]
    pub min_count: Option<u32>,
    /// `meter` only, and required there: the name of a meter on the ticket's asset.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub meter_name: Option<String>,
    /// `pass_fail_na` only.
    pub on_fail: Option<OnFail>,
}

/// The items of a template, or every mistake in them, each named `<field>[i].<name>` (`field`
/// is what the body calls the list, e.g. `items`).
pub fn parse_items(field: &str, items: Vec<ItemBody>) -> Result<Vec<Item>, Vec<FieldError>> {
    let mut errors = Vec::new();
    if items.is_empty() || items.len() > MAX_ITEMS {
        errors.push(FieldError::new(field, format!("must hold 1 to {MAX_ITEMS} items")));
        return Err(errors);
    }
    let mut parsed = Vec::with_capacity(items.len());
    for (i, body) in items.into_iter().enumerate() {
        let at = format!("{field}[{i}]");
        if let Some(item) = parse_item(&at, body, &mut errors) {
            if let Some(first) = parsed.iter().position(|p: &Item| p.key == item.key) {
                errors.push(FieldError::new(format!("{at}.key"), format!("is already the key of {field}[{first}]")));
            }
            parsed.push(item);
        } else {
            // Keep the positions of later items right for the duplicate check's message.
            parsed.push(Item::placeholder());
        }
    }
    if errors.is_empty() { Ok(parsed) } else { Err(errors) }
}

impl Item {
    /// Stands in for an invalid item while the rest are checked (its key matches none).
    fn placeholder() -> Item {
        Item {
            key: String::new(),
            label: String::new(),
            item_type: ItemType::Check,
            required: false,
            min: None,
            max: None,
            unit: None,
            max_length: None,
            options: None,
            min_count: None,
            meter_name: None,
            on_fail: None,
        }
    }
}

/// Whether `key` is a valid item key: 1–100 of `a-z`, `0-9`, `_`.
pub fn is_key(key: &str) -> bool {
    (1..=100).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

struct Errors<'a> {
    at: &'a str,
    errors: &'a mut Vec<FieldError>,
    count: usize,
}

impl Errors<'_> {
    fn add(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(format!("{}.{field}", self.at), message));
        self.count += 1;
    }

    fn field<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        result.map_err(|message| self.add(field, message)).ok()
    }

    fn only_for(&mut self, field: &str, present: bool, item_type: Option<ItemType>, allowed: ItemType) {
        if present && item_type.is_some_and(|t| t != allowed) {
            self.add(field, format!("applies to {allowed} items only"));
        }
    }
}

fn parse_item(at: &str, body: ItemBody, errors: &mut Vec<FieldError>) -> Option<Item> {
    let mut e = Errors { at, errors, count: 0 };
    let key = match body.key {
        None => e.field("key", Err("is required".into())),
        Some(key) if is_key(&key) => Some(key),
        Some(_) => e.field("key", Err("must be 1 to 100 characters: lowercase letters, digits and _".into())),
    };
    let label = match body.label {
        None => e.field("label", Err("is required".into())),
        Some(label) => e.field("label", validate::line(label, 1, 200)),
    };
    let item_type = body.item_type;
    if item_type.is_none() {
        e.add("type", "is required");
    }
    let required = body.required;
    if required.is_none() {
        e.add("required", "is required");
    }

    use ItemType::*;
    e.only_for("min", body.min.is_some(), item_type, Number);
    e.only_for("max", body.max.is_some(), item_type, Number);
    e.only_for("unit", body.unit.is_some(), item_type, Number);
    e.only_for("max_length", body.max_length.is_some(), item_type, Text);
    e.only_for("options", body.options.is_some(), item_type, Select);
    e.only_for("min_count", body.min_count.is_some(), item_type, Photo);
    e.only_for("meter_name", body.meter_name.is_some(), item_type, Meter);
    e.only_for("on_fail", body.on_fail.is_some(), item_type, PassFailNa);

    if let (Some(min), Some(max)) = (body.min, body.max)
        && max < min
    {
        e.add("max", "must not be less than min");
    }
    let unit = body.unit.and_then(|u| e.field("unit", validate::line(u, 1, 30)));
    let max_length = match body.max_length {
        Some(n) if !(1..=MAX_TEXT).contains(&n) => e.field("max_length", Err(format!("must be 1 to {MAX_TEXT}"))),
        Some(n) => Some(n),
        None => (item_type == Some(Text)).then_some(MAX_TEXT),
    };
    let min_count = match body.min_count {
        Some(n) if !(1..=MAX_PHOTOS).contains(&n) => e.field("min_count", Err(format!("must be 1 to {MAX_PHOTOS}"))),
        Some(n) => Some(n),
        None => (item_type == Some(Photo)).then_some(1),
    };
    let options = match body.options {
        None if item_type == Some(Select) => e.field("options", Err("is required for select items".into())),
        None => None,
        Some(options) => parse_options(&mut e, options),
    };
    let meter_name = match body.meter_name {
        None if item_type == Some(Meter) => e.field("meter_name", Err("is required for meter items".into())),
        None => None,
        Some(name) => e.field("meter_name", validate::line(name, 1, 100)),
    };

    if e.count > 0 {
        return None;
    }
    Some(Item {
        key: key?,
        label: label?,
        item_type: item_type?,
        required: required?,
        min: body.min,
        max: body.max,
        unit,
        max_length,
        options,
        min_count,
        meter_name,
        on_fail: body.on_fail,
    })
}

fn parse_options(e: &mut Errors, options: Vec<OptionText>) -> Option<Vec<String>> {
    if options.is_empty() || options.len() > MAX_OPTIONS {
        return e.field("options", Err(format!("must list 1 to {MAX_OPTIONS} options")));
    }
    let mut kept: Vec<String> = Vec::with_capacity(options.len());
    let before = e.count;
    for (i, option) in options.into_iter().enumerate() {
        let field = format!("options[{i}]");
        let Some(option) = e.field(&field, validate::line(option.0, 1, 200)) else { continue };
        if kept.contains(&option) {
            e.add(&field, "is listed twice");
        }
        kept.push(option);
    }
    (e.count == before).then_some(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn parse(items: Value) -> Result<Vec<Item>, Vec<String>> {
        let bodies: Vec<ItemBody> = serde_json::from_value(items).unwrap();
        parse_items("items", bodies).map_err(|errors| errors.into_iter().map(|e| e.field).collect())
    }

    fn item(extra: Value) -> Value {
        let mut item = json!({"key": "k", "label": "Label", "type": "check", "required": true});
        for (k, v) in extra.as_object().unwrap() {
            item[k] = v.clone();
        }
        item
    }

    #[test]
    fn every_type_with_its_own_fields_is_accepted_and_defaults_are_filled_in() {
        let items = parse(json!([
            item(json!({"key": "door", "type": "check"})),
            item(json!({"key": "cash_out", "type": "pass_fail_na", "on_fail": {"create_cm": {"priority": "high"}}})),
            item(json!({"key": "temp", "type": "number", "min": -10, "max": 45.5, "unit": " °C "})),
            item(json!({"key": "remarks", "type": "text", "required": false})),
            item(json!({"key": "state", "type": "select", "options": ["ok", " worn "]})),
            item(json!({"key": "fascia", "type": "photo"})),
            item(json!({"key": "cycles", "type": "meter", "meter_name": "cash_cycles"})),
            item(json!({"key": "customer", "type": "signature"})),
        ]))
        .unwrap();
        assert_eq!(items.len(), 8);
        assert_eq!(items[1].on_fail, Some(OnFail { create_cm: CreateCm { priority: Priority::High } }));
        assert_eq!((items[2].min, items[2].max, items[2].unit.as_deref()), (Some(-10.0), Some(45.5), Some("°C")));
        assert_eq!(items[3].max_length, Some(MAX_TEXT));
        assert!(!items[3].required);
        assert_eq!(items[4].options, Some(vec!["ok".to_string(), "worn".to_string()]));
        assert_eq!(items[5].min_count, Some(1));
        assert_eq!(items[6].meter_name.as_deref(), Some("cash_cycles"));
        assert!(!items[5].takes_a_value() && !items[7].takes_a_value() && items[6].takes_a_value());
        // Defaults are stored, fields of other types are not.
        let stored = serde_json::to_value(&items[0]).unwrap();
        assert_eq!(stored, json!({"key": "door", "label": "Label", "type": "check", "required": true}));
        let back: Vec<Item> = serde_json::from_value(serde_json::to_value(&items).unwrap()).unwrap();
        assert_eq!(back, items);
    }

    #[test]
    fn each_mistake_is_named_by_its_item_and_field() {
        let cases: Vec<(Value, Vec<&str>)> = vec![
            (
                json!({"key": null, "label": null, "type": null, "required": null}),
                vec!["items[0].key", "items[0].label", "items[0].type", "items[0].required"],
            ),
            (item(json!({"key": "Bad Key"})), vec!["items[0].key"]),
            (item(json!({"key": "x".repeat(101)})), vec!["items[0].key"]),
            (item(json!({"key": ""})), vec!["items[0].key"]),
            (item(json!({"label": "  "})), vec!["items[0].label"]),
            (item(json!({"label": "a\nb"})), vec!["items[0].label"]),
            (item(json!({"min": 1, "unit": "x"})), vec!["items[0].min", "items[0].unit"]),
            (item(json!({"type": "number", "min": 5, "max": 1})), vec!["items[0].max"]),
            (item(json!({"type": "number", "unit": ""})), vec!["items[0].unit"]),
            (item(json!({"type": "text", "max_length": 0})), vec!["items[0].max_length"]),
            (item(json!({"type": "text", "max_length": 5001})), vec!["items[0].max_length"]),
            (item(json!({"type": "number", "max_length": 10})), vec!["items[0].max_length"]),
            (item(json!({"type": "select"})), vec!["items[0].options"]),
            (item(json!({"type": "select", "options": []})), vec!["items[0].options"]),
            (item(json!({"type": "select", "options": ["a", "a "]})), vec!["items[0].options[1]"]),
            (item(json!({"type": "select", "options": ["a", ""]})), vec!["items[0].options[1]"]),
            (item(json!({"type": "check", "options": ["a"]})), vec!["items[0].options"]),
            (item(json!({"type": "photo", "min_count": 0})), vec!["items[0].min_count"]),
            (item(json!({"type": "photo", "min_count": 21})), vec!["items[0].min_count"]),
            (item(json!({"type": "signature", "min_count": 1})), vec!["items[0].min_count"]),
            (item(json!({"type": "meter"})), vec!["items[0].meter_name"]),
            (item(json!({"type": "meter", "meter_name": " "})), vec!["items[0].meter_name"]),
            (item(json!({"type": "number", "meter_name": "m"})), vec!["items[0].meter_name"]),
            (item(json!({"type": "check", "on_fail": {"create_cm": {"priority": "low"}}})), vec!["items[0].on_fail"]),
        ];
        for (body, expected) in cases {
            assert_eq!(parse(json!([body.clone()])).unwrap_err(), expected, "{body}");
        }
    }

    #[test]
    fn keys_are_unique_and_the_list_is_bounded() {
        let fields = parse(json!([item(json!({"key": "a"})), item(json!({"key": "b"})), item(json!({"key": "a"}))]));
        assert_eq!(fields.unwrap_err(), ["items[2].key"]);
        // An invalid item is left out of the duplicate check; the others keep their index.
        let fields = parse(json!([item(json!({"key": "a", "label": ""})), item(json!({"key": "b"}))]));
        assert_eq!(fields.unwrap_err(), ["items[0].label"]);
        assert_eq!(parse(json!([])).unwrap_err(), ["items"]);
        let many: Vec<Value> = (0..=MAX_ITEMS).map(|i| item(json!({"key": format!("k{i}")}))).collect();
        assert_eq!(parse(Value::from(many.clone())).unwrap_err(), ["items"]);
        assert!(parse(Value::from(many[..MAX_ITEMS].to_vec())).is_ok());
    }

    #[test]
    fn an_on_fail_priority_must_be_a_priority() {
        let body = json!([item(json!({"type": "pass_fail_na", "on_fail": {"create_cm": {"priority": "urgent"}}}))]);
        assert!(serde_json::from_value::<Vec<ItemBody>>(body).is_err());
    }
}
