//! The generator: turns the occurrences that have come within their plans' lead time into PM
//! tickets (or recorded skips), exactly once per plan, asset and due date.
//!
//! One run is a handful of statements whatever the number of plans: the active plans are read,
//! their next dates worked out here (the same `Schedule` the forecast uses), the assets in scope
//! of only the dates that have come due are read in one query, and every occurrence, ticket and
//! audit row is written by one statement. A fixed plan keeps a bookmark (`generated_through`),
//! so a run with nothing due reads no asset at all; nor does a run whose next dates no site's
//! zone has reached yet (the zones are read from the locations, a handful of index lookups).

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use sqlx::{AssertSqlSafe, PgConnection, PgPool};

use super::plan::{OpenPolicy, PLAN_COLUMNS, PlanRow, assets_in_scope, assets_in_scope_carrying};
use super::{Anchor, Occurrence, Planned, Schedule};
use crate::error::ApiError;
use crate::sla::Calendar;
use crate::ticket::{Priority, SlaClock, Targets, TicketStatus, load_calendar};

/// How many dates of one plan a run looks at, so a plan whose bookmark lags far behind (a long
/// outage) catches up over a few runs instead of in one huge statement.
const MAX_DATES_PER_PLAN: usize = 400;

/// What one run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GenerateReport {
    /// Plans with at least one date within its lead time.
    pub plans_due: u64,
    pub generated: u64,
    pub skipped_open: u64,
    pub skipped_non_working: u64,
}

/// Generates everything due at `now`. Safe to re-run and to run concurrently: the unique key
/// on `(plan, asset, due date)` lets each occurrence be written once, and its ticket with it.
pub async fn generate(pool: &PgPool, now: DateTime<Utc>) -> Result<GenerateReport, ApiError> {
    let mut conn = pool.acquire().await?;
    let plans: Vec<PlanRow> =
        sqlx::query_as(AssertSqlSafe(format!("SELECT {PLAN_COLUMNS} FROM pm_plans WHERE active ORDER BY id")))
            .fetch_all(&mut *conn)
            .await?;
    let mut calendars = Calendars::default();
    let mut schedules: HashMap<i64, (&PlanRow, Schedule)> = HashMap::new();
    for plan in &plans {
        schedules.insert(plan.id, (plan, plan.schedule(calendars.get(&mut conn, plan.calendar_id).await?)?));
    }
    let mut due = DueDates::default();
    let mut floating = Vec::new();
    for plan in &plans {
        match plan.anchor {
            Anchor::Fixed => due.add(plan, &schedules[&plan.id].1, now),
            Anchor::Floating => floating.push(plan.id),
        }
    }
    if !due.dates.is_empty() {
        due.hold_back(&site_zones(&mut conn).await?, &schedules, now);
    }

    let mut decided = Decisions::new(now);
    for row in due.assets(&mut conn).await? {
        let date = &due.dates[row.date_index];
        let (plan, schedule) = &schedules[&date.plan_id];
        decided.consider(plan, schedule, &date.occurrence, &row.site, row.has_open, Some(row.date_index));
    }
    for row in floating_assets(&mut conn, &floating).await? {
        let (plan, schedule) = &schedules[&row.site.plan_id];
        let Some(occurrence) = row.next_occurrence(plan, schedule) else { continue };
        decided.consider(plan, schedule, &occurrence, &row.site, false, None);
    }
    let bookmarks = due.bookmarks(&decided.not_yet);
    let plans_by_id: HashMap<i64, &PlanRow> = schedules.values().map(|(plan, _)| (plan.id, *plan)).collect();
    let run_id = format!("pm-generate:{}", now.to_rfc3339_opts(SecondsFormat::Micros, true));

    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let written = write(&mut tx, &decided.rows, &plans_by_id, &mut calendars, now, &run_id).await?;
    for (plan_id, version, through) in bookmarks {
        // The version check leaves a plan edited meanwhile to the next run.
        sqlx::query("UPDATE pm_plans SET generated_through = $3 WHERE id = $1 AND version = $2")
            .bind(plan_id)
            .bind(version)
            .bind(through)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(GenerateReport { plans_due: due.plans_due, ..written.report })
}

/// Calendars by id, each read once per run.
#[derive(Default)]
pub(super) struct Calendars(HashMap<i64, Calendar>);

impl Calendars {
    pub(super) async fn get(&mut self, conn: &mut PgConnection, id: i64) -> Result<Calendar, ApiError> {
        if let Some(calendar) = self.0.get(&id) {
            return Ok(calendar.clone());
        }
        let calendar = load_calendar(conn, id).await?;
        self.0.insert(id, calendar.clone());
        Ok(calendar)
    }
}

/// A fixed plan's date that has come within its lead time somewhere on Earth.
struct DueDate {
    plan_id: i64,
    version: i32,
    occurrence: Occurrence,
    /// Within its lead time in the zone of some site: worth reading its assets. A date no
    /// site has reached yet waits (and holds the plan's bookmark) as one with an asset
    /// `not_yet` would.
    reached: bool,
}

/// The dates of fixed plans worth asking the database about.
#[derive(Default)]
struct DueDates {
    dates: Vec<DueDate>,
    plans_due: u64,
}

/// An active asset in a plan's scope.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Site {
    pub plan_id: i64,
    pub asset_id: i64,
    pub location_id: i64,
    pub timezone: String,
}

