//! The S3 store against the S3-compatible server `scripts/test` starts (moto): `AWS_ENDPOINT_URL`
//! must be set.

use std::time::Duration;

use nexus_shared::storage::{ObjectStore, S3Store};

async fn store() -> S3Store {
    nexus_testkit::fetch::s3_test_store().await
}

#[tokio::test]
async fn a_stored_object_comes_back_through_its_presigned_url_encrypted() {
    let store = store().await;
    let body = b"%PDF-1.7 jobcard bytes".to_vec();
    store.put("jobcards/1/v1.pdf", body.clone(), "application/pdf").await.unwrap();
    let url = store.presigned_get("jobcards/1/v1.pdf", Duration::from_secs(900)).await.unwrap();
    assert!(url.contains("X-Amz-Signature=") && url.contains("X-Amz-Expires=900"), "{url}");
    let fetched = nexus_testkit::fetch::get(&url).await;
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body, body);
    assert_eq!(fetched.header("content-type"), Some("application/pdf"));
    assert_eq!(fetched.header("x-amz-server-side-encryption"), Some("AES256"));
    assert!(store.exists("jobcards/1/v1.pdf").await.unwrap());
    assert!(!store.exists("jobcards/1/v2.pdf").await.unwrap());
}

#[tokio::test]
async fn an_unsigned_or_tampered_url_is_refused() {
    let store = store().await;
    store.put("jobcards/2/v1.pdf", b"secret".to_vec(), "application/pdf").await.unwrap();
    let url = store.presigned_get("jobcards/2/v1.pdf", Duration::from_secs(900)).await.unwrap();
    let tampered = url.replace("jobcards/2/", "jobcards/3/");
    assert_ne!(nexus_testkit::fetch::get(&tampered).await.status, 200);
}
