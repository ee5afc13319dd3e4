//! A ticket's SLA clock: its calendar in the location's time zone and its targets, giving the
//! four lines (response/resolution × warning/due) that are stored on the ticket.

use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveTime, Utc};
use chrono_tz::Tz;
use sqlx::PgConnection;

use crate::error::ApiError;
use crate::sla::{self, BusinessHours, Calendar};

/// The stored lines of a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lines {
    pub response_warning_at: DateTime<Utc>,
    pub response_due_at: DateTime<Utc>,
    pub resolution_warning_at: DateTime<Utc>,
    pub resolution_due_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct SlaClock {
    calendar: Calendar,
    tz: Tz,
    response_target: Duration,
    resolution_target: Duration,
    warning_ratio: f64,
}

/// The targets a ticket carries (a snapshot of its SLA rule).
#[derive(Debug, Clone, Copy)]
pub struct Targets {
    pub calendar_id: i64,
    pub response_minutes: i32,
    pub resolution_minutes: i32,
    pub warning_ratio: f32,
}

impl SlaClock {
    pub fn new(calendar: Calendar, tz: Tz, targets: Targets) -> Self {
        Self {
            calendar,
            tz,
            response_target: Duration::minutes(targets.response_minutes.into()),
            resolution_target: Duration::minutes(targets.resolution_minutes.into()),
            warning_ratio: f64::from(targets.warning_ratio).clamp(0.0, 1.0),
        }
    }

    /// Reads the calendar and builds the clock for a location's time zone. An unknown zone
    /// falls back to Asia/Jakarta (locations are validated on write; this only guards old rows).
    pub async fn load(conn: &mut PgConnection, timezone: &str, targets: Targets) -> Result<Self, ApiError> {
        let calendar = load_calendar(conn, targets.calendar_id).await?;
        let tz = Tz::from_str(timezone).unwrap_or(chrono_tz::Asia::Jakarta);
        Ok(Self::new(calendar, tz, targets))
    }

    /// The lines of a ticket opened at `opened_at` that has spent `held` working time on hold
    /// (holds pause the resolution clock only: a ticket is put on hold after it was responded to).
    pub fn lines(&self, opened_at: DateTime<Utc>, held: Duration) -> Lines {
        let (cal, tz) = (&self.calendar, self.tz);
        let warning = |target| sla::warning_at(cal, opened_at, target, self.warning_ratio, tz);
        Lines {
            response_warning_at: warning(self.response_target),
            response_due_at: cal.add(opened_at, self.response_target, tz),
            // Working time is additive: the hold's share is granted after the line it pushes.
            resolution_warning_at: cal.add(warning(self.resolution_target), held, tz),
            resolution_due_at: cal.add(cal.add(opened_at, self.resolution_target, tz), held, tz),
        }
    }

    /// The working time a hold from `held_since` to `resumed_at` adds to the resolution lines:
    /// all of it, unless the target was already breached when the hold began (a hold does not
    /// un-breach a ticket).
    pub fn hold_credit(
        &self,
        held_since: DateTime<Utc>,
        resumed_at: DateTime<Utc>,
        resolution_due_at: DateTime<Utc>,
    ) -> Duration {
        if held_since >= resolution_due_at {
            return Duration::zero();
        }
        self.working_time(held_since, resumed_at.max(held_since))
    }

    /// Working time between two instants by this clock's calendar.
    pub fn working_time(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        self.calendar.between(from, to, self.tz)
    }
}

/// `weekly_hours` is `[[["08:00","17:00"], ...], ...]`, seven days from Monday.
pub async fn load_calendar(conn: &mut PgConnection, calendar_id: i64) -> Result<Calendar, ApiError> {
    let (kind, weekly, holidays): (String, serde_json::Value, Vec<chrono::NaiveDate>) =
        sqlx::query_as("SELECT kind, weekly_hours, holidays FROM sla_calendars WHERE id = $1")
            .bind(calendar_id)
            .fetch_optional(conn)
            .await?
            .ok_or_else(|| ApiError::internal(format!("SLA calendar {calendar_id} is missing")))?;
    if kind == "24x7" {
        return Ok(Calendar::Always);
    }
    let days: Vec<Vec<(String, String)>> = serde_json::from_value(weekly).map_err(ApiError::internal)?;
    business_hours(&days, holidays.into_iter().collect()).map_err(ApiError::internal)
}

