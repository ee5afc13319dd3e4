//! The PM plans API against real Postgres: creating a plan generates what is due at once,
//! validation names every field, a rule change cancels and regenerates the tickets made ahead,
//! deleting keeps the plan, and the forecast follows the generator's rules.

use axum::http::{Method, StatusCode, header};
use chrono::{Days, NaiveDate, Utc};
use nexus_testkit::{Crew, crew, delete, get, post, put, request, send, site, state};
use serde_json::{Value, json};
use sqlx::PgPool;

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn in_days(n: u64) -> NaiveDate {
    today().checked_add_days(Days::new(n)).unwrap()
}

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

/// A daily plan for region Jawa starting in two days, 7 days ahead.
fn daily() -> Value {
    json!({"name": "Daily check", "priority": "medium", "scope": {"region": ["Jawa"]},
           "recurrence": {"every": 1, "unit": "day"}, "anchor": "fixed",
           "starts_on": in_days(2), "start_time": "08:00", "open_policy": "always"})
}

async fn plan_tickets(pool: &PgPool, plan_id: i64) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT status, to_char(scheduled_for AT TIME ZONE 'Asia/Jakarta', 'YYYY-MM-DD HH24:MI') FROM tickets
         WHERE pm_plan_id = $1 ORDER BY scheduled_for, id",
    )
    .bind(plan_id)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_new_plan_generates_what_is_within_its_lead_time(pool: PgPool) {
    let w = world(pool).await;
    let created = post(&w.router, "/api/pm-plans", &w.crew.supervisor, daily()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.headers[header::ETAG], "\"1\"");
    let plan = created.body;
    assert_eq!(plan["active"], true);
    assert_eq!(plan["description"], "Daily check");
    assert_eq!(plan["non_working"], "next");
    assert_eq!(plan["generate_ahead_days"], 7);
    assert_eq!(plan["scope"], json!({"region": ["Jawa"]}));
    assert_eq!(plan["start_time"], "08:00");
    let id = plan["id"].as_i64().unwrap();

    // Due from in 2 days to in 7 days at 08:00 WIB: at least 5 of those are within 7 days of now.
    let tickets = plan_tickets(&w.pool, id).await;
    assert!((5..=6).contains(&tickets.len()), "{tickets:?}");
    assert_eq!(tickets[0], ("open".to_string(), format!("{} 08:00", in_days(2))));

    let got = get(&w.router, &format!("/api/pm-plans/{id}"), &w.crew.viewer).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body, plan, "what was answered at creation is what is read");
    let listed = get(&w.router, "/api/pm-plans?region=Jawa&active=true", &w.crew.technician).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    let by_asset = get(&w.router, &format!("/api/pm-plans?asset_id={}", w.asset_id), &w.crew.viewer).await;
    assert_eq!(by_asset.body["items"][0]["id"], id);
    let elsewhere = get(&w.router, "/api/pm-plans?region=Bali", &w.crew.viewer).await;
    assert_eq!(elsewhere.body["items"], json!([]));
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_logs WHERE entity_type = 'pm_plan' AND entity_id = $1")
            .bind(id)
            .fetch_one(&w.pool)
            .await
            .unwrap();
    assert_eq!(audited, 1);
}

#[sqlx::test(migrations = "../../migrations")]
async fn bad_plans_are_refused_naming_each_field(pool: PgPool) {
    let w = world(pool).await;
    let mut body = daily();
    body["scope"] = json!({"asset_ids": [w.asset_id, 999999]});
    body["calendar_id"] = json!(424242);
    body["assigned_to"] = json!(w.crew.viewer.id);
    let r = post(&w.router, "/api/pm-plans", &w.crew.admin, body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    let fields: Vec<&str> = r.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["scope.asset_ids", "calendar_id", "assigned_to"]);

    for (role, status) in [(&w.crew.technician, StatusCode::FORBIDDEN), (&w.crew.viewer, StatusCode::FORBIDDEN)] {
        assert_eq!(post(&w.router, "/api/pm-plans", role, daily()).await.status, status);
    }
    let anonymous = send(&w.router, request(Method::GET, "/api/pm-plans", None, None)).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let nothing: i64 = sqlx::query_scalar("SELECT count(*) FROM pm_plans").fetch_one(&w.pool).await.unwrap();
    assert_eq!(nothing, 0);
}

