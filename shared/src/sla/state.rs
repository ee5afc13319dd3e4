//! Where a target stands on its clock, and when it should start nagging.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::calendar::Calendar;

/// A target's state, as shown to users and filtered on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SlaState {
    Pending,
    Met,
    Warning,
    Breached,
}

/// A target's state. Once done the outcome is final (`Met` if `done_at <= due_at`, else
/// `Breached`), whatever `now` is. Not done: `Breached` from `due_at` on, `Warning` from
/// `warning_at` on, else `Pending`; both lines are inclusive so a state never lags its instant.
pub fn state(
    due_at: DateTime<Utc>,
    warning_at: DateTime<Utc>,
    done_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> SlaState {
    match done_at {
        Some(done) if done <= due_at => SlaState::Met,
        Some(_) => SlaState::Breached,
        None if now >= due_at => SlaState::Breached,
        None if now >= warning_at => SlaState::Warning,
        None => SlaState::Pending,
    }
}

/// The warning line: the instant `fraction` of `target` working time has elapsed after `start`,
/// counted on the same calendar as the deadline so a warning never fires at night for a
/// business-hours target.
///
/// `fraction` is clamped to `0.0..=1.0` (NaN counts as 1.0: warn no earlier than the deadline)
/// and the share of `target` is rounded to whole seconds.
pub fn warning_at(calendar: &Calendar, start: DateTime<Utc>, target: Duration, fraction: f64, tz: Tz) -> DateTime<Utc> {
    let fraction = if fraction.is_nan() { 1.0 } else { fraction.clamp(0.0, 1.0) };
    let target_secs = target.num_milliseconds() as f64 / 1000.0;
    // `as` saturates; a share too large for a Duration can only be (nearly) the whole target.
    let lead = Duration::try_seconds((target_secs * fraction).round() as i64).unwrap_or(target);
    calendar.add(start, lead, tz)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::{NaiveDateTime, NaiveTime, TimeZone};
    use chrono_tz::Asia::Jakarta;

    use super::*;
    use crate::sla::BusinessHours;

    fn at(tz: Tz, s: &str) -> DateTime<Utc> {
        let ndt = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
            .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M"))
            .unwrap();
        tz.from_local_datetime(&ndt).single().unwrap().to_utc()
    }

    fn office() -> Calendar {
        let day = vec![(NaiveTime::from_hms_opt(8, 0, 0).unwrap(), NaiveTime::from_hms_opt(17, 0, 0).unwrap())];
        let weekly = [day.clone(), day.clone(), day.clone(), day.clone(), day, vec![], vec![]];
        Calendar::BusinessHours(BusinessHours::new(weekly, BTreeSet::new()).unwrap())
    }

    #[test]
    fn every_state() {
        let warning = at(Jakarta, "2026-11-23 14:00");
        let due = at(Jakarta, "2026-11-23 16:00");
        let s = Duration::seconds(1);
        let cases = [
            ("done early", Some(warning - s), warning, SlaState::Met),
            ("done exactly at due", Some(due), due + s, SlaState::Met),
            ("done late", Some(due + s), due + s, SlaState::Breached),
            ("done late, looked at before due", Some(due + s), warning, SlaState::Breached),
            ("done early, looked at long after", Some(warning), due + Duration::days(30), SlaState::Met),
            ("open, before warning", None, warning - s, SlaState::Pending),
            ("open, exactly at warning", None, warning, SlaState::Warning),
            ("open, between warning and due", None, due - s, SlaState::Warning),
            ("open, exactly at due", None, due, SlaState::Breached),
            ("open, after due", None, due + Duration::days(1), SlaState::Breached),
        ];
        for (name, done, now, expected) in cases {
            assert_eq!(state(due, warning, done, now), expected, "{name}");
        }
        // A warning line at the deadline itself skips straight from Pending to Breached.
        assert_eq!(state(due, due, None, due - s), SlaState::Pending);
        assert_eq!(state(due, due, None, due), SlaState::Breached);
    }

    #[test]
    fn warning_line() {
        // 2026-11-23 is a Monday; 10 working hours from Mon 13:00 end Tue 14:00.
        let start = at(Jakarta, "2026-11-23 13:00");
        let due = at(Jakarta, "2026-11-24 14:00");
        let target = Duration::hours(10);
        assert_eq!(office().add(start, target, Jakarta), due);
        let cases = [
            ("80 %", 0.8, at(Jakarta, "2026-11-24 12:00")),
            ("a third, rounded to seconds", 0.333, at(Jakarta, "2026-11-23 16:19:48")),
            ("zero", 0.0, start),
            ("whole", 1.0, due),
            ("above one is clamped", 1.5, due),
            ("below zero is clamped", -0.2, start),
            ("NaN warns at the deadline", f64::NAN, due),
        ];
        for (name, fraction, expected) in cases {
            assert_eq!(warning_at(&office(), start, target, fraction, Jakarta), expected, "{name}");
        }
        assert_eq!(warning_at(&Calendar::Always, start, target, 0.8, Jakarta), start + Duration::hours(8));
        assert_eq!(
            warning_at(&Calendar::Always, start, Duration::seconds(10), 0.25, Jakarta),
            start + Duration::seconds(3),
            "2.5 s rounds away from zero"
        );
    }

    #[test]
    fn state_serialises_lowercase() {
        for (state, text) in [
            (SlaState::Pending, "\"pending\""),
            (SlaState::Met, "\"met\""),
            (SlaState::Warning, "\"warning\""),
            (SlaState::Breached, "\"breached\""),
        ] {
            assert_eq!(serde_json::to_string(&state).unwrap(), text);
            assert_eq!(serde_json::from_str::<SlaState>(text).unwrap(), state);
        }
    }
}
