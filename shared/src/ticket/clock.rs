//! A ticket's SLA clock: its calendar in the location's time zone and its targets, giving the
//! four lines (response/resolution × warning/due) that are stored on the ticket.

use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveTime, Utc};
use chrono_tz::Tz;
use sqlx::PgConnection;

use crate::error::ApiError;
use crate::sla::{BusinessHours, Calendar};

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
        let at = |work: Duration| self.calendar.add(opened_at, work, self.tz);
        let warn =
            |target: Duration| Duration::seconds((target.num_seconds() as f64 * self.warning_ratio).round() as i64);
        Lines {
            response_warning_at: at(warn(self.response_target)),
            response_due_at: at(self.response_target),
            resolution_warning_at: at(warn(self.resolution_target) + held),
            resolution_due_at: at(self.resolution_target + held),
        }
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
