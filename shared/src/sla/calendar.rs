//! Working-time calendars: when an SLA clock runs and where a deadline lands.
//!
//! Opening hours are wall-clock times at the site, so all walking happens on local dates in the
//! site's zone; every boundary is converted to an instant before it is measured, which keeps
//! the maths right across DST changes even though the Indonesian zones have none.

use std::collections::BTreeSet;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;

/// How many local days `add` walks before giving up, so an absurd `work` cannot spin for ages
/// (about 20 years; any sane target is met long before).
const MAX_DAYS: u32 = 20 * 366;

/// Index 0 = Monday, matching `BusinessHours::weekly`.
const WEEKDAYS: [Weekday; 7] =
    [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun];

/// When the SLA clock runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Calendar {
    Always,
    BusinessHours(BusinessHours),
}

/// Opening hours per weekday (index 0 = Monday .. 6 = Sunday), as local wall-clock intervals
/// `[open, close)` within one day, plus holidays (local dates on which the clock does not run).
///
/// An interval cannot end at midnight (`close` must be after `open` on the same day); a site
/// open round the clock is better served by `Calendar::Always`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessHours {
    weekly: [Vec<(NaiveTime, NaiveTime)>; 7],
    holidays: BTreeSet<NaiveDate>,
}

/// Why a set of business hours was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CalendarError {
    #[error("on {weekday}, opening time {open} is not before closing time {close}")]
    EmptyInterval { weekday: Weekday, open: NaiveTime, close: NaiveTime },
    #[error(
        "on {weekday}, the interval opening at {open} is listed after the one opening at {previous_open}; list intervals in order"
    )]
    Unsorted { weekday: Weekday, open: NaiveTime, previous_open: NaiveTime },
    #[error("on {weekday}, the interval opening at {open} overlaps the previous one, which closes at {previous_close}")]
    Overlapping { weekday: Weekday, open: NaiveTime, previous_close: NaiveTime },
    #[error("business hours must be open on at least one weekday")]
    NeverOpen,
}

impl BusinessHours {
    /// Checked here once so the walks in `Calendar` can rely on sorted, disjoint intervals and
    /// on the clock running at least one day a week.
    pub fn new(weekly: [Vec<(NaiveTime, NaiveTime)>; 7], holidays: BTreeSet<NaiveDate>) -> Result<Self, CalendarError> {
        for (day, intervals) in weekly.iter().enumerate() {
            let weekday = WEEKDAYS[day];
            for (i, &(open, close)) in intervals.iter().enumerate() {
                if open >= close {
                    return Err(CalendarError::EmptyInterval { weekday, open, close });
                }
                if let Some(&(previous_open, previous_close)) = i.checked_sub(1).map(|p| &intervals[p]) {
                    if open < previous_open {
                        return Err(CalendarError::Unsorted { weekday, open, previous_open });
                    }
                    if open < previous_close {
                        return Err(CalendarError::Overlapping { weekday, open, previous_close });
                    }
                }
            }
        }
        if weekly.iter().all(Vec::is_empty) {
            return Err(CalendarError::NeverOpen);
        }
        Ok(Self { weekly, holidays })
    }

    pub fn weekly(&self) -> &[Vec<(NaiveTime, NaiveTime)>; 7] {
        &self.weekly
    }

    pub fn holidays(&self) -> &BTreeSet<NaiveDate> {
        &self.holidays
    }

    /// Why no clock runs on `date`, if it does not: a holiday, or a weekday without hours.
    fn closed_on(&self, date: NaiveDate) -> Option<ClosedDay> {
        if self.holidays.contains(&date) {
            Some(ClosedDay::Holiday)
        } else if self.weekly[date.weekday().num_days_from_monday() as usize].is_empty() {
            Some(ClosedDay::Weekday(date.weekday()))
        } else {
            None
        }
    }