impl Site {
    pub fn tz(&self) -> Tz {
        zone(&self.timezone)
    }
}

/// A location's zone by name (Jakarta for a name the zone database does not know).
fn zone(name: &str) -> Tz {
    Tz::from_str(name).unwrap_or(chrono_tz::Asia::Jakarta)
}

/// The distinct zones of the locations: a loose scan of `locations_timezone_idx`, one index
/// lookup per zone.
async fn site_zones(conn: &mut PgConnection) -> Result<Vec<Tz>, ApiError> {
    let names: Vec<String> = sqlx::query_scalar(
        "WITH RECURSIVE z (timezone) AS (
             (SELECT timezone FROM locations ORDER BY timezone LIMIT 1)
             UNION ALL
             SELECT (SELECT l.timezone FROM locations l WHERE l.timezone > z.timezone ORDER BY l.timezone LIMIT 1)
             FROM z WHERE z.timezone IS NOT NULL)
         SELECT timezone FROM z WHERE timezone IS NOT NULL",
    )
    .fetch_all(conn)
    .await?;
    Ok(names.iter().map(|name| zone(name)).collect())
}

struct DueAsset {
    date_index: usize,
    site: Site,
    has_open: bool,
}

impl DueDates {
    fn add(&mut self, plan: &PlanRow, schedule: &Schedule, now: DateTime<Utc>) {
        let from = plan.generated_through.and_then(|d| d.succ_opt()).unwrap_or(plan.starts_on);
        let before = self.dates.len();
        for occurrence in schedule.fixed_from(from).take(MAX_DATES_PER_PLAN) {
            if schedule.earliest_due(occurrence.due_on) - plan.lead_time() > now {
                break;
            }
            self.dates.push(DueDate { plan_id: plan.id, version: plan.version, occurrence, reached: true });
        }
        if self.dates.len() > before {
            self.plans_due += 1;
        }
    }

    /// Marks the dates no site has reached yet: those whose start time, in every zone among
    /// the locations (`zones`), is still more than the plan's lead time away. Their assets
    /// would all be `not_yet`, so they are not read. Dates never fall due earlier than the
    /// plan's date before them, so a plan's dates from its first unreached one on all wait.
    fn hold_back(&mut self, zones: &[Tz], schedules: &HashMap<i64, (&PlanRow, Schedule)>, now: DateTime<Utc>) {
        let mut waiting: HashSet<i64> = HashSet::new();
        for date in &mut self.dates {
            let (plan, schedule) = &schedules[&date.plan_id];
            let reached = |tz: &Tz| schedule.scheduled_for(date.occurrence.due_on, *tz) - plan.lead_time() <= now;
            if waiting.contains(&date.plan_id) || !zones.iter().any(reached) {
                date.reached = false;
                waiting.insert(date.plan_id);
            }
        }
    }

