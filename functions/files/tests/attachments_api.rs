//! Attachments end to end against moto (started by scripts/test): declared through the API,
//! uploaded with a plain HTTP PUT to the presigned URL exactly as a device sends it, confirmed
//! by the server reading the object back, downloaded through the presigned link.
//!
//! moto checks neither the signature nor the length nor the checksum of a presigned PUT, so
//! uploads of other bytes reach the bucket here, as they would on such a store: what these
//! tests show is the server's own check at confirmation. S3's refusal of those uploads is only
//! shown as far as the URL goes (its signed headers); see SECURITY.md.

use axum::Router;
use axum::http::{Method, StatusCode};
use nexus_shared::auth::Role;
use nexus_shared::storage::{ObjectStore, S3Store};
use nexus_testkit::{self as testing, TestResponse, TestUser, get, post};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

struct Fixture {
    files: Router,
    state: nexus_shared::AppState,
    pool: PgPool,
    store: S3Store,
    admin: TestUser,
    spv: TestUser,
    tech: TestUser,
    viewer: TestUser,
    asset: i64,
    /// A CM ticket assigned to `tech`, open.
    ticket: i64,
}

async fn setup(pool: PgPool) -> Fixture {
    let store = nexus_testkit::fetch::s3_test_store().await;
    let state = testing::state(pool.clone());
    let crew = testing::crew(&state).await;
    let asset = testing::site(&pool, "DPS0001", "Asia/Makassar").await.asset_id;
    let ticket = assigned_ticket(&state, asset, &crew.supervisor, &crew.technician).await;
    Fixture {
        files: nexus_files::router(nexus_files::FilesState::new(state.clone(), store.clone())),
        state,
        pool,
        store,
        admin: crew.admin,
        spv: crew.supervisor,
        viewer: crew.viewer,
        tech: crew.technician,
        asset,
        ticket,
    }
}

async fn assigned_ticket(state: &nexus_shared::AppState, asset: i64, spv: &TestUser, tech: &TestUser) -> i64 {
    let created = post(
        &nexus_tickets::router(state.clone()),
        "/api/tickets",
        spv,
        json!({"asset_id": asset, "ticket_type": "CM", "priority": "high", "description": "Dispenser jammed", "assigned_to": tech.id}),
    )
    .await;
    created.body["id"].as_i64().unwrap_or_else(|| panic!("ticket not created: {:?}", created.body))
}

/// A JPEG's worth of bytes: its signature, then `n` bytes of filler.
fn jpeg(n: usize, fill: u8) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.extend(std::iter::repeat_n(fill, n));
    bytes
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn declaration(bytes: &[u8]) -> Value {
    json!({"kind": "before", "content_type": "image/jpeg", "size_bytes": bytes.len(), "sha256": sha256_hex(bytes)})
}

/// Uploads `body` as the answer's `upload` says: its method, URL and every header it lists,
/// except that `Content-Length` is always the body's own (as any HTTP client sends it).
async fn upload(created: &Value, body: &[u8]) {
    let upload = &created["upload"];
    assert_eq!(upload["method"], "PUT");
    let mut headers: Vec<(String, String)> = upload["headers"]
        .as_object()
        .expect("upload headers")
        .iter()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("content-length"))
        .map(|(name, value)| (name.clone(), value.as_str().unwrap().to_string()))
        .collect();
    headers.push(("Content-Length".into(), body.len().to_string()));
    let answer = nexus_testkit::fetch::put(upload["url"].as_str().unwrap(), &headers, body).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').filter_map(|p| p.split_once('=')).find(|(n, _)| *n == name).map(|(_, v)| v.replace("%3B", ";"))
}

impl Fixture {
    fn attachments(&self, ticket: i64) -> String {
        format!("/api/tickets/{ticket}/attachments")
    }

    fn confirm_url(&self, created: &Value) -> String {
        format!("/api/tickets/{}/attachments/{}/confirm", created["ticket_id"], created["id"])
    }

    async fn create(&self, user: &TestUser, body: Value) -> TestResponse {
        post(&self.files, &self.attachments(self.ticket), user, body).await
    }

