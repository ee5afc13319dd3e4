//! The SLA sweep against real Postgres: what it flags and records, once, for which tickets,
//! under overlapping runs, and when triggered by a real EventBridge scheduled event.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use lambda_runtime::{Context, LambdaEvent};
use nexus_shared::scheduled::ScheduledEvent;
use nexus_sla_check::{SweepReport, sweep};
use serde_json::{Value, json};
use sqlx::PgPool;

/// When every test ticket opens: a CM ticket of high priority on the 24x7 calendar, so its
/// lines are opening + 96 min (response warning), 120 min (response due), 384 min (resolution
/// warning) and 480 min (resolution due).
fn opened() -> DateTime<Utc> {
    "2026-11-25T08:00:00Z".parse().expect("an RFC 3339 instant")
}

fn minutes_after_opening(minutes: i64) -> DateTime<Utc> {
    opened() + Duration::minutes(minutes)
}

const RESPONSE_WARNING: i64 = 96;
const RESPONSE_DUE: i64 = 120;
const RESOLUTION_WARNING: i64 = 384;
const RESOLUTION_DUE: i64 = 480;

/// Past every line of a ticket opened at [`opened`].
const PAST_EVERY_LINE: i64 = RESOLUTION_DUE + 10;

struct Site {
    pool: PgPool,
    asset: i64,
    location: i64,
    technician: i64,
}

async fn site(pool: PgPool) -> Site {
    let nexus_testkit::Site { location_id: location, asset_id: asset } =
        nexus_testkit::site(&pool, "DPS0001", "Asia/Makassar").await;
    let technician: i64 =
        sqlx::query_scalar("INSERT INTO users (email, password_hash) VALUES ('tech@test.example', 'x') RETURNING id")
            .fetch_one(&pool)
            .await
            .unwrap();
    Site { pool, asset, location, technician }
}

impl Site {
    /// A ticket opened at [`opened`] in `status`, with the columns its status requires.
    async fn ticket(&self, status: &str) -> i64 {
        let (assigned, responded, resolved, on_hold, cancelled, closed) = match status {
            "open" => (false, false, false, false, false, false),
            "assigned" => (true, false, false, false, false, false),
            "in_progress" => (true, true, false, false, false, false),
            "on_hold" => (true, true, false, true, false, false),
            "resolved" => (true, true, true, false, false, false),
            "closed" => (true, true, true, false, false, true),
            "cancelled" => (false, false, false, false, true, false),
            other => panic!("no such status {other}"),
        };
        let at = |set: bool, minutes: i64| set.then(|| minutes_after_opening(minutes));
        sqlx::query_scalar(
            "INSERT INTO tickets (number, ticket_type, priority, status, asset_id, location_id, description,
                 assigned_to, sla_calendar_id, response_target_minutes, resolution_target_minutes, warning_ratio,
                 response_warning_at, response_due_at, resolution_warning_at, resolution_due_at,
                 responded_at, resolved_at, resolution_notes, on_hold_since, hold_reason, cancelled_at, closed_at,
                 created_at)
             VALUES ('CM-2026-' || lpad((SELECT count(*) + 1 FROM tickets)::text, 6, '0'), 'CM', 'high', $1, $2, $3,
                 'Card reader jammed', $4, 1, 120, 480, 0.8, $5, $6, $7, $8,
                 $9, $10, CASE WHEN $10::timestamptz IS NULL THEN NULL ELSE 'Replaced the reader' END,
                 $11, CASE WHEN $11::timestamptz IS NULL THEN NULL ELSE 'awaiting_parts' END, $12, $13, $14)
             RETURNING id",
        )
        .bind(status)
        .bind(self.asset)
        .bind(self.location)
        .bind(assigned.then_some(self.technician))
        .bind(minutes_after_opening(RESPONSE_WARNING))
        .bind(minutes_after_opening(RESPONSE_DUE))
        .bind(minutes_after_opening(RESOLUTION_WARNING))
        .bind(minutes_after_opening(RESOLUTION_DUE))
        .bind(at(responded, 30))
        .bind(at(resolved, 60))
        .bind(at(on_hold, 45))
        .bind(at(cancelled, 20))
        .bind(at(closed, 90))
        .bind(opened())
        .fetch_one(&self.pool)
        .await
        .unwrap()
    }

    /// `[response_warned, response_breached, resolution_warned, resolution_breached]`.
    async fn flags(&self, ticket: i64) -> [bool; 4] {
        let (a, b, c, d): (bool, bool, bool, bool) = sqlx::query_as(
            "SELECT response_warned, response_breached, resolution_warned, resolution_breached
             FROM tickets WHERE id = $1",
        )
        .bind(ticket)
        .fetch_one(&self.pool)
        .await
        .unwrap();
        [a, b, c, d]
    }

    /// The ticket's events as `(kind, line_at, detected_at)`, by kind.
    async fn events(&self, ticket: i64) -> Vec<(String, DateTime<Utc>, DateTime<Utc>)> {
        sqlx::query_as("SELECT kind, line_at, detected_at FROM sla_events WHERE ticket_id = $1 ORDER BY kind")
            .bind(ticket)
            .fetch_all(&self.pool)
            .await
            .unwrap()
    }

    async fn event_kinds(&self, ticket: i64) -> Vec<String> {
        self.events(ticket).await.into_iter().map(|(kind, ..)| kind).collect()
    }

    /// Each ticket's physical row version: an UPDATE makes a new one even if nothing changed.
    async fn row_versions(&self) -> Vec<(i64, String)> {
        sqlx::query_as("SELECT id, ctid::text FROM tickets ORDER BY id").fetch_all(&self.pool).await.unwrap()
    }

    async fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT count(*) FROM {table}");
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&self.pool).await.unwrap()
    }
}

