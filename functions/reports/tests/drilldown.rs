//! The drill-down against real Postgres: on one small data set touching every KPI, for every
//! grouping, every group and every KPI, the tickets listed are exactly those the KPI report's
//! denominator counts (and the flags add up to its numerator); a technician's lists hold only
//! their tickets and match their figures; the cursor walks the list; the refusals.

use std::collections::{BTreeMap, BTreeSet};

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Utc};
use nexus_testkit::{TestUser, get, request, send, state};
use serde_json::Value;
use sqlx::PgPool;

mod common;
use common::{JAY, JKT, T, World, at, cm, jkt};

impl World {
    /// A bit of everything every KPI counts, at two sites in two zones, two categories, both
    /// types, several priorities, split between two technicians (and unassigned).
    async fn populate(&self) {
        let me = self.crew.technician.id;
        let (a1, a2, k1) =
            (self.asset(self.jkt, "ATM").await, self.asset(self.jkt, "ATM").await, self.asset(self.jay, "Kiosk").await);
        let lone = self.asset(self.jkt, "Kiosk").await;
        // MTTR, MTBF: CM failures resolved in October, three on a1, two on k1, one on lone.
        for (i, day) in ["2026-10-02", "2026-10-09", "2026-10-20"].iter().enumerate() {
            let c = jkt(&format!("{day} 08:00"));
            let mine = if i % 2 == 0 { Some(me) } else { None };
            self.ticket(T {
                responded: Some(c),
                resolved: Some(c + chrono::Duration::hours(3 + i as i64)),
                assigned_to: mine,
                priority: Some(["critical", "high", "low"][i]),
                response_due: Some(c + chrono::Duration::hours(1)),
                resolution_due: Some(c + chrono::Duration::hours(4)),
                ..cm(a1, c)
            })
            .await;
        }
        for day in ["2026-10-03 12:00", "2026-10-31 22:00"] {
            let c = at(JAY, day);
            self.ticket(T { resolved: Some(c + chrono::Duration::minutes(90)), assigned_to: Some(me), ..cm(k1, c) })
                .await;
        }
        self.ticket(cm(lone, jkt("2026-10-15 00:00"))).await; // open: backlog
        self.ticket(T { cancelled: Some(jkt("2026-10-16 00:00")), ..cm(a2, jkt("2026-10-15 00:00")) }).await;
        // SLA lines: response breached (never answered), response met but resolution breached.
        self.ticket(T {
            response_due: Some(jkt("2026-10-05 09:00")),
            priority: Some("medium"),
            ..cm(a2, jkt("2026-10-05 08:00"))
        })
        .await;
        self.ticket(T {
            responded: Some(jkt("2026-10-06 08:10")),
            response_due: Some(jkt("2026-10-06 09:00")),
            resolution_due: Some(jkt("2026-10-07 08:00")),
            on_hold_since: Some(jkt("2026-10-08 08:00")),
            assigned_to: Some(me),
            ..cm(a2, jkt("2026-10-06 08:00"))
        })
        .await;
        // First-time fix: closed in October (one fixed, one with two visits), one closed
        // yesterday (pending).
        let closed = |asset: i64, when: DateTime<Utc>, mine: bool| T {
            responded: Some(when - chrono::Duration::hours(2)),
            resolved: Some(when),
            closed: Some(when),
            assigned_to: mine.then_some(me),
            ..cm(asset, when - chrono::Duration::hours(3))
        };
        let f1 = self.ticket(closed(a2, jkt("2026-10-12 10:00"), true)).await;
        self.visit(f1, "inside").await;
        let f2 = self.ticket(closed(k1, at(JAY, "2026-10-13 10:00"), false)).await;
        self.visit(f2, "inside").await;
        self.visit(f2, "inside").await;
        let yesterday = Utc::now() - chrono::Duration::days(1);
        let f3 = self.ticket(closed(lone, yesterday, true)).await;
        self.visit(f3, "inside").await;
        // PM: one met within its grace, one missed, one with no plan resolved late.
        let plan = self.plan(a1, 1, "week").await;
        let due = jkt("2026-10-05 08:00");
        let pm = |plan: Option<i64>, resolved: Option<DateTime<Utc>>, mine: bool| T {
            cm: false,
            asset: a1,
            priority: Some("low"),
            created: Some(jkt("2026-09-28 08:00")),
            scheduled_for: Some(due),
            pm_plan: plan,
            responded: resolved.map(|_| due),
            resolved,
            assigned_to: mine.then_some(me),
            ..T::default()
        };
        self.ticket(pm(Some(plan), Some(jkt("2026-10-06 08:00")), true)).await;
        self.ticket(pm(Some(plan), None, false)).await;
        self.ticket(pm(None, Some(jkt("2026-10-05 09:00")), true)).await;
        // Approvals: a ticket rejected twice then approved; another approved.
        let r1 = self.ticket(T { assigned_to: Some(me), ..cm(a2, jkt("2026-09-20 08:00")) }).await;
        let r2 = self.ticket(cm(k1, jkt("2026-09-20 08:00"))).await;
        self.decide(r1, "reject", jkt("2026-10-02 10:00")).await;
        self.decide(r1, "reject", jkt("2026-10-03 10:00")).await;
        self.decide(r1, "approve", jkt("2026-10-04 10:00")).await;
        self.decide(r2, "approve", at(JAY, "2026-10-31 23:00")).await;
        // One repair on office hours (Mon–Fri 08:00–17:00): its working time differs from wall time.
        let office = self.office_calendar().await;
        let c = jkt("2026-10-23 15:00");
        let spare = self.asset(self.jkt, "ATM").await;
        let t = self
            .ticket(T { resolved: Some(c + chrono::Duration::hours(20)), assigned_to: Some(me), ..cm(spare, c) })
            .await;
        sqlx::query("UPDATE tickets SET sla_calendar_id = $2, held_seconds = 1800 WHERE id = $1")
            .bind(t)
            .bind(office)
            .execute(&self.pool)
            .await
            .unwrap();
        // Backlog: old and new open work.
        self.ticket(T { assigned_to: Some(me), ..cm(a1, jkt("2026-11-20 08:00")) }).await;
        self.ticket(T { responded: Some(jkt("2026-11-02 08:00")), ..cm(k1, jkt("2026-11-01 08:00")) }).await;
    }

