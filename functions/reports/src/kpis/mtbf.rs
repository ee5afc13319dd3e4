//! Mean time between failures, per asset, averaged over assets.

use chrono::NaiveDate;
use nexus_shared::ApiResult;
use nexus_shared::ticket::TicketType;
use sqlx::{PgConnection, PgPool, QueryBuilder};

use super::{Figure, Ratio, Scope, ratios};
use crate::group::{GroupBy, month_key, week_key};
use crate::period::Period;
use crate::rollup;

pub const DEFINITION: &str = "MTBF (per asset): for each asset, the mean time in hours between the creation of \
consecutive CM tickets on it, both created in the period (site-local dates; cancelled tickets are not failures \
and are left out); assets with fewer than two such tickets are not counted. A group's value is the mean over \
its assets: numerator = the sum of the per-asset means, denominator = the assets counted. The pairs are formed \
within a group, so by week or month (placed by creation) a gap spanning two buckets counts in neither.";

/// The failures: CM tickets created in the period, not cancelled (`key, label, <columns>`).
pub fn push_failures(scope: &Scope, qb: &mut QueryBuilder<sqlx::Postgres>, columns: &str) {
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
/// to the span), so each asset's failures reduce to (first, last, count): the rolled-up days'
/// rows (`kpi_failures`) and the live failures of the `live` periods merge per (group, asset)
/// with min, max and sum, in one hash aggregate (no sort of the period's failures).
pub async fn figures(
    pool: &PgPool,
    scope: &Scope,
    rolled: &[NaiveDate],
    live: &[Period],
) -> ApiResult<Vec<Figure<Ratio>>> {
    if scope.ticket_type == Some(TicketType::Pm) {
        return Ok(Vec::new()); // Only CM tickets are failures.
    }
    // Whole weeks or months of a national report: one row each from the bucket table.
    let (mut figures, rolled) = read_buckets(pool, scope, rolled).await?;
    let mut qb = QueryBuilder::new("WITH failures AS (");
    let mut parts = 0;
    if !rolled.is_empty() {
        rollup::push_failures(scope, &mut qb, &rolled);
        parts += 1;
    }
    for period in live {
        if parts > 0 {
            qb.push(" UNION ALL ");
        }
        let gap = Scope { period: *period, ..scope.clone() };
        push_failures(
            &gap,
            &mut qb,
            "t.asset_id, t.created_at AS first_at, t.created_at AS last_at, 1::int8 AS failures",
        );
        parts += 1;
    }
    if parts == 0 {
        return Ok(figures);
    }
    qb.push(format_args!(
        "), per_asset AS (
            SELECT key, label, {PER_ASSET_MEAN} AS hours FROM failures GROUP BY key, label, asset_id HAVING sum(failures) > 1)
         SELECT key, label, sum(hours)::float8, count(*) FROM per_asset GROUP BY key, label"
    ));
    figures.extend(ratios(&mut qb, pool).await?);
    Ok(figures)
}

/// SQL over an asset's failure rows: its mean gap in hours.
const PER_ASSET_MEAN: &str = "extract(epoch FROM max(last_at) - min(first_at)) / (sum(failures) - 1) / 3600";

/// `kpi_mtbf_buckets.kind` of a grouping, if its buckets are kept.
fn bucket_kind(group_by: GroupBy) -> Option<&'static str> {
    match group_by {
        GroupBy::Week => Some("week"),
        GroupBy::Month => Some("month"),
        _ => None,
    }
}

/// A national report by week or month: the figures of its whole buckets whose every day is
/// rolled up, from `kpi_mtbf_buckets`, and the rolled-up days left to merge per asset.
async fn read_buckets(
    pool: &PgPool,
    scope: &Scope,
    rolled: &[NaiveDate],
) -> ApiResult<(Vec<Figure<Ratio>>, Vec<NaiveDate>)> {
    let Some(kind) = bucket_kind(scope.group_by).filter(|_| rollup::national(scope)) else {
        return Ok((Vec::new(), rolled.to_vec()));
    };
    let is_rolled = |d: &NaiveDate| rolled.binary_search(d).is_ok();
    let whole: Vec<NaiveDate> = scope
        .group_by
        .fixed_groups(scope.period)
        .into_iter()
        .filter_map(|(_, last)| scope.group_by.bucket(last))
        .filter(|(first, last)| {
            *first >= scope.period.from
                && *last <= scope.period.to
                && first.iter_days().take_while(|d| d <= last).all(|d| is_rolled(&d))
        })
        .map(|(first, _)| first)
        .collect();
    if whole.is_empty() {
        return Ok((Vec::new(), rolled.to_vec()));
    }
    let priority = scope.priority.map_or("", |p| p.as_str());
    let rows: Vec<(NaiveDate, f64, i64)> = sqlx::query_as(
        "SELECT bucket, hours_sum, assets FROM kpi_mtbf_buckets WHERE kind = $1 AND bucket = ANY($2) AND priority = $3",
    )
    .bind(kind)
    .bind(&whole)
    .bind(priority)
    .fetch_all(pool)
    .await?;
    let mut figures = Vec::new();
    let mut rest = rolled.to_vec();
    for (first, hours, assets) in rows {
        let Some((_, last)) = scope.group_by.bucket(first) else { continue };
        rest.retain(|d| *d < first || *d > last);
        let key = if kind == "week" { week_key(first) } else { month_key(first) };
        if scope.key.as_ref().is_none_or(|k| *k == key) {
            figures.push(Figure { key, label: None, value: Ratio::new(hours, assets) });
        }
    }
    Ok((figures, rest))
}

/// Rewrites the national week and month buckets holding `day` (in the transaction that rebuilt
/// its rollup rows), each only once every day of it is rolled up: the per-asset means of the
/// bucket's `kpi_failures` rows summed, for every priority and each one.
pub async fn write_buckets(conn: &mut PgConnection, day: NaiveDate) -> sqlx::Result<()> {
    for group_by in [GroupBy::Week, GroupBy::Month] {
        let (Some(kind), Some((first, last))) = (bucket_kind(group_by), group_by.bucket(day)) else { continue };
        sqlx::query("DELETE FROM kpi_mtbf_buckets WHERE kind = $1 AND bucket = $2")
            .bind(kind)
            .bind(first)
            .execute(&mut *conn)
            .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO kpi_mtbf_buckets (kind, bucket, priority, hours_sum, assets)
             SELECT $1, $2, p.priority, COALESCE(sum(x.hours), 0), count(x.hours)
             FROM (VALUES (''), ('critical'), ('high'), ('medium'), ('low')) AS p (priority)
             LEFT JOIN (
                 SELECT COALESCE(priority, '') AS priority, {PER_ASSET_MEAN} AS hours
                 FROM kpi_failures WHERE day BETWEEN $2 AND $3
                 GROUP BY GROUPING SETS ((asset_id), (asset_id, priority)) HAVING sum(failures) > 1
             ) x ON x.priority = p.priority
             WHERE (SELECT count(*) FROM kpi_rollup_days WHERE day BETWEEN $2 AND $3) = $3 - $2 + 1
             GROUP BY p.priority"
        )))
        .bind(kind)
        .bind(first)
        .bind(last)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
