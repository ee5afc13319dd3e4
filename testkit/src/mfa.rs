//! MFA as a client does it: enrol and confirm through the API, and compute the codes an
//! authenticator app would show from the secret it was given.

use axum::http::{Method, StatusCode};
use nexus_shared::auth::totp::{self, TotpSecret};
use serde_json::{Value, json};

use crate::{request, send};

/// An account's confirmed authenticator: its secret as an app holds it, and its recovery codes.
pub struct Enrolled {
    pub secret: TotpSecret,
    pub recovery_codes: Vec<String>,
}

impl Enrolled {
    /// The code of the step after the current one: still inside the accepted window, and after
    /// any step accepted so far in this window (the confirmation's), so a verification takes it.
    pub fn next_code(&self) -> String {
        code(&self.secret, 1)
    }
}

/// The code `offset` steps from now.
pub fn code(secret: &TotpSecret, offset: i64) -> String {
    secret.code(totp::step_at(chrono::Utc::now().timestamp()) + offset, totp::DIGITS)
}

/// The secret from its base32 form (RFC 4648, unpadded), as an authenticator app reads it.
pub fn secret_from_base32(text: &str) -> TotpSecret {
    let (mut buffer, mut bits, mut bytes) = (0u32, 0u32, Vec::new());
    for c in text.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => panic!("not base32: {text}"),
        };
        buffer = (buffer << 5) | u32::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            bytes.push((buffer >> bits) as u8);
        }
    }
    TotpSecret::from_bytes(bytes)
}

/// Enrols the holder of `token` and confirms with the current code: the answer of the enrolment
/// and the [`Enrolled`] authenticator.
pub async fn enrol(app: &axum::Router, token: &str) -> (Value, Enrolled) {
    let enrolment = send(app, request(Method::POST, "/api/auth/mfa/enroll", Some(token), None)).await;
    assert_eq!(enrolment.status, StatusCode::OK, "enroll: {:?}", enrolment.body);
    let secret = secret_from_base32(enrolment.body["secret"].as_str().expect("a secret"));
    let confirm = json!({"code": code(&secret, 0)});
    let confirmed = send(app, request(Method::POST, "/api/auth/mfa/confirm", Some(token), Some(confirm))).await;
    assert_eq!(confirmed.status, StatusCode::OK, "confirm: {:?}", confirmed.body);
    let recovery_codes = confirmed.body["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().unwrap().into())
        .collect();
    (enrolment.body, Enrolled { secret, recovery_codes })
}
