//! Forged, stale and revoked access tokens, each presented to `GET /api/auth/me`: every one is
//! 401 problem+json. The tokens are built by hand here (header and claims as an attacker would
//! write them), signed with the test key unless the attack is about the key or the algorithm.

use axum::http::{Method, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use nexus_shared::auth::Role;
use nexus_testkit::{self as testing, TestUser, request, send};
use serde_json::{Value, json};
use sha2::{Sha256, Sha512};
use sqlx::PgPool;

const KEY: &[u8] = b"test-signing-key-of-at-least-32-bytes";

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// `header.claims.signature` with HMAC-SHA256 (or SHA512 for `HS512`) over the first two parts.
fn sign(header: Value, claims: &Value, key: &[u8]) -> String {
    let body = format!("{}.{}", b64(&header), b64(claims));
    let signature = match header["alg"].as_str() {
        Some("HS512") => {
            let mut mac = Hmac::<Sha512>::new_from_slice(key).unwrap();
            mac.update(body.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        _ => {
            let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
            mac.update(body.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
    };
    format!("{body}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// The claims the server would issue for `user` now (session from their real token).
fn claims_of(user: &TestUser) -> Value {
    let payload = user.token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

async fn me(app: &axum::Router, token: &str) -> StatusCode {
    let r = send(app, request(Method::GET, "/api/auth/me", Some(token), None)).await;
    if r.status == StatusCode::UNAUTHORIZED {
        assert_eq!(r.content_type(), "application/problem+json");
    }
    r.status
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn forged_and_stale_tokens_are_401(pool: PgPool) {
    let state = testing::state(pool);
    let app = nexus_auth::router(nexus_auth::AuthState::new(state.clone(), testing::passwords()));
    let user = testing::user(&state, "tech@test.example", &[Role::Technician]).await;
    let hs256 = json!({"alg": "HS256", "typ": "JWT"});
    let good = claims_of(&user);
    // The hand-built token with the real key and the real claims works: the attacks below fail
    // for their one difference, not for how they are built.
    assert_eq!(me(&app, &sign(hs256.clone(), &good, KEY)).await, StatusCode::OK);

    let with = |field: &str, value: Value| {
        let mut c = good.clone();
        c[field] = value;
        c
    };
    let unsigned = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&good));
    let tampered = {
        let token = sign(hs256.clone(), &good, KEY);
        let parts: Vec<&str> = token.split('.').collect();
        // A day more of life: everything else would pass, only the signature can catch it.
        format!("{}.{}.{}", parts[0], b64(&with("exp", json!(now() + 86_400))), parts[2])
    };
    let attacks = [
        ("alg none, no signature", unsigned),
        ("HS512 instead of HS256", sign(json!({"alg": "HS512", "typ": "JWT"}), &good, KEY)),
        ("RS256 header over an HMAC", sign(json!({"alg": "RS256", "typ": "JWT"}), &good, KEY)),
        ("another key", sign(hs256.clone(), &good, b"another-signing-key-of-32-bytes-or-more")),
        ("expired", sign(hs256.clone(), &with("exp", json!(now() - 120)), KEY)),
        ("not yet valid", sign(hs256.clone(), &with("nbf", json!(now() + 600)), KEY)),
        ("another issuer", sign(hs256.clone(), &with("iss", json!("evil")), KEY)),
        ("another audience", sign(hs256.clone(), &with("aud", json!("other-api")), KEY)),
        ("payload swapped after signing", tampered),
        ("another session of the same user", sign(hs256.clone(), &with("sid", json!(999_999)), KEY)),
    ];
    for (attack, token) in attacks {
        assert_eq!(me(&app, &token).await, StatusCode::UNAUTHORIZED, "{attack}");
    }
}

#[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
async fn a_deactivated_users_live_token_is_401_at_once(pool: PgPool) {
    let state = testing::state(pool.clone());
    let app = nexus_auth::router(nexus_auth::AuthState::new(state.clone(), testing::passwords()));
    let user = testing::user(&state, "leaver@test.example", &[Role::Supervisor]).await;
    assert_eq!(me(&app, &user.token).await, StatusCode::OK);
    sqlx::query("UPDATE users SET active = false WHERE id = $1").bind(user.id).execute(&pool).await.unwrap();
    assert_eq!(me(&app, &user.token).await, StatusCode::UNAUTHORIZED);
}
