//! Building blocks for parsing request bodies into domain values while collecting every
//! invalid field, so a client learns all its mistakes in one 422.

use serde::{Deserialize, Deserializer};

use crate::error::{ApiError, FieldError};

#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// Keeps `Ok` values and records `Err` messages against `field`.
    pub fn field<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        result.map_err(|message| self.error(field, message)).ok()
    }

    /// A required value: absent (or null) is an error.
    pub fn required<T>(&mut self, field: &str, value: Option<T>) -> Option<T> {
        if value.is_none() {
            self.error(field, "is required");
        }
        value
    }

    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn into_error(self) -> ApiError {
        if self.errors.is_empty() {
            // Only reachable if a caller forgot to record why; still a client-facing 422.
            return ApiError::validation("", "is invalid");
        }
        ApiError::Validation(self.errors)
    }
}

/// Single-line text of `min..=max` characters, trimmed, without control characters (which
/// also keeps NUL bytes, refused by Postgres, out of the database).
pub fn line(value: String, min: usize, max: usize) -> Result<String, String> {
    let value = value.trim().to_string();
    let len = value.chars().count();
    if len < min || len > max {
        return Err(if min <= 1 && len == 0 {
            "must not be empty".into()
        } else {
            format!("must be {min} to {max} characters")
        });
    }
    if value.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(value)
}

/// Like [`line`], but an empty or absent value means "none".
pub fn optional_line(value: Option<String>, max: usize) -> Result<Option<String>, String> {
    match value {
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Ok(None),
        Some(v) => line(v, 1, max).map(Some),
    }
}

/// A free-text query parameter (search, exact-match filter): up to 100 characters, empty = absent.
pub fn query_text(field: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    optional_line(value, 100).map_err(|message| ApiError::validation(field, message))
}

/// For update bodies: tells "absent" (`None`, keep the stored value) from "null"
/// (`Some(None)`, clear it). Use with `#[serde(default, deserialize_with = "nullable")]`.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Applies an update-body field to a stored nullable value.
pub fn merge<T>(stored: Option<T>, patch: Option<Option<T>>) -> Option<T> {
    match patch {
        None => stored,
        Some(new) => new,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_trims_and_bounds() {
        assert_eq!(line("  Jakarta  ".into(), 1, 10).unwrap(), "Jakarta");
        assert!(line("   ".into(), 1, 10).is_err());
        assert!(line("x".repeat(11), 1, 10).is_err());
        assert!(line("a\u{0}b".into(), 1, 10).is_err());
    }

    #[test]
    fn nullable_tells_absent_from_null() {
        #[derive(Deserialize)]
        struct Patch {
            #[serde(default, deserialize_with = "nullable")]
            region: Option<Option<String>>,
        }
        let absent: Patch = serde_json::from_str("{}").unwrap();
        let null: Patch = serde_json::from_str(r#"{"region": null}"#).unwrap();
        let set: Patch = serde_json::from_str(r#"{"region": "Bali"}"#).unwrap();
        assert_eq!(absent.region, None);
        assert_eq!(null.region, Some(None));
        assert_eq!(set.region, Some(Some("Bali".into())));
        assert_eq!(merge(Some("Jawa".to_string()), absent.region), Some("Jawa".into()));
        assert_eq!(merge(Some("Jawa".to_string()), null.region), None);
    }
}
