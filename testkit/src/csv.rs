//! CSV exports as a client receives them: a GET with `Accept: text/csv`, and the rows as an
//! independent implementation (Python's `csv`, strict RFC 4180 quoting) reads them.

use axum::Router;
use axum::http::{HeaderValue, Method, StatusCode, header};

use crate::exchange::{TestResponse, request, send};
use crate::state::TestUser;

/// A GET with `Accept: text/csv`.
pub async fn get_csv(app: &Router, uri: &str, user: &TestUser) -> TestResponse {
    let mut req = request(Method::GET, uri, Some(&user.token), None);
    req.headers_mut().insert(header::ACCEPT, HeaderValue::from_static("text/csv"));
    send(app, req).await
}

/// The rows of an export named `name` (its file is `<name>-<today>.csv`), header row first, as
/// Python's `csv` reads them, after checking the type, the byte-order mark and the CRLF ends.
pub fn rows_of(r: &TestResponse, name: &str) -> Vec<Vec<String>> {
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.content_type(), "text/csv; charset=utf-8");
    let disposition = r.headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    let today = chrono::Utc::now().format("%Y-%m-%d");
    assert_eq!(disposition, format!("attachment; filename=\"{name}-{today}.csv\""));
    let text = r.body.as_str().expect("a text body");
    assert!(text.starts_with('\u{feff}'), "a byte-order mark first");
    assert!(text.ends_with("\r\n"), "CRLF after the last row");
    let header_end = text.find('\n').unwrap();
    assert_eq!(&text[header_end - 1..header_end], "\r", "CRLF after the header");
    let script = "import csv, io, json, sys\n\
                  data = sys.stdin.buffer.read().decode('utf-8')\n\
                  assert data.startswith('\\ufeff')\n\
                  json.dump(list(csv.reader(io.StringIO(data[1:], newline=''), strict=True)), sys.stdout)";
    let mut python = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    std::io::Write::write_all(&mut python.stdin.take().unwrap(), text.as_bytes()).unwrap();
    let out = python.wait_with_output().unwrap();
    assert!(out.status.success(), "python's csv refused the export");
    serde_json::from_slice(&out.stdout).unwrap()
}
