//! The purge against real PostgreSQL: what is past its retention goes, the rest stays, and the
//! built function does the same for an EventBridge event sent through the Runtime API.

use chrono::{DateTime, Duration, Utc};
use nexus_housekeeping::{PurgeReport, purge};
use nexus_shared::auth::Role;
use sqlx::PgPool;

/// A user with sessions expiring `session_expiries` after `now` (negative: already expired),
/// and one idempotency key and one login failure `ages` before `now` each.
async fn rows(pool: &PgPool, now: DateTime<Utc>, session_expiries: &[Duration], ages: &[Duration]) -> i64 {
    let state = nexus_testkit::state(pool.clone());
    let user = nexus_testkit::user(&state, "old@test.example", &[Role::Technician]).await;
    for expiry in session_expiries {
        sqlx::query("INSERT INTO sessions (user_id, refresh_token_hash, expires_at) VALUES ($1, '\\x00', $2)")
            .bind(user.id)
            .bind(now + *expiry)
            .execute(pool)
            .await
            .unwrap();
    }
    for (i, age) in ages.iter().enumerate() {
        sqlx::query(
            "INSERT INTO idempotency_keys (user_id, key, route, request_sha256, status, body, created_at)
             VALUES ($1, $2, 'POST /api/tickets', 'x', 201, '{}', $3)",
        )
        .bind(user.id)
        .bind(format!("key-{i}"))
        .bind(now - *age)
        .execute(pool)
        .await
        .unwrap();
        sqlx::query("INSERT INTO login_failures (email, failed_at) VALUES ('old@test.example', $1)")
            .bind(now - *age)
            .execute(pool)
            .await
            .unwrap();
    }
    user.id
}

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}"))).fetch_one(pool).await.unwrap()
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn rows_past_their_retention_go_and_the_rest_stays(pool: PgPool) {
    let now = Utc::now();
    let hours = Duration::hours;
    // Sessions: expired 31 days ago (goes), 29 days ago (stays), live (stays), plus the test
    // user's own live session. Login failures: a day (25 h goes). Idempotency keys: 4 days, the
    // longest an offline device may retry blindly (97 h goes; 95 h and 25 h stay).
    rows(
        &pool,
        now,
        &[-Duration::days(31), -Duration::days(29), hours(1)],
        &[hours(97), hours(95), hours(25), hours(0)],
    )
    .await;
    let report = purge(&pool, now).await.unwrap();
    assert_eq!(report, PurgeReport { login_failures: 3, idempotency_keys: 1, sessions: 1, ..PurgeReport::default() });
    assert_eq!(
        (count(&pool, "login_failures").await, count(&pool, "idempotency_keys").await, count(&pool, "sessions").await),
        (1, 3, 3)
    );
    assert_eq!(purge(&pool, now).await.unwrap(), PurgeReport::default(), "a second run finds nothing");
}

/// Attachments of one ticket: `(status, age)` each; their ids.
async fn attachments(pool: &PgPool, now: DateTime<Utc>, rows: &[(&str, Duration)]) -> Vec<i64> {
    let state = nexus_testkit::state(pool.clone());
    let crew = nexus_testkit::crew(&state).await;
    let asset = nexus_testkit::site(pool, "DPS0001", "Asia/Makassar").await.asset_id;
    let ticket = nexus_testkit::open_ticket(&state, asset, &crew.supervisor).await;
    let mut ids = Vec::new();
    for (i, (status, age)) in rows.iter().enumerate() {
        let at = now - *age;
        ids.push(
            sqlx::query_scalar(
                "INSERT INTO attachments (ticket_id, kind, content_type, size_bytes, sha256, status, object_key,
                                          created_at, stored_at)
                 VALUES ($1, 'before', 'image/jpeg', 1, repeat('a', 64), $2, $3, $4,
                         CASE WHEN $2 = 'stored' THEN $4 END)
                 RETURNING id",
            )
            .bind(ticket["id"].as_i64().unwrap())
            .bind(status)
            .bind(format!("uploads/pending/test/{i}"))
            .bind(at)
            .fetch_one(pool)
            .await
            .unwrap(),
        );
    }
    ids
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn attachments_still_pending_after_a_day_go_and_stored_ones_stay(pool: PgPool) {
    let now = Utc::now();
    let ids = attachments(
        &pool,
        now,
        &[("pending", Duration::hours(25)), ("pending", Duration::hours(23)), ("stored", Duration::days(400))],
    )
    .await;
    let report = purge(&pool, now).await.unwrap();
    assert_eq!(report.pending_attachments, 1);
    let left: Vec<i64> = sqlx::query_scalar("SELECT id FROM attachments ORDER BY id").fetch_all(&pool).await.unwrap();
    assert_eq!(left, ids[1..]);
}

/// Webhook events go after 30 days with their deliveries, unless one is still pending.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn webhook_events_go_after_30_days_once_delivered(pool: PgPool) {
    let now = Utc::now();
    let hook = nexus_testkit::webhook::subscribe(&pool, &["ticket.created"]).await;
    // (age in days, delivery status): old and done (goes), old and pending (stays), recent (stays).
    for (age, status) in [(31, "delivered"), (31, "failed"), (31, "pending"), (29, "delivered")] {
        sqlx::query(
            "WITH ev AS (INSERT INTO webhook_events (type, payload, created_at)
                         VALUES ('ticket.created', '{}', $1) RETURNING id)
             INSERT INTO webhook_deliveries (webhook_id, event_id, message_id, status, next_attempt_at)
             SELECT $2, ev.id, 'msg_' || ev.id, $3, CASE WHEN $3 = 'pending' THEN now() END FROM ev",
        )
        .bind(now - Duration::days(age))
        .bind(hook)
        .bind(status)
        .execute(&pool)
        .await
        .unwrap();
    }
    let report = purge(&pool, now).await.unwrap();
    assert_eq!(report.webhook_events, 2);
    let left: Vec<String> =
        sqlx::query_scalar("SELECT status FROM webhook_deliveries ORDER BY id").fetch_all(&pool).await.unwrap();
    assert_eq!(left, ["pending", "delivered"], "the pending one and the recent one, with their events");
    assert_eq!(count(&pool, "webhook_events").await, 2);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn more_than_one_batch_is_purged_in_one_run(pool: PgPool) {
    let now = Utc::now();
    sqlx::query(
        "INSERT INTO login_failures (email, failed_at)
         SELECT 'flood@test.example', $1 - make_interval(days => 2, secs => n) FROM generate_series(1, 12345) n",
    )
    .bind(now)
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(purge(&pool, now).await.unwrap().login_failures, 12_345);
    assert_eq!(count(&pool, "login_failures").await, 0);
}

/// The built binary, started as Lambda starts it, answers its event from the test kit's table
/// through the Runtime API.
#[sqlx::test(migrations = false)]
async fn the_built_function_answers_through_the_lambda_runtime_api(pool: sqlx::PgPool) {
    nexus_testkit::built::the_built_function_answers(env!("CARGO_BIN_EXE_housekeeping"), pool).await;
}
