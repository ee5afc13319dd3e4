//! Request extractors whose rejections are problem+json with the offending field named,
//! instead of axum's plain-text bodies.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError};

/// A JSON body. Syntax errors are 400; a well-formed body of the wrong shape (wrong type,
/// unknown field) is 422 naming the field; a missing or other content type is 415; a body
/// over the limit is 413.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest("the request body could not be read".into())
            }
        })?;
        parse_json(&bytes).map(Json)
    }
}

fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mime = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// Parses a request body, telling syntax (400) from shape (422) errors. Every body is a JSON
/// object (serde would also fill a struct from an array, `[null, null]`, which no client means).
/// Numbers with a zero fraction count as integers, as in JSON Schema: `7.0` is a valid id.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let not_an_object = || ApiError::validation("", "the body must be a JSON object");
    // PostgreSQL text cannot hold U+0000: refused here, naming the field, not by the database.
    if bytes.windows(6).any(|w| w == b"\\u0000")
        && let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes)
        && let Some(path) = nul_path(&value, String::new())
    {
        return Err(ApiError::validation(&path, NUL_MESSAGE));
    }
    // The common case reads the bytes once, straight into T (serde refuses a repeated key).
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let shape_error = match serde_path_to_error::deserialize(&mut de) {
        Ok(body) => {
            de.end().map_err(|e| syntax_error(&e))?;
            // Valid JSON that starts with `{` is an object.
            return match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
                Some(b'{') => Ok(body),
                _ => Err(not_an_object()),
            };
        }
        Err(err) if err.inner().classify() != serde_json::error::Category::Data => {
            return Err(syntax_error(err.inner()));
        }
        Err(err) => field_error(err),
    };
    // A shape error may only be an integer spelled 7.0: read again from the parsed tree with
    // those rewritten (where a repeated key would keep its last value).
    let mut value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| syntax_error(&e))?;
    if !value.is_object() {
        return Err(not_an_object());
    }
    if integral_floats_as_integers(&mut value) {
        return serde_path_to_error::deserialize(value).map_err(field_error);
    }
    Err(shape_error)
}

const NUL_MESSAGE: &str = "must not contain the NUL character (U+0000)";

/// The path (as serde_path_to_error spells it: `a.b[0].c`) of the first string or key holding
/// U+0000, if any.
fn nul_path(value: &serde_json::Value, at: String) -> Option<String> {
    use serde_json::Value;
    let join = |key: &str| if at.is_empty() { key.to_string() } else { format!("{at}.{key}") };
    match value {
        Value::String(s) if s.contains('\0') => Some(at),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| nul_path(item, format!("{at}[{i}]"))),
        Value::Object(fields) => fields.iter().find_map(|(key, field)| {
            if key.contains('\0') { Some(join(&key.replace('\0', "\\u0000"))) } else { nul_path(field, join(key)) }
        }),
        _ => None,
    }
}

fn field_error(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = err.path().to_string();
    ApiError::Validation(vec![FieldError::new(
        if path == "." { String::new() } else { path },
        clean_serde_message(&err.into_inner().to_string()),
    )])
}

/// Rewrites every integral float (|f| < 2^63) as an integer; tells whether there was any.
fn integral_floats_as_integers(value: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            let integral = f.fract() == 0.0 && f.abs() < 9.2e18;
            if integral {
                *value = Value::from(f as i64);
            }
            integral
        }
        Value::Array(items) => items.iter_mut().fold(false, |any, item| integral_floats_as_integers(item) | any),
        Value::Object(fields) => fields.values_mut().fold(false, |any, field| integral_floats_as_integers(field) | any),
        _ => false,
    }
}

fn syntax_error(e: &serde_json::Error) -> ApiError {
    ApiError::BadRequest(format!("the body is not valid JSON: {}", clean_serde_message(&e.to_string())))
}

/// serde's messages end with " at line 1 column 7"; the field path already says where.
fn clean_serde_message(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// Query-string parameters; a value of the wrong type is 422 naming the parameter.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        if let Some((key, _)) = form_urlencoded_parse(query).find(|(k, v)| k.contains('\0') || v.contains('\0')) {
            return Err(ApiError::validation(&key.replace('\0', "\\u0000"), NUL_MESSAGE));
        }
        let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
        serde_path_to_error::deserialize(de).map(Query).map_err(|err| {
            let field = err.path().to_string();
            ApiError::Validation(vec![FieldError::new(
                if field == "." { String::new() } else { field },
                err.into_inner().to_string(),
            )])
        })
    }
}

