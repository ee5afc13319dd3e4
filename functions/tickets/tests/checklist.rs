//! A ticket's checklist against real Postgres: each item type's values, answers merging by key,
//! the checklist's own ETag, who may answer, what is still unmet before resolving, a failed item
//! opening its corrective ticket once (even under concurrent answers), meter answers recorded as
//! readings, the offline time window and Idempotency-Key replays.

use axum::http::{Method, StatusCode, header};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use nexus_shared::auth::Role;
use nexus_shared::checklist::{ItemBody, parse_items, unmet_required};
use nexus_testkit::{Crew, TestResponse, TestUser, crew, get, post, request, send, site, state};
use serde_json::{Value, json};
use sqlx::PgPool;

struct World {
    router: axum::Router,
    state: nexus_shared::AppState,
    crew: Crew,
    pool: PgPool,
    asset_id: i64,
}

async fn world(pool: PgPool) -> World {
    let state = state(pool.clone());
    let crew = crew(&state).await;
    let s = site(&pool, "JKT0001", "Asia/Jakarta").await;
    World { router: nexus_tickets::router(state.clone()), state, crew, pool, asset_id: s.asset_id }
}

fn items() -> Value {
    json!([
        {"key": "door", "label": "Safe door locked", "type": "check", "required": true},
        {"key": "dispenser", "label": "Dispenser test", "type": "pass_fail_na", "required": true,
         "on_fail": {"create_cm": {"priority": "high"}}},
        {"key": "printer", "label": "Receipt printer", "type": "pass_fail_na", "required": false},
        {"key": "temperature", "label": "Cabinet temperature", "type": "number", "required": false, "min": 0, "max": 60},
        {"key": "remarks", "label": "Remarks", "type": "text", "required": false, "max_length": 10},
        {"key": "condition", "label": "Fascia", "type": "select", "required": true, "options": ["good", "worn"]},
        {"key": "fascia_photo", "label": "Fascia photos", "type": "photo", "required": true, "min_count": 2},
        {"key": "cycles", "label": "Cash cycles", "type": "meter", "required": false, "meter_name": "cash_cycles"},
        {"key": "gauge", "label": "Missing meter", "type": "meter", "required": false, "meter_name": "no_such_meter"},
        {"key": "sign", "label": "Branch signature", "type": "signature", "required": true}
    ])
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn fields(r: &TestResponse) -> Vec<String> {
    r.body["errors"].as_array().unwrap_or(&Vec::new()).iter().map(|e| e["field"].as_str().unwrap().into()).collect()
}

impl World {
    /// A checklist (version 1) with `items`, stored as the checklists function stores it.
    async fn checklist(&self, items: Value) -> i64 {
        let bodies: Vec<ItemBody> = serde_json::from_value(items).unwrap();
        let items = parse_items("items", bodies).unwrap();
        let id: i64 = sqlx::query_scalar("INSERT INTO checklists (name) VALUES ('Inspection') RETURNING id")
            .fetch_one(&self.pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO checklist_versions (checklist_id, version, name, items) VALUES ($1, 1, 'Inspection', $2)",
        )
        .bind(id)
        .bind(serde_json::to_value(items).unwrap())
        .execute(&self.pool)
        .await
        .unwrap();
        id
    }

    /// A PM ticket assigned to the crew's technician, with `checklist` attached.
    async fn ticket(&self, checklist: Option<i64>) -> i64 {
        let body = json!({"asset_id": self.asset_id, "ticket_type": "PM", "priority": "low",
                          "description": "Monthly service", "assigned_to": self.crew.technician.id});
        let created = post(&self.router, "/api/tickets", &self.crew.supervisor, body).await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        let id = created.body["id"].as_i64().unwrap();
        if let Some(checklist) = checklist {
            let mut conn = self.pool.acquire().await.unwrap();
            nexus_shared::checklist::attach_latest(&mut conn, id, checklist).await.unwrap();
        }
        id
    }

    async fn with_checklist(&self) -> i64 {
        let checklist = self.checklist(items()).await;
        self.ticket(Some(checklist)).await
    }

    async fn answer(&self, ticket: i64, user: &TestUser, answers: Value) -> TestResponse {
        self.answer_with(ticket, user, answers, &[]).await
    }

    async fn answer_with(
        &self,
        ticket: i64,
        user: &TestUser,
        answers: Value,
        headers: &[(&'static str, &str)],
    ) -> TestResponse {
        let url = format!("/api/tickets/{ticket}/checklist");
        let mut req = request(Method::PUT, &url, Some(&user.token), Some(json!({ "answers": answers })));
        for (name, value) in headers {
            req.headers_mut().insert(*name, value.parse().unwrap());
        }
        send(&self.router, req).await
    }

    async fn read(&self, ticket: i64, user: &TestUser) -> TestResponse {
        get(&self.router, &format!("/api/tickets/{ticket}/checklist"), user).await
    }

    async fn cm_tickets(&self, parent: i64) -> Vec<(i64, String, String, String, i64, Option<String>)> {
        sqlx::query_as(
            "SELECT id, ticket_type, priority, status, asset_id, parent_checklist_key FROM tickets
             WHERE parent_ticket_id = $1 ORDER BY id",
        )
        .bind(parent)
        .fetch_all(&self.pool)
        .await
        .unwrap()
    }

    async fn attachment(&self, ticket: i64, kind: &str, key: Option<&str>, stored: bool) {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM attachments").fetch_one(&self.pool).await.unwrap();
        sqlx::query(
            "INSERT INTO attachments (ticket_id, kind, checklist_key, content_type, size_bytes, sha256, status,
                 object_key, stored_at)
             VALUES ($1, $2, $3, 'image/jpeg', 100, repeat('a', 64), $4, $5, CASE WHEN $4 = 'stored' THEN now() END)",
        )
        .bind(ticket)
        .bind(kind)
        .bind(key)
        .bind(if stored { "stored" } else { "pending" })
        .bind(format!("tickets/{ticket}/{n}.jpg"))
        .execute(&self.pool)
        .await
        .unwrap();
    }

    async fn unmet(&self, ticket: i64) -> Vec<String> {
        let mut conn = self.pool.acquire().await.unwrap();
        unmet_required(&mut conn, ticket).await.unwrap().into_iter().map(|e| e.field).collect()
    }
}

fn item<'a>(checklist: &'a Value, key: &str) -> &'a Value {
    checklist["items"].as_array().unwrap().iter().find(|i| i["key"] == key).unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn each_item_type_takes_its_own_values(pool: PgPool) {
    let w = world(pool).await;
    let ticket = w.with_checklist().await;
    let tech = &w.crew.technician;
    let cases: Vec<(&str, Vec<Value>, Vec<Value>)> = vec![
        ("door", vec![json!(true), json!(false)], vec![json!("yes"), json!(1)]),
        ("printer", vec![json!("pass"), json!("na"), json!("fail")], vec![json!("Pass"), json!(false)]),
        ("temperature", vec![json!(0), json!(21.5), json!(60)], vec![json!(-1), json!(60.5), json!("20")]),
        ("remarks", vec![json!(" All good "), json!("ten chars!")], vec![json!("eleven char"), json!(" "), json!(3)]),
        ("condition", vec![json!("good"), json!("worn")], vec![json!("broken"), json!("Good")]),
        ("fascia_photo", vec![], vec![json!(true), json!("photo.jpg")]),
        ("sign", vec![], vec![json!(true), json!("J. Doe")]),
    ];
    for (key, accepted, refused) in cases {
        for value in accepted {
            let r = w.answer(ticket, tech, json!([{"key": key, "value": value}])).await;
            assert_eq!(r.status, StatusCode::OK, "{key} = {value}: {:?}", r.body);
            let stored = &item(&r.body, key)["answer"]["value"];
            let expected = value.as_str().map_or(value.clone(), |s| json!(s.trim()));
            assert_eq!(stored, &expected, "{key}");
        }
        for value in refused {
            let r = w.answer(ticket, tech, json!([{"key": key, "value": value}])).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{key} = {value}: {:?}", r.body);
            assert_eq!(fields(&r), ["answers[0].value"], "{key} = {value}");
        }
    }
    // Every mistake of a request is named; nothing of it is stored.
    let before = w.read(ticket, tech).await;
    let r = w
        .answer(
            ticket,
            tech,
            json!([
                {"key": "door", "value": true},
                {"key": "nope", "value": true},
                {"key": "temperature", "value": 99},
                {"key": "door", "value": false},
                {"key": "Bad Key", "value": 1}
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&r), ["answers[3].key", "answers[4].key"], "shape first, before the database");
    let r = w
        .answer(
            ticket,
            tech,
            json!([
                {"key": "door", "value": true},
                {"key": "nope", "value": true},
                {"key": "temperature", "value": 99}
            ]),
        )
        .await;
    assert_eq!(fields(&r), ["answers[1].key", "answers[2].value"]);
    assert_eq!(w.read(ticket, tech).await.body, before.body);
    let missing_value = w.answer(ticket, tech, json!([{"key": "door"}])).await;
    assert_eq!(missing_value.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(w.answer(ticket, tech, json!([])).await.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[sqlx::test(migrations = "../../migrations")]
async fn answers_merge_by_key_and_null_clears_one(pool: PgPool) {
    let w = world(pool).await;
    let ticket = w.with_checklist().await;
    let tech = &w.crew.technician;

    let empty = w.read(ticket, tech).await;
    assert_eq!(empty.status, StatusCode::OK, "{:?}", empty.body);
    assert_eq!(empty.headers[header::ETAG], "\"1\"", "attaching the checklist was its first revision");
    assert_eq!(empty.body["revision"], 1);
    assert_eq!(empty.body["version"], 1);
    assert_eq!(item(&empty.body, "door")["answer"], Value::Null);
    assert_eq!(item(&empty.body, "door")["met"], false);
    assert_eq!(item(&empty.body, "remarks")["max_length"], 10);

    let first =
        w.answer(ticket, tech, json!([{"key": "door", "value": true}, {"key": "condition", "value": "good"}])).await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert_eq!(first.headers[header::ETAG], "\"2\"");
    let door = &item(&first.body, "door")["answer"];
    assert_eq!(door["value"], true);
    assert_eq!(door["answered_by"], tech.id);
    assert_eq!(door["occurred_at"], door["received_at"], "without occurred_at it happened when received");
    assert_eq!(item(&first.body, "door")["met"], true);

    let second = w.answer(ticket, &w.crew.supervisor, json!([{"key": "remarks", "value": "Dusty"}])).await;
    assert_eq!(second.body["revision"], 3);
    assert_eq!(item(&second.body, "door")["answer"]["value"], true, "items not named keep their answers");
    assert_eq!(item(&second.body, "condition")["answer"]["value"], "good");
    assert_eq!(item(&second.body, "remarks")["answer"]["answered_by"], w.crew.supervisor.id);

    let same = w.answer(ticket, &w.crew.admin, json!([{"key": "door", "value": true}])).await;
    assert_eq!(same.body["revision"], 3, "an equal answer changes nothing");
    assert_eq!(item(&same.body, "door")["answer"]["answered_by"], tech.id);
    let no_such_answer = w.answer(ticket, tech, json!([{"key": "temperature", "value": null}])).await;
    assert_eq!(no_such_answer.body["revision"], 3, "clearing what is not there changes nothing");

    let cleared = w.answer(ticket, tech, json!([{"key": "door", "value": null}])).await;
    assert_eq!(cleared.status, StatusCode::OK);
    assert_eq!(cleared.body["revision"], 4);
    assert_eq!(item(&cleared.body, "door")["answer"], Value::Null);
    assert_eq!(item(&cleared.body, "condition")["answer"]["value"], "good");
    assert_eq!(w.read(ticket, &w.crew.viewer).await.body, cleared.body);

    let audited: Vec<Value> = sqlx::query_scalar(
        "SELECT changes FROM audit_logs WHERE entity_type = 'ticket' AND entity_id = $1 AND action = 'update' ORDER BY id",
    )
    .bind(ticket)
    .fetch_all(&w.pool)
    .await
    .unwrap();
    assert_eq!(audited.len(), 3, "one row per change, none for the no-ops: {audited:?}");
    assert_eq!(audited[0]["checklist.door"], json!({"old": null, "new": true}));
    assert_eq!(audited[0]["checklist.condition"], json!({"old": null, "new": "good"}));
    assert_eq!(audited[0]["checklist_revision"], json!({"old": 1, "new": 2}));
    assert_eq!(
        audited[2],
        json!({"checklist.door": {"old": true, "new": null}, "checklist_revision": {"old": 3, "new": 4}})
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_stale_if_match_changes_nothing(pool: PgPool) {
    let w = world(pool).await;
    let ticket = w.with_checklist().await;
    let tech = &w.crew.technician;
    let etag = w.read(ticket, tech).await.headers[header::ETAG].to_str().unwrap().to_string();
    w.answer(ticket, &w.crew.supervisor, json!([{"key": "door", "value": false}])).await;
    let stale = w.answer_with(ticket, tech, json!([{"key": "door", "value": true}]), &[("if-match", &etag)]).await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    let read = w.read(ticket, tech).await;
    assert_eq!(item(&read.body, "door")["answer"]["value"], false);
    let fresh_etag = read.headers[header::ETAG].to_str().unwrap().to_string();
    let fresh =
        w.answer_with(ticket, tech, json!([{"key": "door", "value": true}]), &[("if-match", &fresh_etag)]).await;
    assert_eq!(fresh.status, StatusCode::OK);
    assert_ne!(fresh.headers[header::ETAG].to_str().unwrap(), fresh_etag);
}

#[sqlx::test(migrations = "../../migrations")]
async fn who_may_read_and_answer(pool: PgPool) {
    let w = world(pool).await;
    let ticket = w.with_checklist().await;
    let other_tech = nexus_testkit::user(&w.state, "other@test.example", &[Role::Technician]).await;
    let answer = json!([{"key": "door", "value": true}]);

    assert_eq!(w.read(ticket, &other_tech).await.status, StatusCode::NOT_FOUND, "not their ticket");
    assert_eq!(w.answer(ticket, &other_tech, answer.clone()).await.status, StatusCode::NOT_FOUND);
    assert_eq!(w.answer(ticket, &w.crew.viewer, answer.clone()).await.status, StatusCode::FORBIDDEN);
    assert_eq!(w.read(ticket, &w.crew.viewer).await.status, StatusCode::OK);
    let url = format!("/api/tickets/{ticket}/checklist");
    let anonymous = send(&w.router, request(Method::PUT, &url, None, Some(json!({"answers": answer})))).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(send(&w.router, request(Method::GET, &url, None, None)).await.status, StatusCode::UNAUTHORIZED);
    for role in [Role::Technician, Role::Supervisor, Role::Admin] {
        let r = w.answer(ticket, w.crew.get(role), json!([{"key": "door", "value": role == Role::Admin}])).await;
        assert_eq!(r.status, StatusCode::OK, "{role}: {:?}", r.body);
    }

    let plain = w.ticket(None).await;
    assert_eq!(w.read(plain, &w.crew.admin).await.status, StatusCode::NOT_FOUND, "no checklist");
    assert_eq!(w.answer(plain, &w.crew.admin, answer.clone()).await.status, StatusCode::NOT_FOUND);
    assert_eq!(w.read(999_999, &w.crew.admin).await.status, StatusCode::NOT_FOUND);

    for (status, extra) in [
        ("resolved", "resolved_at = now(), resolution_notes = 'Done'"),
        ("closed", "resolved_at = now(), resolution_notes = 'Done', closed_at = now()"),
        ("cancelled", "cancelled_at = now()"),
    ] {
        let finished = w.with_checklist().await;
        sqlx::query(sqlx::AssertSqlSafe(format!("UPDATE tickets SET status = '{status}', {extra} WHERE id = $1")))
            .bind(finished)
            .execute(&w.pool)
            .await
            .unwrap();
        let r = w.answer(finished, &w.crew.admin, answer.clone()).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{status}: {:?}", r.body);
        assert_eq!(w.read(finished, &w.crew.viewer).await.status, StatusCode::OK, "still readable when {status}");
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn unmet_required_names_each_item_until_its_evidence_is_there(pool: PgPool) {
    let w = world(pool).await;
    let ticket = w.with_checklist().await;
    let tech = &w.crew.technician;
    let all =
        ["checklist.door", "checklist.dispenser", "checklist.condition", "checklist.fascia_photo", "checklist.sign"];
    assert_eq!(w.unmet(ticket).await, all);
    assert_eq!(w.read(ticket, tech).await.body["unmet"].as_array().unwrap().len(), 5);

    let r = w
        .answer(
            ticket,
            tech,
            json!([
                {"key": "door", "value": false},
                {"key": "dispenser", "value": "na"},
                {"key": "condition", "value": "worn"}
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(w.unmet(ticket).await, ["checklist.fascia_photo", "checklist.sign"], "false and na are answers");

    // Photos: only stored ones with the item's key count; two are needed.
    w.attachment(ticket, "before", Some("fascia_photo"), true).await;
    w.attachment(ticket, "after", Some("fascia_photo"), false).await;
    w.attachment(ticket, "after", Some("door"), true).await;
    w.attachment(ticket, "signature", None, false).await;
    assert_eq!(w.unmet(ticket).await, ["checklist.fascia_photo", "checklist.sign"]);
    let read = w.read(ticket, tech).await;
    let photo_error = &read.body["unmet"][0];
    assert_eq!(photo_error["field"], "checklist.fascia_photo");
    assert!(photo_error["message"].as_str().unwrap().contains("has 1"), "{photo_error}");
    assert_eq!(item(&read.body, "fascia_photo")["met"], false);

    w.attachment(ticket, "after", Some("fascia_photo"), true).await;
    w.attachment(ticket, "signature", None, true).await;
    assert_eq!(w.unmet(ticket).await, Vec::<String>::new());
    let read = w.read(ticket, tech).await;
    assert_eq!(read.body["unmet"], json!([]));
    assert_eq!(item(&read.body, "sign")["met"], true);
    assert_eq!(item(&read.body, "fascia_photo")["met"], true);
    assert_eq!(item(&read.body, "temperature")["met"], false, "not required, not answered");

    // Clearing an answer makes its item unmet again; a ticket without a checklist has nothing unmet.
    w.answer(ticket, tech, json!([{"key": "dispenser", "value": null}])).await;
    assert_eq!(w.unmet(ticket).await, ["checklist.dispenser"]);
    assert_eq!(w.unmet(w.ticket(None).await).await, Vec::<String>::new());
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_failed_item_opens_one_corrective_ticket_however_often_it_fails(pool: PgPool) {
    let w = world(pool).await;
    let ticket = w.with_checklist().await;
    nexus_testkit::webhook::subscribe(&w.pool, &["checklist.item_failed", "ticket.created"]).await;
    let url = format!("/api/tickets/{ticket}/checklist");
    let writers = (0..20).map(|_| {
        let (router, token, url) = (w.router.clone(), w.crew.technician.token.clone(), url.clone());
        tokio::spawn(async move {
            let body = json!({"answers": [{"key": "dispenser", "value": "fail"}]});
            send(&router, request(Method::PUT, &url, Some(&token), Some(body))).await
        })
    });
    for writer in writers {
        let r = writer.await.unwrap();
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }
    let cm = w.cm_tickets(ticket).await;
    assert_eq!(cm.len(), 1, "{cm:?}");
    let (cm_id, ticket_type, priority, status, asset_id, key) = cm[0].clone();
    assert_eq!(
        (ticket_type.as_str(), priority.as_str(), status.as_str(), asset_id, key.as_deref()),
        ("CM", "high", "open", w.asset_id, Some("dispenser"))
    );
    let read = w.read(ticket, &w.crew.technician).await;
    assert_eq!(item(&read.body, "dispenser")["cm_ticket_id"], cm_id);
    assert_eq!(read.body["revision"], 2, "one of the twenty changed the answer; the others found it given");

    // Passed, then failed again: still the one corrective ticket.
    for value in ["pass", "fail", "na", "fail"] {
        let r = w.answer(ticket, &w.crew.supervisor, json!([{"key": "dispenser", "value": value}])).await;
        assert_eq!(r.status, StatusCode::OK);
    }
    assert_eq!(w.cm_tickets(ticket).await.len(), 1);
    // A fail on an item without on_fail opens nothing.
    w.answer(ticket, &w.crew.supervisor, json!([{"key": "printer", "value": "fail"}])).await;
    assert_eq!(w.cm_tickets(ticket).await.len(), 1);

    let created = get(&w.router, &format!("/api/tickets/{cm_id}"), &w.crew.supervisor).await;
    assert_eq!(created.status, StatusCode::OK);
    assert!(created.body["description"].as_str().unwrap().contains("Dispenser test"), "{:?}", created.body);
    assert!(created.body["sla"]["resolution_due_at"].is_string());
    let (cm_audit, parent_audit): (i64, Value) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM audit_logs WHERE entity_type = 'ticket' AND entity_id = $1 AND action = 'create'),
                (SELECT changes FROM audit_logs WHERE entity_type = 'ticket' AND entity_id = $2 AND action = 'update'
                 ORDER BY id LIMIT 1)",
    )
    .bind(cm_id)
    .bind(ticket)
    .fetch_one(&w.pool)
    .await
    .unwrap();
    assert_eq!(cm_audit, 1);
    assert_eq!(parent_audit["checklist.dispenser.cm_ticket_id"], json!({"old": null, "new": cm_id}));
    // Every change to `fail` is an event (the first names the corrective ticket it opened); the
    // corrective ticket's creation is one too.
    let failed = nexus_testkit::webhook::events(&w.pool, "checklist.item_failed").await;
    let seen: Vec<(&str, Value)> =
        failed.iter().map(|e| (e["data"]["item_key"].as_str().unwrap(), e["data"]["cm_ticket_id"].clone())).collect();
    assert_eq!(
        seen,
        [("dispenser", json!(cm_id)), ("dispenser", Value::Null), ("dispenser", Value::Null), ("printer", Value::Null)]
    );
    assert_eq!(failed[0]["data"]["ticket"]["id"], ticket);
    assert_eq!(failed[0]["data"]["answer"], "fail");
    let created = nexus_testkit::webhook::events(&w.pool, "ticket.created").await;
    assert_eq!(created.iter().map(|e| e["data"]["id"].clone()).collect::<Vec<_>>(), [json!(cm_id)]);
}

async fn readings(pool: &PgPool, meter_id: i64) -> Vec<(f64, DateTime<Utc>, Option<i64>)> {
    sqlx::query_as("SELECT value, read_at, recorded_by FROM meter_readings WHERE meter_id = $1 ORDER BY read_at")
        .bind(meter_id)
        .fetch_all(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_meter_answer_is_also_a_reading_of_the_assets_meter(pool: PgPool) {
    let w = world(pool).await;
    let ticket = w.with_checklist().await;
    let tech = &w.crew.technician;
    let meter_id: i64 = sqlx::query_scalar(
        "INSERT INTO meters (asset_id, name, unit, kind) VALUES ($1, 'cash_cycles', 'cycles', 'cumulative') RETURNING id",
    )
    .bind(w.asset_id)
    .fetch_one(&w.pool)
    .await
    .unwrap();
    let at = Utc::now() - Duration::hours(2);
    let r = w.answer(ticket, tech, json!([{"key": "cycles", "value": 1500, "occurred_at": ts(at)}])).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(item(&r.body, "cycles")["answer"]["value"], 1500);
    let stored = readings(&w.pool, meter_id).await;
    assert_eq!(stored.len(), 1);
    assert_eq!((stored[0].0, stored[0].2), (1500.0, Some(tech.id)));
    assert!((stored[0].1 - at).num_milliseconds().abs() < 1, "read when answered: {:?}", stored[0].1);
    let audited: Value = sqlx::query_scalar(
        "SELECT changes FROM audit_logs WHERE entity_type = 'meter' AND entity_id = $1 AND action = 'create'",
    )
    .bind(meter_id)
    .fetch_one(&w.pool)
    .await
    .unwrap();
    assert_eq!((audited["accepted"]["new"].as_i64(), audited["ticket_id"]["new"].as_i64()), (Some(1), Some(ticket)));

    // The same answer again records nothing; a lower one later is refused for the meter's sake.
    let again = w.answer(ticket, tech, json!([{"key": "cycles", "value": 1500.0}])).await;
    assert_eq!(again.body["revision"], r.body["revision"]);
    assert_eq!(readings(&w.pool, meter_id).await.len(), 1);
    let lower = w.answer(ticket, tech, json!([{"key": "door", "value": true}, {"key": "cycles", "value": 900}])).await;
    assert_eq!(lower.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", lower.body);
    assert_eq!(fields(&lower), ["answers[1].value"]);
    let read = w.read(ticket, tech).await;
    assert_eq!(item(&read.body, "door")["answer"], Value::Null, "refused as a whole");
    assert_eq!(item(&read.body, "cycles")["answer"]["value"], 1500);
    let higher = w.answer(ticket, tech, json!([{"key": "cycles", "value": 1720.5}])).await;
    assert_eq!(higher.status, StatusCode::OK);
    assert_eq!(readings(&w.pool, meter_id).await.iter().map(|r| r.0).collect::<Vec<_>>(), [1500.0, 1720.5]);

    let no_meter = w.answer(ticket, tech, json!([{"key": "gauge", "value": 3}])).await;
    assert_eq!(no_meter.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&no_meter), ["answers[0].value"]);
    assert!(no_meter.body["errors"][0]["message"].as_str().unwrap().contains("no_such_meter"));
}

#[sqlx::test(migrations = "../../migrations")]
async fn an_answer_counts_when_it_happened_within_the_offline_window(pool: PgPool) {
    let w = world(pool).await;
    let ticket = w.with_checklist().await;
    let tech = &w.crew.technician;
    let now = Utc::now();
    let cases = [
        (now - Duration::hours(73), Some("answers[0].occurred_at")),
        (now + Duration::minutes(6), Some("answers[0].occurred_at")),
        (now - Duration::hours(71), None),
        (now + Duration::minutes(4), None),
    ];
    for (i, (at, refused)) in cases.into_iter().enumerate() {
        let answer = json!([{"key": "temperature", "value": i, "occurred_at": ts(at)}]);
        let r = w.answer(ticket, tech, answer).await;
        match refused {
            Some(field) => {
                assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{at}");
                assert_eq!(fields(&r), [field]);
            }
            None => {
                assert_eq!(r.status, StatusCode::OK, "{at}: {:?}", r.body);
                let answer = &item(&r.body, "temperature")["answer"];
                assert_eq!(answer["value"], i);
                let occurred: DateTime<Utc> = answer["occurred_at"].as_str().unwrap().parse().unwrap();
                let received: DateTime<Utc> = answer["received_at"].as_str().unwrap().parse().unwrap();
                assert!((occurred - at).num_milliseconds().abs() < 1, "{occurred} vs {at}");
                assert!((received - Utc::now()).num_seconds().abs() < 60, "received now: {received}");
            }
        }
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn an_idempotency_key_replays_the_first_answer(pool: PgPool) {
    let w = world(pool).await;
    let ticket = w.with_checklist().await;
    let tech = &w.crew.technician;
    let answers = json!([{"key": "dispenser", "value": "fail"}, {"key": "door", "value": true}]);
    let key = [("idempotency-key", "device-7-answer-42")];
    let first = w.answer_with(ticket, tech, answers.clone(), &key).await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert!(first.headers.get("idempotency-replayed").is_none());

    // Someone else changes an answer; the device retries blindly.
    w.answer(ticket, &w.crew.supervisor, json!([{"key": "door", "value": false}])).await;
    let retry = w.answer_with(ticket, tech, answers.clone(), &key).await;
    assert_eq!(retry.status, StatusCode::OK);
    assert_eq!(retry.headers["idempotency-replayed"], "true");
    assert_eq!(retry.body, first.body, "the first response, not a second answer");
    assert_eq!(retry.headers[header::ETAG], first.headers[header::ETAG]);
    let read = w.read(ticket, tech).await;
    assert_eq!(item(&read.body, "door")["answer"]["value"], false, "the retry did not answer again");
    assert_eq!(w.cm_tickets(ticket).await.len(), 1);

    let misuse = w.answer_with(ticket, tech, json!([{"key": "door", "value": true}]), &key).await;
    assert_eq!(misuse.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&misuse), ["Idempotency-Key"]);
    let other_ticket = w.with_checklist().await;
    let elsewhere = w.answer_with(other_ticket, tech, answers, &key).await;
    assert_eq!(elsewhere.status, StatusCode::UNPROCESSABLE_ENTITY, "the ticket is part of the request");
}
