//! `Idempotency-Key` for creating requests. The first success is stored with what it created,
//! in the same transaction; a retry with the same key and the same body gets that response
//! again (`Idempotency-Replayed: true`) and creates nothing; the same key with another body is
//! 422; a retry racing the first request waits for it and is told to send again (409).

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};

use crate::error::{ApiError, ApiResult};

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED: &str = "idempotency-replayed";

/// The stored response to replay when the request carried a key already used, else `None`
/// (go ahead and create). The one call every creating handler makes first.
pub async fn replayed(idempotency: &Option<Idempotency>, pool: &PgPool) -> ApiResult<Option<Response>> {
    match idempotency {
        Some(key) => key.replay(pool).await,
        None => Ok(None),
    }
}

/// A key as sent, scoped to the caller and the route, with a fingerprint of the request body.
#[derive(Debug, Clone)]
pub struct Idempotency {
    key: String,
    user_id: i64,
    route: &'static str,
    request_sha256: String,
}

impl Idempotency {
    /// `None` without the header; 422 unless it is 1–255 visible ASCII characters.
    pub fn from_headers(
        headers: &HeaderMap,
        user_id: i64,
        route: &'static str,
        request: &impl Serialize,
    ) -> ApiResult<Option<Self>> {
        let Some(value) = headers.get(HEADER) else { return Ok(None) };
        let key = value
            .to_str()
            .ok()
            .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| ApiError::validation("Idempotency-Key", "must be 1 to 255 visible ASCII characters"))?;
        let body = serde_json::to_vec(request).map_err(ApiError::internal)?;
        let request_sha256 = Sha256::digest(&body).iter().map(|b| format!("{b:02x}")).collect();
        Ok(Some(Self { key: key.to_string(), user_id, route, request_sha256 }))
    }

    /// The response already given for this key, if any (422 if it was for another request).
    pub async fn replay(&self, pool: &PgPool) -> ApiResult<Option<Response>> {
        let stored: Option<(String, String, i16, serde_json::Value, Option<String>)> = sqlx::query_as(
            "SELECT route, request_sha256, status, body, etag FROM idempotency_keys WHERE user_id = $1 AND key = $2",
        )
        .bind(self.user_id)
        .bind(&self.key)
        .fetch_optional(pool)
        .await?;
        let Some((route, fingerprint, status, body, etag)) = stored else { return Ok(None) };
        if route != self.route || fingerprint != self.request_sha256 {
            return Err(ApiError::validation(
                "Idempotency-Key",
                "was already used for a different request; use a new key for a new request",
            ));
        }
        let status = StatusCode::from_u16(status as u16).map_err(ApiError::internal)?;
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(HeaderName::from_static(REPLAYED), HeaderValue::from_static("true"));
        if let Some(etag) = etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
            headers.insert(header::ETAG, etag);
        }
        Ok(Some(response))
    }

    /// Stores the response inside the transaction that made the change. When a concurrent
    /// request with the same key committed first, this waits for it and fails with 409, which
    /// rolls this one back: nothing is created twice.
    pub async fn remember(
        &self,
        conn: &mut PgConnection,
        status: StatusCode,
        body: &impl Serialize,
        etag: Option<&str>,
    ) -> ApiResult<()> {
        let body = serde_json::to_value(body).map_err(ApiError::internal)?;
        let stored = sqlx::query(
            "INSERT INTO idempotency_keys (user_id, key, route, request_sha256, status, body, etag)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id, key) DO NOTHING",
        )
        .bind(self.user_id)
        .bind(&self.key)
        .bind(self.route)
        .bind(&self.request_sha256)
        .bind(status.as_u16() as i16)
        .bind(body)
        .bind(etag)
        .execute(conn)
        .await?;
        if stored.rows_affected() == 0 {
            return Err(ApiError::Conflict(
                "A request with this Idempotency-Key has just been completed; send it again to receive its response."
                    .into(),
            ));
        }
        Ok(())
    }
}
