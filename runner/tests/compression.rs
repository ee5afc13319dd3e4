//! gzip on every router (the shared layers), against the whole application as the local runner
//! serves it: a gzip answer is the plain one compressed, small and already-compressed bodies are
//! left alone, the two encodings never share a strong ETag (and either form works in a
//! condition), and through `lambda_http` a gzip body reaches API Gateway base64-encoded.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use nexus_local_runner::States;
use nexus_testkit::exchange::{gunzip, lambda_answer, lambda_body, send_raw};
use nexus_testkit::{self as testing, TestUser};
use serde_json::{Value, json};
use sqlx::PgPool;

struct World {
    app: axum::Router,
    pool: PgPool,
    supervisor: TestUser,
}

/// The demo's sites and tickets, and the test crew.
async fn world(pool: PgPool) -> World {
    nexus_local_runner::generate::demo(&pool, &testing::passwords()).await.unwrap();
    let state = testing::state(pool.clone());
    let crew = testing::crew(&state).await;
    let store = testing::fetch::s3_test_store().await;
    let app = nexus_local_runner::app(&States::new(state, testing::passwords(), Duration::ZERO, store));
    World { app, pool, supervisor: crew.supervisor }
}

fn request(
    method: Method,
    uri: &str,
    who: &TestUser,
    headers: &[(header::HeaderName, &str)],
    body: Option<Value>,
) -> Request<Body> {
    let mut builder =
        Request::builder().method(method).uri(uri).header(header::AUTHORIZATION, format!("Bearer {}", who.token));
    for (name, value) in headers {
        builder = builder.header(name, *value);
    }
    match body {
        Some(body) => builder.header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_string())),
        None => builder.body(Body::empty()),
    }
    .unwrap()
}

const GZIP: (header::HeaderName, &str) = (header::ACCEPT_ENCODING, "gzip, deflate, br");