    async fn confirm(&self, user: &TestUser, created: &Value) -> TestResponse {
        post(&self.files, &self.confirm_url(created), user, json!({})).await
    }

    async fn create_with_key(&self, user: &TestUser, key: &str, body: Value) -> TestResponse {
        let mut request = testing::request(Method::POST, &self.attachments(self.ticket), Some(&user.token), Some(body));
        request.headers_mut().insert("idempotency-key", key.parse().unwrap());
        testing::send(&self.files, request).await
    }

    async fn audit_rows(&self, id: &Value) -> Vec<String> {
        sqlx::query_scalar(
            "SELECT action FROM audit_logs WHERE entity_type = 'attachment' AND entity_id = $1 ORDER BY id",
        )
        .bind(id.as_i64())
        .fetch_all(&self.pool)
        .await
        .unwrap()
    }

    async fn status_of(&self, id: &Value) -> String {
        sqlx::query_scalar("SELECT status FROM attachments WHERE id = $1")
            .bind(id.as_i64())
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    async fn count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM attachments").fetch_one(&self.pool).await.unwrap()
    }

    /// Cancels `ticket` through the tickets API, as a supervisor does.
    async fn cancel(&self, ticket: i64) {
        let tickets = nexus_tickets::router(self.state.clone());
        let r = testing::delete(&tickets, &format!("/api/tickets/{ticket}"), &self.spv).await;
        assert!(r.status.is_success(), "not cancelled: {:?}", r.body);
    }
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_photo_declared_uploaded_and_confirmed_is_stored_and_downloadable(pool: PgPool) {
    let f = setup(pool).await;
    let photo = jpeg(3000, 7);
    let before = chrono::Utc::now();
    let created = f.create(&f.tech, declaration(&photo)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let body = &created.body;
    assert_eq!(
        (&body["status"], &body["kind"], &body["ticket_id"]),
        (&json!("pending"), &json!("before"), &json!(f.ticket))
    );
    assert_eq!(body["sha256"], sha256_hex(&photo));
    assert!(body.get("download").is_none());
    let pending_key = body["object_key"].as_str().unwrap().to_string();
    assert!(pending_key.starts_with(&format!("uploads/pending/{}/", f.ticket)), "{pending_key}");

    // The URL: a PUT of that key, for 15 minutes, whose signature covers length, type and checksum.
    let url = body["upload"]["url"].as_str().unwrap();
    assert!(url.contains(&format!("/{}/{pending_key}?", f.store.bucket())), "{url}");
    assert_eq!(query_param(url, "X-Amz-Expires").as_deref(), Some("900"));
    let signed = query_param(url, "X-Amz-SignedHeaders").unwrap();
    let signed: Vec<&str> = signed.split(';').collect();
    for header in ["content-length", "x-amz-checksum-sha256", "content-type", "host"] {
        assert!(signed.contains(&header), "{header} is not signed: {signed:?}");
    }
    assert!(query_param(url, "x-amz-checksum-sha256").is_none() && query_param(url, "X-Amz-Checksum-Sha256").is_none());
    let headers = &body["upload"]["headers"];
    let checksum = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&photo))
    };
    assert_eq!(headers["x-amz-checksum-sha256"], checksum, "base64 of the raw digest, not hex");
    assert_eq!(headers["content-length"], photo.len().to_string());
    assert_eq!(headers["content-type"], "image/jpeg");
    let expires: chrono::DateTime<chrono::Utc> = body["upload"]["expires_at"].as_str().unwrap().parse().unwrap();
    let lifetime = expires - before;
    assert!((chrono::Duration::seconds(895)..=chrono::Duration::seconds(905)).contains(&lifetime), "{lifetime}");

    upload(body, &photo).await;
    let confirmed = f.confirm(&f.tech, body).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{:?}", confirmed.body);
    assert_eq!(confirmed.body["status"], "stored");
    assert_eq!(confirmed.body["object_key"], format!("attachments/{}/{}.jpg", f.ticket, body["id"]));
    assert!(confirmed.body["stored_at"].is_string() && confirmed.body.get("upload").is_none());
    let fetched = nexus_testkit::fetch::get(confirmed.body["download"]["url"].as_str().unwrap()).await;
    assert_eq!((fetched.status, fetched.body == photo), (200, true));
    assert_eq!(fetched.header("content-type"), Some("image/jpeg"));
    assert_eq!(fetched.header("x-amz-server-side-encryption"), Some("AES256"));
    assert!(!f.store.exists(&pending_key).await.unwrap(), "the pending upload is removed once stored");
    assert_eq!(f.audit_rows(&body["id"]).await, ["create", "update"]);
    let moved: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_logs WHERE entity_type = 'attachment' AND entity_id = $1
           AND changes -> 'status' = '{\"old\": \"pending\", \"new\": \"stored\"}'
           AND changes -> 'object_key' ->> 'old' = $2",
    )
    .bind(body["id"].as_i64())
    .bind(&pending_key)
    .fetch_one(&f.pool)
    .await
    .unwrap();
    assert_eq!(moved, 1, "the audit row records the move and the new status");

    // Confirming again changes nothing.
    let again = f.confirm(&f.spv, body).await;
    assert_eq!((again.status, &again.body["status"]), (StatusCode::OK, &json!("stored")));
    assert_eq!(f.audit_rows(&body["id"]).await.len(), 2);

    // Everyone who may see the ticket reads it, with a download link that works.
    let listed = get(&f.files, &f.attachments(f.ticket), &f.viewer).await;
    assert_eq!(listed.status, StatusCode::OK, "{:?}", listed.body);
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!((&items[0]["id"], &items[0]["status"]), (&body["id"], &json!("stored")));
    let link = items[0]["download"]["url"].as_str().unwrap();
    assert_eq!(query_param(link, "X-Amz-Expires").as_deref(), Some("900"));
    assert_eq!(nexus_testkit::fetch::get(link).await.body, photo);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn an_upload_of_other_bytes_is_refused_deleted_and_stays_pending(pool: PgPool) {
    let f = setup(pool).await;
    let photo = jpeg(1000, 1);
    let created = f.create(&f.tech, declaration(&photo)).await.body;
    let key = created["object_key"].as_str().unwrap().to_string();

    // Same length, other bytes: another SHA-256.
    upload(&created, &jpeg(1000, 2)).await;
    let refused = f.confirm(&f.tech, &created).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", refused.body);
    assert_eq!(refused.body["errors"][0]["field"], "sha256");
    assert!(!f.store.exists(&key).await.unwrap(), "the refused upload is deleted");
    assert_eq!(f.status_of(&created["id"]).await, "pending");

    // Longer than declared.
    upload(&created, &jpeg(1500, 1)).await;
    let refused = f.confirm(&f.tech, &created).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.body["errors"][0]["field"], "size_bytes");
    assert!(refused.body["errors"][0]["message"].as_str().unwrap().contains("1504"), "{:?}", refused.body);
    assert!(!f.store.exists(&key).await.unwrap());

    // Larger than anything accepted: not even read through.
    let huge = vec![0u8; 10 * 1024 * 1024 + 1];
    upload(&created, &huge).await;
    let refused = f.confirm(&f.tech, &created).await;
    assert_eq!(
        (refused.status, &refused.body["errors"][0]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("size_bytes"))
    );
    assert!(!f.store.exists(&key).await.unwrap());

    // Nothing was stored, so nothing was audited beyond the declaration, and nothing listed
    // has a link.
    assert_eq!(f.audit_rows(&created["id"]).await, ["create"]);
    let listed = get(&f.files, &f.attachments(f.ticket), &f.tech).await.body;
    assert_eq!(listed["items"][0]["status"], "pending");
    assert!(listed["items"][0].get("download").is_none() && listed["items"][0].get("upload").is_none());

    // The right bytes, sent again to the same URL, are then taken.
    upload(&created, &photo).await;
    let confirmed = f.confirm(&f.tech, &created).await;
    assert_eq!((confirmed.status, &confirmed.body["status"]), (StatusCode::OK, &json!("stored")));
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn bytes_that_are_not_the_declared_type_are_refused(pool: PgPool) {
    let f = setup(pool).await;
    // Size and SHA-256 as declared, but an HTML page, not a JPEG.
    let page = b"<html><script>alert(1)</script></html>".to_vec();
    let created = f.create(&f.tech, declaration(&page)).await.body;
    upload(&created, &page).await;
    let refused = f.confirm(&f.tech, &created).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.body["errors"][0]["field"], "content_type");
    assert!(!f.store.exists(created["object_key"].as_str().unwrap()).await.unwrap());
    assert_eq!(f.status_of(&created["id"]).await, "pending");
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn confirming_before_uploading_is_a_conflict(pool: PgPool) {
    let f = setup(pool).await;
    let created = f.create(&f.tech, declaration(&jpeg(10, 0))).await.body;
    let early = f.confirm(&f.tech, &created).await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{:?}", early.body);
    assert_eq!(f.status_of(&created["id"]).await, "pending");
    let wrong_ticket = post(
        &f.files,
        &format!("/api/tickets/{}/attachments/{}/confirm", f.ticket + 1000, created["id"]),
        &f.admin,
        json!({}),
    )
    .await;
    assert_eq!(wrong_ticket.status, StatusCode::NOT_FOUND, "an attachment is reached through its own ticket");
}

