//! Bulk imports against real Postgres: a dry run counts and writes nothing, an apply names a clean
//! dry run of the same bytes and writes everything or nothing with an audit row per change, every
//! bad row is reported (past 1,000 through the paged errors), the file's own mistakes (header,
//! width, repeated keys, unknown sites, encoding), quoting, and export → import round trips.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use nexus_shared::auth::Role;
use nexus_testkit::csv::get_csv;
use nexus_testkit::{Crew, TestResponse, crew, get, send, state};
use serde_json::{Value, json};
use sqlx::PgPool;

struct World {
    app: axum::Router,
    crew: Crew,
    pool: PgPool,
    state: nexus_shared::AppState,
}

async fn world(pool: PgPool) -> World {
    let state = state(pool.clone());
    let crew = crew(&state).await;
    World { app: nexus_imports::router(state.clone()), crew, pool, state }
}

fn csv_request(uri: &str, token: Option<&str>, body: impl Into<Body>, checksum: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().method(Method::POST).uri(uri).header(header::CONTENT_TYPE, "text/csv");
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(checksum) = checksum {
        builder = builder.header("x-import-checksum", checksum);
    }
    builder.body(body.into()).unwrap()
}

impl World {
    async fn dry_run(&self, entity: &str, csv: &str) -> TestResponse {
        let uri = format!("/api/imports?entity={entity}");
        send(&self.app, csv_request(&uri, Some(&self.crew.supervisor.token), csv.to_string(), None)).await
    }

    async fn apply(&self, entity: &str, csv: &str, checksum: Option<&str>) -> TestResponse {
        let uri = format!("/api/imports?entity={entity}&dry_run=false");
        send(&self.app, csv_request(&uri, Some(&self.crew.admin.token), csv.to_string(), checksum)).await
    }

    /// A clean dry run, then its apply: the apply's report.
    async fn import(&self, entity: &str, csv: &str) -> Value {
        let dry = self.dry_run(entity, csv).await;
        assert_eq!(dry.status, StatusCode::OK, "{}", dry.body);
        let applied = self.apply(entity, csv, dry.body["checksum"].as_str()).await;
        assert_eq!(applied.status, StatusCode::CREATED, "{}", applied.body);
        applied.body
    }

    async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string())).fetch_one(&self.pool).await.unwrap()
    }
}

fn counts(report: &Value) -> [i64; 5] {
    ["rows", "inserted", "updated", "unchanged", "error_count"].map(|k| report[k].as_i64().unwrap())
}

/// (row, column, code) of each error in a report.
fn errors(report: &Value) -> Vec<(i64, String, String)> {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_i64().unwrap(), e["column"].as_str().unwrap().into(), e["code"].as_str().unwrap().into()))
        .collect()
}

fn e(row: i64, column: &str, code: &str) -> (i64, String, String) {
    (row, column.into(), code.into())
}

