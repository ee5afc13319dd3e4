//! A ticket's checklist (`/api/tickets/{id}/checklist`): the items of the version the ticket
//! was given, with their answers. Answers merge by key; each is checked against its item's
//! type and stamped with who gave it, when it happened (`occurred_at`, for answers given
//! offline) and when it arrived. A `meter` answer is also a reading of the asset's meter; a
//! `fail` on an item with `on_fail` opens a corrective ticket, once. Everything an answer does
//! is done on one transaction, with the ticket's row locked, and audited on the ticket.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use nexus_shared::audit::{self, Action, EntityType};
use nexus_shared::auth::{Auth, AuthUser, Worker};
use nexus_shared::checklist::item::{MAX_ITEMS, is_key};
use nexus_shared::checklist::{self as checklists, Answer, AnswerValue, Evidence, Item, ItemType, Version, answer};
use nexus_shared::db::Lock;
use nexus_shared::error::{FieldError, ResultExt};
use nexus_shared::extract::{Json, Path};
use nexus_shared::idempotency::{self, Idempotency};
use nexus_shared::pm::meter::{self, METER_COLUMNS, MeterKind, MeterRow, Reading};
use nexus_shared::ticket::{Priority, SlaClock, TicketStatus, TicketType, Visibility};
use nexus_shared::{ApiError, ApiResult, AppState, etag, offline, webhook};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::store;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get, answer))
}

/// The statuses in which a ticket's answers may change: not once it is resolved (its
/// checklist was the evidence for resolving it), closed or cancelled.
const ANSWERABLE: [TicketStatus; 4] =
    [TicketStatus::Open, TicketStatus::Assigned, TicketStatus::InProgress, TicketStatus::OnHold];

const ROUTE: &str = "PUT /api/tickets/{id}/checklist";

/// An item of the ticket's checklist with where it stands.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = TicketChecklistItem)]
pub struct ItemState {
    #[serde(flatten)]
    pub item: Item,
    /// The stored answer; null when unanswered (photo and signature items are met by uploads,
    /// never by an answer).
    pub answer: Option<Answer>,
    /// Whether the item is met as resolving counts it: answered (`"na"` included), enough stored
    /// photos with its key, a stored signature.
    pub met: bool,
    /// The corrective ticket a `fail` on this item opened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cm_ticket_id: Option<i64>,
}

/// A ticket's checklist: the version it was given, its items and their answers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketChecklist {
    pub ticket_id: i64,
    pub checklist_id: i64,
    pub version: i32,
    pub name: String,
    /// Bumped by every change of the answers; the ETag is this number in quotes.
    pub revision: i32,
    pub items: Vec<ItemState>,
    /// The required items not met yet, as resolving the ticket would name them (`checklist.<key>`).
    pub unmet: Vec<FieldError>,
}

/// `PUT /api/tickets/{id}/checklist`.
// Serialize: its fingerprint tells a retry (same Idempotency-Key, same request) from a misuse.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ChecklistAnswersBody)]
pub struct AnswersBody {
    /// Merged by key into the stored answers; items not named keep theirs.
    #[schema(min_items = 1, max_items = 200)]
    answers: Vec<AnswerBody>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ChecklistAnswerBody)]
pub struct AnswerBody {
    /// The item's key.
    #[schema(min_length = 1, max_length = 100, pattern = r"^[a-z0-9_]+$")]
    key: String,
    /// Checked against the item's type; `null` clears the answer.
    value: AnswerValue,
    /// When it was answered on the device (RFC 3339): at most 72 hours back and 5 minutes
    /// ahead; default now.
    occurred_at: Option<DateTime<Utc>>,
}

/// The ticket as its checklist needs it.
#[derive(Debug, Clone, FromRow)]
struct TicketHead {
    id: i64,
    number: String,
    #[sqlx(try_from = "String")]
    status: TicketStatus,
    asset_id: i64,
    checklist_id: Option<i64>,
    checklist_version: Option<i32>,
    checklist_revision: i32,
}

async fn find_ticket(
    conn: &mut PgConnection,
    id: i64,
    visibility: Visibility,
    lock: Lock,
) -> ApiResult<Option<TicketHead>> {
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(
        "SELECT id, number, status, asset_id, checklist_id, checklist_version, checklist_revision FROM tickets
         WHERE id = ",
    );
    qb.push_bind(id);
    if let Visibility::AssignedTo(user_id) = visibility {
        qb.push(" AND assigned_to = ").push_bind(user_id);
    }
    if lock == Lock::ForUpdate {
        qb.push(" FOR UPDATE");
    }
    Ok(qb.build_query_as().fetch_optional(conn).await?)
}

