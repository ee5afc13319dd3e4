//! SLA compliance, response and resolution lines separately.

use nexus_shared::ApiResult;
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::{Figure, Ratio, Scope, ratios};

pub const DEFINITION: &str = "SLA compliance, response and resolution separately: lines met / lines due in the \
period. A line is due in the period when its due time (`response_due_at`, `resolution_due_at`, holds already \
added) falls in it at the site; it is met when its event (`responded_at`, `resolved_at`) came at or before the \
due time, and breached when the due time was crossed before the event (or with no event yet). Lines not yet \
decided — no event and the due time still ahead, or a resolution clock paused on hold before its due time — and \
cancelled tickets are left out of both. Week and month groups place a line by its due time.";

/// Which line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    Response,
    Resolution,
}

impl Line {
    fn columns(self) -> (&'static str, &'static str) {
        match self {
            Line::Response => ("t.response_due_at", "t.responded_at"),
            Line::Resolution => ("t.resolution_due_at", "t.resolved_at"),
        }
    }

    /// SQL: the line was met.
    pub fn met(self) -> String {
        let (due, event) = self.columns();
        format!("({event} IS NOT NULL AND {event} <= {due})")
    }
}

/// The decided lines due in the period.
pub fn push_population(scope: &Scope, line: Line, qb: &mut QueryBuilder<Postgres>, columns: &str) {
    let (due, event) = line.columns();
    scope.push_select(qb, due, columns, "tickets t");
    qb.push(" AND t.status <> 'cancelled'");
    qb.push(format_args!(" AND NOT ({event} IS NULL AND {due} > now())"));
    if line == Line::Resolution {
        qb.push(" AND NOT (t.resolved_at IS NULL AND t.status = 'on_hold' AND t.on_hold_since < t.resolution_due_at)");
    }
    scope.period.push_contains(qb, due);
}

pub async fn figures(pool: &PgPool, scope: &Scope, line: Line) -> ApiResult<Vec<Figure<Ratio>>> {
    let mut qb = QueryBuilder::new("SELECT key, label, count(*) FILTER (WHERE met)::float8, count(*) FROM (");
    push_population(scope, line, &mut qb, &format!("{} AS met", line.met()));
    qb.push(") lines GROUP BY key, label");
    Ok(ratios(&mut qb, pool).await?)
}
