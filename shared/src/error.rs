//! One error type for every handler, answered as RFC 9457 `application/problem+json`.
//!
//! Client mistakes carry a message written for the client. Database and internal failures are
//! logged (inside the request's span, so with its request id) and answered with a generic body:
//! nothing internal, and nothing secret, ever reaches a response.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sqlx::error::DatabaseError;
use utoipa::ToSchema;

pub type ApiResult<T> = Result<T, ApiError>;

/// One invalid field of a request: `field` names it as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request could not be read at all (malformed JSON, bad encoding).
    #[error("malformed request: {0}")]
    BadRequest(String),
    /// No credentials, or credentials that are not (or no longer) valid.
    #[error("authentication required")]
    Unauthorized(&'static str),
    #[error("forbidden")]
    Forbidden,
    /// The account's password was chosen by someone else (the first admin of a deploy).
    #[error("password change required")]
    PasswordChangeRequired,
    /// The caller's role requires MFA and they have not enrolled: the session may only enrol.
    #[error("MFA enrolment required")]
    MfaEnrollmentRequired,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A unique value already taken, or a state that forbids the change.
    #[error("conflict: {0}")]
    Conflict(String),
    /// `If-Match` named a version that is no longer current.
    #[error("precondition failed")]
    PreconditionFailed,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// A body that is not JSON where another type is expected (an import's `text/csv`).
    #[error("unsupported media type, expected {0}")]
    ExpectedMediaType(&'static str),
    /// Well-formed input that fails validation.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    /// The database could not be reached in time.
    #[error("service unavailable")]
    Unavailable,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    pub fn internal(context: impl std::fmt::Display) -> Self {
        Self::Internal(context.to_string())
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::PasswordChangeRequired | Self::MfaEnrollmentRequired => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType | Self::ExpectedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Database(e) if is_unavailable(e) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Database(e) => match client_fault(e) {
                Some(ClientFault::Duplicate) => StatusCode::CONFLICT,
                Some(ClientFault::InvalidData) => StatusCode::UNPROCESSABLE_ENTITY,
                None => StatusCode::INTERNAL_SERVER_ERROR,
            },
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn problem(&self) -> Problem {
        let status = self.status();
        let (slug, title, detail) = match self {
            Self::BadRequest(msg) => ("bad-request", "Malformed request", msg.clone()),
            Self::Unauthorized(why) => ("unauthorized", "Authentication required", (*why).to_string()),
            Self::Forbidden => ("forbidden", "Forbidden", "Your role does not allow this action.".into()),
            Self::PasswordChangeRequired => (
                "password-change-required",
                "Password change required",
                "Choose your own password first: POST /api/auth/password.".into(),
            ),
            Self::MfaEnrollmentRequired => (
                "mfa-enrollment-required",
                "MFA enrolment required",
                "Your role requires multi-factor authentication: enrol (POST /api/auth/mfa/enroll, then \
                 /api/auth/mfa/confirm), then sign in again."
                    .into(),
            ),
            Self::NotFound => ("not-found", "Not found", "No such resource.".into()),
            Self::MethodNotAllowed => {
                ("method-not-allowed", "Method not allowed", "This resource does not support that method.".into())
            }
            Self::Conflict(msg) => ("conflict", "Conflict", msg.clone()),
            Self::PreconditionFailed => (
                "precondition-failed",
                "Precondition failed",
                "The resource changed since it was read (If-Match); read it again and retry.".into(),
            ),
            Self::PayloadTooLarge => {
                ("payload-too-large", "Payload too large", "The request body is larger than allowed.".into())
            }
            Self::UnsupportedMediaType => {
                ("unsupported-media-type", "Unsupported media type", "Send the body as application/json.".into())
            }
            Self::ExpectedMediaType(media_type) => {
                ("unsupported-media-type", "Unsupported media type", format!("Send the body as {media_type}."))
            }
            Self::Validation(_) => ("validation", "Validation failed", "One or more fields are invalid.".into()),
            Self::TooManyRequests { retry_after_secs } => (
                "too-many-requests",
                "Too many requests",
                format!("Too many attempts; try again in {retry_after_secs} seconds."),
            ),
            Self::Database(_) if status == StatusCode::CONFLICT => {
                ("conflict", "Conflict", "A record with one of these unique values already exists.".into())
            }
            Self::Database(_) if status == StatusCode::UNPROCESSABLE_ENTITY => {
                ("invalid-data", "Invalid data", "A value was refused by the data store's rules.".into())
            }
            _ if status == StatusCode::SERVICE_UNAVAILABLE => {
                ("unavailable", "Service unavailable", "The service is temporarily unavailable; retry shortly.".into())
            }
            _ => ("internal", "Internal error", "An unexpected error occurred; it has been logged.".into()),
        };
        Problem {
            problem_type: format!("/problems/{slug}"),
            title: title.into(),
            status: status.as_u16(),
            detail,
            errors: match self {
                Self::Validation(errors) => Some(errors.clone()),
                _ => None,
            },
        }
    }
}

fn is_unavailable(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_))
}

/// A constraint or data error that a handler did not map with `on_constraint`: still the
/// client's doing, so it must not become a 500. Handlers should map the ones they expect to a
/// precise message; this is the safety net, and it is logged so the gap gets noticed.
enum ClientFault {
    Duplicate,
    InvalidData,
}

