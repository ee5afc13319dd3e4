//! No answer outgrows one Lambda response (6 MiB, the JSON envelope included, plain or gzip and
//! base64): the largest requests each endpoint allows, over the densest and longest data we can
//! build, sent through `lambda_http` as Lambda sends them and weighed there.

use std::time::Duration;

use axum::http::{HeaderMap, StatusCode, header};
use nexus_local_runner::States;
use nexus_local_runner::generate::{self, Preset};
use nexus_shared::response_size::LAMBDA_LIMIT;
use nexus_testkit::exchange::{gunzip, lambda_answer, lambda_body};
use nexus_testkit::{self as testing, TestUser};
use serde_json::Value;
use sqlx::PgPool;

struct World {
    app: axum::Router,
    supervisor: TestUser,
}

async fn world(pool: &PgPool, preset: Preset) -> World {
    generate::generate(pool, &testing::passwords(), preset, |_| {}).await.unwrap();
    let state = testing::state(pool.clone());
    let supervisor = testing::crew(&state).await.supervisor;
    let store = testing::fetch::s3_test_store().await;
    let app = nexus_local_runner::app(&States::new(state, testing::passwords(), Duration::ZERO, store));
    World { app, supervisor }
}

/// `GET path?query` through `lambda_http` as Lambda would send it, plain and gzip: both answers
/// (status, headers, the body as sent on by API Gateway, decompressed), each checked to fit.
async fn both_ways(w: &World, path: &str, query: &str, accept: &str) -> [(StatusCode, HeaderMap, Vec<u8>); 2] {
    let mut answers = Vec::new();
    for gzip in [false, true] {
        let mut event = testing::apigw_v2_event_json("GET", path, query, Some(&w.supervisor.token), None);
        event["headers"]["accept"] = accept.into();
        if gzip {
            event["headers"]["accept-encoding"] = "gzip".into();
        }
        let answer = lambda_answer(&w.app, event).await;
        let payload = serde_json::to_vec(&answer).unwrap().len();
        assert!(payload <= LAMBDA_LIMIT, "{path}?{query} (gzip: {gzip}): {payload} bytes for Lambda");
        let response = nexus_testkit::built::api_gateway_response(&answer);
        let mut body = lambda_body(&answer);
        if response.headers.get(header::CONTENT_ENCODING).is_some() {
            body = gunzip(&body);
        }
        answers.push((response.status, response.headers, body));
    }
    answers.try_into().unwrap()
}

fn json(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap()
}

/// The widest viewport over ~9,000 active tickets at sites whose names are 200 quotes (each one
/// two bytes in GeoJSON, four in Lambda's JSON string): ~11 MB unclustered. The answer is 422
/// naming a viewport around the same centre that fits; asked for, it is 200 and fits.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn the_widest_unclustered_map_is_refused_naming_a_viewport_that_fits(pool: PgPool) {
    let w = world(&pool, Preset::scale(2_000, 4_000, 30_000)).await;
    sqlx::query("UPDATE locations SET name = repeat('\"', 200)").execute(&pool).await.unwrap();

    let [(status, _, plain), (gzip_status, _, _)] =
        both_ways(&w, "/api/maps/live-tickets", "bbox=-180,-90,180,90", "application/json").await;
    assert_eq!((status, gzip_status), (StatusCode::UNPROCESSABLE_ENTITY, StatusCode::UNPROCESSABLE_ENTITY));
    let problem = json(&plain);
    assert_eq!(problem["errors"][0]["field"], "bbox");
    let message = problem["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("tickets in") && message.contains("over the 4.7 MB"), "{message}");
    let bbox = message.split("bbox=").nth(1).and_then(|m| m.split(' ').next()).expect("a bbox named");
    let zoom: u8 = message.split("(zoom ").nth(1).and_then(|m| m.split(' ').next()).unwrap().parse().unwrap();
    assert!((1..=20).contains(&zoom), "{message}");

    let [(status, headers, plain), (_, _, gzipped)] =
        both_ways(&w, "/api/maps/live-tickets", &format!("bbox={bbox}"), "application/json").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&plain));
    assert_eq!(headers[header::CONTENT_TYPE], "application/geo+json");
    let shown = json(&plain)["features"].as_array().unwrap().len();
    assert!(shown > 1_000, "the viewport named is the largest that fits, not a tiny one: {shown} tickets");
    assert_eq!(json(&gzipped)["features"].as_array().unwrap().len(), shown);
    assert!(plain.len() > 2_000_000, "{} bytes", plain.len());
}

