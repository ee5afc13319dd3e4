//! gzip for the bodies that shrink (JSON, GeoJSON, problem+json, CSV) when the client accepts
//! it, and the rules that keep the two encodings of an answer apart:
//!
//! - **What**: a body of at least [`MIN_SIZE`] in one of [`COMPRESSED_TYPES`]. Below 1 KiB the
//!   saving is a few hundred bytes, less than one TCP segment, for the cost of a gzip stream
//!   (CloudFront draws its line at 1,000 bytes for the same reason). PDFs, zips and images are
//!   compressed already and are left alone. gzip only: every client speaks it, and brotli would
//!   cost compile time and zip size for a few percent.
//! - **Never 406**: tower-http answers 406 (overwriting the handler's status, even a 201 after a
//!   committed write) when `Accept-Encoding` rules out identity. An answer without a coding is
//!   always acceptable here, so the header is reduced to `gzip` or removed before the layer.
//! - **ETags**: a strong ETag names one representation, so a gzip answer's ETag gets `-gzip`
//!   inside its quotes (`"7"` becomes `"7-gzip"`, as Apache's mod_deflate does). A client may
//!   send back either form in `If-Match` or `If-None-Match`: the suffix is removed before any
//!   handler compares, and a 304 repeats the form the client sent. `Vary: Accept-Encoding` is
//!   added by the layer to every answer it could compress.
//! - **Lambda**: `lambda_http` sends a body with `Content-Encoding` base64-encoded
//!   (`isBase64Encoded: true`), a third larger: see [`crate::response_size`].

use axum::extract::Request;
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, Version, header};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::compression::predicate::{Predicate, SizeAbove};
use tower_http::compression::{CompressionLayer, CompressionLevel};

/// Bodies smaller than this are sent as they are.
pub const MIN_SIZE: u64 = 1024;

/// The media types compressed (by prefix, so `text/csv; charset=utf-8` matches `text/csv`).
pub const COMPRESSED_TYPES: [&str; 4] =
    ["application/json", "application/problem+json", "application/geo+json", "text/csv"];

const SUFFIX: &str = "-gzip";

/// The layer: gzip at flate2's default level, for [`COMPRESSED_TYPES`] of [`MIN_SIZE`] or more
/// (a body of unknown length is compressed).
pub fn layer() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new()
        .gzip(true)
        .quality(CompressionLevel::Default)
        .compress_when(SizeAbove::new(MIN_SIZE).and(of_compressed_type))
}

fn of_compressed_type(_: StatusCode, _: Version, headers: &HeaderMap, _: &Extensions) -> bool {
    compressible(headers)
}

fn compressible(headers: &HeaderMap) -> bool {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim();
    COMPRESSED_TYPES.iter().any(|t| media.eq_ignore_ascii_case(t))
}

/// Around [`layer`]: the request's `Accept-Encoding` reduced to what the layer may act on, its
/// entity tags stripped of `-gzip`; the answer's strong ETag marked `-gzip` when its body is.
pub async fn etag_variants(mut request: Request, next: Next) -> Response {
    let headers = request.headers_mut();
    match gzip_accepted(headers) {
        true => headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip")),
        false => headers.remove(header::ACCEPT_ENCODING),
    };
    let mut sent_gzip_tag = false;
    for name in [header::IF_NONE_MATCH, header::IF_MATCH] {
        let Some(value) = headers.get(&name).and_then(|v| v.to_str().ok()) else { continue };
        if value.contains(&format!("{SUFFIX}\"")) {
            sent_gzip_tag |= name == header::IF_NONE_MATCH;
            if let Ok(plain) = HeaderValue::from_str(&value.replace(&format!("{SUFFIX}\""), "\"")) {
                headers.insert(name, plain);
            }
        }
    }
    let mut response = next.run(request).await;
    let gzipped = response.headers().get(header::CONTENT_ENCODING).is_some_and(|v| v == "gzip");
    let repeats_gzip_tag = response.status() == StatusCode::NOT_MODIFIED && sent_gzip_tag;
    if (gzipped || repeats_gzip_tag)
        && let Some(tagged) = response.headers().get(header::ETAG).and_then(|v| gzip_tag(v.to_str().ok()?))
    {
        response.headers_mut().insert(header::ETAG, tagged);
    }
    response
}

/// `"x"` → `"x-gzip"`; a weak tag (equal for equivalent bodies, so shared by both encodings) or
/// one already marked is left as it is.
fn gzip_tag(etag: &str) -> Option<HeaderValue> {
    let inner = etag.strip_prefix('"')?.strip_suffix('"')?;
    if inner.ends_with(SUFFIX) {
        return None;
    }
    HeaderValue::from_str(&format!("\"{inner}{SUFFIX}\"")).ok()
}

/// Whether `Accept-Encoding` allows gzip: named with a quality above zero, or not named and
/// allowed by `*` (RFC 9110 §12.5.3). Anything unreadable counts as not.
fn gzip_accepted(headers: &HeaderMap) -> bool {
    let (mut gzip, mut any) = (None, None);
    let codings = headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok());
    for coding in codings.flat_map(|v| v.split(',')) {
        let mut parts = coding.split(';');
        let name = parts.next().unwrap_or("").trim();
        let q = parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .map_or(Some(1.0), |(_, v)| v.trim().parse::<f32>().ok());
        let accepted = q.is_some_and(|q| q > 0.0);
        if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
            gzip = Some(accepted);
        } else if name == "*" {
            any = Some(accepted);
        }
    }
    gzip.or(any).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts(values: &[&str]) -> bool {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        }
        gzip_accepted(&headers)
    }

    #[test]
    fn gzip_only_when_the_client_allows_it() {
        assert!(accepts(&["gzip"]));
        assert!(accepts(&["gzip, deflate, br, zstd"]), "what browsers send");
        assert!(accepts(&["br;q=1.0, GZIP;q=0.5"]));
        assert!(accepts(&["*"]));
        assert!(accepts(&["identity;q=0, gzip"]));
        assert!(accepts(&["deflate", "gzip"]), "several header lines");
        assert!(!accepts(&[]));
        assert!(!accepts(&[""]));
        assert!(!accepts(&["identity"]));
        assert!(!accepts(&["br, deflate"]));
        assert!(!accepts(&["gzip;q=0"]));
        assert!(!accepts(&["gzip;q=0, *"]), "named beats the wildcard");
        assert!(!accepts(&["*;q=0"]));
        assert!(!accepts(&["gzip;q=zero"]));
    }

    #[test]
    fn only_strong_unmarked_tags_get_the_suffix() {
        assert_eq!(gzip_tag("\"7\"").unwrap(), "\"7-gzip\"");
        assert_eq!(gzip_tag("\"ab12\"").unwrap(), "\"ab12-gzip\"");
        assert_eq!(gzip_tag("\"7-gzip\""), None);
        assert_eq!(gzip_tag("W/\"7\""), None);
        assert_eq!(gzip_tag("7"), None);
    }

    #[test]
    fn compressed_types_are_matched_without_their_parameters() {
        let with = |ct: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
            compressible(&headers)
        };
        for yes in ["application/json", "application/problem+json", "application/geo+json", "text/csv; charset=utf-8"] {
            assert!(with(yes), "{yes}");
        }
        for no in ["application/pdf", "application/zip", "image/png", "text/event-stream", "application/jsonx"] {
            assert!(!with(no), "{no}");
        }
    }
}
