//! What a plan will do and what it did: the forecast (every occurrence per asset in a date
//! range, computed by the generator's own rules, writing nothing) and the recorded occurrences.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use axum::extract::State;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use nexus_shared::auth::Auth;
use nexus_shared::db::Lock;
use nexus_shared::extract::{Path, Query};
use nexus_shared::pagination::{DEFAULT_LIMIT, MAX_LIMIT, Page, PageParams, SortKey, Sorting};
use nexus_shared::pm::{Anchor, Occurrence, PlanRow, Planned, Schedule, assets_in_scope_carrying, floating_assets};
use nexus_shared::ticket::load_calendar;
use nexus_shared::{ApiError, ApiResult, AppState};
use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, FromRow, PgConnection};
use utoipa::{IntoParams, ToSchema};

use crate::store;

/// The longest range one forecast covers.
const MAX_DAYS: i64 = 366;

nexus_shared::text_enum! {
    /// `generate`: will be generated; `generated`: was; `skip_open`: skipped because the plan's
    /// previous ticket for the asset was open; `skip_non_working`: on a non-working day under
    /// `skip`, or moved onto a day that already has this plan's work.
    pub enum ForecastOutcome {
        Generate = "generate",
        Generated = "generated",
        SkipOpen = "skip_open",
        SkipNonWorking = "skip_non_working",
    }
}

/// One occurrence at one asset.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ForecastItem {
    pub asset_id: i64,
    pub location_code: String,
    /// Site-local date.
    pub due_on: NaiveDate,
    /// When the work is due (the plan's start time on `due_on` in the site's zone).
    pub scheduled_for: DateTime<Utc>,
    /// The recurrence's date, when a holiday rule moved it.
    pub shifted_from: Option<NaiveDate>,
    pub reason: Option<String>,
    pub outcome: ForecastOutcome,
    /// The generated ticket.
    pub ticket_id: Option<i64>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ForecastQuery {
    /// First site-local date, inclusive.
    from: NaiveDate,
    /// Last site-local date, inclusive; at most 366 days after `from`.
    to: NaiveDate,
    /// Page size, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[param(max_length = 200)]
    cursor: Option<String>,
}

/// Where a page of the forecast resumes: after this date, occurrence and asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct Position {
    d: NaiveDate,
    n: NaiveDate,
    a: i64,
}

/// Every occurrence of the plan per asset in scope between `from` and `to`, ordered by
/// `due_on`, then asset. Fixed plans follow their dates; floating plans go on from each
/// asset's last closure, assuming each ticket still open is closed on its due date.
#[utoipa::path(get, path = "/api/pm-plans/{id}/forecast", tag = "pm", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Plan id"), ForecastQuery),
    responses((status = 200, description = "A page of occurrences", body = Page<ForecastItem>),
              (status = 422, description = "A range longer than 366 days, reversed, or a bad cursor", body = nexus_shared::error::Problem)))]
pub async fn forecast(
    State(state): State<AppState>,
    _caller: Auth,
    Path(id): Path<i64>,
    Query(query): Query<ForecastQuery>,
) -> ApiResult<Page<ForecastItem>> {
    let (from, to) = (query.from, query.to);
    if to < from {
        return Err(ApiError::validation("to", "must not be before from"));
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(ApiError::validation("to", format!("must be within {MAX_DAYS} days of from")));
    }
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::validation("limit", format!("must be between 1 and {MAX_LIMIT}")));
    }
    let after = query
        .cursor
        .map(|c| decode(&c).ok_or_else(|| ApiError::validation("cursor", "is not a cursor this list issued")))
        .transpose()?;

    let mut conn = state.pool.acquire().await?;
    let plan = store::find(&mut conn, id, Lock::None).await?.ok_or(ApiError::NotFound)?;
    let schedule = plan.schedule(load_calendar(&mut conn, plan.calendar_id).await?)?;
    let assets = assets(&mut conn, &plan).await?;

    // The page alone is built, from the cursor on: a page costs its own items (and the plan's
    // dates), not every occurrence of the range, so walking a range is linear in its size.
    let wanted = limit as usize + 1;
    let mut page = match plan.anchor {
        Anchor::Fixed => fixed_page(&schedule, &assets, from, to, after, wanted),
        Anchor::Floating => {
            let index: HashMap<i64, usize> = assets.iter().enumerate().map(|(i, a)| (a.asset_id, i)).collect();
            let mut chains = Vec::new();
            for last in floating_assets(&mut conn, &[id]).await? {
                let Some(&i) = index.get(&last.site.asset_id) else { continue };
                // Still open: assume it is closed on the day it is due.
                let first = match last.last {
                    Some((due_on, true)) if last.waiting() => schedule.floating_after(due_on),
                    _ => last.next_occurrence(&plan, &schedule),
                };
                chains.push((i, first));
            }
            floating_page(&schedule, &assets, chains, from, to, after, wanted)
        }
    };
    let has_more = page.len() > limit as usize;
    page.truncate(limit as usize);
    let next_cursor = page.last().filter(|_| has_more).map(|(p, ..)| encode(*p));
    let recorded = match (page.first(), page.last()) {
        (Some((first, ..)), Some((last, ..))) => recorded(&mut conn, id, first.d, last.d).await?,
        _ => HashMap::new(),
    };
    let items = page
        .into_iter()
        .map(|(_, i, occurrence)| {
            let asset = &assets[i];
            let done = recorded.get(&(asset.asset_id, occurrence.due_on));
            let outcome = match (done, occurrence.outcome) {
                (Some(r), _) => r.outcome,
                (None, Planned::Generate) => ForecastOutcome::Generate,
                (None, Planned::SkipNonWorking | Planned::Merged) => ForecastOutcome::SkipNonWorking,
            };
            ForecastItem {
                asset_id: asset.asset_id,
                location_code: asset.code.clone(),
                due_on: occurrence.due_on,
                scheduled_for: schedule.scheduled_for(occurrence.due_on, asset.tz),
                shifted_from: occurrence.shifted_from,
                reason: occurrence.reason,
                outcome,
                ticket_id: done.and_then(|r| r.ticket_id),
            }
        })
        .collect();
    Ok(Page::new(items, next_cursor))
}

