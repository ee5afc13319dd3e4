//! The assets endpoints against real Postgres.

use axum::http::StatusCode;
use nexus_shared::auth::Role;
use nexus_testkit::{self as testing, TestUser, delete, get, post, put};
use serde_json::{Value, json};
use sqlx::PgPool;

struct Fixture {
    app: axum::Router,
    spv: TestUser,
    location_id: i64,
}

async fn setup(pool: &PgPool) -> Fixture {
    let state = testing::state(pool.clone());
    let spv = testing::user(&state, "spv@test.example", &[Role::Supervisor]).await;
    let location_id = sqlx::query_scalar("INSERT INTO locations (code, name) VALUES ('TID-1', 'Site 1') RETURNING id")
        .fetch_one(pool)
        .await
        .unwrap();
    Fixture { app: nexus_assets::router(state), spv, location_id }
}

fn asset(location_id: i64, tag: &str) -> Value {
    json!({"location_id": location_id, "tag": tag, "name": "Hyosung MX8600", "category": "ATM", "purchase_date": "2024-03-01"})
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn create_update_and_decommission_keep_the_row_and_audit_each(pool: PgPool) {
    let f = setup(&pool).await;
    let created = post(&f.app, "/api/assets", &f.spv, asset(f.location_id, "ATM-0001")).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.body["status"], "active");
    assert_eq!(created.body["purchase_date"], "2024-03-01");
    let url = format!("/api/assets/{}", created.body["id"]);

    let updated = put(&f.app, &url, &f.spv, json!({"status": "inactive", "category": null})).await;
    assert_eq!(updated.status, StatusCode::OK, "{:?}", updated.body);
    assert_eq!((updated.body["status"].as_str(), &updated.body["category"]), (Some("inactive"), &Value::Null));
    assert_eq!(updated.body["tag"], "ATM-0001");

    let gone = delete(&f.app, &url, &f.spv).await;
    assert_eq!(gone.status, StatusCode::OK);
    assert_eq!(gone.body["status"], "decommissioned");
    assert_eq!(get(&f.app, &url, &f.spv).await.body["status"], "decommissioned", "the row is kept");

    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_logs WHERE entity_type = 'asset' ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(actions, ["create", "update", "delete"]);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn an_unknown_location_is_422_and_a_duplicate_tag_409(pool: PgPool) {
    let f = setup(&pool).await;
    let r = post(&f.app, "/api/assets", &f.spv, asset(987654, "ATM-1")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["errors"][0]["field"], "location_id");
    assert_eq!(post(&f.app, "/api/assets", &f.spv, asset(f.location_id, "ATM-1")).await.status, StatusCode::CREATED);
    assert_eq!(post(&f.app, "/api/assets", &f.spv, asset(f.location_id, "ATM-1")).await.status, StatusCode::CONFLICT);
    let bad_status = post(
        &f.app,
        "/api/assets",
        &f.spv,
        json!({"location_id": f.location_id, "tag": "X", "name": "n", "status": "broken"}),
    )
    .await;
    assert_eq!(bad_status.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_status.body["errors"][0]["field"], "status");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM assets").fetch_one(&pool).await.unwrap();
    assert_eq!(count, 1);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn list_filters_by_location_status_category_and_text(pool: PgPool) {
    let f = setup(&pool).await;
    let other: i64 = sqlx::query_scalar("INSERT INTO locations (code, name) VALUES ('TID-2', 'Site 2') RETURNING id")
        .fetch_one(&pool)
        .await
        .unwrap();
    for i in 0..6 {
        let loc = if i < 4 { f.location_id } else { other };
        let mut body = asset(loc, &format!("ATM-{i}"));
        if i % 2 == 1 {
            body["category"] = "EDC".into();
        }
        post(&f.app, "/api/assets", &f.spv, body).await;
    }
    let count = |body: &Value| body["items"].as_array().unwrap().len();
    assert_eq!(count(&get(&f.app, &format!("/api/assets?location_id={}", f.location_id), &f.spv).await.body), 4);
    assert_eq!(count(&get(&f.app, "/api/assets?category=EDC", &f.spv).await.body), 3);
    assert_eq!(count(&get(&f.app, "/api/assets?q=atm-5", &f.spv).await.body), 1);
    assert_eq!(count(&get(&f.app, "/api/assets?status=decommissioned", &f.spv).await.body), 0);
    assert_eq!(get(&f.app, "/api/assets?status=broken", &f.spv).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = get(&f.app, "/api/assets?limit=4&sort=-tag", &f.spv).await.body;
    assert_eq!(page["items"][0]["tag"], "ATM-5");
    let next =
        get(&f.app, &format!("/api/assets?limit=4&sort=-tag&cursor={}", page["next_cursor"].as_str().unwrap()), &f.spv)
            .await;
    let tags: Vec<&str> = next.body["items"].as_array().unwrap().iter().map(|a| a["tag"].as_str().unwrap()).collect();
    assert_eq!(tags, ["ATM-1", "ATM-0"]);
    assert_eq!(next.body["next_cursor"], Value::Null);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn answers_an_api_gateway_v2_event(pool: PgPool) {
    let f = setup(&pool).await;
    let event =
        testing::apigw_v2_event("POST", "/api/assets", "", Some(&f.spv.token), Some(asset(f.location_id, "KIOSK-1")));
    let r = testing::send_event(&f.app, event).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let got = testing::send_event(
        &f.app,
        testing::apigw_v2_event("GET", &format!("/api/assets/{}", r.body["id"]), "", Some(&f.spv.token), None),
    )
    .await;
    assert_eq!(got.body["tag"], "KIOSK-1");
}

/// The built binary, started as Lambda starts it, answers its event from the test kit's table
/// through the Runtime API.
#[sqlx::test(migrations = false)]
async fn the_built_function_answers_through_the_lambda_runtime_api(pool: sqlx::PgPool) {
    nexus_testkit::built::the_built_function_answers(env!("CARGO_BIN_EXE_assets"), pool).await;
}
