//! Optimistic concurrency for versioned resources (tickets, PM plans): the `ETag` is the row's
//! version in quotes, and a write that sends a stale `If-Match` is refused with 412.

use axum::http::{HeaderMap, HeaderValue, header};

use crate::error::{ApiError, ApiResult};

/// The strong ETag of a version.
pub fn of_version(version: i32) -> String {
    format!("\"{version}\"")
}

/// Headers carrying the ETag of `version`.
pub fn headers(version: i32) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&of_version(version)) {
        headers.insert(header::ETAG, value);
    }
    headers
}

/// The `If-Match` header; one that cannot be an ETag of ours is refused, not just stale.
pub fn if_match(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get(header::IF_MATCH) else { return Ok(None) };
    // Not ASCII cannot be an ETag of ours; refused rather than read as "no condition".
    let value = value.to_str().map_err(|_| ApiError::validation("If-Match", "must be an ETag"))?;
    if value.len() > 100 {
        return Err(ApiError::validation("If-Match", "must be at most 100 characters"));
    }
    Ok(Some(value.trim().to_string()))
}

/// 412 unless `if_match` is absent, `*`, or the (possibly weak) ETag of `version`.
pub fn check(if_match: Option<&str>, version: i32) -> ApiResult<()> {
    match if_match {
        Some(expected) if expected != "*" && expected.trim_start_matches("W/") != of_version(version) => {
            Err(ApiError::PreconditionFailed)
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_if_match(value: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_MATCH, HeaderValue::from_bytes(value).unwrap());
        headers
    }

    /// Found by review: a non-ASCII If-Match was read as "no condition" and the update went
    /// through unchecked.
    #[test]
    fn an_if_match_that_cannot_be_an_etag_is_refused() {
        assert_eq!(if_match(&HeaderMap::new()).unwrap(), None);
        assert_eq!(if_match(&with_if_match(b" \"7\" ")).unwrap().as_deref(), Some("\"7\""));
        assert!(if_match(&with_if_match("\"é\"".as_bytes())).is_err());
        assert!(if_match(&with_if_match("x".repeat(101).as_bytes())).is_err());
    }

    #[test]
    fn only_the_current_version_or_a_wildcard_passes() {
        assert!(check(None, 3).is_ok());
        assert!(check(Some("*"), 3).is_ok());
        assert!(check(Some("\"3\""), 3).is_ok());
        assert!(check(Some("W/\"3\""), 3).is_ok());
        assert!(matches!(check(Some("\"2\""), 3), Err(ApiError::PreconditionFailed)));
    }
}