/// One item of a page: its position, its asset (an index into the scoped assets) and what falls due.
type Slot = (Position, usize, Occurrence);

/// Up to `wanted` occurrences of a fixed plan after `after`, in order: its dates due between
/// `from` and `to` (by due date, then recurrence date), each at every asset in `assets`
/// (ordered by id); on the cursor's own date, the assets after the cursor's.
fn fixed_page(
    schedule: &Schedule,
    assets: &[ScopedAsset],
    from: NaiveDate,
    to: NaiveDate,
    after: Option<Position>,
    wanted: usize,
) -> Vec<Slot> {
    // Start early enough that a holiday rule or a merge from before `from` is seen.
    let start = from.checked_sub_days(Days::new(370)).unwrap_or(from);
    let end = to.checked_add_days(Days::new(370)).unwrap_or(to);
    let mut dates: Vec<Occurrence> = schedule
        .fixed_from(start)
        .take_while(|o| o.nominal <= end)
        .filter(|o| (from..=to).contains(&o.due_on))
        .collect();
    // Already in this order (due dates never decrease); sorted all the same, as the positions are.
    dates.sort_by_key(|o| (o.due_on, o.nominal));
    let first = after.map_or(0, |a| dates.partition_point(|o| (o.due_on, o.nominal) < (a.d, a.n)));
    let mut page = Vec::with_capacity(wanted.min(dates.len().saturating_mul(assets.len())));
    for occurrence in &dates[first..] {
        let skip = match after {
            Some(a) if (occurrence.due_on, occurrence.nominal) == (a.d, a.n) => {
                assets.partition_point(|s| s.asset_id <= a.a)
            }
            _ => 0,
        };
        for (i, asset) in assets.iter().enumerate().skip(skip) {
            if page.len() == wanted {
                return page;
            }
            page.push((position(occurrence, asset.asset_id), i, occurrence.clone()));
        }
    }
    page
}

/// Up to `wanted` occurrences of a floating plan after `after`, in order: each asset's chain
/// (`chains`: the asset's index and its next occurrence; each one interval after the one
/// before) from `from` to `to`, merged by position.
fn floating_page(
    schedule: &Schedule,
    assets: &[ScopedAsset],
    chains: Vec<(usize, Option<Occurrence>)>,
    from: NaiveDate,
    to: NaiveDate,
    after: Option<Position>,
    wanted: usize,
) -> Vec<Slot> {
    // The next after `occurrence` in its chain, while the chain moves forward and stays in range.
    // It may not: a daily plan whose Saturday moves back onto the Friday it follows comes back to
    // that Friday (and the generator, the unique key refusing the date twice, makes nothing more).
    let next = |occurrence: &Occurrence| {
        schedule.floating_after(occurrence.due_on).filter(|n| n.due_on > occurrence.due_on && n.due_on <= to)
    };
    let mut heads: BinaryHeap<Reverse<(Position, usize)>> = BinaryHeap::new();
    let mut pending: Vec<(usize, Occurrence)> = Vec::with_capacity(chains.len());
    for (i, first) in chains {
        let asset_id = assets[i].asset_id;
        let mut head = first.filter(|o| o.due_on <= to);
        while let Some(o) = head.take_if(|o| o.due_on < from || after.is_some_and(|a| position(o, asset_id) <= a)) {
            head = next(&o);
        }
        if let Some(o) = head {
            heads.push(Reverse((position(&o, asset_id), pending.len())));
            pending.push((i, o));
        }
    }
    let mut page = Vec::with_capacity(wanted.min(heads.len().saturating_mul(8)));
    while page.len() < wanted {
        let Some(Reverse((at, chain))) = heads.pop() else { break };
        let (i, occurrence) = &mut pending[chain];
        match next(occurrence) {
            Some(o) => {
                heads.push(Reverse((position(&o, assets[*i].asset_id), chain)));
                page.push((at, *i, std::mem::replace(occurrence, o)));
            }
            None => page.push((at, *i, occurrence.clone())),
        }
    }
    page
}