fn form_urlencoded_parse(query: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(query.as_bytes())
}

/// Path parameters. An id that cannot be parsed cannot exist: 404, like any unknown id.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Path(v))
            .map_err(|_| ApiError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: Option<String>,
        latitude: Option<f64>,
    }

    #[test]
    fn syntax_error_is_bad_request() {
        assert!(matches!(parse_json::<Body>(b"{\"name\": "), Err(ApiError::BadRequest(_))));
        assert!(matches!(parse_json::<Body>(b"{} trailing"), Err(ApiError::BadRequest(_))));
    }

    #[test]
    fn wrong_type_names_the_field() {
        let Err(ApiError::Validation(errors)) = parse_json::<Body>(br#"{"latitude": "north"}"#) else { panic!() };
        assert_eq!(errors[0].field, "latitude");
        assert!(!errors[0].message.contains("line"));
    }

    #[test]
    fn only_an_object_is_a_body() {
        for not_an_object in [&b"[null, null]"[..], b"null", b"\"x\"", b"3"] {
            let Err(ApiError::Validation(errors)) = parse_json::<Body>(not_an_object) else { panic!() };
            assert_eq!(errors[0].message, "the body must be a JSON object");
        }
    }

    #[test]
    fn integral_numbers_are_integers_whatever_their_spelling() {
        #[derive(Deserialize)]
        struct Ids {
            id: i64,
            latitude: f64,
        }
        let ids: Ids = parse_json(br#"{"id": 192.0, "latitude": -6.0}"#).unwrap();
        assert_eq!((ids.id, ids.latitude), (192, -6.0));
        let Err(ApiError::Validation(errors)) = parse_json::<Ids>(br#"{"id": 1.5, "latitude": 0}"#) else { panic!() };
        assert_eq!(errors[0].field, "id");
    }

    #[test]
    fn nul_is_refused_naming_the_field() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Body {
            name: String,
            tags: Vec<String>,
        }
        let refused = |body: &str| match parse_json::<Body>(body.as_bytes()) {
            Err(ApiError::Validation(errors)) => errors.into_iter().map(|e| e.field).collect::<Vec<_>>(),
            other => panic!("{body}: {other:?}"),
        };
        assert_eq!(refused(r#"{"name": "a\u0000b", "tags": []}"#), ["name"]);
        assert_eq!(refused(r#"{"name": "ok", "tags": ["x", "\u0000"]}"#), ["tags[1]"]);
        assert_eq!(refused(r#"{"name": "ok", "tags": [], "x\u0000": 1}"#), ["x\\u0000"]);
        // A backslash before `u0000` is text, not NUL.
        assert_eq!(parse_json::<Body>(br#"{"name": "C:\\u0000", "tags": []}"#).unwrap().name, "C:\\u0000");
    }

    #[tokio::test]
    async fn nul_in_a_query_string_is_refused_naming_the_parameter() {
        let parts = |uri: &str| axum::http::Request::builder().uri(uri).body(()).unwrap().into_parts().0;
        type Params = std::collections::HashMap<String, String>;
        let mut refused = parts("/api/locations?region=Bali&q=a%00b");
        match Query::<Params>::from_request_parts(&mut refused, &()).await {
            Err(ApiError::Validation(errors)) => assert_eq!(errors[0].field, "q"),
            other => panic!("{:?}", other.map(|q| q.0)),
        }
        let mut fine = parts("/api/locations?q=a%20b");
        assert_eq!(Query::<Params>::from_request_parts(&mut fine, &()).await.unwrap().0["q"], "a b");
    }

    #[test]
    fn a_repeated_key_is_refused() {
        let Err(ApiError::Validation(errors)) = parse_json::<Body>(br#"{"name": "a", "name": "b"}"#) else { panic!() };
        assert!(errors[0].message.contains("duplicate field"), "{errors:?}");
    }

    #[test]
    fn unknown_field_is_rejected() {
        let Err(ApiError::Validation(errors)) = parse_json::<Body>(br#"{"nmae": "x"}"#) else { panic!() };
        assert!(errors[0].message.contains("unknown field"), "{errors:?}");
    }
}