const SITES: &str = "code,name,address,latitude,longitude,timezone,region,geofence_m\r\n\
                     TID-0001,BCA Thamrin,Jl. Thamrin 1,-6.1754,106.8272,Asia/Jakarta,DKI Jakarta,150\r\n\
                     TID-0002,Mandiri Kuta,,-8.72,115.17,Asia/Makassar,Bali,200\r\n\
                     TID-0003,BRI Jayapura,,,,Asia/Jayapura,Papua,300\r\n";

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_dry_run_counts_and_writes_nothing_then_the_apply_writes_it_with_an_audit_row_per_change(pool: PgPool) {
    let w = world(pool).await;
    // TID-0001 is stored as the file has it, TID-0002 differently, TID-0003 not at all.
    sqlx::query(
        "INSERT INTO locations (code, name, address, latitude, longitude, timezone, region, geofence_m) VALUES
         ('TID-0001', 'BCA Thamrin', 'Jl. Thamrin 1', -6.1754, 106.8272, 'Asia/Jakarta', 'DKI Jakarta', 150),
         ('TID-0002', 'Mandiri Kuta (old)', 'Jl. Legian', -8.72, 115.17, 'Asia/Makassar', 'Bali', 200)",
    )
    .execute(&w.pool)
    .await
    .unwrap();

    let dry = w.dry_run("locations", SITES).await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.body);
    assert_eq!(counts(&dry.body), [3, 1, 1, 1, 0]);
    assert_eq!((dry.body["dry_run"].as_bool(), dry.body["entity"].as_str()), (Some(true), Some("locations")));
    let checksum = dry.body["checksum"].as_str().unwrap().to_string();
    assert_eq!(checksum, sha256_hex(SITES.as_bytes()));
    assert_eq!(w.count("SELECT count(*) FROM locations").await, 2, "a dry run writes nothing");
    assert_eq!(w.count("SELECT count(*) FROM audit_logs").await, 0);

    let applied = w.apply("locations", SITES, Some(&checksum)).await;
    assert_eq!(applied.status, StatusCode::CREATED, "{}", applied.body);
    assert_eq!(counts(&applied.body), counts(&dry.body), "the apply does what the dry run said");
    assert_eq!(applied.body["dry_run"], false);
    let stored: Vec<(String, String, Option<String>, Option<f64>, String, i32)> =
        sqlx::query_as("SELECT code, name, address, latitude, timezone, geofence_m FROM locations ORDER BY code")
            .fetch_all(&w.pool)
            .await
            .unwrap();
    assert_eq!(
        stored,
        [
            (
                "TID-0001".into(),
                "BCA Thamrin".into(),
                Some("Jl. Thamrin 1".into()),
                Some(-6.1754),
                "Asia/Jakarta".into(),
                150
            ),
            ("TID-0002".into(), "Mandiri Kuta".into(), None, Some(-8.72), "Asia/Makassar".into(), 200),
            ("TID-0003".into(), "BRI Jayapura".into(), None, None, "Asia/Jayapura".into(), 300),
        ]
    );
    // One audit row per changed site, recorded as the single-row endpoints record them.
    let audited: Vec<(String, String, Value, Option<i64>)> = sqlx::query_as(
        "SELECT l.code, a.action, a.changes, a.actor_id FROM audit_logs a JOIN locations l ON l.id = a.entity_id
         WHERE a.entity_type = 'location' ORDER BY l.code",
    )
    .fetch_all(&w.pool)
    .await
    .unwrap();
    assert_eq!(audited.len(), 2, "{audited:?}");
    assert_eq!((audited[0].0.as_str(), audited[0].1.as_str()), ("TID-0002", "update"));
    assert_eq!(
        audited[0].2,
        json!({"name": {"old": "Mandiri Kuta (old)", "new": "Mandiri Kuta"}, "address": {"old": "Jl. Legian", "new": null}})
    );
    assert_eq!((audited[1].0.as_str(), audited[1].1.as_str()), ("TID-0003", "create"));
    assert_eq!(audited[1].2["code"], json!({"old": null, "new": "TID-0003"}));
    assert_eq!(audited[1].3, Some(w.crew.admin.id));

    // The same file again changes nothing: every row unchanged, no audit row, no new updated_at.
    let before: Vec<(String, chrono::DateTime<chrono::Utc>)> =
        sqlx::query_as("SELECT code, updated_at FROM locations ORDER BY code").fetch_all(&w.pool).await.unwrap();
    let again = w.import("locations", SITES).await;
    assert_eq!(counts(&again), [3, 0, 0, 3, 0]);
    assert_eq!(w.count("SELECT count(*) FROM audit_logs").await, 2);
    let after: Vec<(String, chrono::DateTime<chrono::Utc>)> =
        sqlx::query_as("SELECT code, updated_at FROM locations ORDER BY code").fetch_all(&w.pool).await.unwrap();
    assert_eq!(before, after);

    // The reports are kept and listed, the latest first.
    let listed = get(&w.app, "/api/imports?entity=locations", &w.crew.supervisor).await;
    assert_eq!(listed.status, StatusCode::OK);
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert_eq!(items[0]["import_id"], again["import_id"]);
    assert_eq!(items[3]["import_id"], dry.body["import_id"]);
    let applies = get(&w.app, "/api/imports?dry_run=false&limit=1", &w.crew.admin).await;
    assert_eq!(applies.body["items"].as_array().unwrap().len(), 1);
    assert!(applies.body["next_cursor"].is_string());
    let one = get(&w.app, &format!("/api/imports/{}", applied.body["import_id"]), &w.crew.admin).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.body, applied.body, "what the apply answered is what is kept");
    assert_eq!(get(&w.app, "/api/imports/999999", &w.crew.admin).await.status, StatusCode::NOT_FOUND);
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn every_bad_row_is_reported_the_first_thousand_in_the_report_and_all_paged(pool: PgPool) {
    let w = world(pool).await;
    let mut csv = String::from("code,name,latitude,longitude\n");
    for i in 0..1_500 {
        // Every row has one mistake: a latitude out of range.
        csv.push_str(&format!("TID-{i:05},Site {i},123,106.8\n"));
    }
    csv.push_str("TID-GOOD,Good site,-6.2,106.8\n");
    let r = w.dry_run("locations", &csv).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.content_type(), "application/problem+json");
    assert_eq!(r.body["type"], "/problems/validation");
    let report = &r.body["report"];
    assert_eq!(counts(report), [1_501, 1, 0, 0, 1_500]);
    assert_eq!(report["errors"].as_array().unwrap().len(), 1_000);
    assert_eq!(report["errors_truncated"], true);
    assert_eq!(
        report["errors"][0],
        json!({"row": 2, "column": "latitude", "code": "invalid", "message": "must be between -90 and 90"})
    );
    assert_eq!(report["errors"][999]["row"], 1_001);
    assert_eq!(r.body["errors"].as_array().unwrap().len(), 1_000);
    assert_eq!(r.body["errors"][10], json!({"field": "row 12: latitude", "message": "must be between -90 and 90"}));
    let id = report["import_id"].as_i64().unwrap();
    assert!(r.body["detail"].as_str().unwrap().contains(&format!("/api/imports/{id}/errors")), "{}", r.body["detail"]);
    assert_eq!(w.count("SELECT count(*) FROM locations").await, 0);

    // All 1,500 through the paged list, in row order, each once.
    let mut rows = Vec::new();
    let mut uri = format!("/api/imports/{id}/errors?limit=400");
    loop {
        let page = get(&w.app, &uri, &w.crew.admin).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        rows.extend(page.body["items"].as_array().unwrap().iter().map(|e| e["row"].as_i64().unwrap()));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/api/imports/{id}/errors?limit=400&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(rows, (2..=1_501).collect::<Vec<i64>>());
    let kept = get(&w.app, &format!("/api/imports/{id}"), &w.crew.supervisor).await;
    assert_eq!(&kept.body, report);
    assert_eq!(get(&w.app, "/api/imports/999999/errors", &w.crew.admin).await.status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn each_value_is_checked_as_the_single_row_endpoints_check_it(pool: PgPool) {
    let w = world(pool).await;
    let long = "x".repeat(501);
    let csv = format!(
        "code,name,address,latitude,longitude,timezone,region,geofence_m\n\
         TID 1,Spaces in code,,,,Asia/Jakarta,,200\n\
         TID-2,,,,,Asia/Jakarta,,200\n\
         TID-3,Lat only,,-6.2,,Asia/Jakarta,,200\n\
         TID-4,Not a number,,north,106.8,Asia/Jakarta,,200\n\
         TID-5,Far east,,-6.2,181,Asia/Jakarta,,200\n\
         TID-6,Mars,,,,Mars/Olympus,,200\n\
         TID-7,Empty zone,,,,,,200\n\
         TID-8,Small fence,,,,Asia/Jakarta,,19\n\
         TID-9,Fence in words,,,,Asia/Jakarta,,wide\n\
         TID-10,Long address,{long},,,Asia/Jakarta,,200\n\
         TID-11,\"Bell\u{7}\",,,,Asia/Jakarta,,200\n\
         TID-12,Fine,,,,Asia/Jakarta,,\n\
         TID-13,Fine,,,,Asia/Jakarta,,5000\n"
    );
    let r = w.dry_run("locations", &csv).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        errors(&r.body["report"]),
        [
            e(2, "code", "invalid"),
            e(3, "name", "invalid"),
            e(4, "longitude", "invalid"),
            e(5, "latitude", "invalid"),
            e(6, "longitude", "invalid"),
            e(7, "timezone", "invalid"),
            e(8, "timezone", "invalid"),
            e(9, "geofence_m", "invalid"),
            e(10, "geofence_m", "invalid"),
            e(11, "address", "invalid"),
            e(12, "name", "invalid"),
            e(13, "geofence_m", "invalid"),
        ]
    );
    let messages: Vec<&str> =
        r.body["report"]["errors"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap()).collect();
    assert_eq!(messages[0], "must be 1 to 100 letters, digits, '-' or '_'");
    assert_eq!(messages[2], "is required when latitude is given");
    assert_eq!(messages[3], "must be a number");
    assert_eq!(messages[5], "must be an IANA time zone name such as Asia/Jakarta");
    assert_eq!(messages[6], messages[5], "an empty zone is not the default");
    assert_eq!(messages[7], "must be 20 to 5,000 metres");
    assert_eq!(messages[8], "must be a whole number");
    assert_eq!(messages[9], "must be at most 500 characters");
    assert_eq!(messages[10], "must not contain control characters");
    assert_eq!(messages[11], "must not be empty");
    assert_eq!(counts(&r.body["report"]), [13, 1, 0, 0, 12]);

    // Devices: the site must exist, the status be known, the date real and not ahead.
    sqlx::query("INSERT INTO locations (code, name) VALUES ('TID-0001', 'Site')").execute(&w.pool).await.unwrap();
    let long = "c".repeat(101);
    let csv = format!(
        "tag,location_code,name,category,purchase_date,status\n\
         ATM-1,TID-0001,Hyosung,ATM,2024-02-29,active\n\
         ATM-2,TID-9999,Hyosung,ATM,,active\n\
         ATM-3,TID-0001,Hyosung,ATM,2999-01-01,active\n\
         ATM-4,TID-0001,Hyosung,ATM,2023-02-29,active\n\
         ATM-5,TID-0001,Hyosung,ATM,,broken\n\
         ATM-6,TID-0001,Hyosung,{long},,active\n\
         ATM-7,TID-0001,Hyosung,ATM,,\n\
         ,TID-0001,No tag,ATM,,active\n\
         ATM-9,,No site,ATM,,active\n"
    );
    let r = w.dry_run("assets", &csv).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        errors(&r.body["report"]),
        [
            e(3, "location_code", "unknown_location"),
            e(4, "purchase_date", "invalid"),
            e(5, "purchase_date", "invalid"),
            e(6, "status", "invalid"),
            e(7, "category", "invalid"),
            e(8, "status", "invalid"),
            e(9, "tag", "invalid"),
            e(10, "location_code", "invalid"),
        ]
    );
    assert_eq!(
        r.body["report"]["errors"][0]["message"],
        "names no site: no location has code TID-9999 (import the sites first)"
    );
    assert_eq!(r.body["report"]["errors"][3]["message"], "must be one of active, inactive, decommissioned");
    assert_eq!(counts(&r.body["report"]), [9, 1, 0, 0, 8]);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn what_only_a_file_gets_wrong_header_width_repeated_keys_and_encoding(pool: PgPool) {
    let w = world(pool).await;
    let r = w.dry_run("locations", "code,colour,latitude,latitude\r\nA,red,1,1\r\n").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        errors(&r.body["report"]),
        [e(1, "colour", "unknown_column"), e(1, "latitude", "duplicate_column"), e(1, "name", "missing_column")]
    );
    assert_eq!(r.body["errors"][0]["field"], "row 1: colour");
    // An asset file needs its site column; a locations file is not an assets file.
    let r = w.dry_run("assets", "tag,name\nATM-1,Hyosung\n").await;
    assert_eq!(errors(&r.body["report"]), [e(1, "location_code", "missing_column")]);
    let r = w.dry_run("assets", SITES).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(errors(&r.body["report"]).contains(&e(1, "code", "unknown_column")));
    let r = w.dry_run("locations", "").await;
    assert_eq!(errors(&r.body["report"]), [e(1, "", "missing_column")]);

    let r = w
        .dry_run(
            "locations",
            "code,name\nA,First\nB\nA,Again\nC,Third,extra\n'B,Bee\nB,Bee again\n\"unclosed,Oops\nD,Never read\n",
        )
        .await;
    assert_eq!(
        errors(&r.body["report"]),
        [
            e(3, "", "field_count"),
            e(4, "code", "duplicate_key"),
            e(5, "", "field_count"),
            e(7, "code", "duplicate_key"),
            e(8, "", "malformed"),
        ]
    );
    assert_eq!(r.body["report"]["errors"][1]["message"], "repeats row 2");
    assert_eq!(r.body["report"]["errors"][3]["message"], "repeats row 6", "'B is B once unhardened");
    assert_eq!(counts(&r.body["report"]), [7, 2, 0, 0, 5]);

    let latin1 = b"code,name\nA,Caf\xe9\n".to_vec();
    let uri = "/api/imports?entity=locations";
    let r = send(&w.app, csv_request(uri, Some(&w.crew.admin.token), latin1, None)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(errors(&r.body["report"]), [e(2, "", "encoding")]);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_bom_or_none_and_quoted_fields_with_commas_quotes_and_line_breaks(pool: PgPool) {
    let w = world(pool).await;
    // A quoted line break is one cell (refused as the endpoints refuse control characters in a
    // line), and the rows after it are numbered by record, as a spreadsheet shows them.
    let broken = "code,name,address\nTID-1,One,\"Jl. Thamrin 1\nLantai 2\"\nTID-2,Two,\"x\ny\"\n";
    let r = w.dry_run("locations", broken).await;
    assert_eq!(errors(&r.body["report"]), [e(2, "address", "invalid"), e(3, "address", "invalid")]);
    assert_eq!(r.body["report"]["errors"][0]["message"], "must not contain control characters");

    let with_bom =
        "\u{feff}code,name,address\r\nTID-1,\"BCA \"\"Thamrin\"\", Jakarta\",\"Jl. Thamrin 1, Lantai 2\"\r\n";
    let report = w.import("locations", with_bom).await;
    assert_eq!(counts(&report), [1, 1, 0, 0, 0]);
    let without = "code,name,address\nTID-2,\"Kuta, Bali\",\"'=1+1\"\n";
    let report = w.import("locations", without).await;
    assert_eq!(counts(&report), [1, 1, 0, 0, 0]);
    let stored: Vec<(String, String, Option<String>)> =
        sqlx::query_as("SELECT code, name, address FROM locations ORDER BY code").fetch_all(&w.pool).await.unwrap();
    assert_eq!(
        stored,
        [
            ("TID-1".into(), "BCA \"Thamrin\", Jakarta".into(), Some("Jl. Thamrin 1, Lantai 2".into())),
            ("TID-2".into(), "Kuta, Bali".into(), Some("=1+1".into())),
        ]
    );
    // A column left out keeps what is stored; an empty optional cell clears it.
    let report = w.import("locations", "name,code,region\nRenamed,TID-1,Jawa\n").await;
    assert_eq!(counts(&report), [1, 0, 1, 0, 0]);
    let (address, region): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT address, region FROM locations WHERE code = 'TID-1'").fetch_one(&w.pool).await.unwrap();
    assert_eq!((address.as_deref(), region.as_deref()), (Some("Jl. Thamrin 1, Lantai 2"), Some("Jawa")));
    let report = w.import("locations", "code,name,address\nTID-1,Renamed,\n").await;
    assert_eq!(counts(&report), [1, 0, 1, 0, 0]);
    let address: Option<String> =
        sqlx::query_scalar("SELECT address FROM locations WHERE code = 'TID-1'").fetch_one(&w.pool).await.unwrap();
    assert_eq!(address, None);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn an_apply_needs_the_checksum_of_a_recent_clean_dry_run_of_the_same_bytes(pool: PgPool) {
    let w = world(pool).await;
    let missing = w.apply("locations", SITES, None).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(missing.body["errors"][0]["field"], "X-Import-Checksum");
    for malformed in ["abc", &"g".repeat(64), &"a".repeat(65)] {
        let r = w.apply("locations", SITES, Some(malformed)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{malformed}");
    }
    // Well-formed but no dry run of these bytes.
    let unknown = w.apply("locations", SITES, Some(&sha256_hex(SITES.as_bytes()))).await;
    assert_eq!(unknown.status, StatusCode::CONFLICT, "{}", unknown.body);
    assert!(unknown.body["detail"].as_str().unwrap().contains("No clean dry run"));

    let dry = w.dry_run("locations", SITES).await;
    let checksum = dry.body["checksum"].as_str().unwrap().to_string();
    // Other bytes under that checksum (one more row).
    let other = format!("{SITES}TID-0004,Another,,,,Asia/Jakarta,,200\r\n");
    let r = w.apply("locations", &other, Some(&checksum)).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body["detail"].as_str().unwrap().contains("not the checksum of this file"));
    // The same bytes as another entity.
    let r = w.apply("assets", SITES, Some(&checksum)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body["detail"].as_str().unwrap().contains("dry-run as locations"), "{}", r.body);
    // A dry run with errors does not count.
    let bad = "code,name\nTID 1,Bad\n";
    let refused = w.dry_run("locations", bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = w.apply("locations", bad, refused.body["report"]["checksum"].as_str()).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    // Stale: the dry run is 25 hours old.
    sqlx::query("UPDATE imports SET created_at = now() - interval '25 hours' WHERE checksum = $1")
        .bind(&checksum)
        .execute(&w.pool)
        .await
        .unwrap();
    let stale = w.apply("locations", SITES, Some(&checksum)).await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert!(stale.body["detail"].as_str().unwrap().contains("more than 24 hours old"));
    assert_eq!(w.count("SELECT count(*) FROM locations").await, 0, "none of these wrote anything");
    // Upper-case hex names the same checksum; a fresh dry run makes it applicable again.
    assert_eq!(w.dry_run("locations", SITES).await.status, StatusCode::OK);
    let applied = w.apply("locations", SITES, Some(&checksum.to_uppercase())).await;
    assert_eq!(applied.status, StatusCode::CREATED, "{}", applied.body);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn an_apply_that_fails_on_any_row_writes_nothing(pool: PgPool) {
    let w = world(pool).await;
    w.import("locations", "code,name\nTID-0001,Before\n").await;
    let audit_rows = w.count("SELECT count(*) FROM audit_logs").await;
    let csv = "code,name\nTID-0001,After\nTID-0002,New\nTID-0003,Refused at write\n";
    let dry = w.dry_run("locations", csv).await;
    assert_eq!(counts(&dry.body), [3, 2, 1, 0, 0]);
    // Between the dry run and the apply, the database starts refusing one of the rows.
    sqlx::raw_sql(
        "CREATE FUNCTION refuse_tid_3() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'refused' USING ERRCODE = 'check_violation'; END $$;
         CREATE TRIGGER refuse_tid_3 BEFORE INSERT ON locations FOR EACH ROW
             WHEN (NEW.code = 'TID-0003') EXECUTE FUNCTION refuse_tid_3();",
    )
    .execute(&w.pool)
    .await
    .unwrap();
    let r = w.apply("locations", csv, dry.body["checksum"].as_str()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let names: Vec<(String, String)> =
        sqlx::query_as("SELECT code, name FROM locations ORDER BY code").fetch_all(&w.pool).await.unwrap();
    assert_eq!(names, [("TID-0001".to_string(), "Before".to_string())], "neither the update nor the insert stayed");
    assert_eq!(w.count("SELECT count(*) FROM audit_logs").await, audit_rows);
    assert_eq!(w.count("SELECT count(*) FROM imports WHERE NOT dry_run").await, 1, "only the first apply is kept");

    // A device file whose site went away since its dry run: checked again, refused, nothing written.
    w.import("locations", "code,name\nTID-0009,Going\n").await;
    let devices = "tag,location_code,name\nATM-1,TID-0001,One\nATM-2,TID-0009,Two\n";
    let dry = w.dry_run("assets", devices).await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.body);
    sqlx::query("DELETE FROM locations WHERE code = 'TID-0009'").execute(&w.pool).await.unwrap();
    let r = w.apply("assets", devices, dry.body["checksum"].as_str()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(errors(&r.body["report"]), [e(3, "location_code", "unknown_location")]);
    assert_eq!(r.body["report"]["dry_run"], false);
    assert_eq!(w.count("SELECT count(*) FROM assets").await, 0);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn an_export_imports_back_unchanged(pool: PgPool) {
    let w = world(pool).await;
    sqlx::raw_sql(
        "INSERT INTO locations (code, name, address, latitude, longitude, timezone, region, geofence_m) VALUES
         ('TID-0001', 'BCA \"Thamrin\", Jakarta', 'Jl. Thamrin 1, Lantai 2', -6.1754, 106.8272, 'Asia/Jakarta', 'DKI Jakarta', 150),
         ('TID-0002', '=HYPERLINK(\"http://evil.example\")', NULL, NULL, NULL, 'Asia/Makassar', 'Bali', 200),
         ('TID-0003', '''quoted', '+62 21 555', -8.65, 115.2167, 'Asia/Makassar', '-', 5000);
         INSERT INTO assets (location_id, tag, name, category, purchase_date, status)
         SELECT id, 'ATM-' || code, '@SUM(1)', NULL, NULL, 'active' FROM locations WHERE code = 'TID-0001'
         UNION ALL SELECT id, '-12345', 'Kiosk, lobby', 'kiosk', DATE '2024-02-29', 'inactive' FROM locations WHERE code = 'TID-0002'
         UNION ALL SELECT id, 'EDC-1', 'Verifone \"V200c\"', 'edc', NULL, 'decommissioned' FROM locations WHERE code = 'TID-0003'",
    )
    .execute(&w.pool)
    .await
    .unwrap();
    let audit_rows = w.count("SELECT count(*) FROM audit_logs").await;
    let sites = get_csv(&nexus_locations::router(w.state.clone()), "/api/locations", &w.crew.viewer).await;
    let devices = get_csv(&nexus_assets::router(w.state.clone()), "/api/assets", &w.crew.viewer).await;
    for (entity, export) in [("locations", sites), ("assets", devices)] {
        assert_eq!(export.status, StatusCode::OK);
        let csv = export.body.as_str().unwrap();
        assert!(csv.starts_with('\u{feff}') && csv.contains('\''), "a BOM, and hardened cells: {csv}");
        let dry = w.dry_run(entity, csv).await;
        assert_eq!(dry.status, StatusCode::OK, "{entity}: {}", dry.body);
        assert_eq!(counts(&dry.body), [3, 0, 0, 3, 0], "{entity}");
        let applied = w.apply(entity, csv, dry.body["checksum"].as_str()).await;
        assert_eq!(applied.status, StatusCode::CREATED, "{entity}: {}", applied.body);
        assert_eq!(counts(&applied.body), [3, 0, 0, 3, 0], "{entity}");
    }
    assert_eq!(w.count("SELECT count(*) FROM audit_logs").await, audit_rows, "nothing changed, nothing audited");
    // Into an empty deployment the same files create everything as it was.
    let stored: Vec<(String, String)> =
        sqlx::query_as("SELECT tag, name FROM assets ORDER BY tag").fetch_all(&w.pool).await.unwrap();
    assert_eq!(stored[0], ("-12345".to_string(), "Kiosk, lobby".to_string()));
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn devices_update_by_tag_and_move_between_existing_sites(pool: PgPool) {
    let w = world(pool).await;
    w.import("locations", SITES).await;
    let report = w
        .import("assets", "tag,location_code,name,status\nATM-1,TID-0001,Hyosung,active\nATM-2,TID-0002,NCR,active\n")
        .await;
    assert_eq!(counts(&report), [2, 2, 0, 0, 0]);
    // Moved to another site, the rest kept (category, purchase date: columns left out).
    sqlx::query("UPDATE assets SET category = 'atm' WHERE tag = 'ATM-1'").execute(&w.pool).await.unwrap();
    let report = w.import("assets", "location_code,tag,name\nTID-0003,ATM-1,Hyosung\nTID-0002,ATM-2,NCR\n").await;
    assert_eq!(counts(&report), [2, 0, 1, 1, 0]);
    let (code, category, status): (String, Option<String>, String) = sqlx::query_as(
        "SELECT l.code, a.category, a.status FROM assets a JOIN locations l ON l.id = a.location_id WHERE a.tag = 'ATM-1'",
    )
    .fetch_one(&w.pool)
    .await
    .unwrap();
    assert_eq!((code.as_str(), category.as_deref(), status.as_str()), ("TID-0003", Some("atm"), "active"));
    let audited: Vec<(String, Value)> =
        sqlx::query_as("SELECT action, changes FROM audit_logs WHERE entity_type = 'asset' ORDER BY id")
            .fetch_all(&w.pool)
            .await
            .unwrap();
    assert_eq!(audited.len(), 3);
    assert_eq!(audited[2].0, "update");
    assert_eq!(audited[2].1.as_object().unwrap().keys().collect::<Vec<_>>(), ["location_id"]);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn planners_import_others_may_not_and_only_csv_up_to_4_mib(pool: PgPool) {
    let w = world(pool).await;
    let uri = "/api/imports?entity=locations";
    for role in [Role::Technician, Role::Viewer] {
        let token = &w.crew.get(role).token;
        let r = send(&w.app, csv_request(uri, Some(token), SITES, None)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{role}");
        for path in ["/api/imports", "/api/imports/1", "/api/imports/1/errors"] {
            assert_eq!(get(&w.app, path, w.crew.get(role)).await.status, StatusCode::FORBIDDEN, "{role} {path}");
        }
    }
    assert_eq!(send(&w.app, csv_request(uri, None, SITES, None)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(w.count("SELECT count(*) FROM imports").await, 0);

    let json = nexus_testkit::request(Method::POST, uri, Some(&w.crew.admin.token), Some(json!({"code": "A"})));
    let r = send(&w.app, json).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(r.body["detail"], "Send the body as text/csv.");
    let r = send(&w.app, csv_request("/api/imports?entity=tickets", Some(&w.crew.admin.token), SITES, None)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Above the common 1 MiB limit and under 4 MiB: read (and refused for its rows, not its size).
    let row = "TID-X,Site,,,,Asia/Jakarta,,\n";
    let big = format!(
        "code,name,address,latitude,longitude,timezone,region,geofence_m\n{}",
        row.repeat(3 * 1024 * 1024 / row.len())
    );
    let r = send(&w.app, csv_request(uri, Some(&w.crew.admin.token), big, None)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["report"]["rows"].as_i64().unwrap() > 100_000);
    let too_big = "x".repeat(nexus_imports::MAX_BYTES + 1);
    let r = send(&w.app, csv_request(uri, Some(&w.crew.admin.token), too_big, None)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
}
