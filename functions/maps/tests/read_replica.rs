//! `NEXUS_DATABASE_READ_URL`: the maps read from the replica it names, the primary otherwise.
//! The "replica" here is a second database on the same server, migrated, holding a site the
//! primary does not have; sessions (who is signed in) are still checked on the primary.

use axum::http::StatusCode;
use nexus_shared::auth::Role;
use nexus_shared::config::{Env, FromEnv};
use nexus_testkit::{self as testing, get};
use serde_json::Value;
use sqlx::PgPool;

/// A fresh database beside the test's, migrated, with site `code` at Denpasar; its URL.
async fn replica(pool: &PgPool, code: &str) -> (String, String) {
    let name: String = sqlx::query_scalar("SELECT 'read_' || md5(current_database())").fetch_one(pool).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\""))).execute(pool).await.unwrap();
    let o = pool.connect_options();
    let url = format!("postgres://{}@{}:{}/{name}", o.get_username(), o.get_host(), o.get_port());
    let read = PgPool::connect(&url).await.unwrap();
    nexus_shared::db::MIGRATOR.run(&read).await.unwrap();
    sqlx::query(
        "INSERT INTO locations (code, name, timezone, latitude, longitude) VALUES ($1, $1, 'Asia/Makassar', -8.67, 115.21)",
    )
    .bind(code)
    .execute(&read)
    .await
    .unwrap();
    read.close().await;
    (name, url)
}

fn codes(body: &Value) -> Vec<String> {
    body["features"].as_array().unwrap().iter().map(|f| f["properties"]["code"].as_str().unwrap().to_string()).collect()
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn with_a_read_url_the_maps_read_the_replica(pool: PgPool) {
    let state = testing::state(pool.clone());
    let spv = testing::user(&state, "spv@test.example", &[Role::Supervisor]).await;
    let primary_site = testing::site(&pool, "PRIMARY1", "Asia/Jakarta").await;
    sqlx::query("UPDATE locations SET latitude = -6.2, longitude = 106.8 WHERE id = $1")
        .bind(primary_site.location_id)
        .execute(&pool)
        .await
        .unwrap();
    let (name, read_url) = replica(&pool, "REPLICA1").await;

    let base = nexus_testkit::built::lambda_env(&pool);
    let mut with_replica = base.clone();
    with_replica.push(("NEXUS_DATABASE_READ_URL", read_url));
    // The local server has no certificate to verify; a deployed replica is `verify-full`.
    with_replica.push(("NEXUS_DB_READ_SSLMODE", "disable".into()));
    with_replica.push(("NEXUS_MAP_CACHE_SECS", "0".into()));
    let mut primary_only = base;
    primary_only.push(("NEXUS_MAP_CACHE_SECS", "0".into()));

    let maps = nexus_maps::MapsState::from_env(&Env::from_pairs(with_replica)).await.unwrap();
    assert!(maps.core.read.is_some());
    let r = get(&nexus_maps::router(maps), "/api/maps/locations", &spv).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(codes(&r.body), ["REPLICA1"], "read from the replica");

    let maps = nexus_maps::MapsState::from_env(&Env::from_pairs(primary_only)).await.unwrap();
    assert!(maps.core.read.is_none());
    let r = get(&nexus_maps::router(maps), "/api/maps/locations", &spv).await;
    assert_eq!(codes(&r.body), ["PRIMARY1"], "without the variable: the primary");
    let r = get(
        &nexus_maps::router(nexus_maps::MapsState::new(state, std::time::Duration::ZERO)),
        "/api/maps/live-tickets",
        &spv,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);

    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE \"{name}\" WITH (FORCE)"))).execute(&pool).await.unwrap();
}
