//! MFA (TOTP) as HTTP exchanges against real Postgres: enrolment, confirmation, the login's
//! second step, replays, recovery codes, the throttle, and the roles that must enrol. Codes are
//! computed here from the secret the enrolment answered, as an authenticator app would.

use axum::http::{Method, StatusCode};
use nexus_auth::AuthState;
use nexus_shared::auth::Role;
use nexus_shared::config::MfaSettings;
use nexus_testkit::mfa::{self, Enrolled};
use nexus_testkit::{self as testing, TEST_PASSWORD, TestResponse, request, send};
use serde_json::{Value, json};
use sqlx::PgPool;

fn app_with(pool: PgPool, required_roles: &[Role]) -> axum::Router {
    let mfa = MfaSettings { required_roles: required_roles.to_vec(), ..MfaSettings::for_tests() };
    nexus_auth::router(AuthState::new(testing::state(pool), testing::passwords()).with_mfa(mfa))
}

fn app(pool: PgPool) -> axum::Router {
    app_with(pool, &[])
}

async fn login(app: &axum::Router, email: &str) -> TestResponse {
    let body = json!({"email": email, "password": TEST_PASSWORD});
    send(app, request(Method::POST, "/api/auth/login", None, Some(body))).await
}

async fn verify(app: &axum::Router, mfa_token: &Value, code: &str) -> TestResponse {
    let body = json!({"mfa_token": mfa_token, "code": code});
    send(app, request(Method::POST, "/api/auth/mfa/verify", None, Some(body))).await
}

async fn call(app: &axum::Router, method: Method, path: &str, token: &Value) -> TestResponse {
    send(app, request(method, path, token.as_str(), None)).await
}

/// A viewer signed in with a full session, enrolled and confirmed.
async fn enrolled(app: &axum::Router, pool: &PgPool, email: &str) -> (testing::TestUser, Value, Enrolled) {
    let user = testing::user(&testing::state(pool.clone()), email, &[Role::Viewer]).await;
    let (enrolment, authenticator) = mfa::enrol(app, &user.token).await;
    (user, enrolment, authenticator)
}