/// The version the ticket was given; 404 when it has none.
async fn attached(conn: &mut PgConnection, ticket: &TicketHead) -> ApiResult<Version> {
    let (Some(checklist_id), Some(version)) = (ticket.checklist_id, ticket.checklist_version) else {
        return Err(ApiError::NotFound);
    };
    checklists::load_version(conn, checklist_id, version)
        .await?
        .ok_or_else(|| ApiError::internal("a ticket's checklist version is missing"))
}

#[derive(FromRow)]
struct StoredAnswer {
    key: String,
    #[sqlx(flatten)]
    answer: Answer,
}

async fn stored_answers(conn: &mut PgConnection, ticket_id: i64) -> ApiResult<HashMap<String, Answer>> {
    let rows: Vec<StoredAnswer> = sqlx::query_as(
        "SELECT key, value, answered_by, occurred_at, received_at FROM checklist_answers WHERE ticket_id = $1",
    )
    .bind(ticket_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.key, r.answer)).collect())
}

async fn view(conn: &mut PgConnection, ticket: &TicketHead, version: Version) -> ApiResult<TicketChecklist> {
    let mut answers = stored_answers(conn, ticket.id).await?;
    let children: HashMap<String, i64> = sqlx::query_as(
        "SELECT parent_checklist_key, id FROM tickets WHERE parent_ticket_id = $1 AND parent_checklist_key IS NOT NULL",
    )
    .bind(ticket.id)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    let evidence = Evidence::load(conn, ticket.id).await?;
    let unmet = checklists::unmet(&version.items, &evidence);
    let items = (version.items.into_iter())
        .map(|item| ItemState {
            answer: answers.remove(&item.key),
            met: evidence.meets(&item),
            cm_ticket_id: children.get(&item.key).copied(),
            item,
        })
        .collect();
    Ok(TicketChecklist {
        ticket_id: ticket.id,
        checklist_id: version.checklist_id,
        version: version.version,
        name: version.name,
        revision: ticket.checklist_revision,
        items,
        unmet,
    })
}

/// The ticket's checklist with its answers, and its own `ETag` to send back as `If-Match` when
/// answering (every signed-in role; technicians only on tickets assigned to them). 404 when
/// the ticket has no checklist.
#[utoipa::path(get, path = "/api/tickets/{id}/checklist", tag = "tickets", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Ticket id")),
    responses((status = 200, description = "The checklist and its answers", body = TicketChecklist, headers(("ETag" = String))),
              (status = 404, description = "No such ticket (for technicians: none assigned to them), or it has no checklist", body = nexus_shared::error::Problem)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Auth,
    Path(id): Path<i64>,
) -> ApiResult<(HeaderMap, axum::Json<TicketChecklist>)> {
    // One snapshot: the answers, photos and revision shown belong together.
    let mut tx = state.pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
    let ticket = find_ticket(&mut tx, id, Visibility::of(&caller), Lock::None).await?.ok_or(ApiError::NotFound)?;
    let version = attached(&mut tx, &ticket).await?;
    let checklist = view(&mut tx, &ticket, version).await?;
    tx.commit().await?;
    Ok((etag::headers(checklist.revision), axum::Json(checklist)))
}

/// One answer as sent, its time checked.
struct Sent {
    index: usize,
    key: String,
    value: Value,
    occurred_at: DateTime<Utc>,
}

/// The answers of a body, or every mistake that needs no database to find.
fn parse(body: AnswersBody, now: DateTime<Utc>) -> ApiResult<Vec<Sent>> {
    if !(1..=MAX_ITEMS).contains(&body.answers.len()) {
        return Err(ApiError::validation("answers", format!("must hold 1 to {MAX_ITEMS} answers")));
    }
    let mut errors = Vec::new();
    let mut sent: Vec<Sent> = Vec::with_capacity(body.answers.len());
    for (index, a) in body.answers.into_iter().enumerate() {
        if !is_key(&a.key) {
            errors.push(FieldError::new(format!("answers[{index}].key"), "is not an item key"));
        } else if let Some(first) = sent.iter().find(|s| s.key == a.key) {
            errors.push(FieldError::new(
                format!("answers[{index}].key"),
                format!("is already answered by answers[{}]", first.index),
            ));
        }
        match offline::occurred_at(&format!("answers[{index}].occurred_at"), a.occurred_at, now) {
            Ok(occurred_at) => sent.push(Sent { index, key: a.key, value: a.value.0, occurred_at }),
            Err(ApiError::Validation(e)) => errors.extend(e),
            Err(other) => return Err(other),
        }
    }
    if errors.is_empty() { Ok(sent) } else { Err(ApiError::Validation(errors)) }
}

