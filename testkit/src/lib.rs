//! Test support for every Nexus crate, used only as a dev-dependency (and by the bench tooling),
//! so none of it ships in a deployed function: state over a `#[sqlx::test]` pool, users with
//! ready tokens, HTTP exchanges with `oneshot`, real API Gateway v2 events, a loopback Lambda
//! Runtime API to run built binaries, the one table every built function is checked against,
//! and the scenarios many tests start from.

pub mod built;
pub mod csv;
pub mod exchange;
pub mod fetch;
pub mod lambda;
pub mod mfa;
pub mod scenario;
pub mod schema;
pub mod state;
pub mod webhook;

pub use built::{invoke_http, start_lambda};
pub use exchange::{TestResponse, apigw_v2_event, delete, get, post, put, request, send, send_event};
pub use lambda::api_gateway_v2_event as apigw_v2_event_json;
pub use scenario::{Site, closed_ticket, open_ticket, resolved_ticket, site};
pub use state::{Crew, TEST_PASSWORD, TestUser, crew, everyone, jwt, passwords, state, user};
