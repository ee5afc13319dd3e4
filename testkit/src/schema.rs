//! What a create body's document and its parser must agree on: the fields the schema requires
//! and the fields a parse of `{}` reports missing.

use utoipa::openapi::{RefOr, Schema};

/// The fields `schema` requires, to compare with the ones a parse of `{}` reports
/// missing (so the document and the parser cannot drift apart).
pub fn required_fields(schema: RefOr<Schema>) -> Vec<String> {
    let value = serde_json::to_value(schema).expect("a schema serializes");
    value["required"].as_array().into_iter().flatten().filter_map(|f| f.as_str().map(String::from)).collect()
}

/// The fields a validation error names.
pub fn fields_in(error: nexus_shared::ApiError) -> Vec<String> {
    match error {
        nexus_shared::ApiError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
        other => panic!("not a validation error: {other:?}"),
    }
}
