//! Meters and readings against real Postgres: who may add them, a cumulative meter that only
//! grows unless reset, batches stored all or nothing and once per Idempotency-Key, and the
//! readings that fire meter-triggered PM plans in the same transaction.

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Days, Duration, NaiveDate, SecondsFormat, Utc};
use nexus_shared::auth::Role;
use nexus_testkit::{Crew, TestUser, crew, get, post, request, send, site, state};
use serde_json::{Value, json};
use sqlx::PgPool;

struct World {
    router: axum::Router,
    crew: Crew,
    pool: PgPool,
    asset_id: i64,
}

async fn world(pool: PgPool) -> World {
    let state = state(pool.clone());
    let crew = crew(&state).await;
    let s = site(&pool, "JKT0001", "Asia/Jakarta").await;
    sqlx::query("UPDATE locations SET region = 'Jawa'").execute(&pool).await.unwrap();
    World { router: nexus_pm::router(state), crew, pool, asset_id: s.asset_id }
}

fn in_days(n: u64) -> NaiveDate {
    Utc::now().date_naive().checked_add_days(Days::new(n)).unwrap()
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn reading(value: f64, read_at: DateTime<Utc>) -> Value {
    json!({"value": value, "read_at": ts(read_at)})
}

impl World {
    async fn meter(&self, name: &str, kind: &str) -> i64 {
        let url = format!("/api/assets/{}/meters", self.asset_id);
        let created =
            post(&self.router, &url, &self.crew.supervisor, json!({"name": name, "unit": "n", "kind": kind})).await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        created.body["id"].as_i64().unwrap()
    }

    async fn read(&self, meter_id: i64, user: &TestUser, readings: Vec<Value>) -> nexus_testkit::TestResponse {
        post(&self.router, &format!("/api/meters/{meter_id}/readings"), user, json!({ "readings": readings })).await
    }

    async fn readings_stored(&self, meter_id: i64) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM meter_readings WHERE meter_id = $1")
            .bind(meter_id)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    /// A plan on region Jawa triggered by `trigger`, whose calendar part (yearly) never falls
    /// due during the test: created to start in two days, then moved to have started a month ago.
    async fn meter_plan(&self, trigger: Value, anchor: &str, open_policy: &str) -> i64 {
        let body = json!({"name": "Meter PM", "priority": "medium", "scope": {"region": ["Jawa"]},
            "recurrence": {"every": 12, "unit": "month"}, "anchor": anchor, "starts_on": in_days(2),
            "start_time": "08:00", "generate_ahead_days": 0, "open_policy": open_policy, "meter_trigger": trigger});
        let created = post(&self.router, "/api/pm-plans", &self.crew.supervisor, body).await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        let id = created.body["id"].as_i64().unwrap();
        sqlx::query("UPDATE pm_plans SET starts_on = starts_on - 32 WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .unwrap();
        id
    }

    /// `(ticket id, status, source, meter_value, scheduled_for, sla_started_at)` of the plan's tickets.
    async fn pm_tickets(&self, plan_id: i64) -> Vec<(i64, String, String, Option<f64>, DateTime<Utc>, DateTime<Utc>)> {
        sqlx::query_as(
            "SELECT t.id, t.status, o.source, o.meter_value, t.scheduled_for, t.sla_started_at
             FROM tickets t JOIN pm_occurrences o ON o.ticket_id = t.id WHERE t.pm_plan_id = $1 ORDER BY t.id",
        )
        .bind(plan_id)
        .fetch_all(&self.pool)
        .await
        .unwrap()
    }

    async fn close(&self, ticket_id: i64) {
        sqlx::query("UPDATE tickets SET status = 'cancelled', cancelled_at = now() WHERE id = $1")
            .bind(ticket_id)
            .execute(&self.pool)
            .await
            .unwrap();
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn meters_are_added_by_planners_and_named_once_per_asset(pool: PgPool) {
    let w = world(pool).await;
    let url = format!("/api/assets/{}/meters", w.asset_id);
    let body = json!({"name": "cash_cycles", "unit": "cycles", "kind": "cumulative"});
    for role in [Role::Technician, Role::Viewer] {
        assert_eq!(post(&w.router, &url, w.crew.get(role), body.clone()).await.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(
        send(&w.router, request(Method::POST, &url, None, Some(body.clone()))).await.status,
        StatusCode::UNAUTHORIZED
    );
    let created = post(&w.router, &url, &w.crew.admin, body.clone()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.body["kind"], "cumulative");
    assert_eq!(created.body["last_reading"], Value::Null);
    let again = post(&w.router, &url, &w.crew.supervisor, body).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{:?}", again.body);
    let missing =
        post(&w.router, "/api/assets/999999/meters", &w.crew.admin, json!({"name": "x", "unit": "n", "kind": "gauge"}))
            .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let bad = post(&w.router, &url, &w.crew.admin, json!({"name": " ", "unit": "", "kind": "gauge"})).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> =
        bad.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["name", "unit"]);

    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_logs WHERE entity_type = 'meter' AND action = 'create'")
            .fetch_one(&w.pool)
            .await
            .unwrap();
    assert_eq!(audited, 1);
    let listed = get(&w.router, &url, &w.crew.viewer).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(get(&w.router, "/api/assets/999999/meters", &w.crew.viewer).await.status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_cumulative_meter_only_grows_and_a_refused_batch_stores_nothing(pool: PgPool) {
    let w = world(pool).await;
    let meter = w.meter("cash_cycles", "cumulative").await;
    let t0 = Utc::now() - Duration::hours(10);
    let at = |h: i64| t0 + Duration::hours(h);

    assert_eq!(w.read(meter, &w.crew.viewer, vec![reading(1.0, at(0))]).await.status, StatusCode::FORBIDDEN);
    let first = w.read(meter, &w.crew.technician, vec![reading(100.0, at(0)), reading(150.0, at(2))]).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    assert_eq!(first.body["accepted"], 2);
    assert_eq!(first.body["pm_ticket_ids"], json!([]));

    // Row 1 goes below row 0 and row 2 below the stored 150 before it: both named, none stored.
    let refused = w
        .read(meter, &w.crew.technician, vec![reading(200.0, at(3)), reading(190.0, at(4)), reading(140.0, at(5))])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", refused.body);
    let fields: Vec<&str> =
        refused.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["readings[1].value", "readings[2].value"]);
    // A late reading higher than the stored one after it.
    let late = w
        .read(meter, &w.crew.technician, vec![reading(120.0, at(1)), reading(170.0, at(1) + Duration::minutes(1))])
        .await;
    assert_eq!(late.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(late.body["errors"][0]["field"], "readings[1].value");
    assert_eq!(w.readings_stored(meter).await, 2);

    // A restart is fine when it says so.
    let mut reset = reading(3.0, at(6));
    reset["reset"] = json!(true);
    let restarted = w.read(meter, &w.crew.technician, vec![reading(400.0, at(5)), reset, reading(9.0, at(7))]).await;
    assert_eq!(restarted.status, StatusCode::CREATED, "{:?}", restarted.body);

    let future = w.read(meter, &w.crew.technician, vec![reading(500.0, Utc::now() + Duration::minutes(10))]).await;
    assert_eq!(future.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(future.body["errors"][0]["field"], "readings[0].read_at");
    let too_many: Vec<Value> = (0..501).map(|i| reading(1000.0 + f64::from(i), at(8))).collect();
    assert_eq!(w.read(meter, &w.crew.technician, too_many).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(w.read(meter, &w.crew.technician, vec![]).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(w.readings_stored(meter).await, 5);

    // The list, oldest first, from `since`.
    let since = format!("/api/meters/{meter}/readings?since={}&limit=2", ts(at(2)).replace('+', "%2B"));
    let page = get(&w.router, &since, &w.crew.viewer).await;
    assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
    let values: Vec<f64> =
        page.body["items"].as_array().unwrap().iter().map(|r| r["value"].as_f64().unwrap()).collect();
    assert_eq!(values, [150.0, 400.0]);
    assert!(page.body["next_cursor"].is_string());
    let meters = get(&w.router, &format!("/api/assets/{}/meters", w.asset_id), &w.crew.viewer).await;
    assert_eq!(meters.body["items"][0]["last_reading"]["value"], 9.0);
    assert_eq!(get(&w.router, "/api/meters/999999/readings", &w.crew.viewer).await.status, StatusCode::NOT_FOUND);
    assert_eq!(w.read(999_999, &w.crew.technician, vec![reading(1.0, at(0))]).await.status, StatusCode::NOT_FOUND);

    // One audit row per stored batch.
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_logs WHERE entity_type = 'meter' AND entity_id = $1 AND changes ? 'accepted'",
    )
    .bind(meter)
    .fetch_one(&w.pool)
    .await
    .unwrap();
    assert_eq!(audited, 2);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_retried_batch_with_the_same_key_is_stored_once(pool: PgPool) {
    let w = world(pool).await;
    let meter = w.meter("cash_cycles", "cumulative").await;
    let body = json!({"readings": [reading(10.0, Utc::now() - Duration::minutes(1))]});
    let send_with_key = |key: &'static str, body: Value| {
        let mut req =
            request(Method::POST, &format!("/api/meters/{meter}/readings"), Some(&w.crew.technician.token), Some(body));
        req.headers_mut().insert("idempotency-key", key.parse().unwrap());
        send(&w.router, req)
    };
    let first = send_with_key("retry-1", body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let retry = send_with_key("retry-1", body.clone()).await;
    assert_eq!(retry.status, StatusCode::CREATED);
    assert_eq!(retry.headers["idempotency-replayed"], "true");
    assert_eq!(retry.body, first.body);
    assert_eq!(w.readings_stored(meter).await, 1);
    let other = send_with_key("retry-1", json!({"readings": [reading(11.0, Utc::now())]})).await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(w.readings_stored(meter).await, 1);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_cumulative_meter_fires_its_plan_each_time_it_grows_by_every(pool: PgPool) {
    let w = world(pool).await;
    let meter = w.meter("cash_cycles", "cumulative").await;
    let plan = w.meter_plan(json!({"meter_name": "cash_cycles", "every": 1000}), "fixed", "skip_if_open").await;
    let at = |s: i64| Utc::now() + Duration::seconds(s);

    let below = w.read(meter, &w.crew.technician, vec![reading(5000.0, at(1)), reading(5500.0, at(2))]).await;
    assert_eq!(below.body["pm_ticket_ids"], json!([]), "{:?}", below.body);
    let fired = w.read(meter, &w.crew.technician, vec![reading(6100.0, at(3))]).await;
    assert_eq!(fired.status, StatusCode::CREATED);
    let ticket_ids = fired.body["pm_ticket_ids"].as_array().unwrap().clone();
    assert_eq!(ticket_ids.len(), 1, "{:?}", fired.body);
    let tickets = w.pm_tickets(plan).await;
    assert_eq!(tickets.len(), 1);
    let (ticket_id, ref status, ref source, meter_value, _, _) = tickets[0];
    assert_eq!(
        (json!(ticket_id), status.as_str(), source.as_str(), meter_value),
        (ticket_ids[0].clone(), "open", "meter", Some(6100.0))
    );
    let audit: (Option<i64>, String) =
        sqlx::query_as("SELECT actor_id, request_id FROM audit_logs WHERE entity_type = 'ticket' AND entity_id = $1")
            .bind(ticket_id)
            .fetch_one(&w.pool)
            .await
            .unwrap();
    assert_eq!(audit.0, None, "the plan made it, not the technician");

    w.close(ticket_id).await;

    // Counting restarts at 6100: +400 to 6500, then the meter restarts and reads 200: 600 in all.
    let mut reset = reading(200.0, at(5));
    reset["reset"] = json!(true);
    let after_reset = w.read(meter, &w.crew.technician, vec![reading(6500.0, at(4)), reset]).await;
    assert_eq!(after_reset.status, StatusCode::CREATED, "{:?}", after_reset.body);
    assert_eq!(after_reset.body["pm_ticket_ids"], json!([]));
    // 700 makes it 1100.
    let again = w.read(meter, &w.crew.technician, vec![reading(700.0, at(6))]).await;
    assert_eq!(again.body["pm_ticket_ids"].as_array().unwrap().len(), 1, "{:?}", again.body);
    assert_eq!(w.pm_tickets(plan).await[1].3, Some(700.0));
    // While that one is open, skip_if_open holds the next one back.
    let held = w.read(meter, &w.crew.technician, vec![reading(2000.0, at(7))]).await;
    assert_eq!(held.body["pm_ticket_ids"], json!([]));
    assert_eq!(w.pm_tickets(plan).await.len(), 2);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_gauge_fires_past_its_limit_once_per_cooldown_and_its_clock_starts_on_arrival(pool: PgPool) {
    let w = world(pool).await;
    let meter = w.meter("temperature", "gauge").await;
    let plan = w
        .meter_plan(json!({"meter_name": "temperature", "above": 45.0, "cooldown_hours": 24}), "fixed", "always")
        .await;
    // The plan has existed for three days; the technician's device was offline for two.
    sqlx::query("UPDATE pm_plans SET created_at = now() - interval '3 days' WHERE id = $1")
        .bind(plan)
        .execute(&w.pool)
        .await
        .unwrap();
    let two_days_ago = Utc::now() - Duration::days(2);

    let fired = w
        .read(
            meter,
            &w.crew.technician,
            vec![reading(40.0, two_days_ago), reading(47.0, two_days_ago + Duration::hours(1))],
        )
        .await;
    assert_eq!(fired.body["pm_ticket_ids"].as_array().unwrap().len(), 1, "{:?}", fired.body);
    let tickets = w.pm_tickets(plan).await;
    let (_, _, _, value, scheduled_for, sla_started_at) = tickets[0];
    assert_eq!(value, Some(47.0));
    assert!((scheduled_for - (two_days_ago + Duration::hours(1))).num_seconds().abs() < 1);
    assert!(Utc::now() - sla_started_at < Duration::minutes(1), "the SLA clock starts when the reading arrived");

    // Within 24 hours of that PM: nothing (open_policy always, so only the cooldown holds it).
    let within = w.read(meter, &w.crew.technician, vec![reading(50.0, two_days_ago + Duration::hours(20))]).await;
    assert_eq!(within.body["pm_ticket_ids"], json!([]));
    let after = w
        .read(
            meter,
            &w.crew.technician,
            vec![reading(44.0, two_days_ago + Duration::hours(26)), reading(46.0, two_days_ago + Duration::hours(27))],
        )
        .await;
    assert_eq!(after.body["pm_ticket_ids"].as_array().unwrap().len(), 1, "{:?}", after.body);
    assert_eq!(w.pm_tickets(plan).await.len(), 2);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_floating_plan_counts_its_next_date_from_the_meter_pms_closure(pool: PgPool) {
    let w = world(pool).await;
    let meter = w.meter("temperature", "gauge").await;
    let body = json!({"name": "Weekly or hot", "priority": "medium", "scope": {"region": ["Jawa"]},
        "recurrence": {"every": 1, "unit": "week"}, "anchor": "floating", "starts_on": in_days(20),
        "start_time": "08:00", "meter_trigger": {"meter_name": "temperature", "above": 45.0, "cooldown_hours": 1}});
    let created = post(&w.router, "/api/pm-plans", &w.crew.supervisor, body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let plan = created.body["id"].as_i64().unwrap();
    sqlx::query("UPDATE pm_plans SET starts_on = current_date - 1 WHERE id = $1")
        .bind(plan)
        .execute(&w.pool)
        .await
        .unwrap();

    let fired = w.read(meter, &w.crew.technician, vec![reading(50.0, Utc::now())]).await;
    let ticket = fired.body["pm_ticket_ids"][0].as_i64().expect("fired");
    // Closed three days from now (in Jakarta): the next weekly date is a week after that.
    sqlx::query(
        "UPDATE tickets SET status = 'closed', assigned_to = $2, responded_at = now(), resolution_notes = 'Cooled',
                resolved_at = now() + interval '3 days', closed_at = now() + interval '3 days' WHERE id = $1",
    )
    .bind(ticket)
    .bind(w.crew.technician.id)
    .execute(&w.pool)
    .await
    .unwrap();
    let closed_on: NaiveDate =
        sqlx::query_scalar("SELECT (closed_at AT TIME ZONE 'Asia/Jakarta')::date FROM tickets WHERE id = $1")
            .bind(ticket)
            .fetch_one(&w.pool)
            .await
            .unwrap();
    let url = format!("/api/pm-plans/{plan}/forecast?from={}&to={}", in_days(0), in_days(30));
    let forecast = get(&w.router, &url, &w.crew.viewer).await;
    assert_eq!(forecast.status, StatusCode::OK, "{:?}", forecast.body);
    let first_ahead = forecast.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["outcome"] == "generate")
        .map(|o| o["due_on"].as_str().unwrap().to_string());
    assert_eq!(first_ahead, Some(closed_on.checked_add_days(Days::new(7)).unwrap().to_string()));
}