    async fn json(&self, uri: &str, caller: &TestUser) -> Value {
        let r = get(&self.router, uri, caller).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {:?}", r.body);
        r.body
    }

    /// Every item of a drill-down, walked two at a time through the cursor.
    async fn drill(&self, query: &str, caller: &TestUser) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let after = cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default();
            let page = self.json(&format!("/api/reports/kpis/tickets?{query}&limit=2{after}"), caller).await;
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return items,
            }
        }
    }
}

const KPIS: [&str; 9] = [
    "mttr_hours",
    "mttr_working_hours",
    "mtbf_hours",
    "sla_response_compliance",
    "sla_resolution_compliance",
    "first_time_fix_rate",
    "pm_compliance",
    "reopen_rate",
    "backlog",
];

fn count(items: &[Value], flag: &str) -> i64 {
    items.iter().filter(|i| i["flags"][flag] == Value::Bool(true)).count() as i64
}

/// For each group of the report and each KPI: the drill-down lists exactly the denominator's
/// tickets (and its flags add up to the numerator). Returns every ticket id listed.
async fn check(w: &World, query: &str, caller: &TestUser) -> BTreeSet<i64> {
    let report = w.json(&format!("/api/reports/kpis?{query}"), caller).await;
    let mut seen = BTreeSet::new();
    let mut nonempty = 0;
    for g in report["groups"].as_array().unwrap() {
        let key = g["key"].as_str().unwrap();
        let encoded: String = form_urlencoded_key(key);
        for kpi in KPIS {
            let items = w.drill(&format!("{query}&kpi={kpi}&key={encoded}"), caller).await;
            let what = format!("{query} key={key} kpi={kpi}");
            let ids: Vec<(i64, i64)> = items
                .iter()
                .map(|i| (i["ticket_id"].as_i64().unwrap(), i["flags"]["approval_id"].as_i64().unwrap_or(0)))
                .collect();
            let mut sorted = ids.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(ids, sorted, "{what}: ordered by id, no repeats across pages");
            seen.extend(ids.iter().map(|(t, _)| *t));
            nonempty += usize::from(!items.is_empty());
            let n = items.len() as i64;
            let figure = &g[kpi];
            match kpi {
                "mttr_hours" | "mttr_working_hours" => {
                    assert_eq!(n, figure["denominator"].as_i64().unwrap(), "{what}");
                    let flag = if kpi == "mttr_hours" { "hours" } else { "working_hours" };
                    let hours: f64 = items.iter().map(|i| i["flags"][flag].as_f64().unwrap()).sum();
                    assert!((hours - figure["numerator"].as_f64().unwrap()).abs() < 1e-6, "{what}");
                }
                "mtbf_hours" => {
                    let assets: BTreeSet<i64> =
                        items.iter().map(|i| i["flags"]["asset_id"].as_i64().unwrap()).collect();
                    assert_eq!(assets.len() as i64, figure["denominator"].as_i64().unwrap(), "{what}");
                }
                "first_time_fix_rate" => {
                    let pending = count(&items, "pending");
                    let fixed = items
                        .iter()
                        .filter(|i| {
                            i["flags"]["pending"] == Value::Bool(false) && i["flags"]["fixed"] == Value::Bool(true)
                        })
                        .count() as f64;
                    assert_eq!(n - pending, figure["denominator"].as_i64().unwrap(), "{what}");
                    assert_eq!(pending, figure["pending"].as_i64().unwrap(), "{what}");
                    assert_eq!(fixed, figure["numerator"].as_f64().unwrap(), "{what}");
                }
                "reopen_rate" => {
                    assert_eq!(n, figure["denominator"].as_i64().unwrap(), "{what}");
                    assert_eq!(count(&items, "rejected") as f64, figure["numerator"].as_f64().unwrap(), "{what}");
                }
                "backlog" => {
                    assert_eq!(n, figure["total"].as_i64().unwrap(), "{what}");
                    let mut by_status: BTreeMap<String, i64> = BTreeMap::new();
                    for i in &items {
                        *by_status.entry(i["flags"]["status_then"].as_str().unwrap().to_string()).or_default() += 1;
                    }
                    for (status, c) in figure["by_status"].as_object().unwrap() {
                        assert_eq!(by_status.get(status).copied().unwrap_or(0), c.as_i64().unwrap(), "{what} {status}");
                    }
                }
                _ => {
                    assert_eq!(n, figure["denominator"].as_i64().unwrap(), "{what}");
                    assert_eq!(count(&items, "met") as f64, figure["numerator"].as_f64().unwrap(), "{what}");
                }
            }
        }
    }
    assert!(nonempty > 0, "{query}: the data set should show up somewhere");
    seen
}

