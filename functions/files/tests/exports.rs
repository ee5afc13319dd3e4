//! `POST /api/exports` against moto and Postgres (both started by scripts/test): the file in S3
//! is byte for byte the list's own CSV export for the same filters, its rows and bytes are
//! what the answer says, a file past one part goes up as a multipart upload, technicians get
//! their tickets only, and the limits stop an export whole (nothing left in the bucket).

use std::time::Duration;

use axum::Router;
use axum::http::{Method, StatusCode};
use nexus_files::{ExportLimits, FilesState};
use nexus_shared::storage::S3Store;
use nexus_testkit::csv::get_csv;
use nexus_testkit::{self as testing, Crew, TestResponse, TestUser, post, request, send};
use serde_json::{Value, json};
use sqlx::PgPool;

struct Fixture {
    files: Router,
    state: nexus_shared::AppState,
    pool: PgPool,
    store: S3Store,
    crew: Crew,
    location: i64,
    asset: i64,
}

async fn setup(pool: PgPool, limits: ExportLimits) -> Fixture {
    let store = nexus_testkit::fetch::s3_test_store().await;
    let state = testing::state(pool.clone());
    let crew = testing::crew(&state).await;
    let site = testing::site(&pool, "DPS0001", "Asia/Makassar").await;
    let files = nexus_files::router(FilesState::new(state.clone(), store.clone()).with_export_limits(limits));
    Fixture { files, state, pool, store, crew, location: site.location_id, asset: site.asset_id }
}

impl Fixture {
    /// `n` tickets, every other one assigned to the crew's technician, with text that needs
    /// quoting and the formula guard; statuses, types and priorities varied.
    async fn tickets(&self, n: i64) {
        sqlx::query(
            r#"INSERT INTO tickets (number, ticket_type, priority, status, asset_id, location_id, description, assigned_to,
                   sla_calendar_id, response_target_minutes, resolution_target_minutes, warning_ratio,
                   response_warning_at, response_due_at, resolution_warning_at, resolution_due_at, response_breached,
                   created_at)
               SELECT 'CM-' || lpad(g::text, 7, '0'), CASE WHEN g % 3 = 0 THEN 'PM' ELSE 'CM' END,
                   (ARRAY['critical', 'high', 'medium', 'low'])[1 + g % 4],
                   CASE WHEN g % 2 = 0 THEN 'assigned' ELSE 'open' END, $1, $2,
                   CASE g % 4 WHEN 0 THEN '=HYPERLINK("http://x")' WHEN 1 THEN 'Dispenser jammed, "badly"'
                       WHEN 2 THEN 'two' || chr(10) || 'lines' ELSE 'Card reader error ' || g END,
                   CASE WHEN g % 2 = 0 THEN $3 END, 1, 60, 240, 0.8,
                   now() + g * interval '1 minute', now() + g * interval '2 minutes',
                   now() + g * interval '3 minutes', now() + g * interval '4 minutes', g % 5 = 0,
                   timestamptz '2026-11-01T00:00:00Z' + g * interval '1 second'
               FROM generate_series(1, $4) g"#,
        )
        .bind(self.asset)
        .bind(self.location)
        .bind(self.crew.technician.id)
        .bind(n)
        .execute(&self.pool)
        .await
        .unwrap();
    }

    async fn export(&self, caller: &TestUser, body: Value) -> TestResponse {
        post(&self.files, "/api/exports", caller, body).await
    }

    /// Exports, checks the answer against the object, and returns the object's bytes.
    async fn exported(&self, caller: &TestUser, body: Value) -> (Value, Vec<u8>) {
        let r = self.export(caller, body.clone()).await;
        assert_eq!(r.status, StatusCode::CREATED, "{body}: {:?}", r.body);
        let url = r.body["url"].as_str().unwrap();
        let fetched = nexus_testkit::fetch::get(url).await;
        assert_eq!(fetched.status, 200, "{url}");
        assert_eq!(fetched.header("content-type"), Some("text/csv; charset=utf-8"));
        let entity = body["entity"].as_str().unwrap();
        let today = chrono::Utc::now().format("%Y-%m-%d");
        // S3 answers the signed `response-content-disposition`; moto ignores it, so the URL is checked.
        let disposition = format!("attachment; filename=\"{entity}-{today}.csv\"");
        match fetched.header("content-disposition") {
            Some(header) => assert_eq!(header, disposition),
            None => assert!(url.contains("response-content-disposition=attachment%3B%20filename%3D%22"), "{url}"),
        }
        assert_eq!(r.body["bytes"].as_u64().unwrap(), fetched.body.len() as u64, "{body}");
        let rows = fetched.body.windows(2).filter(|w| w == b"\r\n").count() as i64 - 1;
        // Only CRLF ends a row (a line end inside a field is a bare LF here).
        assert_eq!(r.body["rows"].as_i64().unwrap(), rows, "{body}");
        let expires: chrono::DateTime<chrono::Utc> = r.body["expires_at"].as_str().unwrap().parse().unwrap();
        let ttl = expires - chrono::Utc::now();
        assert!(ttl > chrono::Duration::minutes(14) && ttl <= chrono::Duration::minutes(15), "{ttl}");
        (r.body, fetched.body)
    }

    /// The list's own CSV export (`Accept: text/csv`) for the same filters, as bytes.
    async fn listed(&self, router: Router, path: &str, query: &str, caller: &TestUser) -> Vec<u8> {
        let r = get_csv(&router, &format!("{path}?{query}"), caller).await;
        assert_eq!(r.status, StatusCode::OK, "{path}?{query}: {:?}", r.body);
        r.body.as_str().unwrap().as_bytes().to_vec()
    }

    /// Every key under `exports/` and every multipart upload still open.
    async fn leftovers(&self) -> (Vec<String>, usize) {
        let client = self.store.client();
        let objects = client.list_objects_v2().bucket(self.store.bucket()).prefix("exports/").send().await.unwrap();
        let keys = objects.contents().iter().filter_map(|o| o.key().map(str::to_string)).collect();
        let uploads = client.list_multipart_uploads().bucket(self.store.bucket()).send().await.unwrap();
        (keys, uploads.uploads().len())
    }
}

