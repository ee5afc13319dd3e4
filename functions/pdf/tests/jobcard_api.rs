//! Jobcards end to end: a ticket closed through the API, its PDF stored in S3 (moto, started by
//! scripts/test), downloaded through the presigned URL and read back.

use axum::http::StatusCode;
use nexus_shared::auth::Role;
use nexus_testkit::{self as testing, TestUser, get, post};
use printpdf::{Op, PdfDocument, PdfParseOptions, TextItem};
use serde_json::{Value, json};
use sqlx::PgPool;

struct Fixture {
    pdf: axum::Router,
    state: nexus_shared::AppState,
    pool: PgPool,
    store: nexus_shared::storage::S3Store,
    spv: TestUser,
    tech: TestUser,
    asset: i64,
}

async fn setup(pool: PgPool) -> Fixture {
    let store = nexus_testkit::fetch::s3_test_store().await;
    let state = testing::state(pool.clone());
    let crew = testing::crew(&state).await;
    let asset = testing::site(&pool, "DPS0001", "Asia/Makassar").await.asset_id;
    Fixture {
        pdf: nexus_pdf::router(nexus_pdf::PdfState::new(state.clone(), store.clone())),
        state,
        pool,
        store,
        spv: crew.supervisor,
        tech: crew.technician,
        asset,
    }
}

impl Fixture {
    async fn closed_ticket(&self) -> Value {
        testing::closed_ticket(&self.state, self.asset, &self.spv, &self.tech).await
    }
}

