//! Visits and offline events against real Postgres: a check-in judged against the site's
//! geofence, the inside one that responds, who may check in, check-outs, status changes that
//! count when they happened, and a late event that retracts a breach the check recorded.

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Duration, SecondsFormat, SubsecRound, Utc};
use nexus_shared::auth::Role;
use nexus_testkit::{self as testing, TestUser, get, post, put, request, send};
use serde_json::{Value, json};
use sqlx::PgPool;

/// The site: Monas, Jakarta, with the default 200 m geofence.
const SITE: (f64, f64) = (-6.175392, 106.827153);

struct Fixture {
    app: axum::Router,
    pool: PgPool,
    spv: TestUser,
    tech: TestUser,
    other_tech: TestUser,
    viewer: TestUser,
    asset: i64,
}

async fn setup(pool: PgPool) -> Fixture {
    let state = testing::state(pool.clone());
    let crew = testing::crew(&state).await;
    let other_tech = testing::user(&state, "tech2@test.example", &[Role::Technician]).await;
    let location: i64 = sqlx::query_scalar(
        "INSERT INTO locations (code, name, latitude, longitude, region, timezone)
         VALUES ('JKT0100', 'Monas', $1, $2, 'DKI Jakarta', 'Asia/Jakarta') RETURNING id",
    )
    .bind(SITE.0)
    .bind(SITE.1)
    .fetch_one(&pool)
    .await
    .unwrap();
    let asset: i64 = sqlx::query_scalar(
        "INSERT INTO assets (location_id, tag, name) VALUES ($1, 'ATM-JKT0100', 'ATM') RETURNING id",
    )
    .bind(location)
    .fetch_one(&pool)
    .await
    .unwrap();
    Fixture {
        app: nexus_tickets::router(state),
        pool,
        spv: crew.supervisor,
        tech: crew.technician,
        other_tech,
        viewer: crew.viewer,
        asset,
    }
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn instant(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap_or_else(|| panic!("not a time: {v:?}")).parse().unwrap()
}

/// Postgres keeps microseconds.
fn round(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

fn at_site(accuracy_m: f64, occurred_at: Option<DateTime<Utc>>) -> Value {
    let mut body = json!({"lat": SITE.0, "lng": SITE.1, "accuracy_m": accuracy_m});
    if let Some(t) = occurred_at {
        body["occurred_at"] = ts(t).into();
    }
    body
}

impl Fixture {
    /// A high-priority CM ticket assigned to the technician.
    async fn assigned(&self) -> i64 {
        let body = json!({"asset_id": self.asset, "ticket_type": "CM", "priority": "high", "description": "Jammed",
                          "assigned_to": self.tech.id});
        let r = post(&self.app, "/api/tickets", &self.spv, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        r.body["id"].as_i64().unwrap()
    }

    async fn ticket(&self, id: i64) -> Value {
        get(&self.app, &format!("/api/tickets/{id}"), &self.spv).await.body
    }

    async fn check_in(&self, who: &TestUser, id: i64, body: Value) -> testing::TestResponse {
        post(&self.app, &format!("/api/tickets/{id}/visits"), who, body).await
    }

    /// Moves the ticket's clocks back as if it had been opened `hours` ago, its response line
    /// one hour ago, and the scheduled check had recorded the response breach.
    async fn breached_response(&self, id: i64, hours: i64) -> i64 {
        sqlx::query(
            "UPDATE tickets SET created_at = now() - make_interval(hours => $2), sla_started_at = now() - make_interval(hours => $2),
                 response_warning_at = now() - interval '2 hours', response_due_at = now() - interval '1 hour',
                 response_warned = true, response_breached = true WHERE id = $1",
        )
        .bind(id)
        .bind(hours as i32)
        .execute(&self.pool)
        .await
        .unwrap();
        sqlx::query_scalar(
            "INSERT INTO sla_events (ticket_id, kind, line_at, detected_at)
             SELECT id, 'response_breach', response_due_at, response_due_at + interval '1 minute' FROM tickets WHERE id = $1
             RETURNING id",
        )
        .bind(id)
        .fetch_one(&self.pool)
        .await
        .unwrap()
    }

    async fn events(&self, id: i64) -> Vec<(String, Option<i64>)> {
        sqlx::query_as("SELECT kind, retracts_event_id FROM sla_events WHERE ticket_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&self.pool)
            .await
            .unwrap()
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn only_the_assigned_technician_checks_in_and_everyone_who_sees_the_ticket_reads_visits(pool: PgPool) {
    let f = setup(pool).await;
    let id = f.assigned().await;
    assert_eq!(f.check_in(&f.other_tech, id, at_site(5.0, None)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(f.check_in(&f.spv, id, at_site(5.0, None)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(f.check_in(&f.viewer, id, at_site(5.0, None)).await.status, StatusCode::FORBIDDEN);
    let anonymous =
        send(&f.app, request(Method::POST, &format!("/api/tickets/{id}/visits"), None, Some(at_site(5.0, None)))).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let bad = f.check_in(&f.tech, id, json!({"lat": 91.0, "lng": 200.0, "accuracy_m": -1.0})).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> =
        bad.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["lat", "lng", "accuracy_m"]);

    let made = f.check_in(&f.tech, id, at_site(5.0, None)).await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
    for who in [&f.viewer, &f.spv, &f.tech] {
        let listed = get(&f.app, &format!("/api/tickets/{id}/visits"), who).await;
        assert_eq!(listed.status, StatusCode::OK);
        assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    }
    assert_eq!(get(&f.app, &format!("/api/tickets/{id}/visits"), &f.other_tech).await.status, StatusCode::NOT_FOUND);
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_logs WHERE entity_type = 'visit' AND action = 'create'")
            .fetch_one(&f.pool)
            .await
            .unwrap();
    assert_eq!(audited, 1);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_check_in_is_judged_against_the_geofence_and_only_inside_responds(pool: PgPool) {
    let f = setup(pool).await;
    let id = f.assigned().await;
    // 0.003° of latitude south: about 334 m away, outside 200 m.
    let outside = f.check_in(&f.tech, id, json!({"lat": SITE.0 - 0.003, "lng": SITE.1, "accuracy_m": 10.0})).await;
    assert_eq!(outside.body["result"], "outside", "{:?}", outside.body);
    assert!((outside.body["distance_m"].as_f64().unwrap() - 333.6).abs() < 1.0);
    let vague = f.check_in(&f.tech, id, at_site(500.0, None)).await;
    assert_eq!(vague.body["result"], "low_accuracy");
    let ticket = f.ticket(id).await;
    assert_eq!((ticket["status"].as_str(), &ticket["sla"]["responded_at"]), (Some("assigned"), &Value::Null));

    sqlx::query("UPDATE tickets SET created_at = now() - interval '1 hour' WHERE id = $1")
        .bind(id)
        .execute(&f.pool)
        .await
        .unwrap();
    let before = Utc::now() - Duration::minutes(3);
    let inside = f.check_in(&f.tech, id, at_site(8.0, Some(before))).await;
    assert_eq!(inside.status, StatusCode::CREATED);
    assert_eq!(inside.body["result"], "inside");
    assert_eq!(inside.body["distance_m"], 0.0);
    let ticket = f.ticket(id).await;
    assert_eq!(ticket["status"], "in_progress");
    assert_eq!(instant(&ticket["sla"]["responded_at"]), round(before), "responded when the check-in happened");
    assert_eq!(ticket["status_changed_at"], inside.body["checked_in_at"]);

    // A second inside check-in changes nothing about the response.
    f.check_in(&f.tech, id, at_site(8.0, None)).await;
    assert_eq!(f.ticket(id).await["sla"]["responded_at"], ticket["sla"]["responded_at"]);

    // Check-out once; again is 409.
    let visit = inside.body["id"].as_i64().unwrap();
    let url = format!("/api/tickets/{id}/visits/{visit}/checkout");
    let out = post(&f.app, &url, &f.tech, at_site(8.0, None)).await;
    assert_eq!(out.status, StatusCode::OK, "{:?}", out.body);
    assert_eq!(out.body["checkout_result"], "inside");
    assert_eq!(post(&f.app, &url, &f.tech, at_site(8.0, None)).await.status, StatusCode::CONFLICT);
    let early = post(
        &f.app,
        &format!("/api/tickets/{id}/visits/{}/checkout", vague.body["id"]),
        &f.tech,
        at_site(8.0, Some(before - Duration::hours(1))),
    )
    .await;
    assert_eq!(early.status, StatusCode::CONFLICT, "a check-out before its check-in");

    // A site without coordinates: no distance.
    sqlx::query("UPDATE locations SET latitude = NULL, longitude = NULL").execute(&f.pool).await.unwrap();
    let unknown = f.check_in(&f.tech, id, at_site(8.0, None)).await;
    assert_eq!(
        (unknown.body["result"].as_str(), &unknown.body["distance_m"]),
        (Some("no_site_position"), &Value::Null)
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_late_inside_check_in_retracts_the_response_breach_the_check_recorded(pool: PgPool) {
    let f = setup(pool).await;
    let id = f.assigned().await;
    let breach = f.breached_response(id, 3).await;
    assert_eq!(f.ticket(id).await["sla"]["response_state"], "breached");
    testing::webhook::subscribe(&f.pool, &["ticket.sla_breach_retracted"]).await;
    // Checked in 70 minutes ago (ten before the line), synced only now.
    let happened = Utc::now() - Duration::minutes(70);
    let made = f.check_in(&f.tech, id, at_site(5.0, Some(happened))).await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
    let ticket = f.ticket(id).await;
    assert_eq!(ticket["sla"]["response_state"], "met", "{ticket:?}");
    assert_eq!(ticket["status"], "in_progress");
    let breached: bool = sqlx::query_scalar("SELECT response_breached FROM tickets WHERE id = $1")
        .bind(id)
        .fetch_one(&f.pool)
        .await
        .unwrap();
    assert!(!breached);
    // The breach stays; the retraction names it.
    assert_eq!(
        f.events(id).await,
        [("response_breach".to_string(), None), ("response_breach_retracted".to_string(), Some(breach))]
    );
    let retracted = testing::webhook::events(&f.pool, "ticket.sla_breach_retracted").await;
    assert_eq!(retracted.len(), 1);
    assert_eq!(retracted[0]["data"]["kind"], "response_breach_retracted");
    assert_eq!(retracted[0]["data"]["ticket"], ticket, "the ticket as shown after the check-in");
    let changes: Value = sqlx::query_scalar(
        "SELECT changes FROM audit_logs WHERE entity_type = 'ticket' AND entity_id = $1 AND action = 'update'",
    )
    .bind(id)
    .fetch_one(&f.pool)
    .await
    .unwrap();
    assert_eq!(changes["response_breached"], json!({"old": true, "new": false}));

    // A check-in after the line responds late: the breach stands, nothing is retracted.
    let late = f.assigned().await;
    f.breached_response(late, 3).await;
    f.check_in(&f.tech, late, at_site(5.0, Some(Utc::now() - Duration::minutes(30)))).await;
    assert_eq!(f.ticket(late).await["sla"]["response_state"], "breached");
    assert_eq!(f.events(late).await.len(), 1);
}

#[sqlx::test(migrations = "../../migrations")]
async fn status_changes_count_when_they_happened_and_cannot_go_back_before_the_last_one(pool: PgPool) {
    let f = setup(pool).await;
    let id = f.assigned().await;
    sqlx::query("UPDATE tickets SET created_at = now() - interval '10 hours' WHERE id = $1")
        .bind(id)
        .execute(&f.pool)
        .await
        .unwrap();
    let url = format!("/api/tickets/{id}");
    let start = Utc::now() - Duration::hours(5);
    let r = put(&f.app, &url, &f.tech, json!({"status": "in_progress", "occurred_at": ts(start)})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(instant(&r.body["sla"]["responded_at"]), round(start));
    assert!(instant(&r.body["status_received_at"]) > start);

    // Without a status, occurred_at is refused; outside the window too.
    let alone = put(&f.app, &url, &f.tech, json!({"notes": "x", "occurred_at": ts(start)})).await;
    assert_eq!(alone.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(alone.body["errors"][0]["field"], "occurred_at");
    let ancient = put(&f.app, &url, &f.tech, json!({"status": "on_hold", "hold_reason": "awaiting_parts", "occurred_at": ts(Utc::now() - Duration::hours(73))})).await;
    assert_eq!(ancient.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Before the previous status change: 409.
    let backwards = put(
        &f.app,
        &url,
        &f.tech,
        json!({"status": "on_hold", "hold_reason": "awaiting_parts", "occurred_at": ts(start - Duration::minutes(1))}),
    )
    .await;
    assert_eq!(backwards.status, StatusCode::CONFLICT, "{:?}", backwards.body);
    assert!(backwards.body["detail"].as_str().unwrap().contains("previous status change"));

    // Resolving before the first inside check-in: 409.
    let checked_in = Utc::now() - Duration::hours(2);
    f.check_in(&f.tech, id, at_site(5.0, Some(checked_in))).await;
    let too_soon = put(&f.app, &url, &f.tech, json!({"status": "resolved", "resolution_notes": "Fixed", "occurred_at": ts(checked_in - Duration::minutes(5))})).await;
    assert_eq!(too_soon.status, StatusCode::CONFLICT);
    assert!(too_soon.body["detail"].as_str().unwrap().contains("first check-in"));
    let done = Utc::now() - Duration::hours(1);
    let resolved =
        put(&f.app, &url, &f.tech, json!({"status": "resolved", "resolution_notes": "Fixed", "occurred_at": ts(done)}))
            .await;
    assert_eq!(resolved.status, StatusCode::OK, "{:?}", resolved.body);
    assert_eq!(instant(&resolved.body["sla"]["resolved_at"]), round(done));
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_resolution_made_offline_before_the_line_retracts_the_resolution_breach(pool: PgPool) {
    let f = setup(pool).await;
    let id = f.assigned().await;
    put(&f.app, &format!("/api/tickets/{id}"), &f.tech, json!({"status": "in_progress"})).await;
    sqlx::query(
        "UPDATE tickets SET created_at = now() - interval '30 hours', status_changed_at = now() - interval '20 hours',
             resolution_warning_at = now() - interval '3 hours', resolution_due_at = now() - interval '2 hours',
             resolution_warned = true, resolution_breached = true WHERE id = $1",
    )
    .bind(id)
    .execute(&f.pool)
    .await
    .unwrap();
    let breach: i64 = sqlx::query_scalar(
        "INSERT INTO sla_events (ticket_id, kind, line_at, detected_at)
         SELECT id, 'resolution_breach', resolution_due_at, now() - interval '1 hour' FROM tickets WHERE id = $1 RETURNING id",
    )
    .bind(id)
    .fetch_one(&f.pool)
    .await
    .unwrap();
    let body = json!({"status": "resolved", "resolution_notes": "Replaced the card reader", "occurred_at": ts(Utc::now() - Duration::hours(4))});
    let resolved = put(&f.app, &format!("/api/tickets/{id}"), &f.tech, body).await;
    assert_eq!(resolved.status, StatusCode::OK, "{:?}", resolved.body);
    assert_eq!(resolved.body["sla"]["resolution_state"], "met");
    assert_eq!(
        f.events(id).await,
        [("resolution_breach".to_string(), None), ("resolution_breach_retracted".to_string(), Some(breach))]
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_check_in_retried_with_its_key_is_recorded_once(pool: PgPool) {
    let f = setup(pool).await;
    let id = f.assigned().await;
    let send_once = || {
        let mut req =
            request(Method::POST, &format!("/api/tickets/{id}/visits"), Some(&f.tech.token), Some(at_site(5.0, None)));
        req.headers_mut().insert("idempotency-key", "visit-1".parse().unwrap());
        send(&f.app, req)
    };
    let first = send_once().await;
    let retry = send_once().await;
    assert_eq!((first.status, retry.status), (StatusCode::CREATED, StatusCode::CREATED));
    assert_eq!(retry.headers["idempotency-replayed"], "true");
    assert_eq!(retry.body, first.body);
    let visits: i64 = sqlx::query_scalar("SELECT count(*) FROM visits").fetch_one(&f.pool).await.unwrap();
    assert_eq!(visits, 1);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_ticket_is_resolved_only_with_its_required_checklist_items_met(pool: PgPool) {
    let f = setup(pool).await;
    let items = json!([
        {"key": "door_locked", "label": "Safe door locked", "type": "check", "required": true},
        {"key": "remarks", "label": "Remarks", "type": "text", "required": false},
        {"key": "receipt_photo", "label": "Receipt printer", "type": "photo", "required": true, "min_count": 1},
    ]);
    let checklist: i64 = sqlx::query_scalar(
        "WITH c AS (INSERT INTO checklists (name) VALUES ('ATM visit') RETURNING id)
         INSERT INTO checklist_versions (checklist_id, version, name, items) SELECT id, 1, 'ATM visit', $1 FROM c
         RETURNING checklist_id",
    )
    .bind(&items)
    .fetch_one(&f.pool)
    .await
    .unwrap();
    let body = json!({"asset_id": f.asset, "ticket_type": "CM", "priority": "high", "description": "Jammed",
                      "assigned_to": f.tech.id, "checklist_id": checklist});
    let created = post(&f.app, "/api/tickets", &f.spv, body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(
        (created.body["checklist_id"].as_i64(), created.body["checklist_version"].as_i64()),
        (Some(checklist), Some(1))
    );
    let id = created.body["id"].as_i64().unwrap();
    let url = format!("/api/tickets/{id}");
    put(&f.app, &url, &f.tech, json!({"status": "in_progress"})).await;

    let resolve = json!({"status": "resolved", "resolution_notes": "Cleared the jam"});
    let refused = put(&f.app, &url, &f.tech, resolve.clone()).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", refused.body);
    let fields: Vec<&str> =
        refused.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["checklist.door_locked", "checklist.receipt_photo"]);

    sqlx::query(
        "INSERT INTO checklist_answers (ticket_id, key, value, occurred_at) VALUES ($1, 'door_locked', 'true', now())",
    )
    .bind(id)
    .execute(&f.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO attachments (ticket_id, kind, checklist_key, content_type, size_bytes, sha256, status, object_key, stored_at)
         VALUES ($1, 'after', 'receipt_photo', 'image/jpeg', 10, repeat('a', 64), 'stored', 'tickets/x.jpg', now())",
    )
    .bind(id)
    .execute(&f.pool)
    .await
    .unwrap();
    let resolved = put(&f.app, &url, &f.tech, resolve).await;
    assert_eq!(resolved.status, StatusCode::OK, "{:?}", resolved.body);

    // A technician may not attach a checklist; a planner may, to a ticket without answers.
    let other = f.assigned().await;
    let by_tech = put(&f.app, &format!("/api/tickets/{other}"), &f.tech, json!({"checklist_id": checklist})).await;
    assert_eq!(by_tech.status, StatusCode::FORBIDDEN);
    let by_spv = put(&f.app, &format!("/api/tickets/{other}"), &f.spv, json!({"checklist_id": checklist})).await;
    assert_eq!(by_spv.body["checklist_id"], checklist, "{:?}", by_spv.body);
    let missing = put(&f.app, &format!("/api/tickets/{other}"), &f.spv, json!({"checklist_id": 999999})).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
}
