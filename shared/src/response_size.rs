//! What one answer may weigh: a synchronous Lambda response is at most 6 MiB (6,291,456 bytes),
//! counted on the JSON document `lambda_http` hands the runtime — the status, the headers and the
//! body as one JSON string. A text body is escaped there (a quote or a line end takes two bytes);
//! a gzip body ([`crate::compression`]) is base64, a third larger. A body fits when both of its
//! possible forms fit, whichever the client asks for:
//!
//! - plain: its bytes as a JSON string ([`crate::csv::json_weight`]) + [`ENVELOPE`] ≤ 6 MiB;
//! - gzip: base64 of the largest gzip stream of its length (incompressible data grows by
//!   0.03 % + 31 bytes) + [`ENVELOPE`] ≤ 6 MiB, which holds up to [`MAX_BODY_BYTES`].
//!
//! So no body is over 4.7 MB (fewer when it is full of quotes). Handlers whose size depends on
//! the data check it: lists cut the page short ([`crate::pagination::Page`]), CSV exports and
//! the unclustered maps refuse with 422 naming how to narrow.

/// Lambda's limit on a synchronous response, the JSON envelope included.
pub const LAMBDA_LIMIT: usize = 6 * 1024 * 1024;

/// Kept for the envelope and the headers (about 1 KB in practice: the security headers, ETag,
/// Cache-Control, Vary, the request id).
pub const ENVELOPE: usize = 16 * 1024;

/// The longest body whose gzip stream, base64-encoded, still fits (see [`gzip_base64_bound`]).
pub const MAX_BODY_BYTES: usize = 4_700_000;

/// The same, as messages state it.
pub const MAX_BODY_TEXT: &str = "4.7 MB";

/// The most a body of `len` bytes takes in the Lambda response once gzipped and base64-encoded:
/// zlib's `compressBound` for the deflate stream plus gzip's 18 bytes of header and trailer.
pub const fn gzip_base64_bound(len: usize) -> usize {
    let deflate = len + (len >> 12) + (len >> 14) + (len >> 25) + 13;
    (deflate + 18).div_ceil(3) * 4
}

/// Whether `body` fits in one Lambda response however it is sent.
pub fn fits(body: &[u8]) -> bool {
    body.len() <= MAX_BODY_BYTES && weight_fits(body.len(), || crate::csv::json_weight(body))
}

/// Whether a body of `len` bytes weighing `weight()` as a JSON string fits plain; the weight is
/// read only when the length alone cannot settle it (a JSON body is never more than twice its
/// length as a string: its control characters are escaped already).
pub fn weight_fits(len: usize, weight: impl FnOnce() -> usize) -> bool {
    const ROOM: usize = LAMBDA_LIMIT - ENVELOPE;
    2 * len <= ROOM || weight() <= ROOM
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_body_fits_gzipped_and_base64_encoded() {
        assert!(gzip_base64_bound(MAX_BODY_BYTES) + ENVELOPE <= LAMBDA_LIMIT);
        // …and the bound is not much looser than it needs to be.
        assert!(gzip_base64_bound(MAX_BODY_BYTES + 10_000) + ENVELOPE > LAMBDA_LIMIT);
    }

    /// The bound holds for what gzip does with data it cannot shrink.
    #[test]
    fn gzip_never_grows_past_the_bound() {
        use std::io::Write;
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let random: Vec<u8> = (0..300_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&random).unwrap();
        let gz = gz.finish().unwrap();
        assert!(gz.len().div_ceil(3) * 4 <= gzip_base64_bound(random.len()), "{} bytes", gz.len());
    }

    #[test]
    fn a_body_full_of_quotes_is_weighed_as_a_string() {
        assert!(fits(b"{\"a\":1}"));
        let quotes = vec![b'"'; 3_200_000];
        assert!(!fits(&quotes), "6.4 MB as a JSON string");
        assert!(fits(&quotes[..3_000_000]));
        assert!(!fits(&vec![b'a'; MAX_BODY_BYTES + 1]));
    }
}
