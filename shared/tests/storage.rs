//! The S3 store against the S3-compatible server `scripts/test` starts (moto): `AWS_ENDPOINT_URL`
//! must be set.

use std::time::Duration;

use nexus_shared::storage::{ExpectedUpload, ObjectStore, S3Store};

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

/// A minimal HTTP/1.1 PUT (the test kit has only GET): `headers` as given, then the body.
/// Answers the status and the response body.
async fn put(url: &str, headers: &[(String, String)], body: &[u8]) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut request = format!("PUT {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let mut stream = tokio::net::TcpStream::connect(authority).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    stream.write_all(body).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("a status line");
    (status, text)
}

fn upload<'a>(key: &'a str, body: &[u8]) -> ExpectedUpload<'a> {
    use sha2::Digest;
    ExpectedUpload {
        key,
        content_type: "image/png",
        size_bytes: body.len() as u64,
        sha256: sha2::Sha256::digest(body).into(),
    }
}

#[tokio::test]
async fn a_presigned_upload_signs_length_type_and_checksum_and_takes_the_declared_bytes() {
    let store = store().await;
    let body = b"\x89PNG\r\n\x1a\n a picture".to_vec();
    let expected = upload("uploads/pending/1/abc", &body);
    let presigned = store.presigned_put(&expected, Duration::from_secs(900)).await.unwrap();
    assert_eq!(presigned.method, "PUT");
    let signed = presigned.url.split("X-Amz-SignedHeaders=").nth(1).unwrap().split('&').next().unwrap();
    let signed = signed.replace("%3B", ";");
    for name in ["content-length", "content-type", "x-amz-checksum-sha256", "host"] {
        assert!(signed.split(';').any(|h| h == name), "{name} not signed: {signed}");
    }
    assert!(!presigned.url.to_ascii_lowercase().contains("x-amz-checksum-sha256="), "not in the query string");
    let header = |name: &str| presigned.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    assert_eq!(header("x-amz-checksum-sha256"), Some(expected.checksum_header()));
    assert_eq!(header("content-length"), Some(body.len().to_string()));
    assert_eq!(header("content-type").as_deref(), Some("image/png"));
    let (status, answer) = put(&presigned.url, &presigned.headers, &body).await;
    assert_eq!(status, 200, "{answer}");
    let digest = store.digest("uploads/pending/1/abc", 1024).await.unwrap().expect("uploaded");
    assert_eq!((digest.size_bytes, digest.sha256, digest.too_large), (body.len() as u64, expected.sha256, false));
    assert_eq!(digest.head, body[..16].to_vec());
}

#[tokio::test]
async fn an_object_is_read_back_copied_only_unchanged_and_deleted() {
    let store = store().await;
    assert_eq!(store.digest("nothing/here", 10).await.unwrap(), None);
    store.put("uploads/pending/2/x", b"0123456789".to_vec(), "application/octet-stream").await.unwrap();
    let too_large = store.digest("uploads/pending/2/x", 9).await.unwrap().unwrap();
    assert!(too_large.too_large && too_large.size_bytes == 10, "{too_large:?}");
    let read = store.digest("uploads/pending/2/x", 10).await.unwrap().unwrap();
    assert!(!read.too_large);
    // Replaced after it was read: the copy refuses.
    store.put("uploads/pending/2/x", b"something else".to_vec(), "application/octet-stream").await.unwrap();
    assert!(!store.copy(&read, "attachments/2/1.png", "image/png").await.unwrap());
    assert!(!store.exists("attachments/2/1.png").await.unwrap());
    let read = store.digest("uploads/pending/2/x", 100).await.unwrap().unwrap();
    assert!(store.copy(&read, "attachments/2/1.png", "image/png").await.unwrap());
    let url = store.presigned_get_as("attachments/2/1.png", Duration::from_secs(60), "image/png").await.unwrap();
    let fetched = nexus_testkit::fetch::get(&url).await;
    assert_eq!((fetched.status, fetched.body.as_slice()), (200, b"something else".as_slice()));
    assert_eq!(fetched.header("content-type"), Some("image/png"));
    assert_eq!(fetched.header("x-amz-server-side-encryption"), Some("AES256"));
    store.delete("uploads/pending/2/x", read.version.version_id.as_deref()).await.unwrap();
    assert!(!store.exists("uploads/pending/2/x").await.unwrap());
    store.delete("uploads/pending/2/x", None).await.unwrap();
}