fn client_fault(e: &sqlx::Error) -> Option<ClientFault> {
    let sqlx::Error::Database(dbe) = e else {
        return None;
    };
    let code = dbe.code()?;
    match code.as_ref() {
        "23505" => Some(ClientFault::Duplicate),
        // not-null, foreign key, check, and class 22 (data exceptions such as NUL bytes or out of range)
        "23502" | "23503" | "23514" => Some(ClientFault::InvalidData),
        c if c.starts_with("22") => Some(ClientFault::InvalidData),
        _ => None,
    }
}

/// The RFC 9457 body.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Present on validation failures (422): one entry per invalid field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            Self::Database(e) => match status {
                StatusCode::SERVICE_UNAVAILABLE => {
                    tracing::warn!(error = %e, "database unavailable")
                }
                s if s.is_client_error() => {
                    tracing::warn!(error = %e, "unmapped constraint or data error")
                }
                _ => tracing::error!(error = ?e, "database error"),
            },
            Self::Internal(context) => tracing::error!(%context, "internal error"),
            _ => {}
        }
        let mut response = (
            status,
            [(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"))],
            axum::Json(self.problem()),
        )
            .into_response();
        if let Self::TooManyRequests { retry_after_secs } = self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs.max(1)));
        }
        response
    }
}

impl ApiError {
    /// The problem answer with its `detail` replaced and one more member (RFC 9457 extension
    /// members), e.g. a rejected import's `report` beside its `errors`.
    pub fn into_response_with(self, detail: impl Into<String>, name: &str, value: serde_json::Value) -> Response {
        let status = self.status();
        let mut problem = self.problem();
        problem.detail = detail.into();
        let mut body = serde_json::to_value(problem).unwrap_or_default();
        if let Some(members) = body.as_object_mut() {
            members.insert(name.to_string(), value);
        }
        (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"))], axum::Json(body))
            .into_response()
    }
}

/// Turns a named constraint violation into a client error where the query is made, as in
/// launchbadge's realworld-axum-sqlx:
/// `.await.on_constraint("locations_code_key", |_| ApiError::Conflict(..))?`.
pub trait ResultExt<T> {
    fn on_constraint(self, name: &str, f: impl FnOnce(Box<dyn DatabaseError>) -> ApiError) -> Result<T, ApiError>;
}

impl<T, E: Into<ApiError>> ResultExt<T> for Result<T, E> {
    fn on_constraint(self, name: &str, f: impl FnOnce(Box<dyn DatabaseError>) -> ApiError) -> Result<T, ApiError> {
        self.map_err(|e| match e.into() {
            ApiError::Database(sqlx::Error::Database(dbe)) if dbe.constraint() == Some(name) => f(dbe),
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body_of(e: ApiError) -> (StatusCode, serde_json::Value, Option<String>) {
        let r = e.into_response();
        let status = r.status();
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/problem+json");
        let retry = r.headers().get(header::RETRY_AFTER).map(|v| v.to_str().unwrap().to_string());
        let bytes = r.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap(), retry)
    }

    #[tokio::test]
    async fn validation_errors_list_each_field() {
        let (status, body, _) = body_of(ApiError::validation("code", "must not be empty")).await;
        assert_eq!(status, 422);
        assert_eq!(body["status"], 422);
        assert_eq!(body["type"], "/problems/validation");
        assert_eq!(body["errors"][0]["field"], "code");
    }

    #[tokio::test]
    async fn internal_errors_do_not_leak_their_context() {
        let (status, body, _) = body_of(ApiError::internal("password=hunter2 at db.internal:5432")).await;
        assert_eq!(status, 500);
        assert!(!body.to_string().contains("hunter2"));
        assert!(!body.to_string().contains("db.internal"));
    }

    #[tokio::test]
    async fn pool_timeout_is_503_and_rate_limit_carries_retry_after() {
        let (status, _, _) = body_of(ApiError::Database(sqlx::Error::PoolTimedOut)).await;
        assert_eq!(status, 503);
        let (status, _, retry) = body_of(ApiError::TooManyRequests { retry_after_secs: 42 }).await;
        assert_eq!(status, 429);
        assert_eq!(retry.as_deref(), Some("42"));
    }

    /// Found by the contract fuzz: a stale `If-Match` was a 412 labelled "Internal error".
    #[tokio::test]
    async fn every_client_error_has_its_own_problem_type() {
        let client_errors = [
            ApiError::BadRequest("x".into()),
            ApiError::Unauthorized("x"),
            ApiError::Forbidden,
            ApiError::PasswordChangeRequired,
            ApiError::MfaEnrollmentRequired,
            ApiError::NotFound,
            ApiError::MethodNotAllowed,
            ApiError::Conflict("x".into()),
            ApiError::PreconditionFailed,
            ApiError::PayloadTooLarge,
            ApiError::UnsupportedMediaType,
            ApiError::ExpectedMediaType("text/csv"),
            ApiError::validation("f", "x"),
            ApiError::TooManyRequests { retry_after_secs: 1 },
            ApiError::Unavailable,
        ];
        for error in client_errors {
            let (status, body, _) = body_of(error).await;
            assert_ne!(body["type"], "/problems/internal", "{status}");
            assert_eq!(body["status"], status.as_u16());
        }
    }
}
