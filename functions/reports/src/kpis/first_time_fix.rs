//! First-time fix rate.

use nexus_shared::ApiResult;
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::{Figure, Ratio, Scope};

pub const DEFINITION: &str = "First-time fix rate: CM tickets closed in the period (the closure's site-local date) \
with exactly one `inside` visit and no new CM ticket (not cancelled, whoever it is assigned to) created on the \
same asset within 30 days after the closure / CM tickets closed in the period. Tickets whose 30 days are not \
over yet are left out of both and counted in `pending`. Week and month groups place a ticket by its closure.";

/// Days after a closure in which a new CM ticket on the asset means the fix did not hold.
pub const WINDOW_DAYS: i32 = 30;

/// SQL: the closure's window is still open.
pub const PENDING: &str = "t.closed_at + interval '30 days' > now()";

/// SQL: fixed the first time (one inside visit, no repeat within the window).
pub const FIXED: &str = "(SELECT count(*) FROM visits v WHERE v.ticket_id = t.id AND v.result = 'inside') = 1
    AND NOT EXISTS (SELECT 1 FROM tickets n WHERE n.asset_id = t.asset_id AND n.ticket_type = 'CM'
        AND n.status <> 'cancelled' AND n.id <> t.id
        AND n.created_at > t.closed_at AND n.created_at <= t.closed_at + interval '30 days')";

/// The rate and the tickets still waiting for their window to end.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FirstTimeFix {
    pub rate: Ratio,
    pub pending: i64,
}

/// CM tickets closed in the period.
pub fn push_population(scope: &Scope, qb: &mut QueryBuilder<Postgres>, columns: &str) {
    scope.push_select(qb, "t.closed_at", columns, "tickets t");
    qb.push(" AND t.ticket_type = 'CM'");
    scope.period.push_contains(qb, "t.closed_at");
}

pub async fn figures(pool: &PgPool, scope: &Scope) -> ApiResult<Vec<Figure<FirstTimeFix>>> {
    let mut qb = QueryBuilder::new(
        "SELECT key, label, count(*) FILTER (WHERE NOT pending AND fixed)::float8,
                count(*) FILTER (WHERE NOT pending), count(*) FILTER (WHERE pending) FROM (",
    );
    push_population(scope, &mut qb, &format!("{PENDING} AS pending, {FIXED} AS fixed"));
    qb.push(") closed GROUP BY key, label");
    let rows: Vec<(String, Option<String>, f64, i64, i64)> = qb.build_query_as().fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .map(|(key, label, n, d, pending)| Figure {
            key,
            label,
            value: FirstTimeFix { rate: Ratio::new(n, d), pending },
        })
        .collect())
}
