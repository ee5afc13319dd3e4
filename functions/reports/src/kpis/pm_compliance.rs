//! PM compliance (SMRP style).

use chrono::Duration;
use nexus_shared::ApiResult;
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::{Figure, Ratio, Scope, ratios};

pub const DEFINITION: &str = "PM compliance (SMRP style): PM tickets resolved by `scheduled_for` + 20 % of their \
plan's interval (at most 28 days; a month counts 30 days; a PM without a plan gets no grace) / PM tickets due \
in the period (`scheduled_for`'s site-local date; PM tickets without `scheduled_for` and cancelled ones are left \
out). A PM still unresolved before its grace ends is not yet decided and left out of both. Week and month \
groups place a ticket by `scheduled_for`.";

/// The grace after `scheduled_for`: 20 % of the interval, at most 28 days.
pub fn grace(every: i32, unit: &str) -> Duration {
    let unit_seconds: i64 = match unit {
        "day" => 86_400,
        "week" => 604_800,
        _ => 2_592_000,
    };
    Duration::seconds((i64::from(every) * unit_seconds / 5).min(28 * 86_400))
}

/// SQL: the deadline, as [`grace`] computes it (`p` the ticket's plan, possibly absent).
/// (LEAST ignores NULLs: without the CASE a ticket without a plan would get the 28-day cap.)
pub const DEADLINE: &str =
    "t.scheduled_for + make_interval(secs => CASE WHEN p.id IS NULL THEN 0 ELSE LEAST(28 * 86400,
    p.every::bigint * CASE p.unit WHEN 'day' THEN 86400 WHEN 'week' THEN 604800 ELSE 2592000 END / 5) END)";

/// The decided PM tickets due in the period.
pub fn push_population(scope: &Scope, qb: &mut QueryBuilder<Postgres>, columns: &str) {
    scope.push_select(qb, "t.scheduled_for", columns, "tickets t LEFT JOIN pm_plans p ON p.id = t.pm_plan_id");
    qb.push(format_args!(
        " AND t.ticket_type = 'PM' AND t.status <> 'cancelled' AND t.scheduled_for IS NOT NULL
          AND NOT (t.resolved_at IS NULL AND {DEADLINE} > now())"
    ));
    scope.period.push_contains(qb, "t.scheduled_for");
}

/// SQL: resolved by the deadline.
pub fn met() -> String {
    format!("(t.resolved_at IS NOT NULL AND t.resolved_at <= {DEADLINE})")
}

pub async fn figures(pool: &PgPool, scope: &Scope) -> ApiResult<Vec<Figure<Ratio>>> {
    let mut qb = QueryBuilder::new("SELECT key, label, count(*) FILTER (WHERE met)::float8, count(*) FROM (");
    push_population(scope, &mut qb, &format!("{} AS met", met()));
    qb.push(") due GROUP BY key, label");
    Ok(ratios(&mut qb, pool).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grace_is_a_fifth_of_the_interval_up_to_28_days() {
        let cases = [
            ("daily", 1, "day", Duration::hours(4) + Duration::minutes(48)),
            ("weekly", 1, "week", Duration::hours(33) + Duration::minutes(36)),
            ("every 10 days", 10, "day", Duration::days(2)),
            ("monthly (30 days)", 1, "month", Duration::days(6)),
            ("quarterly", 3, "month", Duration::days(18)),
            ("half-yearly is capped", 6, "month", Duration::days(28)),
            ("yearly is capped", 12, "month", Duration::days(28)),
        ];
        for (name, every, unit, expected) in cases {
            assert_eq!(grace(every, unit), expected, "{name}");
        }
    }
}
