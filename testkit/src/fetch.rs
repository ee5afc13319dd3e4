//! A minimal HTTP/1.1 client for tests: downloads what a presigned URL serves and uploads to a
//! presigned PUT, exactly as a browser or device would, without pulling an HTTP client crate
//! into the build.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub struct Fetched {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Fetched {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// GETs an `http://host:port/path?query` URL (no TLS: loopback test servers only).
pub async fn get(url: &str) -> Fetched {
    send("GET", url, &[], &[]).await
}

/// PUTs `body` with exactly the `headers` given (a presigned upload lists the ones it signed,
/// `Content-Length` among them) to an `http://` URL.
pub async fn put(url: &str, headers: &[(String, String)], body: &[u8]) -> Fetched {
    send("PUT", url, headers, body).await
}

async fn send(method: &str, url: &str, headers: &[(String, String)], body: &[u8]) -> Fetched {
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut stream = tokio::net::TcpStream::connect(authority).await.expect("connect");
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    stream.write_all(body).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a header block");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.lines();
    let status =
        lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|s| s.parse().ok()).expect("a status line");
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(n, v)| (n.trim().to_string(), v.trim().to_string())).collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers.iter().any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Fetched { status, headers, body }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..line_end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[line_end + 2..line_end + 2 + size]);
        data = &data[line_end + 2 + size + 2..];
    }
    out
}

/// A fresh bucket on the S3-compatible server `scripts/test` starts (moto), and a store over it.
pub async fn s3_test_store() -> nexus_shared::storage::S3Store {
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok(),
        "run through scripts/test, which starts moto and sets AWS_ENDPOINT_URL"
    );
    let sdk = nexus_shared::aws::sdk_config().await;
    let bucket = format!("nexus-test-{}", uuid::Uuid::new_v4());
    let store = nexus_shared::storage::S3Store::new(&sdk, bucket.clone(), true);
    let region = sdk.region().map(|r| r.to_string()).unwrap_or_else(|| "us-east-1".into());
    let location = aws_sdk_s3::types::CreateBucketConfiguration::builder()
        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region.as_str()))
        .build();
    store
        .client()
        .create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(location)
        .send()
        .await
        .expect("create bucket");
    store
}

/// A fresh secret holding `value` on the Secrets Manager `scripts/test` starts (moto); its name.
pub async fn secret(value: &str) -> String {
    assert!(std::env::var("AWS_ENDPOINT_URL").is_ok(), "run through scripts/test, which starts moto");
    let client = secrets_client().await;
    let name = format!("nexus-test/{}", uuid::Uuid::new_v4());
    client.create_secret().name(&name).secret_string(value).send().await.expect("create a secret");
    name
}

/// A client of the Secrets Manager `scripts/test` starts (moto).
pub async fn secrets_client() -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&nexus_shared::aws::sdk_config().await)
}
