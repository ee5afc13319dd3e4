//! The dispatcher against real Postgres and a loopback receiver (axum): what it sends is
//! verified by the reference `standardwebhooks` package (Python, an independent implementation);
//! failures follow the retry schedule, then fail; an endpoint failing for 3 days is disabled with
//! an audit row; a dispatcher killed mid-send leaves the delivery to be sent again with the same
//! `webhook-id`; concurrent dispatchers never send one delivery twice at once; rotations sign
//! twice for a day; replays keep the `webhook-id`; the SSRF guard is checked again at delivery.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use nexus_shared::webhook::secret::WebhookSettings;
use nexus_testkit::{Crew, crew, get, post, put, state};
use nexus_webhook_dispatch::{DispatchReport, Dispatcher, LEASE, SCHEDULE};
use nexus_webhooks::WebhooksState;
use serde_json::{Value, json};
use sqlx::PgPool;

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Received {
    headers: HashMap<String, String>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or_default()
    }
}

/// What the receiver answers and what it saw.
#[derive(Default)]
struct Inbox {
    received: Mutex<Vec<Received>>,
    /// The status it answers (0: 200).
    status: AtomicU16,
    /// Never answer (a receiver that hangs).
    hang: AtomicBool,
    delay_ms: AtomicU64,
    /// Requests being answered, per `webhook-id`, and how often one arrived while another of
    /// the same id was still being answered.
    in_flight: Mutex<HashMap<String, usize>>,
    overlaps: AtomicUsize,
    arrived: tokio::sync::Notify,
}

async fn receive(State(inbox): State<Arc<Inbox>>, headers: HeaderMap, body: String) -> StatusCode {
    let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    {
        let mut in_flight = inbox.in_flight.lock().unwrap();
        let n = in_flight.entry(id.clone()).or_default();
        *n += 1;
        if *n > 1 {
            inbox.overlaps.fetch_add(1, Ordering::SeqCst);
        }
    }
    let headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string())).collect();
    inbox.received.lock().unwrap().push(Received { headers, body });
    inbox.arrived.notify_one();
    if inbox.hang.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    let delay = inbox.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    *inbox.in_flight.lock().unwrap().get_mut(&id).unwrap() -= 1;
    match inbox.status.load(Ordering::SeqCst) {
        0 => StatusCode::OK,
        status => StatusCode::from_u16(status).unwrap(),
    }
}

/// A receiver on a loopback port.
async fn receiver() -> (SocketAddr, Arc<Inbox>) {
    let inbox = Arc::new(Inbox::default());
    let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(inbox.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, inbox)
}

struct World {
    pool: PgPool,
    crew: Crew,
    app: axum::Router,
    settings: WebhookSettings,
    addr: SocketAddr,
    inbox: Arc<Inbox>,
}

/// A delivery's row.
#[derive(Debug, sqlx::FromRow)]
struct Row {
    status: String,
    attempts: i32,
    message_id: String,
    next_attempt_at: Option<DateTime<Utc>>,
    last_status_code: Option<i32>,
    last_error: Option<String>,
    last_attempt_at: Option<DateTime<Utc>>,
}

async fn world(pool: PgPool) -> World {
    let core = state(pool.clone());
    let crew = crew(&core).await;
    // Loopback receivers allowed, as `NEXUS_WEBHOOK_ALLOW_LOOPBACK=true` allows them.
    let settings = WebhookSettings::for_tests(true);
    let app = nexus_webhooks::router(WebhooksState::new(core, settings.clone()));
    let (addr, inbox) = receiver().await;
    World { pool, crew, app, settings, addr, inbox }
}

const BUDGET: Duration = Duration::from_secs(60);

impl World {
    /// An endpoint at the receiver: its id and its secret.
    async fn endpoint(&self) -> (i64, String) {
        let url = format!("http://{}/hook", self.addr);
        let made =
            post(&self.app, "/api/webhooks", &self.crew.admin, json!({"url": url, "events": ["ticket.created"]})).await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
        (made.body["id"].as_i64().unwrap(), made.body["secret"].as_str().unwrap().to_string())
    }

    /// A ping to `webhook` through `POST /test`: its delivery id.
    async fn ping(&self, webhook: i64) -> i64 {
        let ping = post(&self.app, &format!("/api/webhooks/{webhook}/test"), &self.crew.admin, json!({})).await;
        assert_eq!(ping.status, StatusCode::ACCEPTED, "{}", ping.body);
        ping.body["id"].as_i64().unwrap()
    }

