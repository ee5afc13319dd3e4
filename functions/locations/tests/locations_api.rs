//! The locations endpoints against real Postgres.

use axum::http::StatusCode;
use nexus_shared::auth::Role;
use nexus_testkit::{self as testing, TestUser, delete, get, post, put};
use serde_json::{Value, json};
use sqlx::PgPool;

async fn setup(pool: &PgPool) -> (axum::Router, TestUser) {
    let state = testing::state(pool.clone());
    let supervisor = testing::user(&state, "spv@test.example", &[Role::Supervisor]).await;
    (nexus_locations::router(state), supervisor)
}

fn site(code: &str) -> Value {
    json!({"code": code, "name": format!("ATM {code}"), "latitude": -6.1754, "longitude": 106.8272, "region": "DKI Jakarta"})
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn create_read_update_delete_with_an_audit_row_each(pool: PgPool) {
    let (app, spv) = setup(&pool).await;
    let created = post(&app, "/api/locations", &spv, site("TID-0001")).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.body["timezone"], "Asia/Jakarta");
    let id = created.body["id"].as_i64().unwrap();
    let url = format!("/api/locations/{id}");

    assert_eq!(get(&app, &url, &spv).await.body["code"], "TID-0001");

    // Partial update: what is absent is kept, null clears.
    let updated =
        put(&app, &url, &spv, json!({"name": "ATM Monas", "region": null, "timezone": "Asia/Makassar"})).await;
    assert_eq!(updated.status, StatusCode::OK, "{:?}", updated.body);
    assert_eq!(updated.body["name"], "ATM Monas");
    assert_eq!(updated.body["code"], "TID-0001");
    assert_eq!(updated.body["latitude"], -6.1754);
    assert_eq!(updated.body["region"], Value::Null);
    assert_eq!(updated.body["timezone"], "Asia/Makassar");

    assert_eq!(delete(&app, &url, &spv).await.status, StatusCode::NO_CONTENT);
    assert_eq!(get(&app, &url, &spv).await.status, StatusCode::NOT_FOUND);

    let audit: Vec<(String, Value, Option<i64>)> =
        sqlx::query_as("SELECT action, changes, actor_id FROM audit_logs WHERE entity_type = 'location' AND entity_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&pool)
            .await
            .unwrap();
    let actions: Vec<&str> = audit.iter().map(|(a, _, _)| a.as_str()).collect();
    assert_eq!(actions, ["create", "update", "delete"]);
    assert_eq!(
        audit[1].1,
        json!({
            "name": {"old": "ATM TID-0001", "new": "ATM Monas"},
            "region": {"old": "DKI Jakarta", "new": null},
            "timezone": {"old": "Asia/Jakarta", "new": "Asia/Makassar"}
        })
    );
    assert!(audit.iter().all(|(_, _, actor)| *actor == Some(spv.id)));
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn invalid_bodies_are_422_and_store_nothing(pool: PgPool) {
    let (app, spv) = setup(&pool).await;
    let r = post(&app, "/api/locations", &spv, json!({"code": "bad code!", "name": "", "latitude": 100})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = r.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["code", "name", "latitude", "longitude"], "every invalid field: out of range and unpaired");
    let wrong_type = post(&app, "/api/locations", &spv, json!({"code": "A", "name": "n", "latitude": "south"})).await;
    assert_eq!(wrong_type.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong_type.body["errors"][0]["field"], "latitude");
    let nul = post(&app, "/api/locations", &spv, json!({"code": "A", "name": "a\u{0}b"})).await;
    assert_eq!(nul.status, StatusCode::UNPROCESSABLE_ENTITY);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM locations").fetch_one(&pool).await.unwrap();
    assert_eq!(count, 0);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn duplicate_codes_conflict_and_the_first_survives(pool: PgPool) {
    let (app, spv) = setup(&pool).await;
    post(&app, "/api/locations", &spv, site("TID-1")).await;
    let other = post(&app, "/api/locations", &spv, site("TID-2")).await;
    let dup = post(&app, "/api/locations", &spv, site("TID-1")).await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert!(dup.body["detail"].as_str().unwrap().contains("TID-1"));
    let rename = put(&app, &format!("/api/locations/{}", other.body["id"]), &spv, json!({"code": "TID-1"})).await;
    assert_eq!(rename.status, StatusCode::CONFLICT);
    let audit: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_logs").fetch_one(&pool).await.unwrap();
    assert_eq!(audit, 2, "failed writes leave no audit row");
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_location_with_assets_cannot_be_deleted(pool: PgPool) {
    let (app, spv) = setup(&pool).await;
    let id = post(&app, "/api/locations", &spv, site("TID-9")).await.body["id"].as_i64().unwrap();
    sqlx::query("INSERT INTO assets (location_id, tag, name) VALUES ($1, 'ATM-9', 'Hyosung')")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    let r = delete(&app, &format!("/api/locations/{id}"), &spv).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(get(&app, &format!("/api/locations/{id}"), &spv).await.status, StatusCode::OK);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn unknown_or_unparseable_ids_are_404(pool: PgPool) {
    let (app, spv) = setup(&pool).await;
    assert_eq!(get(&app, "/api/locations/999999", &spv).await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&app, "/api/locations/abc", &spv).await.status, StatusCode::NOT_FOUND);
    assert_eq!(put(&app, "/api/locations/999999", &spv, json!({"name": "x"})).await.status, StatusCode::NOT_FOUND);
    assert_eq!(delete(&app, "/api/locations/999999", &spv).await.status, StatusCode::NOT_FOUND);
    let unrouted = get(&app, "/api/nowhere", &spv).await;
    assert_eq!((unrouted.status, unrouted.content_type()), (StatusCode::NOT_FOUND, "application/problem+json"));
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn lists_page_through_everything_once_in_order(pool: PgPool) {
    let (app, spv) = setup(&pool).await;
    for i in 0..25 {
        let region = if i % 2 == 0 { "Bali" } else { "Jawa Barat" };
        let mut body = site(&format!("TID-{i:03}"));
        body["region"] = region.into();
        post(&app, "/api/locations", &spv, body).await;
    }
    for sort in ["code", "-code", "name", "-created_at"] {
        let mut seen = Vec::new();
        let mut url = format!("/api/locations?limit=7&sort={sort}");
        loop {
            let page = get(&app, &url, &spv).await;
            assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
            let items = page.body["items"].as_array().unwrap();
            assert!(items.len() <= 7);
            seen.extend(items.iter().map(|l| l["code"].as_str().unwrap().to_string()));
            match page.body["next_cursor"].as_str() {
                Some(cursor) => url = format!("/api/locations?limit=7&sort={sort}&cursor={cursor}"),
                None => break,
            }
        }
        assert_eq!(seen.len(), 25, "sort {sort}");
        let mut expected = seen.clone();
        expected.sort();
        if sort.starts_with('-') {
            expected.reverse();
        }
        assert_eq!(seen, expected, "sort {sort}");
    }
    let bali = get(&app, "/api/locations?region=Bali&limit=500", &spv).await;
    assert_eq!(bali.body["items"].as_array().unwrap().len(), 13);
    let q = get(&app, "/api/locations?q=tid-01", &spv).await;
    assert_eq!(q.body["items"].as_array().unwrap().len(), 10);
    let literal = get(&app, "/api/locations?q=%25", &spv).await;
    assert_eq!(literal.body["items"].as_array().unwrap().len(), 0, "% is not a wildcard");
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn bad_paging_parameters_are_422(pool: PgPool) {
    let (app, spv) = setup(&pool).await;
    for query in ["limit=0", "limit=501", "limit=abc", "sort=password", "cursor=zzz"] {
        let r = get(&app, &format!("/api/locations?{query}"), &spv).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {:?}", r.body);
    }
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn answers_an_api_gateway_v2_event(pool: PgPool) {
    let (app, spv) = setup(&pool).await;
    let event = testing::apigw_v2_event("POST", "/api/locations", "", Some(&spv.token), Some(site("TID-77")));
    let created = testing::send_event(&app, event).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let list = testing::send_event(
        &app,
        testing::apigw_v2_event("GET", "/api/locations", "q=TID-77&limit=5", Some(&spv.token), None),
    )
    .await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body["items"][0]["code"], "TID-77");
}

/// A change and its audit row commit together: when the audit insert fails (a fault injected
/// with a trigger), the change is rolled back and the caller gets a 500 problem without detail.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_failing_audit_insert_rolls_the_change_back(pool: PgPool) {
    let (app, admin) = setup(&pool).await;
    let existing = post(&app, "/api/locations", &admin, site("JKT0001")).await;
    assert_eq!(existing.status, StatusCode::CREATED);
    sqlx::query(
        "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS
             $$ BEGIN RAISE EXCEPTION 'injected audit failure'; END $$",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_logs FOR EACH ROW EXECUTE FUNCTION refuse_audit()")
        .execute(&pool)
        .await
        .unwrap();

    let created = post(&app, "/api/locations", &admin, site("JKT0002")).await;
    assert_eq!(created.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(created.content_type(), "application/problem+json");
    assert!(!created.body.to_string().contains("injected"), "the cause stays in the log");
    let url = format!("/api/locations/{}", existing.body["id"]);
    let renamed = put(&app, &url, &admin, json!({"name": "Renamed"})).await;
    assert_eq!(renamed.status, StatusCode::INTERNAL_SERVER_ERROR);
    let deleted = delete(&app, &url, &admin).await;
    assert_eq!(deleted.status, StatusCode::INTERNAL_SERVER_ERROR);

    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT code, name FROM locations ORDER BY code").fetch_all(&pool).await.unwrap();
    assert_eq!(rows, [("JKT0001".to_string(), existing.body["name"].as_str().unwrap().to_string())]);
}

/// The built binary, started as Lambda starts it, answers its event from the test kit's table
/// through the Runtime API.
#[sqlx::test(migrations = false)]
async fn the_built_function_answers_through_the_lambda_runtime_api(pool: sqlx::PgPool) {
    nexus_testkit::built::the_built_function_answers(env!("CARGO_BIN_EXE_locations"), pool).await;
}
