//! What the OpenAPI document says of the attachment and export routes: every string a client sends is
//! bounded, and the schema names cannot collide with another function's in the merged document.

use serde_json::{Value, json};

fn document() -> Value {
    serde_json::to_value(nexus_shared::openapi::document([nexus_files::routes().into_openapi()])).unwrap()
}

#[test]
fn the_routes_and_their_declaration_are_documented_with_bounds() {
    let doc = document();
    let paths = &doc["paths"];
    let operations: Vec<String> = paths
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| item.as_object().unwrap().keys().map(move |m| format!("{} {path}", m.to_uppercase())))
        .collect();
    assert_eq!(
        operations,
        [
            "POST /api/exports",
            "GET /api/tickets/{id}/attachments",
            "POST /api/tickets/{id}/attachments",
            "POST /api/tickets/{id}/attachments/{aid}/confirm"
        ]
    );
    let body = &doc["components"]["schemas"]["NewAttachmentBody"];
    assert_eq!(body["additionalProperties"], false);
    let properties = &body["properties"];
    assert_eq!(
        (&properties["sha256"]["pattern"], &properties["sha256"]["maxLength"]),
        (&json!("^[0-9a-fA-F]{64}$"), &json!(64))
    );
    assert_eq!(properties["checklist_key"]["maxLength"], 100);
    assert_eq!(
        (&properties["size_bytes"]["minimum"], &properties["size_bytes"]["maximum"]),
        (&json!(1), &json!(10485760))
    );
    let schemas = &doc["components"]["schemas"];
    for (field, schema) in [("kind", "AttachmentKind"), ("content_type", "AttachmentType")] {
        assert_eq!(properties[field]["$ref"], format!("#/components/schemas/{schema}"));
        assert!(schemas[schema]["enum"].is_array(), "{schema}");
    }
    assert_eq!(schemas["AttachmentType"]["enum"], json!(["image/jpeg", "image/png", "image/webp", "application/pdf"]));
    let export = &doc["components"]["schemas"]["ExportBody"];
    assert_eq!(export["additionalProperties"], false);
    assert_eq!(schemas["ExportEntity"]["enum"], json!(["tickets", "locations", "assets"]));
    let key = &paths["/api/tickets/{id}/attachments"]["post"]["parameters"][1];
    assert_eq!((&key["name"], &key["schema"]["maxLength"]), (&json!("Idempotency-Key"), &json!(255)));
}

#[test]
fn every_schema_of_the_group_is_named_for_it() {
    let doc = document();
    let mut names: Vec<&str> = doc["components"]["schemas"].as_object().unwrap().keys().map(String::as_str).collect();
    names.retain(|n| !["Problem", "FieldError"].contains(n));
    for name in names {
        assert!(name.starts_with("Attachment") || name.starts_with("Export") || name == "NewAttachmentBody", "{name}");
    }
}
