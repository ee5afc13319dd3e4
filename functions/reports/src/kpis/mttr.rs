//! Mean time to repair, wall-clock and in working time.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use nexus_shared::ApiResult;
use nexus_shared::sla::Calendar;
use nexus_shared::ticket::load_calendar;
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::{Figure, Ratio, Scope};

pub const DEFINITION: &str = "MTTR (CM only): the mean of `resolved_at − created_at`, in hours, over the CM \
tickets resolved in the period (the resolution's site-local date within `from`..`to`; cancelled tickets are \
left out). `mttr_hours` is wall-clock time, holds included; `mttr_working_hours` is working time on the \
ticket's SLA calendar (in its site's zone) minus the working time the ticket spent on hold. Numerator: the \
sum of the hours; denominator: the tickets. Week and month groups place a ticket by its resolution.";

/// Wall-clock and working-time MTTR of one group.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Mttr {
    pub wall: Ratio,
    pub working: Ratio,
}

/// Hours from `created` to `resolved`.
pub fn wall_hours(created: DateTime<Utc>, resolved: DateTime<Utc>) -> f64 {
    hours(resolved - created)
}

/// Working hours from `created` to `resolved` on `calendar` in `tz`, less the working time on
/// hold (`held_seconds`, already measured on the same calendar); never below zero.
pub fn working_hours(
    calendar: &Calendar,
    tz: Tz,
    created: DateTime<Utc>,
    resolved: DateTime<Utc>,
    held_seconds: i64,
) -> f64 {
    let working = calendar.between(created, resolved, tz) - Duration::seconds(held_seconds);
    hours(working.max(Duration::zero()))
}

fn hours(d: Duration) -> f64 {
    d.num_milliseconds() as f64 / 3_600_000.0
}

/// The population: CM tickets resolved in the period.
pub fn push_population(scope: &Scope, qb: &mut QueryBuilder<Postgres>, columns: &str) {
    scope.push_select(qb, "t.resolved_at", columns, "tickets t");
    qb.push(" AND t.ticket_type = 'CM' AND t.status <> 'cancelled'");
    scope.period.push_contains(qb, "t.resolved_at");
}

/// One row per ticket (working time is walked on each ticket's calendar in Rust): the cost is
/// linear in the CM tickets resolved in the period, plus one read per calendar used.
pub async fn figures(pool: &PgPool, scope: &Scope) -> ApiResult<Vec<Figure<Mttr>>> {
    let mut qb = QueryBuilder::new("");
    push_population(scope, &mut qb, "t.created_at, t.resolved_at, t.held_seconds, t.sla_calendar_id, l.timezone");
    type Row = (String, Option<String>, DateTime<Utc>, DateTime<Utc>, i64, i64, String);
    let rows: Vec<Row> = qb.build_query_as().fetch_all(pool).await?;
    let mut calendars: HashMap<i64, Calendar> = HashMap::new();
    let mut groups: Vec<Figure<(f64, f64, i64)>> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (key, label, created, resolved, held, calendar_id, timezone) in rows {
        if let std::collections::hash_map::Entry::Vacant(slot) = calendars.entry(calendar_id) {
            let mut conn = pool.acquire().await?;
            slot.insert(load_calendar(&mut conn, calendar_id).await?);
        }
        let tz = Tz::from_str(&timezone).unwrap_or(chrono_tz::Asia::Jakarta);
        let working = working_hours(&calendars[&calendar_id], tz, created, resolved, held);
        let i = *index.entry(key.clone()).or_insert_with(|| {
            groups.push(Figure { key, label, value: (0.0, 0.0, 0) });
            groups.len() - 1
        });
        let g = &mut groups[i].value;
        *g = (g.0 + wall_hours(created, resolved), g.1 + working, g.2 + 1);
    }
    Ok(groups
        .into_iter()
        .map(|f| {
            let (wall, working, n) = f.value;
            Figure {
                key: f.key,
                label: f.label,
                value: Mttr { wall: Ratio::new(wall, n), working: Ratio::new(working, n) },
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDateTime, TimeZone};
    use chrono_tz::Asia::Jakarta;
    use nexus_shared::ticket::business_hours;

    fn at(s: &str) -> DateTime<Utc> {
        Jakarta
            .from_local_datetime(&NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap())
            .unwrap()
            .with_timezone(&Utc)
    }

    fn office() -> Calendar {
        let day = vec![("08:00".to_string(), "17:00".to_string())];
        business_hours(&[day.clone(), day.clone(), day.clone(), day.clone(), day, vec![], vec![]], Default::default())
            .unwrap()
    }

    /// Mon–Fri 08:00–17:00 WIB.
    #[test]
    fn working_hours_follow_the_calendar_and_drop_holds() {
        let cases = [
            ("same day", "2026-11-23 09:00", "2026-11-23 12:30", 0, 3.5),
            ("overnight: 17−16 + 10−8", "2026-11-23 16:00", "2026-11-24 10:00", 0, 3.0),
            ("over a weekend: Fri 16–17 + Mon 8–9", "2026-11-27 16:00", "2026-11-30 09:00", 0, 2.0),
            ("an hour on hold", "2026-11-23 09:00", "2026-11-23 12:30", 3600, 2.5),
            ("opened at night", "2026-11-23 20:00", "2026-11-24 08:30", 0, 0.5),
            ("more hold than work is zero", "2026-11-23 09:00", "2026-11-23 10:00", 7200, 0.0),
        ];
        for (name, created, resolved, held, expected) in cases {
            assert_eq!(working_hours(&office(), Jakarta, at(created), at(resolved), held), expected, "{name}");
        }
        assert_eq!(working_hours(&Calendar::Always, Jakarta, at("2026-11-23 16:00"), at("2026-11-24 10:00"), 0), 18.0);
        assert_eq!(wall_hours(at("2026-11-27 16:00"), at("2026-11-30 09:00")), 65.0);
    }
}
