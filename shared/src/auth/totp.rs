//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP) as every authenticator app
//! computes them by default: HMAC-SHA1, 6 digits, 30-second steps. Pure: the caller gives the
//! time and the last step it accepted.

use std::fmt;

use hmac_sha1::{Hmac, KeyInit, Mac};
use sha1::Sha1;

use crate::error::ApiError;

pub const DIGITS: u32 = 6;
pub const STEP_SECS: i64 = 30;
/// Steps either side of the current one whose code is still accepted: a phone's clock a little
/// off, or a code typed as it turned over.
pub const WINDOW: i64 = 1;
/// RFC 4226 asks for at least 128 bits and recommends 160: the size of an SHA-1 block's key.
pub const SECRET_BYTES: usize = 20;

/// The shared secret of one authenticator. Its `Debug` never shows it.
#[derive(Clone)]
pub struct TotpSecret(Vec<u8>);

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret([REDACTED])")
    }
}

impl TotpSecret {
    /// 20 bytes from the system's CSPRNG.
    pub fn generate() -> Result<Self, ApiError> {
        let mut bytes = vec![0u8; SECRET_BYTES];
        getrandom::fill(&mut bytes).map_err(|_| ApiError::internal("no randomness for a TOTP secret"))?;
        Ok(Self(bytes))
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// As an authenticator app takes it typed in: RFC 4648 base32, without padding.
    pub fn base32(&self) -> String {
        base32(&self.0)
    }

    /// The `otpauth://` URI a QR code carries (Google Authenticator's key URI format), with every
    /// parameter spelt out: apps that ignore them assume exactly these values.
    pub fn uri(&self, issuer: &str, account: &str) -> String {
        format!(
            "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
            issuer = percent_encode(issuer),
            account = percent_encode(account),
            secret = self.base32(),
        )
    }

    /// The code of time step `step`, `digits` long (RFC 4226 §5.3's dynamic truncation).
    pub fn code(&self, step: i64, digits: u32) -> String {
        let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(&step.to_be_bytes());
        let hash = mac.finalize().into_bytes();
        let offset = (hash[hash.len() - 1] & 0x0f) as usize;
        let binary = u32::from_be_bytes([hash[offset] & 0x7f, hash[offset + 1], hash[offset + 2], hash[offset + 3]]);
        format!("{:0width$}", binary % 10u32.pow(digits), width = digits as usize)
    }

    /// The step within [`WINDOW`] of `unix_time` whose code `code` is, provided it comes after
    /// `accepted` (the last step accepted for this secret): a code is good once.
    pub fn verify(&self, code: &str, unix_time: i64, accepted: Option<i64>) -> Option<i64> {
        if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let now = step_at(unix_time);
        (now - WINDOW..=now + WINDOW)
            .filter(|&step| accepted.is_none_or(|last| step > last))
            .find(|&step| constant_time_eq(self.code(step, DIGITS).as_bytes(), code.as_bytes()))
    }
}

/// The time step `unix_time` falls in.
pub fn step_at(unix_time: i64) -> i64 {
    unix_time.div_euclid(STEP_SECS)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// RFC 4648 base32 (A–Z, 2–7), no padding.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Everything but RFC 3986 unreserved characters and `@` as `%XX` (a label's parts).
fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, the SHA-1 rows: its seed is the 20 ASCII bytes "12345678901234567890".
    const RFC_6238_SHA1: [(i64, &str); 6] = [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ];

    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890".to_vec())
    }

    #[test]
    fn the_rfc_6238_sha1_vectors_in_8_and_6_digits() {
        for (time, expected) in RFC_6238_SHA1 {
            assert_eq!(rfc_secret().code(step_at(time), 8), expected, "T = {time}");
            assert_eq!(rfc_secret().code(step_at(time), DIGITS), expected[2..], "T = {time}, 6 digits");
        }
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_and_only_after_the_last_accepted_step() {
        let secret = rfc_secret();
        let now = 1111111111; // step 37037037
        let step = step_at(now);
        assert_eq!(secret.verify("050471", now, None), Some(step));
        let previous = secret.code(step - 1, DIGITS);
        let next = secret.code(step + 1, DIGITS);
        assert_eq!(secret.verify(&previous, now, None), Some(step - 1));
        assert_eq!(secret.verify(&next, now, None), Some(step + 1));
        assert_eq!(secret.verify(&secret.code(step - 2, DIGITS), now, None), None, "too old");
        assert_eq!(secret.verify(&secret.code(step + 2, DIGITS), now, None), None, "too far ahead");
        // Replays: the step accepted, and any before it, are refused.
        assert_eq!(secret.verify("050471", now, Some(step)), None);
        assert_eq!(secret.verify(&previous, now, Some(step)), None);
        assert_eq!(secret.verify(&next, now, Some(step)), Some(step + 1));
        for bad in ["", "05047", "0504710", "05047a", " 50471", "０５０４７１"] {
            assert_eq!(secret.verify(bad, now, None), None, "{bad:?}");
        }
    }

    #[test]
    fn base32_and_the_key_uri_are_what_authenticator_apps_read() {
        // RFC 4648 §10's test vectors, unpadded.
        for (plain, encoded) in
            [("", ""), ("f", "MY"), ("fo", "MZXQ"), ("foo", "MZXW6"), ("foob", "MZXW6YQ"), ("fooba", "MZXW6YTB")]
        {
            assert_eq!(base32(plain.as_bytes()), encoded);
        }
        assert_eq!(rfc_secret().base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            rfc_secret().uri("Nexus", "ayu+ops@example.com"),
            "otpauth://totp/Nexus:ayu%2Bops@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Nexus&algorithm=SHA1&digits=6&period=30"
        );
        let fresh = TotpSecret::generate().unwrap();
        assert_eq!((fresh.bytes().len(), fresh.base32().len()), (20, 32));
        assert_ne!(fresh.bytes(), TotpSecret::generate().unwrap().bytes());
        assert!(!format!("{fresh:?}").contains(&fresh.base32()));
    }
}
