//! The clustered live map with no filter, for staff (who see every ticket): the view every
//! operations screen polls. It is built from `site_ticket_states` — active tickets per site and
//! recorded SLA state, kept by the database in the transaction of every ticket write — so it
//! aggregates at most one row per site and state, not every active ticket.
//!
//! The recorded state is what the SLA check and late transitions flagged. Two kinds of active
//! ticket look different `now`, and are corrected ticket by ticket: a PM generated ahead of its
//! date (not on the map yet), and a line passed since the check last ran (found through the
//! check's own partial indexes, so there are about a minute's worth). A ticket whose priority was
//! lowered after a line was recorded keeps that line's colour here (the markers, and every
//! filtered view, compute it from the lines).

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use nexus_shared::sla::Line;
use nexus_shared::{ApiResult, AppState};
use sqlx::QueryBuilder;

use crate::live_tickets::CellRow;
use crate::query::View;
use crate::severity::SEVERITY_SQL;

/// The recorded state of ticket `t`, as the migration's trigger counts it.
const RECORDED_SQL: &str = "ticket_recorded_severity(t.responded_at, t.resolved_at, t.response_warned,
    t.response_breached, t.resolution_warned, t.resolution_breached)";

/// Everything before the viewport: `$1` is now. `correction` takes each ticket whose state now
/// is not the recorded one out of its recorded state and, once started, into its state now; the
/// ids go through an array so the tickets are read by primary key (as a join, the planner trusts
/// the line columns' statistics and hashes a scan of every ticket). `per_state`: the counts per
/// site and state, corrected.
static HEAD: LazyLock<String> = LazyLock::new(|| {
    let active = &*crate::ACTIVE;
    let started = crate::STARTED;
    let passed = Line::ALL.map(|line| format!("SELECT id FROM tickets WHERE {}", line.scan())).join(" UNION ");
    format!(
        "::timestamptz AS now),
         correction AS (
            SELECT t.location_id, c.severity, c.tickets
            FROM clock, tickets t CROSS JOIN LATERAL (VALUES
                ({RECORDED_SQL}, -1),
                (CASE WHEN {started} THEN ({SEVERITY_SQL})::smallint END, 1)) AS c (severity, tickets)
            WHERE t.id = ANY (ARRAY(SELECT t.id FROM clock, tickets t WHERE t.scheduled_for > clock.now UNION {passed}))
              AND t.status IN {active} AND c.severity IS NOT NULL
         ),
         per_state AS (
            SELECT location_id, severity, sum(tickets) AS tickets
            FROM (SELECT location_id, severity, tickets FROM site_ticket_states WHERE tickets > 0
                  UNION ALL SELECT location_id, severity, tickets FROM correction) s
            GROUP BY location_id, severity HAVING sum(tickets) > 0
         )"
    )
});

/// The cells of the view at `cell` degrees, as the per-ticket query would answer them: a cell's
/// position is the mean of its tickets' sites, its state the worst inside; `first_id` is the
/// ticket of a cell that holds exactly one.
pub(crate) async fn cells(state: &AppState, now: DateTime<Utc>, view: &View, cell: f64) -> ApiResult<Vec<CellRow>> {
    let mut qb = QueryBuilder::new("WITH clock AS (SELECT ");
    qb.push_bind(now);
    qb.push(&*HEAD);
    qb.push(format_args!(
        " SELECT floor(l.longitude / {cell}) AS cx, floor(l.latitude / {cell}) AS cy,
                 sum(l.longitude * p.tickets) / sum(p.tickets) AS longitude,
                 sum(l.latitude * p.tickets) / sum(p.tickets) AS latitude,
                 sum(p.tickets)::bigint AS point_count, max(p.severity)::int AS severity,
                 CASE WHEN sum(p.tickets) = 1 THEN min(l.id) ELSE 0 END AS first_id
          FROM per_state p JOIN locations l ON l.id = p.location_id WHERE l.latitude IS NOT NULL"
    ));
    if let Some(bbox) = view.bbox {
        bbox.push(&mut qb);
    }
    qb.push(" GROUP BY cx, cy ORDER BY cx, cy");
    // Not prepared: planned with this `now`, so the line scans keep to their partial indexes.
    let mut cells: Vec<CellRow> = qb.build_query_as().persistent(false).fetch_all(state.read_pool()).await?;

    // A cell of one ticket holds one site: `first_id` is that site until its ticket is read.
    let sites: Vec<i64> = cells.iter().filter(|c| c.point_count == 1).map(|c| c.first_id).collect();
    if !sites.is_empty() {
        let (active, started) = (&*crate::ACTIVE, crate::STARTED);
        let mut qb = QueryBuilder::new("WITH clock AS (SELECT ");
        qb.push_bind(now);
        qb.push(format_args!(
            "::timestamptz AS now) SELECT DISTINCT ON (t.location_id) t.location_id, t.id FROM clock, tickets t
             WHERE t.status IN {active} AND {started} AND t.location_id = ANY("
        ));
        qb.push_bind(&sites).push(") ORDER BY t.location_id, t.id");
        let tickets: std::collections::HashMap<i64, i64> =
            qb.build_query_as::<(i64, i64)>().fetch_all(state.read_pool()).await?.into_iter().collect();
        for cell in cells.iter_mut().filter(|c| c.point_count == 1) {
            cell.first_id = tickets.get(&cell.first_id).copied().unwrap_or_default();
        }
    }
    Ok(cells)
}
