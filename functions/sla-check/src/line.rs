//! The four SLA lines a ticket can cross, and for each the statement that records its
//! crossings.
//!
//! Each statement scans one partial index of the tickets migration: its WHERE clause repeats
//! the index predicate word for word, the status set spelled by `TicketStatus` (so the planner
//! can prove the index applies) and adds the range `line <= now`, so its cost follows the
//! tickets that are due, not all tickets.

use std::sync::LazyLock;

use nexus_shared::ticket::TicketStatus;

/// One statement, three steps: flag the crossed tickets (the UPDATE's row locks make an
/// overlapping run skip them once this one commits), record each crossed line once (the
/// unique constraint drops what an earlier run recorded) and audit each recorded event.
/// Data-modifying CTEs always run to completion, whether or not the final SELECT reads them.
macro_rules! record_crossings {
    (set: $set:expr, scan: $scan:expr, lines: $lines:expr) => {
        format!(
            "WITH crossed AS (
                UPDATE tickets SET {set}
                WHERE {scan}
                RETURNING id, response_warning_at, response_due_at, resolution_warning_at, resolution_due_at
            ), recorded AS (
                INSERT INTO sla_events (ticket_id, kind, line_at, detected_at)
                SELECT c.id, line.kind, line.line_at, $1
                FROM crossed c CROSS JOIN LATERAL (VALUES {lines}) AS line (kind, line_at)
                ON CONFLICT ON CONSTRAINT sla_events_once DO NOTHING
                RETURNING ticket_id, kind
            ), audited AS (
                INSERT INTO audit_logs (entity_type, entity_id, action, actor_id, changes, request_id)
                SELECT 'ticket', r.ticket_id, 'update', NULL,
                       jsonb_build_object(
                           CASE r.kind
                               WHEN 'response_warning' THEN 'response_warned'
                               WHEN 'response_breach' THEN 'response_breached'
                               WHEN 'resolution_warning' THEN 'resolution_warned'
                               WHEN 'resolution_breach' THEN 'resolution_breached'
                           END,
                           jsonb_build_object('old', false, 'new', true)),
                       $2
                FROM recorded r
            )
            SELECT kind, count(*) FROM recorded GROUP BY kind",
            set = $set,
            scan = $scan,
            lines = $lines,
        )
    };
}

/// One line of a ticket's SLA; its `kind` is what `sla_events` stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    ResponseWarning,
    ResponseBreach,
    ResolutionWarning,
    ResolutionBreach,
}

impl Line {
    /// In the order a sweep scans them: each warning before its deadline, so a ticket that
    /// jumped past both is normally recorded by the warning scan first.
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

