//! Every deployed function, built as Lambda runs it, answers a real event through the loopback
//! Runtime API: one table (which event each function is sent, as whom, and what it must answer)
//! and one runner. Cargo gives a binary's path only to its own package's tests, so each function
//! crate keeps a one-line test that hands `env!("CARGO_BIN_EXE_<name>")` to
//! [`the_built_function_answers`].

use std::path::Path;
use std::time::Duration;

use nexus_shared::auth::Role;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::exchange::TestResponse;
use crate::lambda::{LambdaProcess, api_gateway_v2_event, scheduled_event};
use crate::scenario::{Site, closed_ticket, site};
use crate::state::{Crew, TEST_PASSWORD, TEST_SIGNING_KEY, TestUser, crew, state};

/// What the table's events refer to: a signed-in user per role, one site, and what a case
/// asked to be prepared.
pub struct World {
    crew: Option<Crew>,
    pub site: Site,
    /// A ticket closed through the tickets and approvals routers ([`Prepare::ClosedTicket`]).
    pub closed_ticket: Option<i64>,
    /// A fresh bucket on the S3 server `scripts/test` starts ([`Prepare::ClosedTicket`]).
    pub bucket: Option<String>,
    /// A fresh secret for the first admin's password ([`Prepare::EmptyDatabase`]).
    pub admin_secret: Option<String>,
    /// A fresh signing-key secret holding the test key ([`Prepare::SigningKeySecret`]).
    pub signing_secret: Option<String>,
}

impl World {
    pub fn user(&self, role: Role) -> &TestUser {
        self.crew.as_ref().expect("a migrated database has its crew").get(role)
    }
}

/// What a case needs beyond the users and the site.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Prepare {
    Nothing,
    /// A database without the schema, and a secret for the first admin's password: the function
    /// under test is the migrator.
    EmptyDatabase,
    /// A closed ticket and a jobcard bucket (`NEXUS_JOBCARD_BUCKET`).
    ClosedTicket,
    /// An open ticket whose response lines passed before the scheduled fixture's time.
    OverdueTicket,
    /// A daily PM plan on the site's asset, from the scheduled fixture's date, a day ahead.
    PmPlan,
    /// Login failures 40 days and 5 minutes before the scheduled fixture's time.
    LoginFailures,
    /// A webhook endpoint on a loopback port nobody listens on, and a ping to it due before the
    /// scheduled fixture's time (its secret sealed under [`TEST_WEBHOOK_KEY`]).
    DueDelivery,
    /// A signing-key secret (Secrets Manager) holding the test key, as deployments before
    /// rotation hold theirs: one plain key.
    SigningKeySecret,
}

/// The webhook key the built webhook functions are given (base64 of 32 bytes).
pub const TEST_WEBHOOK_KEY: &str = "dGVzdC13ZWJob29rLWtleS1vZi0zMi1ieXRlcy0wMDA=";

/// The MFA key every built function is given (base64 of 32 bytes; only `auth` reads it).
pub const TEST_MFA_KEY: &str = "dGVzdC1tZmEta2V5LW9mLTMyLWJ5dGVzLTAwMDAwMDA=";

enum Expect {
    /// An HTTP function's answer, as API Gateway reads it: the status, and what else it must
    /// show (its body or headers after the trip through `lambda_http`).
    Http(u16, fn(&World, &TestResponse) -> bool),
    /// A scheduled or invoked function's answer, exactly.
    Answer(fn(&World) -> Value),
}

