//! SLA rules, calendars and events against real Postgres.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use nexus_shared::auth::Role;
use nexus_shared::sla::{BusinessHours, Calendar};
use nexus_testkit::{self as testing, TestUser, get, post};
use serde_json::{Value, json};
use sqlx::PgPool;

struct Fixture {
    app: axum::Router,
    pool: PgPool,
    state: nexus_shared::AppState,
    spv: TestUser,
    tech: TestUser,
}

async fn setup(pool: PgPool) -> Fixture {
    let state = testing::state(pool.clone());
    let spv = testing::user(&state, "spv@test.example", &[Role::Supervisor]).await;
    let tech = testing::user(&state, "tech@test.example", &[Role::Technician]).await;
    Fixture { app: nexus_sla::router(state.clone()), pool, state, spv, tech }
}

fn office_hours() -> Value {
    json!([
        [["08:00", "17:00"]],
        [["08:00", "17:00"]],
        [["08:00", "17:00"]],
        [["08:00", "17:00"]],
        [["08:00", "12:00"], ["13:00", "17:00"]],
        [],
        []
    ])
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn defaults_exist_and_a_rule_is_replaced_in_place(pool: PgPool) {
    let f = setup(pool).await;
    let rules = get(&f.app, "/api/sla", &f.tech).await;
    assert_eq!(rules.status, StatusCode::OK);
    assert_eq!(rules.body["items"].as_array().unwrap().len(), 8, "two types x four priorities");
    let r = post(&f.app, "/api/sla", &f.spv, json!({"ticket_type": "CM", "priority": "critical", "response_target_minutes": 30, "resolution_target_minutes": 180, "warning_ratio": 0.75})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!((r.body["response_target_minutes"].as_i64(), r.body["warning_ratio"].as_f64()), (Some(30), Some(0.75)));
    let changes: Value = sqlx::query_scalar("SELECT changes FROM audit_logs WHERE entity_type = 'sla_rule'")
        .fetch_one(&f.pool)
        .await
        .unwrap();
    assert_eq!(changes["response_target_minutes"], json!({"old": 60, "new": 30}));
    sqlx::query("DELETE FROM sla_matrices WHERE ticket_type = 'PM' AND priority = 'low'")
        .execute(&f.pool)
        .await
        .unwrap();
    let created = post(
        &f.app,
        "/api/sla",
        &f.spv,
        json!({"ticket_type": "PM", "priority": "low", "response_target_minutes": 60, "resolution_target_minutes": 60}),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn bad_rules_are_422_and_technicians_cannot_write(pool: PgPool) {
    let f = setup(pool).await;
    let cases = [
        (
            json!({"ticket_type": "CM", "priority": "low", "response_target_minutes": 60, "resolution_target_minutes": 30}),
            "resolution_target_minutes",
        ),
        (
            json!({"ticket_type": "CM", "priority": "low", "response_target_minutes": 0, "resolution_target_minutes": 30}),
            "response_target_minutes",
        ),
        (
            json!({"ticket_type": "CM", "priority": "low", "response_target_minutes": 6, "resolution_target_minutes": 30, "warning_ratio": 1.5}),
            "warning_ratio",
        ),
        (
            json!({"ticket_type": "CM", "priority": "low", "response_target_minutes": 6, "resolution_target_minutes": 30, "calendar_id": 4242}),
            "calendar_id",
        ),
        (
            json!({"ticket_type": "XX", "priority": "low", "response_target_minutes": 6, "resolution_target_minutes": 30}),
            "ticket_type",
        ),
    ];
    for (body, field) in cases {
        let r = post(&f.app, "/api/sla", &f.spv, body.clone()).await;
        assert_eq!(
            (r.status, r.body["errors"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{body}"
        );
    }
    let r = post(
        &f.app,
        "/api/sla",
        &f.tech,
        json!({"ticket_type": "CM", "priority": "low", "response_target_minutes": 6, "resolution_target_minutes": 30}),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn calendars_are_validated(pool: PgPool) {
    let f = setup(pool).await;
    let ok = post(&f.app, "/api/sla/calendars", &f.spv, json!({"name": "Office WIB", "kind": "business_hours", "weekly_hours": office_hours(), "holidays": ["2026-12-25"]})).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{:?}", ok.body);
    assert_eq!(ok.body["holidays"], json!(["2026-12-25"]));
    let dup = post(&f.app, "/api/sla/calendars", &f.spv, json!({"name": "Office WIB", "kind": "24x7"})).await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    let bad = [
        json!({"name": "a", "kind": "business_hours", "weekly_hours": [[["08:00", "17:00"]]]}),
        json!({"name": "b", "kind": "business_hours", "weekly_hours": [[["17:00", "08:00"]], [], [], [], [], [], []]}),
        json!({"name": "c", "kind": "business_hours", "weekly_hours": [[["08:00", "25:00"]], [], [], [], [], [], []]}),
        json!({"name": "d", "kind": "business_hours", "weekly_hours": [[], [], [], [], [], [], []]}),
        json!({"name": "e", "kind": "24x7", "holidays": ["2026-12-25"]}),
    ];
    for body in bad {
        let r = post(&f.app, "/api/sla/calendars", &f.spv, body.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {:?}", r.body);
    }
    assert_eq!(get(&f.app, "/api/sla/calendars", &f.tech).await.body["items"].as_array().unwrap().len(), 2);
}

/// The whole chain: a business-hours rule, a ticket at a WITA site, deadlines by that calendar
/// in Asia/Makassar.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn tickets_get_deadlines_from_a_business_hours_rule_in_the_site_zone(pool: PgPool) {
    let f = setup(pool).await;
    let cal = post(
        &f.app,
        "/api/sla/calendars",
        &f.spv,
        json!({"name": "Office", "kind": "business_hours", "weekly_hours": office_hours()}),
    )
    .await
    .body;
    post(&f.app, "/api/sla", &f.spv, json!({"ticket_type": "CM", "priority": "medium", "response_target_minutes": 120, "resolution_target_minutes": 960, "calendar_id": cal["id"]})).await;
    let asset = testing::site(&f.pool, "UPG1", "Asia/Makassar").await.asset_id;
    let tickets = nexus_tickets::router(f.state.clone());
    let t = post(
        &tickets,
        "/api/tickets",
        &f.spv,
        json!({"asset_id": asset, "ticket_type": "CM", "priority": "medium", "description": "x"}),
    )
    .await
    .body;

    let t_time = |v: &Value| v.as_str().unwrap().parse::<DateTime<Utc>>().unwrap();
    let at = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
    let day = vec![(at(8, 0), at(17, 0))];
    let friday = vec![(at(8, 0), at(12, 0)), (at(13, 0), at(17, 0))];
    let hours =
        BusinessHours::new([day.clone(), day.clone(), day.clone(), day, friday, vec![], vec![]], BTreeSet::new())
            .unwrap();
    let calendar = Calendar::BusinessHours(hours);
    let created = t_time(&t["created_at"]);
    let tz = chrono_tz::Asia::Makassar;
    assert_eq!(t_time(&t["sla"]["response_due_at"]), calendar.add(created, Duration::minutes(120), tz));
    assert_eq!(t_time(&t["sla"]["resolution_due_at"]), calendar.add(created, Duration::minutes(960), tz));
    assert_ne!(
        t_time(&t["sla"]["resolution_due_at"]),
        calendar.add(created, Duration::minutes(960), chrono_tz::Asia::Jakarta),
        "the zone matters"
    );
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn events_are_listed_for_planners_only(pool: PgPool) {
    let f = setup(pool).await;
    let asset = testing::site(&f.pool, "L", "Asia/Jakarta").await.asset_id;
    let tickets = nexus_tickets::router(f.state.clone());
    let t = post(
        &tickets,
        "/api/tickets",
        &f.spv,
        json!({"asset_id": asset, "ticket_type": "CM", "priority": "low", "description": "x"}),
    )
    .await
    .body;
    sqlx::query(
        "INSERT INTO sla_events (ticket_id, kind, line_at, detected_at) VALUES
         ($1, 'response_warning', now() - interval '2 hours', now() - interval '1 hour'), ($1, 'response_breach', now(), now())",
    )
    .bind(t["id"].as_i64())
    .execute(&f.pool)
    .await
    .unwrap();
    let all = get(&f.app, "/api/sla/events", &f.spv).await;
    assert_eq!(all.status, StatusCode::OK, "{:?}", all.body);
    assert_eq!(all.body["items"][0]["kind"], "response_breach", "newest first");
    assert_eq!(all.body["items"][0]["ticket_number"], t["number"]);
    let kind = get(&f.app, "/api/sla/events?kind=response_warning", &f.spv).await;
    assert_eq!(kind.body["items"].as_array().unwrap().len(), 1);
    let since = (Utc::now() - Duration::minutes(30)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(
        get(&f.app, &format!("/api/sla/events?since={since}&ticket_id={}", t["id"]), &f.spv).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(get(&f.app, "/api/sla/events?kind=late", &f.spv).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(get(&f.app, "/api/sla/events", &f.tech).await.status, StatusCode::FORBIDDEN);
    let event = testing::apigw_v2_event("GET", "/api/sla/events", "limit=1", Some(&f.spv.token), None);
    let r = testing::send_event(&f.app, event).await;
    assert_eq!((r.status, r.body["items"].as_array().unwrap().len()), (StatusCode::OK, 1));
    assert!(r.body["next_cursor"].is_string());
}

/// Both lists follow the list conventions: a page of `limit`, a `next_cursor` to the rest, the
/// sorts they offer (and a 422 for one they do not).
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn rules_and_calendars_page_like_every_list(pool: PgPool) {
    let f = setup(pool).await;
    let first = get(&f.app, "/api/sla?limit=5", &f.tech).await;
    assert_eq!(first.body["items"].as_array().unwrap().len(), 5);
    let cursor = first.body["next_cursor"].as_str().expect("a next page").to_string();
    let rest = get(&f.app, &format!("/api/sla?limit=5&cursor={cursor}"), &f.tech).await;
    assert_eq!(rest.body["items"].as_array().unwrap().len(), 3);
    assert!(rest.body["next_cursor"].is_null());
    for name in ["Office", "Branch", "Mall"] {
        let r = post(
            &f.app,
            "/api/sla/calendars",
            &f.spv,
            json!({"name": name, "kind": "business_hours", "weekly_hours": office_hours()}),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
    let by_name = get(&f.app, "/api/sla/calendars?sort=name&limit=2", &f.tech).await;
    let names: Vec<&str> =
        by_name.body["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["24x7", "Branch"]);
    assert!(by_name.body["next_cursor"].is_string());
    assert_eq!(get(&f.app, "/api/sla/calendars?sort=kind", &f.tech).await.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// A calendar changes in place (next year's holidays), audited; only the fields given change,
/// the result is checked whole, and tickets opened before keep the lines they were given.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_calendar_changes_in_place_and_open_tickets_keep_their_lines(pool: PgPool) {
    let f = setup(pool).await;
    let cal = post(
        &f.app,
        "/api/sla/calendars",
        &f.spv,
        json!({"name": "Office", "kind": "business_hours", "weekly_hours": office_hours(), "holidays": ["2026-12-25"]}),
    )
    .await
    .body;
    let url = format!("/api/sla/calendars/{}", cal["id"]);
    let site = testing::site(&f.pool, "UPG0001", "Asia/Makassar").await;
    post(&f.app, "/api/sla", &f.spv, json!({"ticket_type": "CM", "priority": "high", "response_target_minutes": 120, "resolution_target_minutes": 480, "calendar_id": cal["id"]})).await;
    let tickets = nexus_tickets::router(f.state.clone());
    let ticket = post(
        &tickets,
        "/api/tickets",
        &f.spv,
        json!({"asset_id": site.asset_id, "ticket_type": "CM", "priority": "high", "description": "Card reader"}),
    )
    .await
    .body;
    let lines = |t: &Value| (t["response_due_at"].clone(), t["resolution_due_at"].clone());

    let r = testing::put(&f.app, &url, &f.spv, json!({"holidays": ["2027-01-01", "2026-12-25"]})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["holidays"], json!(["2026-12-25", "2027-01-01"]));
    assert_eq!((&r.body["name"], &r.body["kind"]), (&json!("Office"), &json!("business_hours")), "the rest kept");
    let audited: Value =
        sqlx::query_scalar("SELECT changes FROM audit_logs WHERE entity_type = 'sla_calendar' AND action = 'update'")
            .fetch_one(&f.pool)
            .await
            .unwrap();
    assert_eq!(audited["holidays"]["new"], json!(["2026-12-25", "2027-01-01"]));
    let again = get(&tickets, &format!("/api/tickets/{}", ticket["id"]), &f.spv).await.body;
    assert_eq!(lines(&again), lines(&ticket), "stored SLA lines do not move");

    let to_24x7 = testing::put(&f.app, &url, &f.spv, json!({"kind": "24x7"})).await;
    assert_eq!(to_24x7.status, StatusCode::UNPROCESSABLE_ENTITY, "a 24x7 calendar with hours: {:?}", to_24x7.body);
    let taken = testing::put(&f.app, &url, &f.spv, json!({"name": "24x7"})).await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert_eq!(
        testing::put(&f.app, "/api/sla/calendars/999999", &f.spv, json!({"name": "X"})).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(testing::put(&f.app, &url, &f.tech, json!({"name": "Mine"})).await.status, StatusCode::FORBIDDEN);
}

/// The built binary, started as Lambda starts it, answers its event from the test kit's table
/// through the Runtime API.
#[sqlx::test(migrations = false)]
async fn the_built_function_answers_through_the_lambda_runtime_api(pool: sqlx::PgPool) {
    nexus_testkit::built::the_built_function_answers(env!("CARGO_BIN_EXE_sla"), pool).await;
}
