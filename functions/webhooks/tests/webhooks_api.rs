//! Webhook endpoints against real Postgres: admins only; the secret shown once (creation,
//! rotation) and never in a read, a list, the audit log or the database in the clear; the SSRF
//! guard at registration and change; event names checked; PUT's order of checks; re-enabling;
//! pings and replays through the delivery table.

use axum::http::{Method, StatusCode};
use nexus_shared::auth::Role;
use nexus_shared::webhook::secret::WebhookSettings;
use nexus_testkit::{Crew, TestResponse, crew, delete, get, post, put, request, send, state};
use nexus_webhooks::WebhooksState;
use serde_json::{Value, json};
use sqlx::PgPool;

struct World {
    app: axum::Router,
    crew: Crew,
    pool: PgPool,
    settings: WebhookSettings,
}

async fn world_with(pool: PgPool, allow_loopback: bool) -> World {
    let core = state(pool.clone());
    let crew = crew(&core).await;
    let settings = WebhookSettings::for_tests(allow_loopback);
    World { app: nexus_webhooks::router(WebhooksState::new(core, settings.clone())), crew, pool, settings }
}

async fn world(pool: PgPool) -> World {
    world_with(pool, false).await
}

/// A public address written as a literal: no DNS needed, nothing is sent by these tests.
const PUBLIC_URL: &str = "https://93.184.215.14/nexus/hooks";

impl World {
    async fn register(&self, body: Value) -> TestResponse {
        post(&self.app, "/api/webhooks", &self.crew.admin, body).await
    }

    async fn endpoint(&self) -> Value {
        let made = self.register(json!({"url": PUBLIC_URL, "events": ["ticket.created"]})).await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
        made.body
    }

