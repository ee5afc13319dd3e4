//! The reporting period: site-local dates `from`..=`to`, at most 366 days. A moment is in the
//! period when its date in its site's own time zone is; days are cut in each site's zone.

use chrono::{DateTime, Days, NaiveDate, Utc};
use nexus_shared::{ApiError, ApiResult};
use sqlx::{Postgres, QueryBuilder};

/// The longest period one report covers, in days (both ends counted).
pub const MAX_DAYS: i64 = 366;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// `to` before `from`, or more than [`MAX_DAYS`] days, is 422 naming `to`.
    pub fn new(from: NaiveDate, to: NaiveDate) -> ApiResult<Period> {
        if to < from {
            return Err(ApiError::validation("to", "must not be before from"));
        }
        if (to - from).num_days() + 1 > MAX_DAYS {
            return Err(ApiError::validation("to", format!("must be at most {MAX_DAYS} days from from (inclusive)")));
        }
        Ok(Period { from, to })
    }

    /// UTC instants that surely enclose the period in every zone (offsets lie within ±14 h, so
    /// a day on each side is enough): the index range a query reads before the exact,
    /// per-site test of the local date.
    pub fn utc_bounds(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let midnight = |d: Option<NaiveDate>| d.unwrap_or(self.from).and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        (midnight(self.from.checked_sub_days(Days::new(1))), midnight(self.to.checked_add_days(Days::new(2))))
    }

    /// UTC instants between which a moment is in the period in every zone (offsets lie within
    /// −12 h…+14 h): only moments outside them, near the period's ends, need their site's zone.
    /// Empty (start not before end) for a period of a day.
    pub fn utc_core(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        let end = self.to.checked_add_days(Days::new(1)).unwrap_or(self.to);
        // The last zone to start the period is UTC−12, the first to end it UTC+14.
        (midnight(self.from) + chrono::Duration::hours(12), midnight(end) - chrono::Duration::hours(14))
    }

    /// ` AND <col> in the period at its site`: an index range on `col`, then the site-local date,
    /// converted only for moments near the period's ends (the conversion is most of the cost
    /// of a year's scan). `col` is trusted SQL; the site's location is `l`.
    pub fn push_contains(&self, qb: &mut QueryBuilder<Postgres>, col: &str) {
        let (lo, hi) = self.utc_bounds();
        let (core_lo, core_hi) = self.utc_core();
        qb.push(format_args!(" AND {col} >= ")).push_bind(lo);
        qb.push(format_args!(" AND {col} < ")).push_bind(hi);
        qb.push(format_args!(" AND (({col} >= ")).push_bind(core_lo);
        qb.push(format_args!(" AND {col} < ")).push_bind(core_hi);
        qb.push(format_args!(") OR ({col} AT TIME ZONE l.timezone)::date BETWEEN ")).push_bind(self.from);
        qb.push(" AND ").push_bind(self.to).push(")");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_core_of_a_period_is_in_it_in_every_zone() {
        let p = Period::new(d("2026-11-01"), d("2026-11-30")).unwrap();
        let (lo, hi) = p.utc_core();
        for zone in [chrono_tz::Etc::GMTPlus12, chrono_tz::Pacific::Kiritimati, chrono_tz::Asia::Jayapura] {
            for t in [lo, hi - chrono::Duration::microseconds(1)] {
                let local = t.with_timezone(&zone).date_naive();
                assert!((p.from..=p.to).contains(&local), "{t} is {local} in {zone}");
            }
        }
        // Just outside the core, a zone exists where the moment is outside the period.
        let before = (lo - chrono::Duration::seconds(1)).with_timezone(&chrono_tz::Etc::GMTPlus12).date_naive();
        assert!(before < p.from);
        let after = hi.with_timezone(&chrono_tz::Pacific::Kiritimati).date_naive();
        assert!(after > p.to);
        let (one_lo, one_hi) = Period::new(d("2026-11-01"), d("2026-11-01")).unwrap().utc_core();
        assert!(one_lo >= one_hi, "a one-day period has no core: every moment needs its zone");
    }

    #[test]
    fn a_period_is_ordered_and_at_most_366_days() {
        let cases = [
            ("one day", "2026-11-01", "2026-11-01", true),
            ("366 days, a leap year", "2028-01-01", "2028-12-31", true),
            ("366 days", "2026-01-01", "2027-01-01", true),
            ("367 days", "2026-01-01", "2027-01-02", false),
            ("reversed", "2026-11-02", "2026-11-01", false),
        ];
        for (name, from, to, ok) in cases {
            assert_eq!(Period::new(d(from), d(to)).is_ok(), ok, "{name}");
        }
    }

    /// Jakarta (+7) starts a day 7 h before UTC, Honolulu (−10) 10 h after; the bounds hold both.
    #[test]
    fn utc_bounds_enclose_every_zone() {
        let p = Period::new(d("2026-11-01"), d("2026-11-30")).unwrap();
        let (lo, hi) = p.utc_bounds();
        assert_eq!(lo.to_rfc3339(), "2026-10-31T00:00:00+00:00");
        assert_eq!(hi.to_rfc3339(), "2026-12-02T00:00:00+00:00");
        let midnight = |s: &str| d(s).and_hms_opt(0, 0, 0).unwrap().and_utc();
        // Kiribati (+14) starts the period earliest, Baker Island (−12) ends it latest.
        assert!(lo <= midnight("2026-11-01") - chrono::Duration::hours(14));
        assert!(midnight("2026-12-01") + chrono::Duration::hours(12) <= hi);
    }
}