struct Case {
    function: &'static str,
    prepare: Prepare,
    /// Variables this function is started with beyond [`lambda_env`] (`None`: unset it).
    env: fn(&World) -> Vec<(&'static str, Option<String>)>,
    event: fn(&World) -> Value,
    expect: Expect,
}

fn http(
    function: &'static str,
    prepare: Prepare,
    event: fn(&World) -> Value,
    status: u16,
    shows: fn(&World, &TestResponse) -> bool,
) -> Case {
    Case { function, prepare, env: |_| Vec::new(), event, expect: Expect::Http(status, shows) }
}

fn get(path: &str, query: &str, caller: &TestUser) -> Value {
    api_gateway_v2_event("GET", path, query, Some(&caller.token), None)
}

fn post(path: &str, caller: Option<&TestUser>, body: Value) -> Value {
    api_gateway_v2_event("POST", path, "", caller.map(|c| c.token.as_str()), Some(body))
}

/// One row per deployed function (the guard in the runner's tests checks that every crate
/// under `functions/` has one).
fn cases() -> Vec<Case> {
    use Prepare::*;
    vec![
        http(
            "auth",
            Nothing,
            |w| {
                let technician = w.user(Role::Technician);
                post("/api/auth/login", None, json!({"email": technician.email, "password": TEST_PASSWORD}))
            },
            200,
            |_, r| r.body["access_token"].is_string() && r.body["token_type"] == "Bearer",
        ),
        http(
            "users",
            Nothing,
            |w| get("/api/users", "q=admin", w.user(Role::Admin)),
            200,
            |_, r| r.body["items"][0]["email"] == "admin@test.example",
        ),
        http(
            "locations",
            Nothing,
            |w| {
                let site = json!({"code": "JKT0001", "name": "Jakarta Sudirman", "latitude": -6.2, "longitude": 106.8});
                post("/api/locations", Some(w.user(Role::Admin)), site)
            },
            201,
            |_, r| r.body["code"] == "JKT0001" && r.body["id"].is_i64(),
        ),
        http(
            "assets",
            Nothing,
            |w| get(&format!("/api/assets/{}", w.site.asset_id), "", w.user(Role::Viewer)),
            200,
            |w, r| r.body["id"] == w.site.asset_id && r.body["location_id"] == w.site.location_id,
        ),
        http(
            "audit",
            Nothing,
            |w| get("/api/audit-logs", "limit=5", w.user(Role::Admin)),
            200,
            |_, r| r.body["items"].is_array(),
        ),
        http(
            "tickets",
            Nothing,
            |w| {
                let ticket = json!({"asset_id": w.site.asset_id, "ticket_type": "CM", "priority": "high", "description": "Card reader fault"});
                post("/api/tickets", Some(w.user(Role::Supervisor)), ticket)
            },
            201,
            |_, r| {
                r.body["number"].as_str().is_some_and(|n| n.starts_with("CM-")) && r.body["asset_tag"] == "ATM-SUB0001"
            },
        ),
        http(
            "approvals",
            ClosedTicket,
            |w| get(&format!("/api/approvals/{}", w.closed_ticket.unwrap()), "", w.user(Role::Viewer)),
            200,
            |_, r| r.body.to_string().contains(r#""decision":"approve""#),
        ),
        http(
            "sla",
            Nothing,
            |w| get("/api/sla", "", w.user(Role::Viewer)),
            200,
            |_, r| r.body["items"].as_array().is_some_and(|rules| rules.len() == 8),
        ),
        http(
            "pm",
            PmPlan,
            |w| get("/api/pm-plans", "", w.user(Role::Viewer)),
            200,
            |_, r| r.body["items"].as_array().is_some_and(|plans| plans.len() == 1 && plans[0]["active"] == true),
        ),
        http(
            "checklists",
            Nothing,
            |w| get("/api/checklists", "", w.user(Role::Viewer)),
            200,
            |_, r| r.body["items"].as_array().is_some_and(Vec::is_empty),
        ),
        http(
            "imports",
            Nothing,
            |w| {
                // A dry run of a one-site file, sent as API Gateway sends a text body.
                let mut event = api_gateway_v2_event(
                    "POST",
                    "/api/imports",
                    "entity=locations",
                    Some(&w.user(Role::Supervisor).token),
                    None,
                );
                event["headers"]["content-type"] = "text/csv".into();
                event["body"] =
                    "\u{feff}code,name,latitude,longitude\r\nJKT0002,Jakarta Kuningan,-6.23,106.83\r\n".into();
                event
            },
            200,
            |_, r| {
                r.body["dry_run"] == true
                    && r.body["rows"] == 1
                    && r.body["inserted"] == 1
                    && r.body["checksum"].as_str().is_some_and(|c| c.len() == 64)
            },
        ),
        Case {
            env: |_| vec![("NEXUS_WEBHOOK_KEY", Some(TEST_WEBHOOK_KEY.into()))],
            ..http(
                "webhooks",
                Nothing,
                |w| {
                    let endpoint = json!({"url": "https://93.184.215.14/nexus", "events": ["ticket.created"]});
                    post("/api/webhooks", Some(w.user(Role::Admin)), endpoint)
                },
                201,
                |_, r| {
                    r.body["secret"].as_str().is_some_and(|s| s.starts_with("whsec_"))
                        && r.body["events"] == json!(["ticket.created"])
                        && r.body.get("secret_sealed").is_none()
                },
            )
        },
        http(
            "reports",
            Nothing,
            |w| get("/api/reports/kpis", "from=2026-11-01&to=2026-11-30", w.user(Role::Viewer)),
            200,
            |_, r| {
                let all = &r.body["groups"][0];
                r.body["definition_version"] == 1
                    && all["key"] == "all"
                    && all["mttr_hours"]["value"].is_null()
                    && all["backlog"]["total"] == 0
            },
        ),
        http(
            "maps",
            Nothing,
            |w| get("/api/maps/locations", "", w.user(Role::Viewer)),
            200,
            |_, r| r.content_type() == "application/geo+json" && r.body["type"] == "FeatureCollection",
        ),
        Case {
            env: |w| vec![("NEXUS_JOBCARD_BUCKET", w.bucket.clone())],
            ..http(
                "pdf",
                ClosedTicket,
                |w| post("/api/pdf/jobcard", Some(w.user(Role::Supervisor)), json!({"ticket_id": w.closed_ticket})),
                201,
                |w, r| r.body["key"] == format!("jobcards/{}/v1.pdf", w.closed_ticket.unwrap()),
            )
        },
        Case {
            env: |w| vec![("NEXUS_JOBCARD_BUCKET", w.bucket.clone())],
            ..http(
                "files",
                ClosedTicket,
                |w| get(&format!("/api/tickets/{}/attachments", w.closed_ticket.unwrap()), "", w.user(Role::Viewer)),
                200,
                |_, r| r.body == json!({"items": []}),
            )
        },
        Case {
            // No signing key: this function never needs (nor may read) it.
            env: |_| vec![("NEXUS_JWT_SECRET", None)],
            ..http(
                "meta",
                Nothing,
                |_| api_gateway_v2_event("GET", "/api/health", "", None, None),
                200,
                |_, r| r.body == json!({"status": "ok", "database": "ok"}),
            )
        },
        Case {
            function: "sla-check",
            prepare: OverdueTicket,
            env: |_| Vec::new(),
            event: |_| scheduled_event("sla-check"),
            expect: Expect::Answer(
                |_| json!({"response_warnings": 1, "response_breaches": 1, "resolution_warnings": 0, "resolution_breaches": 0}),
            ),
        },
        Case {
            function: "pm-generate",
            prepare: PmPlan,
            env: |_| Vec::new(),
            event: |_| scheduled_event("pm-generate"),
            expect: Expect::Answer(
                |_| json!({"plans_due": 1, "generated": 2, "skipped_open": 0, "skipped_non_working": 0}),
            ),
        },
        Case {
            function: "report-rollup",
            prepare: Nothing,
            env: |_| Vec::new(),
            event: |_| scheduled_event("report-rollup"),
            expect: Expect::Answer(|_| json!({"days_rebuilt": 20, "rows_written": 0, "backfill_pending": 381})),
        },
        Case {
            // The ping is attempted (nobody answers on the port) and scheduled again.
            function: "webhook-dispatch",
            prepare: DueDelivery,
            env: |_| {
                vec![
                    ("NEXUS_WEBHOOK_KEY", Some(TEST_WEBHOOK_KEY.into())),
                    ("NEXUS_WEBHOOK_ALLOW_LOOPBACK", Some("true".into())),
                ]
            },
            event: |_| scheduled_event("webhook-dispatch"),
            expect: Expect::Answer(
                |_| json!({"attempted": 1, "delivered": 0, "retrying": 1, "failed": 0, "endpoints_disabled": 0}),
            ),
        },
        Case {
            function: "housekeeping",
            prepare: LoginFailures,
            env: |_| Vec::new(),
            event: |_| scheduled_event("housekeeping"),
            expect: Expect::Answer(
                |_| json!({"login_failures": 1, "idempotency_keys": 0, "sessions": 0, "pending_attachments": 0, "webhook_events": 0}),
            ),
        },
        Case {
            // The rotation's first step on a plain-key secret: the legacy key and a new one.
            function: "key-rotate",
            prepare: SigningKeySecret,
            env: |_| Vec::new(),
            event: |w| {
                let mut event: Value =
                    serde_json::from_str(include_str!("../../infra/events/key-rotate-create.json")).expect("fixture");
                event["SecretId"] = w.signing_secret.clone().into();
                event
            },
            expect: Expect::Answer(|_| json!({"step": "createSecret", "outcome": "created", "keys": 2, "retired": 0})),
        },
        Case {
            function: "migrate",
            prepare: EmptyDatabase,
            env: |w| {
                vec![
                    ("NEXUS_ADMIN_EMAIL", Some("first-admin@test.example".into())),
                    ("NEXUS_ADMIN_PASSWORD_SECRET_ID", w.admin_secret.clone()),
                ]
            },
            event: |_| json!({}),
            expect: Expect::Answer(|_| {
                let all: Vec<i64> = nexus_shared::db::MIGRATOR.iter().map(|m| m.version).collect();
                json!({"applied": all, "latest": all.last(), "admin": "created"})
            }),
        },
    ]
}

/// The functions the table covers, by binary name.
pub fn functions_covered() -> Vec<&'static str> {
    cases().iter().map(|c| c.function).collect()
}

/// Starts `binary` (a built function) as Lambda starts it, sends it its row's event through the
/// Runtime API and checks the answer; also that every log line is JSON (CloudWatch's format)
/// and that neither the test password nor the signing key reached the log. `pool` is a
/// `#[sqlx::test(migrations = false)]` database: migrated here unless the case is the migrator.
pub async fn the_built_function_answers(binary: &str, pool: PgPool) {
    let function = Path::new(binary).file_name().and_then(|n| n.to_str()).expect("a binary path");
    let case = cases()
        .into_iter()
        .find(|c| c.function == function)
        .unwrap_or_else(|| panic!("{function} has no row in nexus_testkit::built::cases: add the event it answers"));
    let world = prepare(&pool, case.prepare).await;
    let mut env = lambda_env(&pool);
    for (name, value) in (case.env)(&world) {
        env.retain(|(n, _)| *n != name);
        env.extend(value.map(|v| (name, v)));
    }
    let mut lambda = LambdaProcess::start(Path::new(binary), function, &env).await.expect("spawn the function");
    let answer = lambda.invoke(&(case.event)(&world), Duration::from_secs(60)).await.unwrap_or_else(|e| panic!("{e}"));
    match case.expect {
        Expect::Http(status, shows) => {
            let r = api_gateway_response(&answer);
            assert_eq!(r.status.as_u16(), status, "{function}: {:?}", r.body);
            assert!(shows(&world, &r), "{function} answered {status} without what its row expects: {r:?}");
        }
        Expect::Answer(expected) => assert_eq!(answer, expected(&world), "{function}"),
    }
    let log = settled_log(&lambda).await;
    assert!(!log.trim().is_empty(), "{function} logged nothing");
    assert!(log.lines().all(|l| serde_json::from_str::<Value>(l).is_ok()), "{function} logged a non-JSON line:\n{log}");
    assert!(!log.contains(TEST_PASSWORD) && !log.contains(TEST_SIGNING_KEY), "{function} logged a secret:\n{log}");
}

/// The process's log once its writers are done with this answer: its lines reach us through
/// pipe readers, a moment after the answer does.
async fn settled_log(lambda: &LambdaProcess) -> String {
    let mut last = lambda.log();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = lambda.log();
        if now == last && !now.is_empty() && now.ends_with('\n') {
            return now;
        }
        last = now;
    }
    last
}

