//! A Lambda Runtime API on loopback, and a function binary run against it: the deployed
//! `bootstrap` is started exactly as Lambda starts it (`AWS_LAMBDA_RUNTIME_API` and the standard
//! variables), polls `/2018-06-01/runtime/invocation/next`, and posts its answer back. Tests use
//! it to send real API Gateway v2 and EventBridge events through each built function; the
//! cold-start benchmark uses it to time spawn → first answer. Events start from the fixtures in
//! `infra/events`, the ones `cargo lambda invoke --data-file` is given.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::{mpsc, oneshot};

const NEXT: &str = "/2018-06-01/runtime/invocation/next";
/// 6 MB: the largest answer a synchronous Lambda invocation may give.
pub const RESPONSE_LIMIT: usize = 6 * 1024 * 1024;

/// How an invocation ended, as the runtime reported it.
#[derive(Debug)]
pub enum InvokeError {
    /// The handler failed: the runtime posted to `/invocation/{id}/error` (or `/init/error`).
    Function(serde_json::Value),
    /// The process ended before answering (a failed init: missing configuration, a panic).
    Exited {
        status: String,
        log: String,
    },
    TimedOut {
        log: String,
    },
}

impl std::fmt::Display for InvokeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Function(body) => write!(f, "the function reported an error: {body}"),
            Self::Exited { status, log } => write!(f, "the function exited ({status}) before answering; log:\n{log}"),
            Self::TimedOut { log } => write!(f, "no answer in time; log:\n{log}"),
        }
    }
}

impl std::error::Error for InvokeError {}

/// The answer and when it reached the Runtime API (so timings do not include our polling).
type Outcome = (Instant, Result<Bytes, serde_json::Value>);

struct Invocation {
    id: String,
    event: Vec<u8>,
    answer: oneshot::Sender<Outcome>,
}

#[derive(Clone)]
struct Emulator {
    queue: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>>,
    waiting: Arc<Mutex<HashMap<String, oneshot::Sender<Outcome>>>>,
    init_error: Arc<Mutex<Option<oneshot::Sender<Outcome>>>>,
}

/// One function process and the Runtime API it polls. The process is killed on drop.
pub struct LambdaProcess {
    child: Child,
    invocations: mpsc::UnboundedSender<Invocation>,
    init_error: Arc<Mutex<Option<oneshot::Sender<Outcome>>>>,
    log: Arc<Mutex<String>>,
    server: tokio::task::JoinHandle<()>,
    next_id: u64,
    /// When the process was spawned: the start of a cold start.
    pub spawned_at: Instant,
    /// When the last answer (or error) reached the Runtime API.
    pub answered_at: Option<Instant>,
}

impl LambdaProcess {
    /// Starts the Runtime API on an ephemeral loopback port, then `binary` with only the Lambda
    /// variables and `env` (nothing inherited, so a test sees exactly what Lambda would pass).
    pub async fn start(binary: &Path, function_name: &str, env: &[(&str, String)]) -> std::io::Result<Self> {
        let (invocations, queue) = mpsc::unbounded_channel();
        let emulator = Emulator {
            queue: Arc::new(tokio::sync::Mutex::new(queue)),
            waiting: Arc::default(),
            init_error: Arc::default(),
        };
        let init_error = emulator.init_error.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, routes(emulator)).await;
        });

        let spawned_at = Instant::now();
        let mut child = Command::new(binary)
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", function_name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{function_name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "emulated")
            .envs(env.iter().map(|(name, value)| (*name, value.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let log = Arc::new(Mutex::new(String::new()));
        for stream in [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
            child.stderr.take().map(|s| Box::new(s) as _),
        ]
        .into_iter()
        .flatten()
        {
            let log = log.clone();
            std::thread::spawn(move || collect(stream, &log));
        }
        Ok(Self { child, invocations, init_error, log, server, next_id: 0, spawned_at, answered_at: None })
    }

    /// Sends one event and waits (up to `timeout`) for the function's answer.
    pub async fn invoke(
        &mut self,
        event: &serde_json::Value,
        timeout: Duration,
    ) -> Result<serde_json::Value, InvokeError> {
        self.next_id += 1;
        let (answer, mut answered) = oneshot::channel();
        let (init_tx, mut init_failed) = oneshot::channel();
        *self.init_error.lock().unwrap() = Some(init_tx);
        let id = format!("emulated-{}", self.next_id);
        let event = serde_json::to_vec(event).expect("a JSON value serialises");
        self.invocations.send(Invocation { id, event, answer }).expect("the emulator outlives its process");

        let deadline = Instant::now() + timeout;
        loop {
            tokio::select! {
                Ok((at, outcome)) = &mut answered => {
                    self.answered_at = Some(at);
                    return decode(outcome);
                }
                Ok((at, outcome)) = &mut init_failed => {
                    self.answered_at = Some(at);
                    return decode(outcome);
                }
                _ = tokio::time::sleep(Duration::from_millis(2)) => {}
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                // Give the log readers a moment to drain what the process printed last.
                tokio::time::sleep(Duration::from_millis(50)).await;
                return Err(InvokeError::Exited { status: status.to_string(), log: self.log() });
            }
            if Instant::now() > deadline {
                return Err(InvokeError::TimedOut { log: self.log() });
            }
        }
    }

    /// The process's peak resident memory so far (Linux `VmHWM`), in KiB: what Lambda's
    /// "Max Memory Used" reports.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Everything the process printed so far (its CloudWatch log, in Lambda).
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for LambdaProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.server.abort();
    }
}

