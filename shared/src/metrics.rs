//! CloudWatch Embedded Metric Format: a scheduled run's counts as one JSON line on stdout,
//! which CloudWatch Logs turns into metrics (namespace `Nexus`, dimension `Function`) without an
//! API call, a client, or the SDK in the function. The template's alarms read them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};

pub const NAMESPACE: &str = "Nexus";

/// The EMF line for `report`: each top-level whole-number field becomes a `Count` metric of that
/// name for `function`. `None` when the report has no such field.
pub fn emf_line(function: &str, report: &impl Serialize, at: DateTime<Utc>) -> Option<String> {
    let Ok(Value::Object(fields)) = serde_json::to_value(report) else { return None };
    let counts: Vec<(String, u64)> = fields.into_iter().filter_map(|(k, v)| v.as_u64().map(|n| (k, n))).collect();
    if counts.is_empty() {
        return None;
    }
    let metrics: Vec<Value> = counts.iter().map(|(name, _)| json!({"Name": name, "Unit": "Count"})).collect();
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": at.timestamp_millis(),
            "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [["Function"]], "Metrics": metrics}],
        }),
    );
    line.insert("Function".into(), function.into());
    for (name, count) in counts {
        line.insert(name, count.into());
    }
    Some(Value::Object(line).to_string())
}

/// The name CloudWatch knows the running function by (Lambda sets it), else `fallback`.
pub fn function_name(fallback: &str) -> String {
    std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| fallback.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Report {
        response_breaches: u64,
        generated: u64,
        note: &'static str,
    }

    #[test]
    fn a_report_becomes_one_emf_line_with_a_count_per_field() {
        let at = DateTime::parse_from_rfc3339("2026-11-29T10:00:00Z").unwrap().with_timezone(&Utc);
        let report = Report { response_breaches: 3, generated: 0, note: "not a metric" };
        let line: Value = serde_json::from_str(&emf_line("nexus-SlaCheck", &report, at).unwrap()).unwrap();
        // The EMF specification: _aws.Timestamp (ms), CloudWatchMetrics directives naming the
        // namespace, dimension sets whose keys are top-level members, metrics whose names are too.
        assert_eq!(line["_aws"]["Timestamp"], 1_795_946_400_000_i64);
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Nexus");
        assert_eq!(directive["Dimensions"], json!([["Function"]]));
        let names: Vec<&str> =
            directive["Metrics"].as_array().unwrap().iter().map(|m| m["Name"].as_str().unwrap()).collect();
        assert_eq!(names, ["generated", "response_breaches"]);
        assert!(directive["Metrics"].as_array().unwrap().iter().all(|m| m["Unit"] == "Count"));
        assert_eq!(
            (&line["Function"], &line["response_breaches"], &line["generated"]),
            (&json!("nexus-SlaCheck"), &json!(3), &json!(0))
        );
        assert!(line.get("note").is_none(), "only counts are metrics");
        assert_eq!(emf_line("x", &json!({"note": "none"}), at), None);
    }
}
