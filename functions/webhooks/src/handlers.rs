use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use nexus_shared::audit::{self, Action, EntityType};
use nexus_shared::auth::{Admin, Auth};
use nexus_shared::db::Lock;
use nexus_shared::extract::{Json, Path, Query};
use nexus_shared::pagination::{Page, PageParams, SortKey, Sorting};
use nexus_shared::webhook::endpoint::{self, COLUMNS, Webhook};
use nexus_shared::webhook::secret::{SigningSecret, WebhookSettings};
use nexus_shared::webhook::{EventType, outbox};
use nexus_shared::{ApiError, ApiResult, AppState, etag};
use serde::Serialize;
use serde_json::json;
use sqlx::PgConnection;
use utoipa::ToSchema;

use crate::body::{Draft, NewWebhookBody, WebhookBody};
use crate::delivery::{self, Delivery};

/// An endpoint with a signing secret just made: the only time the secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct WithSecret {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// `whsec_` + base64 of 32 random bytes: keep it now, it is never shown again. Receivers
    /// verify `webhook-signature` with it (Standard Webhooks).
    pub secret: String,
}

/// How the list below is ordered.
pub struct WebhookSorting;

impl Sorting for WebhookSorting {
    const KEYS: &'static [SortKey] = &[SortKey { name: "created_at", column: "w.created_at", cast: "timestamptz" }];
    const DEFAULT: &'static str = "created_at";
    const ID_COLUMN: &'static str = "w.id";
}

/// Lists the endpoints (admins).
#[utoipa::path(get, path = "/api/webhooks", tag = "webhooks", security(("bearer" = [])),
    params(PageParams<WebhookSorting>),
    responses((status = 200, description = "A page of endpoints (never their secrets)", body = Page<Webhook>)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Auth<Admin>,
    Query(page): Query<PageParams<WebhookSorting>>,
) -> ApiResult<Page<Webhook>> {
    let page = page.resolve()?;
    let qb = page.query(COLUMNS, "webhooks w");
    Ok(page.fetch(qb, &state.pool).await?)
}

/// Registers an endpoint (admins) and answers its signing secret, shown this once. The URL must
/// be `https://` on a host that resolves only to public addresses (422 naming `url`); `events`
/// are the subscribable types (422 naming `events[i]`).
#[utoipa::path(post, path = "/api/webhooks", tag = "webhooks", security(("bearer" = [])),
    request_body = NewWebhookBody,
    responses((status = 201, description = "Registered; `secret` is shown only now", body = WithSecret, headers(("ETag" = String))),
              (status = 422, description = "Invalid body, or a URL the SSRF guard refuses", body = nexus_shared::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    State(settings): State<WebhookSettings>,
    caller: Auth<Admin>,
    Json(body): Json<NewWebhookBody>,
) -> ApiResult<(StatusCode, HeaderMap, axum::Json<WithSecret>)> {
    let draft = body.parse(settings.allow_loopback).await?;
    let secret = SigningSecret::generate()?;
    let sealed = settings.key.seal(&secret)?;
    let actor = caller.actor();
    let created =
        audit::create(&state.pool, &actor, async |conn| insert(conn, &draft, &sealed, caller.id).await).await?;
    let headers = etag::headers(created.version);
    Ok((StatusCode::CREATED, headers, axum::Json(WithSecret { webhook: created, secret: secret.expose().to_string() })))
}

async fn insert(conn: &mut PgConnection, draft: &Draft, sealed: &[u8], by: i64) -> Result<Webhook, ApiError> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO webhooks (url, events, description, secret_sealed, created_by)
         VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
    )))
    .bind(&draft.url)
    .bind(&draft.events)
    .bind(&draft.description)
    .bind(sealed)
    .bind(by)
    .fetch_one(conn)
    .await?)
}

/// An endpoint, with its version as `ETag` (admins).
#[utoipa::path(get, path = "/api/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Endpoint id")),
    responses((status = 200, description = "The endpoint (never its secret)", body = Webhook, headers(("ETag" = String))),
              (status = 404, description = "No such endpoint", body = nexus_shared::error::Problem)))]
pub async fn get(
    State(state): State<AppState>,
    _caller: Auth<Admin>,
    Path(id): Path<i64>,
) -> ApiResult<(HeaderMap, axum::Json<Webhook>)> {
    let mut conn = state.pool.acquire().await?;
    let found = endpoint::find(&mut conn, id, Lock::None).await?.ok_or(ApiError::NotFound)?;
    Ok((etag::headers(found.version), axum::Json(found)))
}