fn decode(outcome: Result<Bytes, serde_json::Value>) -> Result<serde_json::Value, InvokeError> {
    match outcome {
        Ok(body) => serde_json::from_slice(&body).map_err(|_| {
            InvokeError::Function(serde_json::json!({"invalid_response": String::from_utf8_lossy(&body)}))
        }),
        Err(error) => Err(InvokeError::Function(error)),
    }
}

fn collect(mut stream: Box<dyn Read + Send>, log: &Mutex<String>) {
    let mut buffer = [0u8; 4096];
    while let Ok(n @ 1..) = stream.read(&mut buffer) {
        log.lock().unwrap().push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
}

fn routes(emulator: Emulator) -> Router {
    Router::new()
        .route(NEXT, get(next_invocation))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(respond))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(fail))
        .route("/2018-06-01/runtime/init/error", post(init_failed))
        // Lambda's limit for a synchronous response; a bigger one fails there too.
        .layer(axum::extract::DefaultBodyLimit::max(RESPONSE_LIMIT))
        .with_state(emulator)
}

/// Long-polls like Lambda: blocks until an event is queued, then hands it over with the
/// headers the runtime requires.
async fn next_invocation(State(emulator): State<Emulator>) -> Response {
    let Some(invocation) = emulator.queue.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let deadline_ms = (std::time::SystemTime::now() + Duration::from_secs(30))
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        headers.insert(name, HeaderValue::from_str(&value).expect("ASCII header values"));
    };
    set("lambda-runtime-aws-request-id", invocation.id.clone());
    set("lambda-runtime-deadline-ms", deadline_ms.to_string());
    set("lambda-runtime-invoked-function-arn", "arn:aws:lambda:ap-southeast-3:000000000000:function:emulated".into());
    set("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000;Sampled=0".into());
    emulator.waiting.lock().unwrap().insert(invocation.id, invocation.answer);
    (headers, invocation.event).into_response()
}

async fn respond(State(emulator): State<Emulator>, UrlPath(id): UrlPath<String>, body: Bytes) -> StatusCode {
    answer(&emulator, &id, Ok(body))
}

async fn fail(State(emulator): State<Emulator>, UrlPath(id): UrlPath<String>, body: Bytes) -> StatusCode {
    answer(&emulator, &id, Err(serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null)))
}

async fn init_failed(State(emulator): State<Emulator>, body: Bytes) -> StatusCode {
    if let Some(tx) = emulator.init_error.lock().unwrap().take() {
        let _ = tx.send((Instant::now(), Err(serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null))));
    }
    StatusCode::ACCEPTED
}

fn answer(emulator: &Emulator, id: &str, outcome: Result<Bytes, serde_json::Value>) -> StatusCode {
    match emulator.waiting.lock().unwrap().remove(id) {
        Some(tx) => {
            let _ = tx.send((Instant::now(), outcome));
            StatusCode::ACCEPTED
        }
        None => StatusCode::NOT_FOUND,
    }
}

/// An API Gateway HTTP API (payload 2.0) event for `method path?query`, as API Gateway hands it
/// to Lambda; `token` goes in `Authorization`, `body` is sent as JSON.
pub fn api_gateway_v2_event(
    method: &str,
    path: &str,
    query: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> serde_json::Value {
    let mut event: serde_json::Value =
        serde_json::from_str(include_str!("../../infra/events/health.json")).expect("fixture");
    event["rawPath"] = path.into();
    event["rawQueryString"] = query.into();
    event["requestContext"]["http"]["method"] = method.into();
    event["requestContext"]["http"]["path"] = path.into();
    if let Some(token) = token {
        event["headers"]["authorization"] = format!("Bearer {token}").into();
    }
    if let Some(body) = body {
        event["headers"]["content-type"] = "application/json".into();
        event["body"] = body.to_string().into();
    }
    event
}

/// The EventBridge scheduled event `function` (`sla-check`, `pm-generate`, `housekeeping`, `report-rollup`) is
/// sent, from `infra/events/<function>-scheduled.json`; its `time` is 2026-11-25T10:10:00Z.
pub fn scheduled_event(function: &str) -> serde_json::Value {
    let fixture = match function {
        "sla-check" => include_str!("../../infra/events/sla-check-scheduled.json"),
        "pm-generate" => include_str!("../../infra/events/pm-generate-scheduled.json"),
        "housekeeping" => include_str!("../../infra/events/housekeeping-scheduled.json"),
        "report-rollup" => include_str!("../../infra/events/report-rollup-scheduled.json"),
        "webhook-dispatch" => include_str!("../../infra/events/webhook-dispatch-scheduled.json"),
        other => panic!("no scheduled event fixture for {other}"),
    };
    serde_json::from_str(fixture).expect("fixture")
}