    /// The assets in scope of each due date some site has reached that have no occurrence for
    /// it yet, and whether the plan's previous ticket for the asset is still open.
    ///
    /// Each plan carries its dates through the scope (read once per plan), and each asset in
    /// scope is checked once, by index, for an open ticket and for which of those dates it
    /// already has; the dates are unnested last. Nothing is joined back to the dates (the
    /// planner cannot know the scope's size, and misjudged that join), and neither check can
    /// turn into a scan of the tickets or of the occurrences, which only grow.
    async fn assets(&self, conn: &mut PgConnection) -> Result<Vec<DueAsset>, ApiError> {
        let wanted: Vec<(i64, NaiveDate, i64)> = (self.dates.iter().enumerate())
            .filter(|(_, d)| d.reached && d.occurrence.outcome != Planned::Merged)
            .map(|(i, d)| (d.plan_id, d.occurrence.due_on, i as i64))
            .collect();
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let open = TicketStatus::sql_list(TicketStatus::ACTIVE);
        let sql = format!(
            "WITH due AS (SELECT plan_id, array_agg(due_on) AS due_ons, array_agg(idx) AS idxs
                          FROM unnest($1::bigint[], $2::date[], $3::bigint[]) AS d (plan_id, due_on, idx)
                          GROUP BY plan_id),
                  plans AS (SELECT p.*, d.due_ons, d.idxs FROM pm_plans p JOIN due d ON d.plan_id = p.id),
                  scope AS ({scope}),
                  checked AS MATERIALIZED (
                      SELECT s.*,
                             coalesce((SELECT true FROM tickets t WHERE t.pm_plan_id = s.plan_id AND t.asset_id = s.asset_id
                                                                    AND t.status IN {open} LIMIT 1), false) AS has_open,
                             ARRAY(SELECT o.due_on FROM pm_occurrences o
                                   WHERE o.plan_id = s.plan_id AND o.asset_id = s.asset_id AND o.source = 'schedule'
                                     AND o.due_on = ANY(s.due_ons)) AS done
                      FROM scope s)
             SELECT d.idx, c.plan_id, c.asset_id, c.location_id, c.timezone, c.has_open
             FROM checked c CROSS JOIN LATERAL unnest(c.due_ons, c.idxs) AS d (due_on, idx)
             WHERE d.due_on <> ALL (c.done)
             ORDER BY d.idx, c.asset_id",
            scope = assets_in_scope_carrying(&["p.due_ons", "p.idxs"]),
        );
        let rows: Vec<(i64, i64, i64, i64, String, bool)> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(wanted.iter().map(|w| w.0).collect::<Vec<_>>())
            .bind(wanted.iter().map(|w| w.1).collect::<Vec<_>>())
            .bind(wanted.iter().map(|w| w.2).collect::<Vec<_>>())
            .persistent(false)
            .fetch_all(conn)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(idx, plan_id, asset_id, location_id, timezone, has_open)| DueAsset {
                date_index: idx as usize,
                site: Site { plan_id, asset_id, location_id, timezone },
                has_open,
            })
            .collect())
    }

    /// Per fixed plan, the last date of the run's leading dates that no asset is still waiting
    /// for (nor, for a date no site has reached, every asset): the next run starts after it.
    fn bookmarks(&self, not_yet: &HashSet<usize>) -> Vec<(i64, i32, NaiveDate)> {
        let mut marks: Vec<(i64, i32, NaiveDate)> = Vec::new();
        let mut blocked: HashSet<i64> = HashSet::new();
        for (i, date) in self.dates.iter().enumerate() {
            if blocked.contains(&date.plan_id) {
                continue;
            }
            if !date.reached || not_yet.contains(&i) {
                blocked.insert(date.plan_id);
                continue;
            }
            match marks.last_mut() {
                Some(last) if last.0 == date.plan_id => last.2 = date.occurrence.nominal,
                _ => marks.push((date.plan_id, date.version, date.occurrence.nominal)),
            }
        }
        marks
    }
}

/// A floating plan's asset with what happened last.
pub struct FloatingAsset {
    pub site: Site,
    /// The latest occurrence's due date and whether it was generated, and its ticket's state.
    pub last: Option<(NaiveDate, bool)>,
    pub closed_at: Option<DateTime<Utc>>,
    pub cancelled: bool,
}