/// Changes an endpoint (admins): the fields sent. A changed URL passes the SSRF guard again.
/// `enabled: true` turns a disabled endpoint back on (clearing `disabled_reason` and
/// `failing_since`); `enabled: false` turns it off and fails its pending deliveries. Send the
/// `ETag` you read as `If-Match` (412 when stale).
#[utoipa::path(put, path = "/api/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Endpoint id"),
           ("If-Match" = Option<String>, Header, max_length = 100, description = "The ETag last read")),
    request_body = WebhookBody,
    responses((status = 200, description = "The endpoint", body = Webhook, headers(("ETag" = String))),
              (status = 404, description = "No such endpoint", body = nexus_shared::error::Problem),
              (status = 412, description = "Stale If-Match", body = nexus_shared::error::Problem),
              (status = 422, description = "Invalid body, or a URL the SSRF guard refuses", body = nexus_shared::error::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    State(settings): State<WebhookSettings>,
    caller: Auth<Admin>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(body): Json<WebhookBody>,
) -> ApiResult<(HeaderMap, axum::Json<Webhook>)> {
    let if_match = etag::if_match(&headers)?;
    // A body wrong whatever the stored endpoint is (a field, a refused URL: resolved here,
    // before any row is locked) is a 422 before a stale If-Match is a 412.
    let mut conn = state.pool.acquire().await?;
    let stored = endpoint::find(&mut conn, id, Lock::None).await?.ok_or(ApiError::NotFound)?;
    drop(conn);
    let draft = body.parse(Some(&stored), settings.allow_loopback).await?;
    let actor = caller.actor();
    let locked = async |conn: &mut PgConnection, id| endpoint::find(conn, id, Lock::ForUpdate).await;
    let updated = audit::update(&state.pool, &actor, Action::Update, id, locked, async |conn, before| {
        etag::check(if_match.as_deref(), before.version)?;
        save(conn, before, &draft).await
    })
    .await?;
    Ok((etag::headers(updated.version), axum::Json(updated)))
}

async fn save(conn: &mut PgConnection, before: &Webhook, draft: &Draft) -> Result<Webhook, ApiError> {
    let turned_off = before.enabled && !draft.enabled;
    let updated: Webhook = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE webhooks SET url = $2, events = $3, description = $4, enabled = $5,
             disabled_reason = CASE WHEN $5 THEN NULL WHEN enabled THEN 'disabled by an admin' ELSE disabled_reason END,
             failing_since = CASE WHEN $5 AND NOT enabled THEN NULL ELSE failing_since END,
             version = version + 1, updated_at = now()
         WHERE id = $1 RETURNING {COLUMNS}"
    )))
    .bind(before.id)
    .bind(&draft.url)
    .bind(&draft.events)
    .bind(&draft.description)
    .bind(draft.enabled)
    .fetch_one(&mut *conn)
    .await?;
    if turned_off {
        endpoint::fail_pending(conn, before.id).await?;
    }
    Ok(updated)
}

/// Deletes an endpoint and its deliveries (admins).
#[utoipa::path(delete, path = "/api/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Endpoint id")),
    responses((status = 204, description = "Deleted"),
              (status = 404, description = "No such endpoint", body = nexus_shared::error::Problem)))]
pub async fn delete(State(state): State<AppState>, caller: Auth<Admin>, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    audit::delete(&state.pool, &caller.actor(), id, async |conn, id| {
        Ok(sqlx::query_as::<_, Webhook>(sqlx::AssertSqlSafe(format!(
            "DELETE FROM webhooks WHERE id = $1 RETURNING {COLUMNS}"
        )))
        .bind(id)
        .fetch_optional(conn)
        .await?)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Makes a new signing secret, shown this once (admins). The one it replaces keeps signing for
/// 24 hours beside it (two signatures in `webhook-signature`), so receivers can switch without
/// losing an event; a second rotation within those hours drops the oldest.
#[utoipa::path(post, path = "/api/webhooks/{id}/rotate-secret", tag = "webhooks", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Endpoint id")),
    responses((status = 200, description = "The new secret, shown only now", body = WithSecret, headers(("ETag" = String))),
              (status = 404, description = "No such endpoint", body = nexus_shared::error::Problem)))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    State(settings): State<WebhookSettings>,
    caller: Auth<Admin>,
    Path(id): Path<i64>,
) -> ApiResult<(HeaderMap, axum::Json<WithSecret>)> {
    let secret = SigningSecret::generate()?;
    let sealed = settings.key.seal(&secret)?;
    let locked = async |conn: &mut PgConnection, id| endpoint::find(conn, id, Lock::ForUpdate).await;
    let rotated = audit::update(&state.pool, &caller.actor(), Action::Update, id, locked, async |conn, _| {
        Ok(sqlx::query_as::<_, Webhook>(sqlx::AssertSqlSafe(format!(
            "UPDATE webhooks SET previous_secret_sealed = secret_sealed, secret_sealed = $2,
                 previous_secret_expires_at = now() + interval '24 hours', version = version + 1, updated_at = now()
             WHERE id = $1 RETURNING {COLUMNS}"
        )))
        .bind(id)
        .bind(&sealed)
        .fetch_one(conn)
        .await?)
    })
    .await?;
    let headers = etag::headers(rotated.version);
    Ok((headers, axum::Json(WithSecret { webhook: rotated, secret: secret.expose().to_string() })))
}

/// Sends a `ping` event (`{"webhook_id": id}`) to this endpoint through the normal delivery
/// pipeline (admins): signed, retried and listed like any delivery. 409 when it is disabled.
#[utoipa::path(post, path = "/api/webhooks/{id}/test", tag = "webhooks", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Endpoint id")),
    responses((status = 202, description = "The ping's delivery, due now", body = Delivery),
              (status = 404, description = "No such endpoint", body = nexus_shared::error::Problem),
              (status = 409, description = "The endpoint is disabled", body = nexus_shared::error::Problem)))]
pub async fn test(
    State(state): State<AppState>,
    caller: Auth<Admin>,
    Path(id): Path<i64>,
) -> ApiResult<(StatusCode, axum::Json<Delivery>)> {
    let mut tx = state.pool.begin().await?;
    let webhook = endpoint::find(&mut tx, id, Lock::ForUpdate).await?.ok_or(ApiError::NotFound)?;
    if !webhook.enabled {
        return Err(ApiError::Conflict("The endpoint is disabled: enable it first.".into()));
    }
    let delivery_id = outbox::emit_to(&mut tx, id, EventType::Ping, json!({"webhook_id": id})).await?;
    let noted = json!({"ping_delivery_id": delivery_id});
    audit::record(&mut tx, &caller.actor(), EntityType::Webhook, id, Action::Update, Some(&json!({})), Some(&noted))
        .await?;
    let delivery = delivery::find(&mut tx, id, delivery_id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok((StatusCode::ACCEPTED, axum::Json(delivery)))
}