/// What an accepted answer changes.
enum Change<'a> {
    Set { sent: Sent, item: &'a Item, value: Value },
    Clear { sent: Sent },
}

/// Answers items of the ticket's checklist (the assigned technician, supervisors, admins).
/// Answers merge by `key`: items not named keep their answers, `value: null` clears one, and
/// an answer equal to the stored one changes nothing (it keeps who gave it and when). A
/// `meter` answer is also recorded as a reading of the asset's meter `meter_name` (firing its
/// PM triggers); a `fail` on an item with `on_fail` opens a corrective ticket on the asset,
/// linked by `parent_ticket_id`, once per item. Send the checklist's `ETag` as `If-Match` to be
/// sure nobody answered meanwhile (412 otherwise).
#[utoipa::path(put, path = "/api/tickets/{id}/checklist", tag = "tickets", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Ticket id"),
           ("If-Match" = Option<String>, Header, max_length = 100, description = "The checklist's ETag last read"),
           ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[!-~]+$",
            description = "1–255 visible ASCII characters; a retry with the same key and body gets the first response")),
    request_body = AnswersBody,
    responses((status = 200, description = "The checklist with its answers (or, with Idempotency-Replayed: true, as the first request with this key left it)",
               body = TicketChecklist, headers(("ETag" = String))),
              (status = 404, description = "No such ticket (for technicians: none assigned to them), or it has no checklist", body = nexus_shared::error::Problem),
              (status = 409, description = "The ticket is resolved, closed or cancelled; no SLA rule for the corrective ticket; or a concurrent request with the same Idempotency-Key", body = nexus_shared::error::Problem),
              (status = 412, description = "Stale If-Match", body = nexus_shared::error::Problem),
              (status = 422, description = "An answer refused (`answers[i].key`, `answers[i].value`, `answers[i].occurred_at`), or an Idempotency-Key already used for another request", body = nexus_shared::error::Problem)))]