/// Everything the audit log holds, as text.
async fn audit_text(pool: &PgPool) -> String {
    let rows: Vec<Value> = sqlx::query_scalar("SELECT to_jsonb(a) FROM audit_logs a").fetch_all(pool).await.unwrap();
    serde_json::to_string(&rows).unwrap()
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn enrol_confirm_then_login_asks_for_a_code_and_verify_gives_the_tokens(pool: PgPool) {
    let app = app(pool.clone());
    let user = testing::user(&testing::state(pool.clone()), "dewi@test.example", &[Role::Viewer]).await;
    let other_session = login(&app, &user.email).await.body;

    let enrolment = call(&app, Method::POST, "/api/auth/mfa/enroll", &json!(user.token)).await;
    assert_eq!(enrolment.status, StatusCode::OK, "{:?}", enrolment.body);
    let secret = enrolment.body["secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 32, "20 bytes in base32");
    assert!(secret.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)));
    assert_eq!(
        enrolment.body["otpauth_uri"],
        format!(
            "otpauth://totp/Nexus:dewi@test.example?secret={secret}&issuer=Nexus&algorithm=SHA1&digits=6&period=30"
        )
    );
    // Not confirmed yet: the login still answers tokens.
    assert!(login(&app, &user.email).await.body["access_token"].is_string());
    // Enrolling again before confirming replaces the pending secret.
    let again = call(&app, Method::POST, "/api/auth/mfa/enroll", &json!(user.token)).await;
    assert_ne!(again.body["secret"].as_str(), Some(secret.as_str()));
    let authenticator = mfa::secret_from_base32(again.body["secret"].as_str().unwrap());
    let stale = json!({"code": mfa::code(&mfa::secret_from_base32(&secret), 0)});
    let refused = send(&app, request(Method::POST, "/api/auth/mfa/confirm", Some(&user.token), Some(stale))).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "the replaced secret's code: {:?}", refused.body);
    assert_eq!(refused.body["errors"][0]["field"], "code");

    let code = json!({"code": mfa::code(&authenticator, 0)});
    let confirmed = send(&app, request(Method::POST, "/api/auth/mfa/confirm", Some(&user.token), Some(code))).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{:?}", confirmed.body);
    let codes: Vec<&str> =
        confirmed.body["recovery_codes"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(codes.len(), 10);
    assert!(codes.iter().all(|c| c.len() == 19 && c.matches('-').count() == 3), "{codes:?}");
    assert_eq!(codes.iter().collect::<std::collections::BTreeSet<_>>().len(), 10, "all different");

    // The session that confirmed goes on; the one opened without a code ended.
    let me = call(&app, Method::GET, "/api/auth/me", &json!(user.token)).await;
    assert_eq!((me.status, &me.body["mfa_enabled"]), (StatusCode::OK, &json!(true)));
    let ended = call(&app, Method::GET, "/api/auth/me", &other_session["access_token"]).await;
    assert_eq!(ended.status, StatusCode::UNAUTHORIZED);
    // Confirmed: enrolling again is a conflict.
    let conflict = call(&app, Method::POST, "/api/auth/mfa/enroll", &json!(user.token)).await;
    assert_eq!((conflict.status, conflict.content_type()), (StatusCode::CONFLICT, "application/problem+json"));

    let challenge = login(&app, &user.email).await;
    assert_eq!(challenge.status, StatusCode::OK);
    assert_eq!(challenge.body["mfa_required"], true);
    assert_eq!(challenge.body["expires_in"], 300);
    assert!(challenge.body.get("access_token").is_none() && challenge.body.get("refresh_token").is_none());
    let signed_in = verify(&app, &challenge.body["mfa_token"], &mfa::code(&authenticator, 1)).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{:?}", signed_in.body);
    assert_eq!(signed_in.body["token_type"], "Bearer");
    assert_eq!(call(&app, Method::GET, "/api/auth/me", &signed_in.body["access_token"]).await.status, StatusCode::OK);
    let refreshed = send(
        &app,
        request(
            Method::POST,
            "/api/auth/refresh",
            None,
            Some(json!({"refresh_token": signed_in.body["refresh_token"]})),
        ),
    )
    .await;
    assert_eq!(refreshed.status, StatusCode::OK);

    // The secret is stored sealed, and neither it nor a recovery code reaches the audit log.
    let stored: Vec<u8> = sqlx::query_scalar("SELECT secret_sealed FROM user_mfa WHERE user_id = $1")
        .bind(user.id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!stored.windows(20).any(|w| w == authenticator.bytes()));
    let audit = audit_text(&pool).await;
    assert!(audit.contains("mfa_enabled"), "the confirmation is audited: {audit}");
    let secret_text = mfa::secret_from_base32(&secret).base32();
    for shown in codes.iter().copied().chain([secret_text.as_str(), again.body["secret"].as_str().unwrap()]) {
        assert!(!audit.contains(shown), "{shown} in the audit log");
        assert!(!me.body.to_string().contains(shown));
    }
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_totp_code_is_accepted_once(pool: PgPool) {
    let app = app(pool.clone());
    let (user, _, authenticator) = enrolled(&app, &pool, "eko@test.example").await;
    let code = authenticator.next_code();
    let first = login(&app, &user.email).await.body;
    assert_eq!(verify(&app, &first["mfa_token"], &code).await.status, StatusCode::OK);
    let second = login(&app, &user.email).await.body;
    let replay = verify(&app, &second["mfa_token"], &code).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED, "the same code again: {:?}", replay.body);
    assert_eq!(replay.body["type"], "/problems/unauthorized");
    // Codes of the steps before, though inside the window, are older than the one accepted (the
    // current step's was spent by the confirmation).
    for offset in [0, -1] {
        let earlier = verify(&app, &second["mfa_token"], &mfa::code(&authenticator.secret, offset)).await;
        assert_eq!(earlier.status, StatusCode::UNAUTHORIZED, "step {offset}");
    }
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_recovery_code_works_once_whatever_its_case_and_dashes(pool: PgPool) {
    let app = app(pool.clone());
    let (user, _, authenticator) = enrolled(&app, &pool, "fitri@test.example").await;
    let code = &authenticator.recovery_codes[3];
    let typed = code.replace('-', " ").to_lowercase();
    let first = login(&app, &user.email).await.body;
    let r = verify(&app, &first["mfa_token"], &typed).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let second = login(&app, &user.email).await.body;
    assert_eq!(verify(&app, &second["mfa_token"], code).await.status, StatusCode::UNAUTHORIZED, "spent");
    assert_eq!(verify(&app, &second["mfa_token"], &authenticator.recovery_codes[4]).await.status, StatusCode::OK);
    let used: i64 =
        sqlx::query_scalar("SELECT count(*) FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NOT NULL")
            .bind(user.id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(used, 2);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_wrong_code_is_401_and_counts_toward_the_login_throttle(pool: PgPool) {
    let app = app(pool.clone());
    let (user, _, authenticator) = enrolled(&app, &pool, "gilang@test.example").await;
    let challenge = login(&app, &user.email).await.body;
    let right = authenticator.next_code();
    let wrong = if right == "000000" { "111111" } else { "000000" };
    for attempt in 0..5 {
        let r = verify(&app, &challenge["mfa_token"], wrong).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {attempt}: {:?}", r.body);
        assert_eq!(r.content_type(), "application/problem+json");
    }
    let failures: i64 = sqlx::query_scalar("SELECT count(*) FROM login_failures WHERE email = $1")
        .bind(&user.email)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(failures, 5);
    // Locked out: the right code, and the password step, both wait.
    let locked = verify(&app, &challenge["mfa_token"], &right).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", locked.body);
    assert!(locked.headers.contains_key("retry-after"));
    assert_eq!(login(&app, &user.email).await.status, StatusCode::TOO_MANY_REQUESTS);
    // Once the failures age out, the same token and the right code sign in.
    sqlx::query("UPDATE login_failures SET failed_at = failed_at - interval '16 minutes'")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(verify(&app, &challenge["mfa_token"], &right).await.status, StatusCode::OK);
}

/// With the password alone, signing in again must not wipe the count of wrong codes.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn the_password_step_does_not_reset_the_count_of_wrong_codes(pool: PgPool) {
    let app = app(pool.clone());
    let (user, _, authenticator) = enrolled(&app, &pool, "hadi@test.example").await;
    let wrong = if authenticator.next_code() == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let challenge = login(&app, &user.email).await;
        assert_eq!(challenge.status, StatusCode::OK);
        assert_eq!(verify(&app, &challenge.body["mfa_token"], wrong).await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(login(&app, &user.email).await.status, StatusCode::TOO_MANY_REQUESTS);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn an_expired_used_or_unknown_mfa_token_is_refused(pool: PgPool) {
    let app = app(pool.clone());
    let (user, _, authenticator) = enrolled(&app, &pool, "indah@test.example").await;
    let used = login(&app, &user.email).await.body;
    assert_eq!(verify(&app, &used["mfa_token"], &authenticator.recovery_codes[0]).await.status, StatusCode::OK);
    let r = verify(&app, &used["mfa_token"], &authenticator.recovery_codes[1]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "used: {:?}", r.body);

    let expired = login(&app, &user.email).await.body;
    sqlx::query("UPDATE mfa_challenges SET expires_at = now() - interval '1 second' WHERE used_at IS NULL")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        verify(&app, &expired["mfa_token"], &authenticator.recovery_codes[1]).await.status,
        StatusCode::UNAUTHORIZED
    );
    for token in [json!("not-a-token"), json!("A".repeat(43)), json!("x".repeat(101))] {
        assert_eq!(verify(&app, &token, &authenticator.next_code()).await.status, StatusCode::UNAUTHORIZED);
    }
    // None of them spent a recovery code.
    let unused: i64 =
        sqlx::query_scalar("SELECT count(*) FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL")
            .bind(user.id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(unused, 9);
}

/// A role that requires MFA (admin here) without it signs in to a session that may only enrol:
/// "who am I", refresh, enrolment and logout work; confirming ends the session, and the next
/// login asks for a code. Other roles are not affected.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_role_that_requires_mfa_gets_a_session_that_may_only_enrol(pool: PgPool) {
    let app = app_with(pool.clone(), &[Role::Admin]);
    let state = testing::state(pool.clone());
    let admin = testing::user(&state, "admin@test.example", &[Role::Admin]).await;
    let viewer = testing::user(&state, "viewer@test.example", &[Role::Viewer]).await;
    let viewer_login = login(&app, &viewer.email).await.body;
    let only_enrol: bool = sqlx::query_scalar("SELECT mfa_enrolment_only FROM sessions ORDER BY id DESC LIMIT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!only_enrol && viewer_login["access_token"].is_string(), "a viewer is not asked");

    let tokens = login(&app, &admin.email).await.body;
    assert!(tokens["access_token"].is_string());
    let me = call(&app, Method::GET, "/api/auth/me", &tokens["access_token"]).await;
    assert_eq!((me.status, &me.body["mfa_enabled"]), (StatusCode::OK, &json!(false)));
    let refresh = json!({"refresh_token": tokens["refresh_token"]});
    let refreshed = send(&app, request(Method::POST, "/api/auth/refresh", None, Some(refresh))).await;
    assert_eq!(refreshed.status, StatusCode::OK);
    let token = refreshed.body["access_token"].as_str().unwrap();
    let sealed: bool = sqlx::query_scalar("SELECT mfa_enrolment_only FROM sessions ORDER BY id DESC LIMIT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(sealed, "the session stays enrolment-only across refreshes");

    let (_, authenticator) = mfa::enrol(&app, token).await;
    let after = call(&app, Method::GET, "/api/auth/me", &json!(token)).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED, "confirming ended the enrolment-only session");
    let challenge = login(&app, &admin.email).await.body;
    assert_eq!(challenge["mfa_required"], true);
    let signed_in = verify(&app, &challenge["mfa_token"], &authenticator.next_code()).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{:?}", signed_in.body);
    let full: bool = sqlx::query_scalar("SELECT mfa_enrolment_only FROM sessions ORDER BY id DESC LIMIT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!full);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn confirming_needs_a_pending_enrolment_and_the_current_code(pool: PgPool) {
    let app = app(pool.clone());
    let user = testing::user(&testing::state(pool.clone()), "joko@test.example", &[Role::Technician]).await;
    let confirm =
        |code: &str| request(Method::POST, "/api/auth/mfa/confirm", Some(&user.token), Some(json!({"code": code})));
    assert_eq!(send(&app, confirm("123456")).await.status, StatusCode::CONFLICT, "nothing to confirm");
    let enrolment = call(&app, Method::POST, "/api/auth/mfa/enroll", &json!(user.token)).await;
    let secret = mfa::secret_from_base32(enrolment.body["secret"].as_str().unwrap());
    for wrong in [mfa::code(&secret, -3), mfa::code(&secret, 3), "12345".into(), "abcdef".into()] {
        let r = send(&app, confirm(&wrong)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{wrong}: {:?}", r.body);
    }
    assert_eq!(send(&app, confirm(&mfa::code(&secret, 0))).await.status, StatusCode::OK);
    assert_eq!(send(&app, confirm(&mfa::code(&secret, 1))).await.status, StatusCode::CONFLICT, "already confirmed");
    let anonymous = send(&app, request(Method::POST, "/api/auth/mfa/enroll", None, None)).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

/// Deployed functions keep one connection per instance (NEXUS_DB_MAX_CONNECTIONS=1): the second
/// step must never wait on a second one (it would time out, 503), right code or wrong.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn the_second_step_holds_one_connection_at_a_time(pool: PgPool) {
    let single = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(std::time::Duration::from_secs(2))
        .connect_with(pool.connect_options().as_ref().clone())
        .await
        .unwrap();
    let app = app(single);
    let (user, _, authenticator) = enrolled(&app, &pool, "kartika@test.example").await;
    let challenge = login(&app, &user.email).await;
    assert_eq!(challenge.status, StatusCode::OK, "{:?}", challenge.body);
    let wrong = if authenticator.next_code() == "000000" { "111111" } else { "000000" };
    let refused = verify(&app, &challenge.body["mfa_token"], wrong).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{:?}", refused.body);
    let signed_in = verify(&app, &challenge.body["mfa_token"], &authenticator.next_code()).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{:?}", signed_in.body);
}
