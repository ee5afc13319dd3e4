//! Approving and rejecting closures against real Postgres; tickets are driven through the
//! tickets function, as a client would.

use axum::http::{Method, StatusCode};
use nexus_testkit::{self as testing, TestUser, get, post, request, send};
use serde_json::{Value, json};
use sqlx::PgPool;

struct Fixture {
    approvals: axum::Router,
    tickets: axum::Router,
    state: nexus_shared::AppState,
    pool: PgPool,
    spv: TestUser,
    tech: TestUser,
    viewer: TestUser,
    asset: i64,
}

async fn setup(pool: PgPool) -> Fixture {
    let state = testing::state(pool.clone());
    let crew = testing::crew(&state).await;
    let asset = testing::site(&pool, "UPG0001", "Asia/Makassar").await.asset_id;
    Fixture {
        approvals: nexus_approvals::router(state.clone()),
        tickets: nexus_tickets::router(state.clone()),
        state,
        pool,
        spv: crew.supervisor,
        tech: crew.technician,
        viewer: crew.viewer,
        asset,
    }
}

impl Fixture {
    /// A ticket resolved by the technician.
    async fn resolved(&self) -> Value {
        testing::resolved_ticket(&self.state, self.asset, &self.spv, &self.tech).await
    }

    async fn ticket(&self, t: &Value) -> Value {
        get(&self.tickets, &format!("/api/tickets/{}", t["id"]), &self.spv).await.body
    }
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn approval_closes_the_ticket(pool: PgPool) {
    let f = setup(pool).await;
    let t = f.resolved().await;
    testing::webhook::subscribe(&f.pool, &["approval.decided", "ticket.status_changed"]).await;
    let r = post(
        &f.approvals,
        "/api/approvals",
        &f.spv,
        json!({"ticket_id": t["id"], "decision": "approve", "comments": "Good work"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(
        (r.body["decision"].as_str(), r.body["decided_by_email"].as_str()),
        (Some("approve"), Some("supervisor@test.example"))
    );
    let closed = f.ticket(&t).await;
    assert_eq!(closed["status"], "closed");
    assert!(closed["closed_at"].is_string());
    let status_change: Value = sqlx::query_scalar(
        "SELECT changes -> 'status' FROM audit_logs WHERE entity_type = 'ticket' AND entity_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(t["id"].as_i64())
    .fetch_one(&f.pool)
    .await
    .unwrap();
    assert_eq!(status_change, json!({"old": "resolved", "new": "closed"}));
    let decision_logged: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM audit_logs WHERE entity_type = 'approval' AND entity_id = $1)",
    )
    .bind(r.body["id"].as_i64())
    .fetch_one(&f.pool)
    .await
    .unwrap();
    assert!(decision_logged);
    // The decision and the closure it made are webhook events: the approval as answered, the
    // ticket as shown.
    let decided = testing::webhook::events(&f.pool, "approval.decided").await;
    assert_eq!(decided.len(), 1);
    assert_eq!(
        (decided[0]["data"]["id"].as_i64(), decided[0]["data"]["decision"].as_str()),
        (r.body["id"].as_i64(), Some("approve"))
    );
    let changed = testing::webhook::events(&f.pool, "ticket.status_changed").await;
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0]["data"], closed);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn rejection_sends_the_ticket_back_with_the_comment(pool: PgPool) {
    let f = setup(pool).await;
    let t = f.resolved().await;
    let no_comment =
        post(&f.approvals, "/api/approvals", &f.spv, json!({"ticket_id": t["id"], "decision": "reject"})).await;
    assert_eq!(
        (no_comment.status, no_comment.body["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("comments"))
    );
    let r = post(
        &f.approvals,
        "/api/approvals",
        &f.spv,
        json!({"ticket_id": t["id"], "decision": "reject", "comments": "Photo of the receipt printer missing"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let back = f.ticket(&t).await;
    assert_eq!(back["status"], "in_progress");
    assert!(back["sla"]["resolved_at"].is_null(), "the resolution clock runs again");
    let history = get(&f.approvals, &format!("/api/approvals/{}", t["id"]), &f.tech).await;
    assert_eq!(history.status, StatusCode::OK, "the assigned technician reads the feedback");
    assert_eq!(history.body["items"][0]["comments"], "Photo of the receipt printer missing");
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn only_resolved_tickets_and_only_planners(pool: PgPool) {
    let f = setup(pool).await;
    let open = testing::open_ticket(&f.state, f.asset, &f.spv).await;
    let r = post(&f.approvals, "/api/approvals", &f.spv, json!({"ticket_id": open["id"], "decision": "approve"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let t = f.resolved().await;
    for who in [&f.tech, &f.viewer] {
        let r = post(&f.approvals, "/api/approvals", who, json!({"ticket_id": t["id"], "decision": "approve"})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(
        post(&f.approvals, "/api/approvals", &f.spv, json!({"ticket_id": 999999, "decision": "approve"})).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(f.ticket(&t).await["status"], "resolved");
    let anonymous = send(&f.approvals, request(Method::GET, &format!("/api/approvals/{}", t["id"]), None, None)).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn fifty_concurrent_approvals_close_the_ticket_once(pool: PgPool) {
    let f = setup(pool).await;
    let t = f.resolved().await;
    let mut racers = Vec::new();
    for i in 0..50 {
        let app = f.approvals.clone();
        let decision = if i % 2 == 0 {
            json!({"ticket_id": t["id"], "decision": "approve"})
        } else {
            json!({"ticket_id": t["id"], "decision": "reject", "comments": "again"})
        };
        let req = request(Method::POST, "/api/approvals", Some(&f.spv.token), Some(decision));
        racers.push(tokio::spawn(async move { send(&app, req).await.status }));
    }
    let mut statuses = Vec::new();
    for r in racers {
        statuses.push(r.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count(), 49, "{statuses:?}");
    let decisions: i64 = sqlx::query_scalar("SELECT count(*) FROM approvals").fetch_one(&f.pool).await.unwrap();
    assert_eq!(decisions, 1);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn answers_an_api_gateway_v2_event(pool: PgPool) {
    let f = setup(pool).await;
    let t = f.resolved().await;
    let event = testing::apigw_v2_event(
        "POST",
        "/api/approvals",
        "",
        Some(&f.spv.token),
        Some(json!({"ticket_id": t["id"], "decision": "approve"})),
    );
    let r = testing::send_event(&f.approvals, event).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let history = testing::send_event(
        &f.approvals,
        testing::apigw_v2_event("GET", &format!("/api/approvals/{}", t["id"]), "", Some(&f.viewer.token), None),
    )
    .await;
    assert_eq!(history.body["items"].as_array().unwrap().len(), 1);
}

/// A retried decision with the same Idempotency-Key returns the first answer and records no
/// second approval (the first closed the ticket, so re-running it would have been a 409).
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn an_idempotency_key_records_a_decision_once(pool: PgPool) {
    let f = setup(pool.clone()).await;
    let t = f.resolved().await;
    let decide = || {
        let body = json!({"ticket_id": t["id"], "decision": "approve", "comments": "Good"});
        let mut request = testing::request(axum::http::Method::POST, "/api/approvals", Some(&f.spv.token), Some(body));
        request.headers_mut().insert("idempotency-key", "approve-once".parse().unwrap());
        request
    };
    let first = testing::send(&f.approvals, decide()).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let retry = testing::send(&f.approvals, decide()).await;
    assert_eq!(retry.status, StatusCode::CREATED);
    assert_eq!(retry.headers["idempotency-replayed"], "true");
    assert_eq!(retry.body, first.body);
    let approvals: i64 = sqlx::query_scalar("SELECT count(*) FROM approvals").fetch_one(&pool).await.unwrap();
    assert_eq!(approvals, 1);
}

/// The built binary, started as Lambda starts it, answers its event from the test kit's table
/// through the Runtime API.
#[sqlx::test(migrations = false)]
async fn the_built_function_answers_through_the_lambda_runtime_api(pool: sqlx::PgPool) {
    nexus_testkit::built::the_built_function_answers(env!("CARGO_BIN_EXE_approvals"), pool).await;
}