fn pdf_text(pdf: &[u8]) -> String {
    let doc = PdfDocument::parse(pdf, &PdfParseOptions::default(), &mut Vec::new()).expect("a PDF");
    let mut out = String::new();
    for op in doc.pages.into_iter().flat_map(|p| p.ops) {
        if let Op::ShowText { items } = op {
            for item in items {
                if let TextItem::Text(s) = item {
                    out.push_str(&s);
                    out.push('\n');
                }
            }
        }
    }
    out
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_closed_ticket_gets_a_jobcard_downloadable_through_its_presigned_url(pool: PgPool) {
    let f = setup(pool).await;
    let t = f.closed_ticket().await;
    let r = post(&f.pdf, "/api/pdf/jobcard", &f.tech, json!({"ticket_id": t["id"]})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["key"], format!("jobcards/{}/v1.pdf", t["id"]));
    assert_eq!(r.body["version"], 1);
    let url = r.body["url"].as_str().unwrap();
    assert!(url.contains("X-Amz-Expires=900"));
    // RFC 3339 UTC with microseconds, as every other timestamp of the API.
    let expires = r.body["expires_at"].as_str().unwrap();
    let fraction = expires.split_once('.').map(|(_, f)| f.trim_end_matches('Z'));
    assert!(expires.ends_with('Z') && fraction.is_some_and(|f| f.len() == 6), "{expires}");
    let fetched = nexus_testkit::fetch::get(url).await;
    assert_eq!(fetched.status, 200);
    let digest: String = {
        use sha2::Digest;
        sha2::Sha256::digest(&fetched.body).iter().map(|b| format!("{b:02x}")).collect()
    };
    assert_eq!(digest, r.body["sha256"].as_str().unwrap(), "the stored bytes are the recorded ones");
    let text = pdf_text(&fetched.body);
    for expected in [
        t["number"].as_str().unwrap(),
        "DPS0001",
        "supervisor@test.example",
        "technician@test.example",
        "Replaced the pick roller",
    ] {
        assert!(text.contains(expected), "{expected} not in the jobcard:\n{text}");
    }
    let audit: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_logs WHERE entity_type = 'jobcard' AND changes -> 'sha256' ->> 'new' = $1",
    )
    .bind(&digest)
    .fetch_one(&f.pool)
    .await
    .unwrap();
    assert_eq!(audit, 1);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn asking_again_for_an_unchanged_ticket_reuses_the_object(pool: PgPool) {
    let f = setup(pool).await;
    let t = f.closed_ticket().await;
    let first = post(&f.pdf, "/api/pdf/jobcard", &f.spv, json!({"ticket_id": t["id"]})).await.body;
    let again = post(&f.pdf, "/api/pdf/jobcard", &f.spv, json!({"ticket_id": t["id"]})).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(
        (&again.body["key"], &again.body["sha256"], &again.body["version"]),
        (&first["key"], &first["sha256"], &first["version"])
    );
    let latest = get(&f.pdf, &format!("/api/pdf/jobcard/{}", t["id"]), &f.spv).await;
    assert_eq!((latest.status, &latest.body["version"]), (StatusCode::OK, &json!(1)));
    assert_eq!(nexus_testkit::fetch::get(latest.body["url"].as_str().unwrap()).await.status, 200);
    // A ticket whose object vanished (lifecycle rule, emptied dev bucket) gets a new version.
    let store = f.store.clone();
    store.client().delete_object().bucket(store.bucket()).key(first["key"].as_str().unwrap()).send().await.unwrap();
    let remade = post(&f.pdf, "/api/pdf/jobcard", &f.spv, json!({"ticket_id": t["id"]})).await;
    assert_eq!((remade.status, &remade.body["version"]), (StatusCode::CREATED, &json!(2)));
    assert_eq!(nexus_testkit::fetch::get(remade.body["url"].as_str().unwrap()).await.status, 200);
    // A changed ticket gets a new version.
    sqlx::query("UPDATE tickets SET version = version + 1, notes = 'late note' WHERE id = $1")
        .bind(t["id"].as_i64())
        .execute(&f.pool)
        .await
        .unwrap();
    let v2 = post(&f.pdf, "/api/pdf/jobcard", &f.spv, json!({"ticket_id": t["id"]})).await;
    assert_eq!((v2.status, &v2.body["version"]), (StatusCode::CREATED, &json!(3)));
    assert_eq!(v2.body["key"], format!("jobcards/{}/v3.pdf", t["id"]));
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn only_closed_tickets_and_only_their_people(pool: PgPool) {
    let f = setup(pool).await;
    let open = testing::open_ticket(&f.state, f.asset, &f.spv).await;
    assert_eq!(
        post(&f.pdf, "/api/pdf/jobcard", &f.spv, json!({"ticket_id": open["id"]})).await.status,
        StatusCode::CONFLICT
    );
    let t = f.closed_ticket().await;
    let state = testing::state(f.pool.clone());
    let viewer = testing::user(&state, "viewer@test.example", &[Role::Viewer]).await;
    let stranger = testing::user(&state, "other-tech@test.example", &[Role::Technician]).await;
    assert_eq!(
        post(&f.pdf, "/api/pdf/jobcard", &viewer, json!({"ticket_id": t["id"]})).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(&f.pdf, "/api/pdf/jobcard", &stranger, json!({"ticket_id": t["id"]})).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&f.pdf, &format!("/api/pdf/jobcard/{}", t["id"]), &f.spv).await.status,
        StatusCode::NOT_FOUND,
        "no jobcard yet"
    );
    assert_eq!(
        post(&f.pdf, "/api/pdf/jobcard", &f.spv, json!({"ticket_id": 99999})).await.status,
        StatusCode::NOT_FOUND
    );
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn answers_an_api_gateway_v2_event(pool: PgPool) {
    let f = setup(pool).await;
    let t = f.closed_ticket().await;
    let event = testing::apigw_v2_event(
        "POST",
        "/api/pdf/jobcard",
        "",
        Some(&f.spv.token),
        Some(json!({"ticket_id": t["id"]})),
    );
    let r = testing::send_event(&f.pdf, event).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
}

/// The built binary, started as Lambda starts it, answers its event from the test kit's table
/// through the Runtime API.
#[sqlx::test(migrations = false)]
async fn the_built_function_answers_through_the_lambda_runtime_api(pool: sqlx::PgPool) {
    nexus_testkit::built::the_built_function_answers(env!("CARGO_BIN_EXE_pdf"), pool).await;
}