pub async fn answer(
    State(state): State<AppState>,
    caller: Auth<Worker>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(body): Json<AnswersBody>,
) -> ApiResult<Response> {
    let idempotency = Idempotency::from_headers(&headers, caller.id, ROUTE, &(id, &body))?;
    if let Some(replay) = idempotency::replayed(&idempotency, &state.pool).await? {
        return Ok(replay);
    }
    let if_match = etag::if_match(&headers)?;
    let now = Utc::now();
    let sent = parse(body, now)?;

    let mut tx = state.pool.begin().await?;
    // The lock makes concurrent answers to one ticket take turns: each sees what the one before
    // it stored (and the corrective tickets it opened).
    let ticket = find_ticket(&mut tx, id, Visibility::of(&caller), Lock::ForUpdate).await?.ok_or(ApiError::NotFound)?;
    let version = attached(&mut tx, &ticket).await?;
    if !ANSWERABLE.contains(&ticket.status) {
        return Err(ApiError::Conflict(format!("The checklist of a {} ticket can no longer change.", ticket.status)));
    }
    etag::check(if_match.as_deref(), ticket.checklist_revision)?;

    let stored = stored_answers(&mut tx, id).await?;
    let mut errors = Vec::new();
    let mut changes = Vec::new();
    for sent in sent {
        let index = sent.index;
        let field = move |name: &str| format!("answers[{index}].{name}");
        let Some(item) = version.items.iter().find(|i| i.key == sent.key) else {
            errors.push(FieldError::new(field("key"), "is not an item of this checklist"));
            continue;
        };
        let before = stored.get(&sent.key).map(|a| &a.value);
        if sent.value.is_null() {
            if before.is_some() {
                changes.push(Change::Clear { sent });
            }
            continue;
        }
        match answer::check(item, &sent.value) {
            Err(message) => errors.push(FieldError::new(field("value"), message)),
            Ok(value) if before.is_some_and(|b| same(b, &value)) => {}
            Ok(value) => changes.push(Change::Set { sent, item, value }),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }

    let actor = caller.actor();
    let (mut old, mut new) = (Map::new(), Map::new());
    // `checklist.item_failed` events: each answer set to `fail`.
    let mut failed = Vec::new();
    for change in &changes {
        let (sent, value) = match change {
            Change::Set { sent, item, value } => {
                if item.item_type == ItemType::Meter {
                    errors.extend(record_reading(&mut tx, &ticket, item, sent, value, &caller, now).await?);
                }
                sqlx::query(
                    "INSERT INTO checklist_answers (ticket_id, key, value, answered_by, occurred_at, received_at)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (ticket_id, key) DO UPDATE SET value = EXCLUDED.value,
                         answered_by = EXCLUDED.answered_by, occurred_at = EXCLUDED.occurred_at,
                         received_at = EXCLUDED.received_at",
                )
                .bind(id)
                .bind(&sent.key)
                .bind(value)
                .bind(caller.id)
                .bind(sent.occurred_at)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let mut cm_ticket_id = None;
                if let Some(priority) = answer::fails(item, value)
                    && let Some(cm_id) = open_corrective(&mut tx, &ticket, item, priority, &caller, now).await?
                {
                    old.insert(format!("checklist.{}.cm_ticket_id", sent.key), Value::Null);
                    new.insert(format!("checklist.{}.cm_ticket_id", sent.key), Value::from(cm_id));
                    cm_ticket_id = Some(cm_id);
                }
                if value.as_str() == Some("fail") {
                    failed.push(json!({"ticket_id": id, "item_key": item.key, "item_label": item.label,
                                       "answer": value, "cm_ticket_id": cm_ticket_id}));
                }
                (sent, value.clone())
            }
            Change::Clear { sent } => {
                sqlx::query("DELETE FROM checklist_answers WHERE ticket_id = $1 AND key = $2")
                    .bind(id)
                    .bind(&sent.key)
                    .execute(&mut *tx)
                    .await?;
                (sent, Value::Null)
            }
        };
        let key = format!("checklist.{}", sent.key);
        old.insert(key.clone(), stored.get(&sent.key).map_or(Value::Null, |a| a.value.clone()));
        new.insert(key, value);
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors)); // rolls back what was written
    }

    let mut ticket = ticket;
    if !changes.is_empty() {
        let revision: i32 = sqlx::query_scalar(
            "UPDATE tickets SET checklist_revision = checklist_revision + 1 WHERE id = $1 RETURNING checklist_revision",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        old.insert("checklist_revision".into(), ticket.checklist_revision.into());
        new.insert("checklist_revision".into(), revision.into());
        ticket.checklist_revision = revision;
        let (old, new) = (Value::Object(old), Value::Object(new));
        audit::record(&mut tx, &actor, EntityType::Ticket, id, Action::Update, Some(&old), Some(&new)).await?;
        webhook::change::items_failed(&mut tx, id, failed).await?;
    }
    let checklist = view(&mut tx, &ticket, version).await?;
    let etag_value = etag::of_version(checklist.revision);
    if let Some(key) = &idempotency {
        key.remember(&mut tx, StatusCode::OK, &checklist, Some(&etag_value)).await?;
    }
    tx.commit().await?;
    Ok((StatusCode::OK, etag::headers(checklist.revision), axum::Json(checklist)).into_response())
}

/// Whether a stored answer and a new one are the same value (`60` and `60.0` are).
fn same(stored: &Value, new: &Value) -> bool {
    match (stored.as_f64(), new.as_f64()) {
        (Some(a), Some(b)) => a == b,
        _ => stored == new,
    }
}

