//! `create_body!`: the body that creates a resource, documented as the resource's update body
//! with some fields required. One body type serves POST (all essentials) and PUT (any subset,
//! merged onto the stored row); the document must still tell a client what POST requires.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

/// Declares `pub struct $name(pub $body)` (deserialized as `$body` itself) whose schema is
/// `$body`'s with `$field`s required and no longer nullable.
#[macro_export]
macro_rules! create_body {
    ($(#[$meta:meta])* pub struct $name:ident($body:ty) requires [$($field:literal),+ $(,)?];) => {
        $(#[$meta])*
        #[derive(Debug, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub $body);

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::create_body::requiring(<$body as utoipa::PartialSchema>::schema(), &[$($field),+])
            }
        }

        impl utoipa::ToSchema for $name {
            fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
                <$body as utoipa::ToSchema>::schemas(schemas);
            }
        }
    };
}

/// `schema` (an object) with `fields` added to `required` and `null` taken out of their types.
pub fn requiring(schema: RefOr<Schema>, fields: &[&str]) -> RefOr<Schema> {
    let mut value = serde_json::to_value(&schema).expect("a schema serializes");
    value["description"] = format!("Creates one: {} required; otherwise as the update body.", fields.join(", ")).into();
    for field in fields {
        let property = &mut value["properties"][*field];
        assert!(!property.is_null(), "create_body!: no property {field}");
        strip_null(property);
        let required = value["required"].as_array_mut();
        match required {
            Some(list) => list.push((*field).into()),
            None => value["required"] = serde_json::json!([field]),
        }
    }
    serde_json::from_value(value).expect("still a schema")
}

/// `{"type": ["integer", "null"]}` → `{"type": "integer"}`; `{"oneOf": [X, {"type": "null"}]}` → X.
fn strip_null(property: &mut serde_json::Value) {
    if let Some(types) = property["type"].as_array() {
        let kept: Vec<_> = types.iter().filter(|t| *t != "null").cloned().collect();
        property["type"] = if kept.len() == 1 { kept[0].clone() } else { kept.into() };
    }
    if let Some(one_of) = property["oneOf"].as_array() {
        let kept: Vec<_> = one_of.iter().filter(|s| s["type"] != "null").cloned().collect();
        if let [only] = kept.as_slice() {
            let mut merged = only.clone();
            for (key, v) in property.as_object().unwrap() {
                if key != "oneOf" {
                    merged[key] = v.clone();
                }
            }
            *property = merged;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn required_fields_lose_null_and_others_keep_it() {
        let schema: RefOr<Schema> = serde_json::from_value(json!({
            "type": "object",
            "properties": {
                "id": {"type": ["integer", "null"], "format": "int64"},
                "kind": {"oneOf": [{"$ref": "#/components/schemas/Kind"}, {"type": "null"}], "description": "d"},
                "note": {"type": ["string", "null"]}
            }
        }))
        .unwrap();
        let out = serde_json::to_value(requiring(schema, &["id", "kind"])).unwrap();
        assert_eq!(out["required"], json!(["id", "kind"]));
        assert_eq!(out["properties"]["id"], json!({"type": "integer", "format": "int64"}));
        assert_eq!(out["properties"]["kind"], json!({"$ref": "#/components/schemas/Kind", "description": "d"}));
        assert_eq!(out["properties"]["note"]["type"], json!(["string", "null"]));
    }
}