/// A versioned bucket (as deployed) keeps a deleted object's bytes as an old version unless
/// that version is deleted: refused and confirmed uploads leave no version behind.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn in_a_versioned_bucket_no_copy_of_an_upload_is_left_behind(pool: PgPool) {
    let f = setup(pool).await;
    let versioning = aws_sdk_s3::types::VersioningConfiguration::builder()
        .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
        .build();
    f.store
        .client()
        .put_bucket_versioning()
        .bucket(f.store.bucket())
        .versioning_configuration(versioning)
        .send()
        .await
        .unwrap();
    let versions = async |prefix: &str| -> usize {
        let listed =
            f.store.client().list_object_versions().bucket(f.store.bucket()).prefix(prefix).send().await.unwrap();
        listed.versions().len() + listed.delete_markers().len()
    };
    let photo = jpeg(100, 9);
    let created = f.create(&f.tech, declaration(&photo)).await.body;
    let key = created["object_key"].as_str().unwrap();
    upload(&created, &jpeg(100, 8)).await;
    assert_eq!(f.confirm(&f.tech, &created).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(versions(key).await, 0, "the refused bytes are gone for good");
    upload(&created, &photo).await;
    assert_eq!(f.confirm(&f.tech, &created).await.status, StatusCode::OK);
    assert_eq!(versions(key).await, 0);
    assert_eq!(versions(&format!("attachments/{}/", f.ticket)).await, 1);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn the_client_cannot_choose_where_the_bytes_go(pool: PgPool) {
    let f = setup(pool).await;
    let photo = jpeg(10, 0);
    for field in ["object_key", "key", "bucket"] {
        let mut body = declaration(&photo);
        body[field] = json!(format!("attachments/{}/1.jpg", f.ticket));
        let r = f.create(&f.tech, body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {:?}", r.body);
    }
    let (a, b) = (f.create(&f.tech, declaration(&photo)).await.body, f.create(&f.tech, declaration(&photo)).await.body);
    assert_ne!(a["object_key"], b["object_key"], "each declaration gets its own random key");
    for created in [&a, &b] {
        let key = created["object_key"].as_str().unwrap();
        let random = key.strip_prefix(&format!("uploads/pending/{}/", f.ticket)).unwrap();
        assert!(random.len() == 32 && random.bytes().all(|c| c.is_ascii_hexdigit()), "{key}");
    }
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn declarations_are_checked(pool: PgPool) {
    let f = setup(pool).await;
    let sha = sha256_hex(b"x");
    for (body, field) in [
        (json!({"kind": "before", "content_type": "image/jpeg", "size_bytes": 0, "sha256": sha}), "size_bytes"),
        (
            json!({"kind": "before", "content_type": "image/jpeg", "size_bytes": 10_485_761, "sha256": sha}),
            "size_bytes",
        ),
        (json!({"kind": "before", "content_type": "image/jpeg", "size_bytes": 1, "sha256": "abc"}), "sha256"),
        (json!({"kind": "before", "content_type": "image/jpeg", "size_bytes": 1, "sha256": "z".repeat(64)}), "sha256"),
        (json!({"kind": "before", "content_type": "text/html", "size_bytes": 1, "sha256": sha}), "content_type"),
        (json!({"kind": "selfie", "content_type": "image/jpeg", "size_bytes": 1, "sha256": sha}), "kind"),
        (
            json!({"kind": "before", "content_type": "image/jpeg", "size_bytes": 1, "sha256": sha, "checklist_key": "Bad Key"}),
            "checklist_key",
        ),
        (
            json!({"kind": "before", "content_type": "image/jpeg", "size_bytes": 1, "sha256": sha, "checklist_key": "fascia"}),
            "checklist_key",
        ),
    ] {
        let r = f.create(&f.tech, body.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {:?}", r.body);
        assert_eq!(r.body["errors"][0]["field"], field, "{body}: {:?}", r.body);
    }
    let exactly_the_limit = json!({"kind": "document", "content_type": "application/pdf", "size_bytes": 10_485_760, "sha256": sha.to_uppercase()});
    let r = f.create(&f.tech, exactly_the_limit).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["sha256"], sha, "kept in lower case");
    assert_eq!(f.count().await, 1);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn checklist_keys_name_a_photo_or_signature_item_of_the_tickets_checklist(pool: PgPool) {
    let f = setup(pool).await;
    let items = json!([
        {"key": "fascia", "label": "Fascia photo", "type": "photo", "required": true, "min_count": 2},
        {"key": "customer", "label": "Customer signature", "type": "signature", "required": true},
        {"key": "door", "label": "Door locked", "type": "check", "required": true}
    ]);
    let checklist: i64 = sqlx::query_scalar("INSERT INTO checklists (name) VALUES ('Visit') RETURNING id")
        .fetch_one(&f.pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO checklist_versions (checklist_id, version, name, items) VALUES ($1, 1, 'Visit', $2)")
        .bind(checklist)
        .bind(&items)
        .execute(&f.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE tickets SET checklist_id = $2, checklist_version = 1 WHERE id = $1")
        .bind(f.ticket)
        .bind(checklist)
        .execute(&f.pool)
        .await
        .unwrap();
    let with = |kind: &str, key: &str| {
        let mut body = declaration(&jpeg(10, 0));
        body["kind"] = json!(kind);
        body["checklist_key"] = json!(key);
        body
    };
    for (kind, key, status, field) in [
        ("after", "fascia", StatusCode::CREATED, None),
        ("signature", "customer", StatusCode::CREATED, None),
        ("before", "customer", StatusCode::UNPROCESSABLE_ENTITY, Some("kind")),
        ("signature", "fascia", StatusCode::UNPROCESSABLE_ENTITY, Some("kind")),
        ("before", "door", StatusCode::UNPROCESSABLE_ENTITY, Some("checklist_key")),
        ("before", "nothing", StatusCode::UNPROCESSABLE_ENTITY, Some("checklist_key")),
    ] {
        let r = f.create(&f.tech, with(kind, key)).await;
        assert_eq!(r.status, status, "{kind} {key}: {:?}", r.body);
        if let Some(field) = field {
            assert_eq!(r.body["errors"][0]["field"], field, "{kind} {key}");
        } else {
            assert_eq!(r.body["checklist_key"], key);
        }
    }
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn technicians_attach_to_their_own_tickets_viewers_read_anonymous_nobody(pool: PgPool) {
    let f = setup(pool).await;
    let photo = jpeg(50, 3);
    let stranger = testing::user(&f.state, "other-tech@test.example", &[Role::Technician]).await;
    let created = f.create(&f.tech, declaration(&photo)).await.body;
    upload(&created, &photo).await;

    // Another technician: the ticket is invisible to them, as in the tickets API.
    assert_eq!(f.create(&stranger, declaration(&photo)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(f.confirm(&stranger, &created).await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&f.files, &f.attachments(f.ticket), &stranger).await.status, StatusCode::NOT_FOUND);
    // A viewer reads, never writes.
    assert_eq!(f.create(&f.viewer, declaration(&photo)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(f.confirm(&f.viewer, &created).await.status, StatusCode::FORBIDDEN);
    assert_eq!(get(&f.files, &f.attachments(f.ticket), &f.viewer).await.status, StatusCode::OK);
    // Nobody anonymous.
    for (method, uri) in [
        (Method::POST, f.attachments(f.ticket)),
        (Method::GET, f.attachments(f.ticket)),
        (Method::POST, f.confirm_url(&created)),
    ] {
        let body = (method == Method::POST).then(|| declaration(&photo));
        let r = testing::send(&f.files, testing::request(method.clone(), &uri, None, body)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{method} {uri}");
    }
    assert_eq!(f.status_of(&created["id"]).await, "pending", "nothing above stored it");
    assert_eq!(f.count().await, 1);
    // Supervisors and admins on any ticket.
    let confirmed = f.confirm(&f.admin, &created).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{:?}", confirmed.body);
    let unassigned = testing::open_ticket(&f.state, f.asset, &f.spv).await["id"].as_i64().unwrap();
    let r = post(&f.files, &f.attachments(unassigned), &f.spv, declaration(&photo)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(
        post(&f.files, &f.attachments(unassigned), &f.tech, declaration(&photo)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post(&f.files, &f.attachments(99_999), &f.admin, declaration(&photo)).await.status,
        StatusCode::NOT_FOUND
    );
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_retried_declaration_creates_nothing_and_answers_the_attachment_as_it_is(pool: PgPool) {
    let f = setup(pool).await;
    let photo = jpeg(64, 5);
    let first = f.create_with_key(&f.tech, "photo-1", declaration(&photo)).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let again = f.create_with_key(&f.tech, "photo-1", declaration(&photo)).await;
    assert_eq!(again.status, StatusCode::CREATED, "{:?}", again.body);
    assert_eq!(again.headers.get("idempotency-replayed").map(|v| v.to_str().unwrap()), Some("true"));
    assert_eq!((&again.body["id"], &again.body["object_key"]), (&first.body["id"], &first.body["object_key"]));
    assert!(again.body["upload"]["url"].as_str().unwrap().contains("X-Amz-Signature="), "a URL signed afresh");
    assert_eq!(f.count().await, 1);
    assert_eq!(f.audit_rows(&first.body["id"]).await, ["create"]);
    // The replay's URL works like the first one.
    upload(&again.body, &photo).await;
    assert_eq!(f.confirm(&f.tech, &first.body).await.status, StatusCode::OK);
    // Once stored, a retry answers it stored, with a download link and nothing to upload.
    let stored = f.create_with_key(&f.tech, "photo-1", declaration(&photo)).await;
    assert_eq!((stored.status, &stored.body["status"]), (StatusCode::CREATED, &json!("stored")));
    assert!(stored.body.get("upload").is_none());
    assert_eq!(nexus_testkit::fetch::get(stored.body["download"]["url"].as_str().unwrap()).await.body, photo);
    // The same key for another file is refused; keys are the caller's own.
    let other = f.create_with_key(&f.tech, "photo-1", declaration(&jpeg(65, 5))).await;
    assert_eq!(
        (other.status, &other.body["errors"][0]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("Idempotency-Key"))
    );
    let by_spv = f.create_with_key(&f.spv, "photo-1", declaration(&photo)).await;
    assert_eq!(by_spv.status, StatusCode::CREATED);
    assert!(by_spv.headers.get("idempotency-replayed").is_none());
    assert_eq!(f.count().await, 2);
    // A declaration never confirmed is removed after a day (housekeeping), while its key is
    // kept 4 days: its retry says so rather than hand out a URL for nothing.
    let abandoned = f.create_with_key(&f.tech, "photo-2", declaration(&jpeg(66, 5))).await.body;
    sqlx::query("DELETE FROM attachments WHERE id = $1").bind(abandoned["id"].as_i64()).execute(&f.pool).await.unwrap();
    let gone = f.create_with_key(&f.tech, "photo-2", declaration(&jpeg(66, 5))).await;
    assert_eq!(gone.status, StatusCode::CONFLICT, "{:?}", gone.body);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn closed_and_cancelled_tickets_take_no_new_attachments(pool: PgPool) {
    let f = setup(pool).await;
    let photo = jpeg(20, 4);
    let closed = testing::closed_ticket(&f.state, f.asset, &f.spv, &f.tech).await["id"].as_i64().unwrap();
    let r = post(&f.files, &f.attachments(closed), &f.spv, declaration(&photo)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(get(&f.files, &f.attachments(closed), &f.tech).await.status, StatusCode::OK, "still readable");

    // Declared while open, the ticket cancelled before the upload was confirmed.
    let created = f.create(&f.tech, declaration(&photo)).await.body;
    upload(&created, &photo).await;
    f.cancel(f.ticket).await;
    assert_eq!(f.create(&f.tech, declaration(&photo)).await.status, StatusCode::CONFLICT);
    assert_eq!(f.confirm(&f.tech, &created).await.status, StatusCode::CONFLICT);
    assert_eq!(f.status_of(&created["id"]).await, "pending");
    assert_eq!(f.count().await, 1);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_ticket_holds_at_most_a_hundred_attachments(pool: PgPool) {
    let f = setup(pool).await;
    sqlx::query(
        "INSERT INTO attachments (ticket_id, kind, content_type, size_bytes, sha256, object_key)
         SELECT $1, 'after', 'image/png', 1, repeat('b', 64), 'uploads/pending/x/' || n FROM generate_series(1, 99) n",
    )
    .bind(f.ticket)
    .execute(&f.pool)
    .await
    .unwrap();
    let photo = jpeg(1, 0);
    assert_eq!(f.create(&f.tech, declaration(&photo)).await.status, StatusCode::CREATED);
    assert_eq!(f.create(&f.tech, declaration(&photo)).await.status, StatusCode::CONFLICT);
    assert_eq!(f.count().await, 100);
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn answers_an_api_gateway_v2_event(pool: PgPool) {
    let f = setup(pool).await;
    let event = testing::apigw_v2_event(
        "POST",
        &f.attachments(f.ticket),
        "",
        Some(&f.tech.token),
        Some(declaration(&jpeg(5, 0))),
    );
    let r = testing::send_event(&f.files, event).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert!(r.body["upload"]["url"].is_string());
}

/// The built binary, as Lambda runs it (its S3 client configured from the environment alone, as
/// deployed), takes a photo from declaration to download through the Runtime API.
#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn the_built_function_takes_a_photo_through_the_lambda_runtime_api(pool: PgPool) {
    let f = setup(pool.clone()).await;
    let bucket = ("NEXUS_JOBCARD_BUCKET", f.store.bucket().to_string());
    let mut lambda = nexus_testkit::start_lambda(env!("CARGO_BIN_EXE_files"), &pool, &[bucket]).await;
    let photo = jpeg(2048, 6);
    let event = |method: &str, path: &str, body: Option<Value>| {
        testing::apigw_v2_event_json(method, path, "", Some(&f.tech.token), body)
    };
    let created =
        nexus_testkit::invoke_http(&mut lambda, event("POST", &f.attachments(f.ticket), Some(declaration(&photo))))
            .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    upload(&created.body, &photo).await;
    let confirmed = nexus_testkit::invoke_http(&mut lambda, event("POST", &f.confirm_url(&created.body), None)).await;
    assert_eq!(
        (confirmed.status, &confirmed.body["status"]),
        (StatusCode::OK, &json!("stored")),
        "{:?}",
        confirmed.body
    );
    let listed = nexus_testkit::invoke_http(&mut lambda, event("GET", &f.attachments(f.ticket), None)).await;
    let link = listed.body["items"][0]["download"]["url"].as_str().unwrap();
    assert_eq!(nexus_testkit::fetch::get(link).await.body, photo);
}

/// The built binary, started as Lambda starts it, answers its event from the test kit's table
/// through the Runtime API.
#[sqlx::test(migrations = false)]
async fn the_built_function_answers_through_the_lambda_runtime_api(pool: sqlx::PgPool) {
    nexus_testkit::built::the_built_function_answers(env!("CARGO_BIN_EXE_files"), pool).await;
}