async fn prepare(pool: &PgPool, prepare: Prepare) -> World {
    let mut world = World {
        crew: None,
        site: Site::default(),
        closed_ticket: None,
        bucket: None,
        admin_secret: None,
        signing_secret: None,
    };
    if prepare == Prepare::EmptyDatabase {
        world.admin_secret = Some(crate::fetch::secret("not set yet").await);
        return world;
    }
    nexus_shared::db::MIGRATOR.run(pool).await.expect("migrate");
    let state = state(pool.clone());
    world.crew = Some(crew(&state).await);
    world.site = site(pool, "SUB0001", "Asia/Jakarta").await;
    let fired_at = "2026-11-25T10:10:00Z";
    match prepare {
        Prepare::Nothing | Prepare::EmptyDatabase => {}
        Prepare::SigningKeySecret => world.signing_secret = Some(crate::fetch::secret(TEST_SIGNING_KEY).await),
        Prepare::ClosedTicket => {
            let store = crate::fetch::s3_test_store().await;
            world.bucket = Some(store.bucket().to_string());
            let (supervisor, technician) = (world.user(Role::Supervisor), world.user(Role::Technician));
            let ticket = closed_ticket(&state, world.site.asset_id, supervisor, technician).await;
            world.closed_ticket = ticket["id"].as_i64();
        }
        Prepare::OverdueTicket => {
            // Response lines at 09:48 and 10:00, resolution lines hours later: the fixture's
            // 10:10 crosses the response warning and deadline only.
            sqlx::query(
                "INSERT INTO tickets (number, ticket_type, priority, status, asset_id, location_id, description,
                     sla_calendar_id, response_target_minutes, resolution_target_minutes, warning_ratio,
                     response_warning_at, response_due_at, resolution_warning_at, resolution_due_at, created_at, updated_at)
                 SELECT 'CM-2026-000001', 'CM', 'high', 'open', $1, $2, 'Overdue', 1, 120, 480, 0.8,
                        t - interval '24 minutes', t, t + interval '264 minutes', t + interval '360 minutes',
                        t - interval '2 hours', t - interval '2 hours'
                 FROM (SELECT $3::timestamptz - interval '10 minutes' AS t) AS at",
            )
            .bind(world.site.asset_id)
            .bind(world.site.location_id)
            .bind(fired_at)
            .execute(pool)
            .await
            .expect("an overdue ticket");
        }
        Prepare::PmPlan => {
            // 08:00 WIB daily from the fixture's date, on the 24x7 calendar, a day ahead: at the
            // fixture's 10:10 UTC (17:10 WIB) the 25th's and the 26th's are due, the 27th's not.
            sqlx::query(
                "INSERT INTO pm_plans (name, description, priority, asset_ids, every, unit, anchor, starts_on,
                     start_time, calendar_id, generate_ahead_days, open_policy)
                 VALUES ('Site inspection', 'Inspect the ATM', 'medium', ARRAY[$1::bigint], 1, 'day', 'fixed',
                     ($2::timestamptz AT TIME ZONE 'UTC')::date, '08:00',
                     (SELECT id FROM sla_calendars WHERE name = '24x7'), 1, 'always')",
            )
            .bind(world.site.asset_id)
            .bind(fired_at)
            .execute(pool)
            .await
            .expect("a PM plan");
        }
        Prepare::LoginFailures => {
            // Only the first is past the retention (a day) at the fixture's time.
            sqlx::query(
                "INSERT INTO login_failures (email, failed_at)
                 SELECT 'old@test.example', $1::timestamptz - age FROM unnest(ARRAY[interval '40 days', interval '5 minutes']) age",
            )
                .bind(fired_at)
                .execute(pool)
                .await
                .expect("login failures");
        }
        Prepare::DueDelivery => {
            use nexus_shared::webhook::secret::{SigningSecret, WebhookKey};
            let key = WebhookKey::parse(TEST_WEBHOOK_KEY).expect("the test webhook key");
            let sealed = key.seal(&SigningSecret::generate().expect("a secret")).expect("sealed");
            // Port 9 (discard) on loopback: nothing listens there.
            let mut tx = pool.begin().await.expect("begin");
            let webhook: i64 = sqlx::query_scalar(
                "INSERT INTO webhooks (url, events, secret_sealed) VALUES ('http://127.0.0.1:9/hook', '{ticket.created}', $1)
                 RETURNING id",
            )
            .bind(sealed)
            .fetch_one(&mut *tx)
            .await
            .expect("a webhook");
            let ping = serde_json::json!({"webhook_id": webhook});
            let delivery =
                nexus_shared::webhook::outbox::emit_to(&mut tx, webhook, nexus_shared::webhook::EventType::Ping, ping)
                    .await
                    .expect("a ping");
            sqlx::query(
                "UPDATE webhook_deliveries SET next_attempt_at = $2::timestamptz - interval '1 minute' WHERE id = $1",
            )
            .bind(delivery)
            .bind(fired_at)
            .execute(&mut *tx)
            .await
            .expect("due before the fixture's time");
            tx.commit().await.expect("commit");
        }
    }
    world
}

