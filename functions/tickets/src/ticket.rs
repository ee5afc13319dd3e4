//! A ticket as stored and as shown: lifted into `nexus_shared::ticket::view`, where the webhook
//! outbox renders tickets too.

pub use nexus_shared::ticket::view::{SELECT, Ticket, TicketRow};
