//! Outbound webhooks: the events Nexus sends and the transactional outbox that records them.
//! Endpoints, secrets, signing and delivery live in the `webhooks` and `webhook-dispatch`
//! functions; every writer of a change that causes an event calls [`outbox`] in its own
//! transaction.

pub mod change;
pub mod endpoint;
pub mod event;
pub mod outbox;
pub mod secret;
pub mod signature;
pub mod sla;
pub mod ssrf;

pub use event::EventType;