fn key_of(url: &str) -> String {
    let path = url.split('?').next().unwrap();
    path[path.find("/exports/").unwrap() + 1..].to_string()
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_tickets_export_is_the_list_export_for_the_same_filters(pool: PgPool) {
    let f = setup(pool, ExportLimits::default()).await;
    f.tickets(500).await;
    let tickets = nexus_tickets::router(f.state.clone());
    let cases: [(Value, String); 5] = [
        (json!({}), String::new()),
        (json!({"status": "open, assigned", "priority": "high"}), "status=open,%20assigned&priority=high".into()),
        (
            json!({"ticket_type": "PM", "breached": true, "sort": "resolution_due_at"}),
            "ticket_type=PM&breached=true&sort=resolution_due_at".into(),
        ),
        (json!({"location_id": f.location, "assigned_to": null}), format!("location_id={}", f.location)),
        (
            json!({"location_id": f.location.to_string(), "status": "closed"}),
            format!("location_id={}&status=closed", f.location),
        ),
    ];
    for (filters, query) in cases {
        let (answer, object) = f.exported(&f.crew.supervisor, json!({"entity": "tickets", "filters": filters})).await;
        let listed = f.listed(tickets.clone(), "/api/tickets", &query, &f.crew.supervisor).await;
        assert!(object == listed, "{filters}: the object differs from the list export");
        assert!(answer["rows"].as_i64().unwrap() >= 0);
    }
    let (answer, object) = f.exported(&f.crew.admin, json!({"entity": "tickets"})).await;
    assert_eq!(answer["rows"], 500);
    let text = String::from_utf8(object).unwrap();
    assert!(
        text.contains("'=HYPERLINK(\"\"http://x\"\")") || text.contains("\"'=HYPERLINK(\"\"http://x\"\")\""),
        "guarded"
    );

    // The key is the caller's, random; the audit log has the export.
    let key = key_of(answer["url"].as_str().unwrap());
    assert!(key.starts_with(&format!("exports/{}/", f.crew.admin.id)) && key.ends_with(".csv"), "{key}");
    let audited: (i64, Value) = sqlx::query_as(
        "SELECT entity_id, changes FROM audit_logs WHERE entity_type = 'export' AND actor_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(f.crew.admin.id)
    .fetch_one(&f.pool)
    .await
    .unwrap();
    assert_eq!(audited.0, f.crew.admin.id);
    assert_eq!(audited.1["key"]["new"], key.as_str());
    assert_eq!(audited.1["rows"]["new"], 500);
    assert_eq!(audited.1["entity"]["new"], "tickets");
}

#[sqlx::test(migrations = "../../migrations")]
async fn locations_and_assets_exports_are_their_list_exports(pool: PgPool) {
    let f = setup(pool, ExportLimits::default()).await;
    sqlx::query(
        "INSERT INTO locations (code, name, timezone, region, latitude, longitude, address)
         SELECT 'LOC' || lpad(g::text, 5, '0'), CASE WHEN g % 2 = 0 THEN '+Kuta, \"Bali\"' ELSE 'Site ' || g END,
                'Asia/Makassar', CASE WHEN g % 3 = 0 THEN 'Bali' END, -8.7 + g / 1000.0, 115.2, NULL
         FROM generate_series(1, 300) g",
    )
    .execute(&f.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO assets (location_id, tag, name, category, purchase_date, status)
         SELECT $1, 'ATM-' || g, '@name ' || g, CASE WHEN g % 2 = 0 THEN 'ATM' END, date '2024-01-01' + g,
                CASE WHEN g % 4 = 0 THEN 'inactive' ELSE 'active' END
         FROM generate_series(1, 200) g",
    )
    .bind(f.location)
    .execute(&f.pool)
    .await
    .unwrap();
    let locations = nexus_locations::router(f.state.clone());
    for (filters, query) in [
        (json!({}), ""),
        (json!({"region": "Bali", "sort": "-name"}), "region=Bali&sort=-name"),
        (json!({"q": "kuta"}), "q=kuta"),
    ] {
        let (_, object) = f.exported(&f.crew.admin, json!({"entity": "locations", "filters": filters})).await;
        assert!(object == f.listed(locations.clone(), "/api/locations", query, &f.crew.admin).await, "{filters}");
    }
    let assets = nexus_assets::router(f.state.clone());
    let by_site = format!("location_id={}&sort=-created_at", f.location);
    for (filters, query) in [
        (json!({}), ""),
        (json!({"status": "inactive", "category": "ATM"}), "status=inactive&category=ATM"),
        (json!({"location_id": f.location, "sort": "-created_at"}), by_site.as_str()),
    ] {
        let (_, object) = f.exported(&f.crew.supervisor, json!({"entity": "assets", "filters": filters})).await;
        assert!(object == f.listed(assets.clone(), "/api/assets", query, &f.crew.supervisor).await, "{filters}");
    }
}

/// 60,000 sites with long names make a file past 5 MiB: it goes up in parts (S3's ETag of a
/// multipart object ends `-<parts>`), and is still the list export — shown half by half, each
/// half small enough for the list to answer.
#[sqlx::test(migrations = "../../migrations")]
async fn a_file_past_one_part_goes_up_in_parts(pool: PgPool) {
    let f = setup(pool, ExportLimits::default()).await;
    sqlx::query(
        "INSERT INTO locations (code, name, timezone, region, address)
         SELECT CASE WHEN g <= 30000 THEN 'A' ELSE 'B' END || lpad(g::text, 6, '0'),
                'ATM gallery ' || g || ', ' || repeat('x', 40), 'Asia/Jakarta',
                CASE WHEN g <= 30000 THEN 'West' ELSE 'East' END, 'Jl. Sudirman No. ' || g || ', Jakarta Pusat'
         FROM generate_series(1, 60000) g",
    )
    .execute(&f.pool)
    .await
    .unwrap();
    // The fixture's own site (DPS0001) sorts after them: in the second half.
    sqlx::query("UPDATE locations SET region = 'East' WHERE id = $1").bind(f.location).execute(&f.pool).await.unwrap();
    let (answer, object) = f.exported(&f.crew.admin, json!({"entity": "locations"})).await;
    assert_eq!(answer["rows"], 60001);
    assert!(object.len() > 5 * 1024 * 1024, "{} bytes", object.len());
    let key = key_of(answer["url"].as_str().unwrap());
    let head = f.store.client().head_object().bucket(f.store.bucket()).key(&key).send().await.unwrap();
    assert!(head.e_tag().unwrap().trim_matches('"').ends_with("-2"), "multipart: {:?}", head.e_tag());

    let locations = nexus_locations::router(f.state.clone());
    let west = f.listed(locations.clone(), "/api/locations", "region=West", &f.crew.admin).await;
    let east = f.listed(locations, "/api/locations", "region=East", &f.crew.admin).await;
    let header_len = west.iter().position(|b| *b == b'\n').unwrap() + 1;
    let mut expected = west;
    expected.extend_from_slice(&east[header_len..]);
    assert!(object == expected, "the parts make the list export");
}

#[sqlx::test(migrations = "../../migrations")]
async fn technicians_export_their_own_tickets_and_viewers_nothing(pool: PgPool) {
    let f = setup(pool, ExportLimits::default()).await;
    f.tickets(40).await;
    let tech = &f.crew.technician;
    let (answer, object) = f.exported(tech, json!({"entity": "tickets", "filters": {"priority": "critical"}})).await;
    let listed = f.listed(nexus_tickets::router(f.state.clone()), "/api/tickets", "priority=critical", tech).await;
    assert!(object == listed);
    let mine: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets WHERE assigned_to = $1 AND priority = 'critical'")
        .bind(tech.id)
        .fetch_one(&f.pool)
        .await
        .unwrap();
    assert!(mine > 0);
    assert_eq!(answer["rows"], mine);
    // Asking for someone else's tickets gives none of them.
    let (answer, _) = f.exported(tech, json!({"entity": "tickets", "filters": {"assigned_to": f.crew.admin.id}})).await;
    assert_eq!(answer["rows"], 0);
    for entity in ["locations", "assets"] {
        assert_eq!(f.export(tech, json!({"entity": entity})).await.status, StatusCode::FORBIDDEN, "{entity}");
    }
    for entity in ["tickets", "locations", "assets"] {
        assert_eq!(f.export(&f.crew.viewer, json!({"entity": entity})).await.status, StatusCode::FORBIDDEN);
    }
    let anonymous =
        send(&f.files, request(Method::POST, "/api/exports", None, Some(json!({"entity": "tickets"})))).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(f.leftovers().await.1, 0);
}

#[sqlx::test(migrations = "../../migrations")]
async fn bad_requests_are_422_naming_the_field(pool: PgPool) {
    let f = setup(pool, ExportLimits::default()).await;
    let admin = &f.crew.admin;
    let cases = [
        (json!({"entity": "users"}), "entity"),
        (json!({"entity": "tickets", "filters": {"staus": "open"}}), "filters.staus"),
        (json!({"entity": "tickets", "filters": {"status": "broken"}}), "filters.status"),
        (json!({"entity": "tickets", "filters": {"location_id": "three"}}), "filters.location_id"),
        (json!({"entity": "tickets", "filters": {"limit": 5}}), "filters.limit"),
        (json!({"entity": "locations", "filters": {"sort": "tag"}}), "filters.sort"),
        (json!({"entity": "assets", "filters": {"status": ["active"]}}), "filters.status"),
        (json!({"entity": "assets", "extra": 1}), "extra"),
    ];
    for (body, field) in cases {
        let r = f.export(admin, body.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {:?}", r.body);
        assert!(r.body.to_string().contains(field), "{body}: {:?}", r.body);
    }
}

/// Past the row cap or the time budget nothing is written: 422, no object, no open upload.
#[sqlx::test(migrations = "../../migrations")]
async fn past_a_limit_the_export_stops_whole(pool: PgPool) {
    let limits = ExportLimits { max_rows: 30_000, ..ExportLimits::default() };
    let f = setup(pool, limits).await;
    f.tickets(30_001).await;
    let r = f.export(&f.crew.admin, json!({"entity": "tickets"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert!(r.body.to_string().contains("30000 rows"), "{:?}", r.body);
    assert_eq!(f.leftovers().await, (vec![], 0), "nothing left behind");
    // The cap itself is allowed (and took more than one part: the upload is aborted above).
    let (answer, _) = f.exported(&f.crew.admin, json!({"entity": "tickets", "filters": {"status": "open"}})).await;
    assert_eq!(answer["rows"], 15_001);

    let slow = nexus_files::router(
        FilesState::new(f.state.clone(), f.store.clone())
            .with_export_limits(ExportLimits { time_budget: Duration::ZERO, ..limits }),
    );
    let r = post(&slow, "/api/exports", &f.crew.admin, json!({"entity": "tickets"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert!(r.body.to_string().contains("longer than"), "{:?}", r.body);
    assert_eq!(f.leftovers().await.1, 0);
}