    /// The working intervals of one local date as instants, in order (none on a holiday).
    fn day_segments(&self, date: NaiveDate, tz: Tz) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
        let intervals: &[(NaiveTime, NaiveTime)] = if self.holidays.contains(&date) {
            &[]
        } else {
            &self.weekly[date.weekday().num_days_from_monday() as usize]
        };
        intervals.iter().map(move |&(open, close)| (to_utc(tz, date.and_time(open)), to_utc(tz, date.and_time(close))))
    }

    fn add(&self, start: DateTime<Utc>, work: Duration, tz: Tz) -> DateTime<Utc> {
        let mut date = local_date(tz, start);
        let mut remaining = work;
        // Never behind `start`, and only moves forward, so odd DST folds cannot count time twice.
        let mut reached = start;
        for _ in 0..MAX_DAYS {
            for (open, close) in self.day_segments(date, tz) {
                let open = open.max(reached);
                if close <= open {
                    continue;
                }
                let available = close - open;
                if remaining <= available {
                    return open + remaining;
                }
                remaining -= available;
                reached = close;
            }
            match date.succ_opt() {
                Some(next) => date = next,
                None => break,
            }
        }
        reached
    }

    fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>, tz: Tz) -> Duration {
        let mut date = local_date(tz, from);
        // One day past `to`'s date, in case a fold at midnight puts part of the next date before `to`.
        let last = local_date(tz, to).succ_opt().unwrap_or(NaiveDate::MAX);
        let mut total = Duration::zero();
        loop {
            for (open, close) in self.day_segments(date, tz) {
                let (open, close) = (open.max(from), close.min(to));
                if close > open {
                    total += close - open;
                }
            }
            match date.succ_opt() {
                Some(next) if date < last => date = next,
                _ => break,
            }
        }
        total
    }
}

/// Why a local date is not a working day of a calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosedDay {
    Holiday,
    Weekday(Weekday),
}

impl std::fmt::Display for ClosedDay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClosedDay::Holiday => f.write_str("a holiday"),
            ClosedDay::Weekday(day) => write!(f, "closed on {day}"),
        }
    }
}

impl Calendar {
    /// Why `date` (a local date) is not a working day, or `None` if it is. A 24x7 calendar
    /// has no closed days.
    pub fn closed_on(&self, date: NaiveDate) -> Option<ClosedDay> {
        match self {
            Calendar::Always => None,
            Calendar::BusinessHours(hours) => hours.closed_on(date),
        }
    }

    /// The instant at which `work` of working time has elapsed after `start`.
    ///
    /// Zero (or negative) work returns `start` even outside opening hours: a zero target is met
    /// at once. Work that runs out exactly at a closing time returns that closing time rather than
    /// the next opening, so a deadline never jumps over a night it does not need.
    ///
    /// The business-hours walk stops after about 20 years of days; if `work` is that large the
    /// last instant reached is returned instead of looping on. `Always` saturates at the end of
    /// chrono's range rather than overflow.
    pub fn add(&self, start: DateTime<Utc>, work: Duration, tz: Tz) -> DateTime<Utc> {
        if work <= Duration::zero() {
            return start;
        }
        match self {
            Calendar::Always => start.checked_add_signed(work).unwrap_or(DateTime::<Utc>::MAX_UTC),
            Calendar::BusinessHours(hours) => hours.add(start, work, tz),
        }
    }

    /// Working time in `[from, to)`; zero when `to <= from`, so callers can subtract freely.
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>, tz: Tz) -> Duration {
        if to <= from {
            return Duration::zero();
        }
        match self {
            Calendar::Always => to - from,
            Calendar::BusinessHours(hours) => hours.between(from, to, tz),
        }
    }
}

/// The wall-clock time of `at` in `tz`, or `None` beyond chrono's range (where
/// `DateTime::naive_local` would panic).
fn local_time(tz: Tz, at: DateTime<Utc>) -> Option<NaiveDateTime> {
    at.naive_utc().checked_add_offset(tz.offset_from_utc_datetime(&at.naive_utc()).fix())
}

/// The local date of `at`, pinned to chrono's first or last date at the edges of its range.
fn local_date(tz: Tz, at: DateTime<Utc>) -> NaiveDate {
    match local_time(tz, at) {
        Some(local) => local.date(),
        None if at.year() < 0 => NaiveDate::MIN,
        None => NaiveDate::MAX,
    }
}

