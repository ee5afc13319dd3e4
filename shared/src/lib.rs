//! Everything the Nexus functions have in common: configuration, the database pool and
//! migrator, the error type (RFC 9457 problem+json), request extractors, authentication,
//! pagination, the audit log and the HTTP layers every router is served behind.
//!
//! `shared` never depends on a function crate.

pub mod asset;
pub mod audit;
pub mod auth;
pub mod aws;
pub mod checklist;
pub mod client_ip;
pub mod compression;
pub mod config;
pub mod cors;
pub mod create_body;
pub mod csv;
pub mod db;
pub mod error;
pub mod etag;
pub mod extract;
pub mod geo;
pub mod http;
pub mod idempotency;
pub mod location;
pub mod metrics;
pub mod offline;
pub mod openapi;
pub mod pagination;
pub mod pm;
pub mod response_size;
pub mod scheduled;
pub mod seal;
pub mod secret;
pub mod secrets_manager;
pub mod sla;
pub mod state;
pub mod storage;
pub mod telemetry;
pub mod text_enum;
pub mod ticket;
pub mod user;
pub mod validate;
pub mod webhook;

pub use error::{ApiError, ApiResult};
pub use state::AppState;
