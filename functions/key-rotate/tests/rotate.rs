//! The rotation's four steps against the Secrets Manager `scripts/test` starts (moto, whose
//! `RotateSecret` needs a Lambda runtime, so the steps are called as the schedule would), and
//! functions reading the keys while it runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{Method, StatusCode};
use axum::routing::get;
use chrono::{DateTime, Utc};
use nexus_key_rotate::{Outcome, RotateSettings, RotationEvent, Step, StepReport};
use nexus_shared::AppState;
use nexus_shared::auth::Auth;
use nexus_shared::auth::key_set::KeySet;
use nexus_shared::config::{HttpSettings, JwtSettings};
use nexus_testkit::state::TEST_SIGNING_KEY;
use nexus_testkit::{request, send};
use sqlx::PgPool;

/// A function instance reading the keys from `secret_id` every `refresh`, starting from the
/// test key (the secret's first value).
fn instance(pool: &PgPool, secret_id: &str, refresh: Duration) -> AppState {
    let jwt = JwtSettings { secret_id: Some(secret_id.to_string()), key_refresh: refresh, ..nexus_testkit::jwt() };
    AppState::new(pool.clone(), &jwt, HttpSettings::default())
}

/// One authenticated route: the caller's id, or the extractor's problem.
fn whoami(state: AppState) -> Router {
    Router::new().route("/whoami", get(|auth: Auth| async move { auth.id.to_string() })).with_state(state)
}

async fn status(app: &Router, token: &str) -> StatusCode {
    send(app, request(Method::GET, "/whoami", Some(token), None)).await.status
}

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.expect("a kid")
}

async fn run(
    client: &aws_sdk_secretsmanager::Client,
    settings: &RotateSettings,
    secret_id: &str,
    token: &str,
    step: Step,
    now: DateTime<Utc>,
) -> StepReport {
    let event = RotationEvent { secret_id: secret_id.into(), client_request_token: token.into(), step };
    nexus_key_rotate::step(client, settings, &event, now).await.unwrap_or_else(|e| panic!("{step:?}: {e}"))
}

/// The four steps in order, as one rotation; the new version's id.
async fn rotate(
    client: &aws_sdk_secretsmanager::Client,
    settings: &RotateSettings,
    secret_id: &str,
    now: DateTime<Utc>,
) -> String {
    let token = uuid::Uuid::new_v4().to_string();
    for step in [Step::CreateSecret, Step::SetSecret, Step::TestSecret, Step::FinishSecret] {
        run(client, settings, secret_id, &token, step, now).await;
    }
    token
}

async fn current_keys(client: &aws_sdk_secretsmanager::Client, secret_id: &str) -> (KeySet, String) {
    let current = client.get_secret_value().secret_id(secret_id).version_stage("AWSCURRENT").send().await.unwrap();
    (KeySet::parse(current.secret_string().unwrap()).unwrap(), current.version_id().unwrap().to_string())
}

const SETTINGS: RotateSettings =
    RotateSettings { access_ttl: Duration::from_secs(900), key_refresh: Duration::from_secs(300) };

/// From the legacy plain secret: a token signed before the rotation still works after it, each
/// step repeated with the same token changes nothing, and a month later the next rotation
/// retires the legacy key, whose tokens are then 401.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn tokens_outlive_one_rotation_and_die_with_their_retired_key(pool: PgPool) {
    let client = nexus_testkit::fetch::secrets_client().await;
    let secret_id = nexus_testkit::fetch::secret(TEST_SIGNING_KEY).await;
    let state = instance(&pool, &secret_id, Duration::from_secs(300));
    let app = whoami(state.clone());
    let before = nexus_testkit::user(&state, "before@test.example", &[nexus_shared::auth::Role::Viewer]).await;
    assert_eq!(kid(&before.token), "0", "a plain secret is the legacy key");

    let now = Utc::now();
    let token = uuid::Uuid::new_v4().to_string();
    let created = run(&client, &SETTINGS, &secret_id, &token, Step::CreateSecret, now).await;
    assert_eq!((created.outcome, created.keys, created.retired), (Outcome::Created, Some(2), Some(0)));
    let pending = client.get_secret_value().secret_id(&secret_id).version_stage("AWSPENDING").send().await.unwrap();
    let pending_value = pending.secret_string().unwrap().to_string();
    // Again with the same token (Secrets Manager retries): nothing new.
    let again = run(&client, &SETTINGS, &secret_id, &token, Step::CreateSecret, now).await;
    assert_eq!((again.outcome, again.keys), (Outcome::AlreadyCreated, Some(2)));
    let pending = client.get_secret_value().secret_id(&secret_id).version_id(&token).send().await.unwrap();
    assert_eq!(pending.secret_string(), Some(pending_value.as_str()));
    assert_eq!(current_keys(&client, &secret_id).await.0.kids().collect::<Vec<_>>(), ["0"], "not current yet");
    for step in [Step::SetSecret, Step::TestSecret, Step::FinishSecret] {
        run(&client, &SETTINGS, &secret_id, &token, step, now).await;
    }
    let (keys, version) = current_keys(&client, &secret_id).await;
    assert_eq!(version, token);
    let new_kid = keys.kids().find(|k| *k != "0").unwrap().to_string();
    assert!(keys.get(&new_kid).unwrap().not_before >= now + chrono::Duration::minutes(10), "published first");
    let finished = run(&client, &SETTINGS, &secret_id, &token, Step::FinishSecret, now).await;
    assert_eq!(finished.outcome, Outcome::AlreadyCurrent);

    state.tokens.reload().await.unwrap();
    assert_eq!(status(&app, &before.token).await, StatusCode::OK, "the previous key still verifies");
    // The new key does not sign before its time: every instance must have read it first.
    assert_eq!(kid(&state.tokens.issue_access(before.id, 1).await.unwrap()), "0");

    // A month later: the legacy key goes, the new key (signing for a month) stays.
    let month = now + chrono::Duration::days(30);
    let token = uuid::Uuid::new_v4().to_string();
    let retiring = run(&client, &SETTINGS, &secret_id, &token, Step::CreateSecret, month).await;
    assert_eq!((retiring.keys, retiring.retired), (Some(2), Some(1)));
    for step in [Step::SetSecret, Step::TestSecret, Step::FinishSecret] {
        run(&client, &SETTINGS, &secret_id, &token, step, month).await;
    }
    let (keys, _) = current_keys(&client, &secret_id).await;
    assert!(keys.get("0").is_none() && keys.get(&new_kid).is_some(), "{:?}", keys.kids().collect::<Vec<_>>());
    state.tokens.reload().await.unwrap();
    let r = send(&app, request(Method::GET, "/whoami", Some(&before.token), None)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a token of a retired key");
    assert_eq!(r.content_type(), "application/problem+json");
}

