//! Standard Webhooks signatures: `webhook-signature: v1,<base64 HMAC-SHA256 of
//! "{webhook-id}.{webhook-timestamp}.{body}">`, keyed with the bytes after `whsec_`; during a
//! rotation one signature per live secret, space-separated (receivers accept any one).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;

use super::secret::SigningSecret;

/// One `v1,…` signature of `body` sent as message `id` at `timestamp` (unix seconds).
pub fn sign(secret: &SigningSecret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, &secret.key_bytes());
    let mut context = hmac::Context::with_key(&key);
    context.update(format!("{id}.{timestamp}.").as_bytes());
    context.update(body);
    format!("v1,{}", STANDARD.encode(context.sign().as_ref()))
}

/// The `webhook-signature` header: a signature per secret, space-separated.
pub fn header(secrets: &[&SigningSecret], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets.iter().map(|secret| sign(secret, id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks specification's example (and its reference libraries' test vector).
    #[test]
    fn the_specifications_example_signs_as_published() {
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn two_secrets_give_two_space_separated_signatures_and_each_part_matters() {
        let (a, b) = (SigningSecret::generate().unwrap(), SigningSecret::generate().unwrap());
        let both = header(&[&a, &b], "msg_1", 100, b"{}");
        assert_eq!(both, format!("{} {}", sign(&a, "msg_1", 100, b"{}"), sign(&b, "msg_1", 100, b"{}")));
        let one = sign(&a, "msg_1", 100, b"{}");
        assert_ne!(one, sign(&a, "msg_2", 100, b"{}"));
        assert_ne!(one, sign(&a, "msg_1", 101, b"{}"));
        assert_ne!(one, sign(&a, "msg_1", 100, b"{ }"));
    }
}
