//! The checklist templates API against real Postgres: who may write them, every mistake in an
//! item named, versions that never change once made (a ticket keeps the one it was given),
//! If-Match on a new version, the list and its paging, and an audit row per change.

use axum::http::{Method, StatusCode, header};
use nexus_shared::auth::Role;
use nexus_testkit::{Crew, crew, get, post, put, request, send, site, state};
use serde_json::{Value, json};
use sqlx::PgPool;

struct World {
    router: axum::Router,
    crew: Crew,
    pool: PgPool,
}

async fn world(pool: PgPool) -> World {
    let state = state(pool.clone());
    let crew = crew(&state).await;
    World { router: nexus_checklists::router(state), crew, pool }
}

fn monthly() -> Value {
    json!({"name": "Monthly ATM inspection", "items": [
        {"key": "door_locked", "label": "Safe door locked", "type": "check", "required": true},
        {"key": "dispenser", "label": "Dispenser test", "type": "pass_fail_na", "required": true,
         "on_fail": {"create_cm": {"priority": "high"}}},
        {"key": "temperature", "label": "Cabinet temperature", "type": "number", "required": false,
         "min": 0, "max": 60, "unit": "°C"},
        {"key": "remarks", "label": "Remarks", "type": "text", "required": false, "max_length": 500},
        {"key": "condition", "label": "Fascia condition", "type": "select", "required": true,
         "options": ["good", "worn", "damaged"]},
        {"key": "fascia_photo", "label": "Photo of the fascia", "type": "photo", "required": true, "min_count": 2},
        {"key": "cash_cycles", "label": "Cash cycles", "type": "meter", "required": false, "meter_name": "cash_cycles"},
        {"key": "customer_sign", "label": "Branch signature", "type": "signature", "required": true}
    ]})
}

fn fields(body: &Value) -> Vec<&str> {
    body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect()
}

async fn audit_rows(pool: &PgPool, id: i64) -> Vec<(String, Value)> {
    sqlx::query_as(
        "SELECT action, changes FROM audit_logs WHERE entity_type = 'checklist' AND entity_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn planners_create_checklists_and_everyone_reads_them(pool: PgPool) {
    let w = world(pool).await;
    for role in [Role::Technician, Role::Viewer] {
        let refused = post(&w.router, "/api/checklists", w.crew.get(role), monthly()).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{role}");
    }
    let anonymous = send(&w.router, request(Method::POST, "/api/checklists", None, Some(monthly()))).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    let created = post(&w.router, "/api/checklists", &w.crew.supervisor, monthly()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.headers[header::ETAG], "\"1\"");
    let checklist = created.body;
    assert_eq!((checklist["version"].as_i64(), checklist["latest_version"].as_i64()), (Some(1), Some(1)));
    assert_eq!(checklist["created_by"], w.crew.supervisor.id);
    let items = checklist["items"].as_array().unwrap();
    assert_eq!(items.len(), 8);
    assert_eq!(items[1]["on_fail"], json!({"create_cm": {"priority": "high"}}));
    assert_eq!(items[5]["min_count"], 2);
    // Fields of other types are absent, defaults are shown.
    assert_eq!(items[0], json!({"key": "door_locked", "label": "Safe door locked", "type": "check", "required": true}));
    let id = checklist["id"].as_i64().unwrap();

    for role in Role::ALL {
        let read = get(&w.router, &format!("/api/checklists/{id}"), w.crew.get(*role)).await;
        assert_eq!(read.status, StatusCode::OK, "{role}");
        assert_eq!(read.body, checklist, "what was answered at creation is what is read");
        assert_eq!(read.headers[header::ETAG], "\"1\"");
    }
    assert_eq!(get(&w.router, "/api/checklists/999999", &w.crew.viewer).await.status, StatusCode::NOT_FOUND);

    let audited = audit_rows(&w.pool, id).await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].0, "create");
    assert_eq!(audited[0].1["name"]["new"], "Monthly ATM inspection");
}

