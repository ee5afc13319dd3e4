//! The document `meta` serves (`functions/meta/openapi.json`, embedded at build time) is the one
//! generated from the routers that serve. After changing a route or its schema, regenerate it:
//! `NEXUS_UPDATE_OPENAPI=1 cargo test -p nexus-local-runner --test openapi_document`.

#[test]
fn the_served_document_is_the_generated_one() {
    let generated = nexus_local_runner::api::document().to_pretty_json().unwrap() + "\n";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../functions/meta/openapi.json");
    if std::env::var_os("NEXUS_UPDATE_OPENAPI").is_some() {
        std::fs::write(path, &generated).unwrap();
        return; // the embedded copy is the old one until the next build
    }
    let served: serde_json::Value = serde_json::from_str(nexus_meta::DOCUMENT).unwrap();
    let expected: serde_json::Value = serde_json::from_str(&generated).unwrap();
    assert!(
        served == expected,
        "functions/meta/openapi.json is stale: run NEXUS_UPDATE_OPENAPI=1 cargo test -p nexus-local-runner --test openapi_document"
    );
}

/// Every string a client can send — body fields at any depth, query, path and header
/// parameters — is bounded in the document (and the server enforces the same bound, which the
/// contract fuzz checks): a `maxLength`, an `enum`, or a date format.
#[test]
fn every_string_a_client_sends_is_bounded() {
    let doc = serde_json::to_value(nexus_local_runner::api::document()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let mut unbounded = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let at = format!("{} {path}", method.to_uppercase());
            for parameter in op["parameters"].as_array().into_iter().flatten() {
                let name =
                    format!("{at} {} {}", parameter["in"].as_str().unwrap(), parameter["name"].as_str().unwrap());
                check(&parameter["schema"], schemas, &name, &mut unbounded);
            }
            if let Some(body) = op["requestBody"]["content"]["application/json"]["schema"].as_object() {
                check(&serde_json::Value::Object(body.clone()), schemas, &format!("{at} body"), &mut unbounded);
            }
        }
    }
    assert!(unbounded.is_empty(), "strings without a bound: {unbounded:#?}");
}

fn check(schema: &serde_json::Value, schemas: &serde_json::Value, at: &str, unbounded: &mut Vec<String>) {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap();
        return check(&schemas[name], schemas, at, unbounded);
    }
    for key in ["oneOf", "anyOf", "allOf", "prefixItems"] {
        for (i, part) in schema[key].as_array().into_iter().flatten().enumerate() {
            check(part, schemas, &format!("{at}[{i}]"), unbounded);
        }
    }
    if schema["items"].is_object() {
        check(&schema["items"], schemas, &format!("{at}[]"), unbounded);
    }
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        check(property, schemas, &format!("{at}.{name}"), unbounded);
    }
    let is_string = match &schema["type"] {
        serde_json::Value::String(t) => t == "string",
        serde_json::Value::Array(types) => types.iter().any(|t| t == "string"),
        _ => false,
    };
    let bounded = schema.get("maxLength").is_some()
        || schema.get("enum").is_some()
        || matches!(schema["format"].as_str(), Some("date" | "date-time"));
    if is_string && !bounded {
        unbounded.push(at.to_string());
    }
}
