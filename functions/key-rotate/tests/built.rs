//! The built binary, as Lambda runs it.

/// The built binary, started as Lambda starts it, answers its event from the test kit's table
/// through the Runtime API.
#[sqlx::test(migrations = false)]
async fn the_built_function_answers_through_the_lambda_runtime_api(pool: sqlx::PgPool) {
    nexus_testkit::built::the_built_function_answers(env!("CARGO_BIN_EXE_key-rotate"), pool).await;
}