impl FloatingAsset {
    /// One interval after the last closure (or the last skipped or cancelled date); nothing
    /// while the last ticket is open; the plan's first date when nothing happened yet.
    pub fn next_occurrence(&self, plan: &PlanRow, schedule: &Schedule) -> Option<Occurrence> {
        match self.last {
            None => {
                let floor = plan.generated_through.and_then(|d| d.succ_opt()).unwrap_or(plan.starts_on);
                schedule.first_from(floor)
            }
            Some((due_on, false)) => schedule.floating_after(due_on),
            Some((due_on, true)) if self.cancelled => schedule.floating_after(due_on),
            Some((due_on, true)) => {
                let closed = self.closed_at?;
                let mut next = schedule.floating_after(closed.with_timezone(&self.site.tz()).date_naive())?;
                // Closed before its due date: the next may not land on (or before) that date,
                // which the plan already has (the unique key would refuse it for good).
                for _ in 0..MAX_DATES_PER_PLAN {
                    if next.due_on > due_on {
                        return Some(next);
                    }
                    next = schedule.floating_after(next.due_on)?;
                }
                None
            }
        }
    }

    /// Whether the last occurrence's ticket is still being worked (the plan waits for it).
    pub fn waiting(&self) -> bool {
        matches!(self.last, Some((_, true))) && !self.cancelled && self.closed_at.is_none()
    }
}

/// The assets in scope of floating plans, each with its latest occurrence.
pub async fn floating_assets(conn: &mut PgConnection, plan_ids: &[i64]) -> Result<Vec<FloatingAsset>, ApiError> {
    if plan_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "WITH plans AS (SELECT * FROM pm_plans WHERE id = ANY($1)), scope AS ({scope})
         SELECT s.plan_id, s.asset_id, s.location_id, s.timezone, last.due_on, last.ticket_id IS NOT NULL,
                t.closed_at, t.status = 'cancelled'
         FROM scope s
         LEFT JOIN LATERAL (SELECT o.due_on, o.ticket_id FROM pm_occurrences o
                            WHERE o.plan_id = s.plan_id AND o.asset_id = s.asset_id
                            ORDER BY o.due_on DESC, o.id DESC LIMIT 1) last ON true
         LEFT JOIN tickets t ON t.id = last.ticket_id
         ORDER BY s.plan_id, s.asset_id",
        scope = assets_in_scope(),
    );
    type Row = (i64, i64, i64, String, Option<NaiveDate>, Option<bool>, Option<DateTime<Utc>>, Option<bool>);
    let rows: Vec<Row> = sqlx::query_as(AssertSqlSafe(sql)).bind(plan_ids).persistent(false).fetch_all(conn).await?;
    Ok(rows
        .into_iter()
        .map(|(plan_id, asset_id, location_id, timezone, due_on, generated, closed_at, cancelled)| FloatingAsset {
            site: Site { plan_id, asset_id, location_id, timezone },
            last: due_on.map(|d| (d, generated.unwrap_or(false))),
            closed_at,
            cancelled: cancelled.unwrap_or(false),
        })
        .collect())
}

/// One occurrence to write.
pub(super) struct Row {
    pub site: Site,
    pub occurrence: Occurrence,
    pub scheduled_for: DateTime<Utc>,
    /// Where the ticket's SLA clocks start: `scheduled_for`, or for a meter PM fired by a
    /// reading taken earlier (offline), the moment the reading arrived.
    pub sla_starts_at: DateTime<Utc>,
    pub outcome: &'static str,
    pub source: Source,
}

/// What made an occurrence: the plan's calendar, or a meter reading (with its value).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Source {
    Schedule,
    Meter { value: f64 },
}

/// What the run decides, asset by asset.
struct Decisions {
    now: DateTime<Utc>,
    rows: Vec<Row>,
    /// Due dates some asset of which is not within its lead time yet (its zone is behind).
    not_yet: HashSet<usize>,
    /// Plan and asset pairs given a ticket by this run (for `skip_if_open`).
    generated: HashSet<(i64, i64)>,
    /// Plan, asset and due date of every row, so none is written twice.
    written: HashSet<(i64, i64, NaiveDate)>,
}

impl Decisions {
    fn new(now: DateTime<Utc>) -> Self {
        Self { now, rows: Vec::new(), not_yet: HashSet::new(), generated: HashSet::new(), written: HashSet::new() }
    }

