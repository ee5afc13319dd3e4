//! `GET /api/tickets` with `Accept: text/csv`: every ticket the filters match, technicians their
//! own only, read back by an independent parser (Python's `csv`).

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Utc};
use nexus_shared::auth::Role;
use nexus_shared::csv::unharden;
use nexus_testkit::csv::{get_csv, rows_of};
use nexus_testkit::{self as testing, post, put, request, send};
use serde_json::{Value, json};
use sqlx::PgPool;

const COLUMNS: [&str; 21] = [
    "number",
    "ticket_type",
    "priority",
    "status",
    "location_code",
    "location_name",
    "region",
    "asset_tag",
    "asset_name",
    "description",
    "assignee_email",
    "created_at",
    "scheduled_for",
    "response_due_at",
    "responded_at",
    "response_breached",
    "resolution_due_at",
    "resolved_at",
    "resolution_breached",
    "closed_at",
    "cancelled_at",
];

/// A row as a map from column to cell.
fn by_column(row: &[String]) -> std::collections::HashMap<&'static str, &str> {
    COLUMNS.iter().copied().zip(row.iter().map(String::as_str)).collect()
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn every_matching_ticket_and_a_technician_only_their_own(pool: PgPool) {
    let state = testing::state(pool.clone());
    let crew = testing::crew(&state).await;
    let other_tech = testing::user(&state, "tech2@test.example", &[Role::Technician]).await;
    let app = nexus_tickets::router(state);
    let bali = testing::site(&pool, "DPS0001", "Asia/Makassar").await;
    let jakarta = testing::site(&pool, "JKT0001", "Asia/Jakarta").await;
    sqlx::query("UPDATE locations SET region = CASE code WHEN 'DPS0001' THEN 'Bali' ELSE 'DKI Jakarta' END")
        .execute(&pool)
        .await
        .unwrap();
    let open = async |asset: i64, ticket_type: &str, priority: &str, description: &str, assignee: Option<i64>| {
        let body = json!({"asset_id": asset, "ticket_type": ticket_type, "priority": priority,
                          "description": description, "assigned_to": assignee});
        let r = post(&app, "/api/tickets", &crew.supervisor, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        r.body
    };
    let jammed = "Dispenser jammed, \"badly\"\nsee photo";
    let formula = "=cmd|' /C calc'!A0";
    let first = open(bali.asset_id, "CM", "high", jammed, Some(crew.technician.id)).await;
    let second = open(jakarta.asset_id, "PM", "low", formula, None).await;
    let third = open(bali.asset_id, "CM", "medium", "Receipt printer", Some(other_tech.id)).await;
    let started =
        put(&app, &format!("/api/tickets/{}", first["id"]), &crew.technician, json!({"status": "in_progress"})).await;
    assert_eq!(started.status, StatusCode::OK, "{:?}", started.body);

    // Newest first (the list's default order); limit and cursor ignored.
    let all = rows_of(&get_csv(&app, "/api/tickets?limit=1&cursor=x", &crew.viewer).await, "tickets");
    assert_eq!(all[0], COLUMNS);
    let numbers: Vec<&str> = all[1..].iter().map(|r| r[0].as_str()).collect();
    let number = |t: &Value| t["number"].as_str().unwrap().to_string();
    assert_eq!(numbers, [number(&third), number(&second), number(&first)]);

    let row = by_column(&all[3]);
    assert_eq!(row["ticket_type"], "CM");
    assert_eq!(row["priority"], "high");
    assert_eq!(row["status"], "in_progress");
    assert_eq!((row["location_code"], row["location_name"], row["region"]), ("DPS0001", "DPS0001", "Bali"));
    assert_eq!((row["asset_tag"], row["asset_name"]), ("ATM-DPS0001", "ATM"));
    assert_eq!(row["description"], jammed, "commas, quotes and a newline come back as sent");
    assert_eq!(row["assignee_email"], crew.technician.email);
    assert_eq!(row["response_breached"], "false");
    assert_eq!(row["closed_at"], "");
    assert_eq!(row["scheduled_for"], "");
    for column in ["created_at", "response_due_at", "responded_at", "resolution_due_at"] {
        assert!(row[column].ends_with('Z'), "{column} in UTC: {}", row[column]);
        let at: DateTime<Utc> = row[column].parse().unwrap();
        let api: DateTime<Utc> = match column {
            "created_at" => first["created_at"].as_str().unwrap().parse().unwrap(),
            "response_due_at" | "resolution_due_at" => first["sla"][column].as_str().unwrap().parse().unwrap(),
            _ => started.body["sla"][column].as_str().unwrap().parse().unwrap(),
        };
        assert_eq!(at.timestamp(), api.timestamp(), "{column}");
    }
    let defused = by_column(&all[2]);
    assert_eq!(defused["description"], format!("'{formula}"), "a formula is shown, not run");
    assert_eq!(unharden(defused["description"]), formula);
    assert_eq!(defused["assignee_email"], "");

    // The list's filters apply.
    let bali_only = rows_of(&get_csv(&app, "/api/tickets?region=Bali&sort=created_at", &crew.viewer).await, "tickets");
    let numbers: Vec<&str> = bali_only[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(numbers, [number(&first), number(&third)]);
    let pm = rows_of(&get_csv(&app, "/api/tickets?ticket_type=PM&status=open", &crew.supervisor).await, "tickets");
    assert_eq!(pm[1..].iter().map(|r| r[0].as_str()).collect::<Vec<_>>(), [number(&second)]);

    // A technician exports only the tickets assigned to them, as the JSON list shows them.
    let own = rows_of(&get_csv(&app, "/api/tickets", &crew.technician).await, "tickets");
    assert_eq!(own[1..].iter().map(|r| r[0].as_str()).collect::<Vec<_>>(), [number(&first)]);
    let others = rows_of(&get_csv(&app, "/api/tickets", &other_tech).await, "tickets");
    assert_eq!(others[1..].iter().map(|r| r[0].as_str()).collect::<Vec<_>>(), [number(&third)]);

    // Without asking for CSV: the JSON page, limit and all.
    let json = send(&app, request(Method::GET, "/api/tickets?limit=2", Some(&crew.viewer.token), None)).await;
    assert_eq!(json.status, StatusCode::OK);
    assert_eq!(json.content_type(), "application/json");
    assert_eq!(json.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(json.body["items"][0]["number"], third["number"]);
    assert!(json.body["next_cursor"].is_string());

    let bad = get_csv(&app, "/api/tickets?status=lost", &crew.viewer).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["errors"][0]["field"], "status");
}