fn form_urlencoded_key(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn period() -> String {
    format!("from=2026-10-01&to={}", Utc::now().with_timezone(&JKT).date_naive())
}

#[sqlx::test(migrations = "../../migrations")]
async fn every_figure_opens_onto_exactly_the_tickets_it_counts(pool: PgPool) {
    let w = World::new(pool).await;
    w.populate().await;
    let p = period();
    // Every figure has something behind it (else the comparisons below prove little).
    let all = &w.json(&format!("/api/reports/kpis?{p}"), &w.crew.admin).await["groups"][0];
    for kpi in KPIS.iter().filter(|k| **k != "backlog") {
        assert!(all[kpi]["denominator"].as_i64().unwrap() > 0, "{kpi}: {all}");
        assert!(all[kpi]["numerator"].as_f64().unwrap() > 0.0 || kpi.starts_with("sla"), "{kpi}: {all}");
    }
    assert!(all["backlog"]["total"].as_i64().unwrap() > 0 && all["first_time_fix_rate"]["pending"] == 1, "{all}");
    for group_by in
        ["none", "region", "location", "asset_category", "ticket_type", "priority", "technician", "week", "month"]
    {
        check(&w, &format!("{p}&group_by={group_by}"), &w.crew.admin).await;
    }
    // Filters narrow both alike.
    check(&w, &format!("{p}&group_by=location&region=Papua"), &w.crew.supervisor).await;
    check(&w, &format!("{p}&group_by=week&ticket_type=CM&priority=high"), &w.crew.viewer).await;
    // An item carries the ticket's facts.
    let items = w.drill(&format!("{p}&kpi=mttr_hours"), &w.crew.admin).await;
    let first = &items[0];
    for field in ["number", "ticket_type", "priority", "status", "location_code", "asset_tag", "created_at"] {
        assert!(first[field].is_string(), "{field}: {first}");
    }
    assert!(first["resolved_at"].is_string() && first["flags"]["hours"].is_number(), "{first}");
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_technician_opens_only_their_own_tickets(pool: PgPool) {
    let w = World::new(pool).await;
    w.populate().await;
    let p = period();
    let me = w.crew.technician.id;
    let mine: BTreeSet<i64> = sqlx::query_scalar::<_, i64>("SELECT id FROM tickets WHERE assigned_to = $1")
        .bind(me)
        .fetch_all(&w.pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    for group_by in ["none", "technician", "week", "location"] {
        let seen = check(&w, &format!("{p}&group_by={group_by}"), &w.crew.technician).await;
        assert!(!seen.is_empty() && seen.is_subset(&mine), "{group_by}: {seen:?} ⊄ {mine:?}");
    }
    // Another technician's group is empty for them, not someone else's tickets.
    let other = w.other_tech.id;
    for kpi in KPIS {
        let items = w.drill(&format!("{p}&group_by=technician&key={other}&kpi={kpi}"), &w.crew.technician).await;
        assert!(items.is_empty(), "{kpi}: {items:?}");
    }
    // Admin sees the other technician's tickets in that group.
    let items = w.drill(&format!("{p}&group_by=technician&key={other}&kpi=backlog"), &w.crew.admin).await;
    assert!(!items.is_empty());
}

#[sqlx::test(migrations = "../../migrations")]
async fn unknown_kpis_and_keys_that_do_not_fit_the_grouping_are_422(pool: PgPool) {
    let w = World::new(pool).await;
    let p = "from=2026-10-01&to=2026-10-31";
    let cases = [
        (format!("{p}&kpi=uptime"), "kpi"),
        (format!("{p}&kpi=backlog&key=Jawa"), "key"),
        (format!("{p}&kpi=backlog&group_by=region"), "key"),
        (format!("{p}&kpi=backlog&group_by=week&key=2026-W49"), "key"),
        (format!("{p}&kpi=backlog&group_by=month&key=2026-13"), "key"),
        (format!("{p}&kpi=backlog&group_by=priority&key=urgent"), "key"),
        (format!("{p}&kpi=backlog&group_by=ticket_type&key=XX"), "key"),
        (format!("{p}&kpi=backlog&group_by=technician&key=alice"), "key"),
        (format!("{p}&kpi=backlog&group_by=location&key=NOPE0001"), "key"),
        (format!("{p}&kpi=backlog&cursor=garbage"), "cursor"),
        (format!("{p}&kpi=backlog&limit=0"), "limit"),
        ("from=2026-10-31&to=2026-10-01&kpi=backlog".to_string(), "to"),
    ];
    for (query, field) in cases {
        let r = get(&w.router, &format!("/api/reports/kpis/tickets?{query}"), &w.crew.admin).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {:?}", r.body);
        assert!(r.body.to_string().contains(field), "{query}: {:?}", r.body);
    }
    // The keys the report gives are accepted.
    for query in [
        format!("{p}&kpi=backlog&key=all"),
        format!("{p}&kpi=backlog&group_by=week&key=2026-W44"),
        format!("{p}&kpi=backlog&group_by=technician&key=(none)"),
        format!("{p}&kpi=backlog&group_by=location&key=JKT0001"),
        format!("{p}&kpi=reopen_rate&group_by=region&key=Atlantis"),
    ] {
        let r = get(&w.router, &format!("/api/reports/kpis/tickets?{query}"), &w.crew.admin).await;
        assert_eq!(r.status, StatusCode::OK, "{query}: {:?}", r.body);
    }
    let anonymous =
        send(&w.router, request(Method::GET, &format!("/api/reports/kpis/tickets?{p}&kpi=backlog"), None, None)).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

/// With a read pool (`NEXUS_DATABASE_READ_URL`) the drill-down reads the replica: here a second
/// database holding an open ticket the primary does not have.
#[sqlx::test(migrations = "../../migrations")]
async fn the_drill_down_reads_the_replica_when_there_is_one(pool: PgPool) {
    let name: String = sqlx::query_scalar("SELECT 'read_' || md5(current_database())").fetch_one(&pool).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\""))).execute(&pool).await.unwrap();
    let read = PgPool::connect_with(pool.connect_options().as_ref().clone().database(&name)).await.unwrap();
    nexus_shared::db::MIGRATOR.run(&read).await.unwrap();
    let replica = World::new(read.clone()).await;
    let asset = replica.asset(replica.jkt, "ATM").await;
    let only_there = replica.ticket(cm(asset, jkt("2026-10-01 08:00"))).await;

    let primary = World::new(pool.clone()).await;
    let state = state(pool.clone()).with_read_pool(read.clone());
    let router = nexus_reports::router(state);
    let uri = format!("/api/reports/kpis/tickets?{}&kpi=backlog", period());
    let r = get(&router, &uri, &primary.crew.admin).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let ids: Vec<i64> = r.body["items"].as_array().unwrap().iter().map(|i| i["ticket_id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [only_there]);
    let r = get(&primary.router, &uri, &primary.crew.admin).await;
    assert_eq!(r.body["items"], serde_json::json!([]), "the primary has none");

    read.close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE \"{name}\" WITH (FORCE)"))).execute(&pool).await.unwrap();
}
