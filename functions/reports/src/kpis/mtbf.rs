//! Mean time between failures, per asset, averaged over assets.

use nexus_shared::ApiResult;
use sqlx::{PgPool, QueryBuilder};

use super::{Figure, Ratio, Scope, ratios};

pub const DEFINITION: &str = "MTBF (per asset): for each asset, the mean time in hours between the creation of \
consecutive CM tickets on it, both created in the period (site-local dates; cancelled tickets are not failures \
and are left out); assets with fewer than two such tickets are not counted. A group's value is the mean over \
its assets: numerator = the sum of the per-asset means, denominator = the assets counted. The pairs are formed \
within a group, so by week or month (placed by creation) a gap spanning two buckets counts in neither.";

/// The failures: CM tickets created in the period, not cancelled.
fn push_failures(scope: &Scope, qb: &mut QueryBuilder<sqlx::Postgres>, columns: &str) {
    scope.push_select(qb, "t.created_at", columns, "tickets t");
    qb.push(" AND t.ticket_type = 'CM' AND t.status <> 'cancelled'");
    scope.period.push_contains(qb, "t.created_at");
}

/// The CM tickets of the period with the creation of the one before on the same asset in the
/// same group (`prev`, NULL for an asset's first).
pub fn push_population(scope: &Scope, qb: &mut QueryBuilder<sqlx::Postgres>, columns: &str) {
    let key = scope.group_by.key_sql("t.created_at");
    let columns = format!(
        "lag(t.created_at) OVER (PARTITION BY {key}, t.asset_id ORDER BY t.created_at, t.id) AS prev, {columns}"
    );
    push_failures(scope, qb, &columns);
}

/// The mean of an asset's consecutive gaps is (last − first) / (failures − 1) (the gaps add up
/// to the span): one hash aggregate per (group, asset), no sort of the period's failures.
pub async fn figures(pool: &PgPool, scope: &Scope) -> ApiResult<Vec<Figure<Ratio>>> {
    let mut qb = QueryBuilder::new("WITH cm AS (");
    push_failures(scope, &mut qb, "t.asset_id, t.created_at");
    qb.push(
        "), per_asset AS (
            SELECT key, label, extract(epoch FROM max(created_at) - min(created_at)) / (count(*) - 1) / 3600 AS hours
            FROM cm GROUP BY key, label, asset_id HAVING count(*) > 1)
         SELECT key, label, sum(hours)::float8, count(*) FROM per_asset GROUP BY key, label",
    );
    Ok(ratios(&mut qb, pool).await?)
}
