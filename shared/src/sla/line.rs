//! The four SLA lines a ticket can cross, as the tickets table stores them: each line's instant,
//! its "recorded" flag, the statuses in which its clock runs, and the partial index scan of the
//! tickets that crossed it unrecorded (what the SLA check records, and what the national map
//! corrects its per-site counts by).

use crate::ticket::TicketStatus;

/// One line of a ticket's SLA; its `kind` is what `sla_events` stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    ResponseWarning,
    ResponseBreach,
    ResolutionWarning,
    ResolutionBreach,
}

impl Line {
    pub const ALL: [Line; 4] =
        [Line::ResponseWarning, Line::ResponseBreach, Line::ResolutionWarning, Line::ResolutionBreach];

    /// The `sla_events.kind` of this line.
    pub fn kind(self) -> &'static str {
        match self {
            Line::ResponseWarning => "response_warning",
            Line::ResponseBreach => "response_breach",
            Line::ResolutionWarning => "resolution_warning",
            Line::ResolutionBreach => "resolution_breach",
        }
    }

    pub fn from_kind(kind: &str) -> Option<Line> {
        Line::ALL.into_iter().find(|line| line.kind() == kind)
    }

    /// The ticket's flag for this line, and the instant of the line.
    pub fn columns(self) -> (&'static str, &'static str) {
        match self {
            Line::ResponseWarning => ("response_warned", "response_warning_at"),
            Line::ResponseBreach => ("response_breached", "response_due_at"),
            Line::ResolutionWarning => ("resolution_warned", "resolution_warning_at"),
            Line::ResolutionBreach => ("resolution_breached", "resolution_due_at"),
        }
    }

    /// The statuses in which this line's clock runs, as SQL.
    pub fn statuses(self) -> String {
        match self {
            Line::ResponseWarning | Line::ResponseBreach => TicketStatus::sql_list(TicketStatus::AWAITING_RESPONSE),
            _ => TicketStatus::sql_list(TicketStatus::AWAITING_RESOLUTION),
        }
    }

    /// The partial index scan of the tickets that crossed this line by `$1` and are not
    /// flagged yet (the index predicate, word for word, and the range).
    pub fn scan(self) -> String {
        let (flag, at) = self.columns();
        format!("status IN {} AND NOT {flag} AND {at} <= $1", self.statuses())
    }

    /// Whether the ticket has crossed this line by `$1` while its clock runs, on `t`.
    pub fn crossed(self) -> String {
        let (_, at) = self.columns();
        format!("(t.status IN {} AND t.{at} <= $1)", self.statuses())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for line in Line::ALL {
            assert_eq!(Line::from_kind(line.kind()), Some(line));
        }
        assert_eq!(Line::from_kind("response_breached"), None);
    }
}
