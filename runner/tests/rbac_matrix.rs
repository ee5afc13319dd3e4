//! Every route × {admin, supervisor, technician, viewer, anonymous}, in one table, against the
//! whole application as the local runner serves it. The table must list exactly the
//! operations of the OpenAPI document, so a new route cannot go unchecked.

use std::collections::BTreeSet;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use nexus_local_runner::States;
use nexus_shared::auth::Role;
use nexus_testkit::{self as testing, TEST_PASSWORD, TestUser, request, send};
use serde_json::{Value, json};
use sqlx::PgPool;

/// Who may call a route.
#[derive(Clone, Copy)]
enum Access {
    /// No token needed: everyone gets the success status.
    Public,
    /// These roles get the success status; other roles 403; anonymous 401.
    Roles(&'static [Role]),
}

const ALL: &[Role] = Role::ALL;
const STAFF: &[Role] = &[Role::Admin, Role::Supervisor];
const ADMIN: &[Role] = &[Role::Admin];
const WORKERS: &[Role] = &[Role::Admin, Role::Supervisor, Role::Technician];
/// Only the technician assigned to the ticket (the matrix assigns it to the technician).
const TECHNICIAN: &[Role] = &[Role::Technician];

struct Route {
    method: Method,
    path: &'static str,
    access: Access,
    success: StatusCode,
}

fn route(method: Method, path: &'static str, access: Access, success: u16) -> Route {
    Route { method, path, access, success: StatusCode::from_u16(success).unwrap() }
}

fn table() -> Vec<Route> {
    use Access::*;
    vec![
        route(Method::GET, "/api/health", Public, 200),
        route(Method::GET, "/api/openapi.json", Public, 200),
        route(Method::POST, "/api/auth/signup", Public, 201),
        route(Method::POST, "/api/auth/login", Public, 200),
        route(Method::POST, "/api/auth/refresh", Public, 200),
        route(Method::GET, "/api/auth/me", Roles(ALL), 200),
        route(Method::POST, "/api/auth/password", Roles(ALL), 204),
        route(Method::GET, "/api/users", Roles(ADMIN), 200),
        route(Method::GET, "/api/users/{id}", Roles(ADMIN), 200),
        route(Method::PUT, "/api/users/{id}", Roles(ADMIN), 200),
        route(Method::DELETE, "/api/users/{id}", Roles(ADMIN), 204),
        route(Method::DELETE, "/api/users/{id}/mfa", Roles(ADMIN), 204),
        route(Method::GET, "/api/locations", Roles(ALL), 200),
        route(Method::POST, "/api/locations", Roles(STAFF), 201),
        route(Method::GET, "/api/locations/{id}", Roles(ALL), 200),
        route(Method::PUT, "/api/locations/{id}", Roles(STAFF), 200),
        route(Method::DELETE, "/api/locations/{id}", Roles(STAFF), 204),
        route(Method::GET, "/api/assets", Roles(ALL), 200),
        route(Method::POST, "/api/assets", Roles(STAFF), 201),
        route(Method::GET, "/api/assets/{id}", Roles(ALL), 200),
        route(Method::PUT, "/api/assets/{id}", Roles(STAFF), 200),
        route(Method::DELETE, "/api/assets/{id}", Roles(STAFF), 200),
        route(Method::GET, "/api/audit-logs", Roles(STAFF), 200),
        route(Method::GET, "/api/tickets", Roles(ALL), 200),
        route(Method::POST, "/api/tickets", Roles(STAFF), 201),
        route(Method::GET, "/api/tickets/{id}", Roles(ALL), 200),
        route(Method::PUT, "/api/tickets/{id}", Roles(WORKERS), 200),
        route(Method::DELETE, "/api/tickets/{id}", Roles(STAFF), 200),
        route(Method::GET, "/api/tickets/{id}/history", Roles(ALL), 200),
        route(Method::POST, "/api/approvals", Roles(STAFF), 201),
        route(Method::GET, "/api/approvals/{ticket_id}", Roles(ALL), 200),
        route(Method::GET, "/api/sla", Roles(ALL), 200),
        route(Method::POST, "/api/sla", Roles(STAFF), 200),
        route(Method::GET, "/api/sla/calendars", Roles(ALL), 200),
        route(Method::POST, "/api/sla/calendars", Roles(STAFF), 201),
        route(Method::PUT, "/api/sla/calendars/{id}", Roles(STAFF), 200),
        route(Method::GET, "/api/sla/events", Roles(STAFF), 200),
        route(Method::GET, "/api/maps/live-tickets", Roles(ALL), 200),
        route(Method::GET, "/api/maps/locations", Roles(ALL), 200),
        route(Method::GET, "/api/pm-plans", Roles(ALL), 200),
        route(Method::POST, "/api/pm-plans", Roles(STAFF), 201),
        route(Method::GET, "/api/pm-plans/{id}", Roles(ALL), 200),
        route(Method::PUT, "/api/pm-plans/{id}", Roles(STAFF), 200),
        route(Method::DELETE, "/api/pm-plans/{id}", Roles(STAFF), 200),
        route(Method::GET, "/api/pm-plans/{id}/forecast", Roles(ALL), 200),
        route(Method::GET, "/api/pm-plans/{id}/occurrences", Roles(ALL), 200),
        route(Method::GET, "/api/checklists", Roles(ALL), 200),
        route(Method::POST, "/api/checklists", Roles(STAFF), 201),
        route(Method::GET, "/api/checklists/{id}", Roles(ALL), 200),
        route(Method::PUT, "/api/checklists/{id}", Roles(STAFF), 200),
        route(Method::GET, "/api/tickets/{id}/checklist", Roles(ALL), 200),
        route(Method::PUT, "/api/tickets/{id}/checklist", Roles(WORKERS), 200),
        route(Method::GET, "/api/reports/kpis", Roles(ALL), 200),
        route(Method::GET, "/api/reports/kpis/tickets", Roles(ALL), 200),
        route(Method::POST, "/api/exports", Roles(WORKERS), 201),
        route(Method::POST, "/api/imports", Roles(STAFF), 200),
        route(Method::GET, "/api/imports", Roles(STAFF), 200),
        route(Method::GET, "/api/imports/{id}", Roles(STAFF), 200),
        route(Method::GET, "/api/imports/{id}/errors", Roles(STAFF), 200),
        route(Method::GET, "/api/webhooks", Roles(ADMIN), 200),
        route(Method::POST, "/api/webhooks", Roles(ADMIN), 201),
        route(Method::GET, "/api/webhooks/{id}", Roles(ADMIN), 200),
        route(Method::PUT, "/api/webhooks/{id}", Roles(ADMIN), 200),
        route(Method::DELETE, "/api/webhooks/{id}", Roles(ADMIN), 204),
        route(Method::POST, "/api/webhooks/{id}/rotate-secret", Roles(ADMIN), 200),
        route(Method::POST, "/api/webhooks/{id}/test", Roles(ADMIN), 202),
        route(Method::GET, "/api/webhooks/{id}/deliveries", Roles(ADMIN), 200),
        route(Method::POST, "/api/webhooks/{id}/deliveries/{delivery_id}/replay", Roles(ADMIN), 202),
        route(Method::GET, "/api/tickets/{id}/attachments", Roles(ALL), 200),
        route(Method::POST, "/api/tickets/{id}/attachments", Roles(WORKERS), 201),
        route(Method::POST, "/api/tickets/{id}/attachments/{aid}/confirm", Roles(WORKERS), 200),
        route(Method::GET, "/api/tickets/{id}/visits", Roles(ALL), 200),
        route(Method::POST, "/api/tickets/{id}/visits", Roles(TECHNICIAN), 201),
        route(Method::POST, "/api/tickets/{id}/visits/{visit_id}/checkout", Roles(TECHNICIAN), 200),
        route(Method::GET, "/api/assets/{id}/meters", Roles(ALL), 200),
        route(Method::POST, "/api/assets/{id}/meters", Roles(STAFF), 201),
        route(Method::GET, "/api/meters/{id}/readings", Roles(ALL), 200),
        route(Method::POST, "/api/meters/{id}/readings", Roles(WORKERS), 201),
        route(Method::POST, "/api/pdf/jobcard", Roles(WORKERS), 201),
        route(Method::GET, "/api/pdf/jobcard/{ticket_id}", Roles(WORKERS), 200),
        // Each caller enrols, then confirms (which ends their other sessions: near the end).
        route(Method::POST, "/api/auth/mfa/enroll", Roles(ALL), 200),
        route(Method::POST, "/api/auth/mfa/confirm", Roles(ALL), 200),
        route(Method::POST, "/api/auth/mfa/verify", Public, 200),
        // Last: it ends the caller's session.
        route(Method::POST, "/api/auth/logout", Roles(ALL), 204),
    ]
}

/// Fresh targets for one call, so every allowed caller can succeed on its own.
async fn prepare(
    app: &axum::Router,
    pool: &PgPool,
    state: &nexus_shared::AppState,
    route: &Route,
    n: usize,
    caller: Option<&TestUser>,
    admin: &TestUser,
) -> (String, Option<Value>) {
    let testing::Site { location_id: location, asset_id: asset } =
        testing::site(pool, &format!("RBAC-{n}"), "Asia/Jakarta").await;
    let target = testing::user(state, &format!("target{n}@test.example"), &[Role::Viewer]).await;
    let path = route.path;
    let (uri, body) = match (route.method.as_str(), path) {
        ("POST", "/api/auth/signup") => {
            (path.into(), Some(json!({"email": format!("new{n}@test.example"), "password": TEST_PASSWORD})))
        }
        ("POST", "/api/auth/login") => (path.into(), Some(json!({"email": target.email, "password": TEST_PASSWORD}))),
        ("POST", "/api/auth/refresh") => {
            let login = json!({"email": target.email, "password": TEST_PASSWORD});
            let tokens = send(app, request(Method::POST, "/api/auth/login", None, Some(login))).await.body;
            (path.into(), Some(json!({"refresh_token": tokens["refresh_token"]})))
        }
        ("POST", "/api/auth/password") => {
            let change = json!({"current_password": TEST_PASSWORD, "new_password": "a-new-password-of-length"});
            (path.into(), Some(change))
        }
        ("POST", "/api/auth/mfa/confirm") => {
            // The caller's pending enrolment (anonymous has none), confirmed with its current code.
            let code = match caller {
                Some(caller) => {
                    let enrolled =
                        send(app, request(Method::POST, "/api/auth/mfa/enroll", Some(&caller.token), None)).await;
                    assert_eq!(enrolled.status, StatusCode::OK, "{:?}", enrolled.body);
                    let secret = nexus_testkit::mfa::secret_from_base32(enrolled.body["secret"].as_str().unwrap());
                    nexus_testkit::mfa::code(&secret, 0)
                }
                None => "000000".into(),
            };
            (path.into(), Some(json!({"code": code})))
        }
        ("POST", "/api/auth/mfa/verify") => {
            // The target enrols, then signs in: the password step answers the token a recovery code completes.
            let (_, enrolled) = nexus_testkit::mfa::enrol(app, &target.token).await;
            let login = json!({"email": target.email, "password": TEST_PASSWORD});
            let challenge = send(app, request(Method::POST, "/api/auth/login", None, Some(login))).await.body;
            (path.into(), Some(json!({"mfa_token": challenge["mfa_token"], "code": enrolled.recovery_codes[0]})))
        }
        ("PUT", "/api/users/{id}") => (format!("/api/users/{}", target.id), Some(json!({"full_name": "Renamed"}))),
        (_, "/api/users/{id}") => (format!("/api/users/{}", target.id), None),
        (_, "/api/users/{id}/mfa") => {
            let _ = nexus_testkit::mfa::enrol(app, &target.token).await;
            (format!("/api/users/{}/mfa", target.id), None)
        }
        ("POST", "/api/locations") => (path.into(), Some(json!({"code": format!("NEW-{n}"), "name": "New site"}))),
        ("PUT", "/api/locations/{id}") => (format!("/api/locations/{location}"), Some(json!({"name": "Renamed"}))),
        ("DELETE", "/api/locations/{id}") => {
            let empty: i64 = sqlx::query_scalar("INSERT INTO locations (code, name) VALUES ($1, 'Empty') RETURNING id")
                .bind(format!("EMPTY-{n}"))
                .fetch_one(pool)
                .await
                .unwrap();
            (format!("/api/locations/{empty}"), None)
        }
        (_, "/api/locations/{id}") => (format!("/api/locations/{location}"), None),
        ("POST", "/api/assets") => {
            (path.into(), Some(json!({"location_id": location, "tag": format!("NEW-ATM-{n}"), "name": "ATM"})))
        }
        ("POST", "/api/tickets") => (
            path.into(),
            Some(json!({"asset_id": asset, "ticket_type": "CM", "priority": "high", "description": "Jammed"})),
        ),
        (method, "/api/tickets/{id}") => {
            let ticket = ticket_for(app, asset, caller, admin).await;
            let body = (method == "PUT").then(|| json!({"notes": "Checked the dispenser"}));
            (format!("/api/tickets/{ticket}"), body)
        }
        (_, "/api/reports/kpis") => (format!("{path}?from=2026-11-01&to=2026-11-30&group_by=region"), None),
        (_, "/api/reports/kpis/tickets") => (format!("{path}?from=2026-11-01&to=2026-11-30&kpi=backlog"), None),
        ("POST", "/api/exports") => (path.into(), Some(json!({"entity": "tickets"}))),
        // A dry run of a one-site file (a JSON string here: sent as text/csv below).
        ("POST", "/api/imports") => (format!("{path}?entity=locations"), Some(Value::String(import_file(n)))),
        (_, "/api/imports/{id}" | "/api/imports/{id}/errors") => {
            let uri = "/api/imports?entity=locations";
            let made = send(app, csv_request(uri, Some(&admin.token), import_file(n))).await;
            assert_eq!(made.status, StatusCode::OK, "{:?}", made.body);
            (path.replace("{id}", &made.body["import_id"].to_string()), None)
        }
        ("POST", "/api/checklists") => (path.into(), Some(json!({"name": "Inspection", "items": checklist_items()}))),
        (method, "/api/checklists/{id}") => {
            let checklist = checklist(pool).await;
            let body = (method == "PUT").then(|| json!({"name": "Inspection, revised"}));
            (format!("/api/checklists/{checklist}"), body)
        }
        (method, "/api/tickets/{id}/checklist") => {
            let ticket = ticket_for(app, asset, caller, admin).await;
            nexus_shared::checklist::attach_latest(&mut pool.acquire().await.unwrap(), ticket, checklist(pool).await)
                .await
                .unwrap();
            let body = (method == "PUT").then(|| json!({"answers": [{"key": "door", "value": true}]}));
            (format!("/api/tickets/{ticket}/checklist"), body)
        }
        ("GET", "/api/tickets/{id}/attachments") => {
            (format!("/api/tickets/{}/attachments", ticket_for(app, asset, caller, admin).await), None)
        }
        ("POST", "/api/tickets/{id}/attachments") => {
            let ticket = ticket_for(app, asset, caller, admin).await;
            (format!("/api/tickets/{ticket}/attachments"), Some(attachment_body()))
        }
        (_, "/api/tickets/{id}/attachments/{aid}/confirm") => {
            // Declared and uploaded as the admin, confirmed by the caller.
            let ticket = ticket_for(app, asset, caller, admin).await;
            let uri = format!("/api/tickets/{ticket}/attachments");
            let declared = send(app, request(Method::POST, &uri, Some(&admin.token), Some(attachment_body()))).await;
            assert_eq!(declared.status, StatusCode::CREATED, "{:?}", declared.body);
            upload(&declared.body["upload"]).await;
            (format!("{uri}/{}/confirm", declared.body["id"]), None)
        }
        (method, "/api/tickets/{id}/visits") => {
            // Assigned to the caller when a technician; nobody else can be its technician.
            let ticket = ticket_for(app, asset, caller, admin).await;
            let body = (method == "POST").then(|| json!({"lat": -6.2, "lng": 106.8, "accuracy_m": 10.0}));
            (format!("/api/tickets/{ticket}/visits"), body)
        }
        (_, "/api/tickets/{id}/visits/{visit_id}/checkout") => {
            let ticket = ticket_for(app, asset, caller, admin).await;
            let visit: i64 = sqlx::query_scalar(
                "INSERT INTO visits (ticket_id, technician_id, checked_in_at, lat, lng, accuracy_m, result)
                 VALUES ($1, $2, now() - interval '1 minute', -6.2, 106.8, 10, 'no_site_position') RETURNING id",
            )
            .bind(ticket)
            .bind(caller.unwrap_or(admin).id)
            .fetch_one(pool)
            .await
            .unwrap();
            let body = json!({"lat": -6.2, "lng": 106.8, "accuracy_m": 10.0});
            (format!("/api/tickets/{ticket}/visits/{visit}/checkout"), Some(body))
        }
        (_, "/api/tickets/{id}/history") => {
            (format!("/api/tickets/{}/history", ticket_for(app, asset, caller, admin).await), None)
        }
        ("POST", "/api/pdf/jobcard") => {
            let ticket = closed_ticket_for(app, pool, asset, caller, admin).await;
            (path.into(), Some(json!({"ticket_id": ticket})))
        }
        (_, "/api/pdf/jobcard/{ticket_id}") => {
            let ticket = closed_ticket_for(app, pool, asset, caller, admin).await;
            let made = send(
                app,
                request(Method::POST, "/api/pdf/jobcard", Some(&admin.token), Some(json!({"ticket_id": ticket}))),
            )
            .await;
            assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
            (format!("/api/pdf/jobcard/{ticket}"), None)
        }
        ("POST", "/api/approvals") => {
            let ticket = ticket_for(app, asset, None, admin).await;
            sqlx::query(
                "UPDATE tickets SET status = 'resolved', assigned_to = $2, responded_at = now(), resolved_at = now(),
                 resolution_notes = 'Fixed' WHERE id = $1",
            )
            .bind(ticket)
            .bind(admin.id)
            .execute(pool)
            .await
            .unwrap();
            (path.into(), Some(json!({"ticket_id": ticket, "decision": "approve"})))
        }
        (_, "/api/approvals/{ticket_id}") => {
            (format!("/api/approvals/{}", ticket_for(app, asset, caller, admin).await), None)
        }
        ("POST", "/api/sla") => (
            path.into(),
            Some(
                json!({"ticket_type": "CM", "priority": "low", "response_target_minutes": 60, "resolution_target_minutes": 120}),
            ),
        ),
        ("POST", "/api/sla/calendars") => (path.into(), Some(json!({"name": format!("Calendar {n}"), "kind": "24x7"}))),
        // The 24x7 calendar the migrations create (id 1).
        ("PUT", "/api/sla/calendars/{id}") => {
            ("/api/sla/calendars/1".into(), Some(json!({"name": format!("Always {n}")})))
        }
        ("POST", "/api/pm-plans") => (path.into(), Some(pm_plan(asset))),
        (method, "/api/pm-plans/{id}" | "/api/pm-plans/{id}/forecast" | "/api/pm-plans/{id}/occurrences") => {
            let made =
                send(app, request(Method::POST, "/api/pm-plans", Some(&admin.token), Some(pm_plan(asset)))).await;
            assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
            let uri = path.replace("{id}", &made.body["id"].to_string());
            match (method, path) {
                ("PUT", _) => (uri, Some(json!({"name": "Renamed"}))),
                (_, "/api/pm-plans/{id}/forecast") => (format!("{uri}?from=2026-12-01&to=2026-12-31"), None),
                _ => (uri, None),
            }
        }
        ("POST", "/api/assets/{id}/meters") => (
            format!("/api/assets/{asset}/meters"),
            Some(json!({"name": "cash_cycles", "unit": "cycles", "kind": "cumulative"})),
        ),
        (_, "/api/assets/{id}/meters") => (format!("/api/assets/{asset}/meters"), None),
        (method, "/api/meters/{id}/readings") => {
            let meter: i64 = sqlx::query_scalar(
                "INSERT INTO meters (asset_id, name, unit, kind) VALUES ($1, 'cash_cycles', 'cycles', 'cumulative') RETURNING id",
            )
            .bind(asset)
            .fetch_one(pool)
            .await
            .unwrap();
            let body =
                (method == "POST").then(|| json!({"readings": [{"value": 10.0, "read_at": "2026-11-01T00:00:00Z"}]}));
            (format!("/api/meters/{meter}/readings"), body)
        }
        ("POST", "/api/webhooks") => (path.into(), Some(webhook_body())),
        (method, p) if p.starts_with("/api/webhooks/{id}") => {
            let made =
                send(app, request(Method::POST, "/api/webhooks", Some(&admin.token), Some(webhook_body()))).await;
            assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
            let id = made.body["id"].as_i64().unwrap();
            let uri = p.replace("{id}", &id.to_string());
            match (method, p) {
                ("PUT", _) => (uri, Some(json!({"description": "Renamed"}))),
                (_, "/api/webhooks/{id}/deliveries/{delivery_id}/replay") => {
                    // A ping that was delivered: replayable.
                    let ping =
                        send(app, request(Method::POST, &format!("/api/webhooks/{id}/test"), Some(&admin.token), None))
                            .await;
                    let delivery = ping.body["id"].as_i64().unwrap();
                    sqlx::query(
                        "UPDATE webhook_deliveries SET status = 'delivered', next_attempt_at = NULL, delivered_at = now()
                         WHERE id = $1",
                    )
                    .bind(delivery)
                    .execute(pool)
                    .await
                    .unwrap();
                    (uri.replace("{delivery_id}", &delivery.to_string()), None)
                }
                _ => (uri, None),
            }
        }
        ("PUT", "/api/assets/{id}") => (format!("/api/assets/{asset}"), Some(json!({"name": "Renamed"}))),
        (_, "/api/assets/{id}") => (format!("/api/assets/{asset}"), None),
        _ => (path.into(), None),
    };
    (uri, body)
}

/// An endpoint at a public address written as a literal (no DNS; the matrix sends nothing).
fn webhook_body() -> Value {
    json!({"url": "https://93.184.215.14/nexus", "events": ["ticket.created", "ticket.status_changed"]})
}

/// A sites file of one new site.
fn import_file(n: usize) -> String {
    format!("code,name\r\nIMP-{n},Imported site\r\n")
}

/// A POST of a CSV body (the import's).
fn csv_request(uri: &str, token: Option<&str>, csv: String) -> axum::http::Request<axum::body::Body> {
    let mut builder = axum::http::Request::builder().method(Method::POST).uri(uri).header("content-type", "text/csv");
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    builder.body(axum::body::Body::from(csv)).unwrap()
}

/// A tiny PNG, as a device would photograph it.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n0000IHDR";

fn attachment_body() -> Value {
    use sha2::Digest;
    let sha256: String = sha2::Sha256::digest(PNG).iter().map(|b| format!("{b:02x}")).collect();
    json!({"kind": "after", "content_type": "image/png", "size_bytes": PNG.len(), "sha256": sha256})
}

/// PUTs the PNG to a presigned upload with the headers it was signed with.
async fn upload(upload: &Value) {
    let headers: Vec<(String, String)> = upload["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    let answer = nexus_testkit::fetch::put(upload["url"].as_str().unwrap(), &headers, PNG).await;
    assert_eq!(answer.status, 200, "upload: {}", String::from_utf8_lossy(&answer.body));
}

fn checklist_items() -> Value {
    json!([{"key": "door", "label": "Door locked", "type": "check", "required": true}])
}

/// A checklist with one version.
async fn checklist(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "WITH c AS (INSERT INTO checklists (name) VALUES ('Inspection') RETURNING id)
         INSERT INTO checklist_versions (checklist_id, version, name, items) SELECT id, 1, 'Inspection', $1 FROM c
         RETURNING checklist_id",
    )
    .bind(checklist_items())
    .fetch_one(pool)
    .await
    .unwrap()
}

/// A monthly PM plan for one asset.
fn pm_plan(asset: i64) -> Value {
    json!({"name": "Monthly inspection", "priority": "medium", "scope": {"asset_ids": [asset]},
           "recurrence": {"every": 1, "unit": "month"}, "anchor": "fixed", "starts_on": "2026-12-01", "start_time": "08:00"})
}

/// A new ticket, assigned to the caller when the caller is a technician (technicians see only
/// their own tickets).
async fn ticket_for(app: &axum::Router, asset: i64, caller: Option<&TestUser>, admin: &TestUser) -> i64 {
    let mut ticket = json!({"asset_id": asset, "ticket_type": "CM", "priority": "high", "description": "Jammed"});
    if let Some(technician) = caller.filter(|c| c.email.starts_with("technician@")) {
        ticket["assigned_to"] = technician.id.into();
    }
    let created = send(app, request(Method::POST, "/api/tickets", Some(&admin.token), Some(ticket))).await;
    created.body["id"].as_i64().expect("ticket created")
}

/// A closed ticket (assigned to the caller when a technician), closed directly in the database.
async fn closed_ticket_for(
    app: &axum::Router,
    pool: &PgPool,
    asset: i64,
    caller: Option<&TestUser>,
    admin: &TestUser,
) -> i64 {
    let ticket = ticket_for(app, asset, caller, admin).await;
    sqlx::query(
        "UPDATE tickets SET status = 'closed', assigned_to = COALESCE(assigned_to, $2), responded_at = now(),
         resolved_at = now(), closed_at = now(), resolution_notes = 'Fixed' WHERE id = $1",
    )
    .bind(ticket)
    .bind(admin.id)
    .execute(pool)
    .await
    .unwrap();
    ticket
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn every_route_answers_every_role_as_the_table_says(pool: PgPool) {
    let state = testing::state(pool.clone());
    let store = nexus_testkit::fetch::s3_test_store().await;
    let app = nexus_local_runner::app(&States::new(state.clone(), testing::passwords(), Duration::ZERO, store));
    let callers: Vec<(&str, Option<TestUser>)> = testing::everyone(&state).await;
    let mut n = 0;
    let mut failures = Vec::new();
    for route in table() {
        for (name, caller) in &callers {
            n += 1;
            let admin =
                callers.iter().find_map(|(name, u)| (*name == "admin").then_some(u.as_ref()).flatten()).unwrap();
            let (uri, body) = prepare(&app, &pool, &state, &route, n, caller.as_ref(), admin).await;
            let token = caller.as_ref().map(|u| u.token.as_str());
            let request = match (route.method.as_str(), route.path, body) {
                ("POST", "/api/imports", Some(Value::String(csv))) => csv_request(&uri, token, csv),
                (_, _, body) => request(route.method.clone(), &uri, token, body),
            };
            let response = send(&app, request).await;
            let expected = match (route.access, caller) {
                (Access::Public, _) => route.success,
                (Access::Roles(_), None) => StatusCode::UNAUTHORIZED,
                (Access::Roles(allowed), Some(_)) if allowed.iter().any(|r| r.as_str() == *name) => route.success,
                (Access::Roles(_), Some(_)) => StatusCode::FORBIDDEN,
            };
            if response.status != expected {
                failures.push(format!(
                    "{} {} as {name}: expected {expected}, got {} {}",
                    route.method, route.path, response.status, response.body
                ));
            }
            for (header, _) in nexus_shared::http::SECURITY_HEADERS {
                if !response.headers.contains_key(&header) {
                    failures.push(format!("{} {} as {name}: no {header} header", route.method, route.path));
                }
            }
            if !response.status.is_success() && response.content_type() != "application/problem+json" {
                failures.push(format!("{} {} as {name}: error without problem+json", route.method, route.path));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_table_covers_exactly_the_documented_operations() {
    let doc: Value = serde_json::from_str(&nexus_local_runner::api::document().to_json().unwrap()).unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let tabled: BTreeSet<String> = table().iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    assert_eq!(tabled, documented);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn the_openapi_document_is_3_1_and_describes_errors_as_problems(pool: PgPool) {
    let store = nexus_testkit::fetch::s3_test_store().await;
    let app = nexus_local_runner::app(&States::new(testing::state(pool), testing::passwords(), Duration::ZERO, store));
    let r = send(&app, request(Method::GET, "/api/openapi.json", None, None)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["openapi"].as_str().unwrap().starts_with("3.1"));
    let login = &r.body["paths"]["/api/auth/login"]["post"]["responses"];
    assert!(login["429"].is_object() && login["422"].is_object());
    let secured = &r.body["paths"]["/api/locations"]["post"];
    assert_eq!(secured["security"][0]["bearer"], json!([]));
    assert_eq!(
        secured["responses"]["403"]["content"]["application/problem+json"]["schema"]["$ref"],
        "#/components/schemas/Problem"
    );
}
