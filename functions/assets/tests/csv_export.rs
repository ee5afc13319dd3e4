//! `GET /api/assets` with `Accept: text/csv`: the export in the columns the import reads (the
//! location by its code), read back by an independent parser (Python's `csv`).

use axum::http::{Method, StatusCode, header};
use nexus_shared::auth::Role;
use nexus_shared::csv::unharden;
use nexus_testkit::csv::{get_csv, rows_of};
use nexus_testkit::{self as testing, request, send};
use sqlx::PgPool;

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn every_matching_asset_with_its_location_code(pool: PgPool) {
    let state = testing::state(pool.clone());
    let tech = testing::user(&state, "tech@test.example", &[Role::Technician]).await;
    let app = nexus_assets::router(state);
    let jakarta = testing::site(&pool, "JKT0001", "Asia/Jakarta").await;
    let bali = testing::site(&pool, "DPS0001", "Asia/Makassar").await;
    sqlx::query(
        "INSERT INTO assets (location_id, tag, name, category, purchase_date, status) VALUES
         ($1, 'KIOSK-1', 'Kiosk, \"lobby\"', '-cash', '2024-02-29', 'inactive'),
         ($2, 'POS-9', E'Terminal\\r\\nspare', NULL, NULL, 'decommissioned')",
    )
    .bind(jakarta.location_id)
    .bind(bali.location_id)
    .execute(&pool)
    .await
    .unwrap();

    let r = get_csv(&app, "/api/assets?limit=1&cursor=nope", &tech).await;
    let rows = rows_of(&r, "assets");
    assert_eq!(rows[0], nexus_assets::CSV_COLUMNS);
    assert_eq!(rows[0], ["tag", "location_code", "name", "category", "purchase_date", "status"]);
    assert_eq!(
        rows[1..],
        [
            ["ATM-DPS0001", "DPS0001", "ATM", "", "", "active"],
            ["ATM-JKT0001", "JKT0001", "ATM", "", "", "active"],
            ["KIOSK-1", "JKT0001", "Kiosk, \"lobby\"", "'-cash", "2024-02-29", "inactive"],
            ["POS-9", "DPS0001", "Terminal\r\nspare", "", "", "decommissioned"],
        ]
    );
    assert_eq!(unharden(&rows[3][3]), "-cash");

    let filtered =
        get_csv(&app, &format!("/api/assets?location_id={}&status=active", jakarta.location_id), &tech).await;
    assert_eq!(rows_of(&filtered, "assets")[1..], [["ATM-JKT0001", "JKT0001", "ATM", "", "", "active"]]);
    let by_name = rows_of(&get_csv(&app, "/api/assets?q=kiosk&sort=-name", &tech).await, "assets");
    assert_eq!(by_name.len(), 2);

    // Without asking for CSV: the JSON page, limit and all.
    let json = send(&app, request(Method::GET, "/api/assets?limit=3", Some(&tech.token), None)).await;
    assert_eq!(json.content_type(), "application/json");
    assert_eq!(json.body["items"].as_array().unwrap().len(), 3);
    assert!(json.body["next_cursor"].is_string());
    assert!(json.headers.get(header::CONTENT_DISPOSITION).is_none());

    let bad = get_csv(&app, "/api/assets?status=lost", &tech).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}
