//! The PM generator against real Postgres: what it generates, where and when (each site's own
//! zone, holidays, lead time), exactly once under reruns and overlapping runs, the open-ticket
//! policy, scope changes, floating plans, and SLA clocks that start at `scheduled_for`.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use nexus_pm_generate::{GenerateReport, run};
use nexus_testkit::{Site, site};
use sqlx::PgPool;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("an RFC 3339 instant")
}

fn date(s: &str) -> NaiveDate {
    s.parse().expect("a date")
}

/// A plan as the tests write it; `Default` is a weekly fixed plan from Tuesday 2026-12-01 at
/// 08:00 on the 24x7 calendar, 7 days ahead, scoped to region `Jawa`.
struct Plan {
    every: i32,
    unit: &'static str,
    anchor: &'static str,
    starts_on: &'static str,
    calendar: &'static str,
    non_working: &'static str,
    ahead: i32,
    open_policy: &'static str,
    regions: Option<Vec<&'static str>>,
    asset_ids: Option<Vec<i64>>,
    generated_through: Option<&'static str>,
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            every: 1,
            unit: "week",
            anchor: "fixed",
            starts_on: "2026-12-01",
            calendar: "24x7",
            non_working: "next",
            ahead: 7,
            open_policy: "always",
            regions: Some(vec!["Jawa"]),
            asset_ids: None,
            generated_through: None,
        }
    }
}

async fn plan(pool: &PgPool, p: Plan) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO pm_plans (name, description, priority, regions, asset_ids, every, unit, anchor, starts_on,
             start_time, calendar_id, non_working, generate_ahead_days, open_policy, generated_through)
         VALUES ('Site inspection', 'Inspect the ATM and its surroundings', 'medium', $1, $2, $3, $4, $5, $6,
             '08:00', (SELECT id FROM sla_calendars WHERE name = $7), $8, $9, $10, $11)
         RETURNING id",
    )
    .bind(p.regions.map(|r| r.into_iter().map(String::from).collect::<Vec<_>>()))
    .bind(p.asset_ids)
    .bind(p.every)
    .bind(p.unit)
    .bind(p.anchor)
    .bind(date(p.starts_on))
    .bind(p.calendar)
    .bind(p.non_working)
    .bind(p.ahead)
    .bind(p.open_policy)
    .bind(p.generated_through.map(date))
    .fetch_one(pool)
    .await
    .expect("insert plan")
}

/// A site in `region` and `zone`.
async fn site_in(pool: &PgPool, code: &str, zone: &str, region: &str) -> Site {
    let s = site(pool, code, zone).await;
    sqlx::query("UPDATE locations SET region = $2 WHERE id = $1")
        .bind(s.location_id)
        .bind(region)
        .execute(pool)
        .await
        .unwrap();
    s
}

/// Mon-Fri 08:00-17:00 with the given holidays.
async fn office_calendar(pool: &PgPool, holidays: &[&str]) {
    let day = r#"[["08:00","17:00"]]"#;
    sqlx::query(
        "INSERT INTO sla_calendars (name, kind, weekly_hours, holidays) VALUES ('office', 'business_hours', $1::jsonb, $2)",
    )
    .bind(format!("[{day},{day},{day},{day},{day},[],[]]"))
    .bind(holidays.iter().map(|h| date(h)).collect::<Vec<_>>())
    .execute(pool)
    .await
    .unwrap();
}

#[derive(Debug, PartialEq, sqlx::FromRow)]
struct Generated {
    asset_id: i64,
    number: String,
    status: String,
    scheduled_for: DateTime<Utc>,
    sla_started_at: DateTime<Utc>,
    response_due_at: DateTime<Utc>,
    resolution_due_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
}