    fn dispatcher(&self) -> Dispatcher {
        Dispatcher::new(self.pool.clone(), self.settings.clone())
    }

    async fn run(&self, now: DateTime<Utc>) -> DispatchReport {
        self.dispatcher().run(now, BUDGET).await.unwrap()
    }

    async fn row(&self, delivery: i64) -> Row {
        sqlx::query_as(
            "SELECT status, attempts, message_id, next_attempt_at, last_status_code, last_error, last_attempt_at
             FROM webhook_deliveries WHERE id = $1",
        )
        .bind(delivery)
        .fetch_one(&self.pool)
        .await
        .unwrap()
    }

    fn received(&self) -> Vec<Received> {
        self.inbox.received.lock().unwrap().clone()
    }

    async fn payload(&self, delivery: i64) -> Value {
        sqlx::query_scalar(
            "SELECT e.payload FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id WHERE d.id = $1",
        )
        .bind(delivery)
        .fetch_one(&self.pool)
        .await
        .unwrap()
    }
}

/// Whether the reference implementation (`standardwebhooks` on PyPI) verifies `request` with
/// `secret`; run through `tests/verify_standard_webhooks.py`.
fn verifies(secret: &str, request: &Received) -> bool {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/verify_standard_webhooks.py");
    let mut child =
        std::process::Command::new("python3").arg(script).stdin(std::process::Stdio::piped()).spawn().expect("python3");
    let input = json!({"secret": secret, "headers": request.headers, "body": request.body});
    child.stdin.take().unwrap().write_all(input.to_string().as_bytes()).unwrap();
    match child.wait().unwrap().code() {
        Some(0) => true,
        Some(1) => false,
        other => panic!(
            "the standardwebhooks verifier could not run ({other:?}): scripts/test installs it \
             (python3 -m pip install standardwebhooks)"
        ),
    }
}

fn close(a: DateTime<Utc>, b: DateTime<Utc>) -> bool {
    (a - b).num_milliseconds().abs() < 3_000
}