/// Records a `meter` answer as a reading of the asset's meter `meter_name` at the answer's
/// `occurred_at`, and fires the PM triggers it makes true. The reasons it is refused, as
/// `answers[i].value` errors (the caller rolls back).
async fn record_reading(
    conn: &mut PgConnection,
    ticket: &TicketHead,
    item: &Item,
    sent: &Sent,
    value: &Value,
    caller: &AuthUser,
    now: DateTime<Utc>,
) -> ApiResult<Vec<FieldError>> {
    let field = format!("answers[{}].value", sent.index);
    let name = item.meter_name.as_deref().unwrap_or_default();
    // Locked as the readings endpoint locks it: batches of one meter take turns.
    let meter: Option<MeterRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {METER_COLUMNS} FROM meters WHERE asset_id = $1 AND name = $2 FOR UPDATE"
    )))
    .bind(ticket.asset_id)
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(meter) = meter else {
        return Ok(vec![FieldError::new(field, format!("the ticket's asset has no meter named {name:?}"))]);
    };
    let Some(reading) = value.as_f64() else { return Err(ApiError::internal("a checked meter answer is a number")) };
    let batch = [Reading { value: reading, read_at: sent.occurred_at, reset: false }];
    if meter.kind == MeterKind::Cumulative {
        let neighbours = meter::neighbours(conn, meter.id, sent.occurred_at, sent.occurred_at).await?;
        let refused = meter::out_of_order(&neighbours, &batch);
        if !refused.is_empty() {
            return Ok(refused.into_iter().map(|e| FieldError::new(field.clone(), e.message)).collect());
        }
    }
    let accepted = meter::insert(conn, meter.id, &batch, caller.id).await?;
    let request_id = caller.request_id.clone().unwrap_or_else(|| format!("checklist:{}", ticket.id));
    let pm_ticket_ids = nexus_shared::pm::fire(conn, &meter, &batch, now, &request_id).await?;
    // Audited on the meter as the readings endpoint audits a batch, naming the ticket.
    let recorded = serde_json::json!({"meter_id": meter.id, "accepted": accepted, "first_read_at": sent.occurred_at,
        "last_read_at": sent.occurred_at, "pm_ticket_ids": pm_ticket_ids, "ticket_id": ticket.id});
    audit::record(conn, &caller.actor(), EntityType::Meter, meter.id, Action::Create, None, Some(&recorded)).await?;
    Ok(Vec::new())
}

/// Opens the corrective ticket a failed item asks for, on the ticket's asset and linked to it,
/// with its SLA lines and audit row: unless the item already opened one (then `None`). Under
/// the ticket's row lock the check cannot race; the unique index `tickets_failed_item_once`
/// stands behind it.
async fn open_corrective(
    conn: &mut PgConnection,
    parent: &TicketHead,
    item: &Item,
    priority: Priority,
    caller: &AuthUser,
    now: DateTime<Utc>,
) -> ApiResult<Option<i64>> {
    let opened: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM tickets WHERE parent_ticket_id = $1 AND parent_checklist_key = $2)",
    )
    .bind(parent.id)
    .bind(&item.key)
    .fetch_one(&mut *conn)
    .await?;
    if opened {
        return Ok(None);
    }
    let site = store::asset_site(conn, parent.asset_id).await.map_err(|e| match e {
        ApiError::Validation(errors) => ApiError::Conflict(format!(
            "A failed {:?} needs a corrective ticket, which cannot be opened: the asset {}.",
            item.key,
            errors.first().map_or("is unavailable", |e| e.message.as_str())
        )),
        other => other,
    })?;
    let targets = store::rule(conn, TicketType::Cm, priority).await?;
    let clock = SlaClock::load(conn, &site.timezone, targets).await?;
    let number = store::next_number(conn, TicketType::Cm, now).await?;
    let description: String =
        format!("Checklist item failed on {}: {}", parent.number, item.label).chars().take(5000).collect();
    let id = store::insert(
        conn,
        &store::Insert {
            number: &number,
            ticket_type: TicketType::Cm,
            priority,
            status: TicketStatus::Open,
            asset_id: parent.asset_id,
            location_id: site.location_id,
            description: &description,
            assigned_to: None,
            created_by: caller.id,
            targets,
            lines: clock.lines(now, Duration::zero()),
            created_at: now,
        },
    )
    .await?;
    sqlx::query("UPDATE tickets SET parent_ticket_id = $2, parent_checklist_key = $3 WHERE id = $1")
        .bind(id)
        .bind(parent.id)
        .bind(&item.key)
        .execute(&mut *conn)
        .await
        .on_constraint("tickets_failed_item_once", |_| {
            ApiError::Conflict("The corrective ticket for this item was opened meanwhile; send again.".into())
        })?;
    let row = store::find(conn, id, Visibility::All, Lock::None)
        .await?
        .ok_or_else(|| ApiError::internal("ticket vanished after insert"))?;
    audit::record(conn, &caller.actor(), EntityType::Ticket, id, Action::Create, None, Some(&row)).await?;
    Ok(Some(id))
}
