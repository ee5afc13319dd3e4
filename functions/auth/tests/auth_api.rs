//! The auth endpoints against real Postgres, as HTTP exchanges.

use axum::http::{Method, StatusCode};
use nexus_shared::auth::password::PasswordHashing;
use nexus_shared::config::{ConfigError, Env, FromEnv};
use nexus_testkit::{self as testing, TEST_PASSWORD, request, send};
use serde_json::{Value, json};
use sqlx::PgPool;

fn app(pool: PgPool) -> axum::Router {
    nexus_auth::router(nexus_auth::AuthState::new(testing::state(pool), testing::passwords()))
}

async fn signup(app: &axum::Router, email: &str, password: &str) -> testing::TestResponse {
    send(app, request(Method::POST, "/api/auth/signup", None, Some(json!({"email": email, "password": password}))))
        .await
}

async fn login(app: &axum::Router, email: &str, password: &str) -> testing::TestResponse {
    send(app, request(Method::POST, "/api/auth/login", None, Some(json!({"email": email, "password": password})))).await
}

async fn refresh(app: &axum::Router, token: &Value) -> testing::TestResponse {
    send(app, request(Method::POST, "/api/auth/refresh", None, Some(json!({"refresh_token": token})))).await
}

async fn me(app: &axum::Router, token: &Value) -> testing::TestResponse {
    send(app, request(Method::GET, "/api/auth/me", token.as_str(), None)).await
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn signup_creates_a_viewer_and_audits_it(pool: PgPool) {
    let app = app(pool.clone());
    let r = signup(&app, "Ayu.Lestari@Example.com", TEST_PASSWORD).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["email"], "ayu.lestari@example.com");
    assert_eq!(r.body["roles"], json!(["viewer"]));
    assert!(r.body.get("password_hash").is_none());
    assert!(r.body["created_at"].as_str().unwrap().ends_with('Z'));
    let (action, changes): (String, Value) =
        sqlx::query_as("SELECT action, changes FROM audit_logs WHERE entity_type = 'user' AND entity_id = $1")
            .bind(r.body["id"].as_i64().unwrap())
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(action, "create");
    assert_eq!(changes["email"]["new"], "ayu.lestari@example.com");
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn signup_refuses_a_taken_email_whatever_its_case(pool: PgPool) {
    let app = app(pool);
    assert_eq!(signup(&app, "budi@example.com", TEST_PASSWORD).await.status, StatusCode::CREATED);
    let r = signup(&app, "BUDI@example.com", TEST_PASSWORD).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.content_type(), "application/problem+json");
    assert_eq!(r.body["status"], 409);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn signup_names_every_invalid_field(pool: PgPool) {
    let app = app(pool);
    let r = signup(&app, "not-an-email", "short").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = r.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["email", "password"]);
    let long = signup(&app, "c@example.com", &"x".repeat(129)).await;
    assert_eq!(long.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn malformed_json_is_400_and_a_non_json_body_is_415(pool: PgPool) {
    let app = app(pool);
    let bad = axum::http::Request::post("/api/auth/signup")
        .header("content-type", "application/json")
        .body(axum::body::Body::from("{\"email\": "))
        .unwrap();
    let r = send(&app, bad).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.content_type(), "application/problem+json");
    let form = axum::http::Request::post("/api/auth/signup").body(axum::body::Body::from("email=x")).unwrap();
    assert_eq!(send(&app, form).await.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let unknown = send(
        &app,
        request(
            Method::POST,
            "/api/auth/signup",
            None,
            Some(json!({"email": "d@example.com", "password": TEST_PASSWORD, "role": "admin"})),
        ),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY, "an unknown field must not be ignored");
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn login_gives_tokens_that_open_me(pool: PgPool) {
    let app = app(pool);
    signup(&app, "citra@example.com", TEST_PASSWORD).await;
    let r = login(&app, "CITRA@example.com", TEST_PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["token_type"], "Bearer");
    assert!(r.body["expires_in"].as_u64().unwrap() <= 900);
    let me = me(&app, &r.body["access_token"]).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["email"], "citra@example.com");
    assert_eq!(me.body["roles"], json!(["viewer"]));
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn wrong_password_and_unknown_email_look_the_same(pool: PgPool) {
    let app = app(pool);
    signup(&app, "dewi@example.com", TEST_PASSWORD).await;
    let wrong = login(&app, "dewi@example.com", "wrong-password-123").await;
    let unknown = login(&app, "nobody@example.com", TEST_PASSWORD).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.status, unknown.status);
    assert_eq!(wrong.body, unknown.body);
}

/// A login through a real API Gateway HTTP API event from `source_ip`.
async fn login_from(app: &axum::Router, source_ip: &str, email: &str, password: &str) -> testing::TestResponse {
    let mut event = testing::apigw_v2_event_json(
        "POST",
        "/api/auth/login",
        "",
        None,
        Some(json!({"email": email, "password": password})),
    );
    event["requestContext"]["http"]["sourceIp"] = source_ip.into();
    testing::send_event(app, lambda_http::request::from_str(&event.to_string()).unwrap()).await
}

/// Password spraying (one password tried on many accounts) never locks an e-mail; 50 failures
/// from one address within 15 minutes lock that address, whatever the e-mail, and no other.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn fifty_failures_from_one_address_lock_that_address(pool: PgPool) {
    let app = app(pool.clone());
    signup(&app, "gilang@example.com", TEST_PASSWORD).await;
    let (sprayer, other) = ("203.0.113.7", "198.51.100.9");
    for i in 0..49 {
        let r = login_from(&app, sprayer, &format!("user{i}@example.com"), "Winter2026!").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // The attacker's own account signs in: the address's failures still count.
    assert_eq!(login_from(&app, sprayer, "gilang@example.com", TEST_PASSWORD).await.status, StatusCode::OK);
    let last = login_from(&app, sprayer, "user49@example.com", "Winter2026!").await;
    assert_eq!(last.status, StatusCode::UNAUTHORIZED);
    let locked = login_from(&app, sprayer, "gilang@example.com", TEST_PASSWORD).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", locked.body);
    let retry: u64 = locked.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((880..=900).contains(&retry), "Retry-After {retry}");
    // Another address, and a request without one, are not affected.
    assert_eq!(login_from(&app, other, "gilang@example.com", TEST_PASSWORD).await.status, StatusCode::OK);
    assert_eq!(login(&app, "gilang@example.com", TEST_PASSWORD).await.status, StatusCode::OK);
    // Once the failures age out of the window, the address may try again.
    sqlx::query("UPDATE login_failures SET failed_at = failed_at - interval '16 minutes'")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(login_from(&app, sprayer, "gilang@example.com", TEST_PASSWORD).await.status, StatusCode::OK);
    let recorded: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT host(ip) FROM login_failures").fetch_all(&pool).await.unwrap();
    assert_eq!(recorded, [sprayer]);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn five_failures_lock_the_email_for_fifteen_minutes(pool: PgPool) {
    let app = app(pool.clone());
    signup(&app, "eka@example.com", TEST_PASSWORD).await;
    for _ in 0..5 {
        assert_eq!(login(&app, "eka@example.com", "wrong-password-123").await.status, StatusCode::UNAUTHORIZED);
    }
    let locked = login(&app, "eka@example.com", TEST_PASSWORD).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
    let retry: u64 = locked.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((890..=900).contains(&retry), "Retry-After {retry}");
    // Another e-mail is not affected.
    signup(&app, "fajar@example.com", TEST_PASSWORD).await;
    assert_eq!(login(&app, "fajar@example.com", TEST_PASSWORD).await.status, StatusCode::OK);
    // Once the failures age out of the window, login works again.
    sqlx::query("UPDATE login_failures SET failed_at = failed_at - interval '16 minutes'")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(login(&app, "eka@example.com", TEST_PASSWORD).await.status, StatusCode::OK);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn refresh_rotates_and_a_reused_token_kills_the_session(pool: PgPool) {
    let app = app(pool);
    signup(&app, "gita@example.com", TEST_PASSWORD).await;
    let first = login(&app, "gita@example.com", TEST_PASSWORD).await.body;
    let second = refresh(&app, &first["refresh_token"]).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_ne!(second.body["refresh_token"], first["refresh_token"]);
    assert_eq!(me(&app, &second.body["access_token"]).await.status, StatusCode::OK);

    // The used token is dead, and replaying it revokes the session it belonged to.
    assert_eq!(refresh(&app, &first["refresh_token"]).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refresh(&app, &second.body["refresh_token"]).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&app, &second.body["access_token"]).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refresh(&app, &json!("garbage")).await.status, StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn logout_kills_the_access_and_refresh_tokens(pool: PgPool) {
    let app = app(pool);
    signup(&app, "hadi@example.com", TEST_PASSWORD).await;
    let tokens = login(&app, "hadi@example.com", TEST_PASSWORD).await.body;
    let out = send(&app, request(Method::POST, "/api/auth/logout", tokens["access_token"].as_str(), None)).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_eq!(me(&app, &tokens["access_token"]).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refresh(&app, &tokens["refresh_token"]).await.status, StatusCode::UNAUTHORIZED);
    let again = send(&app, request(Method::POST, "/api/auth/logout", tokens["access_token"].as_str(), None)).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_garbage_or_missing_token_is_401_problem(pool: PgPool) {
    let app = app(pool);
    let none = send(&app, request(Method::GET, "/api/auth/me", None, None)).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.content_type(), "application/problem+json");
    assert_eq!(me(&app, &json!("not.a.jwt")).await.status, StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn answers_an_api_gateway_v2_event(pool: PgPool) {
    let app = app(pool);
    signup(&app, "indah@example.com", TEST_PASSWORD).await;
    let event = testing::apigw_v2_event(
        "POST",
        "/api/auth/login",
        "",
        None,
        Some(json!({"email": "indah@example.com", "password": TEST_PASSWORD})),
    );
    let r = testing::send_event(&app, event).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let me_event = testing::apigw_v2_event("GET", "/api/auth/me", "", r.body["access_token"].as_str(), None);
    let me = testing::send_event(&app, me_event).await;
    assert_eq!(me.body["email"], "indah@example.com");
    assert!(me.headers.contains_key("x-request-id"));
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn oversized_bodies_are_413_and_wrong_methods_405_as_problems(pool: PgPool) {
    let app = app(pool);
    let huge = json!({"email": "x@example.com", "password": "p".repeat(2 * 1024 * 1024)});
    let r = send(&app, request(Method::POST, "/api/auth/signup", None, Some(huge))).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.content_type(), "application/problem+json");
    let r = send(&app, request(Method::DELETE, "/api/auth/login", None, None)).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.content_type(), "application/problem+json");
}

/// The login throttle lives in the database, so two separate processes (two built `auth`
/// binaries, as two Lambda instances) share it: 3 failures on one and 2 on the other lock the
/// e-mail on both, with the same Retry-After.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn the_login_throttle_holds_across_two_processes(pool: PgPool) {
    use nexus_testkit::{apigw_v2_event_json, invoke_http, start_lambda};
    signup(&app(pool.clone()), "gita@example.com", TEST_PASSWORD).await;
    let mut first = start_lambda(env!("CARGO_BIN_EXE_auth"), &pool, &[]).await;
    let mut second = start_lambda(env!("CARGO_BIN_EXE_auth"), &pool, &[]).await;
    let attempt = |password: &str| {
        apigw_v2_event_json(
            "POST",
            "/api/auth/login",
            "",
            None,
            Some(json!({"email": "gita@example.com", "password": password})),
        )
    };
    for (process, failures) in [(&mut first, 3), (&mut second, 2)] {
        for _ in 0..failures {
            assert_eq!(invoke_http(process, attempt("wrong-password-123")).await.status, StatusCode::UNAUTHORIZED);
        }
    }
    for process in [&mut first, &mut second] {
        let locked = invoke_http(process, attempt(TEST_PASSWORD)).await;
        assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
        let retry: u64 = locked.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((880..=900).contains(&retry), "Retry-After {retry}");
    }
}

/// A password change keeps the caller signed in, ends every other session (access and refresh
/// tokens), makes the old password useless and the new one work; a wrong current password or an
/// unchanged or short new one is 422 and changes nothing.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_password_change_ends_the_other_sessions(pool: PgPool) {
    let app = app(pool.clone());
    signup(&app, "hana@example.com", TEST_PASSWORD).await;
    let here = login(&app, "hana@example.com", TEST_PASSWORD).await.body;
    let elsewhere = login(&app, "hana@example.com", TEST_PASSWORD).await.body;
    let change = |current: &str, new: &str| {
        request(
            Method::POST,
            "/api/auth/password",
            here["access_token"].as_str(),
            Some(json!({"current_password": current, "new_password": new})),
        )
    };
    let new_password = "another-long-password-42";
    for (current, new, field) in [
        ("not-my-password-at-all", new_password, "current_password"),
        (TEST_PASSWORD, TEST_PASSWORD, "new_password"),
        (TEST_PASSWORD, "short", "new_password"),
    ] {
        let refused = send(&app, change(current, new)).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert_eq!(refused.body["errors"][0]["field"], field);
    }
    assert_eq!(me(&app, &elsewhere["access_token"]).await.status, StatusCode::OK, "nothing changed yet");

    assert_eq!(send(&app, change(TEST_PASSWORD, new_password)).await.status, StatusCode::NO_CONTENT);
    assert_eq!(me(&app, &here["access_token"]).await.status, StatusCode::OK, "this session stays");
    assert_eq!(me(&app, &elsewhere["access_token"]).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refresh(&app, &elsewhere["refresh_token"]).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(login(&app, "hana@example.com", TEST_PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(login(&app, "hana@example.com", new_password).await.status, StatusCode::OK);
    let audited: String = sqlx::query_scalar(
        "SELECT changes::text FROM audit_logs WHERE entity_type = 'user' AND action = 'update' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(audited.contains("changed") && !audited.contains("argon2"), "{audited}");
}

/// The built binary, started as Lambda starts it, answers its event from the test kit's table
/// through the Runtime API.
#[sqlx::test(migrations = false)]
async fn the_built_function_answers_through_the_lambda_runtime_api(pool: sqlx::PgPool) {
    nexus_testkit::built::the_built_function_answers(env!("CARGO_BIN_EXE_auth"), pool).await;
}

#[tokio::test]
async fn auth_needs_the_signing_and_mfa_keys_and_hashes_at_production_cost() {
    let database = ("DATABASE_URL", "postgres://nexus@localhost/nexus");
    let missing = nexus_auth::AuthState::from_env(&Env::from_pairs([database])).await;
    assert!(matches!(missing, Err(ConfigError::Missing("NEXUS_JWT_SECRET"))));
    let signing = ("NEXUS_JWT_SECRET", "0123456789abcdef0123456789abcdef");
    let no_mfa_key = nexus_auth::AuthState::from_env(&Env::from_pairs([database, signing])).await;
    assert!(matches!(no_mfa_key, Err(ConfigError::Missing("NEXUS_MFA_KEY"))));
    let env = Env::from_pairs([database, signing, ("NEXUS_MFA_KEY", nexus_testkit::built::TEST_MFA_KEY)]);
    let state = nexus_auth::AuthState::from_env(&env).await.expect("database and keys are enough");
    assert_eq!(state.passwords.cost(), PasswordHashing::OWASP);
    assert!(state.mfa.required_roles.is_empty(), "no role must enrol unless configured");
}

/// An account whose password someone else chose (the first admin of a deploy) signs in, but
/// every route answers 403 `password-change-required` until the password change, which is the
/// one route open to it.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_password_someone_else_chose_must_be_changed_before_anything_else(pool: PgPool) {
    let app = app(pool.clone());
    let state = testing::state(pool.clone());
    let admin = testing::user(&state, "first-admin@test.example", &[nexus_shared::auth::Role::Admin]).await;
    sqlx::query("UPDATE users SET must_change_password = true WHERE id = $1")
        .bind(admin.id)
        .execute(&pool)
        .await
        .unwrap();
    for (method, path) in [(Method::GET, "/api/auth/me"), (Method::POST, "/api/auth/logout")] {
        let r = send(&app, request(method, path, Some(&admin.token), None)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(r.body["type"], "/problems/password-change-required", "{path}");
    }
    let change = json!({"current_password": TEST_PASSWORD, "new_password": "my-own-password-now"});
    let r = send(&app, request(Method::POST, "/api/auth/password", Some(&admin.token), Some(change))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let me = send(&app, request(Method::GET, "/api/auth/me", Some(&admin.token), None)).await;
    assert_eq!((me.status, &me.body["email"]), (StatusCode::OK, &json!("first-admin@test.example")));
}

/// Text holding U+0000 (which PostgreSQL text cannot store) is a validation error naming the
/// field, in a body or a query string, before any SQL runs.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn nul_in_text_is_422_naming_the_field(pool: PgPool) {
    let app = app(pool);
    let r = login(&app, "a\u{0}@example.com", "whatever-password").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(r.body["errors"][0]["field"], "email");
    let r = signup(&app, "nul@example.com", "pass\u{0}word-long-enough").await;
    assert_eq!((r.status, r.body["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("password")));
}