    /// The statement that records this line's crossings at `$1` (now), with `$2` as the audit
    /// rows' request id. It answers `(kind, count)` per kind recorded.
    ///
    /// A deadline implies its warning: a breach scan sets the warned flag too and records the
    /// warning event if no run has (the unique constraint drops it otherwise), so the warning is
    /// never lost even if a warning line were stored after its deadline.
    pub(crate) fn statement(self) -> &'static str {
        // Built once and kept: sqlx takes only `'static` text as safe SQL.
        static STATEMENTS: LazyLock<[String; 4]> = LazyLock::new(|| Line::ALL.map(Line::build));
        &STATEMENTS[Line::ALL.iter().position(|&line| line == self).expect("ALL lists every line")]
    }

    fn build(self) -> String {
        let response = TicketStatus::sql_list(TicketStatus::AWAITING_RESPONSE);
        let resolution = TicketStatus::sql_list(TicketStatus::AWAITING_RESOLUTION);
        match self {
            Line::ResponseWarning => record_crossings!(
                set: "response_warned = true",
                scan: format!("status IN {response} AND NOT response_warned AND response_warning_at <= $1"),
                lines: "('response_warning', c.response_warning_at)"
            ),
            Line::ResponseBreach => record_crossings!(
                set: "response_breached = true, response_warned = true",
                scan: format!("status IN {response} AND NOT response_breached AND response_due_at <= $1"),
                lines: "('response_warning', c.response_warning_at), ('response_breach', c.response_due_at)"
            ),
            Line::ResolutionWarning => record_crossings!(
                set: "resolution_warned = true",
                scan: format!("status IN {resolution} AND NOT resolution_warned AND resolution_warning_at <= $1"),
                lines: "('resolution_warning', c.resolution_warning_at)"
            ),
            Line::ResolutionBreach => record_crossings!(
                set: "resolution_breached = true, resolution_warned = true",
                scan: format!("status IN {resolution} AND NOT resolution_breached AND resolution_due_at <= $1"),
                lines: "('resolution_warning', c.resolution_warning_at), ('resolution_breach', c.resolution_due_at)"
            ),
        }
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

/// The plans, on a table shaped like production's: most tickets finished, many running but not
/// yet due, a few due. Each statement must reach its tickets through its partial index.
#[cfg(test)]
mod plans {
    use chrono::{DateTime, Utc};
    use sqlx::PgPool;

    use super::Line;

    fn index_of(line: Line) -> &'static str {
        match line {
            Line::ResponseWarning => "tickets_response_warning_due_idx",
            Line::ResponseBreach => "tickets_response_breach_due_idx",
            Line::ResolutionWarning => "tickets_resolution_warning_due_idx",
            Line::ResolutionBreach => "tickets_resolution_breach_due_idx",
        }
    }

    /// `count` tickets in `status` whose lines are `line_offset` from now (negative: due).
    async fn tickets(pool: &PgPool, status: &str, count: i32, line_offset: &str, first: i32) {
        sqlx::query(
            "INSERT INTO tickets (number, ticket_type, priority, status, asset_id, location_id, description,
                 assigned_to, sla_calendar_id, response_target_minutes, resolution_target_minutes, warning_ratio,
                 response_warning_at, response_due_at, resolution_warning_at, resolution_due_at, responded_at,
                 cancelled_at)
             SELECT 'CM-2026-' || g, 'CM', 'high', $1, a.id, a.location_id, 'Plan check',
                 CASE WHEN $1 = 'cancelled' THEN NULL ELSE (SELECT id FROM users LIMIT 1) END, 1, 120, 480, 0.8,
                 now() + $3::interval, now() + $3::interval, now() + $3::interval, now() + $3::interval,
                 CASE WHEN $1 = 'in_progress' THEN now() END, CASE WHEN $1 = 'cancelled' THEN now() END
             FROM generate_series($4, $4 + $2 - 1) g, (SELECT id, location_id FROM assets LIMIT 1) a",
        )
        .bind(status)
        .bind(count)
        .bind(line_offset)
        .bind(first)
        .execute(pool)
        .await
        .unwrap();
    }

    #[sqlx::test(migrator = "nexus_shared::db::MIGRATOR")]
    async fn each_scan_uses_its_partial_index(pool: PgPool) {
        sqlx::query("INSERT INTO locations (code, name) VALUES ('TID-1', 'Site')").execute(&pool).await.unwrap();
        sqlx::query("INSERT INTO assets (location_id, tag, name) SELECT id, 'ATM-1', 'ATM' FROM locations")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO users (email, password_hash) VALUES ('tech@test.example', 'x')")
            .execute(&pool)
            .await
            .unwrap();
        tickets(&pool, "cancelled", 20_000, "-1 day", 0).await;
        tickets(&pool, "assigned", 2_000, "1 day", 100_000).await;
        tickets(&pool, "in_progress", 2_000, "2 days", 200_000).await;
        tickets(&pool, "open", 5, "-1 minute", 300_000).await;
        sqlx::query("ANALYZE tickets").execute(&pool).await.unwrap();

        let now: DateTime<Utc> = sqlx::query_scalar("SELECT now()").fetch_one(&pool).await.unwrap();
        for line in Line::ALL {
            let explain = format!("EXPLAIN {}", line.statement());
            let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(explain))
                .bind(now)
                .bind("plan-check")
                .persistent(false)
                .fetch_all(&pool)
                .await
                .unwrap();
            let plan = plan.join("\n");
            println!("{line:?}:\n{plan}\n");
            assert!(plan.contains(index_of(line)), "{line:?} does not use {}:\n{plan}", index_of(line));
            assert!(!plan.contains("Seq Scan on tickets"), "{line:?} scans every ticket:\n{plan}");
        }
    }
}
