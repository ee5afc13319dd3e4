//! Answers: a value checked against its item's type before it is stored, and the answer as
//! stored and shown (with when it happened and when the server received it).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::FromRow;
use utoipa::ToSchema;

use super::item::{Item, ItemType, MAX_TEXT};
use crate::ticket::Priority;
use crate::validate;

/// An answer's value as sent: true/false (`check`), a number (`number`, `meter`), a string
/// (`pass_fail_na`, `text`, `select`), or `null` to clear the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AnswerValue(pub Value);

impl utoipa::PartialSchema for AnswerValue {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Boolean))
            .item(ObjectBuilder::new().schema_type(Type::Number))
            .item(ObjectBuilder::new().schema_type(Type::String).max_length(Some(MAX_TEXT as usize)))
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .description(Some(
                "true/false (check), a number (number, meter), \"pass\"/\"fail\"/\"na\" (pass_fail_na), text \
                 (text), one of the options (select); null clears the answer",
            ))
            .into()
    }
}

impl ToSchema for AnswerValue {}

/// An answer as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, FromRow, ToSchema)]
#[schema(as = ChecklistAnswer)]
pub struct Answer {
    #[schema(value_type = AnswerValue)]
    pub value: Value,
    pub answered_by: Option<i64>,
    /// When it was answered on the device (`occurred_at` as sent, else when received).
    pub occurred_at: DateTime<Utc>,
    /// When the server received it.
    pub received_at: DateTime<Utc>,
}

/// `value` as it is stored for `item`, or why it is refused. `null` (clearing) is the
/// caller's to handle before this.
pub fn check(item: &Item, value: &Value) -> Result<Value, String> {
    match item.item_type {
        ItemType::Check => value.as_bool().map(Value::Bool).ok_or_else(|| "must be true or false".into()),
        ItemType::PassFailNa => match value.as_str() {
            Some(s @ ("pass" | "fail" | "na")) => Ok(Value::from(s)),
            _ => Err(r#"must be "pass", "fail" or "na""#.into()),
        },
        ItemType::Number => {
            let n = number(value)?;
            if let Some(min) = item.min
                && n < min
            {
                return Err(format!("must be at least {min}"));
            }
            if let Some(max) = item.max
                && n > max
            {
                return Err(format!("must be at most {max}"));
            }
            Ok(value.clone())
        }
        ItemType::Meter => number(value).map(|_| value.clone()),
        ItemType::Text => match value {
            Value::String(s) => {
                validate::text(s.clone(), item.max_length.unwrap_or(MAX_TEXT) as usize).map(Value::String)
            }
            _ => Err("must be text".into()),
        },
        ItemType::Select => {
            let options = item.options.as_deref().unwrap_or_default();
            match value.as_str() {
                Some(s) if options.iter().any(|o| o == s) => Ok(value.clone()),
                _ => Err(format!("must be one of: {}", options.join(", "))),
            }
        }
        ItemType::Photo => Err(format!(
            "is not answered by a value: upload at least {} photo(s) with checklist_key {:?}",
            item.min_count.unwrap_or(1),
            item.key
        )),
        ItemType::Signature => Err("is not answered by a value: upload an attachment of kind signature".into()),
    }
}

fn number(value: &Value) -> Result<f64, String> {
    value.as_f64().filter(|n| n.is_finite()).ok_or_else(|| "must be a number".into())
}

/// The priority of the corrective ticket a (stored) `value` of `item` asks for: a `fail` on an
/// item with `on_fail`.
pub fn fails(item: &Item, value: &Value) -> Option<Priority> {
    item.on_fail.as_ref().filter(|_| value.as_str() == Some("fail")).map(|f| f.create_cm.priority)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checklist::item::{ItemBody, parse_items};
    use serde_json::json;

    fn item(body: Value) -> Item {
        let mut base = json!({"key": "k", "label": "Label", "required": true});
        for (k, v) in body.as_object().unwrap() {
            base[k] = v.clone();
        }
        let body: ItemBody = serde_json::from_value(base).unwrap();
        parse_items("items", vec![body]).unwrap().remove(0)
    }

    #[test]
    fn each_type_accepts_its_values_and_refuses_the_rest() {
        let cases: Vec<(Value, Vec<Value>, Vec<Value>)> = vec![
            (json!({"type": "check"}), vec![json!(true), json!(false)], vec![json!("true"), json!(1), json!([])]),
            (
                json!({"type": "pass_fail_na"}),
                vec![json!("pass"), json!("fail"), json!("na")],
                vec![json!("PASS"), json!(true), json!("n/a")],
            ),
            (
                json!({"type": "number", "min": 0, "max": 45}),
                vec![json!(0), json!(45), json!(21.5)],
                vec![json!(-0.1), json!(45.01), json!("21"), json!(null)],
            ),
            (json!({"type": "number"}), vec![json!(-1e9), json!(1e9)], vec![json!(false)]),
            (
                json!({"type": "text", "max_length": 5}),
                vec![json!("ok"), json!("five!"), json!("a\nb")],
                vec![json!("six ch"), json!("   "), json!("bell\u{7}"), json!(5)],
            ),
            (
                json!({"type": "select", "options": ["ok", "worn"]}),
                vec![json!("ok"), json!("worn")],
                vec![json!("OK"), json!("broken"), json!(["ok"])],
            ),
            (
                json!({"type": "meter", "meter_name": "m"}),
                vec![json!(0), json!(123456.5), json!(-3)],
                vec![json!("12"), json!(true)],
            ),
            (json!({"type": "photo"}), vec![], vec![json!(true), json!("photo.jpg"), json!(1)]),
            (json!({"type": "signature"}), vec![], vec![json!(true), json!("signed")]),
        ];
        for (body, accepted, refused) in cases {
            let item = item(body.clone());
            for value in accepted {
                assert!(check(&item, &value).is_ok(), "{body} should accept {value}");
            }
            for value in refused {
                assert!(check(&item, &value).is_err(), "{body} should refuse {value}");
            }
        }
    }

    #[test]
    fn text_is_stored_trimmed_and_numbers_as_sent() {
        let text = item(json!({"type": "text"}));
        assert_eq!(check(&text, &json!("  fine \n")).unwrap(), json!("fine"));
        let number = item(json!({"type": "number"}));
        assert_eq!(check(&number, &json!(7)).unwrap(), json!(7));
        assert_eq!(check(&number, &json!(7.25)).unwrap(), json!(7.25));
    }

    #[test]
    fn only_a_fail_on_an_item_with_on_fail_asks_for_a_corrective_ticket() {
        let with = item(json!({"type": "pass_fail_na", "on_fail": {"create_cm": {"priority": "critical"}}}));
        let without = item(json!({"type": "pass_fail_na"}));
        assert_eq!(fails(&with, &json!("fail")), Some(Priority::Critical));
        assert_eq!(fails(&with, &json!("pass")), None);
        assert_eq!(fails(&with, &json!("na")), None);
        assert_eq!(fails(&without, &json!("fail")), None);
    }

    #[test]
    fn the_document_bounds_a_string_value() {
        let schema = serde_json::to_value(<AnswerValue as utoipa::PartialSchema>::schema()).unwrap();
        let string = schema["oneOf"].as_array().unwrap().iter().find(|s| s["type"] == "string").unwrap().clone();
        assert_eq!(string["maxLength"], 5000);
    }
}