    fn consider(
        &mut self,
        plan: &PlanRow,
        schedule: &Schedule,
        occurrence: &Occurrence,
        site: &Site,
        has_open: bool,
        date_index: Option<usize>,
    ) {
        let scheduled_for = schedule.scheduled_for(occurrence.due_on, site.tz());
        if scheduled_for - plan.lead_time() > self.now {
            if let Some(i) = date_index {
                self.not_yet.insert(i);
            }
            return;
        }
        if !self.written.insert((plan.id, site.asset_id, occurrence.due_on)) {
            return;
        }
        let key = (plan.id, site.asset_id);
        let outcome = match occurrence.outcome {
            Planned::Merged => return,
            Planned::SkipNonWorking => "skip_non_working",
            Planned::Generate
                if plan.open_policy == OpenPolicy::SkipIfOpen && (has_open || self.generated.contains(&key)) =>
            {
                "skip_open"
            }
            Planned::Generate => {
                self.generated.insert(key);
                "generated"
            }
        };
        self.rows.push(Row {
            site: site.clone(),
            occurrence: occurrence.clone(),
            scheduled_for,
            sla_starts_at: scheduled_for,
            outcome,
            source: Source::Schedule,
        });
    }
}

/// The SLA rules of PM tickets by priority.
async fn pm_targets(conn: &mut PgConnection) -> Result<HashMap<Priority, Targets>, ApiError> {
    let rows: Vec<(String, i64, i32, i32, f32)> = sqlx::query_as(
        "SELECT priority, calendar_id, response_target_minutes, resolution_target_minutes, warning_ratio
         FROM sla_matrices WHERE ticket_type = 'PM'",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(priority, calendar_id, response_minutes, resolution_minutes, warning_ratio)| {
            let targets = Targets { calendar_id, response_minutes, resolution_minutes, warning_ratio };
            Priority::try_from(priority).ok().map(|p| (p, targets))
        })
        .collect())
}

/// What [`write`] wrote.
#[derive(Debug, Default)]
pub(super) struct Written {
    pub report: GenerateReport,
    pub ticket_ids: Vec<i64>,
}

/// Writes the occurrences and, for the generated ones, their tickets (numbers, SLA lines from
/// `sla_starts_at`), audit rows (request id `run_id`) and `ticket.created` events, in one
/// statement (and one for the events, when an endpoint subscribes): a scheduled
/// occurrence another run wrote first is dropped by the unique key, and its ticket with it.
pub(super) async fn write(
    conn: &mut PgConnection,
    rows: &[Row],
    plans: &HashMap<i64, &PlanRow>,
    calendars: &mut Calendars,
    now: DateTime<Utc>,
    run_id: &str,
) -> Result<Written, ApiError> {
    if rows.is_empty() {
        return Ok(Written::default());
    }
    let targets = pm_targets(conn).await?;
    let mut columns = Columns::default();
    let mut clocks: HashMap<(Priority, String), SlaClock> = HashMap::new();
    for row in rows {
        let plan = plans[&row.site.plan_id];
        let Some(targets) = targets.get(&plan.priority) else {
            tracing::warn!(plan_id = plan.id, priority = %plan.priority, "no SLA rule for PM tickets of this priority; nothing generated");
            continue;
        };
        let clock_key = (plan.priority, row.site.timezone.clone());
        let clock = match clocks.get(&clock_key) {
            Some(clock) => clock,
            None => {
                let calendar = calendars.get(conn, targets.calendar_id).await?;
                clocks.entry(clock_key.clone()).or_insert(SlaClock::new(calendar, row.site.tz(), *targets))
            }
        };
        columns.push(row, *targets, clock);
    }
    if columns.plan_id.is_empty() {
        return Ok(Written::default());
    }
    let counts: Vec<(String, i64, Vec<i64>)> = sqlx::query_as(WRITE)
        .bind(&columns.plan_id)
        .bind(&columns.asset_id)
        .bind(&columns.location_id)
        .bind(&columns.due_on)
        .bind(&columns.shifted_from)
        .bind(&columns.reason)
        .bind(&columns.scheduled_for)
        .bind(&columns.outcome)
        .bind(&columns.calendar_id)
        .bind(&columns.response_minutes)
        .bind(&columns.resolution_minutes)
        .bind(&columns.warning_ratio)
        .bind(&columns.lines[0])
        .bind(&columns.lines[1])
        .bind(&columns.lines[2])
        .bind(&columns.lines[3])
        .bind(now)
        .bind(now.year())
        .bind(run_id)
        .bind(&columns.source)
        .bind(&columns.meter_value)
        .bind(&columns.sla_started_at)
        .persistent(false)
        .fetch_all(&mut *conn)
        .await?;
    let mut written = Written::default();
    for (outcome, count, ticket_ids) in counts {
        let count = u64::try_from(count).unwrap_or_default();
        match outcome.as_str() {
            "generated" => written.report.generated = count,
            "skip_open" => written.report.skipped_open = count,
            _ => written.report.skipped_non_working = count,
        }
        written.ticket_ids.extend(ticket_ids);
    }
    crate::webhook::change::tickets_created(conn, &written.ticket_ids).await?;
    Ok(written)
}

