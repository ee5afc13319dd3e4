//! The demo data loads, loads again without duplicates, and is valid through the API.

use axum::http::StatusCode;
use nexus_shared::auth::Role;
use nexus_testkit::{self as testing, get};
use std::time::Duration;

use nexus_local_runner::States;
use sqlx::PgPool;

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn demo_data_is_idempotent_and_served(pool: PgPool) {
    let state = testing::state(pool.clone());
    let passwords = testing::passwords();
    let first = nexus_local_runner::generate::demo(&pool, &passwords).await.unwrap();
    let second = nexus_local_runner::generate::demo(&pool, &passwords).await.unwrap();
    assert_eq!((first.locations, first.assets, first.tickets, first.pm_plans), (60, 105, 56, 3));
    assert_eq!(
        (second.locations, second.assets, second.tickets, second.pm_plans),
        (60, 105, 56, 3),
        "a rerun adds no plan"
    );
    // The weekly check always has a Monday within its seven days' lead time; the generator makes
    // each occurrence once, so the second seeding's run adds nothing.
    assert!(first.pm_tickets > 0, "the generator ran at the end of seeding");
    assert_eq!(second.pm_tickets, first.pm_tickets);
    let plans: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT p.name, c.name, u.email FROM pm_plans p JOIN sla_calendars c ON c.id = p.calendar_id
         LEFT JOIN users u ON u.id = p.assigned_to ORDER BY p.name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let office = nexus_local_runner::generate::OFFICE_HOURS;
    assert_eq!(
        plans,
        [
            (nexus_local_runner::generate::DISPENSER_SERVICE.to_owned(), "24x7".to_owned(), None),
            (nexus_local_runner::generate::MONTHLY_INSPECTION.to_owned(), office.to_owned(), None),
            (
                nexus_local_runner::generate::WEEKLY_CASSETTE_CHECK.to_owned(),
                "24x7".to_owned(),
                Some("technician@example.com".to_owned())
            ),
        ]
    );
    let weekly: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM tickets t JOIN pm_plans p ON p.id = t.pm_plan_id
         WHERE p.name = $1 AND t.ticket_type = 'PM' AND t.scheduled_for IS NOT NULL AND t.sla_started_at = t.scheduled_for",
    )
    .bind(nexus_local_runner::generate::WEEKLY_CASSETTE_CHECK)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(weekly > 0, "this week's cash cassette checks are generated");
    // The ATMs that dispensed 20,000 notes in the two weeks of readings got their service, each once.
    let (by_meter, over, atms): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM pm_occurrences WHERE source = 'meter'),
                (SELECT count(*) FROM meters m WHERE m.name = $1 AND
                    (SELECT max(value) - min(value) FROM meter_readings r WHERE r.meter_id = m.id) >= 20000),
                (SELECT count(*) FROM assets WHERE category = 'ATM')",
    )
    .bind(nexus_local_runner::generate::NOTES_DISPENSED)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(0 < over && over < atms, "some ATMs are due and some not: {over} of {atms}");
    assert_eq!(by_meter, over);
    let pm = first.pm_tickets as usize;
    let zones: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT timezone FROM locations ORDER BY 1").fetch_all(&pool).await.unwrap();
    assert_eq!(zones, ["Asia/Jakarta", "Asia/Jayapura", "Asia/Makassar", "Asia/Pontianak"]);

    let store = nexus_testkit::fetch::s3_test_store().await;
    let uploaded = nexus_local_runner::generate::field::upload_photos(&pool, &store).await.unwrap();
    assert_eq!(uploaded, 3, "two photos and a signature");
    assert_eq!(nexus_local_runner::generate::field::upload_photos(&pool, &store).await.unwrap(), 0);
    let app = nexus_local_runner::app(&States::new(state.clone(), passwords, Duration::ZERO, store));
    let admin = testing::user(&state, "bench-admin@test.example", &[Role::Admin]).await;

    // The demo's figures are not trivial: every panel of a dashboard over the last month shows
    // something (first-time fix waits for its 30 days, so it is all pending).
    let today = chrono::Utc::now().date_naive();
    let month = format!("/api/reports/kpis?from={}&to={today}", today - chrono::Days::new(30));
    let kpis = get(&app, &month, &admin).await;
    assert_eq!(kpis.status, StatusCode::OK, "{:?}", kpis.body);
    let all = &kpis.body["groups"][0];
    for kpi in
        ["mttr_hours", "mttr_working_hours", "sla_response_compliance", "sla_resolution_compliance", "reopen_rate"]
    {
        assert!(all[kpi]["denominator"].as_f64().unwrap_or(0.0) > 0.0, "{kpi}: {all}");
    }
    assert!(all["backlog"]["total"].as_i64().unwrap() > 0, "{all}");
    assert!(all["first_time_fix_rate"]["pending"].as_i64().unwrap() > 0, "{all}");

    // One closed ticket shows the field work: its checklist complete, a visit inside the
    // geofence, the photos and signature stored and downloadable.
    let (worked, visits): (i64, i64) = sqlx::query_as(
        "SELECT t.id, (SELECT count(*) FROM visits v WHERE v.ticket_id = t.id AND v.result = 'inside')
         FROM tickets t JOIN checklists c ON c.id = t.checklist_id WHERE c.name = $1 AND t.status = 'closed'",
    )
    .bind(nexus_local_runner::generate::field::CHECKLIST)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(visits, 1);
    let unmet = nexus_shared::checklist::unmet_required(&mut pool.acquire().await.unwrap(), worked).await.unwrap();
    assert!(unmet.is_empty(), "{unmet:?}");
    let checklist = get(&app, &format!("/api/tickets/{worked}/checklist"), &admin).await;
    assert_eq!(checklist.status, StatusCode::OK, "{:?}", checklist.body);
    let attachments = get(&app, &format!("/api/tickets/{worked}/attachments"), &admin).await;
    let items = attachments.body["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 3, "{:?}", attachments.body);
    let photo = nexus_testkit::fetch::get(items[0]["download"]["url"].as_str().unwrap()).await;
    assert_eq!((photo.status, &photo.body[..8]), (200, &b"\x89PNG\r\n\x1a\n"[..]));
    let count = async |filter: &str| {
        let (mut n, mut cursor) = (0, None::<String>);
        loop {
            let page_url = match &cursor {
                Some(c) => format!("/api/tickets?limit=100&{filter}&cursor={c}"),
                None => format!("/api/tickets?limit=100&{filter}"),
            };
            let page = get(&app, &page_url, &admin).await;
            assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
            n += page.body["items"].as_array().unwrap().len();
            match page.body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return n,
            }
        }
    };
    assert_eq!(count("").await, 56 + pm, "the demo's 56 and the generated PM work");
    assert_eq!(count("status=cancelled").await, 8, "every state, cancelled included");
    let active = count("status=open,assigned,in_progress,on_hold,resolved").await;
    assert_eq!(active, 40 + pm, "generated PM tickets are open or assigned");
    let approved: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM approvals a JOIN tickets t ON t.id = a.ticket_id WHERE t.status = 'closed'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(approved, 8, "every closed demo ticket has its approval, once");
    for (email, _) in nexus_local_runner::generate::USERS {
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE email = $1 AND active)")
            .bind(email)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert!(exists, "{email}");
    }
}

