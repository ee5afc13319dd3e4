use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use nexus_shared::audit::{self, Action};
use nexus_shared::auth::{Auth, AuthUser, Staff, Worker};
use nexus_shared::csv::accepts_csv;
use nexus_shared::db::Lock;
use nexus_shared::extract::{Json, Path, Query};
use nexus_shared::idempotency::{self, Idempotency};
use nexus_shared::pagination::{Page, PageParams, SortKey, Sorting};
use nexus_shared::ticket::{TicketQuery, TicketStatus, Visibility};
use nexus_shared::{ApiError, ApiResult, AppState, etag};

use crate::export;
use crate::input::{NewTicket, NewTicketBody, TicketUpdate, TicketUpdateBody};
use crate::lifecycle;
use crate::store;
use crate::ticket::{Ticket, TicketRow};

/// How the list below is ordered.
pub struct TicketSorting;

impl Sorting for TicketSorting {
    const KEYS: &'static [SortKey] = &crate::store::SORTS;
    const DEFAULT: &'static str = "-created_at";
    const ID_COLUMN: &'static str = "t.id";
}

/// Lists tickets, each with its asset and location, so a list screen needs one request.
/// `sort` is `-created_at` (default), `created_at` or `resolution_due_at` (`-` for descending).
///
/// With `Accept: text/csv` the answer is every ticket the filters match (`limit` and `cursor`
/// are ignored) as one CSV file (UTF-8 with a BOM, a header row; columns in docs/api.md), up
/// to 4.7 MB: a larger export is 422, to be narrowed with the filters or sent to S3 with
/// `POST /api/exports`. Technicians get their own
/// tickets only, as in JSON.
#[utoipa::path(get, path = "/api/tickets", tag = "tickets", security(("bearer" = [])),
    params(TicketQuery, PageParams<TicketSorting>),
    responses((status = 200, description = "A page of tickets; or, for `Accept: text/csv`, every ticket the filters match as CSV",
               content((Page<Ticket> = "application/json"), (String = "text/csv")),
               headers(("Content-Disposition" = String, description = "CSV only: `attachment; filename=\"tickets-<date>.csv\"`"))),
              (status = 422, description = "Invalid filter or page; or a CSV export over 4.7 MB (field `filter`; `POST /api/exports` writes any size to S3)", body = nexus_shared::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Auth,
    headers: HeaderMap,
    Query(query): Query<TicketQuery>,
    Query(page): Query<PageParams<TicketSorting>>,
) -> ApiResult<Response> {
    if accepts_csv(&headers) {
        let order = export::EXPORT.order(page)?;
        let filter = query.parse()?;
        return Ok(store::export(&state.pool, &filter, Visibility::of(&caller), &order).await?.into_response());
    }
    let page = page.resolve()?;
    let filter = query.parse()?;
    let rows = store::list(&state.pool, &filter, Visibility::of(&caller), &page).await?;
    let now = Utc::now();
    Ok(rows.map(|r| r.view(now)).into_response())
}

/// A ticket with an `ETag` to send back as `If-Match` when changing it.
#[utoipa::path(get, path = "/api/tickets/{id}", tag = "tickets", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Ticket id")),
    responses((status = 200, description = "The ticket", body = Ticket, headers(("ETag" = String)))))]
pub async fn get(
    State(state): State<AppState>,
    caller: Auth,
    Path(id): Path<i64>,
) -> ApiResult<(HeaderMap, axum::Json<Ticket>)> {
    let mut conn = state.pool.acquire().await?;
    let row = store::find(&mut conn, id, Visibility::of(&caller), Lock::None).await?.ok_or(ApiError::NotFound)?;
    Ok(with_etag(row))
}

fn with_etag(row: TicketRow) -> (HeaderMap, axum::Json<Ticket>) {
    (etag::headers(row.version), axum::Json(row.view(Utc::now())))
}