/// The write's parameters, one array per column (bound with `unnest`).
#[derive(Default)]
struct Columns {
    plan_id: Vec<i64>,
    asset_id: Vec<i64>,
    location_id: Vec<i64>,
    due_on: Vec<NaiveDate>,
    shifted_from: Vec<Option<NaiveDate>>,
    reason: Vec<Option<String>>,
    scheduled_for: Vec<DateTime<Utc>>,
    outcome: Vec<&'static str>,
    calendar_id: Vec<i64>,
    response_minutes: Vec<i32>,
    resolution_minutes: Vec<i32>,
    warning_ratio: Vec<f32>,
    /// Response warning and due, resolution warning and due.
    lines: [Vec<DateTime<Utc>>; 4],
    source: Vec<&'static str>,
    meter_value: Vec<Option<f64>>,
    sla_started_at: Vec<DateTime<Utc>>,
}

impl Columns {
    fn push(&mut self, row: &Row, targets: Targets, clock: &SlaClock) {
        let lines = clock.lines(row.sla_starts_at, chrono::Duration::zero());
        self.plan_id.push(row.site.plan_id);
        self.asset_id.push(row.site.asset_id);
        self.location_id.push(row.site.location_id);
        self.due_on.push(row.occurrence.due_on);
        self.shifted_from.push(row.occurrence.shifted_from);
        self.reason.push(row.occurrence.reason.clone());
        self.scheduled_for.push(row.scheduled_for);
        self.outcome.push(row.outcome);
        self.calendar_id.push(targets.calendar_id);
        self.response_minutes.push(targets.response_minutes);
        self.resolution_minutes.push(targets.resolution_minutes);
        self.warning_ratio.push(targets.warning_ratio);
        self.lines[0].push(lines.response_warning_at);
        self.lines[1].push(lines.response_due_at);
        self.lines[2].push(lines.resolution_warning_at);
        self.lines[3].push(lines.resolution_due_at);
        let (source, meter_value) = match row.source {
            Source::Schedule => ("schedule", None),
            Source::Meter { value } => ("meter", Some(value)),
        };
        self.source.push(source);
        self.meter_value.push(meter_value);
        self.sla_started_at.push(row.sla_starts_at);
    }
}