fn report(
    response_warnings: u64,
    response_breaches: u64,
    resolution_warnings: u64,
    resolution_breaches: u64,
) -> SweepReport {
    SweepReport { response_warnings, response_breaches, resolution_warnings, resolution_breaches }
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn past_the_response_warning_only_the_warning_is_recorded(pool: PgPool) {
    let site = site(pool).await;
    let ticket = site.ticket("open").await;
    let now = minutes_after_opening(RESPONSE_WARNING + 5);

    assert_eq!(sweep(&site.pool, now).await.unwrap(), report(1, 0, 0, 0));
    assert_eq!(site.flags(ticket).await, [true, false, false, false]);
    assert_eq!(
        site.events(ticket).await,
        [("response_warning".to_string(), minutes_after_opening(RESPONSE_WARNING), now)]
    );
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn lines_are_crossed_at_their_instant_not_before(pool: PgPool) {
    let site = site(pool).await;
    let ticket = site.ticket("assigned").await;

    let just_before = minutes_after_opening(RESPONSE_WARNING) - Duration::microseconds(1);
    assert_eq!(sweep(&site.pool, just_before).await.unwrap(), SweepReport::default());
    assert_eq!(site.flags(ticket).await, [false; 4]);
    assert_eq!((site.count("sla_events").await, site.count("audit_logs").await), (0, 0));

    // Inclusive, like the state the API shows: at the line the clock is in warning.
    assert_eq!(sweep(&site.pool, minutes_after_opening(RESPONSE_WARNING)).await.unwrap(), report(1, 0, 0, 0));
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn past_the_deadline_the_breach_and_its_warning_are_recorded(pool: PgPool) {
    let site = site(pool).await;
    let ticket = site.ticket("open").await;
    let now = minutes_after_opening(RESPONSE_DUE + 1);

    assert_eq!(sweep(&site.pool, now).await.unwrap(), report(1, 1, 0, 0));
    assert_eq!(site.flags(ticket).await, [true, true, false, false]);
    assert_eq!(
        site.events(ticket).await,
        [
            ("response_breach".to_string(), minutes_after_opening(RESPONSE_DUE), now),
            ("response_warning".to_string(), minutes_after_opening(RESPONSE_WARNING), now),
        ]
    );
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_ticket_that_jumped_past_every_line_gets_all_four_events(pool: PgPool) {
    let site = site(pool).await;
    let ticket = site.ticket("open").await;
    // Counts the row writes: after an outage a ticket past all four lines is written once.
    sqlx::raw_sql(
        "CREATE TABLE ticket_writes (n int); INSERT INTO ticket_writes VALUES (0);
         CREATE FUNCTION count_write() RETURNS trigger LANGUAGE plpgsql AS
             $$ BEGIN UPDATE ticket_writes SET n = n + 1; RETURN NEW; END $$;
         CREATE TRIGGER count_writes BEFORE UPDATE ON tickets FOR EACH ROW EXECUTE FUNCTION count_write();",
    )
    .execute(&site.pool)
    .await
    .unwrap();

    assert_eq!(sweep(&site.pool, minutes_after_opening(PAST_EVERY_LINE)).await.unwrap(), report(1, 1, 1, 1));
    let writes: i32 = sqlx::query_scalar("SELECT n FROM ticket_writes").fetch_one(&site.pool).await.unwrap();
    assert_eq!(writes, 1, "one write for four lines");
    assert_eq!(site.flags(ticket).await, [true; 4]);
    assert_eq!(
        site.event_kinds(ticket).await,
        ["resolution_breach", "resolution_warning", "response_breach", "response_warning"]
    );
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_breach_whose_warning_line_is_later_still_records_the_warning(pool: PgPool) {
    let site = site(pool).await;
    let ticket = site.ticket("open").await;
    // Not what the tickets function stores, but nothing in the schema forbids it.
    sqlx::query("UPDATE tickets SET response_warning_at = response_due_at + interval '1 hour' WHERE id = $1")
        .bind(ticket)
        .execute(&site.pool)
        .await
        .unwrap();

    assert_eq!(sweep(&site.pool, minutes_after_opening(RESPONSE_DUE)).await.unwrap(), report(1, 1, 0, 0));
    assert_eq!(site.flags(ticket).await, [true, true, false, false]);
    assert_eq!(site.event_kinds(ticket).await, ["response_breach", "response_warning"]);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn sweeping_again_records_nothing_new(pool: PgPool) {
    let site = site(pool).await;
    let warned = site.ticket("open").await;
    let breached = site.ticket("assigned").await;
    sqlx::query("UPDATE tickets SET response_warning_at = $2, response_due_at = $3 WHERE id = $1")
        .bind(warned)
        .bind(minutes_after_opening(RESPONSE_WARNING))
        .bind(minutes_after_opening(RESPONSE_DUE + 60))
        .execute(&site.pool)
        .await
        .unwrap();
    let now = minutes_after_opening(RESPONSE_DUE + 1);

    assert_eq!(sweep(&site.pool, now).await.unwrap(), report(2, 1, 0, 0));
    let before = (site.events(warned).await, site.events(breached).await, site.count("audit_logs").await);
    let versions = site.row_versions().await;
    for later in [now, now + Duration::minutes(1)] {
        assert_eq!(sweep(&site.pool, later).await.unwrap(), SweepReport::default(), "at {later}");
    }
    let after = (site.events(warned).await, site.events(breached).await, site.count("audit_logs").await);
    assert_eq!(after, before);
    assert_eq!(site.row_versions().await, versions, "recorded tickets are not rewritten");

    // The warned ticket's deadline still gets recorded when it comes.
    let due = minutes_after_opening(RESPONSE_DUE + 60);
    assert_eq!(sweep(&site.pool, due).await.unwrap(), report(0, 1, 0, 0));
    assert_eq!(site.event_kinds(warned).await, ["response_breach", "response_warning"]);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn overlapping_sweeps_record_each_crossing_once(pool: PgPool) {
    let site = site(pool).await;
    const TICKETS: u64 = 40;
    for _ in 0..TICKETS {
        site.ticket("open").await;
    }
    let now = minutes_after_opening(PAST_EVERY_LINE);

    let (first, second) = tokio::join!(sweep(&site.pool, now), sweep(&site.pool, now + Duration::seconds(1)));
    let (first, second) = (first.expect("first sweep"), second.expect("second sweep"));

    let together = report(
        first.response_warnings + second.response_warnings,
        first.response_breaches + second.response_breaches,
        first.resolution_warnings + second.resolution_warnings,
        first.resolution_breaches + second.resolution_breaches,
    );
    assert_eq!(together, report(TICKETS, TICKETS, TICKETS, TICKETS), "{first:?} {second:?}");
    assert_eq!(site.count("sla_events").await, (TICKETS * 4) as i64);
    // One audit row per ticket and run: one if one run recorded all four lines, two if both did.
    let audit_rows = site.count("audit_logs").await;
    assert!((TICKETS as i64..=2 * TICKETS as i64).contains(&audit_rows), "{audit_rows}");
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn paused_and_finished_tickets_are_not_touched(pool: PgPool) {
    let site = site(pool).await;
    let mut tickets = Vec::new();
    for status in ["on_hold", "resolved", "closed", "cancelled"] {
        tickets.push((status, site.ticket(status).await));
    }

    assert_eq!(sweep(&site.pool, minutes_after_opening(PAST_EVERY_LINE)).await.unwrap(), SweepReport::default());
    for (status, ticket) in tickets {
        assert_eq!(site.flags(ticket).await, [false; 4], "{status}");
    }
    assert_eq!((site.count("sla_events").await, site.count("audit_logs").await), (0, 0));
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn responded_tickets_get_resolution_events_only(pool: PgPool) {
    let site = site(pool).await;
    let ticket = site.ticket("in_progress").await;

    assert_eq!(sweep(&site.pool, minutes_after_opening(PAST_EVERY_LINE)).await.unwrap(), report(0, 0, 1, 1));
    assert_eq!(site.flags(ticket).await, [false, false, true, true]);
    assert_eq!(site.event_kinds(ticket).await, ["resolution_breach", "resolution_warning"]);
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    entity_type: String,
    entity_id: i64,
    action: String,
    actor_id: Option<i64>,
    changes: Value,
    request_id: Option<String>,
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn each_tickets_crossings_are_one_audit_row_listing_its_flags(pool: PgPool) {
    let site = site(pool).await;
    let ticket = site.ticket("open").await;
    let resolution_only = site.ticket("open").await;
    sqlx::query("UPDATE tickets SET response_warning_at = $2, response_due_at = $2 WHERE id = $1")
        .bind(resolution_only)
        .bind(minutes_after_opening(PAST_EVERY_LINE + 60))
        .execute(&site.pool)
        .await
        .unwrap();
    let now = minutes_after_opening(PAST_EVERY_LINE);
    sweep(&site.pool, now).await.unwrap();

    let audit = |id: i64| {
        let pool = site.pool.clone();
        async move {
            let rows: Vec<AuditRow> = sqlx::query_as(
                "SELECT entity_type, entity_id, action, actor_id, changes, request_id FROM audit_logs WHERE entity_id = $1",
            )
            .bind(id)
            .fetch_all(&pool)
            .await
            .unwrap();
            rows
        }
    };
    let rows = audit(ticket).await;
    assert_eq!(rows.len(), 1, "one change of the ticket, one audit row");
    let row = &rows[0];
    assert_eq!(
        (row.entity_type.as_str(), row.entity_id, row.action.as_str(), row.actor_id),
        ("ticket", ticket, "update", None)
    );
    assert_eq!(row.request_id.as_deref(), Some("sla-check:2026-11-25T16:10:00.000000Z"), "the run's id");
    let set = json!({"old": false, "new": true});
    assert_eq!(
        row.changes,
        json!({"response_warned": set, "response_breached": set, "resolution_warned": set, "resolution_breached": set})
    );
    // The other ticket crossed only its resolution lines: two events, one row listing two flags.
    assert_eq!(site.event_kinds(resolution_only).await.len(), 2);
    let rows = audit(resolution_only).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].changes, json!({"resolution_warned": set, "resolution_breached": set}));
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn tickets_not_yet_due_are_untouched(pool: PgPool) {
    let site = site(pool).await;
    let mut tickets = Vec::new();
    for status in ["open", "assigned", "in_progress"] {
        tickets.push(site.ticket(status).await);
    }

    let versions = site.row_versions().await;

    assert_eq!(sweep(&site.pool, minutes_after_opening(RESPONSE_WARNING - 1)).await.unwrap(), SweepReport::default());
    for ticket in tickets {
        assert_eq!(site.flags(ticket).await, [false; 4]);
    }
    assert_eq!(site.row_versions().await, versions, "no ticket row was rewritten");
    assert_eq!((site.count("sla_events").await, site.count("audit_logs").await), (0, 0));
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn an_eventbridge_scheduled_event_sweeps_at_its_time(pool: PgPool) {
    let site = site(pool).await;
    let ticket = site.ticket("open").await;
    let fixture = nexus_testkit::lambda::scheduled_event("sla-check");
    // As the runtime does: the payload deserialised from the invocation body, then wrapped.
    let payload: ScheduledEvent = serde_json::from_value(fixture).expect("a scheduled event");
    let event = LambdaEvent::new(payload, Context::default());
    let fired_at: DateTime<Utc> = "2026-11-25T10:10:00Z".parse().unwrap();
    assert_eq!(event.payload.time, fired_at);

    // 10:10 is past the response deadline (10:00) and before the resolution warning (14:24).
    assert_eq!(sweep(&site.pool, event.payload.time).await.unwrap(), report(1, 1, 0, 0));
    let detected: BTreeSet<DateTime<Utc>> = site.events(ticket).await.into_iter().map(|(.., at)| at).collect();
    assert_eq!(detected, BTreeSet::from([fired_at]));
}

/// A sweep killed mid-run (its connection terminated while it waits on a ticket another
/// transaction holds) records nothing; the next run records every crossing exactly once.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_sweep_killed_mid_run_leaves_nothing_and_the_rerun_records_each_crossing_once(pool: PgPool) {
    let site = site(pool.clone()).await;
    let tickets = [site.ticket("open").await, site.ticket("open").await, site.ticket("assigned").await];
    let now = minutes_after_opening(10 * 60); // every line of every ticket crossed

    // Hold the last ticket: the sweep flags the others, then waits on this row.
    let mut blocker = pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM tickets WHERE id = $1 FOR UPDATE")
        .bind(tickets[2])
        .execute(&mut *blocker)
        .await
        .unwrap();
    let running = tokio::spawn({
        let pool = pool.clone();
        async move { sweep(&pool, now).await }
    });
    let waiting = loop {
        let pid: Option<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%UPDATE tickets%'",
        )
        .fetch_optional(&pool)
        .await
        .unwrap();
        if let Some(pid) = pid {
            break pid;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    let killed: bool =
        sqlx::query_scalar("SELECT pg_terminate_backend($1)").bind(waiting).fetch_one(&pool).await.unwrap();
    assert!(killed);
    assert!(running.await.unwrap().is_err(), "the killed sweep reports its failure");
    blocker.rollback().await.unwrap();
    assert_eq!((site.count("sla_events").await, site.count("audit_logs").await), (0, 0), "nothing half-written");

    assert_eq!(sweep(&pool, now).await.unwrap(), report(3, 3, 3, 3));
    assert_eq!(sweep(&pool, now).await.unwrap(), report(0, 0, 0, 0));
    let per_kind: Vec<(String, i64)> =
        sqlx::query_as("SELECT kind, count(*) FROM sla_events GROUP BY kind ORDER BY kind")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(per_kind.len(), 4);
    assert!(per_kind.iter().all(|(_, n)| *n == 3), "{per_kind:?}");
}

/// The built binary, started as Lambda starts it, answers its event from the test kit's table
/// through the Runtime API.
#[sqlx::test(migrations = false)]
async fn the_built_function_answers_through_the_lambda_runtime_api(pool: sqlx::PgPool) {
    nexus_testkit::built::the_built_function_answers(env!("CARGO_BIN_EXE_sla-check"), pool).await;
}

/// Each line crossed becomes a webhook event in the sweep's transaction: `data` the kind, the
/// line, when it was detected and the ticket; warnings and breaches to their own subscribers.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn crossed_lines_become_webhook_events(pool: PgPool) {
    let site = site(pool).await;
    let quiet = site.ticket("open").await;
    // No subscriber: the sweep writes no event.
    sweep(&site.pool, minutes_after_opening(RESPONSE_WARNING)).await.unwrap();
    assert!(nexus_testkit::webhook::types(&site.pool).await.is_empty());

    nexus_testkit::webhook::subscribe(&site.pool, &["ticket.sla_breached"]).await;
    nexus_testkit::webhook::subscribe(&site.pool, &["ticket.sla_warning", "ticket.sla_breached"]).await;
    let ticket = site.ticket("open").await;
    let now = minutes_after_opening(PAST_EVERY_LINE);
    assert_eq!(sweep(&site.pool, now).await.unwrap(), report(1, 2, 2, 2));
    let warnings = nexus_testkit::webhook::events(&site.pool, "ticket.sla_warning").await;
    let breaches = nexus_testkit::webhook::events(&site.pool, "ticket.sla_breached").await;
    let kinds = |events: &[Value]| -> BTreeSet<(String, i64)> {
        events
            .iter()
            .map(|e| (e["data"]["kind"].as_str().unwrap().to_string(), e["data"]["ticket"]["id"].as_i64().unwrap()))
            .collect()
    };
    // `quiet` crossed its response warning in the first run: only its later lines are new.
    assert_eq!(
        kinds(&warnings),
        [
            ("resolution_warning".to_string(), quiet),
            ("resolution_warning".into(), ticket),
            ("response_warning".into(), ticket)
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(
        kinds(&breaches),
        [
            ("resolution_breach".to_string(), quiet),
            ("resolution_breach".into(), ticket),
            ("response_breach".into(), quiet),
            ("response_breach".into(), ticket)
        ]
        .into_iter()
        .collect()
    );
    let breach = breaches
        .iter()
        .find(|e| e["data"]["ticket"]["id"] == ticket && e["data"]["kind"] == "response_breach")
        .unwrap();
    let at = |v: &Value| v.as_str().unwrap().parse::<DateTime<Utc>>().unwrap();
    assert_eq!(at(&breach["data"]["line_at"]), minutes_after_opening(RESPONSE_DUE));
    assert_eq!(at(&breach["data"]["detected_at"]), now);
    assert_eq!(breach["data"]["ticket"]["sla"]["response_state"], "breached");
    // Breaches go to both endpoints, warnings to one: 4 × 2 + 3 deliveries.
    assert_eq!(site.count("webhook_deliveries").await, 11);
}
