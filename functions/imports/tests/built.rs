//! The built `imports` binary answers a real API Gateway event (a text/csv body) through the
//! loopback Lambda Runtime API.

use sqlx::PgPool;

#[sqlx::test(migrations = false)]
async fn the_built_function_answers(pool: PgPool) {
    nexus_testkit::built::the_built_function_answers(env!("CARGO_BIN_EXE_imports"), pool).await;
}