/// `$1..$16` the columns above, `$17` now, `$18` the year of the ticket numbers, `$19` the run
/// id for the audit rows, `$20..$22` source, meter value and SLA start. Answers `(outcome,
/// count, ticket ids)` of what was written.
///
/// The occurrences go first (the unique key drops what another run wrote) and take their
/// ticket ids from the tickets' own sequence, so the tickets, inserted next with those ids,
/// exist only for occurrences that were written. Numbers are taken from the year's counter
/// in one step. A plan's assignee gets the ticket only while they are an active technician; its
/// checklist is attached at its latest version.
const WRITE: &str = "WITH c AS (
            SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::date[], $5::date[], $6::text[],
                                 $7::timestamptz[], $8::text[], $9::bigint[], $10::int[], $11::int[], $12::real[],
                                 $13::timestamptz[], $14::timestamptz[], $15::timestamptz[], $16::timestamptz[],
                                 $20::text[], $21::float8[], $22::timestamptz[])
                AS c (plan_id, asset_id, location_id, due_on, shifted_from, reason, scheduled_for, outcome,
                      calendar_id, response_minutes, resolution_minutes, warning_ratio,
                      response_warning_at, response_due_at, resolution_warning_at, resolution_due_at,
                      source, meter_value, sla_started_at)
         ), occurrences AS (
            INSERT INTO pm_occurrences (plan_id, asset_id, due_on, shifted_from, reason, scheduled_for, outcome, ticket_id,
                                        source, meter_value)
            SELECT plan_id, asset_id, due_on, shifted_from, reason, scheduled_for, outcome,
                   CASE WHEN outcome = 'generated' THEN nextval(pg_get_serial_sequence('tickets', 'id')) END,
                   source, meter_value
            FROM c ORDER BY plan_id, asset_id, due_on
            ON CONFLICT (plan_id, asset_id, due_on) WHERE source = 'schedule' DO NOTHING
            RETURNING plan_id, asset_id, due_on, source, outcome, ticket_id
         ), new_tickets AS (
            SELECT o.ticket_id, c.*, row_number() OVER (ORDER BY o.ticket_id) AS n
            FROM occurrences o JOIN c USING (plan_id, asset_id, due_on, source)
            WHERE o.ticket_id IS NOT NULL
         ), counter AS (
            INSERT INTO ticket_counters (ticket_type, year, last_value)
            SELECT 'PM', $18, count(*) FROM new_tickets
            ON CONFLICT (ticket_type, year) DO UPDATE SET last_value = ticket_counters.last_value + EXCLUDED.last_value
            RETURNING last_value - (SELECT count(*) FROM new_tickets) AS base
         ), inserted AS (
            INSERT INTO tickets (id, number, ticket_type, priority, status, asset_id, location_id, description,
                                 assigned_to, pm_plan_id, scheduled_for, sla_started_at, checklist_id, checklist_version,
                                 sla_calendar_id,
                                 response_target_minutes, resolution_target_minutes, warning_ratio,
                                 response_warning_at, response_due_at, resolution_warning_at, resolution_due_at,
                                 created_at, updated_at)
            OVERRIDING SYSTEM VALUE
            SELECT nt.ticket_id,
                   'PM-' || $18 || '-' || lpad((counter.base + nt.n)::text, greatest(6, length((counter.base + nt.n)::text)), '0'),
                   'PM', p.priority, CASE WHEN assignee.id IS NULL THEN 'open' ELSE 'assigned' END,
                   nt.asset_id, nt.location_id, p.description, assignee.id, nt.plan_id, nt.scheduled_for,
                   nt.sla_started_at, checklist.id, checklist.version, nt.calendar_id, nt.response_minutes, nt.resolution_minutes, nt.warning_ratio,
                   nt.response_warning_at, nt.response_due_at, nt.resolution_warning_at, nt.resolution_due_at, $17, $17
            FROM new_tickets nt
            CROSS JOIN counter
            JOIN pm_plans p ON p.id = nt.plan_id
            LEFT JOIN checklists checklist ON checklist.id = p.checklist_id
            LEFT JOIN LATERAL (SELECT u.id FROM users u JOIN user_roles r ON r.user_id = u.id
                               WHERE u.id = p.assigned_to AND u.active AND r.role = 'technician') assignee ON true
            RETURNING id, number, ticket_type, priority, status, asset_id, location_id, description, assigned_to,
                      pm_plan_id, scheduled_for, sla_started_at, response_due_at, resolution_due_at
         ), audited AS (
            INSERT INTO audit_logs (entity_type, entity_id, action, actor_id, changes, request_id)
            SELECT 'ticket', i.id, 'create', NULL,
                   (SELECT jsonb_object_agg(f.key, jsonb_build_object('old', NULL, 'new', f.value))
                    FROM jsonb_each(to_jsonb(i)) f),
                   $19
            FROM inserted i
         )
         SELECT outcome, count(*), array_remove(array_agg(ticket_id ORDER BY ticket_id), NULL)
         FROM occurrences GROUP BY outcome";

