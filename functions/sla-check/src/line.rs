//! The four SLA lines a ticket can cross, and the one statement that records every crossing.
//!
//! The statement finds the due tickets through the four partial indexes of the tickets
//! migration (each scan's WHERE clause repeats its index predicate word for word, the status set
//! spelled by `TicketStatus`, so the planner can prove the index applies, and adds the range
//! `line <= now`), so its cost follows the tickets that are due, not all tickets; and it writes
//! each ticket once, whatever number of lines it crossed (after an outage, often all four).

use std::sync::LazyLock;

pub use nexus_shared::sla::Line;

/// The statement that records every line crossed at `$1` (now), with `$2` as the audit rows'
/// request id; it answers `(kind, count)` per kind recorded.
///
/// - `crossed`: the ids the four partial index scans find (a ticket past all four lines once),
///   as an array the tickets are then fetched from by primary key. As a join, the planner took
///   its row estimate from the line columns' statistics (tens of thousands after a catch-up, until
///   the next ANALYZE) and hashed a scan of every ticket, 300 ms a run at 230,000 tickets.
///   Each due ticket is updated once, under its row lock (the WHERE clause is checked
///   again on the latest version if a transition changed the ticket meanwhile). A deadline
///   implies its warning: a ticket past its deadline gets the warned flag too.
/// - `recorded`: one `sla_events` row per flagged line of those tickets (a warning stored after
///   its deadline included: the deadline flagged it); the unique constraint drops the lines an
///   earlier run (or the transition that crossed them) recorded.
/// - `audited`: one audit row per ticket, listing the flags its recorded lines set.
///
/// Data-modifying CTEs always run to completion, whether or not the final SELECT reads them.
pub(crate) fn statement() -> &'static str {
    // Built once and kept: sqlx takes only `'static` text as safe SQL.
    static STATEMENT: LazyLock<String> = LazyLock::new(build);
    &STATEMENT
}

fn build() -> String {
    let due = Line::ALL.map(|line| format!("SELECT id FROM tickets WHERE {}", line.scan())).join(" UNION ");
    let any = Line::ALL.map(|line| format!("({})", line.scan().replace("status IN", "t.status IN"))).join(" OR ");
    let [rw, rb, sw, sb] = Line::ALL.map(Line::crossed);
    let lines = Line::ALL
        .map(|line| {
            let (flag, at) = line.columns();
            format!("('{}', c.{at}, c.{flag})", line.kind())
        })
        .join(", ");
    format!(
        "WITH crossed AS (
            UPDATE tickets t SET
                response_warned = t.response_warned OR {rw} OR {rb},
                response_breached = t.response_breached OR {rb},
                resolution_warned = t.resolution_warned OR {sw} OR {sb},
                resolution_breached = t.resolution_breached OR {sb}
            WHERE t.id = ANY (ARRAY({due})) AND ({any})
            RETURNING t.id, t.response_warned, t.response_breached, t.resolution_warned, t.resolution_breached,
                      t.response_warning_at, t.response_due_at, t.resolution_warning_at, t.resolution_due_at
         ), recorded AS (
            INSERT INTO sla_events (ticket_id, kind, line_at, detected_at)
            SELECT c.id, line.kind, line.line_at, $1
            FROM crossed c CROSS JOIN LATERAL (VALUES {lines}) AS line (kind, line_at, flagged)
            WHERE line.flagged
            ON CONFLICT ON CONSTRAINT sla_events_once DO NOTHING
            RETURNING ticket_id, kind
         ), audited AS (
            INSERT INTO audit_logs (entity_type, entity_id, action, actor_id, changes, request_id)
            SELECT 'ticket', r.ticket_id, 'update', NULL,
                   jsonb_object_agg(
                       CASE r.kind
                           WHEN 'response_warning' THEN 'response_warned'
                           WHEN 'response_breach' THEN 'response_breached'
                           WHEN 'resolution_warning' THEN 'resolution_warned'
                           WHEN 'resolution_breach' THEN 'resolution_breached'
                       END,
                       jsonb_build_object('old', false, 'new', true)),
                   $2
            FROM recorded r GROUP BY r.ticket_id
         )
         SELECT kind, count(*) FROM recorded GROUP BY kind"
    )
}

/// The plan, on a table shaped like production's: most tickets finished, many running but not
/// yet due, a few due. Each line's tickets must be found through its partial index.
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
    async fn each_line_is_found_through_its_partial_index(pool: PgPool) {
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
        // Open tickets past their lines that a catch-up then recorded, after the statistics were
        // taken: the planner still believes thousands are due (found on the benchmark's data).
        tickets(&pool, "open", 20_000, "-1 hour", 400_000).await;
        sqlx::query("ANALYZE tickets").execute(&pool).await.unwrap();
        sqlx::query(
            "UPDATE tickets SET response_warned = true, response_breached = true, resolution_warned = true,
                 resolution_breached = true
             WHERE status = 'open' AND response_due_at < now() - interval '30 minutes'",
        )
        .execute(&pool)
        .await
        .unwrap();

        let now: DateTime<Utc> = sqlx::query_scalar("SELECT now()").fetch_one(&pool).await.unwrap();
        let explain = format!("EXPLAIN {}", super::statement());
        let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(explain))
            .bind(now)
            .bind("plan-check")
            .persistent(false)
            .fetch_all(&pool)
            .await
            .unwrap();
        let plan = plan.join("\n");
        println!("{plan}");
        for line in Line::ALL {
            assert!(plan.contains(index_of(line)), "{line:?}: {} is not used:\n{plan}", index_of(line));
        }
        assert!(!plan.contains("Seq Scan on tickets"), "the statement scans every ticket:\n{plan}");
    }
}