async fn tickets_of(pool: &PgPool, plan_id: i64) -> Vec<Generated> {
    sqlx::query_as(
        "SELECT asset_id, number, status, scheduled_for, sla_started_at, response_due_at, resolution_due_at, created_at
         FROM tickets WHERE pm_plan_id = $1 ORDER BY scheduled_for, asset_id",
    )
    .bind(plan_id)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// `(asset_id, due_on, outcome, shifted_from)` of every occurrence of a plan, in order.
async fn occurrences(pool: &PgPool, plan_id: i64) -> Vec<(i64, NaiveDate, String, Option<NaiveDate>)> {
    sqlx::query_as(
        "SELECT asset_id, due_on, outcome, shifted_from FROM pm_occurrences WHERE plan_id = $1 ORDER BY due_on, asset_id",
    )
    .bind(plan_id)
    .fetch_all(pool)
    .await
    .unwrap()
}

fn report(generated: u64, skipped_open: u64, skipped_non_working: u64, plans_due: u64) -> GenerateReport {
    GenerateReport { plans_due, generated, skipped_open, skipped_non_working }
}

/// 08:00 on Tuesday 2026-12-01 in Jakarta (WIB, UTC+7) and Jayapura (WIT, UTC+9); a week ahead
/// means the tickets appear from 2026-11-24 at those instants, and not before.
#[sqlx::test(migrations = "../../migrations")]
async fn generates_each_site_at_its_own_wall_clock_once(pool: PgPool) {
    let jakarta = site_in(&pool, "JKT0001", "Asia/Jakarta", "Jawa").await;
    let jayapura = site_in(&pool, "DJJ0001", "Asia/Jayapura", "Jawa").await;
    site_in(&pool, "DPS0001", "Asia/Makassar", "Bali").await;
    let plan_id = plan(&pool, Plan::default()).await;

    // The day before the lead time starts in Jayapura (the earliest zone): nothing.
    assert_eq!(run(&pool, at("2026-11-23T22:59:00Z")).await.unwrap(), report(0, 0, 0, 1));
    // Jayapura's 08:00 minus 7 days has passed; Jakarta's has not.
    assert_eq!(run(&pool, at("2026-11-23T23:00:00Z")).await.unwrap(), report(1, 0, 0, 1));
    assert_eq!(run(&pool, at("2026-11-24T00:59:00Z")).await.unwrap(), report(0, 0, 0, 1));
    assert_eq!(run(&pool, at("2026-11-24T01:00:00Z")).await.unwrap(), report(1, 0, 0, 1));

    let tickets = tickets_of(&pool, plan_id).await;
    let due_jayapura = at("2026-11-30T23:00:00Z");
    let due_jakarta = at("2026-12-01T01:00:00Z");
    assert_eq!(
        tickets.iter().map(|t| (t.asset_id, t.scheduled_for)).collect::<Vec<_>>(),
        [(jayapura.asset_id, due_jayapura), (jakarta.asset_id, due_jakarta)]
    );
    for t in &tickets {
        assert_eq!(t.status, "open");
        // The clocks start when the work is due, not when the ticket appeared a week before:
        // PM medium on 24x7 is 1440 minutes to respond and 4320 to resolve.
        assert_eq!(t.sla_started_at, t.scheduled_for);
        assert_eq!(t.response_due_at, t.scheduled_for + Duration::minutes(1440));
        assert_eq!(t.resolution_due_at, t.scheduled_for + Duration::minutes(4320));
        assert!(t.created_at < t.scheduled_for - Duration::days(6));
    }
    assert_eq!(tickets.iter().map(|t| t.number.as_str()).collect::<Vec<_>>(), ["PM-2026-000001", "PM-2026-000002"]);

    // Rerunning changes nothing; the plan's bookmark moved past 2026-12-01 so the run reads no asset.
    assert_eq!(run(&pool, at("2026-11-24T01:00:00Z")).await.unwrap(), report(0, 0, 0, 0));
    let bookmark: Option<NaiveDate> = sqlx::query_scalar("SELECT generated_through FROM pm_plans WHERE id = $1")
        .bind(plan_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(bookmark, Some(date("2026-12-01")));

    // Each ticket has its audit row by the system, naming the run.
    let audits: Vec<(Option<i64>, String, serde_json::Value)> = sqlx::query_as(
        "SELECT actor_id, request_id, changes FROM audit_logs WHERE entity_type = 'ticket' AND action = 'create' ORDER BY entity_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(audits.len(), 2);
    assert_eq!(audits[0].0, None);
    assert_eq!(audits[0].1, "pm-generate:2026-11-23T23:00:00.000000Z");
    assert_eq!(audits[0].2["pm_plan_id"]["new"], plan_id);
    assert_eq!(audits[1].2["number"]["new"], "PM-2026-000002");

    // The next week's date comes a week later.
    assert_eq!(run(&pool, at("2026-12-01T01:00:00Z")).await.unwrap(), report(2, 0, 0, 1));
    assert_eq!(tickets_of(&pool, plan_id).await.len(), 4);
}

#[sqlx::test(migrations = "../../migrations")]
async fn overlapping_runs_create_each_ticket_once(pool: PgPool) {
    for n in 0..40 {
        site_in(&pool, &format!("JKT{n:04}"), "Asia/Jakarta", "Jawa").await;
    }
    let plan_id = plan(&pool, Plan { every: 1, unit: "day", ahead: 3, ..Plan::default() }).await;
    let now = at("2026-12-01T00:00:00Z");
    let runs: Vec<_> = (0..4)
        .map(|_| {
            tokio::spawn({
                let pool = pool.clone();
                async move { run(&pool, now).await.unwrap() }
            })
        })
        .collect();
    let mut generated = 0;
    for r in runs {
        generated += r.await.unwrap().generated;
    }
    // 2026-12-01 .. 2026-12-03 at 08:00 WIB (01:00 UTC) are within 3 days of 00:00 UTC on the
    // 1st, the 4th is not: 3 dates x 40 sites.
    assert_eq!(generated, 120, "the runs together generated each occurrence once");
    let tickets = tickets_of(&pool, plan_id).await;
    assert_eq!(tickets.len(), 120);
    let numbers: std::collections::BTreeSet<_> = tickets.iter().map(|t| t.number.clone()).collect();
    assert_eq!(numbers.len(), 120);
    assert_eq!(numbers.first().unwrap(), "PM-2026-000001");
    assert_eq!(numbers.last().unwrap(), "PM-2026-000120", "numbers are gap-free among committed tickets");
    assert_eq!(occurrences(&pool, plan_id).await.len(), 120);
}

#[sqlx::test(migrations = "../../migrations")]
async fn skip_if_open_records_the_skip_until_the_ticket_is_closed(pool: PgPool) {
    let s = site_in(&pool, "JKT0001", "Asia/Jakarta", "Jawa").await;
    let plan_id =
        plan(&pool, Plan { every: 1, unit: "day", ahead: 2, open_policy: "skip_if_open", ..Plan::default() }).await;
    // The 1st and 2nd are within two days of 00:00 UTC on the 1st: the 2nd finds the 1st open.
    assert_eq!(run(&pool, at("2026-12-01T00:00:00Z")).await.unwrap(), report(1, 1, 0, 1));
    let outcomes: Vec<_> = occurrences(&pool, plan_id).await.into_iter().map(|o| (o.1.to_string(), o.2)).collect();
    assert_eq!(outcomes, [("2026-12-01".into(), "generated".into()), ("2026-12-02".into(), "skip_open".into()),]);
    // Cancelled counts as finished: the next date is generated.
    sqlx::query("UPDATE tickets SET status = 'cancelled', cancelled_at = now() WHERE pm_plan_id = $1")
        .bind(plan_id)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(run(&pool, at("2026-12-02T00:00:00Z")).await.unwrap(), report(1, 0, 0, 1));
    assert_eq!(tickets_of(&pool, plan_id).await.last().unwrap().scheduled_for, at("2026-12-03T01:00:00Z"));
    assert_eq!(s.asset_id, tickets_of(&pool, plan_id).await[1].asset_id);
}

/// A weekly Thursday plan on an office calendar whose Christmas Eve is a holiday.
#[sqlx::test(migrations = "../../migrations")]
async fn holidays_move_or_skip_occurrences(pool: PgPool) {
    office_calendar(&pool, &["2026-12-24", "2026-12-25"]).await;
    site_in(&pool, "JKT0001", "Asia/Jakarta", "Jawa").await;
    let weekly =
        |non_working| Plan { starts_on: "2026-12-24", calendar: "office", non_working, ahead: 7, ..Plan::default() };
    let next = plan(&pool, weekly("next")).await;
    let previous = plan(&pool, weekly("previous")).await;
    let skip = plan(&pool, weekly("skip")).await;
    // Monday the 28th 08:00 WIB minus 7 days has passed.
    run(&pool, at("2026-12-21T01:00:00Z")).await.unwrap();
    let pool = &pool;
    let first = |p| async move { occurrences(pool, p).await.into_iter().next().map(|o| (o.1, o.2, o.3)) };
    // The 25th is a holiday too and the 26th/27th a weekend: next working day is Monday the 28th.
    assert_eq!(first(next).await, Some((date("2026-12-28"), "generated".into(), Some(date("2026-12-24")))));
    assert_eq!(first(previous).await, Some((date("2026-12-23"), "generated".into(), Some(date("2026-12-24")))));
    assert_eq!(first(skip).await, Some((date("2026-12-24"), "skip_non_working".into(), None)));
    assert!(tickets_of(pool, skip).await.is_empty());
}

/// The scope is read at each generation: a decommissioned asset is dropped, a new one picked up.
#[sqlx::test(migrations = "../../migrations")]
async fn the_scope_is_evaluated_at_each_generation(pool: PgPool) {
    let old = site_in(&pool, "JKT0001", "Asia/Jakarta", "Jawa").await;
    let plan_id = plan(&pool, Plan { every: 1, unit: "day", ahead: 0, ..Plan::default() }).await;
    run(&pool, at("2026-12-01T01:00:00Z")).await.unwrap();
    sqlx::query("UPDATE assets SET status = 'decommissioned' WHERE id = $1")
        .bind(old.asset_id)
        .execute(&pool)
        .await
        .unwrap();
    let new = site_in(&pool, "JKT0002", "Asia/Jakarta", "Jawa").await;
    run(&pool, at("2026-12-02T01:00:00Z")).await.unwrap();
    let assets: Vec<_> = tickets_of(&pool, plan_id).await.into_iter().map(|t| t.asset_id).collect();
    assert_eq!(assets, [old.asset_id, new.asset_id]);
}

/// Floating: 30 days after the previous ticket was closed, not after it was due.
#[sqlx::test(migrations = "../../migrations")]
async fn a_floating_plan_restarts_from_the_closure(pool: PgPool) {
    site_in(&pool, "JKT0001", "Asia/Jakarta", "Jawa").await;
    let plan_id = plan(&pool, Plan { every: 30, unit: "day", anchor: "floating", ahead: 0, ..Plan::default() }).await;
    assert_eq!(run(&pool, at("2026-12-01T01:00:00Z")).await.unwrap().generated, 1);
    // Open: nothing more, however late.
    assert_eq!(run(&pool, at("2027-03-01T01:00:00Z")).await.unwrap().generated, 0);
    // Closed on 2026-12-11 (WIB): the next is due 2027-01-10 at 08:00 WIB.
    close_all(&pool, plan_id, at("2026-12-11T03:00:00Z")).await;
    assert_eq!(run(&pool, at("2027-01-10T00:59:00Z")).await.unwrap().generated, 0);
    assert_eq!(run(&pool, at("2027-01-10T01:00:00Z")).await.unwrap().generated, 1);
    assert_eq!(tickets_of(&pool, plan_id).await.last().unwrap().scheduled_for, at("2027-01-10T01:00:00Z"));
}

/// Closes every ticket of a plan at `when`, as an approval would (assignee, response, resolution).
async fn close_all(pool: &PgPool, plan_id: i64, when: DateTime<Utc>) {
    let technician: i64 = sqlx::query_scalar(
        "INSERT INTO users (email, password_hash) VALUES ('tech' || (SELECT count(*) FROM users) || '@test.example', 'x') RETURNING id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE tickets SET status = 'closed', assigned_to = $3, responded_at = $2, resolved_at = $2, closed_at = $2,
             resolution_notes = 'Done' WHERE pm_plan_id = $1 AND status <> 'closed'",
    )
    .bind(plan_id)
    .bind(when)
    .bind(technician)
    .execute(pool)
    .await
    .unwrap();
}

/// The SLA check leaves a ticket generated a week ahead alone until its clocks run out from
/// `scheduled_for`.
#[sqlx::test(migrations = "../../migrations")]
async fn the_sla_check_counts_from_scheduled_for(pool: PgPool) {
    site_in(&pool, "JKT0001", "Asia/Jakarta", "Jawa").await;
    let plan_id = plan(&pool, Plan::default()).await;
    let generated_at = at("2026-11-24T01:00:00Z");
    run(&pool, generated_at).await.unwrap();
    let flagged: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM tickets WHERE pm_plan_id = $1 AND (response_warning_at <= $2 OR response_due_at <= $2)",
    )
    .bind(plan_id)
    .bind(generated_at + Duration::days(6))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(flagged, 0, "six days after generation, a day before it is due, no line is near");
}

/// Generated tickets are `ticket.created` events in the generator's transaction, carrying
/// their plan.
#[sqlx::test(migrations = "../../migrations")]
async fn generated_tickets_become_webhook_events(pool: PgPool) {
    let jakarta = site_in(&pool, "JKT0001", "Asia/Jakarta", "Jawa").await;
    let jayapura = site_in(&pool, "DJJ0001", "Asia/Jayapura", "Jawa").await;
    let plan_id = plan(&pool, Plan::default()).await;
    nexus_testkit::webhook::subscribe(&pool, &["ticket.created"]).await;
    assert_eq!(run(&pool, at("2026-11-24T01:00:00Z")).await.unwrap(), report(2, 0, 0, 1));
    let events = nexus_testkit::webhook::events(&pool, "ticket.created").await;
    let tickets = tickets_of(&pool, plan_id).await;
    assert_eq!(events.len(), 2);
    let shown = |e: &serde_json::Value| {
        (e["data"]["number"].as_str().unwrap().to_string(), e["data"]["asset_id"].as_i64().unwrap())
    };
    let mut got: Vec<_> = events.iter().map(shown).collect();
    let mut want: Vec<_> = tickets.iter().map(|t| (t.number.clone(), t.asset_id)).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    let mut assets: Vec<i64> = got.iter().map(|(_, a)| *a).collect();
    assets.sort();
    let mut sites = vec![jayapura.asset_id, jakarta.asset_id];
    sites.sort();
    assert_eq!(assets, sites);
    for event in &events {
        assert_eq!(event["data"]["pm_plan_id"], plan_id);
        assert_eq!(event["data"]["ticket_type"], "PM");
        assert_eq!(event["data"]["sla"]["started_at"], event["data"]["scheduled_for"]);
    }
    // A rerun generates nothing and records no event.
    run(&pool, at("2026-11-24T01:00:00Z")).await.unwrap();
    assert_eq!(nexus_testkit::webhook::types(&pool).await.len(), 2);
}