/// Opens a ticket for an asset; its location, number and SLA deadlines are derived.
#[utoipa::path(post, path = "/api/tickets", tag = "tickets", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[!-~]+$",
            description = "1–255 visible ASCII characters; a retry with the same key and body gets the first response")),
    request_body = NewTicketBody,
    responses((status = 201, description = "Created (or, with Idempotency-Replayed: true, created by the first request with this key)",
               body = Ticket, headers(("ETag" = String))),
              (status = 409, description = "No SLA rule for this type and priority, or a concurrent request with the same Idempotency-Key", body = nexus_shared::error::Problem),
              (status = 422, description = "Invalid body, or an Idempotency-Key already used for another request", body = nexus_shared::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Auth<Staff>,
    request_headers: HeaderMap,
    Json(body): Json<NewTicketBody>,
) -> ApiResult<Response> {
    let idempotency = Idempotency::from_headers(&request_headers, caller.id, "POST /api/tickets", &body)?;
    if let Some(replay) = idempotency::replayed(&idempotency, &state.pool).await? {
        return Ok(replay);
    }
    let new = NewTicket::parse(body)?;
    let now = Utc::now();
    let created = audit::create(&state.pool, &caller.actor(), async |conn| {
        let site = store::asset_site(conn, new.asset_id).await?;
        if let Some(assignee) = new.assigned_to {
            store::check_assignable(conn, assignee).await?;
        }
        let targets = store::rule(conn, new.ticket_type, new.priority).await?;
        let clock = nexus_shared::ticket::SlaClock::load(conn, &site.timezone, targets).await?;
        let number = store::next_number(conn, new.ticket_type, now).await?;
        let id = store::insert(
            conn,
            &store::Insert {
                number: &number,
                ticket_type: new.ticket_type,
                priority: new.priority,
                status: if new.assigned_to.is_some() { TicketStatus::Assigned } else { TicketStatus::Open },
                asset_id: new.asset_id,
                location_id: site.location_id,
                description: &new.description,
                assigned_to: new.assigned_to,
                created_by: caller.id,
                targets,
                lines: clock.lines(now, chrono::Duration::zero()),
                created_at: now,
            },
        )
        .await?;
        if let Some(checklist_id) = new.checklist_id {
            nexus_shared::checklist::attach_latest(conn, id, checklist_id).await?;
        }
        let row = store::find(conn, id, Visibility::All, Lock::None)
            .await?
            .ok_or_else(|| ApiError::internal("ticket vanished after insert"))?;
        if let Some(key) = &idempotency {
            key.remember(conn, StatusCode::CREATED, &row.clone().view(now), Some(&row.etag())).await?;
        }
        Ok(row)
    })
    .await?;
    let (headers, body) = with_etag(created);
    Ok((StatusCode::CREATED, headers, body).into_response())
}

/// Changes status, assignment, priority, description or notes. Send the `ETag` you read as
/// `If-Match` to be sure nobody changed the ticket meanwhile (412 otherwise). A forbidden
/// transition is 409 naming the allowed ones. Technicians may only move their own tickets
/// to `in_progress`, `on_hold` or `resolved` and edit notes.
#[utoipa::path(put, path = "/api/tickets/{id}", tag = "tickets", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Ticket id"),
           ("If-Match" = Option<String>, Header, max_length = 100, description = "The ETag last read")),
    request_body = TicketUpdateBody,
    responses((status = 200, description = "Updated", body = Ticket, headers(("ETag" = String))),
              (status = 409, description = "Forbidden transition or finished ticket", body = nexus_shared::error::Problem),
              (status = 412, description = "Stale If-Match", body = nexus_shared::error::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Auth<Worker>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(body): Json<TicketUpdateBody>,
) -> ApiResult<(HeaderMap, axum::Json<Ticket>)> {
    let update = TicketUpdate::parse(body)?;
    change(&state, &caller, id, Action::Update, update, etag::if_match(&headers)?).await.map(with_etag)
}

/// Cancels the ticket (before it is resolved); the ticket and its history stay.
#[utoipa::path(delete, path = "/api/tickets/{id}", tag = "tickets", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Ticket id")),
    responses((status = 200, description = "Cancelled", body = Ticket),
              (status = 409, description = "Already resolved, closed or cancelled", body = nexus_shared::error::Problem)))]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Auth<Staff>,
    Path(id): Path<i64>,
) -> ApiResult<(HeaderMap, axum::Json<Ticket>)> {
    change(&state, &caller, id, Action::Delete, TicketUpdate::cancel(), None).await.map(with_etag)
}

async fn change(
    state: &AppState,
    caller: &AuthUser,
    id: i64,
    action: Action,
    update: TicketUpdate,
    if_match: Option<String>,
) -> ApiResult<TicketRow> {
    let visible = Visibility::of(caller);
    let locked = async |conn: &mut sqlx::PgConnection, id| store::find(conn, id, visible, Lock::ForUpdate).await;
    audit::update(&state.pool, &caller.actor(), action, id, locked, async |conn, before| {
        etag::check(if_match.as_deref(), before.version)?;
        let checklist_id = update.checklist_id;
        let after = lifecycle::commit(conn, before, update, caller, Utc::now()).await?;
        match checklist_id {
            Some(checklist_id) => {
                nexus_shared::checklist::attach_latest(conn, id, checklist_id).await?;
                store::find(conn, id, Visibility::All, Lock::None).await?.ok_or(ApiError::NotFound)
            }
            None => Ok(after),
        }
    })
    .await
}
