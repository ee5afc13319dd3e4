//! Reopen rate.

use nexus_shared::ApiResult;
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::{Figure, Ratio, Scope, ratios};

pub const DEFINITION: &str = "Reopen rate: approvals rejected / approvals decided in the period (the decision's \
site-local date), a rejection sending a resolved ticket back to work. Grouped by the ticket's dimensions; week \
and month groups place an approval by its decision.";

/// The approvals decided in the period (`ap`), with their tickets.
pub fn push_population(scope: &Scope, qb: &mut QueryBuilder<Postgres>, columns: &str) {
    scope.push_select(qb, "ap.created_at", columns, "approvals ap JOIN tickets t ON t.id = ap.ticket_id");
    scope.period.push_contains(qb, "ap.created_at");
}

pub async fn figures(pool: &PgPool, scope: &Scope) -> ApiResult<Vec<Figure<Ratio>>> {
    let mut qb = QueryBuilder::new("SELECT key, label, count(*) FILTER (WHERE rejected)::float8, count(*) FROM (");
    push_population(scope, &mut qb, "ap.decision = 'reject' AS rejected");
    qb.push(") decided GROUP BY key, label");
    Ok(ratios(&mut qb, pool).await?)
}