/// More sites than could fit however short their texts (the map reads no further than that):
/// refused with a viewport around the sites' own centre, which then fits.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn more_sites_than_can_fit_are_refused_without_reading_them_all(pool: PgPool) {
    let w = world(&pool, Preset::scale(40_000, 40_000, 100)).await;
    let [(status, _, plain), _] = both_ways(&w, "/api/maps/locations", "", "application/json").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = json(&plain)["errors"][0]["message"].as_str().unwrap().to_string();
    assert!(message.contains("more than") && message.contains("sites"), "{message}");
    let bbox = message.split("bbox=").nth(1).and_then(|m| m.split(' ').next()).expect("a bbox named");
    let [(status, _, plain), _] =
        both_ways(&w, "/api/maps/locations", &format!("bbox={bbox}"), "application/json").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&plain));
    assert!(json(&plain)["features"].as_array().unwrap().len() > 10_000);
}

/// The largest page (500) of the longest tickets (every text at its limit, in quotes and emoji:
/// 120 KB each in Lambda's JSON, 60 MB for the page) is cut where it fits, and its cursor goes
/// on from there: two pages hold the first tickets of the list, in order, none twice.
/// The CSV export of them all is refused, pointing to the S3 export.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn the_largest_page_of_the_longest_tickets_is_cut_short_and_resumes(pool: PgPool) {
    let w = world(&pool, Preset::scale(50, 100, 1_000)).await;
    sqlx::query(
        "UPDATE tickets SET description = repeat('\"', 5000), notes = repeat('\"', 20000),
                            resolution_notes = repeat('😀', 5000)",
    )
    .execute(&pool)
    .await
    .unwrap();
    let expected: Vec<i64> = sqlx::query_scalar("SELECT id FROM tickets ORDER BY created_at DESC, id DESC LIMIT 500")
        .fetch_all(&pool)
        .await
        .unwrap();

    let [(status, _, plain), (_, _, gzipped)] = both_ways(&w, "/api/tickets", "limit=500", "application/json").await;
    assert_eq!(status, StatusCode::OK);
    let first = json(&plain);
    assert_eq!(json(&gzipped)["items"].as_array().unwrap().len(), first["items"].as_array().unwrap().len());
    let ids =
        |page: &Value| page["items"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect::<Vec<_>>();
    let sent = ids(&first);
    assert!((20..500).contains(&sent.len()), "{} tickets sent", sent.len());
    assert_eq!(first["items"][0]["notes"].as_str().unwrap().chars().count(), 20_000);
    let cursor = first["next_cursor"].as_str().expect("a cursor after the last ticket sent");
    let [(status, _, plain), _] =
        both_ways(&w, "/api/tickets", &format!("limit=500&cursor={cursor}"), "application/json").await;
    assert_eq!(status, StatusCode::OK);
    let both: Vec<i64> = sent.iter().copied().chain(ids(&json(&plain))).collect();
    assert_eq!(both[..], expected[..both.len()], "the second page goes on right after the first");

    let [(status, _, plain), _] = both_ways(&w, "/api/tickets", "", "text/csv").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = json(&plain)["errors"][0]["message"].as_str().unwrap().to_string();
    assert!(message.contains("4.7 MB") && message.contains("POST /api/exports"), "{message}");
    let [(status, _, plain), (_, _, gzipped)] = both_ways(&w, "/api/tickets", "priority=critical", "text/csv").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a narrower export fits: {}",
        String::from_utf8_lossy(&plain[..200.min(plain.len())])
    );
    // lambda_http decodes a text body to put it in the JSON envelope, and its decoder drops the
    // BOM (found here: the plain export reaches API Gateway without it); a gzip one keeps it.
    assert_eq!(&gzipped[..3], "\u{feff}".as_bytes());
    assert_eq!(plain, gzipped[3..]);
}
