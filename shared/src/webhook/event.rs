//! The event types an endpoint subscribes to, as `type` in the payload `{type, timestamp, data}`.

crate::text_enum! {
    /// What happened. `data` is the object as the API shows it: the ticket, the approval, the
    /// jobcard; for SLA events `{kind, line_at, detected_at, ticket}`; for a failed checklist item
    /// `{ticket_id, item_key, item_label, answer, cm_ticket_id, ticket}`; for `ping`, `{webhook_id}`.
    pub enum EventType {
        TicketCreated = "ticket.created",
        TicketAssigned = "ticket.assigned",
        TicketStatusChanged = "ticket.status_changed",
        TicketSlaWarning = "ticket.sla_warning",
        TicketSlaBreached = "ticket.sla_breached",
        TicketSlaBreachRetracted = "ticket.sla_breach_retracted",
        ApprovalDecided = "approval.decided",
        ChecklistItemFailed = "checklist.item_failed",
        JobcardCreated = "jobcard.created",
        Ping = "ping",
    }
}

impl EventType {
    /// The types an endpoint may subscribe to (`ping` is sent on request, to one endpoint).
    pub fn subscribable() -> impl Iterator<Item = EventType> {
        EventType::ALL.iter().copied().filter(|t| *t != EventType::Ping)
    }
}
