//! A plan's occurrences: its recurrence's dates moved off the calendar's non-working days, and
//! the instant each falls due at a site (the plan's start time in the site's own zone).
//! The forecast and the generator both read occurrences from here, so they cannot disagree.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;

use super::recurrence::Recurrence;
use crate::sla::{Calendar, ClosedDay, to_utc};

crate::text_enum! {
    /// What happens to an occurrence on a holiday or a closed weekday of the plan's calendar.
    pub enum NonWorking { Skip = "skip", Previous = "previous", Next = "next" }
}

crate::text_enum! {
    /// `fixed`: dates follow `starts_on` whatever happened; `floating`: the next date is one
    /// interval after the previous occurrence was closed.
    pub enum Anchor { Fixed = "fixed", Floating = "floating" }
}

/// How far a holiday rule looks for a working day before it gives up and skips.
const MAX_SHIFT_DAYS: u64 = 366;

/// One occurrence of a plan (for every asset in its scope alike: dates are site-local).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    /// The recurrence's date.
    pub nominal: NaiveDate,
    /// The date the work is due: `nominal`, or the working day the holiday rule moved it to.
    pub due_on: NaiveDate,
    /// `nominal` when it was moved.
    pub shifted_from: Option<NaiveDate>,
    /// Why it was moved or skipped.
    pub reason: Option<String>,
    pub outcome: Planned,
}

/// What the rules say about an occurrence before anything is generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Planned {
    Generate,
    /// On a non-working day under `skip` (or no working day found): recorded as skipped.
    SkipNonWorking,
    /// Moved onto a day that already has an occurrence of the plan: one piece of work that day.
    Merged,
}

#[derive(Debug, Clone)]
pub struct Schedule {
    pub recurrence: Recurrence,
    pub anchor: Anchor,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub start_time: NaiveTime,
    pub non_working: NonWorking,
    pub calendar: Calendar,
}

impl Schedule {
    /// `nominal` under the holiday rule.
    pub fn place(&self, nominal: NaiveDate) -> Occurrence {
        let due = |due_on, shifted_from, reason: Option<String>, outcome| Occurrence {
            nominal,
            due_on,
            shifted_from,
            reason,
            outcome,
        };
        let Some(closed) = self.calendar.closed_on(nominal) else {
            return due(nominal, None, None, Planned::Generate);
        };
        let why = |closed: ClosedDay| format!("{nominal} is {closed}");
        let step = |date: NaiveDate| match self.non_working {
            NonWorking::Previous => date.pred_opt(),
            _ => date.succ_opt(),
        };
        if self.non_working != NonWorking::Skip {
            let mut date = nominal;
            for _ in 0..MAX_SHIFT_DAYS {
                let Some(next) = step(date) else { break };
                date = next;
                if self.calendar.closed_on(date).is_none() {
                    return due(date, Some(nominal), Some(why(closed)), Planned::Generate);
                }
            }
            let reason = format!("{}; no working day within a year", why(closed));
            return due(nominal, None, Some(reason), Planned::SkipNonWorking);
        }
        due(nominal, None, Some(why(closed)), Planned::SkipNonWorking)
    }

