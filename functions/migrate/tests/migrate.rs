//! The `migrate` function, built and run as Lambda runs it, against an empty real database.

use std::time::Duration;

use serde_json::{Value, json};
use sqlx::PgPool;

#[sqlx::test(migrations = false)]
async fn the_built_function_migrates_an_empty_database_once(pool: PgPool) {
    let mut lambda = nexus_shared::testing::start_lambda(env!("CARGO_BIN_EXE_migrate"), &pool, &[]).await;
    let all: Vec<i64> = nexus_shared::db::MIGRATOR.iter().map(|m| m.version).collect();

    let first = lambda.invoke(&json!({}), Duration::from_secs(60)).await.unwrap();
    assert_eq!(first, json!({"applied": all, "latest": all.last()}));
    let tickets: Option<String> =
        sqlx::query_scalar("SELECT to_regclass('tickets')::text").fetch_one(&pool).await.unwrap();
    assert_eq!(tickets.as_deref(), Some("tickets"));

    // Invoked again (a redeploy without new migrations): nothing to do.
    let second = lambda.invoke(&json!({"source": "deploy"}), Duration::from_secs(60)).await.unwrap();
    assert_eq!(second, json!({"applied": Value::Array(vec![]), "latest": all.last()}));
}