/// A rule change cancels the tickets made ahead (audited) and makes them again under the new
/// rule; a stale If-Match changes nothing.
#[sqlx::test(migrations = "../../migrations")]
async fn changing_the_rule_regenerates_the_tickets_made_ahead(pool: PgPool) {
    let w = world(pool).await;
    let plan = post(&w.router, "/api/pm-plans", &w.crew.supervisor, daily()).await.body;
    let id = plan["id"].as_i64().unwrap();
    let url = format!("/api/pm-plans/{id}");
    let before = plan_tickets(&w.pool, id).await;

    let mut stale = request(Method::PUT, &url, Some(&w.crew.supervisor.token), Some(json!({"start_time": "10:00"})));
    stale.headers_mut().insert(header::IF_MATCH, "\"7\"".parse().unwrap());
    assert_eq!(send(&w.router, stale).await.status, StatusCode::PRECONDITION_FAILED);

    let mut fresh = request(Method::PUT, &url, Some(&w.crew.supervisor.token), Some(json!({"start_time": "10:00"})));
    fresh.headers_mut().insert(header::IF_MATCH, "\"1\"".parse().unwrap());
    let changed = send(&w.router, fresh).await;
    assert_eq!(changed.status, StatusCode::OK, "{:?}", changed.body);
    assert_eq!(changed.body["start_time"], "10:00");
    assert_eq!(changed.headers[header::ETAG], "\"2\"");

    let after = plan_tickets(&w.pool, id).await;
    let cancelled: Vec<_> = after.iter().filter(|t| t.0 == "cancelled").map(|t| t.1.clone()).collect();
    let open: Vec<_> = after.iter().filter(|t| t.0 == "open").map(|t| t.1.clone()).collect();
    assert_eq!(
        cancelled,
        before.iter().map(|t| t.1.clone()).collect::<Vec<_>>(),
        "every ticket made ahead is cancelled"
    );
    assert_eq!(open.len(), before.len());
    assert!(open.iter().all(|at| at.ends_with("10:00")), "{open:?}");
    let audits: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_logs WHERE entity_type = 'ticket' AND action = 'update' AND changes->'status'->>'new' = 'cancelled'
           AND actor_id = $1",
    )
    .bind(w.crew.supervisor.id)
    .fetch_one(&w.pool)
    .await
    .unwrap();
    assert_eq!(audits as usize, before.len());
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_deleted_plan_is_kept_and_makes_nothing_more(pool: PgPool) {
    let w = world(pool).await;
    let id = post(&w.router, "/api/pm-plans", &w.crew.admin, daily()).await.body["id"].as_i64().unwrap();
    let url = format!("/api/pm-plans/{id}");
    let deleted = delete(&w.router, &url, &w.crew.admin).await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert_eq!(deleted.body["active"], false);
    assert!(plan_tickets(&w.pool, id).await.iter().all(|t| t.0 == "cancelled"));
    let report = nexus_shared::pm::generate(&w.pool, Utc::now() + chrono::Duration::days(30)).await.unwrap();
    assert_eq!(report.generated, 0);
    assert_eq!(get(&w.router, &url, &w.crew.viewer).await.body["active"], false);
    assert_eq!(get(&w.router, "/api/pm-plans?active=false", &w.crew.viewer).await.body["items"][0]["id"], id);
    assert_eq!(get(&w.router, "/api/pm-plans/999999", &w.crew.viewer).await.status, StatusCode::NOT_FOUND);
}

