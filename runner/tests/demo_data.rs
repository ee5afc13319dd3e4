//! The demo data loads, loads again without duplicates, and is valid through the API.

use axum::http::StatusCode;
use nexus_shared::auth::Role;
use nexus_testkit::{self as testing, get};
use std::time::Duration;

use nexus_local_runner::States;
use sqlx::PgPool;

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn demo_data_is_idempotent_and_served(pool: PgPool) {
    let state = testing::state(pool.clone());
    let passwords = testing::passwords();
    let first = nexus_local_runner::generate::demo(&pool, &passwords).await.unwrap();
    let second = nexus_local_runner::generate::demo(&pool, &passwords).await.unwrap();
    assert_eq!((first.locations, first.assets, first.tickets), (60, 105, 56));
    assert_eq!((second.locations, second.assets, second.tickets), (60, 105, 56));
    let zones: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT timezone FROM locations ORDER BY 1").fetch_all(&pool).await.unwrap();
    assert_eq!(zones, ["Asia/Jakarta", "Asia/Jayapura", "Asia/Makassar", "Asia/Pontianak"]);

    let store = nexus_testkit::fetch::s3_test_store().await;
    let app = nexus_local_runner::app(&States::new(state.clone(), passwords, Duration::ZERO, store));
    let admin = testing::user(&state, "bench-admin@test.example", &[Role::Admin]).await;
    let tickets = get(&app, "/api/tickets?limit=100", &admin).await;
    assert_eq!(tickets.status, StatusCode::OK);
    assert_eq!(tickets.body["items"].as_array().unwrap().len(), 56);
    let cancelled = get(&app, "/api/tickets?status=cancelled&limit=100", &admin).await;
    assert_eq!(cancelled.body["items"].as_array().unwrap().len(), 8, "every state, cancelled included");
    let active = get(&app, "/api/tickets?status=open,assigned,in_progress,on_hold,resolved&limit=100", &admin).await;
    assert_eq!(active.body["items"].as_array().unwrap().len(), 40);
    let approved: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM approvals a JOIN tickets t ON t.id = a.ticket_id WHERE t.status = 'closed'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(approved, 8, "every closed demo ticket has its approval, once");
    for (email, _) in nexus_local_runner::generate::USERS {
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE email = $1 AND active)")
            .bind(email)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert!(exists, "{email}");
    }
}
