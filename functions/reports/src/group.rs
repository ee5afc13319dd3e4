//! How figures are grouped: one group (`all`), by a dimension of the ticket (its site's region,
//! the site, the asset's category, type, priority, assignee) or by the site-local ISO week or
//! month in which the figure's event falls (the event each KPI names: a resolution, a due
//! time, a closure…). Tickets without a region, category or assignee fall in the group `(none)`.

use chrono::{Datelike, Days, Months, NaiveDate};

use crate::period::Period;

nexus_shared::text_enum! {
    /// `none`: one group `all`; `week`: ISO weeks (`2026-W48`); `month`: `2026-11`;
    /// `location`: site codes, a cursor list over every site.
    pub enum GroupBy {
        None = "none",
        Region = "region",
        Location = "location",
        AssetCategory = "asset_category",
        TicketType = "ticket_type",
        Priority = "priority",
        Technician = "technician",
        Week = "week",
        Month = "month",
    }
}

/// The key of tickets that have no value for the dimension (no region, category, assignee).
pub const NONE_KEY: &str = "(none)";

impl GroupBy {
    pub fn is_time(self) -> bool {
        matches!(self, GroupBy::Week | GroupBy::Month)
    }

    /// The group's key as SQL over `t` (ticket), `l` (site), `a` (asset); `event` is the
    /// instant that places a row in a week or month (trusted SQL).
    pub fn key_sql(self, event: &str) -> String {
        let local = format!("({event} AT TIME ZONE l.timezone)::date");
        match self {
            GroupBy::None => "'all'".into(),
            GroupBy::Region => format!("COALESCE(l.region, '{NONE_KEY}')"),
            GroupBy::Location => "l.code".into(),
            GroupBy::AssetCategory => format!("COALESCE(a.category, '{NONE_KEY}')"),
            GroupBy::TicketType => "t.ticket_type".into(),
            GroupBy::Priority => "t.priority".into(),
            GroupBy::Technician => format!("COALESCE(t.assigned_to::text, '{NONE_KEY}')"),
            GroupBy::Week => format!("to_char({local}, 'IYYY-\"W\"IW')"),
            GroupBy::Month => format!("to_char({local}, 'YYYY-MM')"),
        }
    }

    /// The group's key as SQL over a rollup row `k` (`kpi_daily`) at its site `l`: the same
    /// keys as [`GroupBy::key_sql`], the week or month of the row's day.
    pub fn rollup_key_sql(self) -> String {
        match self {
            GroupBy::AssetCategory => format!("COALESCE(k.asset_category, '{NONE_KEY}')"),
            GroupBy::TicketType => "k.ticket_type".into(),
            GroupBy::Priority => "k.priority".into(),
            GroupBy::Technician => format!("COALESCE(k.assignee::text, '{NONE_KEY}')"),
            GroupBy::Week => "to_char(k.day, 'IYYY-\"W\"IW')".into(),
            GroupBy::Month => "to_char(k.day, 'YYYY-MM')".into(),
            other => other.key_sql("NULL"),
        }
    }

    /// The joins a rollup row's label needs beyond the site.
    pub fn rollup_joins(self) -> &'static str {
        match self {
            GroupBy::Technician => " LEFT JOIN users u ON u.id = k.assignee",
            _ => "",
        }
    }

    /// What the database knows of a group's label (a site's name, a person's name), as SQL;
    /// other labels are made from the key by [`GroupBy::label`].
    pub fn label_sql(self) -> &'static str {
        match self {
            GroupBy::Location => "l.name",
            GroupBy::Technician => "COALESCE(u.full_name, u.email)",
            _ => "NULL::text",
        }
    }

    /// The joins the key and label need beyond the site.
    pub fn joins(self) -> &'static str {
        match self {
            GroupBy::AssetCategory => " JOIN assets a ON a.id = t.asset_id",
            GroupBy::Technician => " LEFT JOIN users u ON u.id = t.assigned_to",
            _ => "",
        }
    }

    /// A human-readable label for `key`; `known` is what [`GroupBy::label_sql`] found.
    pub fn label(self, key: &str, known: Option<&str>) -> String {
        if let Some(known) = known {
            return known.to_string();
        }
        match (self, key) {
            (GroupBy::None, _) => "All".into(),
            (GroupBy::Region, NONE_KEY) => "No region".into(),
            (GroupBy::AssetCategory, NONE_KEY) => "No category".into(),
            (GroupBy::Technician, NONE_KEY) => "Unassigned".into(),
            (GroupBy::TicketType, "CM") => "Corrective (CM)".into(),
            (GroupBy::TicketType, "PM") => "Preventive (PM)".into(),
            (GroupBy::Priority, p) => capitalise(p),
            (GroupBy::Week, k) => week_label(k).unwrap_or_else(|| k.to_string()),
            (GroupBy::Month, k) => month_label(k).unwrap_or_else(|| k.to_string()),
            (_, k) => k.to_string(),
        }
    }

    /// The groups every answer lists even when empty, with the last date each one covers within
    /// the period (the day its backlog is counted at): `all` for `none`, every week or month the
    /// period touches, both types, every priority. Others list the groups that have data.
    pub fn fixed_groups(self, period: Period) -> Vec<(String, NaiveDate)> {
        match self {
            GroupBy::None => vec![("all".into(), period.to)],
            GroupBy::TicketType => ["CM", "PM"].iter().map(|k| (k.to_string(), period.to)).collect(),
            GroupBy::Priority => {
                ["critical", "high", "medium", "low"].iter().map(|k| (k.to_string(), period.to)).collect()
            }
            GroupBy::Week | GroupBy::Month => {
                let mut buckets = Vec::new();
                let mut day = period.from;
                while day <= period.to {
                    let (key, next) = match self {
                        GroupBy::Week => {
                            (week_key(day), day + Days::new(7 - u64::from(day.weekday().num_days_from_monday())))
                        }
                        _ => (month_key(day), first_of_next_month(day)),
                    };
                    let last = next.pred_opt().unwrap_or(next).min(period.to);
                    buckets.push((key, last));
                    day = next;
                }
                buckets
            }
            _ => Vec::new(),
        }
    }
}