    async fn audit_changes(&self, id: i64) -> Vec<Value> {
        sqlx::query_scalar(
            "SELECT changes FROM audit_logs WHERE entity_type = 'webhook' AND entity_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .unwrap()
    }
}

fn field_errors(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["field"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn the_secret_is_shown_once_and_never_read_listed_audited_or_stored_in_the_clear(pool: PgPool) {
    let w = world(pool).await;
    let made = w
        .register(json!({"url": PUBLIC_URL, "events": ["ticket.created", "ticket.sla_breached"], "description": "ERP"}))
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let secret = made.body["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    let bytes = base64_len(secret.trim_start_matches("whsec_"));
    assert!((24..=32).contains(&bytes), "{bytes} random bytes");
    assert_eq!(made.body["enabled"], true);
    assert_eq!(made.body["events"], json!(["ticket.created", "ticket.sla_breached"]));
    assert_eq!(made.headers["etag"], "\"1\"");
    let id = made.body["id"].as_i64().unwrap();

    let read = get(&w.app, &format!("/api/webhooks/{id}"), &w.crew.admin).await;
    let listed = get(&w.app, "/api/webhooks", &w.crew.admin).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(listed.body["items"][0]["id"], id);
    let rotated = post(&w.app, &format!("/api/webhooks/{id}/rotate-secret"), &w.crew.admin, json!({})).await;
    let new_secret = rotated.body["secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, secret);
    for shown in [&read.body, &listed.body] {
        let text = shown.to_string();
        assert!(!text.contains(&secret) && !text.contains(&new_secret) && !text.contains("secret\""), "{text}");
    }
    let audit = w.audit_changes(id).await;
    assert_eq!(audit.len(), 2, "creation and rotation");
    for changes in &audit {
        let text = changes.to_string();
        assert!(!text.contains(&secret) && !text.contains(&new_secret) && !text.contains("sealed"), "{text}");
    }
    assert!(audit[1]["previous_secret_expires_at"]["new"].is_string(), "the rotation shows, not the secret");
    let (sealed, previous): (Vec<u8>, Vec<u8>) =
        sqlx::query_as("SELECT secret_sealed, previous_secret_sealed FROM webhooks WHERE id = $1")
            .bind(id)
            .fetch_one(&w.pool)
            .await
            .unwrap();
    for stored in [&sealed, &previous] {
        assert!(!String::from_utf8_lossy(stored).contains("whsec_"));
    }
    assert_eq!(w.settings.key.open(&sealed).unwrap().expose(), new_secret);
    assert_eq!(w.settings.key.open(&previous).unwrap().expose(), secret);
}

fn base64_len(b64: &str) -> usize {
    b64.len() / 4 * 3 - b64.chars().rev().take_while(|c| *c == '=').count()
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn only_admins_manage_endpoints(pool: PgPool) {
    let w = world(pool).await;
    let id = w.endpoint().await["id"].as_i64().unwrap();
    for role in [Role::Supervisor, Role::Technician, Role::Viewer] {
        let caller = w.crew.get(role);
        assert_eq!(get(&w.app, "/api/webhooks", caller).await.status, StatusCode::FORBIDDEN, "{role}");
        let made =
            post(&w.app, "/api/webhooks", caller, json!({"url": PUBLIC_URL, "events": ["ticket.created"]})).await;
        assert_eq!(made.status, StatusCode::FORBIDDEN, "{role}");
        let rotated = post(&w.app, &format!("/api/webhooks/{id}/rotate-secret"), caller, json!({})).await;
        assert_eq!(rotated.status, StatusCode::FORBIDDEN, "{role}");
    }
    let anonymous = send(&w.app, request(Method::GET, &format!("/api/webhooks/{id}"), None, None)).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.content_type(), "application/problem+json");
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn the_ssrf_guard_refuses_urls_that_are_not_public_https(pool: PgPool) {
    let w = world(pool.clone()).await;
    let refused = [
        ("http://93.184.215.14/hooks", "must use https://"),
        ("https://127.0.0.1/hooks", "host resolves to a loopback address"),
        ("https://localhost:8443/hooks", "host resolves to a loopback address"),
        ("https://10.0.0.8/hooks", "host resolves to a private address"),
        ("https://192.168.1.20/hooks", "host resolves to a private address"),
        ("https://169.254.169.254/latest/meta-data/", "host resolves to a cloud metadata address"),
        ("https://[fd00:ec2::254]/", "host resolves to a cloud metadata address"),
        ("https://[::ffff:127.0.0.1]/hooks", "host resolves to a loopback address"),
        ("https://100.64.1.1/hooks", "host resolves to a shared (CGNAT) address"),
        ("https://0.0.0.0/hooks", "host resolves to an unspecified address"),
        ("https://admin:pw@93.184.215.14/", "must not carry a user name or password"),
        ("ftp://93.184.215.14/", "must be an absolute https:// URL"),
        ("http://127.0.0.1:9000/hooks", "must use https://"),
    ];
    for (url, message) in refused {
        let r = w.register(json!({"url": url, "events": ["ticket.created"]})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {}", r.body);
        assert_eq!(r.body["errors"][0]["field"], "url", "{url}");
        assert_eq!(r.body["errors"][0]["message"], message, "{url}");
    }
    // A change of URL is checked as a registration is.
    let id = w.endpoint().await["id"].as_i64().unwrap();
    let changed = put(&w.app, &format!("/api/webhooks/{id}"), &w.crew.admin, json!({"url": "https://10.1.1.1/"})).await;
    assert_eq!(changed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_errors(&changed.body), ["url"]);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM webhooks").fetch_one(&w.pool).await.unwrap();
    assert_eq!(count, 1, "nothing refused was stored");

    // Loopback only with the opt-in, and then only loopback.
    let local = world_with(pool, true).await;
    let allowed = local.register(json!({"url": "http://127.0.0.1:9000/hooks", "events": ["ticket.created"]})).await;
    assert_eq!(allowed.status, StatusCode::CREATED, "{}", allowed.body);
    for url in ["http://93.184.215.14/hooks", "https://10.0.0.8/", "https://169.254.169.254/"] {
        let r = local.register(json!({"url": url, "events": ["ticket.created"]})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{url}");
    }
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn event_names_are_the_subscribable_types_each_named_when_wrong(pool: PgPool) {
    let w = world(pool).await;
    let r = w.register(json!({"url": PUBLIC_URL, "events": ["ticket.created", "ticket.deleted", "ping"]})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_errors(&r.body), ["events[1]", "events[2]"]);
    let empty = w.register(json!({"url": PUBLIC_URL, "events": []})).await;
    assert_eq!(field_errors(&empty.body), ["events"]);
    let both = w.register(json!({"url": "https://10.0.0.1/", "events": ["x"], "description": "a\u{7}b"})).await;
    assert_eq!(field_errors(&both.body), ["url", "events[0]", "description"]);
    let missing = w.register(json!({"events": ["ticket.created"]})).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = w.register(json!({"url": PUBLIC_URL, "events": ["ticket.created"], "secret": "whsec_x"})).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY, "a client cannot choose the secret");
    let repeated = w.register(json!({"url": PUBLIC_URL, "events": ["ticket.created", "ticket.created"]})).await;
    assert_eq!(repeated.body["events"], json!(["ticket.created"]));
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn put_checks_the_body_before_the_etag_and_reenabling_forgets_the_failure(pool: PgPool) {
    let w = world(pool).await;
    let id = w.endpoint().await["id"].as_i64().unwrap();
    let uri = format!("/api/webhooks/{id}");
    let with_if_match = |body: Value, etag: &str| {
        let mut r = request(Method::PUT, &uri, Some(&w.crew.admin.token), Some(body));
        r.headers_mut().insert("if-match", etag.parse().unwrap());
        r
    };
    let bad_and_stale = send(&w.app, with_if_match(json!({"events": ["nope"]}), "\"9\"")).await;
    assert_eq!(bad_and_stale.status, StatusCode::UNPROCESSABLE_ENTITY);
    let stale = send(&w.app, with_if_match(json!({"description": "x"}), "\"9\"")).await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    let current = send(&w.app, with_if_match(json!({"description": "Orders ERP"}), "\"1\"")).await;
    assert_eq!(current.status, StatusCode::OK, "{}", current.body);
    assert_eq!((current.body["description"].as_str(), current.body["version"].as_i64()), (Some("Orders ERP"), Some(2)));
    let cleared = put(&w.app, &uri, &w.crew.admin, json!({"description": null})).await;
    assert!(cleared.body["description"].is_null() && cleared.body["url"] == PUBLIC_URL);

    // Disabled by the dispatcher after days of failures; an admin turns it back on.
    sqlx::query(
        "UPDATE webhooks SET enabled = false, disabled_reason = 'failing for 3 days', failing_since = now() - interval '4 days'
         WHERE id = $1",
    )
    .bind(id)
    .execute(&w.pool)
    .await
    .unwrap();
    let ping = post(&w.app, &format!("{uri}/test"), &w.crew.admin, json!({})).await;
    assert_eq!(ping.status, StatusCode::CONFLICT, "nothing is sent to a disabled endpoint");
    let on = put(&w.app, &uri, &w.crew.admin, json!({"enabled": true})).await;
    assert_eq!(on.status, StatusCode::OK);
    assert_eq!(
        (&on.body["enabled"], &on.body["disabled_reason"], &on.body["failing_since"]),
        (&json!(true), &Value::Null, &Value::Null)
    );
    // An admin turning it off says so, and its pending deliveries fail (replayable later).
    let ping = post(&w.app, &format!("{uri}/test"), &w.crew.admin, json!({})).await;
    assert_eq!(ping.status, StatusCode::ACCEPTED);
    let off = put(&w.app, &uri, &w.crew.admin, json!({"enabled": false})).await;
    assert_eq!(off.body["disabled_reason"], "disabled by an admin");
    let delivery = get(&w.app, &format!("{uri}/deliveries"), &w.crew.admin).await;
    assert_eq!(delivery.body["items"][0]["status"], "failed");
    assert_eq!(delivery.body["items"][0]["last_error"], "endpoint disabled");
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_ping_is_a_delivery_that_can_be_listed_and_replayed_with_the_same_webhook_id(pool: PgPool) {
    let w = world(pool).await;
    let id = w.endpoint().await["id"].as_i64().unwrap();
    let ping = post(&w.app, &format!("/api/webhooks/{id}/test"), &w.crew.admin, json!({})).await;
    assert_eq!(ping.status, StatusCode::ACCEPTED, "{}", ping.body);
    assert_eq!(
        (&ping.body["event_type"], &ping.body["status"], &ping.body["attempts"]),
        (&json!("ping"), &json!("pending"), &json!(0))
    );
    let message_id = ping.body["message_id"].as_str().unwrap().to_string();
    assert!(message_id.starts_with("msg_"));
    let payload: Value = sqlx::query_scalar("SELECT payload FROM webhook_events WHERE id = $1")
        .bind(ping.body["event_id"].as_i64())
        .fetch_one(&w.pool)
        .await
        .unwrap();
    assert_eq!((&payload["type"], &payload["data"]), (&json!("ping"), &json!({"webhook_id": id})));

    let delivery = ping.body["id"].as_i64().unwrap();
    let replay_uri = format!("/api/webhooks/{id}/deliveries/{delivery}/replay");
    let still_pending = post(&w.app, &replay_uri, &w.crew.admin, json!({})).await;
    assert_eq!(still_pending.status, StatusCode::CONFLICT);
    sqlx::query(
        "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, attempts = 8, last_status_code = 500
         WHERE id = $1",
    )
    .bind(delivery)
    .execute(&w.pool)
    .await
    .unwrap();
    let replayed = post(&w.app, &replay_uri, &w.crew.admin, json!({})).await;
    assert_eq!(replayed.status, StatusCode::ACCEPTED, "{}", replayed.body);
    assert_eq!((&replayed.body["status"], &replayed.body["attempts"]), (&json!("pending"), &json!(0)));
    assert_eq!(replayed.body["message_id"], message_id.as_str());

    let listed = get(&w.app, &format!("/api/webhooks/{id}/deliveries?status=pending"), &w.crew.admin).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed.body["items"][0]["last_status_code"], 500);
    let other = get(&w.app, "/api/webhooks/999999/deliveries", &w.crew.admin).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let wrong_endpoint =
        post(&w.app, &format!("/api/webhooks/{}/deliveries/{delivery}/replay", id + 1), &w.crew.admin, json!({})).await;
    assert_eq!(wrong_endpoint.status, StatusCode::NOT_FOUND);
    let audit = w.audit_changes(id).await;
    assert!(audit.iter().any(|c| c["ping_delivery_id"]["new"] == delivery));
    assert!(audit.iter().any(|c| c["replayed_delivery_id"]["new"] == delivery));

    let deleted = delete(&w.app, &format!("/api/webhooks/{id}"), &w.crew.admin).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(get(&w.app, &format!("/api/webhooks/{id}"), &w.crew.admin).await.status, StatusCode::NOT_FOUND);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries").fetch_one(&w.pool).await.unwrap();
    assert_eq!(left, 0);
}
