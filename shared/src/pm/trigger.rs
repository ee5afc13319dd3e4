//! Meter triggers: readings that make a plan's meter condition true create that plan's PM
//! ticket for the asset, in the transaction that stores the readings (no waiting for the
//! schedule). With a recurrence too, whichever comes first wins: a PM from either source
//! restarts the count, and a floating plan counts its next date from that PM's closure.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sqlx::{AssertSqlSafe, PgConnection};

use super::generate::{Calendars, Row, Site, Source, write};
use super::meter::{MeterKind, MeterRow, Reading};
use super::plan::{MeterTrigger, OpenPolicy, PlanRow, SCOPE, plan_columns};
use super::{Occurrence, Planned};
use crate::error::ApiError;
use crate::ticket::TicketStatus;

/// A meter condition, as it applies to a meter of a given kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Condition {
    /// A PM each time a cumulative meter has grown by this much since the last PM.
    Every(f64),
    /// A PM when a gauge reads above (or below) the limit, at most once per cooldown.
    Above {
        limit: f64,
        cooldown: Duration,
    },
    Below {
        limit: f64,
        cooldown: Duration,
    },
}

impl Condition {
    /// The condition a stored trigger states for a meter of `kind`; `None` when the two do not
    /// match (a gauge trigger on a cumulative meter of the same name): such a plan never fires.
    pub fn of(trigger: &MeterTrigger, kind: MeterKind) -> Option<Condition> {
        let cooldown = Duration::hours(trigger.cooldown_hours.unwrap_or(0).into());
        match (kind, trigger.every, trigger.above, trigger.below) {
            (MeterKind::Cumulative, Some(every), None, None) => Some(Condition::Every(every)),
            (MeterKind::Gauge, None, Some(limit), None) => Some(Condition::Above { limit, cooldown }),
            (MeterKind::Gauge, None, None, Some(limit)) => Some(Condition::Below { limit, cooldown }),
            _ => None,
        }
    }

    /// For a gauge: the first of `batch` (by `read_at`) past the limit at or after `not_before`.
    fn gauge_fires(&self, batch: &[Reading], not_before: DateTime<Utc>) -> Option<Reading> {
        let past_limit = |v: f64| match *self {
            Condition::Every(_) => false,
            Condition::Above { limit, .. } => v > limit,
            Condition::Below { limit, .. } => v < limit,
        };
        let mut readings: Vec<&Reading> = batch.iter().filter(|r| past_limit(r.value)).collect();
        readings.sort_by_key(|r| r.read_at);
        readings.into_iter().find(|r| r.read_at >= not_before).copied()
    }

    fn cooldown(&self) -> Duration {
        match *self {
            Condition::Every(_) => Duration::zero(),
            Condition::Above { cooldown, .. } | Condition::Below { cooldown, .. } => cooldown,
        }
    }
}

/// The PM tickets this meter's new readings (`batch`, already stored) fire, created on `conn`.
/// Each ticket's audit row carries `request_id`; the actor is the system (the plan made it).
pub async fn fire(
    conn: &mut PgConnection,
    meter: &MeterRow,
    batch: &[Reading],
    now: DateTime<Utc>,
    request_id: &str,
) -> Result<Vec<i64>, ApiError> {
    let plans: Vec<PlanRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {columns} FROM pm_plans p JOIN assets a ON a.id = $2 JOIN locations l ON l.id = a.location_id
         WHERE p.active AND p.meter_trigger IS NOT NULL AND p.meter_trigger ->> 'meter_name' = $1 AND ({SCOPE})
         ORDER BY p.id",
        columns = plan_columns("p"),
    )))
    .bind(&meter.name)
    .bind(meter.asset_id)
    .fetch_all(&mut *conn)
    .await?;
    if plans.is_empty() {
        return Ok(Vec::new());
    }
    let (location_id, timezone): (i64, String) = sqlx::query_as(
        "SELECT a.location_id, l.timezone FROM assets a JOIN locations l ON l.id = a.location_id WHERE a.id = $1",
    )
    .bind(meter.asset_id)
    .fetch_one(&mut *conn)
    .await?;

    let mut rows = Vec::new();
    for plan in &plans {
        let Some(condition) = plan.meter_trigger().and_then(|t| Condition::of(&t, meter.kind)) else { continue };
        let last_pm = last_pm(conn, plan.id, meter.asset_id).await?;
        if plan.open_policy == OpenPolicy::SkipIfOpen && has_open_ticket(conn, plan.id, meter.asset_id).await? {
            continue; // the plan's work is already under way; the next reading asks again
        }
        // Counting starts at the plan's last PM on the asset (a gauge's after its cooldown), or
        // when the plan was made.
        let fired = match condition {
            Condition::Every(every) => {
                cumulative_fires(conn, meter.id, last_pm.unwrap_or(plan.created_at), every).await?
            }
            _ => condition.gauge_fires(batch, last_pm.map_or(plan.created_at, |t| t + condition.cooldown())),
        };
        let Some(reading) = fired else { continue };
        let site = Site { plan_id: plan.id, asset_id: meter.asset_id, location_id, timezone: timezone.clone() };
        let due_on = reading.read_at.with_timezone(&site.tz()).date_naive();
        if due_on < plan.starts_on || plan.ends_on.is_some_and(|end| due_on > end) {
            continue;
        }
        let reason =
            format!("{} read {} {} at {}", meter.name, reading.value, meter.unit, reading.read_at.to_rfc3339());
        rows.push(Row {
            site,
            occurrence: Occurrence {
                nominal: due_on,
                due_on,
                shifted_from: None,
                reason: Some(reason.chars().take(200).collect()),
                outcome: Planned::Generate,
            },
            scheduled_for: reading.read_at,
            // A reading taken offline and sent later: the clocks start when it arrived.
            sla_starts_at: reading.read_at.max(now),
            outcome: "generated",
            source: Source::Meter { value: reading.value },
        });
    }
    let by_id: HashMap<i64, &PlanRow> = plans.iter().map(|p| (p.id, p)).collect();
    let written = write(conn, &rows, &by_id, &mut Calendars::default(), now, request_id).await?;
    Ok(written.ticket_ids)
}

