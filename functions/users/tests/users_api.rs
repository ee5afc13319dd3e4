//! User administration against real Postgres.

use axum::http::{Method, StatusCode};
use nexus_shared::auth::Role;
use nexus_testkit::{self as testing, TestUser, delete, get, put, request, send};
use serde_json::{Value, json};
use sqlx::PgPool;

struct Fixture {
    app: axum::Router,
    admin: TestUser,
    tech: TestUser,
}

async fn setup(pool: &PgPool) -> Fixture {
    let state = testing::state(pool.clone());
    let admin = testing::user(&state, "admin@test.example", &[Role::Admin]).await;
    let tech = testing::user(&state, "tech@test.example", &[Role::Technician]).await;
    Fixture { app: nexus_users::router(state), admin, tech }
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn admin_changes_roles_and_email_with_an_audit_diff(pool: PgPool) {
    let f = setup(&pool).await;
    let url = format!("/api/users/{}", f.tech.id);
    let r = put(&f.app, &url, &f.admin, json!({"roles": ["supervisor", "technician", "supervisor"], "email": "Teknisi@Test.example", "full_name": "Rudi"})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["roles"], json!(["supervisor", "technician"]));
    assert_eq!(r.body["email"], "teknisi@test.example");
    assert_eq!(r.body["full_name"], "Rudi");
    let changes: Value =
        sqlx::query_scalar("SELECT changes FROM audit_logs WHERE entity_type = 'user' AND entity_id = $1")
            .bind(f.tech.id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(changes["roles"], json!({"old": ["technician"], "new": ["supervisor", "technician"]}));
    assert_eq!(changes["email"]["new"], "teknisi@test.example");
    assert_eq!(get(&f.app, &url, &f.admin).await.body["roles"], json!(["supervisor", "technician"]));
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn deactivation_revokes_sessions_and_blocks_login_but_keeps_history(pool: PgPool) {
    let f = setup(&pool).await;
    let me = request(Method::GET, "/api/users", Some(&f.tech.token), None);
    assert_eq!(send(&f.app, me).await.status, StatusCode::FORBIDDEN, "a live technician token: 403, not 401");
    let r = delete(&f.app, &format!("/api/users/{}", f.tech.id), &f.admin).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let after = send(&f.app, request(Method::GET, "/api/users", Some(&f.tech.token), None)).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED, "the session died with the account");
    let (active, revoked): (bool, i64) = sqlx::query_as(
        "SELECT u.active, (SELECT count(*) FROM sessions s WHERE s.user_id = u.id AND s.revoked_reason = 'user_deactivated') FROM users u WHERE id = $1",
    )
    .bind(f.tech.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((active, revoked), (false, 1));
    let listed = get(&f.app, "/api/users?active=false", &f.admin).await;
    assert_eq!(listed.body["items"][0]["email"], "tech@test.example");
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn an_admin_cannot_lock_themselves_out(pool: PgPool) {
    let f = setup(&pool).await;
    let url = format!("/api/users/{}", f.admin.id);
    assert_eq!(delete(&f.app, &url, &f.admin).await.status, StatusCode::CONFLICT);
    assert_eq!(put(&f.app, &url, &f.admin, json!({"roles": ["viewer"]})).await.status, StatusCode::CONFLICT);
    assert_eq!(put(&f.app, &url, &f.admin, json!({"active": false})).await.status, StatusCode::CONFLICT);
    assert_eq!(put(&f.app, &url, &f.admin, json!({"roles": ["admin", "supervisor"]})).await.status, StatusCode::OK);
    assert_eq!(get(&f.app, "/api/users?role=admin", &f.admin).await.body["items"].as_array().unwrap().len(), 1);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn bad_updates_are_refused_and_change_nothing(pool: PgPool) {
    let f = setup(&pool).await;
    let url = format!("/api/users/{}", f.tech.id);
    let empty = put(&f.app, &url, &f.admin, json!({"roles": []})).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = put(&f.app, &url, &f.admin, json!({"roles": ["root"]})).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown.body["errors"][0]["field"], "roles[0]");
    let five = json!({"roles": ["viewer", "viewer", "viewer", "viewer", "viewer"]});
    assert_eq!(put(&f.app, &url, &f.admin, five).await.status, StatusCode::UNPROCESSABLE_ENTITY, "maxItems is 4");
    let taken = put(&f.app, &url, &f.admin, json!({"email": "ADMIN@test.example"})).await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert_eq!(put(&f.app, "/api/users/424242", &f.admin, json!({"active": true})).await.status, StatusCode::NOT_FOUND);
    let tech = get(&f.app, &url, &f.admin).await.body;
    assert_eq!((tech["email"].as_str(), &tech["roles"]), (Some("tech@test.example"), &json!(["technician"])));
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn answers_an_api_gateway_v2_event(pool: PgPool) {
    let f = setup(&pool).await;
    let event = testing::apigw_v2_event("GET", "/api/users", "sort=-email&limit=1", Some(&f.admin.token), None);
    let r = testing::send_event(&f.app, event).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["items"][0]["email"], "tech@test.example");
    assert!(r.body["next_cursor"].is_string());
}

/// The built binary, started as Lambda starts it, answers its event from the test kit's table
/// through the Runtime API.
#[sqlx::test(migrations = false)]
async fn the_built_function_answers_through_the_lambda_runtime_api(pool: sqlx::PgPool) {
    nexus_testkit::built::the_built_function_answers(env!("CARGO_BIN_EXE_users"), pool).await;
}
