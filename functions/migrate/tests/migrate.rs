//! The `migrate` function, built and run as Lambda runs it, against an empty real database; and
//! the first admin against real Postgres and the Secrets Manager `scripts/test` starts (moto).

use std::time::Duration;

use nexus_migrate::first_admin::{self, AdminOutcome, FirstAdmin};
use nexus_shared::auth::Role;
use nexus_shared::secret::Secret;
use nexus_shared::user::Email;
use serde_json::{Value, json};
use sqlx::PgPool;

/// The table's case: an empty database migrated, and the first admin created.
#[sqlx::test(migrations = false)]
async fn the_built_function_answers_through_the_lambda_runtime_api(pool: PgPool) {
    nexus_testkit::built::the_built_function_answers(env!("CARGO_BIN_EXE_migrate"), pool).await;
}

/// As deployed: the generated password reaches the secret and never the log; invoked again (a
/// redeploy without new migrations) there is nothing to do.
#[sqlx::test(migrations = false)]
async fn the_initial_password_reaches_the_secret_and_never_the_log(pool: PgPool) {
    let (admin, client) = first_admin("first-admin@test.example").await;
    let env = [
        ("NEXUS_ADMIN_EMAIL", admin.email.as_str().to_string()),
        ("NEXUS_ADMIN_PASSWORD_SECRET_ID", admin.password_secret_id.clone()),
    ];
    let mut lambda = nexus_testkit::built::start_lambda(env!("CARGO_BIN_EXE_migrate"), &pool, &env).await;
    let first = lambda.invoke(&json!({}), Duration::from_secs(60)).await.unwrap();
    assert_eq!(first["admin"], "created");
    let password = secret_value(&client, &admin.password_secret_id).await;
    assert_ne!(password, "not set yet");
    assert!(!lambda.log().contains(&password), "the initial password reached the log");
    let latest = nexus_shared::db::MIGRATOR.iter().map(|m| m.version).last();
    let second = lambda.invoke(&json!({"source": "deploy"}), Duration::from_secs(60)).await.unwrap();
    assert_eq!(second, json!({"applied": Value::Array(vec![]), "latest": latest, "admin": "exists"}));
}

async fn first_admin(email: &str) -> (FirstAdmin, aws_sdk_secretsmanager::Client) {
    let password_secret_id = nexus_testkit::fetch::secret("not set yet").await;
    (
        FirstAdmin { email: Email::parse(email).unwrap(), password_secret_id },
        nexus_testkit::fetch::secrets_client().await,
    )
}

async fn secret_value(client: &aws_sdk_secretsmanager::Client, id: &str) -> String {
    nexus_shared::secrets_manager::fetch(client, id).await.unwrap()
}

/// A fresh deployment gets its admin, with the password only in the secret and a change owed;
/// the next deploy touches nothing, and the secret is not rewritten.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn the_first_admin_is_created_once_with_a_password_only_the_secret_holds(pool: PgPool) {
    let passwords = nexus_testkit::passwords();
    let (admin, client) = first_admin("Ops@Bank.example").await;
    assert_eq!(first_admin::ensure(&pool, &passwords, &admin, &client).await.unwrap(), AdminOutcome::Created);
    let password = secret_value(&client, &admin.password_secret_id).await;
    let (hash, must_change, roles): (String, bool, Vec<String>) = sqlx::query_as(
        "SELECT u.password_hash, u.must_change_password, array_agg(r.role) FROM users u
         JOIN user_roles r ON r.user_id = u.id WHERE u.email = 'ops@bank.example' GROUP BY u.id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(passwords.verify(Secret::new(password.clone()), hash).await.unwrap(), "the secret's password signs in");
    assert!(must_change);
    assert_eq!(roles, [Role::Admin.as_str()]);
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_logs WHERE entity_type = 'user' AND action = 'create' AND actor_id IS NULL",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(audited, 1, "the creation is audited, by no user");

    assert_eq!(first_admin::ensure(&pool, &passwords, &admin, &client).await.unwrap(), AdminOutcome::Exists);
    assert_eq!(secret_value(&client, &admin.password_secret_id).await, password, "a rerun writes nothing");
}

/// Someone who signed up with the admin's e-mail before the first deploy does not become the
/// admin: the account gets a new password (theirs stops working) and its sessions end.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn an_account_registered_with_the_admins_email_is_taken_back(pool: PgPool) {
    let passwords = nexus_testkit::passwords();
    let squatter = nexus_testkit::user(&nexus_testkit::state(pool.clone()), "ops@bank.example", &[Role::Viewer]).await;
    let (admin, client) = first_admin("ops@bank.example").await;
    assert_eq!(first_admin::ensure(&pool, &passwords, &admin, &client).await.unwrap(), AdminOutcome::Created);
    let (hash, live_sessions): (String, i64) = sqlx::query_as(
        "SELECT password_hash, (SELECT count(*) FROM sessions WHERE user_id = $1 AND revoked_at IS NULL) FROM users WHERE id = $1",
    )
    .bind(squatter.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(!passwords.verify(Secret::new(nexus_testkit::TEST_PASSWORD.into()), hash).await.unwrap());
    assert_eq!(live_sessions, 0);
}