/// Every value of `name`, joined as one line would list them.
fn header(headers: &HeaderMap, name: header::HeaderName) -> String {
    headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(", ")
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_gzip_answer_is_the_plain_one_compressed_and_small_ones_are_left_alone(pool: PgPool) {
    let w = world(pool).await;
    for (uri, accept) in [
        ("/api/tickets?limit=500", "application/json"),
        ("/api/maps/live-tickets", "application/json"),
        ("/api/locations", "text/csv"),
        ("/api/openapi.json", "application/json"),
    ] {
        let accept = (header::ACCEPT, accept);
        let (status, plain_headers, plain) =
            send_raw(&w.app, request(Method::GET, uri, &w.supervisor, &[accept.clone()], None)).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        let (status, headers, gzipped) =
            send_raw(&w.app, request(Method::GET, uri, &w.supervisor, &[accept, GZIP], None)).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert_eq!(header(&headers, header::CONTENT_ENCODING), "gzip", "{uri}");
        assert_eq!(header(&plain_headers, header::CONTENT_ENCODING), "", "{uri}: not asked for");
        assert!(header(&headers, header::VARY).contains("accept-encoding"), "{uri}");
        assert!(header(&plain_headers, header::VARY).contains("accept-encoding"), "{uri}: either answer varies");
        assert_eq!(header(&headers, header::CONTENT_TYPE), header(&plain_headers, header::CONTENT_TYPE));
        assert!(gzipped.len() * 3 < plain.len(), "{uri}: {} → {} bytes", plain.len(), gzipped.len());
        let json_or_text =
            |b: &[u8]| serde_json::from_slice::<Value>(b).unwrap_or_else(|_| String::from_utf8_lossy(b).into());
        // SLA minutes move with the clock between the two requests; the rest is the same bytes.
        if uri.starts_with("/api/tickets") || uri.starts_with("/api/maps") {
            assert_eq!(without_clock(json_or_text(&gunzip(&gzipped))), without_clock(json_or_text(&plain)), "{uri}");
        } else {
            assert_eq!(gunzip(&gzipped), plain, "{uri}");
        }
    }

    // Under 1 KiB: sent as it is, and nothing varies.
    let (status, headers, body) =
        send_raw(&w.app, request(Method::GET, "/api/auth/me", &w.supervisor, &[GZIP], None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.len() < 1024 && serde_json::from_slice::<Value>(&body).is_ok());
    assert_eq!(header(&headers, header::CONTENT_ENCODING), "");
    assert!(!header(&headers, header::VARY).contains("accept-encoding"));

    // A client that rules out identity still gets an answer, never 406 (which the layer would
    // put over a 201 after the ticket was written).
    let asset: i64 = sqlx::query_scalar("SELECT min(id) FROM assets").fetch_one(&w.pool).await.unwrap();
    let body = json!({"asset_id": asset, "ticket_type": "CM", "priority": "low", "description": "Jammed"});
    let no_identity = (header::ACCEPT_ENCODING, "br;q=1, identity;q=0");
    let (status, headers, _) =
        send_raw(&w.app, request(Method::POST, "/api/tickets", &w.supervisor, &[no_identity], Some(body))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(header(&headers, header::CONTENT_ENCODING), "");
}

/// `value` without what a clock changes (`minutes_to_breach`, the SLA block).
fn without_clock(mut value: Value) -> Value {
    match &mut value {
        Value::Object(map) => {
            map.remove("minutes_to_breach");
            map.remove("sla");
            for v in map.values_mut() {
                *v = without_clock(v.take());
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| *v = without_clock(v.take())),
        _ => {}
    }
    value
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn the_two_encodings_never_share_a_strong_etag_and_either_form_is_a_condition(pool: PgPool) {
    let w = world(pool).await;
    let id: i64 =
        sqlx::query_scalar("SELECT min(id) FROM tickets WHERE status = 'open'").fetch_one(&w.pool).await.unwrap();
    let uri = format!("/api/tickets/{id}");
    let (_, plain, body) = send_raw(&w.app, request(Method::GET, &uri, &w.supervisor, &[], None)).await;
    assert!(body.len() >= 1024, "a ticket is big enough to be compressed: {} bytes", body.len());
    let (_, gzipped, _) = send_raw(&w.app, request(Method::GET, &uri, &w.supervisor, &[GZIP], None)).await;
    let version = serde_json::from_slice::<Value>(&body).unwrap()["version"].as_i64().unwrap();
    assert_eq!(header(&plain, header::ETAG), format!("\"{version}\""));
    assert_eq!(header(&gzipped, header::ETAG), format!("\"{version}-gzip\""));
    assert_eq!(header(&gzipped, header::CONTENT_ENCODING), "gzip");

    // If-Match: the gzip form is as good as the plain one; a stale one of either form is 412.
    let change = |etag: String, priority: &str| {
        let priority = json!({"priority": priority});
        request(Method::PUT, &uri, &w.supervisor, &[(header::IF_MATCH, &etag)], Some(priority))
    };
    let (status, headers, _) = send_raw(&w.app, change(format!("\"{version}-gzip\""), "high")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, header::ETAG), format!("\"{}\"", version + 1), "no gzip asked for, none given");
    for stale in [format!("\"{version}-gzip\""), format!("\"{version}\"")] {
        let (status, _, _) = send_raw(&w.app, change(stale.clone(), "low")).await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{stale}");
    }
    let (status, _, _) = send_raw(&w.app, change(format!("\"{}\"", version + 1), "low")).await;
    assert_eq!(status, StatusCode::OK);

    // If-None-Match on the map: either form of the current ETag is a 304 that repeats it.
    let map = "/api/maps/locations";
    let (_, plain, _) = send_raw(&w.app, request(Method::GET, map, &w.supervisor, &[], None)).await;
    let (_, gzipped, _) = send_raw(&w.app, request(Method::GET, map, &w.supervisor, &[GZIP], None)).await;
    let (plain_tag, gzip_tag) = (header(&plain, header::ETAG), header(&gzipped, header::ETAG));
    assert_eq!(gzip_tag, format!("{}-gzip\"", plain_tag.trim_end_matches('"')));
    for (sent, asked_gzip) in [(&plain_tag, false), (&gzip_tag, true), (&gzip_tag, false), (&plain_tag, true)] {
        let mut headers = vec![(header::IF_NONE_MATCH, sent.as_str())];
        if asked_gzip {
            headers.push(GZIP);
        }
        let (status, answer, body) = send_raw(&w.app, request(Method::GET, map, &w.supervisor, &headers, None)).await;
        assert_eq!((status, body.len()), (StatusCode::NOT_MODIFIED, 0), "{sent} (gzip asked: {asked_gzip})");
        assert_eq!(&header(&answer, header::ETAG), sent, "the 304 repeats the form sent");
    }
    let (status, _, _) = send_raw(
        &w.app,
        request(Method::GET, map, &w.supervisor, &[(header::IF_NONE_MATCH, "\"0-gzip\""), GZIP], None),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn through_lambda_a_gzip_body_is_base64_and_decodes_to_the_plain_one(pool: PgPool) {
    let w = world(pool).await;
    // The fixture `cargo lambda invoke` is given, with a token and the header browsers send.
    let mut event: Value = serde_json::from_str(include_str!("../../infra/events/live-map.json")).unwrap();
    event["rawQueryString"] = "bbox=95,-11,141,6".into();
    event["headers"]["authorization"] = format!("Bearer {}", w.supervisor.token).into();
    let plain = lambda_answer(&w.app, event.clone()).await;
    event["headers"]["accept-encoding"] = "gzip, deflate, br".into();
    let gzipped = lambda_answer(&w.app, event).await;

    assert_eq!((plain["statusCode"].as_u64(), gzipped["statusCode"].as_u64()), (Some(200), Some(200)));
    assert_eq!(plain["isBase64Encoded"], false);
    assert_eq!(gzipped["isBase64Encoded"], true);
    assert_eq!(gzipped["headers"]["content-encoding"], "gzip");
    assert_eq!(gzipped["headers"]["content-type"], "application/geo+json");
    let base64 = gzipped["body"].as_str().unwrap();
    let decoded: Value = serde_json::from_slice(&gunzip(&lambda_body(&gzipped))).unwrap();
    let plain_body: Value = serde_json::from_str(plain["body"].as_str().unwrap()).unwrap();
    assert_eq!(without_clock(decoded), without_clock(plain_body.clone()));
    assert!(!plain_body["features"].as_array().unwrap().is_empty());
    // What API Gateway is handed is smaller, base64 and all.
    let size = |v: &Value| serde_json::to_vec(v).unwrap().len();
    assert!(base64.len() * 2 < plain["body"].as_str().unwrap().len(), "{} vs {}", base64.len(), size(&plain));
}