    /// A fixed plan's occurrences whose nominal date is on or after `from`, in order, up to
    /// `ends_on`. Due dates never decrease (both shifts are monotone); an occurrence moved onto
    /// the due date of the one before it is `Merged`.
    pub fn fixed_from(&self, from: NaiveDate) -> impl Iterator<Item = Occurrence> + '_ {
        let mut last_due: Option<NaiveDate> = None;
        self.recurrence
            .dates_from(self.starts_on, from)
            .take_while(|nominal| self.ends_on.is_none_or(|end| *nominal <= end))
            .map(move |nominal| {
                let mut occurrence = self.place(nominal);
                if occurrence.outcome == Planned::Generate {
                    if last_due == Some(occurrence.due_on) {
                        occurrence.outcome = Planned::Merged;
                        occurrence.reason = Some(match occurrence.reason.take() {
                            Some(why) => format!("{why}; merged with the occurrence already due that day"),
                            None => "merged with the occurrence already due that day".into(),
                        });
                    }
                    last_due = Some(occurrence.due_on);
                }
                occurrence
            })
    }

    /// A floating plan's next occurrence after one done on `done_on` (the local date the
    /// previous ticket was closed, or the due date of one skipped), unless past `ends_on`.
    /// Always due after `done_on`: when the holiday rule moves a date back onto (or before) it
    /// (a daily plan, `previous`, closed on a Friday: Saturday moves back to Friday), the next
    /// interval is taken instead, so a plan never asks twice for the same day.
    pub fn floating_after(&self, done_on: NaiveDate) -> Option<Occurrence> {
        let mut nominal = self.recurrence.step(done_on)?;
        for _ in 0..MAX_SHIFT_DAYS {
            if !self.within_end(nominal) {
                return None;
            }
            let occurrence = self.place(nominal);
            if occurrence.due_on > done_on {
                return Some(occurrence);
            }
            nominal = self.recurrence.step(nominal)?;
        }
        None
    }

    /// The first occurrence on or after `from` by the fixed dates (a floating plan's first).
    pub fn first_from(&self, from: NaiveDate) -> Option<Occurrence> {
        self.fixed_from(from).next()
    }

    fn within_end(&self, nominal: NaiveDate) -> bool {
        self.ends_on.is_none_or(|end| nominal <= end)
    }

    /// The instant an occurrence due on `due_on` falls due at a site in `tz`: the start time
    /// on that local date (when clocks spring forward over it, the end of the gap; when they
    /// fall back, the earlier instant).
    pub fn scheduled_for(&self, due_on: NaiveDate, tz: Tz) -> DateTime<Utc> {
        to_utc(tz, due_on.and_time(self.start_time))
    }

    /// The earliest instant, in any zone on Earth (UTC+14 at most), at which an occurrence due
    /// on `due_on` can fall due: before it minus the lead time, no site needs it.
    pub fn earliest_due(&self, due_on: NaiveDate) -> DateTime<Utc> {
        due_on.and_time(self.start_time).and_utc() - chrono::Duration::hours(14)
    }
}