/// A local wall-clock time as an instant: the earlier one when the clocks fall back, and the
/// end of the gap when they spring forward over it (the clock resumes when the time next exists).
pub(crate) fn to_utc(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(at) => at.to_utc(),
        LocalResult::Ambiguous(earliest, _) => earliest.to_utc(),
        LocalResult::None => gap_end(tz, local),
    }
}

/// The first whole second whose local time is at or after `local`, found by bisection because
/// chrono-tz does not expose its transitions. Offsets stay within ±16 h, which brackets it.
fn gap_end(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    const SPAN: i64 = 16 * 3600;
    let guess = local.and_utc();
    let (mut before, mut after) = (guess.timestamp() - SPAN, guess.timestamp() + SPAN);
    let reaches =
        |secs: i64| DateTime::<Utc>::from_timestamp(secs, 0).and_then(|at| local_time(tz, at)).map(|at| at >= local);
    if reaches(before) != Some(false) || reaches(after) != Some(true) {
        return guess;
    }
    while after - before > 1 {
        let mid = before + (after - before) / 2;
        if reaches(mid) == Some(true) {
            after = mid;
        } else {
            before = mid;
        }
    }
    DateTime::<Utc>::from_timestamp(after, 0).unwrap_or(guess)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::New_York;
    use chrono_tz::Asia::{Jakarta, Jayapura, Makassar};
    use chrono_tz::Europe::Berlin;

    /// A local wall-clock time in `tz` as an instant; panics on gaps and folds so tests stay explicit.
    fn at(tz: Tz, s: &str) -> DateTime<Utc> {
        let ndt = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
            .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S"))
            .unwrap();
        tz.from_local_datetime(&ndt).single().unwrap().to_utc()
    }

    fn t(s: &str) -> NaiveTime {
        NaiveTime::parse_from_str(s, "%H:%M").unwrap()
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn h(hours: i64) -> Duration {
        Duration::hours(hours)
    }

    fn m(minutes: i64) -> Duration {
        Duration::minutes(minutes)
    }

    /// Monday to Friday with the same intervals, plus the given holidays.
    fn weekdays(intervals: &[(&str, &str)], holidays: &[&str]) -> Calendar {
        let day: Vec<_> = intervals.iter().map(|&(open, close)| (t(open), t(close))).collect();
        let weekly = [day.clone(), day.clone(), day.clone(), day.clone(), day, vec![], vec![]];
        Calendar::BusinessHours(BusinessHours::new(weekly, holidays.iter().map(|s| d(s)).collect()).unwrap())
    }

    fn office() -> Calendar {
        weekdays(&[("08:00", "17:00")], &[])
    }

    /// Only Sundays, 01:00-04:00: spans the European DST changes.
    fn sunday_night() -> Calendar {
        let mut weekly: [Vec<(NaiveTime, NaiveTime)>; 7] = Default::default();
        weekly[6] = vec![(t("01:00"), t("04:00"))];
        Calendar::BusinessHours(BusinessHours::new(weekly, BTreeSet::new()).unwrap())
    }

    // 2026-11-23 is a Monday.
    struct AddCase {
        name: &'static str,
        calendar: Calendar,
        start: &'static str,
        work: Duration,
        due: &'static str,
    }

    fn add_cases() -> Vec<AddCase> {
        let case = |name, calendar, start, work, due| AddCase { name, calendar, start, work, due };
        vec![
            case("overnight", office(), "2026-11-23 16:00", h(2), "2026-11-24 09:00"),
            case("weekend skipped", office(), "2026-11-27 16:30", h(1), "2026-11-30 08:30"),
            case("raised at night", office(), "2026-11-24 22:00", m(30), "2026-11-25 08:30"),
            case("ends at closing", office(), "2026-11-23 15:00", h(2), "2026-11-23 17:00"),
            case("before opening", office(), "2026-11-23 06:00", h(1), "2026-11-23 09:00"),
            case("raised at closing", office(), "2026-11-23 17:00", h(1), "2026-11-24 09:00"),
            case("raised on saturday", office(), "2026-11-28 10:00", h(9), "2026-11-30 17:00"),
            case("whole week", office(), "2026-11-23 08:00", h(45), "2026-11-27 17:00"),
            case("zero at night", office(), "2026-11-24 22:00", h(0), "2026-11-24 22:00"),
            case("negative is zero", office(), "2026-11-24 22:00", h(-3), "2026-11-24 22:00"),
            case(
                "holiday wednesday",
                weekdays(&[("08:00", "17:00")], &["2026-11-25"]),
                "2026-11-24 16:00",
                h(2),
                "2026-11-26 09:00",
            ),
            case(
                "holiday on a weekend changes nothing",
                weekdays(&[("08:00", "17:00")], &["2026-11-28"]),
                "2026-11-27 16:30",
                h(1),
                "2026-11-30 08:30",
            ),
            case(
                "lunch skipped",
                weekdays(&[("08:00", "12:00"), ("13:00", "17:00")], &[]),
                "2026-11-23 11:00",
                h(2),
                "2026-11-23 14:00",
            ),
            case(
                "ends at lunch",
                weekdays(&[("08:00", "12:00"), ("13:00", "17:00")], &[]),
                "2026-11-23 11:30",
                m(30),
                "2026-11-23 12:00",
            ),
            case(
                "raised during lunch",
                weekdays(&[("08:00", "12:00"), ("13:00", "17:00")], &[]),
                "2026-11-23 12:15",
                m(90),
                "2026-11-23 14:30",
            ),
            case(
                "split day overnight",
                weekdays(&[("08:00", "12:00"), ("13:00", "17:00")], &[]),
                "2026-11-23 16:00",
                h(6),
                "2026-11-24 14:00",
            ),
        ]
    }

    #[test]
    fn always_is_plain_arithmetic() {
        let start = at(Jakarta, "2026-11-23 16:00") + Duration::milliseconds(250);
        for work in [h(0), m(1), h(2), h(24 * 9), Duration::seconds(1)] {
            assert_eq!(Calendar::Always.add(start, work, Jakarta), start + work, "add {work}");
            assert_eq!(Calendar::Always.between(start, start + work, Jakarta), work, "between {work}");
            assert_eq!(Calendar::Always.between(start + work + m(1), start, Jakarta), Duration::zero(), "reversed");
        }
        assert_eq!(Calendar::Always.add(start, h(-1), Jakarta), start, "negative work is zero");
        assert_eq!(Calendar::Always.between(start, start, Jakarta), Duration::zero(), "empty");
    }

    #[test]
    fn business_hours_in_jakarta() {
        for c in add_cases() {
            let start = at(Jakarta, c.start);
            assert_eq!(c.calendar.add(start, c.work, Jakarta), at(Jakarta, c.due), "{}", c.name);
        }
    }

    #[test]
    fn same_wall_clock_elsewhere_in_indonesia_is_earlier_in_utc() {
        for (tz, shift) in [(Makassar, h(1)), (Jayapura, h(2))] {
            for c in add_cases() {
                let due = c.calendar.add(at(tz, c.start), c.work, tz);
                assert_eq!(due, at(tz, c.due), "{} in {tz}", c.name);
                assert_eq!(due, at(Jakarta, c.due) - shift, "{} in {tz}", c.name);
            }
        }
    }

    #[test]
    fn between_in_business_hours() {
        let split = weekdays(&[("08:00", "12:00"), ("13:00", "17:00")], &["2026-11-25"]);
        let cases = [
            ("across a night", office(), "2026-11-23 16:00", "2026-11-24 12:00", h(5)),
            ("across a weekend", office(), "2026-11-27 16:00", "2026-11-30 09:00", h(2)),
            ("night to night", office(), "2026-11-22 23:00", "2026-11-28 01:00", h(45)),
            ("closed all along", office(), "2026-11-28 08:00", "2026-11-29 20:00", h(0)),
            ("reversed", office(), "2026-11-24 12:00", "2026-11-23 16:00", h(0)),
            ("empty", office(), "2026-11-24 12:00", "2026-11-24 12:00", h(0)),
            ("within one interval", office(), "2026-11-24 09:15", "2026-11-24 10:00", m(45)),
            ("lunch and holiday skipped", split, "2026-11-24 11:00", "2026-11-26 14:00", h(10)),
        ];
        for (name, calendar, from, to, expected) in cases {
            assert_eq!(calendar.between(at(Jakarta, from), at(Jakarta, to), Jakarta), expected, "{name}");
        }
    }

    #[test]
    fn between_inverts_add() {
        let calendars = [
            ("always", Calendar::Always),
            ("office", weekdays(&[("08:00", "17:00")], &["2026-03-11", "2026-11-04"])),
            ("split", weekdays(&[("07:30", "11:45"), ("12:30", "16:10"), ("19:00", "23:59")], &[])),
            ("sunday night", sunday_night()),
        ];
        // Around the 2026 DST changes in Europe and the US, and plain weeks in Indonesia.
        let zones_and_weeks = [
            (Jakarta, "2026-11-20 00:00"),
            (Jayapura, "2026-11-20 00:00"),
            (Berlin, "2026-03-25 00:00"),
            (Berlin, "2026-10-21 00:00"),
            (New_York, "2026-03-04 00:00"),
            (New_York, "2026-10-28 00:00"),
        ];
        let mut seed: u64 = 0x5EED;
        let mut next = move |bound: i64| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 33) as i64).rem_euclid(bound)
        };
        for (name, calendar) in &calendars {
            for &(tz, week) in &zones_and_weeks {
                for _ in 0..60 {
                    let start = at(tz, week) + Duration::seconds(next(10 * 24 * 3600));
                    let work = Duration::seconds(next(40 * 3600));
                    let due = calendar.add(start, work, tz);
                    assert!(due >= start, "{name} {tz} {start} {work}");
                    assert_eq!(calendar.between(start, due, tz), work, "{name} {tz} {start} + {work} = {due}");
                }
            }
        }
    }

    #[test]
    fn dst_changes_count_real_time() {
        let cal = sunday_night();
        // Spring forward 2026-03-29 02:00 -> 03:00: only two real hours between 01:00 and 04:00.
        let spring = (at(Berlin, "2026-03-28 12:00"), at(Berlin, "2026-03-30 00:00"));
        assert_eq!(cal.between(spring.0, spring.1, Berlin), h(2));
        let opening = at(Berlin, "2026-03-29 01:00");
        assert_eq!(cal.add(opening, m(90), Berlin), at(Berlin, "2026-03-29 03:30"));
        // Fall back 2026-10-25 03:00 -> 02:00: four real hours.
        let autumn = (at(Berlin, "2026-10-24 12:00"), at(Berlin, "2026-10-26 00:00"));
        assert_eq!(cal.between(autumn.0, autumn.1, Berlin), h(4));
        assert_eq!(cal.add(at(Berlin, "2026-10-25 01:00"), h(4), Berlin), at(Berlin, "2026-10-25 04:00"));

        // An interval opening inside the gap opens when the gap ends.
        let mut weekly: [Vec<(NaiveTime, NaiveTime)>; 7] = Default::default();
        weekly[6] = vec![(t("02:30"), t("05:00"))];
        let cal = Calendar::BusinessHours(BusinessHours::new(weekly, BTreeSet::new()).unwrap());
        assert_eq!(cal.between(spring.0, spring.1, Berlin), h(2));
        assert_eq!(cal.add(spring.0, m(1), Berlin), at(Berlin, "2026-03-29 03:01"));
    }

    #[test]
    fn gap_end_is_the_transition() {
        let cases = [
            (Berlin, "2026-03-29 02:00:00", "2026-03-29 01:00:00"),
            (Berlin, "2026-03-29 02:59:59", "2026-03-29 01:00:00"),
            (New_York, "2026-03-08 02:30:00", "2026-03-08 07:00:00"),
            // Samoa skipped 2011-12-30 entirely.
            (chrono_tz::Pacific::Apia, "2011-12-30 12:00:00", "2011-12-30 10:00:00"),
        ];
        for (tz, local, utc) in cases {
            let local = NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M:%S").unwrap();
            let utc = NaiveDateTime::parse_from_str(utc, "%Y-%m-%d %H:%M:%S").unwrap().and_utc();
            assert_eq!(to_utc(tz, local), utc, "{tz} {local}");
        }
    }

    #[test]
    fn sub_seconds_are_kept() {
        let start = at(Jakarta, "2026-11-23 16:59") + Duration::milliseconds(500);
        let due = office().add(start, m(2), Jakarta);
        assert_eq!(due, at(Jakarta, "2026-11-24 08:01") + Duration::milliseconds(500));
        assert_eq!(office().between(start, due, Jakarta), m(2));
    }

    #[test]
    fn absurd_inputs_do_not_panic_or_spin() {
        let start = at(Jakarta, "2026-11-23 08:00");
        assert_eq!(Calendar::Always.add(start, Duration::MAX, Jakarta), DateTime::<Utc>::MAX_UTC);
        let far = office().add(start, Duration::days(365 * 100), Jakarta);
        assert!(far > start + Duration::days(365 * 19) && far < start + Duration::days(365 * 21), "{far}");
        let _ = office().add(DateTime::<Utc>::MAX_UTC - h(1), h(10), Jakarta);
        let _ = office().add(DateTime::<Utc>::MIN_UTC, h(10), Jakarta);
        let _ = office().between(DateTime::<Utc>::MAX_UTC - Duration::days(3), DateTime::<Utc>::MAX_UTC, Jayapura);
        let _ = office().between(DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MIN_UTC + Duration::days(3), Jakarta);
    }

    #[test]
    fn new_validates() {
        let hours = |day: Vec<(&str, &str)>| {
            let day: Vec<_> = day.into_iter().map(|(open, close)| (t(open), t(close))).collect();
            let mut weekly: [Vec<(NaiveTime, NaiveTime)>; 7] = Default::default();
            weekly[2] = day;
            BusinessHours::new(weekly, BTreeSet::new())
        };
        let wed = Weekday::Wed;
        let cases = [
            (
                "open after close",
                vec![("17:00", "08:00")],
                Err(CalendarError::EmptyInterval { weekday: wed, open: t("17:00"), close: t("08:00") }),
            ),
            (
                "open equals close",
                vec![("08:00", "08:00")],
                Err(CalendarError::EmptyInterval { weekday: wed, open: t("08:00"), close: t("08:00") }),
            ),
            (
                "overlapping",
                vec![("08:00", "12:00"), ("11:00", "17:00")],
                Err(CalendarError::Overlapping { weekday: wed, open: t("11:00"), previous_close: t("12:00") }),
            ),
            (
                "same opening",
                vec![("08:00", "12:00"), ("08:00", "09:00")],
                Err(CalendarError::Overlapping { weekday: wed, open: t("08:00"), previous_close: t("12:00") }),
            ),
            (
                "unsorted",
                vec![("13:00", "17:00"), ("08:00", "12:00")],
                Err(CalendarError::Unsorted { weekday: wed, open: t("08:00"), previous_open: t("13:00") }),
            ),
            ("never open", vec![], Err(CalendarError::NeverOpen)),
            ("adjacent is fine", vec![("08:00", "12:00"), ("12:00", "17:00")], Ok(())),
        ];
        for (name, day, expected) in cases {
            assert_eq!(hours(day).map(|_| ()), expected, "{name}");
        }
        assert_eq!(
            CalendarError::Overlapping { weekday: wed, open: t("11:00"), previous_close: t("12:00") }.to_string(),
            "on Wed, the interval opening at 11:00:00 overlaps the previous one, which closes at 12:00:00"
        );
    }

    #[test]
    fn accessors_return_what_was_given() {
        let mut weekly: [Vec<(NaiveTime, NaiveTime)>; 7] = Default::default();
        weekly[0] = vec![(t("08:00"), t("17:00"))];
        let holidays: BTreeSet<_> = [d("2026-12-25")].into();
        let hours = BusinessHours::new(weekly.clone(), holidays.clone()).unwrap();
        assert_eq!(hours.weekly(), &weekly);
        assert_eq!(hours.holidays(), &holidays);
    }
}
