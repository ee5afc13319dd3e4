//! Reading the audit log against real Postgres.

use axum::http::StatusCode;
use nexus_shared::audit::{self, Action, Actor, EntityType};
use nexus_shared::auth::Role;
use nexus_testkit::{self as testing, get};
use serde_json::json;
use sqlx::PgPool;

async fn write(pool: &PgPool, actor: i64, entity: EntityType, id: i64, action: Action, name: &str) {
    let mut conn = pool.acquire().await.unwrap();
    let actor = Actor { user_id: Some(actor), request_id: Some("req-1".into()) };
    audit::record(&mut conn, &actor, entity, id, action, None, Some(&json!({"name": name}))).await.unwrap();
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn staff_read_filtered_pages_newest_first(pool: PgPool) {
    let state = testing::state(pool.clone());
    let spv = testing::user(&state, "spv@test.example", &[Role::Supervisor]).await;
    let app = nexus_audit::router(state);
    for i in 0..5 {
        write(&pool, spv.id, EntityType::Location, 1, Action::Update, &format!("v{i}")).await;
    }
    write(&pool, spv.id, EntityType::Asset, 2, Action::Create, "atm").await;

    let page = get(&app, "/api/audit-logs?entity_type=location&entity_id=1&limit=3", &spv).await;
    assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
    let items = page.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["changes"]["name"]["new"], "v4", "newest first");
    assert_eq!(items[0]["actor_email"], "spv@test.example");
    assert_eq!(items[0]["request_id"], "req-1");
    let next = page.body["next_cursor"].as_str().unwrap();
    let rest =
        get(&app, &format!("/api/audit-logs?entity_type=location&entity_id=1&limit=3&cursor={next}"), &spv).await;
    assert_eq!(rest.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(rest.body["next_cursor"], serde_json::Value::Null);

    let assets = get(&app, "/api/audit-logs?entity_type=asset&action=create", &spv).await;
    assert_eq!(assets.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        get(&app, "/api/audit-logs?entity_type=ticket-ish", &spv).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn technicians_and_viewers_may_not_read_it(pool: PgPool) {
    let state = testing::state(pool.clone());
    let tech = testing::user(&state, "tech@test.example", &[Role::Technician]).await;
    let app = nexus_audit::router(state);
    let event = testing::apigw_v2_event("GET", "/api/audit-logs", "", Some(&tech.token), None);
    let r = testing::send_event(&app, event).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.content_type(), "application/problem+json");
}

/// The built binary, started as Lambda starts it, answers its event from the test kit's table
/// through the Runtime API.
#[sqlx::test(migrations = false)]
async fn the_built_function_answers_through_the_lambda_runtime_api(pool: sqlx::PgPool) {
    nexus_testkit::built::the_built_function_answers(env!("CARGO_BIN_EXE_audit"), pool).await;
}
