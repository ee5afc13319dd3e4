//! Against a database that, like RDS Proxy, requires TLS and SCRAM: the cluster `scripts/test`
//! starts (`ensure_tls_postgres` in scripts/lib/postgres.sh), whose certificate is signed by a
//! CA of its own. A function configured as deployed (`NEXUS_DB_SSLMODE=verify-full`) connects
//! when given that CA (`NEXUS_DB_SSLROOTCERT`), and refuses the server when given another.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use nexus_meta::MetaState;
use nexus_shared::ApiError;
use nexus_shared::config::{DatabaseSettings, Env, FromEnv};
use nexus_testkit::lambda::{LambdaProcess, api_gateway_v2_event};
use nexus_testkit::{request, send};

/// The TLS cluster's URL (role and password, no TLS parameters) and its CA and another CA's
/// certificate files.
struct Cluster {
    url: String,
    ca: String,
    other_ca: String,
}

fn cluster() -> Option<Cluster> {
    let var = |name| std::env::var(name).ok();
    match (var("NEXUS_TLS_DATABASE_URL"), var("NEXUS_TLS_CA"), var("NEXUS_TLS_OTHER_CA")) {
        (Some(url), Some(ca), Some(other_ca)) => Some(Cluster { url, ca, other_ca }),
        _ => {
            // CI runs scripts/test, which always starts it: there, a missing cluster is a failure.
            assert!(std::env::var_os("CI").is_none(), "run through scripts/test, which starts the TLS cluster");
            eprintln!("skipped: no TLS cluster (scripts/test starts one: ensure_tls_postgres)");
            None
        }
    }
}

/// What a deployed function is given, pointed at the TLS cluster.
fn environment(cluster: &Cluster, ssl_mode: &str, ca: Option<&str>) -> Vec<(&'static str, String)> {
    let mut pairs = vec![
        ("DATABASE_URL", cluster.url.clone()),
        ("NEXUS_DB_SSLMODE", ssl_mode.to_string()),
        ("NEXUS_DB_ACQUIRE_TIMEOUT_MS", "2000".into()),
    ];
    if let Some(ca) = ca {
        pairs.push(("NEXUS_DB_SSLROOTCERT", ca.to_string()));
    }
    pairs
}

async fn meta(pairs: &[(&'static str, String)]) -> axum::Router {
    let env = Env::from_pairs(pairs.iter().cloned());
    nexus_meta::router(MetaState::from_env(&env).await.expect("settings"))
}

#[tokio::test]
async fn verify_full_with_the_given_ca_connects_and_any_other_ca_is_refused() {
    let Some(cluster) = cluster() else { return };

    let app = meta(&environment(&cluster, "verify-full", Some(&cluster.ca))).await;
    let r = send(&app, request(Method::GET, "/api/health", None, None)).await;
    assert_eq!((r.status, &r.body["database"]), (StatusCode::OK, &"ok".into()), "{:?}", r.body);

    // The public roots (no CA given) and another CA do not vouch for this server.
    for ca in [None, Some(cluster.other_ca.as_str())] {
        let app = meta(&environment(&cluster, "verify-full", ca)).await;
        let r = send(&app, request(Method::GET, "/api/health", None, None)).await;
        assert_eq!((r.status, &r.body["database"]), (StatusCode::SERVICE_UNAVAILABLE, &"unreachable".into()));
    }

    // What a handler answers on that error: 503 problem+json, as in an outage, naming nothing of
    // the connection; the log says why (the error's text: the certificate's issuer is unknown).
    let error = query_with(&environment(&cluster, "verify-full", Some(&cluster.other_ca))).await.unwrap_err();
    assert!(error.to_string().contains("UnknownIssuer"), "{error}");
    let response = ApiError::from(error).into_response();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = axum::body::to_bytes(response.into_body(), 64 * 1024).await.unwrap();
    let body = String::from_utf8_lossy(&body);
    assert!(body.contains("/problems/unavailable"), "{body}");
    for secret in ["localhost", "nexus-tls-local-only", "ca.crt", "certificate", "Issuer"] {
        assert!(!body.contains(secret), "{secret} in {body}");
    }
}

/// `SELECT 1` through a pool built as a function builds it from `pairs`.
async fn query_with(pairs: &[(&'static str, String)]) -> Result<(), sqlx::Error> {
    let settings = DatabaseSettings::from_env(&Env::from_pairs(pairs.iter().cloned())).expect("settings");
    let pool = nexus_shared::db::lazy_pool(&settings).expect("pool");
    sqlx::query("SELECT 1").execute(&pool).await.map(|_| ())
}

#[tokio::test]
async fn the_server_refuses_a_connection_without_tls() {
    let Some(cluster) = cluster() else { return };
    let app = meta(&environment(&cluster, "disable", None)).await;
    let r = send(&app, request(Method::GET, "/api/health", None, None)).await;
    assert_eq!((r.status, &r.body["database"]), (StatusCode::SERVICE_UNAVAILABLE, &"unreachable".into()));
    // The refusal is the server's (pg_hba has no entry without encryption), not a failed connect.
    let error = query_with(&environment(&cluster, "disable", None)).await.unwrap_err();
    assert!(error.to_string().contains("no encryption"), "{error}");
}

#[tokio::test]
async fn the_built_function_answers_over_verified_tls() {
    let Some(cluster) = cluster() else { return };
    let env = environment(&cluster, "verify-full", Some(&cluster.ca));
    let mut process = LambdaProcess::start(env!("CARGO_BIN_EXE_meta").as_ref(), "meta", &env).await.expect("spawn");
    let event = api_gateway_v2_event("GET", "/api/health", "", None, None);
    let answer = process.invoke(&event, Duration::from_secs(30)).await.expect("answer");
    let r = nexus_testkit::built::api_gateway_response(&answer);
    assert_eq!((r.status, &r.body["database"]), (StatusCode::OK, &"ok".into()), "{:?}", r.body);
}