/// A day before `date`, or `date` at the start of time.
pub fn day_before(date: NaiveDate) -> NaiveDate {
    date.checked_sub_days(Days::new(1)).unwrap_or(date)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::{TimeZone, Weekday};
    use chrono_tz::Asia::{Jakarta, Jayapura, Makassar};
    use chrono_tz::Europe::Berlin;

    use super::*;
    use crate::pm::Unit;
    use crate::sla::BusinessHours;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn t(s: &str) -> NaiveTime {
        NaiveTime::parse_from_str(s, "%H:%M").unwrap()
    }

    /// Monday to Friday 08:00-17:00 with the given holidays.
    fn office(holidays: &[&str]) -> Calendar {
        let day = vec![(t("08:00"), t("17:00"))];
        let weekly = [day.clone(), day.clone(), day.clone(), day.clone(), day, vec![], vec![]];
        Calendar::BusinessHours(
            BusinessHours::new(weekly, holidays.iter().map(|h| d(h)).collect::<BTreeSet<_>>()).unwrap(),
        )
    }

    fn schedule(
        every: u32,
        unit: Unit,
        weekdays: Vec<Weekday>,
        non_working: NonWorking,
        calendar: Calendar,
    ) -> Schedule {
        Schedule {
            recurrence: Recurrence::new(every, unit, weekdays, None).unwrap(),
            anchor: Anchor::Fixed,
            starts_on: d("2026-12-01"),
            ends_on: None,
            start_time: t("08:00"),
            non_working,
            calendar,
        }
    }

    /// `(due_on, shifted_from, outcome)` of the first `n` occurrences from `from`.
    fn occurrences(s: &Schedule, from: &str, n: usize) -> Vec<(String, Option<String>, Planned)> {
        s.fixed_from(d(from))
            .take(n)
            .map(|o| (o.due_on.to_string(), o.shifted_from.map(|d| d.to_string()), o.outcome))
            .collect()
    }

    fn due(date: &str) -> (String, Option<String>, Planned) {
        (date.to_string(), None, Planned::Generate)
    }

    fn moved(date: &str, from: &str) -> (String, Option<String>, Planned) {
        (date.to_string(), Some(from.to_string()), Planned::Generate)
    }

    fn skipped(date: &str) -> (String, Option<String>, Planned) {
        (date.to_string(), None, Planned::SkipNonWorking)
    }

    fn merged(date: &str, from: &str) -> (String, Option<String>, Planned) {
        (date.to_string(), Some(from.to_string()), Planned::Merged)
    }

    // December 2026: the 24th is a Thursday, 25th Friday, 26th/27th the weekend, 28th Monday.
    #[test]
    fn holiday_runs_under_each_rule() {
        let holidays = ["2026-12-24", "2026-12-25", "2026-12-28"];
        let weekly_thursday = |rule| schedule(1, Unit::Week, vec![Weekday::Thu], rule, office(&holidays));
        let cases = [
            (NonWorking::Next, vec![due("2026-12-17"), moved("2026-12-29", "2026-12-24"), due("2026-12-31")]),
            (NonWorking::Previous, vec![due("2026-12-17"), moved("2026-12-23", "2026-12-24"), due("2026-12-31")]),
            (NonWorking::Skip, vec![due("2026-12-17"), skipped("2026-12-24"), due("2026-12-31")]),
        ];
        for (rule, expected) in cases {
            assert_eq!(occurrences(&weekly_thursday(rule), "2026-12-15", 3), expected, "{rule}");
        }
    }

    #[test]
    fn a_daily_plan_through_a_long_weekend_merges_onto_one_day() {
        let daily = |rule| schedule(1, Unit::Day, vec![], rule, office(&["2026-12-25", "2026-12-28"]));
        assert_eq!(
            occurrences(&daily(NonWorking::Next), "2026-12-24", 7),
            vec![
                due("2026-12-24"),
                moved("2026-12-29", "2026-12-25"),
                merged("2026-12-29", "2026-12-26"),
                merged("2026-12-29", "2026-12-27"),
                merged("2026-12-29", "2026-12-28"),
                ("2026-12-29".to_string(), None, Planned::Merged),
                due("2026-12-30"),
            ]
        );
        assert_eq!(
            occurrences(&daily(NonWorking::Previous), "2026-12-24", 6),
            vec![
                due("2026-12-24"),
                merged("2026-12-24", "2026-12-25"),
                merged("2026-12-24", "2026-12-26"),
                merged("2026-12-24", "2026-12-27"),
                merged("2026-12-24", "2026-12-28"),
                due("2026-12-29"),
            ]
        );
    }

    #[test]
    fn the_24x7_calendar_moves_nothing_and_reasons_are_said() {
        let s = schedule(1, Unit::Day, vec![], NonWorking::Next, Calendar::Always);
        assert!(
            s.fixed_from(d("2026-12-24")).take(10).all(|o| o.shifted_from.is_none() && o.outcome == Planned::Generate)
        );
        let s = schedule(1, Unit::Day, vec![], NonWorking::Skip, office(&["2026-12-25"]));
        let reasons: Vec<_> = s.fixed_from(d("2026-12-25")).take(2).map(|o| o.reason.unwrap()).collect();
        assert_eq!(reasons, ["2026-12-25 is a holiday", "2026-12-26 is closed on Sat"]);
    }

    #[test]
    fn ends_on_is_the_last_nominal_date() {
        let mut s = schedule(1, Unit::Week, vec![], NonWorking::Next, office(&[]));
        s.ends_on = Some(d("2026-12-15"));
        assert_eq!(occurrences(&s, "2026-11-01", 10), vec![due("2026-12-01"), due("2026-12-08"), due("2026-12-15")]);
        assert_eq!(s.floating_after(d("2026-12-08")).map(|o| o.due_on), Some(d("2026-12-15")));
        assert_eq!(s.floating_after(d("2026-12-09")), None);
    }

    #[test]
    fn floating_restarts_from_a_late_closure() {
        let s = Schedule { anchor: Anchor::Floating, ..schedule(30, Unit::Day, vec![], NonWorking::Next, office(&[])) };
        assert_eq!(s.first_from(d("2026-11-29")).unwrap().due_on, d("2026-12-01"));
        // Due 2026-12-01 but closed on the 11th: the next one is 30 days after the closure,
        // 2027-01-10, a Sunday, so it moves to Monday.
        let next = s.floating_after(d("2026-12-11")).unwrap();
        assert_eq!((next.due_on, next.shifted_from), (d("2027-01-11"), Some(d("2027-01-10"))));
    }

    #[test]
    fn floating_never_lands_on_the_day_it_counts_from() {
        // Daily, moved back over weekends: closed on Friday 2026-12-04, Saturday and Sunday move
        // back to Friday itself, so the next one is Monday.
        let s =
            Schedule { anchor: Anchor::Floating, ..schedule(1, Unit::Day, vec![], NonWorking::Previous, office(&[])) };
        let next = s.floating_after(d("2026-12-04")).unwrap();
        assert_eq!((next.due_on, next.shifted_from), (d("2026-12-07"), None));
        assert_eq!(s.floating_after(d("2026-12-03")).unwrap().due_on, d("2026-12-04"));
        let ended = Schedule { ends_on: Some(d("2026-12-06")), ..s };
        assert_eq!(ended.floating_after(d("2026-12-04")), None, "Monday is past ends_on");
    }

    #[test]
    fn the_same_wall_clock_in_each_indonesian_zone() {
        let s = schedule(1, Unit::Day, vec![], NonWorking::Next, Calendar::Always);
        let utc = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap().and_utc();
        let cases = [(Jakarta, "2026-12-01 01:00"), (Makassar, "2026-12-01 00:00"), (Jayapura, "2026-11-30 23:00")];
        for (tz, expected) in cases {
            assert_eq!(s.scheduled_for(d("2026-12-01"), tz), utc(expected), "08:00 in {tz}");
        }
        assert!(s.earliest_due(d("2026-12-01")) <= s.scheduled_for(d("2026-12-01"), chrono_tz::Pacific::Kiritimati));
    }

    #[test]
    fn midnight_and_daylight_saving() {
        let at = |start: &str, date: &str, tz: Tz| {
            let s =
                Schedule { start_time: t(start), ..schedule(1, Unit::Day, vec![], NonWorking::Next, Calendar::Always) };
            s.scheduled_for(d(date), tz)
        };
        // Exactly at midnight: the start of that local date, not the day before.
        assert_eq!(
            at("00:00", "2026-12-01", Jakarta),
            Jakarta.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap().to_utc()
        );
        // Berlin springs forward 2026-03-29 02:00 -> 03:00: 02:30 does not exist, due at 03:00 CEST.
        assert_eq!(at("02:30", "2026-03-29", Berlin), Berlin.with_ymd_and_hms(2026, 3, 29, 3, 0, 0).unwrap().to_utc());
        // Berlin falls back 2026-10-25 03:00 -> 02:00: 02:30 happens twice, due at the first.
        assert_eq!(at("02:30", "2026-10-25", Berlin).to_rfc3339(), "2026-10-25T00:30:00+00:00");
        // And a plain summer day keeps 08:00 local (06:00 UTC).
        assert_eq!(at("08:00", "2026-07-01", Berlin).to_rfc3339(), "2026-07-01T06:00:00+00:00");
    }
}