/// When the plan's last PM on the asset was due to start (either source).
async fn last_pm(conn: &mut PgConnection, plan_id: i64, asset_id: i64) -> Result<Option<DateTime<Utc>>, ApiError> {
    Ok(sqlx::query_scalar(
        "SELECT max(scheduled_for) FROM pm_occurrences WHERE plan_id = $1 AND asset_id = $2 AND outcome = 'generated'",
    )
    .bind(plan_id)
    .bind(asset_id)
    .fetch_one(conn)
    .await?)
}

async fn has_open_ticket(conn: &mut PgConnection, plan_id: i64, asset_id: i64) -> Result<bool, ApiError> {
    let open = TicketStatus::sql_list(TicketStatus::ACTIVE);
    Ok(sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT EXISTS (SELECT 1 FROM tickets WHERE pm_plan_id = $1 AND asset_id = $2 AND status IN {open})"
    )))
    .bind(plan_id)
    .bind(asset_id)
    .fetch_one(conn)
    .await?)
}

/// The first reading after `since` by which the meter has grown by `every` since `since`: the
/// sum of each reading's increase over the one before it (a reset counts from zero), starting
/// from the last reading at or before `since`.
async fn cumulative_fires(
    conn: &mut PgConnection,
    meter_id: i64,
    since: DateTime<Utc>,
    every: f64,
) -> Result<Option<Reading>, ApiError> {
    let fired: Option<(f64, DateTime<Utc>, bool)> = sqlx::query_as(
        "SELECT value, read_at, reset FROM (
             SELECT value, read_at, reset,
                    sum(CASE WHEN prev IS NULL THEN 0 WHEN reset THEN value ELSE value - prev END)
                        OVER (ORDER BY read_at, id) AS grown
             FROM (SELECT id, value, read_at, reset, lag(value) OVER (ORDER BY read_at, id) AS prev
                   FROM meter_readings
                   WHERE meter_id = $1
                     AND read_at >= coalesce((SELECT max(read_at) FROM meter_readings WHERE meter_id = $1 AND read_at <= $2),
                                             '-infinity')) r
         ) g
         WHERE read_at > $2 AND grown >= $3
         ORDER BY read_at LIMIT 1",
    )
    .bind(meter_id)
    .bind(since)
    .bind(every)
    .fetch_optional(conn)
    .await?;
    Ok(fired.map(|(value, read_at, reset)| Reading { value, read_at, reset }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 29, hour, 0, 0).unwrap()
    }

    fn r(value: f64, hour: u32) -> Reading {
        Reading { value, read_at: at(hour), reset: false }
    }

    fn trigger(every: Option<f64>, above: Option<f64>, below: Option<f64>) -> MeterTrigger {
        MeterTrigger { meter_name: "m".into(), every, above, below, cooldown_hours: Some(6) }
    }

    #[test]
    fn a_trigger_applies_only_to_a_meter_of_its_kind() {
        assert_eq!(Condition::of(&trigger(Some(5.0), None, None), MeterKind::Cumulative), Some(Condition::Every(5.0)));
        assert_eq!(Condition::of(&trigger(Some(5.0), None, None), MeterKind::Gauge), None);
        assert_eq!(Condition::of(&trigger(None, Some(45.0), None), MeterKind::Cumulative), None);
        assert_eq!(
            Condition::of(&trigger(None, None, Some(2.0)), MeterKind::Gauge),
            Some(Condition::Below { limit: 2.0, cooldown: Duration::hours(6) })
        );
    }

    #[test]
    fn a_gauge_fires_on_its_first_reading_past_the_limit_from_a_given_instant() {
        let above = Condition::Above { limit: 45.0, cooldown: Duration::hours(6) };
        let batch = [r(50.0, 9), r(46.0, 7), r(40.0, 5), r(45.0, 6)];
        // 45.0 is not above 45; 46 at 07:00 is the first that is.
        assert_eq!(above.gauge_fires(&batch, at(0)), Some(r(46.0, 7)));
        assert_eq!(above.gauge_fires(&batch, at(8)), Some(r(50.0, 9)));
        assert_eq!(above.gauge_fires(&batch, at(10)), None);
        assert_eq!(above.cooldown(), Duration::hours(6));
        let below = Condition::Below { limit: 41.0, cooldown: Duration::hours(1) };
        assert_eq!(below.gauge_fires(&batch, at(0)), Some(r(40.0, 5)));
        assert_eq!(Condition::Every(1.0).gauge_fires(&batch, at(0)), None);
    }
}
