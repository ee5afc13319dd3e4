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

/// Each page's text, one shown string a line.
fn pdf_pages(pdf: &[u8]) -> Vec<String> {
    let doc = PdfDocument::parse(pdf, &PdfParseOptions::default(), &mut Vec::new()).expect("a PDF");
    (doc.pages.into_iter())
        .map(|page| {
            let mut out = String::new();
            for op in page.ops {
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
        })
        .collect()
}

fn pdf_text(pdf: &[u8]) -> String {
    pdf_pages(pdf).concat()
}

/// Gives the ticket a checklist of `items` answered with `answers` (by `by`), as the tickets API
/// would have stored them.
async fn checklist(pool: &PgPool, ticket_id: i64, items: &Value, answers: &[(String, Value)], by: i64) {
    let checklist: i64 =
        sqlx::query_scalar("INSERT INTO checklists (name) VALUES ('ATM monthly service') RETURNING id")
            .fetch_one(pool)
            .await
            .unwrap();
    sqlx::query(
        "INSERT INTO checklist_versions (checklist_id, version, name, items) VALUES ($1, 1, 'ATM monthly service', $2)",
    )
    .bind(checklist)
    .bind(items)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("UPDATE tickets SET checklist_id = $2, checklist_version = 1 WHERE id = $1")
        .bind(ticket_id)
        .bind(checklist)
        .execute(pool)
        .await
        .unwrap();
    for (key, value) in answers {
        sqlx::query(
            "INSERT INTO checklist_answers (ticket_id, key, value, answered_by, occurred_at)
             VALUES ($1, $2, $3, $4, '2026-11-23T10:05:00Z')",
        )
        .bind(ticket_id)
        .bind(key)
        .bind(value)
        .bind(by)
        .execute(pool)
        .await
        .unwrap();
    }
}

async fn jobcard_pdf(f: &Fixture, ticket_id: i64) -> Vec<u8> {
    let r = post(&f.pdf, "/api/pdf/jobcard", &f.spv, json!({"ticket_id": ticket_id})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let fetched = nexus_testkit::fetch::get(r.body["url"].as_str().unwrap()).await;
    assert_eq!(fetched.status, 200);
    fetched.body
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_closed_ticket_gets_a_jobcard_downloadable_through_its_presigned_url(pool: PgPool) {
    let f = setup(pool).await;
    let t = f.closed_ticket().await;
    testing::webhook::subscribe(&f.pool, &["jobcard.created"]).await;
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
    let created = testing::webhook::events(&f.pool, "jobcard.created").await;
    assert_eq!(created.len(), 1);
    assert_eq!((&created[0]["data"]["ticket_id"], &created[0]["data"]["sha256"]), (&t["id"], &json!(digest)));
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn the_jobcard_carries_the_checklist_answers_visits_and_stored_attachments(pool: PgPool) {
    let f = setup(pool).await;
    let t = f.closed_ticket().await;
    let id = t["id"].as_i64().unwrap();
    let items = json!([
        {"key": "door", "label": "Door and lock intact", "type": "check", "required": true},
        {"key": "cash_out", "label": "Test cash-out succeeds", "type": "pass_fail_na", "required": true},
        {"key": "temperature", "label": "Cabinet temperature", "type": "number", "required": true, "unit": "°C"},
        {"key": "roller", "label": "Pick roller condition", "type": "select", "required": false,
         "options": ["ok", "worn", "replaced"]},
        {"key": "notes", "label": "Notes dispensed counter", "type": "meter", "required": true,
         "meter_name": "notes_dispensed"},
        {"key": "remarks", "label": "Technician remarks", "type": "text", "required": false},
        {"key": "fascia", "label": "Photo of the fascia", "type": "photo", "required": true},
        {"key": "ups", "label": "UPS self-test", "type": "pass_fail_na", "required": false},
    ]);
    let answers = [
        ("door", json!(true)),
        ("cash_out", json!("fail")),
        ("temperature", json!(21.5)),
        ("roller", json!("worn")),
        ("notes", json!(184220)),
        ("remarks", json!("Roller worn through, replaced from van stock; 20 test cycles without a jam.")),
    ]
    .map(|(k, v)| (k.to_string(), v));
    checklist(&f.pool, id, &items, &answers, f.tech.id).await;
    for (at, distance, result, out) in [
        ("2026-11-23T02:00:00Z", 412.4, "outside", None),
        ("2026-11-23T09:58:00Z", 37.6, "inside", Some(("2026-11-23T11:55:00Z", 41.2, "inside"))),
    ] {
        sqlx::query(
            "INSERT INTO visits (ticket_id, technician_id, checked_in_at, lat, lng, accuracy_m, distance_m, result,
                                 checked_out_at, checkout_received_at, checkout_lat, checkout_lng,
                                 checkout_accuracy_m, checkout_distance_m, checkout_result)
             VALUES ($1, $2, $3::timestamptz, -8.67, 115.21, 8, $4, $5,
                     $6::timestamptz, $6::timestamptz, $7, $8, $9, $10, $11)",
        )
        .bind(id)
        .bind(f.tech.id)
        .bind(at)
        .bind(distance)
        .bind(result)
        .bind(out.map(|o| o.0))
        .bind(out.map(|_| -8.67))
        .bind(out.map(|_| 115.21))
        .bind(out.map(|_| 6.0))
        .bind(out.map(|o| o.1))
        .bind(out.map(|o| o.2))
        .execute(&f.pool)
        .await
        .unwrap();
    }
    let photo = "3f".repeat(32);
    let signature = "c0ffee00".repeat(8);
    for (kind, key, size, sha, status) in [
        ("after", Some("fascia"), 301_004_i64, &photo, "stored"),
        ("signature", None, 18_211, &signature, "stored"),
        ("before", None, 5_000, &"ab".repeat(32), "pending"),
    ] {
        sqlx::query(
            "INSERT INTO attachments (ticket_id, kind, checklist_key, content_type, size_bytes, sha256, status,
                                      object_key, uploaded_by, stored_at)
             VALUES ($1, $2, $3, 'image/jpeg', $4, $5, $6, 'attachments/' || $1 || '/' || $5, $7,
                     CASE WHEN $6 = 'stored' THEN now() END)",
        )
        .bind(id)
        .bind(kind)
        .bind(key)
        .bind(size)
        .bind(sha)
        .bind(status)
        .bind(f.tech.id)
        .execute(&f.pool)
        .await
        .unwrap();
    }

    let text = pdf_text(&jobcard_pdf(&f, id).await);
    let lines: Vec<&str> = text.lines().collect();
    for label in items.as_array().unwrap().iter().map(|i| i["label"].as_str().unwrap()) {
        assert!(text.contains(label), "{label} not in the jobcard:\n{text}");
    }
    // Each answer as its type reads; the photo item by its stored photo; the unanswered one "—".
    for answer in ["Yes", "Fail", "21.5 °C", "worn", "184220 (meter notes_dispensed)", "1 photo", "—"] {
        assert!(lines.contains(&answer), "{answer} not a line of the jobcard:\n{text}");
    }
    assert!(text.contains("Roller worn through, replaced from van stock;"), "{text}");
    // Who answered, when, in the site's zone (Asia/Makassar, UTC+8).
    assert!(text.contains("technician@test.example, 2026-11-23 18:05 WITA"), "{text}");
    // The visits: local times, distances rounded to the metre, results; one never checked out.
    for expected in ["2026-11-23 10:00 WITA", "412 m", "outside", "not checked out", "2026-11-23 17:58 WITA", "38 m"] {
        assert!(lines.contains(&expected), "{expected} not a line of the jobcard:\n{text}");
    }
    assert!(lines.contains(&"2026-11-23 19:55 WITA") && lines.contains(&"41 m") && lines.contains(&"inside"));
    // The stored attachments with their full digests and sizes; the pending one is no evidence.
    for expected in [photo.as_str(), signature.as_str(), "293.9 KB", "17.8 KB"] {
        assert!(lines.contains(&expected), "{expected} not a line of the jobcard:\n{text}");
    }
    assert!(!text.contains(&"ab".repeat(32)), "a pending attachment is not on the card");
    assert!(text.contains("Signed: signature attachment #"), "{text}");
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_200_item_checklist_flows_over_several_pages(pool: PgPool) {
    let f = setup(pool).await;
    let t = f.closed_ticket().await;
    let id = t["id"].as_i64().unwrap();
    let items: Vec<Value> = (1..=200)
        .map(|i| {
            json!({"key": format!("point_{i}"), "label": format!("Inspection point {i}"),
                        "type": "pass_fail_na", "required": true})
        })
        .collect();
    let answers: Vec<(String, Value)> = (1..=200).map(|i| (format!("point_{i}"), json!("pass"))).collect();
    checklist(&f.pool, id, &Value::from(items), &answers, f.tech.id).await;
    let pages = pdf_pages(&jobcard_pdf(&f, id).await);
    assert!(pages.len() > 1, "{} page(s)", pages.len());
    let text = pages.concat();
    for i in [1, 100, 200] {
        assert!(text.contains(&format!("Inspection point {i} *\n")), "item {i} missing:\n{text}");
    }
    assert_eq!(text.matches("\nPass\n").count(), 200);
    let count = pages.len();
    for (i, page) in pages.iter().enumerate() {
        assert!(page.contains(&format!("Page {} of {count}", i + 1)), "page {}:\n{page}", i + 1);
    }
    assert!(pages.last().unwrap().contains("Technician signature"));
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
