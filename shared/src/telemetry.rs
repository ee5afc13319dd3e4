//! Logging set-up: JSON lines in Lambda (CloudWatch parses them), readable text locally.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::prelude::*;

/// Installs the global subscriber. `RUST_LOG` (`info`, or `warn,nexus_shared=debug`) overrides
/// the default `info`. A `Targets` filter, not `EnvFilter`: no span/field directives, but no
/// regex engine in every Lambda either.
pub fn init() {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|spec| spec.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    let in_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let result = if in_lambda {
        let json = tracing_subscriber::fmt::layer().json().with_current_span(true).without_time();
        tracing_subscriber::registry().with(json.with_filter(filter)).try_init()
    } else {
        tracing_subscriber::registry().with(tracing_subscriber::fmt::layer().with_filter(filter)).try_init()
    };
    // Already installed (a test, or a second call): keep the first.
    let _ = result;
}
