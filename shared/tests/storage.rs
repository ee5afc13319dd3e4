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

/// An independent AWS Signature Version 4 check of a presigned URL (the query-string form), by
/// hand from the specification with `sha2` alone: moto does not verify presigned signatures, so
/// this is what shows that the URLs we hand out are signed, over exactly their method, path,
/// query and signed headers, with the deployment's credentials.
mod sigv4 {
    use sha2::{Digest, Sha256};

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// HMAC-SHA256 (RFC 2104).
    fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
        let mut block = [0u8; 64];
        if key.len() > 64 {
            block[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
        let inner = Sha256::digest([pad(0x36), message.to_vec()].concat());
        Sha256::digest([pad(0x5c), inner.to_vec()].concat()).to_vec()
    }

    /// The URL's query parameters, still percent-encoded as SigV4 canonicalises them.
    pub fn params(url: &str) -> Vec<(String, String)> {
        let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
        query.split('&').filter_map(|p| p.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    pub fn param(url: &str, name: &str) -> Option<String> {
        params(url).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// Whether `url`, sent with `method` and `headers` (lower-case names; `host` is taken from the
    /// URL), carries a valid signature by `secret`.
    pub fn verifies(method: &str, url: &str, headers: &[(String, String)], secret: &str) -> bool {
        let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
        let (authority, path_and_query) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let path = path_and_query.split('?').next().unwrap_or("/");
        let mut query: Vec<(String, String)> =
            params(url).into_iter().filter(|(k, _)| k != "X-Amz-Signature").collect();
        query.sort();
        let canonical_query = query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
        let Some(signed) = param(url, "X-Amz-SignedHeaders").map(|s| s.replace("%3B", ";")) else { return false };
        let mut canonical_headers = String::new();
        for name in signed.split(';') {
            let value = if name == "host" {
                Some(authority.to_string())
            } else {
                headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.trim().to_string())
            };
            let Some(value) = value else { return false };
            canonical_headers.push_str(&format!("{name}:{value}\n"));
        }
        let canonical_request =
            format!("{method}\n{path}\n{canonical_query}\n{canonical_headers}\n{signed}\nUNSIGNED-PAYLOAD");
        let (Some(date), Some(credential)) = (param(url, "X-Amz-Date"), param(url, "X-Amz-Credential")) else {
            return false;
        };
        // `<access key>/<yyyymmdd>/<region>/s3/aws4_request`, percent-encoded slashes.
        let credential = credential.replace("%2F", "/");
        let Some((_, scope)) = credential.split_once('/') else { return false };
        let string_to_sign =
            format!("AWS4-HMAC-SHA256\n{date}\n{scope}\n{}", hex(&Sha256::digest(canonical_request.as_bytes())));
        let parts: Vec<&str> = scope.split('/').collect();
        let mut key = format!("AWS4{secret}").into_bytes();
        for part in &parts {
            key = hmac(&key, part.as_bytes());
        }
        param(url, "X-Amz-Signature").is_some_and(|s| s == hex(&hmac(&key, string_to_sign.as_bytes())))
    }
}

#[tokio::test]
async fn presigned_urls_carry_a_valid_sigv4_signature_over_exactly_what_they_allow() {
    let store = store().await;
    let secret = std::env::var("AWS_SECRET_ACCESS_KEY").expect("scripts/test sets the test credentials");
    let access_key = std::env::var("AWS_ACCESS_KEY_ID").unwrap();
    store.put("jobcards/9/v1.pdf", b"bytes".to_vec(), "application/pdf").await.unwrap();

    let url = store.presigned_get("jobcards/9/v1.pdf", Duration::from_secs(900)).await.unwrap();
    assert!(sigv4::verifies("GET", &url, &[], &secret), "{url}");
    assert_eq!(sigv4::param(&url, "X-Amz-Algorithm").as_deref(), Some("AWS4-HMAC-SHA256"));
    assert_eq!(sigv4::param(&url, "X-Amz-Expires").as_deref(), Some("900"));
    assert_eq!(sigv4::param(&url, "X-Amz-SignedHeaders").as_deref(), Some("host"));
    let credential = sigv4::param(&url, "X-Amz-Credential").unwrap().replace("%2F", "/");
    assert!(credential.starts_with(&format!("{access_key}/")) && credential.ends_with("/s3/aws4_request"));
    // The verifier is not a rubber stamp: any change to what was signed fails it.
    for (what, tampered) in [
        ("another key", url.replace("jobcards/9/", "jobcards/8/")),
        ("a longer life", url.replace("X-Amz-Expires=900", "X-Amz-Expires=90000")),
        ("another host", url.replacen("127.0.0.1", "localhost", 1)),
    ] {
        assert!(!sigv4::verifies("GET", &tampered, &[], &secret), "{what} still verifies");
    }
    assert!(!sigv4::verifies("PUT", &url, &[], &secret), "a GET link is no PUT");
    assert!(!sigv4::verifies("GET", &url, &[], "another-secret"), "signed by these credentials only");

    // An upload link signs its length, type and checksum: other bytes do not verify.
    let body = b"\x89PNG\r\n\x1a\n a picture".to_vec();
    let expected = upload("uploads/pending/9/abc", &body);
    let presigned = store.presigned_put(&expected, Duration::from_secs(900)).await.unwrap();
    assert!(sigv4::verifies("PUT", &presigned.url, &presigned.headers, &secret), "{presigned:?}");
    let mut longer = presigned.headers.clone();
    for (name, value) in &mut longer {
        if name == "content-length" {
            *value = (body.len() + 1).to_string();
        }
    }
    assert!(!sigv4::verifies("PUT", &presigned.url, &longer, &secret), "another length");
}