#[sqlx::test(migrations = "../../migrations")]
async fn every_mistake_is_named_and_nothing_is_stored(pool: PgPool) {
    let w = world(pool).await;
    let missing = post(&w.router, "/api/checklists", &w.crew.admin, json!({})).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&missing.body), ["name", "items"]);

    let body = json!({"name": " ", "items": [
        {"key": "ok", "label": "Fine", "type": "check", "required": true},
        {"key": "Bad-Key", "label": "", "type": "number", "required": true, "min": 5, "max": 1},
        {"key": "sel", "label": "Pick", "type": "select", "required": true, "options": ["a", "a"]},
        {"key": "ok", "label": "Again", "type": "text", "required": true, "options": ["x"]},
        {"key": "flag", "label": "Flag", "type": "check", "required": true, "on_fail": {"create_cm": {"priority": "low"}}},
        {"key": "m", "label": "Meter", "type": "meter", "required": true},
        {"key": "p", "label": "Photos", "type": "photo", "required": true, "min_count": 0},
        {"key": "t", "label": "Text", "type": "text"}
    ]});
    let refused = post(&w.router, "/api/checklists", &w.crew.admin, body).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", refused.body);
    assert_eq!(
        fields(&refused.body),
        [
            "name",
            "items[1].key",
            "items[1].label",
            "items[1].max",
            "items[2].options[1]",
            "items[3].options",
            "items[4].on_fail",
            "items[5].meter_name",
            "items[6].min_count",
            "items[7].required",
        ]
    );
    let duplicate = json!({"name": "Dup", "items": [
        {"key": "a", "label": "A", "type": "check", "required": true},
        {"key": "a", "label": "A again", "type": "check", "required": false}
    ]});
    let refused = post(&w.router, "/api/checklists", &w.crew.admin, duplicate).await;
    assert_eq!(fields(&refused.body), ["items[1].key"]);
    let empty = post(&w.router, "/api/checklists", &w.crew.admin, json!({"name": "Empty", "items": []})).await;
    assert_eq!(fields(&empty.body), ["items"]);
    let bad_priority = json!({"name": "P", "items": [{"key": "a", "label": "A", "type": "pass_fail_na",
        "required": true, "on_fail": {"create_cm": {"priority": "urgent"}}}]});
    let refused = post(&w.router, "/api/checklists", &w.crew.admin, bad_priority).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown =
        json!({"name": "U", "items": [{"key": "a", "label": "A", "type": "check", "required": true, "colour": "red"}]});
    assert_eq!(
        post(&w.router, "/api/checklists", &w.crew.admin, unknown).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM checklists").fetch_one(&w.pool).await.unwrap();
    assert_eq!(stored, 0);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_change_is_a_new_version_and_old_versions_stay_for_their_tickets(pool: PgPool) {
    let w = world(pool).await;
    let created = post(&w.router, "/api/checklists", &w.crew.admin, monthly()).await;
    let id = created.body["id"].as_i64().unwrap();
    let url = format!("/api/checklists/{id}");

    // A ticket given version 1.
    let s = site(&w.pool, "JKT0001", "Asia/Jakarta").await;
    let ticket_id: i64 = sqlx::query_scalar(
        "INSERT INTO tickets (number, ticket_type, priority, status, asset_id, location_id, description,
             sla_calendar_id, response_target_minutes, resolution_target_minutes, warning_ratio,
             response_warning_at, response_due_at, resolution_warning_at, resolution_due_at)
         SELECT 'PM-2026-000001', 'PM', 'low', 'open', $1, $2, 'Service', id, 60, 120, 0.8, now(), now(), now(), now()
         FROM sla_calendars ORDER BY id LIMIT 1 RETURNING id",
    )
    .bind(s.asset_id)
    .bind(s.location_id)
    .fetch_one(&w.pool)
    .await
    .unwrap();
    let mut conn = w.pool.acquire().await.unwrap();
    nexus_shared::checklist::attach_latest(&mut conn, ticket_id, id).await.unwrap();
    let missing = nexus_shared::checklist::attach_latest(&mut conn, ticket_id, 999_999).await.unwrap_err();
    assert_eq!(nexus_testkit::schema::fields_in(missing), ["checklist_id"]);

    for role in [Role::Technician, Role::Viewer] {
        assert_eq!(put(&w.router, &url, w.crew.get(role), json!({"name": "x"})).await.status, StatusCode::FORBIDDEN);
    }
    let items =
        json!([{"key": "door_locked", "label": "Safe door locked and sealed", "type": "check", "required": true}]);
    let mut stale = request(Method::PUT, &url, Some(&w.crew.supervisor.token), Some(json!({"items": items})));
    stale.headers_mut().insert(header::IF_MATCH, "\"7\"".parse().unwrap());
    assert_eq!(send(&w.router, stale).await.status, StatusCode::PRECONDITION_FAILED);
    let mut fresh = request(Method::PUT, &url, Some(&w.crew.supervisor.token), Some(json!({"items": items})));
    fresh.headers_mut().insert(header::IF_MATCH, "\"1\"".parse().unwrap());
    let v2 = send(&w.router, fresh).await;
    assert_eq!(v2.status, StatusCode::OK, "{:?}", v2.body);
    assert_eq!(v2.headers[header::ETAG], "\"2\"");
    assert_eq!((v2.body["version"].as_i64(), v2.body["latest_version"].as_i64()), (Some(2), Some(2)));
    assert_eq!(v2.body["name"], "Monthly ATM inspection", "an absent name is kept");
    assert_eq!(v2.body["items"], items, "the items are replaced");

    // Version 2 again with the old If-Match: stale now.
    let mut again = request(Method::PUT, &url, Some(&w.crew.admin.token), Some(json!({"name": "Renamed"})));
    again.headers_mut().insert(header::IF_MATCH, "\"1\"".parse().unwrap());
    assert_eq!(send(&w.router, again).await.status, StatusCode::PRECONDITION_FAILED);
    let v3 = put(&w.router, &url, &w.crew.admin, json!({"name": "Renamed"})).await;
    assert_eq!(v3.status, StatusCode::OK);
    assert_eq!((v3.body["version"].as_i64(), v3.body["name"].as_str()), (Some(3), Some("Renamed")));
    assert_eq!(v3.body["items"], items);
    let invalid = put(&w.router, &url, &w.crew.admin, json!({"items": [{"key": "x"}]})).await;
    assert_eq!(fields(&invalid.body), ["items[0].label", "items[0].type", "items[0].required"]);
    assert_eq!(
        put(&w.router, "/api/checklists/999999", &w.crew.admin, json!({"name": "x"})).await.status,
        StatusCode::NOT_FOUND
    );

    // Version 1 is as it was, and is what the ticket has.
    let v1 = get(&w.router, &format!("{url}?version=1"), &w.crew.viewer).await;
    assert_eq!(v1.status, StatusCode::OK);
    assert_eq!(v1.headers[header::ETAG], "\"1\"");
    assert_eq!((v1.body["version"].as_i64(), v1.body["latest_version"].as_i64()), (Some(1), Some(3)));
    assert_eq!(v1.body["items"], created.body["items"]);
    assert_eq!(v1.body["name"], "Monthly ATM inspection");
    let latest = get(&w.router, &url, &w.crew.viewer).await;
    assert_eq!((latest.body["version"].as_i64(), &latest.headers[header::ETAG]), (Some(3), &"\"3\"".parse().unwrap()));
    assert_eq!(get(&w.router, &format!("{url}?version=4"), &w.crew.viewer).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        get(&w.router, &format!("{url}?version=0"), &w.crew.viewer).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let (cid, cver): (i64, i32) = sqlx::query_as("SELECT checklist_id, checklist_version FROM tickets WHERE id = $1")
        .bind(ticket_id)
        .fetch_one(&w.pool)
        .await
        .unwrap();
    assert_eq!((cid, cver), (id, 1));

    let audited = audit_rows(&w.pool, id).await;
    let actions: Vec<&str> = audited.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["create", "update", "update"]);
    assert_eq!(audited[1].1["version"], json!({"old": 1, "new": 2}));
    assert!(audited[1].1.get("items").is_some() && audited[1].1.get("name").is_none(), "{}", audited[1].1);
    assert_eq!(audited[2].1["name"], json!({"old": "Monthly ATM inspection", "new": "Renamed"}));
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_list_filters_sorts_and_pages(pool: PgPool) {
    let w = world(pool).await;
    for name in ["Quarterly vault", "Monthly ATM", "Daily kiosk", "Monthly kiosk"] {
        let body = json!({"name": name, "items": [{"key": "a", "label": "A", "type": "check", "required": true}]});
        assert_eq!(post(&w.router, "/api/checklists", &w.crew.admin, body).await.status, StatusCode::CREATED);
    }
    let names = |body: &Value| -> Vec<String> {
        body["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_string()).collect()
    };
    let all = get(&w.router, "/api/checklists", &w.crew.technician).await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(names(&all.body), ["Daily kiosk", "Monthly ATM", "Monthly kiosk", "Quarterly vault"]);
    assert_eq!(all.body["items"][0]["item_count"], 1);
    assert_eq!(all.body["items"][0]["version"], 1);
    assert!(all.body["items"][0].get("items").is_none());

    let monthly = get(&w.router, "/api/checklists?q=MONTHLY&sort=-name", &w.crew.viewer).await;
    assert_eq!(names(&monthly.body), ["Monthly kiosk", "Monthly ATM"]);
    assert_eq!(names(&get(&w.router, "/api/checklists?q=50%25", &w.crew.viewer).await.body), Vec::<String>::new());

    let first = get(&w.router, "/api/checklists?limit=3&sort=created_at", &w.crew.viewer).await;
    assert_eq!(names(&first.body), ["Quarterly vault", "Monthly ATM", "Daily kiosk"]);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second =
        get(&w.router, &format!("/api/checklists?limit=3&sort=created_at&cursor={cursor}"), &w.crew.viewer).await;
    assert_eq!(names(&second.body), ["Monthly kiosk"]);
    assert_eq!(second.body["next_cursor"], Value::Null);
    let bad = get(&w.router, "/api/checklists?sort=items", &w.crew.viewer).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[sqlx::test(migrations = false)]
async fn the_built_function_answers_through_the_lambda_runtime_api(pool: PgPool) {
    nexus_testkit::built::the_built_function_answers(env!("CARGO_BIN_EXE_checklists"), pool).await;
}
