//! `GET /api/locations` with `Accept: text/csv`: the export in the columns the import reads,
//! read back by an independent parser (Python's `csv`).

use axum::http::{HeaderValue, Method, StatusCode, header};
use nexus_shared::auth::Role;
use nexus_shared::csv::unharden;
use nexus_testkit::csv::{get_csv, rows_of};
use nexus_testkit::{self as testing, TestUser, get, request, send};
use sqlx::PgPool;

async fn setup(pool: &PgPool) -> (axum::Router, TestUser) {
    let state = testing::state(pool.clone());
    let viewer = testing::user(&state, "viewer@test.example", &[Role::Viewer]).await;
    sqlx::query(
        "INSERT INTO locations (code, name, address, latitude, longitude, timezone, region, geofence_m) VALUES
         ('TID-0001', 'BCA \"Thamrin\", Jakarta', E'Jl. Thamrin 1\\nLantai 2', -6.1754, 106.8272, 'Asia/Jakarta', 'DKI Jakarta', 150),
         ('TID-0002', '=HYPERLINK(\"http://evil.example\")', NULL, NULL, NULL, 'Asia/Makassar', 'Bali', 200),
         ('TID-0003', '@SUM(1)', '+62 21 555', -8.65, 115.2167, 'Asia/Makassar', 'Bali', 5000)",
    )
    .execute(pool)
    .await
    .unwrap();
    (nexus_locations::router(state), viewer)
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn every_matching_location_in_the_import_columns(pool: PgPool) {
    let (app, viewer) = setup(&pool).await;
    // limit and cursor are ignored (even a cursor no list issued); sort is kept.
    let r = get_csv(&app, "/api/locations?limit=1&cursor=not-a-cursor", &viewer).await;
    assert_eq!(r.headers[header::VARY], "accept");
    let rows = rows_of(&r, "locations");
    assert_eq!(rows[0], nexus_locations::CSV_COLUMNS);
    assert_eq!(rows[0], ["code", "name", "address", "latitude", "longitude", "timezone", "region", "geofence_m"]);
    assert_eq!(
        rows[1..],
        [
            [
                "TID-0001",
                "BCA \"Thamrin\", Jakarta",
                "Jl. Thamrin 1\nLantai 2",
                "-6.1754",
                "106.8272",
                "Asia/Jakarta",
                "DKI Jakarta",
                "150"
            ],
            // Formula-like text is defused with a leading '; numbers are left as they are.
            ["TID-0002", "'=HYPERLINK(\"http://evil.example\")", "", "", "", "Asia/Makassar", "Bali", "200"],
            ["TID-0003", "'@SUM(1)", "'+62 21 555", "-8.65", "115.2167", "Asia/Makassar", "Bali", "5000"],
        ]
    );
    // What the import does to text cells gives back what is stored.
    assert_eq!(unharden(&rows[2][1]), "=HYPERLINK(\"http://evil.example\")");
    assert_eq!(unharden(&rows[3][2]), "+62 21 555");
    assert_eq!(unharden(&rows[1][1]), "BCA \"Thamrin\", Jakarta");
    // Quotes doubled inside a quoted field, newline kept inside it, as RFC 4180 writes them.
    assert!(r.body.as_str().unwrap().contains("\"BCA \"\"Thamrin\"\", Jakarta\",\"Jl. Thamrin 1\nLantai 2\""));

    let bali = rows_of(&get_csv(&app, "/api/locations?region=Bali&sort=-code", &viewer).await, "locations");
    let codes: Vec<&str> = bali[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(codes, ["TID-0003", "TID-0002"]);
    let none = rows_of(&get_csv(&app, "/api/locations?q=nothing-like-it", &viewer).await, "locations");
    assert_eq!(none.len(), 1, "a header row and nothing else");

    let bad_sort = get_csv(&app, "/api/locations?sort=password", &viewer).await;
    assert_eq!(bad_sort.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_sort.body["errors"][0]["field"], "sort");
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn without_accept_csv_the_list_is_the_json_page_it_was(pool: PgPool) {
    let (app, viewer) = setup(&pool).await;
    for accept in [None, Some("application/json"), Some("*/*"), Some("text/csv;q=0.1, application/json")] {
        let mut req = request(Method::GET, "/api/locations?limit=2", Some(&viewer.token), None);
        if let Some(accept) = accept {
            req.headers_mut().insert(header::ACCEPT, HeaderValue::from_static(accept));
        }
        let r = send(&app, req).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.content_type(), "application/json", "{accept:?}");
        assert_eq!(r.body["items"].as_array().unwrap().len(), 2);
        assert!(r.body["next_cursor"].is_string());
    }
    assert_eq!(get(&app, "/api/locations?limit=0", &viewer).await.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// 30,000 locations of ~215 bytes each weigh ~6.5 MB: too much for one response. The export is
/// refused (never cut short) and names the filters that narrow it; a narrower one succeeds.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn an_export_over_the_limit_is_422_naming_the_filters_and_the_s3_export(pool: PgPool) {
    let (app, viewer) = setup(&pool).await;
    sqlx::query(
        "INSERT INTO locations (code, name, region)
         SELECT 'BULK-' || lpad(g::text, 5, '0'), repeat('n', 180) || g, 'Java' FROM generate_series(1, 30000) g",
    )
    .execute(&pool)
    .await
    .unwrap();
    let r = get_csv(&app, "/api/locations", &viewer).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        r.body.to_string().chars().take(200).collect::<String>()
    );
    assert_eq!(r.content_type(), "application/problem+json");
    assert_eq!(r.body["errors"][0]["field"], "filter");
    let message = r.body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("4.7 MB") && message.contains("region=") && message.contains("POST /api/exports"),
        "{message}"
    );

    let narrower = rows_of(&get_csv(&app, "/api/locations?q=BULK-0000", &viewer).await, "locations");
    assert_eq!(narrower.len(), 1 + 9);
    // A narrower filter still goes out whole: 9,999 of them (~2 MB).
    let big = get_csv(&app, "/api/locations?region=Java&q=BULK-0", &viewer).await;
    let rows = rows_of(&big, "locations");
    assert_eq!(rows.len(), 1 + 9999);
    assert!(big.body.as_str().unwrap().len() <= nexus_shared::csv::MAX_BYTES);
}
