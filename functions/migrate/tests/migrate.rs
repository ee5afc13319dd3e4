//! The `migrate` function, built and run as Lambda runs it, against an empty real database.

use std::time::Duration;

use serde_json::{Value, json};
use sqlx::PgPool;

/// The table's case migrates an empty database; invoked again (a redeploy without new
/// migrations) there is nothing to do.
#[sqlx::test(migrations = false)]
async fn the_built_function_answers_through_the_lambda_runtime_api(pool: PgPool) {
    nexus_testkit::built::the_built_function_answers(env!("CARGO_BIN_EXE_migrate"), pool.clone()).await;
    let mut lambda = nexus_testkit::built::start_lambda(env!("CARGO_BIN_EXE_migrate"), &pool, &[]).await;
    let latest = nexus_shared::db::MIGRATOR.iter().map(|m| m.version).last();
    let second = lambda.invoke(&json!({"source": "deploy"}), Duration::from_secs(60)).await.unwrap();
    assert_eq!(second, json!({"applied": Value::Array(vec![]), "latest": latest}));
}
