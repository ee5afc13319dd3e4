//! An admin's reset of a user's MFA, and the MFA fields as user administration shows them,
//! against real Postgres; the user enrols through the real auth routes.

use axum::http::{Method, StatusCode};
use nexus_shared::auth::Role;
use nexus_shared::auth::session::{self, SessionKind};
use nexus_testkit::mfa::{self, Enrolled};
use nexus_testkit::{self as testing, TEST_PASSWORD, TestUser, delete, get, request, send};
use serde_json::{Value, json};
use sqlx::PgPool;

struct Fixture {
    users: axum::Router,
    auth: axum::Router,
    admin: TestUser,
    tech: TestUser,
}

async fn setup(pool: &PgPool) -> Fixture {
    let state = testing::state(pool.clone());
    let admin = testing::user(&state, "admin@test.example", &[Role::Admin]).await;
    let tech = testing::user(&state, "tech@test.example", &[Role::Technician]).await;
    let auth = nexus_auth::router(nexus_auth::AuthState::new(state.clone(), testing::passwords()));
    Fixture { users: nexus_users::router(state), auth, admin, tech }
}

async fn login(auth: &axum::Router, email: &str) -> Value {
    let body = json!({"email": email, "password": TEST_PASSWORD});
    send(auth, request(Method::POST, "/api/auth/login", None, Some(body))).await.body
}

/// Every string an enrolment showed: the secret (both forms) and the recovery codes.
fn shown(enrolment: &Value, enrolled: &Enrolled) -> Vec<String> {
    let mut all = vec![enrolment["secret"].as_str().unwrap().to_string(), enrolment["otpauth_uri"].to_string()];
    all.extend(enrolled.recovery_codes.iter().cloned());
    all
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn an_admin_resets_a_users_mfa_audited_and_the_password_alone_signs_in_again(pool: PgPool) {
    let f = setup(&pool).await;
    mfa::enrol(&f.auth, &f.tech.token).await;
    let url = format!("/api/users/{}", f.tech.id);
    let before = get(&f.users, &url, &f.admin).await;
    assert_eq!(before.body["mfa_enabled"], true);
    assert_eq!(login(&f.auth, &f.tech.email).await["mfa_required"], true);

    let r = delete(&f.users, &format!("{url}/mfa"), &f.admin).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    assert_eq!(get(&f.users, &url, &f.admin).await.body["mfa_enabled"], false);
    for table in ["user_mfa", "mfa_recovery_codes", "mfa_challenges"] {
        let left: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table} WHERE user_id = $1")))
                .bind(f.tech.id)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(left, 0, "{table}");
    }
    let (actor, changes): (Option<i64>, Value) = sqlx::query_as(
        "SELECT actor_id, changes FROM audit_logs WHERE entity_type = 'user' AND entity_id = $1 AND actor_id = $2",
    )
    .bind(f.tech.id)
    .bind(f.admin.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((actor, changes), (Some(f.admin.id), json!({"mfa_enabled": {"old": true, "new": false}})));
    assert!(login(&f.auth, &f.tech.email).await["access_token"].is_string(), "the password alone again");
    // The reset user may enrol afresh.
    mfa::enrol(&f.auth, &f.tech.token).await;
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn resetting_is_for_admins_and_an_unknown_user_is_404(pool: PgPool) {
    let f = setup(&pool).await;
    let r = delete(&f.users, "/api/users/999999/mfa", &f.admin).await;
    assert_eq!((r.status, r.content_type()), (StatusCode::NOT_FOUND, "application/problem+json"));
    let own = format!("/api/users/{}/mfa", f.tech.id);
    assert_eq!(delete(&f.users, &own, &f.tech).await.status, StatusCode::FORBIDDEN);
    let anonymous = send(&f.users, request(Method::DELETE, &own, None, None)).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    // Nothing enrolled: still 204.
    assert_eq!(delete(&f.users, &own, &f.admin).await.status, StatusCode::NO_CONTENT);
}

/// Neither the secret nor a recovery code is in a user's list or get answer, nor in any audit row.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn the_secret_never_shows_in_user_answers_or_audit_rows(pool: PgPool) {
    let f = setup(&pool).await;
    let (enrolment, enrolled) = mfa::enrol(&f.auth, &f.tech.token).await;
    delete(&f.users, &format!("/api/users/{}/mfa", f.tech.id), &f.admin).await;
    let list = get(&f.users, "/api/users", &f.admin).await;
    let one = get(&f.users, &format!("/api/users/{}", f.tech.id), &f.admin).await;
    let audit: Vec<Value> = sqlx::query_scalar("SELECT to_jsonb(a) FROM audit_logs a").fetch_all(&pool).await.unwrap();
    assert!(audit.len() >= 2, "the confirmation and the reset are audited");
    let seen = format!("{} {} {}", list.body, one.body, serde_json::to_string(&audit).unwrap());
    for secret in shown(&enrolment, &enrolled) {
        assert!(!seen.contains(&secret), "{secret} shown");
    }
    let fields: Vec<&String> = one.body.as_object().unwrap().keys().collect();
    assert!(fields.iter().all(|k| !k.contains("secret") && !k.contains("recovery")), "{fields:?}");
}

/// A session that may only enrol (its role requires MFA, shared::auth::extractor) is refused by
/// every other route with its own problem type.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn an_enrolment_only_session_is_403_mfa_enrollment_required(pool: PgPool) {
    let f = setup(&pool).await;
    let state = testing::state(pool.clone());
    let mut conn = pool.acquire().await.unwrap();
    let expires = chrono::Utc::now() + chrono::Duration::hours(1);
    let refresh = session::open_as(&mut conn, f.admin.id, expires, SessionKind::MfaEnrolmentOnly).await.unwrap();
    let token = state.tokens.issue_access(f.admin.id, refresh.session_id).await.unwrap();
    for (method, path) in
        [(Method::GET, "/api/users".to_string()), (Method::DELETE, format!("/api/users/{}/mfa", f.tech.id))]
    {
        let r = send(&f.users, request(method, &path, Some(&token), None)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(r.body["type"], "/problems/mfa-enrollment-required", "{path}");
    }
    // What it may do: enrol, and say who it is.
    let me = send(&f.auth, request(Method::GET, "/api/auth/me", Some(&token), None)).await;
    assert_eq!(me.status, StatusCode::OK);
    let enrol = send(&f.auth, request(Method::POST, "/api/auth/mfa/enroll", Some(&token), None)).await;
    assert_eq!(enrol.status, StatusCode::OK);
    // The admin's full session is not affected.
    assert_eq!(get(&f.users, "/api/users", &f.admin).await.status, StatusCode::OK);
}