/// The steps refuse what no rotation would send, and say why.
#[sqlx::test(migrations = false)]
async fn a_step_out_of_order_is_refused(_pool: PgPool) {
    let client = nexus_testkit::fetch::secrets_client().await;
    let secret_id = nexus_testkit::fetch::secret(TEST_SIGNING_KEY).await;
    let event =
        |step| RotationEvent { secret_id: secret_id.clone(), client_request_token: "never-created".into(), step };
    let error = nexus_key_rotate::step(&client, &SETTINGS, &event(Step::FinishSecret), Utc::now()).await.unwrap_err();
    assert!(error.to_string().contains("does not exist"), "{error}");
    let missing = RotationEvent { secret_id: "nexus-test/none".into(), ..event(Step::CreateSecret) };
    let error = nexus_key_rotate::step(&client, &SETTINGS, &missing, Utc::now()).await.unwrap_err();
    assert!(error.to_string().contains("nexus-test/none"), "{error}");
    assert!(!error.to_string().contains(TEST_SIGNING_KEY));
}

/// Two instances (one signing in, one serving) reading the keys every second while requests
/// flow: the rotation happens, the new key takes over signing, and no request is refused.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_rotation_while_requests_flow_loses_none(pool: PgPool) {
    let client = nexus_testkit::fetch::secrets_client().await;
    let secret_id = nexus_testkit::fetch::secret(TEST_SIGNING_KEY).await;
    let refresh = Duration::from_secs(1);
    let settings = RotateSettings { access_ttl: Duration::from_secs(900), key_refresh: refresh };
    let (signer, server) = (instance(&pool, &secret_id, refresh), instance(&pool, &secret_id, refresh));
    let app = whoami(server);
    let first = nexus_testkit::user(&signer, "flow@test.example", &[nexus_shared::auth::Role::Viewer]).await;
    let session = signer.tokens.verify_access(&first.token).await.unwrap().sid;

    let (sent, refused) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let until = tokio::time::Instant::now() + Duration::from_millis(4500);
    let mut clients = Vec::new();
    for _ in 0..3 {
        let (signer, app, first) = (signer.clone(), app.clone(), first.clone());
        let (sent, refused) = (sent.clone(), refused.clone());
        clients.push(tokio::spawn(async move {
            let mut kids = Vec::new();
            while tokio::time::Instant::now() < until {
                // A fresh sign-in's token, and the one from before the rotation.
                let fresh = signer.tokens.issue_access(first.id, session).await.unwrap();
                kids.push(kid(&fresh));
                for token in [&fresh, &first.token] {
                    sent.fetch_add(1, Ordering::Relaxed);
                    if status(&app, token).await != StatusCode::OK {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            kids
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    rotate(&client, &settings, &secret_id, Utc::now()).await;
    let (keys, _) = current_keys(&client, &secret_id).await;
    let new_kid = keys.kids().find(|k| *k != "0").unwrap().to_string();

    let mut kids = Vec::new();
    for c in clients {
        kids.extend(c.await.unwrap());
    }
    let (sent, refused) = (sent.load(Ordering::Relaxed), refused.load(Ordering::Relaxed));
    assert!(sent > 100, "only {sent} requests");
    assert_eq!(refused, 0, "{refused} of {sent} requests refused");
    assert_eq!(kids.first().map(String::as_str), Some("0"));
    assert_eq!(kids.last(), Some(&new_kid), "the new key signs by the end");
}
