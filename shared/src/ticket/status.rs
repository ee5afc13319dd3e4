//! The ticket lifecycle:
//!
//! ```text
//! open → assigned → in_progress ⇄ on_hold
//!                   in_progress → resolved → closed       (closed only by an approval)
//!                                 resolved → in_progress  (only by a rejected approval)
//! open | assigned | in_progress | on_hold → cancelled
//! ```

crate::text_enum! {
    pub enum TicketStatus {
        Open = "open",
        Assigned = "assigned",
        InProgress = "in_progress",
        OnHold = "on_hold",
        Resolved = "resolved",
        Closed = "closed",
        Cancelled = "cancelled",
    }
}

crate::text_enum! {
    /// Why work is paused; the SLA clock stops while on hold.
    pub enum HoldReason {
        AwaitingParts = "awaiting_parts",
        NoSiteAccess = "no_site_access",
        CustomerRequest = "customer_request",
        Other = "other",
    }
}

/// Who asks for a status change: an edit (`PUT`) or an approval decision. Closing and
/// reopening a resolved ticket are reserved to approvals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Edit,
    Approval,
}

impl TicketStatus {
    /// The unfinished statuses, whose SLA clocks can still matter (shown on the live map,
    /// counted as open work).
    pub const ACTIVE: &'static [TicketStatus] = &[
        TicketStatus::Open,
        TicketStatus::Assigned,
        TicketStatus::InProgress,
        TicketStatus::OnHold,
        TicketStatus::Resolved,
    ];

    /// Not yet responded to (work starts with `in_progress`): the response clock runs.
    pub const AWAITING_RESPONSE: &'static [TicketStatus] = &[TicketStatus::Open, TicketStatus::Assigned];

    /// Not yet resolved and not on hold: the resolution clock runs.
    pub const AWAITING_RESOLUTION: &'static [TicketStatus] =
        &[TicketStatus::Open, TicketStatus::Assigned, TicketStatus::InProgress];

    /// `statuses` as an SQL list for `status IN …`, spelled as the migrations' partial index
    /// predicates spell it: `('open', 'assigned')`. A query uses such an index only if its own
    /// list is the index's set (or a subset of it).
    pub fn sql_list(statuses: &[TicketStatus]) -> String {
        let quoted: Vec<String> = statuses.iter().map(|s| format!("'{s}'")).collect();
        format!("({})", quoted.join(", "))
    }

    /// The statuses reachable from `self` by `via`.
    pub fn next(self, via: Transition) -> &'static [TicketStatus] {
        use TicketStatus::*;
        match (self, via) {
            (Open, Transition::Edit) => &[Assigned, Cancelled],
            (Assigned, Transition::Edit) => &[InProgress, Cancelled],
            (InProgress, Transition::Edit) => &[OnHold, Resolved, Cancelled],
            (OnHold, Transition::Edit) => &[InProgress, Cancelled],
            (Resolved, Transition::Approval) => &[Closed, InProgress],
            _ => &[],
        }
    }

    pub fn can_become(self, to: TicketStatus, via: Transition) -> bool {
        self.next(via).contains(&to)
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, TicketStatus::Closed | TicketStatus::Cancelled)
    }
}

#[cfg(test)]
mod tests {
    use super::TicketStatus::*;
    use super::*;

    #[test]
    fn the_allowed_edits_are_exactly_the_lifecycle() {
        let mut allowed = Vec::new();
        for from in TicketStatus::ALL {
            for to in TicketStatus::ALL {
                if from.can_become(*to, Transition::Edit) {
                    allowed.push(format!("{from}->{to}"));
                }
            }
        }
        assert_eq!(
            allowed,
            [
                "open->assigned",
                "open->cancelled",
                "assigned->in_progress",
                "assigned->cancelled",
                "in_progress->on_hold",
                "in_progress->resolved",
                "in_progress->cancelled",
                "on_hold->in_progress",
                "on_hold->cancelled",
            ]
        );
    }

    #[test]
    fn only_approvals_close_or_reopen_and_only_resolved_tickets() {
        assert!(!Resolved.can_become(Closed, Transition::Edit));
        assert!(!Resolved.can_become(InProgress, Transition::Edit));
        assert!(Resolved.can_become(Closed, Transition::Approval));
        assert!(Resolved.can_become(InProgress, Transition::Approval));
        for from in [Open, Assigned, InProgress, OnHold, Closed, Cancelled] {
            assert!(from.next(Transition::Approval).is_empty(), "{from}");
        }
        assert!(Closed.next(Transition::Edit).is_empty() && Cancelled.next(Transition::Edit).is_empty());
    }

    #[test]
    fn the_named_sets() {
        let unfinished: Vec<TicketStatus> = TicketStatus::ALL.iter().copied().filter(|s| !s.is_terminal()).collect();
        assert_eq!(TicketStatus::ACTIVE, unfinished);
        assert_eq!(TicketStatus::sql_list(TicketStatus::AWAITING_RESPONSE), "('open', 'assigned')");
        assert_eq!(TicketStatus::sql_list(TicketStatus::AWAITING_RESOLUTION), "('open', 'assigned', 'in_progress')");
    }

    /// The partial indexes on tickets are used only by queries that spell the same sets: every
    /// `WHERE status IN (…)` of an index in the migrations is one of the named sets.
    #[test]
    fn the_partial_indexes_use_the_named_sets() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations");
        let mut found = std::collections::BTreeSet::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let sql = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for statement in sql.split(';').filter(|s| s.contains("CREATE INDEX") && s.contains(" ON tickets ")) {
                for list in statement.split("WHERE status IN ").skip(1) {
                    found.insert(list[..=list.find(')').unwrap()].to_string());
                }
            }
        }
        let named: std::collections::BTreeSet<String> =
            [TicketStatus::ACTIVE, TicketStatus::AWAITING_RESPONSE, TicketStatus::AWAITING_RESOLUTION]
                .into_iter()
                .map(TicketStatus::sql_list)
                .collect();
        assert_eq!(found, named);
    }

    #[test]
    fn text_round_trips() {
        for s in TicketStatus::ALL {
            assert_eq!(TicketStatus::try_from(s.as_str().to_string()), Ok(*s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert!(TicketStatus::try_from("done".to_string()).is_err());
    }
}