/// Builds business hours from the stored (or submitted) text form.
pub fn business_hours(
    days: &[Vec<(String, String)>],
    holidays: std::collections::BTreeSet<chrono::NaiveDate>,
) -> Result<Calendar, String> {
    if days.len() != 7 {
        return Err("weekly hours must list 7 days, Monday first".into());
    }
    let parse = |t: &str| NaiveTime::parse_from_str(t, "%H:%M").map_err(|_| format!("{t:?} is not a time like 08:00"));
    let mut weekly: [Vec<(NaiveTime, NaiveTime)>; 7] = Default::default();
    for (day, intervals) in days.iter().enumerate() {
        for (open, close) in intervals {
            weekly[day].push((parse(open)?, parse(close)?));
        }
    }
    BusinessHours::new(weekly, holidays).map(Calendar::BusinessHours).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::Asia::Jakarta;

    fn at(s: &str) -> DateTime<Utc> {
        let local = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        Jakarta.from_local_datetime(&local).unwrap().with_timezone(&Utc)
    }

    /// Mon–Fri 08:00–17:00 WIB; opened Mon 2026-11-23 08:00 with 13 working hours to resolve,
    /// so resolution is due Tue 12:00 and warned at 80 % (10 h 24 min) Tue 09:24.
    fn office_clock() -> (SlaClock, DateTime<Utc>) {
        let day = vec![("08:00".to_string(), "17:00".to_string())];
        let days = [day.clone(), day.clone(), day.clone(), day.clone(), day, vec![], vec![]];
        let calendar = business_hours(&days, Default::default()).unwrap();
        let targets = Targets { calendar_id: 2, response_minutes: 60, resolution_minutes: 13 * 60, warning_ratio: 0.8 };
        (SlaClock::new(calendar, Jakarta, targets), at("2026-11-23 08:00"))
    }

    #[test]
    fn lines_follow_the_calendar() {
        let (clock, opened) = office_clock();
        let lines = clock.lines(opened, Duration::zero());
        assert_eq!(lines.response_warning_at, at("2026-11-23 08:48"));
        assert_eq!(lines.response_due_at, at("2026-11-23 09:00"));
        assert_eq!(lines.resolution_warning_at, at("2026-11-24 09:24"));
        assert_eq!(lines.resolution_due_at, at("2026-11-24 12:00"));
    }

    /// Time on hold does not count: the working time left when the hold began is granted again
    /// from the resume; a target breached before the hold stays breached.
    #[test]
    fn holds_push_the_resolution_lines() {
        let (clock, opened) = office_clock();
        let due = clock.lines(opened, Duration::zero()).resolution_due_at;
        let cases = [
            ("hold spanning days", "2026-11-23 16:00", "2026-11-25 08:00", "2026-11-25 13:00"),
            ("held at night", "2026-11-23 20:00", "2026-11-24 10:00", "2026-11-24 14:00"),
            ("held after due", "2026-11-24 13:00", "2026-11-25 08:00", "2026-11-24 12:00"),
            ("held exactly at due", "2026-11-24 12:00", "2026-11-25 08:00", "2026-11-24 12:00"),
            ("resumed before held is an empty hold", "2026-11-24 10:00", "2026-11-24 09:00", "2026-11-24 12:00"),
        ];
        for (name, held, resumed, expected) in cases {
            let credit = clock.hold_credit(at(held), at(resumed), due);
            let lines = clock.lines(opened, credit);
            assert_eq!(lines.resolution_due_at, at(expected), "{name}");
            assert!(lines.resolution_warning_at <= lines.resolution_due_at, "{name}");
            assert_eq!(lines.response_due_at, at("2026-11-23 09:00"), "{name}: holds never move the response line");
        }
    }
}
