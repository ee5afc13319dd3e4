//! When a plan's work falls due by the calendar alone (before holidays move it): every N days,
//! weeks (on chosen weekdays) or months (on a day of the month, clamped to the month's end).

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};

crate::text_enum! {
    pub enum Unit { Day = "day", Week = "week", Month = "month" }
}

/// A checked recurrence: `every` 1–366 units; weekdays only for weeks, a day of the month only
/// for months. Without them, the weekday or day of `starts_on` is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurrence {
    every: u32,
    unit: Unit,
    /// Sorted from Monday, no repeats; empty unless `unit` is `Week`.
    weekdays: Vec<Weekday>,
    day_of_month: Option<u32>,
}

/// What is wrong with a recurrence, and which field says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecurrenceError {
    pub field: &'static str,
    pub message: &'static str,
}

impl Recurrence {
    pub fn new(
        every: u32,
        unit: Unit,
        weekdays: Vec<Weekday>,
        day_of_month: Option<u32>,
    ) -> Result<Self, RecurrenceError> {
        let error = |field, message| Err(RecurrenceError { field, message });
        if !(1..=366).contains(&every) {
            return error("every", "must be 1 to 366");
        }
        if !weekdays.is_empty() && unit != Unit::Week {
            return error("weekdays", "are only accepted with unit \"week\"");
        }
        if day_of_month.is_some() && unit != Unit::Month {
            return error("day_of_month", "is only accepted with unit \"month\"");
        }
        if day_of_month.is_some_and(|d| !(1..=31).contains(&d)) {
            return error("day_of_month", "must be 1 to 31");
        }
        let mut weekdays = weekdays;
        weekdays.sort_by_key(Weekday::num_days_from_monday);
        weekdays.dedup();
        Ok(Self { every, unit, weekdays, day_of_month })
    }

    pub fn every(&self) -> u32 {
        self.every
    }

    pub fn unit(&self) -> Unit {
        self.unit
    }

    pub fn weekdays(&self) -> &[Weekday] {
        &self.weekdays
    }

    pub fn day_of_month(&self) -> Option<u32> {
        self.day_of_month
    }

    /// Whether it names particular days (weekdays, a day of the month), which a floating plan
    /// cannot honour: its next date follows the last closure.
    pub fn pins_days(&self) -> bool {
        !self.weekdays.is_empty() || self.day_of_month.is_some()
    }

    /// `date` plus one interval; a month step past the month's end lands on its last day
    /// (Jan 31 + 1 month = Feb 28/29). `None` beyond chrono's range.
    pub fn step(&self, date: NaiveDate) -> Option<NaiveDate> {
        match self.unit {
            Unit::Day => date.checked_add_days(Days::new(self.every.into())),
            Unit::Week => date.checked_add_days(Days::new(u64::from(self.every) * 7)),
            Unit::Month => date.checked_add_months(Months::new(self.every)),
        }
    }

    /// The nominal dates of a fixed schedule anchored at `starts_on`, in order, from the first
    /// one on or after `from`. Endless (up to chrono's range): callers bound it.
    pub fn dates_from(&self, starts_on: NaiveDate, from: NaiveDate) -> impl Iterator<Item = NaiveDate> + '_ {
        let from = from.max(starts_on);
        // Whole periods between the anchor and `from`, so a plan that started years ago does not
        // walk all its history; one period earlier is enough to land at or before `from`.
        let periods = match self.unit {
            Unit::Day => (from - starts_on).num_days() / i64::from(self.every),
            Unit::Week => (monday(from) - monday(starts_on)).num_days() / 7 / i64::from(self.every),
            Unit::Month => months_between(starts_on, from) / i64::from(self.every),
        };
        let first_period = u32::try_from((periods - 1).max(0)).unwrap_or(u32::MAX);
        (first_period..)
            .map_while(move |period| self.period_dates(starts_on, period))
            .flatten()
            .filter(move |date| *date >= from)
    }

    /// The dates of one period (the `period`-th interval after the anchor's): `None` beyond
    /// chrono's range, which ends the iteration.
    fn period_dates(&self, starts_on: NaiveDate, period: u32) -> Option<Vec<NaiveDate>> {
        let steps = period.checked_mul(self.every)?;
        match self.unit {
            Unit::Day => Some(vec![starts_on.checked_add_days(Days::new(steps.into()))?]),
            Unit::Week => {
                let week = monday(starts_on).checked_add_days(Days::new(u64::from(steps) * 7))?;
                let start_day = [starts_on.weekday()];
                let days = if self.weekdays.is_empty() { &start_day[..] } else { &self.weekdays[..] };
                days.iter().map(|day| week.checked_add_days(Days::new(day.num_days_from_monday().into()))).collect()
            }
            Unit::Month => {
                let first = starts_on.with_day(1)?.checked_add_months(Months::new(steps))?;
                let day = self.day_of_month.unwrap_or_else(|| starts_on.day());
                Some(vec![first.with_day(day.min(days_in_month(first)))?])
            }
        }
    }
}

fn monday(date: NaiveDate) -> NaiveDate {
    date - Days::new(date.weekday().num_days_from_monday().into())
}

fn months_between(from: NaiveDate, to: NaiveDate) -> i64 {
    (i64::from(to.year()) - i64::from(from.year())) * 12 + i64::from(to.month()) - i64::from(from.month())
}