#[cfg(test)]
mod tests {
    use chrono_tz::Asia::{Jakarta, Jayapura};

    use super::*;
    use crate::pm::{NonWorking, Unit};

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// A daily fixed plan from 2026-12-01 at 08:00, a week ahead, on the 24x7 calendar.
    fn daily() -> PlanRow {
        PlanRow {
            id: 1,
            name: "Daily".into(),
            description: "Daily".into(),
            priority: Priority::Medium,
            asset_ids: None,
            location_ids: None,
            categories: None,
            regions: Some(vec!["Jawa".into()]),
            every: 1,
            unit: Unit::Day,
            weekdays: None,
            day_of_month: None,
            anchor: Anchor::Fixed,
            starts_on: date("2026-12-01"),
            ends_on: None,
            start_time: "08:00:00".parse().unwrap(),
            calendar_id: 1,
            non_working: NonWorking::Next,
            generate_ahead_days: 7,
            open_policy: OpenPolicy::Always,
            assigned_to: None,
            meter_trigger: None,
            checklist_id: None,
            active: true,
            generated_through: None,
            version: 1,
            created_by: None,
            created_at: at("2026-11-01T00:00:00Z"),
            updated_at: at("2026-11-01T00:00:00Z"),
        }
    }

    /// `(due date, reached)` of the dates a run at `now` looks at, with sites in `zones`.
    fn due_at(now: &str, zones: &[Tz]) -> (DueDates, Vec<(NaiveDate, bool)>) {
        let plan = daily();
        let schedule = plan.schedule(Calendar::Always).unwrap();
        let mut due = DueDates::default();
        due.add(&plan, &schedule, at(now));
        let schedules = HashMap::from([(plan.id, (&plan, schedule))]);
        due.hold_back(zones, &schedules, at(now));
        let dates = due.dates.iter().map(|d| (d.occurrence.due_on, d.reached)).collect();
        (due, dates)
    }

    // 08:00 on 2026-12-01 is 2026-11-30 23:00Z in Jayapura (UTC+9) and 2026-12-01 01:00Z in
    // Jakarta (UTC+7); a week ahead, 2026-11-23 23:00Z and 2026-11-24 01:00Z. UTC+14 gets there
    // at 2026-11-23 18:00Z.
    #[test]
    fn a_date_no_sites_zone_has_reached_is_not_read_and_holds_the_bookmark() {
        let (due, dates) = due_at("2026-11-23T22:59:00Z", &[Jakarta, Jayapura]);
        assert_eq!(dates, [(date("2026-12-01"), false)], "due somewhere on Earth, at no site yet");
        assert_eq!(due.plans_due, 1);
        assert_eq!(due.bookmarks(&HashSet::new()), []);

        let (due, dates) = due_at("2026-11-23T23:00:00Z", &[Jakarta, Jayapura]);
        assert_eq!(dates, [(date("2026-12-01"), true)], "Jayapura's sites have reached it");
        assert_eq!(due.bookmarks(&HashSet::from([0])), [], "Jakarta's sites are not_yet");
        assert_eq!(due.bookmarks(&HashSet::new()), [(1, 1, date("2026-12-01"))]);

        let (_, dates) = due_at("2026-11-23T23:00:00Z", &[Jakarta]);
        assert_eq!(dates, [(date("2026-12-01"), false)], "no site in Jayapura");
        let (_, dates) = due_at("2026-11-23T23:00:00Z", &[]);
        assert_eq!(dates, [(date("2026-12-01"), false)], "no site at all");
    }

    #[test]
    fn a_plans_dates_from_its_first_unreached_one_all_wait() {
        // 2026-12-03 is within a week in UTC+14 from 2026-11-25 18:00Z, in Jayapura from 23:00Z.
        let (due, dates) = due_at("2026-11-25T18:30:00Z", &[Jakarta, Jayapura]);
        assert_eq!(dates, [(date("2026-12-01"), true), (date("2026-12-02"), true), (date("2026-12-03"), false)],);
        assert_eq!(due.bookmarks(&HashSet::new()), [(1, 1, date("2026-12-02"))]);
        assert_eq!(due.bookmarks(&HashSet::from([1])), [(1, 1, date("2026-12-01"))]);
    }
}