impl GroupBy {
    /// Week or month: the whole bucket (first and last day) that holds `day`.
    pub fn bucket(self, day: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
        let first = match self {
            GroupBy::Week => day - Days::new(u64::from(day.weekday().num_days_from_monday())),
            GroupBy::Month => day.with_day(1)?,
            _ => return None,
        };
        let next = match self {
            GroupBy::Week => first + Days::new(7),
            _ => first_of_next_month(first),
        };
        Some((first, next.pred_opt()?))
    }
}

pub fn week_key(date: NaiveDate) -> String {
    let w = date.iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

pub fn month_key(date: NaiveDate) -> String {
    format!("{}-{:02}", date.year(), date.month())
}

fn first_of_next_month(date: NaiveDate) -> NaiveDate {
    let first = date.with_day(1).unwrap_or(date);
    first.checked_add_months(Months::new(1)).unwrap_or(NaiveDate::MAX)
}

/// `2026-W48` → `Week 48, 2026 (23 Nov – 29 Nov)`.
fn week_label(key: &str) -> Option<String> {
    let (year, week) = key.split_once("-W")?;
    let monday = NaiveDate::from_isoywd_opt(year.parse().ok()?, week.parse().ok()?, chrono::Weekday::Mon)?;
    let sunday = monday + Days::new(6);
    Some(format!("Week {week}, {year} ({} – {})", monday.format("%-d %b"), sunday.format("%-d %b")))
}

/// `2026-11` → `November 2026`.
fn month_label(key: &str) -> Option<String> {
    let first = NaiveDate::parse_from_str(&format!("{key}-01"), "%Y-%m-%d").ok()?;
    Some(first.format("%B %Y").to_string())
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// ISO weeks: 2026-12-31 (a Thursday) is in 2026-W53; 2027-01-03 (Sunday) still in it;
    /// 2024-12-30 (Monday) is in 2025-W01.
    #[test]
    fn week_keys_are_iso_weeks() {
        let cases = [
            ("2026-11-23", "2026-W48"),
            ("2026-11-29", "2026-W48"),
            ("2026-11-30", "2026-W49"),
            ("2026-12-31", "2026-W53"),
            ("2027-01-03", "2026-W53"),
            ("2024-12-30", "2025-W01"),
        ];
        for (date, key) in cases {
            assert_eq!(week_key(d(date)), key, "{date}");
        }
    }

    #[test]
    fn labels_are_readable() {
        assert_eq!(GroupBy::Week.label("2026-W48", None), "Week 48, 2026 (23 Nov – 29 Nov)");
        assert_eq!(GroupBy::Month.label("2026-11", None), "November 2026");
        assert_eq!(GroupBy::Priority.label("critical", None), "Critical");
        assert_eq!(GroupBy::Region.label(NONE_KEY, None), "No region");
        assert_eq!(GroupBy::Location.label("JKT0001", Some("Jakarta Sudirman")), "Jakarta Sudirman");
        assert_eq!(GroupBy::None.label("all", None), "All");
    }

    #[test]
    fn a_bucket_is_the_whole_week_or_month() {
        assert_eq!(GroupBy::Week.bucket(d("2026-11-29")), Some((d("2026-11-23"), d("2026-11-29"))));
        assert_eq!(GroupBy::Week.bucket(d("2026-11-30")), Some((d("2026-11-30"), d("2026-12-06"))));
        assert_eq!(GroupBy::Month.bucket(d("2028-02-10")), Some((d("2028-02-01"), d("2028-02-29"))));
        assert_eq!(GroupBy::Month.bucket(d("2026-12-31")), Some((d("2026-12-01"), d("2026-12-31"))));
        assert_eq!(GroupBy::Region.bucket(d("2026-12-31")), None);
    }

    /// Buckets cut at the period's ends; each names the last date it covers.
    #[test]
    fn time_groups_cover_the_period() {
        let p = Period::new(d("2026-11-25"), d("2026-12-02")).unwrap();
        assert_eq!(
            GroupBy::Week.fixed_groups(p),
            vec![("2026-W48".into(), d("2026-11-29")), ("2026-W49".into(), d("2026-12-02"))]
        );
        assert_eq!(
            GroupBy::Month.fixed_groups(p),
            vec![("2026-11".into(), d("2026-11-30")), ("2026-12".into(), d("2026-12-02"))]
        );
        let year = Period::new(d("2026-01-01"), d("2026-12-31")).unwrap();
        assert_eq!(GroupBy::Month.fixed_groups(year).len(), 12);
        // 2026-01-01 is a Thursday of 2026-W01; 2026-12-31 is in 2026-W53.
        let weeks = GroupBy::Week.fixed_groups(year);
        assert_eq!((weeks.len(), weeks[0].0.as_str(), weeks[52].0.as_str()), (53, "2026-W01", "2026-W53"));
        assert_eq!(GroupBy::Region.fixed_groups(p), vec![]);
    }
}
