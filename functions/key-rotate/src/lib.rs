//! Rotation of the access-token signing keys (`shared::auth::key_set`) as a Secrets Manager
//! rotation function: the rotation schedule invokes it four times per rotation, once per step,
//! each with the new version's id (`ClientRequestToken`).
//!
//! - `createSecret`: the pending version (`AWSPENDING`) is the current keys, plus a new random
//!   key that signs two refresh intervals from now (so every function has read it before a token
//!   signed with it arrives), minus the keys whose successor has signed for longer than an
//!   access token lives plus one refresh interval (no live token names them).
//! - `setSecret`: nothing: the keys are ours alone (HMAC), no other system holds a copy.
//! - `testSecret`: the pending version reads back as a key set that keeps the key signing now.
//! - `finishSecret`: `AWSCURRENT` moves to the pending version; functions read it within one
//!   refresh interval.
//!
//! Each step may run again with the same token (Secrets Manager retries a failed invocation):
//! one already done is a no-op, as in AWS's own rotation templates.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata};
use chrono::{DateTime, Utc};
use nexus_shared::auth::key_set::{Key, KeySet};
use nexus_shared::config::{ConfigError, Env, FromEnv, SecretVar};
use serde::{Deserialize, Serialize};

const CURRENT: &str = "AWSCURRENT";
const PENDING: &str = "AWSPENDING";

/// What the rotation needs to know of the functions that use the keys: the same variables they
/// read.
#[derive(Debug, Clone, Copy)]
pub struct RotateSettings {
    /// `NEXUS_ACCESS_TOKEN_TTL_SECS`: how long a token signed with a retired key could live.
    pub access_ttl: Duration,
    /// `NEXUS_JWT_KEY_REFRESH_SECS`: how stale a function's keys may be.
    pub key_refresh: Duration,
}

impl RotateSettings {
    /// How long after it is added a new key starts signing.
    pub fn publish_after(&self) -> Duration {
        2 * self.key_refresh
    }

    /// How long a key stays after its successor starts signing.
    pub fn retire_after(&self) -> Duration {
        self.access_ttl + self.key_refresh
    }
}

/// No secret at cold start: the event names the one to rotate.
impl FromEnv for RotateSettings {
    const SECRETS: &'static [SecretVar] = &[];
    async fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            access_ttl: nexus_shared::config::access_ttl(env)?,
            key_refresh: nexus_shared::config::key_refresh(env)?,
        })
    }
}

/// What Secrets Manager sends a rotation function.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationEvent {
    pub secret_id: String,
    pub client_request_token: String,
    pub step: Step,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Step {
    CreateSecret,
    SetSecret,
    TestSecret,
    FinishSecret,
}

/// What a step did, answered and logged (kids and counts only, never a key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepReport {
    pub step: Step,
    pub outcome: Outcome,
    /// The pending version's key count (`createSecret`, `testSecret`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keys: Option<usize>,
    /// Keys the pending version no longer lists (`createSecret`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retired: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Created,
    /// `createSecret` again for a version that already holds its keys.
    AlreadyCreated,
    /// `setSecret`: nothing to tell anyone.
    NothingToSet,
    Tested,
    Finished,
    /// Any step for a version that is already current: the rotation is over.
    AlreadyCurrent,
}

/// Why a step failed. Names the secret and version, never a key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RotationError(String);

fn aws_error<E: std::error::Error + 'static>(what: &str, secret_id: &str, error: E) -> RotationError {
    RotationError(format!("{what} of {secret_id}: {}", DisplayErrorContext(error)))
}

