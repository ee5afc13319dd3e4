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

/// The checks every free-text field makes on the value as sent, before trimming, so that the
/// document's `maxLength` and `pattern` say exactly what is accepted. The patterns, repeated as
/// literals on the fields (`#[schema(pattern = ...)]` takes no constant):
/// a line `^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$` (optional:
/// `^[^\x00-\x1f\x7f-\x9f]*$`); text the same with `\t`, `\n`, `\r` allowed.
fn check_as_sent(value: &str, max: usize, allowed_controls: &[char]) -> Result<(), String> {
    if value.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if value.chars().any(|c| c.is_control() && !allowed_controls.contains(&c)) {
        return Err("must not contain control characters".into());
    }
    Ok(())
}

/// Single-line text of at most `max` characters without control characters (which also keeps
/// NUL bytes, refused by Postgres, out of the database), trimmed, at least `min` characters.
pub fn line(value: String, min: usize, max: usize) -> Result<String, String> {
    check_as_sent(&value, max, &[])?;
    let value = value.trim();
    if value.chars().count() < min {
        return Err(if min <= 1 { "must not be empty".into() } else { format!("must be {min} to {max} characters") });
    }
    Ok(value.to_string())
}

/// Like [`line`], but an empty or blank value means "none".
pub fn optional_line(value: Option<String>, max: usize) -> Result<Option<String>, String> {
    let Some(value) = value else { return Ok(None) };
    check_as_sent(&value, max, &[])?;
    let value = value.trim();
    Ok((!value.is_empty()).then(|| value.to_string()))
}

/// The control characters multi-line text may hold.
const TEXT_CONTROLS: [char; 3] = ['\n', '\r', '\t'];

/// Multi-line text: like [`line`], but line breaks and tabs are allowed; not blank.
pub fn text(value: String, max: usize) -> Result<String, String> {
    check_as_sent(&value, max, &TEXT_CONTROLS)?;
    let value = value.trim();
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    Ok(value.to_string())
}

/// Like [`text`], but an empty or blank value means "none".
pub fn optional_text(value: Option<String>, max: usize) -> Result<Option<String>, String> {
    let Some(value) = value else { return Ok(None) };
    check_as_sent(&value, max, &TEXT_CONTROLS)?;
    let value = value.trim();
    Ok((!value.is_empty()).then(|| value.to_string()))
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
        assert_eq!(line("  Jakarta  ".into(), 1, 11).unwrap(), "Jakarta");
        assert!(line("   ".into(), 1, 10).is_err());
        assert!(line("x".repeat(11), 1, 10).is_err());
        assert!(line("a\u{0}b".into(), 1, 10).is_err());
    }

    /// Found by the contract fuzz: "x\r " passed once trimmed, though the document refuses any
    /// control character; and a value counts as sent against maxLength.
    #[test]
    fn control_characters_and_length_are_judged_as_sent() {
        assert!(line("Jakarta\r ".into(), 1, 10).is_err());
        assert_eq!(optional_line(Some("\r".into()), 10), Err("must not contain control characters".into()));
        assert_eq!(optional_line(Some("  ".into()), 10), Ok(None));
        assert!(line(format!("{} ", "x".repeat(10)), 1, 10).is_err());
        assert_eq!(text("Line one\r\n\tline two\n".into(), 100).unwrap(), "Line one\r\n\tline two");
        assert!(text("bell\u{7}".into(), 100).is_err());
        assert!(text("vertical\u{b}".into(), 100).is_err());
        assert_eq!(optional_text(Some(" \n ".into()), 100), Ok(None));
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