fn position(occurrence: &Occurrence, asset_id: i64) -> Position {
    Position { d: occurrence.due_on, n: occurrence.nominal, a: asset_id }
}

fn encode(position: Position) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&position).unwrap_or_default())
}

fn decode(cursor: &str) -> Option<Position> {
    (cursor.len() <= 200)
        .then(|| URL_SAFE_NO_PAD.decode(cursor).ok())
        .flatten()
        .and_then(|b| serde_json::from_slice(&b).ok())
}

struct ScopedAsset {
    asset_id: i64,
    code: String,
    tz: Tz,
}

/// The active assets in the plan's scope now, by the generator's own query.
async fn assets(conn: &mut PgConnection, plan: &PlanRow) -> ApiResult<Vec<ScopedAsset>> {
    let sql = format!(
        "WITH plans AS (SELECT * FROM pm_plans WHERE id = $1), scope AS ({})
         SELECT asset_id, code, timezone FROM scope ORDER BY asset_id",
        assets_in_scope_carrying(&["l.code"])
    );
    let rows: Vec<(i64, String, String)> = sqlx::query_as(AssertSqlSafe(sql)).bind(plan.id).fetch_all(conn).await?;
    Ok(rows
        .into_iter()
        .map(|(asset_id, code, tz)| ScopedAsset { asset_id, code, tz: tz.parse().unwrap_or(chrono_tz::Asia::Jakarta) })
        .collect())
}

struct Recorded {
    outcome: ForecastOutcome,
    ticket_id: Option<i64>,
}

async fn recorded(
    conn: &mut PgConnection,
    plan_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> ApiResult<HashMap<(i64, NaiveDate), Recorded>> {
    let rows: Vec<(i64, NaiveDate, String, Option<i64>)> = sqlx::query_as(
        "SELECT asset_id, due_on, outcome, ticket_id FROM pm_occurrences
         WHERE plan_id = $1 AND due_on BETWEEN $2 AND $3 AND source = 'schedule'",
    )
    .bind(plan_id)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(asset_id, due_on, outcome, ticket_id)| {
            let outcome = match outcome.as_str() {
                "generated" => ForecastOutcome::Generated,
                "skip_open" => ForecastOutcome::SkipOpen,
                "skip_non_working" => ForecastOutcome::SkipNonWorking,
                _ => return None,
            };
            Some(((asset_id, due_on), Recorded { outcome, ticket_id }))
        })
        .collect())
}

/// What the generator (or a meter reading) decided for one asset and date.
#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct PmOccurrence {
    pub id: i64,
    pub asset_id: i64,
    pub due_on: NaiveDate,
    pub shifted_from: Option<NaiveDate>,
    pub reason: Option<String>,
    pub scheduled_for: DateTime<Utc>,
    /// `schedule` or `meter`.
    pub source: String,
    /// For a meter PM, the reading that fired it.
    pub meter_value: Option<f64>,
    #[sqlx(try_from = "String")]
    pub outcome: ForecastOutcome,
    pub ticket_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OccurrenceQuery {
    asset_id: Option<i64>,
}

/// How the occurrences are ordered.
pub struct OccurrenceSorting;

impl Sorting for OccurrenceSorting {
    const KEYS: &'static [SortKey] = &[SortKey { name: "due_on", column: "o.due_on", cast: "date" }];
    const DEFAULT: &'static str = "-due_on";
    const ID_COLUMN: &'static str = "o.id";
}

/// What was generated or skipped for the plan, latest due date first by default.
#[utoipa::path(get, path = "/api/pm-plans/{id}/occurrences", tag = "pm", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Plan id"), OccurrenceQuery, PageParams<OccurrenceSorting>),
    responses((status = 200, description = "A page of occurrences", body = Page<PmOccurrence>)))]
pub async fn occurrences(
    State(state): State<AppState>,
    _caller: Auth,
    Path(id): Path<i64>,
    Query(query): Query<OccurrenceQuery>,
    Query(page): Query<PageParams<OccurrenceSorting>>,
) -> ApiResult<Page<PmOccurrence>> {
    let page = page.resolve()?;
    let mut conn = state.pool.acquire().await?;
    store::find(&mut conn, id, Lock::None).await?.ok_or(ApiError::NotFound)?;
    drop(conn);
    let mut qb = page.query(
        "o.id, o.asset_id, o.due_on, o.shifted_from, o.reason, o.scheduled_for, o.source, o.meter_value, o.outcome,
         o.ticket_id, o.created_at",
        "pm_occurrences o",
    );
    qb.push(" AND o.plan_id = ").push_bind(id);
    if let Some(asset_id) = query.asset_id {
        qb.push(" AND o.asset_id = ").push_bind(asset_id);
    }
    Ok(page.fetch(qb, &state.pool).await?)
}