/// What a deployed function is given, pointed at this test's database (and at the
/// S3/Secrets Manager server `scripts/test` starts, for the variables that are set).
pub fn lambda_env(pool: &PgPool) -> Vec<(&'static str, String)> {
    let options = pool.connect_options();
    let url = format!(
        "postgres://{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("postgres")
    );
    let mut env =
        vec![("DATABASE_URL", url), ("NEXUS_JWT_SECRET", TEST_SIGNING_KEY.into()), ("RUST_LOG", "info".into())];
    env.push(("NEXUS_MFA_KEY", TEST_MFA_KEY.into()));
    for name in
        ["AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "NEXUS_S3_FORCE_PATH_STYLE"]
    {
        if let Ok(value) = std::env::var(name) {
            env.push((name, value));
        }
    }
    env
}

/// Starts a built function binary (`env!("CARGO_BIN_EXE_<name>")`) against a loopback Lambda
/// Runtime API, configured by [`lambda_env`] plus `extra`.
pub async fn start_lambda(binary: &str, pool: &PgPool, extra: &[(&'static str, String)]) -> LambdaProcess {
    let mut env = lambda_env(pool);
    env.extend(extra.iter().cloned());
    let name = Path::new(binary).file_name().and_then(|n| n.to_str()).unwrap_or("function").to_string();
    LambdaProcess::start(Path::new(binary), &name, &env).await.expect("spawn the function binary")
}

/// Sends an API Gateway v2 event through a running function and reads API Gateway's answer.
pub async fn invoke_http(process: &mut LambdaProcess, event: Value) -> TestResponse {
    let answer = process.invoke(&event, Duration::from_secs(30)).await.unwrap_or_else(|e| panic!("{e}"));
    api_gateway_response(&answer)
}

/// An API Gateway v2 (payload 2.0) response document as status, headers and JSON body.
pub fn api_gateway_response(answer: &Value) -> TestResponse {
    use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
    let status = answer["statusCode"].as_u64().and_then(|s| StatusCode::from_u16(s as u16).ok()).expect("statusCode");
    let mut headers = HeaderMap::new();
    for (name, value) in answer["headers"].as_object().into_iter().flatten() {
        if let (Ok(name), Some(Ok(value))) =
            (HeaderName::from_bytes(name.as_bytes()), value.as_str().map(HeaderValue::from_str))
        {
            headers.insert(name, value);
        }
    }
    let raw = answer["body"].as_str().unwrap_or_default();
    let bytes = if answer["isBase64Encoded"] == true {
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, raw).expect("base64 body")
    } else {
        raw.as_bytes().to_vec()
    };
    TestResponse::new(status, headers, &bytes)
}