/// A weekly plan on a calendar with a holiday: the forecast shows the move, what was
/// generated, and pages by due date.
#[sqlx::test(migrations = "../../migrations")]
async fn the_forecast_follows_the_generators_rules(pool: PgPool) {
    let w = world(pool).await;
    let second = site(&w.pool, "JKT0002", "Asia/Jakarta").await;
    sqlx::query("UPDATE locations SET region = 'Jawa'").execute(&w.pool).await.unwrap();
    let holiday = in_days(14);
    let calendar: i64 = sqlx::query_scalar(
        "INSERT INTO sla_calendars (name, kind, holidays) VALUES ('holidays only', '24x7', ARRAY[$1::date]) RETURNING id",
    )
    .bind(holiday)
    .fetch_one(&w.pool)
    .await
    .unwrap();
    // 24x7 calendars have no closed days; give it business hours every day so the holiday counts.
    let every_day = r#"[[["00:00","23:59"]],[["00:00","23:59"]],[["00:00","23:59"]],[["00:00","23:59"]],[["00:00","23:59"]],[["00:00","23:59"]],[["00:00","23:59"]]]"#;
    sqlx::query("UPDATE sla_calendars SET kind = 'business_hours', weekly_hours = $2::jsonb WHERE id = $1")
        .bind(calendar)
        .bind(every_day)
        .execute(&w.pool)
        .await
        .unwrap();
    let mut body = daily();
    body["recurrence"] = json!({"every": 1, "unit": "week"});
    body["starts_on"] = json!(in_days(0));
    body["calendar_id"] = json!(calendar);
    let id = post(&w.router, "/api/pm-plans", &w.crew.supervisor, body).await.body["id"].as_i64().unwrap();

    let url = format!("/api/pm-plans/{id}/forecast?from={}&to={}&limit=3", in_days(0), in_days(20));
    let first = get(&w.router, &url, &w.crew.viewer).await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    let mut items = first.body["items"].as_array().unwrap().clone();
    let cursor = first.body["next_cursor"].as_str().unwrap().to_string();
    let rest = get(&w.router, &format!("{url}&cursor={cursor}"), &w.crew.viewer).await;
    items.extend(rest.body["items"].as_array().unwrap().iter().cloned());
    assert_eq!(rest.body["next_cursor"], Value::Null);
    let seen: Vec<(i64, String, String, Value)> = items
        .iter()
        .map(|i| {
            (
                i["asset_id"].as_i64().unwrap(),
                i["due_on"].as_str().unwrap().into(),
                i["outcome"].as_str().unwrap().into(),
                i["shifted_from"].clone(),
            )
        })
        .collect();
    let (a, b) = (w.asset_id, second.asset_id);
    let (d0, d7, d15) = (in_days(0).to_string(), in_days(7).to_string(), in_days(15).to_string());
    // Today's 08:00 WIB may already be past at creation; either way it was within the lead time.
    assert_eq!(
        seen,
        [
            (a, d0.clone(), "generated".into(), Value::Null),
            (b, d0, "generated".into(), Value::Null),
            (a, d7.clone(), "generated".into(), Value::Null),
            (b, d7, "generated".into(), Value::Null),
            (a, d15.clone(), "generate".into(), json!(holiday)),
            (b, d15, "generate".into(), json!(holiday)),
        ]
    );
    assert_eq!(items[0]["location_code"], "JKT0001");
    assert!(items[0]["ticket_id"].is_i64());

    let too_long = format!("/api/pm-plans/{id}/forecast?from={}&to={}", in_days(0), in_days(366));
    let r = get(&w.router, &too_long, &w.crew.viewer).await;
    assert_eq!((r.status, r.body["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("to")));
    let bad_cursor = get(&w.router, &format!("{url}&cursor=nonsense"), &w.crew.viewer).await;
    assert_eq!(bad_cursor.status, StatusCode::UNPROCESSABLE_ENTITY);

    let occurrences = get(&w.router, &format!("/api/pm-plans/{id}/occurrences?sort=due_on"), &w.crew.technician).await;
    assert_eq!(occurrences.status, StatusCode::OK);
    let outcomes: Vec<_> =
        occurrences.body["items"].as_array().unwrap().iter().map(|o| o["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["generated"; 4]);
}

#[sqlx::test(migrations = "../../migrations")]
async fn put_changes_only_what_is_given(pool: PgPool) {
    let w = world(pool).await;
    let id = post(&w.router, "/api/pm-plans", &w.crew.admin, daily()).await.body["id"].as_i64().unwrap();
    let url = format!("/api/pm-plans/{id}");
    let r = put(&w.router, &url, &w.crew.admin, json!({"name": "Renamed", "ends_on": in_days(30)})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!((r.body["name"].as_str(), r.body["recurrence"]["unit"].as_str()), (Some("Renamed"), Some("day")));
    let r = put(
        &w.router,
        &url,
        &w.crew.admin,
        json!({"ends_on": null, "recurrence": {"every": 2, "unit": "month", "weekdays": ["mon"]}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["errors"][0]["field"], "recurrence.weekdays");
    assert_eq!(
        get(&w.router, &url, &w.crew.admin).await.body["ends_on"],
        json!(in_days(30)),
        "a refused change changes nothing"
    );
}

#[sqlx::test(migrations = false)]
async fn the_built_function_answers_through_the_lambda_runtime_api(pool: PgPool) {
    nexus_testkit::built::the_built_function_answers(env!("CARGO_BIN_EXE_pm"), pool).await;
}

/// A plan's checklist goes on every ticket it generates, at the checklist's latest version.
#[sqlx::test(migrations = "../../migrations")]
async fn generated_tickets_carry_the_plans_checklist(pool: PgPool) {
    let w = world(pool).await;
    let checklist: i64 = sqlx::query_scalar(
        "WITH c AS (INSERT INTO checklists (name, version) VALUES ('Daily', 2) RETURNING id),
              v AS (INSERT INTO checklist_versions (checklist_id, version, name, items)
                    SELECT id, n, 'Daily', '[]' FROM c, generate_series(1, 2) n)
         SELECT id FROM c",
    )
    .fetch_one(&w.pool)
    .await
    .unwrap();
    let mut body = daily();
    body["checklist_id"] = json!(999_999);
    let refused = post(&w.router, "/api/pm-plans", &w.crew.supervisor, body.clone()).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.body["errors"][0]["field"], "checklist_id");
    body["checklist_id"] = json!(checklist);
    let created = post(&w.router, "/api/pm-plans", &w.crew.supervisor, body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.body["checklist_id"], checklist);
    let on_tickets: Vec<(Option<i64>, Option<i32>)> =
        sqlx::query_as("SELECT checklist_id, checklist_version FROM tickets WHERE pm_plan_id = $1")
            .bind(created.body["id"].as_i64().unwrap())
            .fetch_all(&w.pool)
            .await
            .unwrap();
    assert!(!on_tickets.is_empty());
    assert!(on_tickets.iter().all(|t| *t == (Some(checklist), Some(2))), "{on_tickets:?}");
}

/// Walking a forecast a page at a time (1, 2 or 3 items) gives exactly the one big page: a daily
/// plan whose weekend dates merge onto Monday (several occurrences on one due date, told apart by
/// the cursor), a floating plan, and a floating daily one whose Saturday moves back onto the
/// Friday it follows (its chain stops there instead of repeating that Friday forever), over
/// three sites in two zones.
#[sqlx::test(migrations = "../../migrations")]
async fn forecast_pages_walk_the_same_sequence_as_one_page(pool: PgPool) {
    let w = world(pool).await;
    site(&w.pool, "JKT0002", "Asia/Jakarta").await;
    site(&w.pool, "DJJ0003", "Asia/Jayapura").await;
    sqlx::query("UPDATE locations SET region = 'Jawa'").execute(&w.pool).await.unwrap();
    let hours = r#"[[["08:00","17:00"]],[["08:00","17:00"]],[["08:00","17:00"]],[["08:00","17:00"]],[["08:00","17:00"]],[],[]]"#;
    let calendar: i64 = sqlx::query_scalar(
        "INSERT INTO sla_calendars (name, kind, weekly_hours, holidays)
         VALUES ('office', 'business_hours', $1::jsonb, ARRAY[$2::date]) RETURNING id",
    )
    .bind(hours)
    .bind(in_days(9))
    .fetch_one(&w.pool)
    .await
    .unwrap();
    let plan = |anchor: &str, every: i64, non_working: &str, at_least: usize| {
        let mut body = daily();
        body["anchor"] = json!(anchor);
        body["recurrence"] = json!({"every": every, "unit": "day"});
        body["starts_on"] = json!(in_days(0));
        body["calendar_id"] = json!(calendar);
        body["non_working"] = json!(non_working);
        (body, at_least)
    };
    let plans = [plan("fixed", 1, "next", 90), plan("floating", 3, "next", 20), plan("floating", 1, "previous", 0)];
    for (body, at_least) in plans {
        let created = post(&w.router, "/api/pm-plans", &w.crew.supervisor, body).await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        let id = created.body["id"].as_i64().unwrap();
        let base = format!("/api/pm-plans/{id}/forecast?from={}&to={}", in_days(0), in_days(40));
        let whole = get(&w.router, &format!("{base}&limit=500"), &w.crew.viewer).await;
        assert_eq!(whole.status, StatusCode::OK, "{:?}", whole.body);
        assert_eq!(whole.body["next_cursor"], Value::Null);
        let whole = whole.body["items"].as_array().unwrap().clone();
        assert!(whole.len() >= at_least, "plan {id}: {whole:?}");
        for limit in 1..=3 {
            let (mut walked, mut url) = (Vec::new(), format!("{base}&limit={limit}"));
            loop {
                let page = get(&w.router, &url, &w.crew.viewer).await;
                assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
                let items = page.body["items"].as_array().unwrap();
                assert!(items.len() <= limit && (!items.is_empty() || whole.is_empty()), "plan {id}: {items:?}");
                walked.extend(items.iter().cloned());
                match page.body["next_cursor"].as_str() {
                    Some(cursor) => url = format!("{base}&limit={limit}&cursor={cursor}"),
                    None => break,
                }
            }
            assert_eq!(walked, whole, "plan {id}, limit={limit}");
        }
    }
}