fn days_in_month(first: NaiveDate) -> u32 {
    first.checked_add_months(Months::new(1)).map_or(31, |next| (next - first).num_days() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Weekday::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn dates(r: &Recurrence, starts_on: &str, from: &str, n: usize) -> Vec<String> {
        r.dates_from(d(starts_on), d(from)).take(n).map(|d| d.to_string()).collect()
    }

    #[test]
    fn fixed_dates() {
        let r = |every, unit, weekdays: Vec<Weekday>, dom| Recurrence::new(every, unit, weekdays, dom).unwrap();
        // 2026-11-23 is a Monday.
        let cases: Vec<(&str, Recurrence, &str, &str, Vec<&str>)> = vec![
            (
                "daily",
                r(1, Unit::Day, vec![], None),
                "2026-11-23",
                "2026-11-23",
                vec!["2026-11-23", "2026-11-24", "2026-11-25"],
            ),
            (
                "every 10 days from later",
                r(10, Unit::Day, vec![], None),
                "2026-11-23",
                "2026-12-04",
                vec!["2026-12-13", "2026-12-23", "2027-01-02"],
            ),
            (
                "weekly on the start's weekday",
                r(1, Unit::Week, vec![], None),
                "2026-11-25",
                "2026-11-01",
                vec!["2026-11-25", "2026-12-02", "2026-12-09"],
            ),
            (
                "several weekdays a week",
                r(1, Unit::Week, vec![Fri, Mon, Wed, Mon], None),
                "2026-11-25",
                "2026-11-25",
                vec!["2026-11-25", "2026-11-27", "2026-11-30", "2026-12-02", "2026-12-04"],
            ),
            (
                "fortnightly on Tuesdays and Thursdays",
                r(2, Unit::Week, vec![Tue, Thu], None),
                "2026-11-23",
                "2026-11-23",
                vec!["2026-11-24", "2026-11-26", "2026-12-08", "2026-12-10"],
            ),
            (
                "31st in short months is the last day",
                r(1, Unit::Month, vec![], Some(31)),
                "2027-01-01",
                "2027-01-01",
                vec!["2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30"],
            ),
            (
                "leap February",
                r(1, Unit::Month, vec![], Some(31)),
                "2028-01-31",
                "2028-02-01",
                vec!["2028-02-29", "2028-03-31"],
            ),
            (
                "start's day by default",
                r(1, Unit::Month, vec![], None),
                "2027-01-30",
                "2027-01-30",
                vec!["2027-01-30", "2027-02-28", "2027-03-30"],
            ),
            (
                "day before the start is next month",
                r(1, Unit::Month, vec![], Some(5)),
                "2026-11-23",
                "2026-11-23",
                vec!["2026-12-05", "2027-01-05"],
            ),
            (
                "quarterly",
                r(3, Unit::Month, vec![], Some(15)),
                "2026-01-15",
                "2026-11-01",
                vec!["2027-01-15", "2027-04-15"],
            ),
            (
                "yearly by months",
                r(12, Unit::Month, vec![], None),
                "2024-02-29",
                "2025-01-01",
                vec!["2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29"],
            ),
        ];
        for (name, recurrence, starts_on, from, expected) in cases {
            assert_eq!(dates(&recurrence, starts_on, from, expected.len()), expected, "{name}");
        }
    }

    #[test]
    fn skipping_ahead_matches_walking_from_the_start() {
        let recurrences = [
            Recurrence::new(3, Unit::Day, vec![], None).unwrap(),
            Recurrence::new(2, Unit::Week, vec![Mon, Sat], None).unwrap(),
            Recurrence::new(5, Unit::Month, vec![], Some(30)).unwrap(),
        ];
        let starts_on = d("2024-01-31");
        for r in &recurrences {
            let walked: Vec<_> = r.dates_from(starts_on, starts_on).take_while(|x| *x < d("2030-01-01")).collect();
            for from in ["2024-01-31", "2025-03-01", "2026-11-29", "2029-12-31"] {
                let expected: Vec<_> = walked.iter().copied().filter(|x| *x >= d(from)).collect();
                let got: Vec<_> = r.dates_from(starts_on, d(from)).take(expected.len()).collect();
                assert_eq!(got, expected, "{r:?} from {from}");
            }
        }
    }

    #[test]
    fn steps_for_floating_plans() {
        let step =
            |every, unit, from| Recurrence::new(every, unit, vec![], None).unwrap().step(d(from)).unwrap().to_string();
        assert_eq!(step(30, Unit::Day, "2026-11-29"), "2026-12-29");
        assert_eq!(step(2, Unit::Week, "2026-11-29"), "2026-12-13");
        assert_eq!(step(1, Unit::Month, "2027-01-31"), "2027-02-28");
        assert_eq!(step(1, Unit::Month, "2028-01-31"), "2028-02-29");
    }

    #[test]
    fn invalid_recurrences_name_the_field() {
        let cases = [
            (Recurrence::new(0, Unit::Day, vec![], None), "every"),
            (Recurrence::new(367, Unit::Day, vec![], None), "every"),
            (Recurrence::new(1, Unit::Month, vec![Mon], None), "weekdays"),
            (Recurrence::new(1, Unit::Week, vec![], Some(3)), "day_of_month"),
            (Recurrence::new(1, Unit::Month, vec![], Some(32)), "day_of_month"),
            (Recurrence::new(1, Unit::Month, vec![], Some(0)), "day_of_month"),
        ];
        for (result, field) in cases {
            assert_eq!(result.unwrap_err().field, field);
        }
        assert!(Recurrence::new(1, Unit::Week, vec![Mon], None).unwrap().pins_days());
        assert!(!Recurrence::new(1, Unit::Week, vec![], None).unwrap().pins_days());
    }

    #[test]
    fn the_end_of_time_ends_the_dates() {
        let r = Recurrence::new(366, Unit::Day, vec![], None).unwrap();
        assert!(r.dates_from(NaiveDate::MAX - Days::new(400), NaiveDate::MAX - Days::new(400)).count() <= 2);
        assert_eq!(Recurrence::new(1, Unit::Month, vec![], None).unwrap().step(NaiveDate::MAX), None);
    }
}
