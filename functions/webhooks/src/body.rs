//! The bodies that register and change an endpoint, parsed once into a [`Draft`]: every mistake
//! named (`url`, `events[2]`, `description`) in one 422, the URL through the SSRF guard.

use nexus_shared::ApiError;
use nexus_shared::validate::{self, Validator};
use nexus_shared::webhook::EventType;
use nexus_shared::webhook::endpoint::Webhook;
use nexus_shared::webhook::ssrf;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// The most event types one endpoint lists (there are fewer: the list only bounds the body).
const MAX_EVENTS: usize = 20;

/// An event type an endpoint subscribes to, as sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct EventName(pub String);

/// Documented as the subscribable types (`ping` is sent on request, never subscribed to).
impl utoipa::PartialSchema for EventName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(EventType::subscribable().map(|t| t.as_str())))
            .into()
    }
}

impl ToSchema for EventName {}

/// Registers an endpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookBody {
    /// `https://` and a host that resolves only to public addresses.
    #[schema(min_length = 1, max_length = 2000, pattern = r"^https?://\S+$")]
    url: String,
    /// The event types to receive (1–20, duplicates ignored).
    #[schema(min_items = 1, max_items = 20)]
    events: Vec<EventName>,
    #[schema(max_length = 500, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    description: Option<String>,
}

/// Changes an endpoint: an absent field keeps its value, `description: null` clears it.
/// `enabled: true` on a disabled endpoint turns it back on and forgets why it was off and since
/// when it was failing; `enabled: false` turns it off (its pending deliveries fail; they can be
/// replayed).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    #[schema(min_length = 1, max_length = 2000, pattern = r"^https?://\S+$")]
    url: Option<String>,
    #[schema(min_items = 1, max_items = 20)]
    events: Option<Vec<EventName>>,
    #[serde(default, deserialize_with = "validate::nullable")]
    #[schema(max_length = 500, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    description: Option<Option<String>>,
    enabled: Option<bool>,
}

/// An endpoint's fields, all valid.
#[derive(Debug, Clone)]
pub struct Draft {
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    pub enabled: bool,
}

impl NewWebhookBody {
    pub async fn parse(self, allow_loopback: bool) -> Result<Draft, ApiError> {
        WebhookBody {
            url: Some(self.url),
            events: Some(self.events),
            description: Some(self.description),
            enabled: Some(true),
        }
        .parse(None, allow_loopback)
        .await
    }
}

impl WebhookBody {
    /// The endpoint after this body: over `stored` (None when registering, where `url` and
    /// `events` are required). The URL is resolved only when it is sent (or changed).
    pub async fn parse(self, stored: Option<&Webhook>, allow_loopback: bool) -> Result<Draft, ApiError> {
        let mut v = Validator::new();
        let url = match self.url {
            Some(url) => match validate::line(url, 1, 2000) {
                Ok(url) => match ssrf::check(&url, allow_loopback).await {
                    Ok(_) => Some(url),
                    Err(refusal) => v.field("url", Err(refusal.0)),
                },
                Err(message) => v.field("url", Err(message)),
            },
            None => v.required("url", stored.map(|w| w.url.clone())),
        };
        let events = match self.events {
            Some(names) => parse_events(&mut v, names),
            None => v.required("events", stored.map(|w| w.events.clone())),
        };
        let description = match self.description {
            Some(new) => v.field("description", validate::optional_line(new, 500)),
            None => Some(stored.and_then(|w| w.description.clone())),
        };
        let enabled = self.enabled.or(stored.map(|w| w.enabled)).unwrap_or(true);
        match (url, events, description) {
            (Some(url), Some(events), Some(description)) if v.is_valid() => {
                Ok(Draft { url, events, description, enabled })
            }
            _ => Err(v.into_error()),
        }
    }
}

/// Each name a subscribable type (`events[i]` otherwise), 1–20 of them, duplicates dropped.
fn parse_events(v: &mut Validator, names: Vec<EventName>) -> Option<Vec<String>> {
    if names.is_empty() || names.len() > MAX_EVENTS {
        v.error("events", format!("must list 1 to {MAX_EVENTS} event types"));
        return None;
    }
    let mut events: Vec<String> = Vec::new();
    let mut valid = true;
    for (i, EventName(name)) in names.into_iter().enumerate() {
        match EventType::subscribable().find(|t| t.as_str() == name) {
            Some(t) if !events.iter().any(|e| e == t.as_str()) => events.push(t.as_str().to_string()),
            Some(_) => {}
            None => {
                let offered: Vec<&str> = EventType::subscribable().map(|t| t.as_str()).collect();
                v.error(&format!("events[{i}]"), format!("must be one of {}", offered.join(", ")));
                valid = false;
            }
        }
    }
    valid.then_some(events)
}