/// Runs one step of the rotation of `event.secret_id` at `now`.
pub async fn step(
    client: &Client,
    settings: &RotateSettings,
    event: &RotationEvent,
    now: DateTime<Utc>,
) -> Result<StepReport, RotationError> {
    let (id, token) = (event.secret_id.as_str(), event.client_request_token.as_str());
    let report = |outcome, keys, retired| StepReport { step: event.step, outcome, keys, retired };
    // HMAC keys are ours alone: no other system to tell, whatever state the version is in.
    if event.step == Step::SetSecret {
        return Ok(report(Outcome::NothingToSet, None, None));
    }
    let stages = version_stages(client, id).await?;
    match stages.get(token) {
        Some(stages) if stages.iter().any(|s| s == CURRENT) => return Ok(report(Outcome::AlreadyCurrent, None, None)),
        Some(stages) if !stages.iter().any(|s| s == PENDING) => {
            return Err(RotationError(format!("version {token} of {id} is neither pending nor current")));
        }
        // Secrets Manager lists the version before it invokes createSecret; tests call the step
        // directly, and createSecret makes the version. Every later step needs it.
        None if event.step != Step::CreateSecret => {
            return Err(RotationError(format!("version {token} of {id} does not exist: createSecret makes it")));
        }
        _ => {}
    }
    match event.step {
        Step::CreateSecret => {
            if let Some(pending) = value(client, id, Some(token), PENDING).await? {
                let keys = parse(&pending, id, "pending")?;
                return Ok(report(Outcome::AlreadyCreated, Some(keys.kids().count()), None));
            }
            let current = current(client, id).await?;
            let new =
                Key::generate(now, now + chrono::Duration::from_std(settings.publish_after()).unwrap_or_default())
                    .map_err(|e| RotationError(e.to_string()))?;
            let next = current.rotated(now, new, settings.retire_after()).map_err(|e| RotationError(e.to_string()))?;
            client
                .put_secret_value()
                .secret_id(id)
                .client_request_token(token)
                .secret_string(next.to_json())
                .version_stages(PENDING)
                .send()
                .await
                .map_err(|e| aws_error("writing the pending version", id, e))?;
            let (before, after) = (current.kids().count(), next.kids().count());
            Ok(report(Outcome::Created, Some(after), Some(before + 1 - after)))
        }
        Step::SetSecret => Ok(report(Outcome::NothingToSet, None, None)),
        Step::TestSecret => {
            let pending = value(client, id, Some(token), PENDING)
                .await?
                .ok_or_else(|| RotationError(format!("version {token} of {id} holds no value")))?;
            let pending = parse(&pending, id, "pending")?;
            let signing = current(client, id).await?.signing(now).kid.clone();
            if pending.get(&signing).is_none() {
                return Err(RotationError(format!("the pending keys of {id} drop {signing}, the key that signs now")));
            }
            Ok(report(Outcome::Tested, Some(pending.kids().count()), None))
        }
        Step::FinishSecret => {
            let current = stages.iter().find(|(_, stages)| stages.iter().any(|s| s == CURRENT)).map(|(v, _)| v);
            let mut update =
                client.update_secret_version_stage().secret_id(id).version_stage(CURRENT).move_to_version_id(token);
            if let Some(current) = current {
                update = update.remove_from_version_id(current);
            }
            update.send().await.map_err(|e| aws_error("making the pending version current", id, e))?;
            Ok(report(Outcome::Finished, None, None))
        }
    }
}

/// Each version's staging labels.
async fn version_stages(client: &Client, id: &str) -> Result<HashMap<String, Vec<String>>, RotationError> {
    let secret = client.describe_secret().secret_id(id).send().await.map_err(|e| aws_error("describing", id, e))?;
    Ok(secret.version_ids_to_stages().cloned().unwrap_or_default())
}

/// The keys of the current version (a plain string is the legacy key).
async fn current(client: &Client, id: &str) -> Result<KeySet, RotationError> {
    let value =
        value(client, id, None, CURRENT).await?.ok_or_else(|| RotationError(format!("{id} has no current version")))?;
    parse(&value, id, "current")
}

/// A version's string, by id and stage; `None` when there is no such version (or no value yet).
async fn value(client: &Client, id: &str, version: Option<&str>, stage: &str) -> Result<Option<String>, RotationError> {
    let read = client.get_secret_value().secret_id(id).set_version_id(version.map(str::to_owned)).version_stage(stage);
    match read.send().await {
        Ok(output) => Ok(output.secret_string().map(str::to_owned)),
        Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(aws_error("reading", id, e)),
    }
}

fn parse(value: &str, id: &str, which: &str) -> Result<KeySet, RotationError> {
    KeySet::parse(value).map_err(|e| RotationError(format!("the {which} version of {id} is not a key set: {e}")))
}
