//! Tickets against real Postgres: creation with SLA deadlines, the lifecycle and its guards,
//! who sees and changes what, ETags, filters, and racing writers.

use axum::http::{Method, StatusCode, header};
use chrono::{DateTime, Duration, SubsecRound, Utc};
use nexus_shared::auth::Role;
use nexus_testkit::{self as testing, TestUser, get, post, put, request, send};
use serde_json::{Value, json};
use sqlx::PgPool;

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
         VALUES ('DPS0001', 'BRI Mall Denpasar', -8.67, 115.21, 'Bali', 'Asia/Makassar') RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let asset: i64 = sqlx::query_scalar(
        "INSERT INTO assets (location_id, tag, name) VALUES ($1, 'ATM-DPS0001', 'Hyosung') RETURNING id",
    )
    .bind(location)
    .fetch_one(&pool)
    .await
    .unwrap();
    let (spv, tech, viewer) = (crew.supervisor, crew.technician, crew.viewer);
    Fixture { app: nexus_tickets::router(state), pool, spv, tech, other_tech, viewer, asset }
}

fn ts(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

impl Fixture {
    async fn open(&self, priority: &str) -> Value {
        let r = post(&self.app, "/api/tickets", &self.spv, json!({"asset_id": self.asset, "ticket_type": "CM", "priority": priority, "description": "Card reader jammed"})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        r.body
    }

    async fn set(&self, who: &TestUser, ticket: &Value, body: Value) -> testing::TestResponse {
        put(&self.app, &format!("/api/tickets/{}", ticket["id"]), who, body).await
    }

    /// A ticket assigned to `tech` and moved to `status` through the API.
    async fn in_status(&self, status: &str) -> Value {
        let t = self.open("high").await;
        let path: &[Value] = match status {
            "open" => &[],
            "assigned" => &[json!({"assigned_to": self.tech.id})],
            "in_progress" => &[json!({"assigned_to": self.tech.id}), json!({"status": "in_progress"})],
            "on_hold" => &[
                json!({"assigned_to": self.tech.id}),
                json!({"status": "in_progress"}),
                json!({"status": "on_hold", "hold_reason": "awaiting_parts"}),
            ],
            "resolved" => &[
                json!({"assigned_to": self.tech.id}),
                json!({"status": "in_progress"}),
                json!({"status": "resolved", "resolution_notes": "Replaced the reader"}),
            ],
            "cancelled" => &[json!({"status": "cancelled"})],
            other => panic!("no path to {other}"),
        };
        let mut last = t;
        for step in path {
            let r = self.set(&self.spv, &last, step.clone()).await;
            assert_eq!(r.status, StatusCode::OK, "{step} -> {:?}", r.body);
            last = r.body;
        }
        assert_eq!(last["status"], status);
        last
    }

    /// A PM ticket as the PM generator writes one ahead of its date: `scheduled_for` set and its
    /// lines counted from there by the PM rule for `priority` (24x7: working time is wall time).
    async fn scheduled(&self, priority: &str, scheduled_for: DateTime<Utc>) -> Value {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO tickets (number, ticket_type, priority, status, asset_id, location_id, description,
                 sla_calendar_id, response_target_minutes, resolution_target_minutes, warning_ratio,
                 response_warning_at, response_due_at, resolution_warning_at, resolution_due_at, scheduled_for)
             SELECT 'PM-GEN-' || (SELECT count(*) + 1 FROM tickets), 'PM', m.priority, 'open', a.id, a.location_id,
                 'Quarterly service', m.calendar_id, m.response_target_minutes, m.resolution_target_minutes,
                 m.warning_ratio, $2 + m.response_target_minutes * m.warning_ratio * interval '1 minute',
                 $2 + m.response_target_minutes * interval '1 minute',
                 $2 + m.resolution_target_minutes * m.warning_ratio * interval '1 minute',
                 $2 + m.resolution_target_minutes * interval '1 minute', $2
             FROM assets a, sla_matrices m WHERE a.id = $1 AND m.ticket_type = 'PM' AND m.priority = $3
             RETURNING id",
        )
        .bind(self.asset)
        .bind(scheduled_for)
        .bind(priority)
        .fetch_one(&self.pool)
        .await
        .unwrap();
        get(&self.app, &format!("/api/tickets/{id}"), &self.spv).await.body
    }

    async fn stored_lines(&self, ticket: &Value) -> (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>, i64) {
        sqlx::query_as(
            "SELECT response_warning_at, response_due_at, resolution_due_at, held_seconds FROM tickets WHERE id = $1",
        )
        .bind(ticket["id"].as_i64())
        .fetch_one(&self.pool)
        .await
        .unwrap()
    }
}

/// A week from now, in whole seconds (so JSON round trips compare exactly).
fn a_week_ahead() -> DateTime<Utc> {
    (Utc::now() + Duration::days(7)).trunc_subsecs(0)
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_new_ticket_gets_a_number_its_site_and_sla_deadlines(pool: PgPool) {
    let f = setup(pool).await;
    let r = post(
        &f.app,
        "/api/tickets",
        &f.spv,
        json!({"asset_id": f.asset, "ticket_type": "CM", "priority": "high", "description": "Dispenser error"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let t = &r.body;
    let year = Utc::now().format("%Y").to_string();
    assert_eq!(t["number"], format!("CM-{year}-000001"));
    assert_eq!(
        (t["status"].as_str(), t["location_code"].as_str(), t["asset_tag"].as_str()),
        (Some("open"), Some("DPS0001"), Some("ATM-DPS0001"))
    );
    assert_eq!((t["latitude"].as_f64(), t["region"].as_str()), (Some(-8.67), Some("Bali")));
    // The default CM/high rule on the 24x7 calendar: respond in 2 h, resolve in 8 h.
    let created = ts(&t["created_at"]);
    assert_eq!(ts(&t["sla"]["response_due_at"]) - created, Duration::hours(2));
    assert_eq!(ts(&t["sla"]["resolution_due_at"]) - created, Duration::hours(8));
    assert_eq!(t["sla"]["response_state"], "pending");
    assert_eq!(r.headers[header::ETAG], "\"1\"");
    let second = f.open("low").await;
    assert_eq!(second["number"], format!("CM-{year}-000002"));
    let audit: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_logs WHERE entity_type = 'ticket' AND action = 'create'")
            .fetch_one(&f.pool)
            .await
            .unwrap();
    assert_eq!(audit, 2);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn bad_new_tickets_are_422(pool: PgPool) {
    let f = setup(pool).await;
    let missing = post(&f.app, "/api/tickets", &f.spv, json!({"asset_id": f.asset})).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> =
        missing.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["ticket_type", "priority", "description"]);
    let unknown = post(
        &f.app,
        "/api/tickets",
        &f.spv,
        json!({"asset_id": 999999, "ticket_type": "CM", "priority": "low", "description": "x"}),
    )
    .await;
    assert_eq!(
        (unknown.status, unknown.body["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("asset_id"))
    );
    let to_viewer = post(&f.app, "/api/tickets", &f.spv, json!({"asset_id": f.asset, "ticket_type": "CM", "priority": "low", "description": "x", "assigned_to": f.viewer.id})).await;
    assert_eq!(
        (to_viewer.status, to_viewer.body["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("assigned_to"))
    );
    let bad_priority = post(
        &f.app,
        "/api/tickets",
        &f.spv,
        json!({"asset_id": f.asset, "ticket_type": "CM", "priority": "urgent", "description": "x"}),
    )
    .await;
    assert_eq!(bad_priority.status, StatusCode::UNPROCESSABLE_ENTITY);
    sqlx::query("UPDATE assets SET status = 'decommissioned'").execute(&f.pool).await.unwrap();
    let retired = post(
        &f.app,
        "/api/tickets",
        &f.spv,
        json!({"asset_id": f.asset, "ticket_type": "CM", "priority": "low", "description": "x"}),
    )
    .await;
    assert_eq!(retired.status, StatusCode::UNPROCESSABLE_ENTITY);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets").fetch_one(&f.pool).await.unwrap();
    assert_eq!(count, 0);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_technician_works_a_ticket_through_its_lifecycle(pool: PgPool) {
    let f = setup(pool).await;
    let t = f.open("high").await;
    let assigned = f.set(&f.spv, &t, json!({"assigned_to": f.tech.id})).await;
    assert_eq!(assigned.body["status"], "assigned", "assigning an open ticket moves it to assigned");

    let started = f.set(&f.tech, &t, json!({"status": "in_progress", "notes": "On site"})).await;
    assert_eq!(started.status, StatusCode::OK, "{:?}", started.body);
    assert!(started.body["sla"]["responded_at"].is_string());
    assert_eq!(started.body["sla"]["response_state"], "met");

    let no_reason = f.set(&f.tech, &t, json!({"status": "on_hold"})).await;
    assert_eq!(
        (no_reason.status, no_reason.body["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("hold_reason"))
    );
    let held = f.set(&f.tech, &t, json!({"status": "on_hold", "hold_reason": "awaiting_parts"})).await;
    assert_eq!(
        (held.body["status"].as_str(), held.body["hold_reason"].as_str()),
        (Some("on_hold"), Some("awaiting_parts"))
    );

    // Pretend all this happened three hours ago (a hold only counts once the clocks run):
    // resuming adds those hours to the resolution deadline.
    sqlx::query(
        "UPDATE tickets SET created_at = created_at - interval '3 hours',
             sla_started_at = sla_started_at - interval '3 hours', responded_at = responded_at - interval '3 hours',
             on_hold_since = on_hold_since - interval '3 hours',
             response_warning_at = response_warning_at - interval '3 hours',
             response_due_at = response_due_at - interval '3 hours',
             resolution_warning_at = resolution_warning_at - interval '3 hours',
             resolution_due_at = resolution_due_at - interval '3 hours'",
    )
    .execute(&f.pool)
    .await
    .unwrap();
    let due_before_hold = ts(&held.body["sla"]["resolution_due_at"]) - Duration::hours(3);
    let resumed = f.set(&f.tech, &t, json!({"status": "in_progress"})).await;
    let pushed = ts(&resumed.body["sla"]["resolution_due_at"]) - due_before_hold;
    assert!(
        (Duration::seconds(3 * 3600 - 5)..=Duration::seconds(3 * 3600 + 5)).contains(&pushed),
        "pushed by {pushed}"
    );
    assert_eq!(
        ts(&resumed.body["sla"]["responded_at"]),
        ts(&started.body["sla"]["responded_at"]) - Duration::hours(3),
        "responded_at is set once"
    );

    let no_notes = f.set(&f.tech, &t, json!({"status": "resolved"})).await;
    assert_eq!(
        (no_notes.status, no_notes.body["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("resolution_notes"))
    );
    let resolved =
        f.set(&f.tech, &t, json!({"status": "resolved", "resolution_notes": "Replaced the card reader"})).await;
    assert_eq!(resolved.status, StatusCode::OK);
    assert_eq!(resolved.body["sla"]["resolution_state"], "met");
    let closing = f.set(&f.spv, &t, json!({"status": "closed"})).await;
    assert_eq!(closing.status, StatusCode::CONFLICT, "closing goes through an approval");
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn every_forbidden_transition_is_409_naming_the_allowed_ones(pool: PgPool) {
    let f = setup(pool).await;
    let allowed: &[(&str, &[&str])] = &[
        ("open", &["assigned", "cancelled"]),
        ("assigned", &["in_progress", "cancelled"]),
        ("in_progress", &["on_hold", "resolved", "cancelled"]),
        ("on_hold", &["in_progress", "cancelled"]),
        ("resolved", &[]),
        ("cancelled", &[]),
    ];
    let all = ["open", "assigned", "in_progress", "on_hold", "resolved", "closed", "cancelled"];
    for (from, ok) in allowed {
        for to in all.iter().filter(|to| *to != from && !ok.contains(to)) {
            let t = f.in_status(from).await;
            let r = f.set(&f.spv, &t, json!({"status": to})).await;
            assert_eq!(r.status, StatusCode::CONFLICT, "{from} -> {to}: {:?}", r.body);
            let detail = r.body["detail"].as_str().unwrap();
            for name in *ok {
                assert!(detail.contains(name), "{from} -> {to}: {detail}");
            }
            let still: String = sqlx::query_scalar("SELECT status FROM tickets WHERE id = $1")
                .bind(t["id"].as_i64())
                .fetch_one(&f.pool)
                .await
                .unwrap();
            assert_eq!(&still, from);
        }
    }
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn technicians_see_and_touch_only_their_own_tickets(pool: PgPool) {
    let f = setup(pool).await;
    let mine = f.in_status("assigned").await;
    let theirs = f.open("low").await;
    f.set(&f.spv, &theirs, json!({"assigned_to": f.other_tech.id})).await;

    let list = get(&f.app, "/api/tickets", &f.tech).await;
    let ids: Vec<i64> = list.body["items"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [mine["id"].as_i64().unwrap()]);
    assert_eq!(get(&f.app, &format!("/api/tickets/{}", theirs["id"]), &f.tech).await.status, StatusCode::NOT_FOUND);
    assert_eq!(f.set(&f.tech, &theirs, json!({"notes": "x"})).await.status, StatusCode::NOT_FOUND);
    assert_eq!(f.set(&f.tech, &mine, json!({"priority": "critical"})).await.status, StatusCode::FORBIDDEN);
    assert_eq!(f.set(&f.tech, &mine, json!({"status": "cancelled"})).await.status, StatusCode::FORBIDDEN);
    let cancel =
        send(&f.app, request(Method::DELETE, &format!("/api/tickets/{}", mine["id"]), Some(&f.tech.token), None)).await;
    assert_eq!(cancel.status, StatusCode::FORBIDDEN);
    // Viewers read everything and change nothing.
    assert_eq!(get(&f.app, "/api/tickets", &f.viewer).await.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(f.set(&f.viewer, &mine, json!({"notes": "x"})).await.status, StatusCode::FORBIDDEN);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_stale_etag_is_412_and_changes_nothing(pool: PgPool) {
    let f = setup(pool).await;
    let t = f.open("low").await;
    let url = format!("/api/tickets/{}", t["id"]);
    let read = get(&f.app, &url, &f.spv).await;
    let etag = read.headers[header::ETAG].to_str().unwrap().to_string();
    f.set(&f.spv, &t, json!({"description": "Someone else's edit"})).await;
    let mut stale = request(Method::PUT, &url, Some(&f.spv.token), Some(json!({"description": "Mine"})));
    stale.headers_mut().insert(header::IF_MATCH, etag.parse().unwrap());
    let r = send(&f.app, stale).await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(r.content_type(), "application/problem+json");
    let fresh_etag = get(&f.app, &url, &f.spv).await.headers[header::ETAG].to_str().unwrap().to_string();
    assert_ne!(fresh_etag, etag);
    let mut fresh = request(Method::PUT, &url, Some(&f.spv.token), Some(json!({"description": "Mine"})));
    fresh.headers_mut().insert(header::IF_MATCH, fresh_etag.parse().unwrap());
    let ok = send(&f.app, fresh).await;
    assert_eq!((ok.status, ok.body["description"].as_str()), (StatusCode::OK, Some("Mine")));
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn racing_writers_of_one_version_produce_one_winner(pool: PgPool) {
    let f = setup(pool).await;
    let t = f.in_status("in_progress").await;
    let url = format!("/api/tickets/{}", t["id"]);
    let etag = format!("\"{}\"", t["version"]);
    let mut racers = Vec::new();
    for i in 0..20 {
        let mut req = request(
            Method::PUT,
            &url,
            Some(&f.spv.token),
            Some(json!({"status": "resolved", "resolution_notes": format!("fix {i}")})),
        );
        req.headers_mut().insert(header::IF_MATCH, etag.parse().unwrap());
        let app = f.app.clone();
        racers.push(tokio::spawn(async move { send(&app, req).await.status }));
    }
    let mut statuses = Vec::new();
    for r in racers {
        statuses.push(r.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::PRECONDITION_FAILED || *s == StatusCode::CONFLICT)
    );
    let updates: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_logs WHERE entity_type = 'ticket' AND entity_id = $1 AND changes ? 'resolved_at'",
    )
    .bind(t["id"].as_i64())
    .fetch_one(&f.pool)
    .await
    .unwrap();
    assert_eq!(updates, 1);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn priority_changes_recompute_the_deadlines(pool: PgPool) {
    let f = setup(pool).await;
    let t = f.open("low").await;
    let created = ts(&t["created_at"]);
    let r = f.set(&f.spv, &t, json!({"priority": "critical"})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(ts(&r.body["sla"]["response_due_at"]) - created, Duration::hours(1));
    assert_eq!(ts(&r.body["sla"]["resolution_due_at"]) - created, Duration::hours(4));
    assert_eq!(r.body["sla"]["resolution_target_minutes"], 240);
}

/// A PM generated a week ahead: its clocks start at `scheduled_for`, so a priority change
/// recomputes the lines from there, not from when the row was written.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_generated_pm_recomputes_its_deadlines_from_its_scheduled_time(pool: PgPool) {
    let f = setup(pool).await;
    let scheduled_for = a_week_ahead();
    let t = f.scheduled("low", scheduled_for).await;
    assert_eq!((ts(&t["scheduled_for"]), ts(&t["sla"]["started_at"])), (scheduled_for, scheduled_for));
    assert!(t["pm_plan_id"].is_null());
    assert!(ts(&t["created_at"]) < scheduled_for - Duration::days(6));

    // PM critical on 24x7: respond in 4 h, resolve in 24 h, warn at 80 %.
    let r = f.set(&f.spv, &t, json!({"priority": "critical"})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(ts(&r.body["sla"]["response_due_at"]), scheduled_for + Duration::hours(4));
    assert_eq!(ts(&r.body["sla"]["resolution_due_at"]), scheduled_for + Duration::hours(24));
    assert_eq!(ts(&r.body["sla"]["started_at"]), scheduled_for);
    assert_eq!(
        (r.body["sla"]["response_state"].as_str(), r.body["sla"]["resolution_state"].as_str()),
        (Some("pending"), Some("pending"))
    );
    let (response_warning_at, ..) = f.stored_lines(&t).await;
    assert_eq!(response_warning_at, scheduled_for + Duration::minutes(192));
    let breached: bool =
        sqlx::query_scalar("SELECT response_breached OR resolution_breached FROM tickets WHERE id = $1")
            .bind(t["id"].as_i64())
            .fetch_one(&f.pool)
            .await
            .unwrap();
    assert!(!breached);
}

/// The lines recomputed after a hold start at `scheduled_for` too, and only the part of a hold
/// after the clocks started pushes the resolution lines.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_generated_pm_recomputes_its_deadlines_from_its_scheduled_time_after_a_hold(pool: PgPool) {
    let f = setup(pool).await;
    let scheduled_for = a_week_ahead();
    let t = f.scheduled("low", scheduled_for).await;
    for step in [
        json!({"assigned_to": f.tech.id}),
        json!({"status": "in_progress"}),
        json!({"status": "on_hold", "hold_reason": "awaiting_parts"}),
    ] {
        let r = f.set(&f.spv, &t, step.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{step} -> {:?}", r.body);
    }
    // Worked ahead of its date: three hours on hold, all before the clocks start.
    sqlx::query("UPDATE tickets SET on_hold_since = on_hold_since - interval '3 hours'")
        .execute(&f.pool)
        .await
        .unwrap();
    let resumed = f.set(&f.tech, &t, json!({"status": "in_progress"})).await;
    assert_eq!(resumed.status, StatusCode::OK, "{:?}", resumed.body);
    // PM low on 24x7: respond in 48 h, resolve in 7 days; no hold credit.
    assert_eq!(ts(&resumed.body["sla"]["response_due_at"]), scheduled_for + Duration::hours(48));
    assert_eq!(ts(&resumed.body["sla"]["resolution_due_at"]), scheduled_for + Duration::days(7));
    assert_eq!(resumed.body["sla"]["resolution_state"], "pending");
    assert_eq!(f.stored_lines(&t).await.3, 0, "a hold before the clocks start pauses nothing");

    // The week passes: the clocks started an hour ago, the next hold began three hours ago.
    let held = f.set(&f.tech, &t, json!({"status": "on_hold", "hold_reason": "no_site_access"})).await;
    assert_eq!(held.status, StatusCode::OK, "{:?}", held.body);
    let started: DateTime<Utc> = sqlx::query_scalar(
        "UPDATE tickets SET sla_started_at = date_trunc('second', now()) - interval '1 hour',
             scheduled_for = date_trunc('second', now()) - interval '1 hour',
             on_hold_since = now() - interval '3 hours'
         RETURNING sla_started_at",
    )
    .fetch_one(&f.pool)
    .await
    .unwrap();
    let resumed = f.set(&f.tech, &t, json!({"status": "in_progress"})).await;
    assert_eq!(resumed.status, StatusCode::OK, "{:?}", resumed.body);
    let (_, response_due_at, resolution_due_at, held_seconds) = f.stored_lines(&t).await;
    assert!((3595..=3605).contains(&held_seconds), "credited the hour since the start only: {held_seconds} s");
    assert_eq!(response_due_at, started + Duration::hours(48));
    assert_eq!(resolution_due_at, started + Duration::days(7) + Duration::seconds(held_seconds));
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn the_list_filters_by_scheduled_time(pool: PgPool) {
    let f = setup(pool).await;
    let unscheduled = f.open("low").await;
    let week = a_week_ahead();
    let soon = f.scheduled("low", week - Duration::days(5)).await;
    let later = f.scheduled("medium", week).await;
    let ids =
        |body: &Value| body["items"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect::<Vec<_>>();
    let id = |t: &Value| t["id"].as_i64().unwrap();
    let before = async |at: DateTime<Utc>| {
        let at = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let r = get(&f.app, &format!("/api/tickets?scheduled_before={at}"), &f.spv).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        ids(&r.body)
    };
    assert_eq!(before(week + Duration::seconds(1)).await, [id(&later), id(&soon)], "newest first");
    assert_eq!(before(week).await, [id(&soon)], "strictly before");
    assert_eq!(before(week - Duration::days(5)).await, Vec::<i64>::new());
    assert_eq!(ids(&get(&f.app, "/api/tickets", &f.spv).await.body), [id(&later), id(&soon), id(&unscheduled)]);
    assert_eq!(
        ids(&get(&f.app, "/api/tickets?priority=low&ticket_type=PM&scheduled_before=2100-01-01T00:00:00Z", &f.spv)
            .await
            .body),
        [id(&soon)]
    );
    for bad in ["scheduled_before=tomorrow", "scheduled_before=2026-13-01T00:00:00Z", "scheduled_before="] {
        let r = get(&f.app, &format!("/api/tickets?{bad}"), &f.spv).await;
        assert_eq!(
            (r.status, r.body["errors"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("scheduled_before")),
            "{bad}"
        );
    }
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn cancelling_keeps_the_ticket(pool: PgPool) {
    let f = setup(pool).await;
    let t = f.in_status("on_hold").await;
    let url = format!("/api/tickets/{}", t["id"]);
    let r = send(&f.app, request(Method::DELETE, &url, Some(&f.spv.token), None)).await;
    assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::OK, Some("cancelled")));
    assert!(r.body["cancelled_at"].is_string() && r.body["on_hold_since"].is_null());
    assert_eq!(get(&f.app, &url, &f.spv).await.body["status"], "cancelled");
    let again = send(&f.app, request(Method::DELETE, &url, Some(&f.spv.token), None)).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn the_list_filters_and_sorts(pool: PgPool) {
    let f = setup(pool).await;
    let low = f.open("low").await;
    let high = f.in_status("assigned").await;
    let critical = f.open("critical").await;
    let ids =
        |body: &Value| body["items"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect::<Vec<_>>();
    let id = |t: &Value| t["id"].as_i64().unwrap();

    assert_eq!(
        ids(&get(&f.app, "/api/tickets", &f.spv).await.body),
        [id(&critical), id(&high), id(&low)],
        "newest first"
    );
    assert_eq!(ids(&get(&f.app, "/api/tickets?status=open", &f.spv).await.body), [id(&critical), id(&low)]);
    assert_eq!(ids(&get(&f.app, "/api/tickets?status=assigned,in_progress", &f.spv).await.body), [id(&high)]);
    assert_eq!(ids(&get(&f.app, "/api/tickets?priority=critical&region=Bali", &f.spv).await.body), [id(&critical)]);
    assert_eq!(ids(&get(&f.app, &format!("/api/tickets?assigned_to={}", f.tech.id), &f.spv).await.body), [id(&high)]);
    assert_eq!(
        ids(&get(&f.app, "/api/tickets?sort=resolution_due_at", &f.spv).await.body),
        [id(&critical), id(&high), id(&low)]
    );
    let soon = (Utc::now() + Duration::hours(5)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(ids(&get(&f.app, &format!("/api/tickets?due_before={soon}"), &f.spv).await.body), [id(&critical)]);
    sqlx::query("UPDATE tickets SET resolution_breached = true WHERE id = $1")
        .bind(id(&low))
        .execute(&f.pool)
        .await
        .unwrap();
    assert_eq!(ids(&get(&f.app, "/api/tickets?breached=true", &f.spv).await.body), [id(&low)]);
    assert_eq!(ids(&get(&f.app, "/api/tickets?region=Jawa", &f.spv).await.body), Vec::<i64>::new());
    for bad in ["status=done", "priority=urgent", "due_before=tomorrow", "breached=maybe", "sort=number"] {
        assert_eq!(
            get(&f.app, &format!("/api/tickets?{bad}"), &f.spv).await.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}"
        );
    }
    let page = get(&f.app, "/api/tickets?limit=2", &f.spv).await.body;
    let rest = get(&f.app, &format!("/api/tickets?limit=2&cursor={}", page["next_cursor"].as_str().unwrap()), &f.spv)
        .await
        .body;
    assert_eq!(ids(&rest), [id(&low)]);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn answers_an_api_gateway_v2_event(pool: PgPool) {
    let f = setup(pool).await;
    let body =
        json!({"asset_id": f.asset, "ticket_type": "PM", "priority": "medium", "description": "Quarterly service"});
    let r = testing::send_event(
        &f.app,
        testing::apigw_v2_event("POST", "/api/tickets", "", Some(&f.spv.token), Some(body)),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert!(r.body["number"].as_str().unwrap().starts_with("PM-"));
    let list = testing::send_event(
        &f.app,
        testing::apigw_v2_event("GET", "/api/tickets", "status=open&ticket_type=PM", Some(&f.viewer.token), None),
    )
    .await;
    assert_eq!(list.body["items"][0]["id"], r.body["id"]);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn the_history_is_the_ticket_timeline(pool: PgPool) {
    let f = setup(pool).await;
    let t = f.in_status("on_hold").await;
    let url = format!("/api/tickets/{}/history", t["id"]);
    let r = get(&f.app, &url, &f.tech).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let items = r.body["items"].as_array().unwrap();
    let statuses: Vec<&Value> = items.iter().map(|e| &e["changes"]["status"]["new"]).collect();
    assert_eq!(statuses, [&json!("open"), &json!("assigned"), &json!("in_progress"), &json!("on_hold")]);
    assert_eq!(items[0]["action"], "create");
    assert_eq!(items[1]["actor_email"], "supervisor@test.example");
    let other = f.open("low").await;
    assert_eq!(
        get(&f.app, &format!("/api/tickets/{}/history", other["id"]), &f.tech).await.status,
        StatusCode::NOT_FOUND
    );
    let newest = get(&f.app, &format!("{url}?sort=-created_at&limit=1"), &f.viewer).await;
    assert_eq!(newest.body["items"][0]["changes"]["status"]["new"], "on_hold");
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_late_response_records_its_crossings_with_the_transition(pool: PgPool) {
    let f = setup(pool).await;
    let t = f.in_status("assigned").await;
    // The response lines passed while nobody (not even the scheduled check) looked.
    sqlx::query("UPDATE tickets SET response_warning_at = now() - interval '2 hours', response_due_at = now() - interval '1 hour'")
        .execute(&f.pool)
        .await
        .unwrap();
    let started = f.set(&f.tech, &t, json!({"status": "in_progress"})).await;
    assert_eq!(started.body["sla"]["response_state"], "breached");
    let kinds: Vec<String> = sqlx::query_scalar("SELECT kind FROM sla_events WHERE ticket_id = $1 ORDER BY kind")
        .bind(t["id"].as_i64())
        .fetch_all(&f.pool)
        .await
        .unwrap();
    assert_eq!(kinds, ["response_breach", "response_warning"]);
    let breached = get(&f.app, "/api/tickets?breached=true", &f.spv).await;
    assert_eq!(breached.body["items"][0]["id"], t["id"]);
}

/// The built binary, started as Lambda starts it, answers its event from the test kit's table
/// through the Runtime API.
#[sqlx::test(migrations = false)]
async fn the_built_function_answers_through_the_lambda_runtime_api(pool: sqlx::PgPool) {
    nexus_testkit::built::the_built_function_answers(env!("CARGO_BIN_EXE_tickets"), pool).await;
}