/// The generated history is one the SLA check has been watching: each line a running clock has
/// passed is flagged, with its event, so the first check after generating finds (next to)
/// nothing, as on a live system (it used to catch up on ~100,000 tickets after 500,000).
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn the_generated_history_has_its_crossings_recorded(pool: PgPool) {
    let preset = nexus_local_runner::generate::Preset::scale(200, 400, 4_000);
    nexus_local_runner::generate::generate(&pool, &testing::passwords(), preset, |_| {}).await.unwrap();
    let running_past_a_line: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM tickets WHERE status IN ('open', 'assigned', 'in_progress') AND resolution_warned",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(running_past_a_line > 100, "the data has running clocks past their lines: {running_past_a_line}");
    let flagged_without_event: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM tickets t
         CROSS JOIN LATERAL (VALUES ('response_warning', t.response_warned), ('response_breach', t.response_breached),
             ('resolution_warning', t.resolution_warned), ('resolution_breach', t.resolution_breached)) AS f (kind, set)
         WHERE f.set AND NOT EXISTS (SELECT 1 FROM sla_events e WHERE e.ticket_id = t.id AND e.kind = f.kind)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(flagged_without_event, 0);
    // Only lines passed since generating are left (the generator's `now` was a moment ago).
    let report = nexus_sla_check::sweep(&pool, chrono::Utc::now()).await.unwrap();
    assert!(report.total() <= 5, "the first check recorded {} crossings", report.total());
}