fn after(wait: Duration) -> chrono::Duration {
    chrono::Duration::from_std(wait).unwrap()
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_ping_is_sent_signed_and_the_reference_library_verifies_it(pool: PgPool) {
    let w = world(pool).await;
    let (webhook, secret) = w.endpoint().await;
    let delivery = w.ping(webhook).await;
    let report = w.run(Utc::now()).await;
    assert_eq!(report, DispatchReport { attempted: 1, delivered: 1, ..DispatchReport::default() });

    let received = w.received();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    let row = w.row(delivery).await;
    assert_eq!((row.status.as_str(), row.attempts, row.last_status_code), ("delivered", 1, Some(200)));
    assert_eq!(request.header("webhook-id"), row.message_id);
    assert_eq!(request.header("content-type"), "application/json");
    let timestamp: i64 = request.header("webhook-timestamp").parse().unwrap();
    assert!((Utc::now().timestamp() - timestamp).abs() < 10);
    assert!(
        request.header("webhook-signature").starts_with("v1,") && !request.header("webhook-signature").contains(' ')
    );
    // The payload as stored, as compact JSON: {type, timestamp, data}.
    let payload = w.payload(delivery).await;
    assert_eq!(request.body, payload.to_string());
    assert!(!request.body.contains(": ") && !request.body.contains(", "));
    assert_eq!((&payload["type"], &payload["data"]), (&json!("ping"), &json!({"webhook_id": webhook})));

    assert!(verifies(&secret, request), "the reference implementation verifies our signature");
    let mut tampered = request.clone();
    tampered.body = request.body.replace("ping", "pong");
    assert!(!verifies(&secret, &tampered), "and refuses an altered body");
    let (_, other_secret) = w.endpoint().await;
    assert!(!verifies(&other_secret, request), "and another endpoint's secret");

    // Nothing is due any more.
    assert_eq!(w.run(Utc::now()).await.attempted, 0);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn after_a_rotation_both_secrets_sign_for_a_day_then_only_the_new_one(pool: PgPool) {
    let w = world(pool).await;
    let (webhook, old) = w.endpoint().await;
    let rotated = post(&w.app, &format!("/api/webhooks/{webhook}/rotate-secret"), &w.crew.admin, json!({})).await;
    let new = rotated.body["secret"].as_str().unwrap().to_string();
    let expires: DateTime<Utc> = rotated.body["previous_secret_expires_at"].as_str().unwrap().parse().unwrap();
    assert!(close(expires, Utc::now() + chrono::Duration::hours(24)));

    w.ping(webhook).await;
    w.run(Utc::now()).await;
    let during = w.received().pop().unwrap();
    assert_eq!(during.header("webhook-signature").split(' ').count(), 2);
    assert!(verifies(&new, &during) && verifies(&old, &during), "receivers on either secret accept it");

    // A day later (the previous secret expired) only the new one signs.
    sqlx::query("UPDATE webhooks SET previous_secret_expires_at = now() - interval '1 second' WHERE id = $1")
        .bind(webhook)
        .execute(&w.pool)
        .await
        .unwrap();
    w.ping(webhook).await;
    w.run(Utc::now()).await;
    let later = w.received().pop().unwrap();
    assert_eq!(later.header("webhook-signature").split(' ').count(), 1);
    assert!(verifies(&new, &later) && !verifies(&old, &later));
    let shown = get(&w.app, &format!("/api/webhooks/{webhook}"), &w.crew.admin).await;
    assert!(shown.body["previous_secret_expires_at"].is_null());
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_failing_receiver_is_retried_on_the_schedule_then_the_delivery_fails(pool: PgPool) {
    let w = world(pool).await;
    w.inbox.status.store(500, Ordering::SeqCst);
    let (webhook, _) = w.endpoint().await;
    let delivery = w.ping(webhook).await;
    let first = Utc::now();
    let mut at = first;
    for (i, wait) in SCHEDULE.iter().enumerate() {
        let report = w.run(at).await;
        assert_eq!(
            report,
            DispatchReport { attempted: 1, retrying: 1, ..DispatchReport::default() },
            "attempt {}",
            i + 1
        );
        let row = w.row(delivery).await;
        assert_eq!((row.status.as_str(), row.attempts), ("pending", i as i32 + 1));
        assert_eq!((row.last_status_code, row.last_error.as_deref()), (Some(500), Some("HTTP 500")));
        let next = row.next_attempt_at.unwrap();
        assert!(close(next, at + after(*wait)), "attempt {}: next at {next}, expected {} later", i + 1, wait.as_secs());
        assert!(close(row.last_attempt_at.unwrap(), at));
        // Not due before its time.
        assert_eq!(w.run(next - chrono::Duration::seconds(3)).await.attempted, 0);
        at = next + chrono::Duration::seconds(1);
    }
    let report = w.run(at).await;
    assert_eq!(report, DispatchReport { attempted: 1, failed: 1, ..DispatchReport::default() });
    let row = w.row(delivery).await;
    assert_eq!((row.status.as_str(), row.attempts, row.next_attempt_at), ("failed", 8, None));
    assert_eq!(w.received().len(), 8);
    assert!(w.received().iter().all(|r| r.header("webhook-id") == row.message_id), "one webhook-id throughout");
    // Failing since the first attempt; ~28 hours is not 3 days: still enabled.
    let endpoint = get(&w.app, &format!("/api/webhooks/{webhook}"), &w.crew.admin).await;
    let since: DateTime<Utc> = endpoint.body["failing_since"].as_str().unwrap().parse().unwrap();
    assert!(close(since, first) && endpoint.body["enabled"] == true);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn an_endpoint_failing_for_three_days_is_disabled_with_an_audit_row(pool: PgPool) {
    let w = world(pool).await;
    let (webhook, _) = w.endpoint().await;
    // A success clears the failure.
    sqlx::query("UPDATE webhooks SET failing_since = now() - interval '2 days' WHERE id = $1")
        .bind(webhook)
        .execute(&w.pool)
        .await
        .unwrap();
    w.ping(webhook).await;
    w.run(Utc::now()).await;
    let shown = get(&w.app, &format!("/api/webhooks/{webhook}"), &w.crew.admin).await;
    assert!(shown.body["failing_since"].is_null());

    // Failing since three days and a minute: the next failure disables it.
    w.inbox.status.store(503, Ordering::SeqCst);
    sqlx::query("UPDATE webhooks SET failing_since = now() - interval '3 days 1 minute' WHERE id = $1")
        .bind(webhook)
        .execute(&w.pool)
        .await
        .unwrap();
    let (failing, waiting) = (w.ping(webhook).await, w.ping(webhook).await);
    sqlx::query("UPDATE webhook_deliveries SET next_attempt_at = now() + interval '1 hour' WHERE id = $1")
        .bind(waiting)
        .execute(&w.pool)
        .await
        .unwrap();
    let report = w.run(Utc::now()).await;
    assert_eq!((report.attempted, report.retrying, report.endpoints_disabled), (1, 1, 1));
    let endpoint = get(&w.app, &format!("/api/webhooks/{webhook}"), &w.crew.admin).await;
    assert_eq!(endpoint.body["enabled"], false);
    let reason = endpoint.body["disabled_reason"].as_str().unwrap();
    assert!(reason.contains("3 days") && reason.contains("HTTP 503"), "{reason}");
    for delivery in [failing, waiting] {
        let row = w.row(delivery).await;
        assert_eq!((row.status.as_str(), row.last_error.as_deref()), ("failed", Some("endpoint disabled")));
    }
    let (actor, changes): (Option<i64>, Value) = sqlx::query_as(
        "SELECT actor_id, changes FROM audit_logs WHERE entity_type = 'webhook' AND entity_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(webhook)
    .fetch_one(&w.pool)
    .await
    .unwrap();
    assert_eq!(actor, None, "the dispatcher, not a user");
    assert_eq!(changes["enabled"], json!({"old": true, "new": false}));
    assert_eq!(changes["disabled_reason"]["new"], reason);
    // Nothing more is sent to it.
    let sent = w.received().len();
    w.run(Utc::now() + chrono::Duration::hours(2)).await;
    assert_eq!(w.received().len(), sent);
    // Enabled again by an admin, the endpoint starts afresh.
    let on = put(&w.app, &format!("/api/webhooks/{webhook}"), &w.crew.admin, json!({"enabled": true})).await;
    assert!(on.body["failing_since"].is_null() && on.body["disabled_reason"].is_null());
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_dispatcher_killed_mid_send_leaves_the_delivery_to_be_sent_again_with_the_same_webhook_id(pool: PgPool) {
    let w = world(pool).await;
    w.inbox.hang.store(true, Ordering::SeqCst);
    let (webhook, secret) = w.endpoint().await;
    let delivery = w.ping(webhook).await;
    let at = Utc::now();
    let dispatcher = w.dispatcher();
    let run = tokio::spawn(async move { dispatcher.run(at, BUDGET).await });
    tokio::time::timeout(Duration::from_secs(10), w.inbox.arrived.notified()).await.expect("the request arrives");
    // Killed after sending, before recording anything.
    run.abort();
    assert!(run.await.unwrap_err().is_cancelled());
    let row = w.row(delivery).await;
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 1));
    assert!(close(row.next_attempt_at.unwrap(), at + after(LEASE)), "leased, not lost");
    // While the lease runs nobody takes it; after it, another dispatcher sends it again.
    assert_eq!(w.run(at + chrono::Duration::seconds(30)).await.attempted, 0);
    w.inbox.hang.store(false, Ordering::SeqCst);
    let report = w.run(at + after(LEASE) + chrono::Duration::seconds(1)).await;
    assert_eq!(report.delivered, 1);
    let received = w.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].header("webhook-id"), received[1].header("webhook-id"));
    assert_eq!(received[1].header("webhook-id"), row.message_id);
    assert!(verifies(&secret, &received[1]));
    let row = w.row(delivery).await;
    assert_eq!((row.status.as_str(), row.attempts), ("delivered", 2));
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn concurrent_dispatchers_never_send_one_delivery_twice(pool: PgPool) {
    let w = world(pool).await;
    w.inbox.delay_ms.store(200, Ordering::SeqCst);
    let (webhook, _) = w.endpoint().await;
    for _ in 0..60 {
        w.ping(webhook).await;
    }
    let now = Utc::now();
    let (a, b, c) = (w.dispatcher(), w.dispatcher(), w.dispatcher());
    let (ra, rb, rc) = tokio::join!(a.run(now, BUDGET), b.run(now, BUDGET), c.run(now, BUDGET));
    let reports = [ra.unwrap(), rb.unwrap(), rc.unwrap()];
    assert_eq!(reports.iter().map(|r| r.attempted).sum::<u64>(), 60, "{reports:?}");
    assert_eq!(reports.iter().map(|r| r.delivered).sum::<u64>(), 60);
    let received = w.received();
    let ids: std::collections::BTreeSet<&str> = received.iter().map(|r| r.header("webhook-id")).collect();
    assert_eq!((received.len(), ids.len()), (60, 60), "each delivery sent exactly once");
    assert_eq!(w.inbox.overlaps.load(Ordering::SeqCst), 0);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn the_ssrf_guard_is_checked_again_at_delivery(pool: PgPool) {
    let w = world(pool.clone()).await;
    let (webhook, _) = w.endpoint().await;
    let delivery = w.ping(webhook).await;
    // A dispatcher without the loopback opt-in (as deployed) refuses the loopback receiver.
    let deployed = Dispatcher::new(pool, WebhookSettings { allow_loopback: false, ..w.settings.clone() });
    let report = deployed.run(Utc::now(), BUDGET).await.unwrap();
    assert_eq!((report.attempted, report.retrying), (1, 1));
    let row = w.row(delivery).await;
    assert_eq!(row.last_error.as_deref(), Some("refused: must use https://"));
    assert_eq!(row.last_status_code, None);
    assert!(w.received().is_empty(), "nothing reached the receiver");

    // An https URL whose host is loopback: refused by address.
    sqlx::query("UPDATE webhooks SET url = 'https://localhost:1/hook' WHERE id = $1")
        .bind(webhook)
        .execute(&w.pool)
        .await
        .unwrap();
    let report = deployed.run(Utc::now() + chrono::Duration::seconds(10), BUDGET).await.unwrap();
    assert_eq!(report.attempted, 1);
    assert_eq!(w.row(delivery).await.last_error.as_deref(), Some("refused: host resolves to a loopback address"));
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_receiver_slower_than_five_seconds_is_a_failed_attempt(pool: PgPool) {
    let w = world(pool).await;
    w.inbox.delay_ms.store(8_000, Ordering::SeqCst);
    let (webhook, _) = w.endpoint().await;
    let delivery = w.ping(webhook).await;
    let started = std::time::Instant::now();
    // A budget for one attempt (the next, due 5 s later, would fall within a longer run).
    let report = w.dispatcher().run(Utc::now(), Duration::from_secs(11)).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(7), "{:?}", started.elapsed());
    assert_eq!(report.retrying, 1);
    let row = w.row(delivery).await;
    assert_eq!((row.attempts, row.last_error.as_deref()), (1, Some("timed out after 5 s")));
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_replayed_delivery_is_sent_again_with_the_same_webhook_id(pool: PgPool) {
    let w = world(pool).await;
    let (webhook, secret) = w.endpoint().await;
    let delivery = w.ping(webhook).await;
    w.run(Utc::now()).await;
    let replay = format!("/api/webhooks/{webhook}/deliveries/{delivery}/replay");
    let replayed = post(&w.app, &replay, &w.crew.admin, json!({})).await;
    assert_eq!(replayed.status, StatusCode::ACCEPTED, "{}", replayed.body);
    assert_eq!(w.run(Utc::now()).await.delivered, 1);
    let received = w.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].header("webhook-id"), received[1].header("webhook-id"));
    assert_eq!(received[0].body, received[1].body, "the same event");
    assert!(verifies(&secret, &received[1]));
    let listed = get(&w.app, &format!("/api/webhooks/{webhook}/deliveries"), &w.crew.admin).await;
    assert_eq!(listed.body["items"][0]["status"], "delivered");
    assert_eq!(listed.body["items"][0]["attempts"], 1);
}

/// Found by running the local runner against a Python `http.server` receiver: an HTTP/1.0 answer
/// followed at once by the connection's close was read as "no response" half the time.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_receiver_that_closes_the_connection_right_after_answering_is_delivered(pool: PgPool) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let w = world(pool).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                // The request's head, then as many body bytes as it announces.
                let mut seen = Vec::new();
                let mut chunk = [0u8; 4096];
                let complete = |seen: &[u8]| {
                    let text = String::from_utf8_lossy(seen);
                    let Some(end) = text.find("\r\n\r\n") else { return false };
                    let length = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string())
                        })
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    seen.len() >= end + 4 + length
                };
                while !complete(&seen) {
                    let n = socket.read(&mut chunk).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&chunk[..n]);
                }
                socket.write_all(b"HTTP/1.0 204 No Content\r\n\r\n").await.unwrap();
                let _ = socket.shutdown().await;
            });
        }
    });
    let (webhook, _) = w.endpoint().await;
    sqlx::query("UPDATE webhooks SET url = $2 WHERE id = $1")
        .bind(webhook)
        .bind(format!("http://{addr}/hook"))
        .execute(&w.pool)
        .await
        .unwrap();
    for _ in 0..20 {
        w.ping(webhook).await;
    }
    let report = w.run(Utc::now()).await;
    assert_eq!(report, DispatchReport { attempted: 20, delivered: 20, ..DispatchReport::default() });
}
