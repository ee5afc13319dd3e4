//! The tickets table and what it reads from assets, users and SLA rules.

use chrono::{DateTime, Datelike, Utc};
use nexus_shared::csv::CsvBody;
use nexus_shared::db::Lock;
use nexus_shared::pagination::{Page, PageRequest, SortKey};
use nexus_shared::ticket::{Lines, Priority, Targets, TicketFilter, TicketStatus, TicketType, Visibility};
use nexus_shared::{ApiError, ApiResult, webhook};
use sqlx::{AssertSqlSafe, PgConnection, PgPool, Postgres, QueryBuilder};

use crate::export;
use crate::ticket::{SELECT, TicketRow};

pub const SORTS: [SortKey; 2] = [
    SortKey { name: "created_at", column: "t.created_at", cast: "timestamptz" },
    SortKey { name: "resolution_due_at", column: "t.resolution_due_at", cast: "timestamptz" },
];

/// One ticket, if the caller may see it.
pub async fn find(
    conn: &mut PgConnection,
    id: i64,
    visibility: Visibility,
    lock: Lock,
) -> ApiResult<Option<TicketRow>> {
    let mut qb = QueryBuilder::new(SELECT);
    qb.push(" WHERE t.id = ").push_bind(id);
    if let Visibility::AssignedTo(user_id) = visibility {
        qb.push(" AND t.assigned_to = ").push_bind(user_id);
    }
    if lock == Lock::ForUpdate {
        qb.push(" FOR UPDATE OF t");
    }
    Ok(qb.build_query_as().fetch_optional(conn).await?)
}

pub async fn list(
    pool: &PgPool,
    filter: &TicketFilter,
    visibility: Visibility,
    page: &PageRequest,
) -> ApiResult<Page<TicketRow>> {
    page.fetch(list_query(filter, visibility, page), pool).await
}

/// The list's statement up to its filters; the page adds the cursor, order and limit.
fn list_query(filter: &TicketFilter, visibility: Visibility, page: &PageRequest) -> QueryBuilder<Postgres> {
    filtered(filter, visibility, &page.select_keys())
}

fn filtered(filter: &TicketFilter, visibility: Visibility, extra_columns: &str) -> QueryBuilder<Postgres> {
    let select = SELECT.replacen(" FROM tickets t", &format!("{extra_columns} FROM tickets t"), 1);
    let mut qb = QueryBuilder::new(select);
    qb.push(" WHERE true");
    filter.push(&mut qb, visibility);
    qb
}

/// Every ticket the list's filter matches, in the list's order, as CSV (up to the cap).
pub async fn export(
    pool: &PgPool,
    filter: &TicketFilter,
    visibility: Visibility,
    order: &PageRequest,
) -> ApiResult<CsvBody> {
    let mut qb = QueryBuilder::new(nexus_shared::ticket::export::EXPORT_SELECT);
    filter.push(&mut qb, visibility);
    order.push_order_limit(&mut qb);
    export::EXPORT.run(pool, qb, nexus_shared::ticket::export::write).await
}

/// The SLA rule for a type and priority, as the targets a ticket keeps.
pub async fn rule(conn: &mut PgConnection, ticket_type: TicketType, priority: Priority) -> ApiResult<Targets> {
    let row: Option<(i64, i32, i32, f32)> = sqlx::query_as(
        "SELECT calendar_id, response_target_minutes, resolution_target_minutes, warning_ratio
         FROM sla_matrices WHERE ticket_type = $1 AND priority = $2",
    )
    .bind(ticket_type.as_str())
    .bind(priority.as_str())
    .fetch_optional(conn)
    .await?;
    let (calendar_id, response_minutes, resolution_minutes, warning_ratio) = row.ok_or_else(|| {
        ApiError::Conflict(format!(
            "No SLA rule exists for {ticket_type} tickets of {priority} priority; create one first."
        ))
    })?;
    Ok(Targets { calendar_id, response_minutes, resolution_minutes, warning_ratio })
}

/// A ticket may be assigned to an active technician only.
pub async fn check_assignable(conn: &mut PgConnection, user_id: i64) -> ApiResult<()> {
    if nexus_shared::user::is_active_technician(conn, user_id).await? {
        Ok(())
    } else {
        Err(ApiError::validation("assigned_to", "must be an active technician"))
    }
}

/// The asset a new ticket is for, with its location's id and time zone.
pub struct AssetSite {
    pub location_id: i64,
    pub timezone: String,
}

pub async fn asset_site(conn: &mut PgConnection, asset_id: i64) -> ApiResult<AssetSite> {
    let row: Option<(String, i64, String)> = sqlx::query_as(
        "SELECT a.status, a.location_id, l.timezone FROM assets a JOIN locations l ON l.id = a.location_id WHERE a.id = $1",
    )
    .bind(asset_id)
    .fetch_optional(conn)
    .await?;
    match row {
        None => Err(ApiError::validation("asset_id", "no such asset")),
        Some((status, ..)) if status == "decommissioned" => {
            Err(ApiError::validation("asset_id", "the asset is decommissioned"))
        }
        Some((_, location_id, timezone)) => Ok(AssetSite { location_id, timezone }),
    }
}

/// `CM-2026-000123`: per type and year, from a counter row (locked until the transaction ends,
/// so numbers are gap-free among committed tickets and never repeat).
pub async fn next_number(conn: &mut PgConnection, ticket_type: TicketType, now: DateTime<Utc>) -> ApiResult<String> {
    let value: i64 = sqlx::query_scalar(
        "INSERT INTO ticket_counters (ticket_type, year, last_value) VALUES ($1, $2, 1)
         ON CONFLICT (ticket_type, year) DO UPDATE SET last_value = ticket_counters.last_value + 1
         RETURNING last_value",
    )
    .bind(ticket_type.as_str())
    .bind(now.year())
    .fetch_one(conn)
    .await?;
    Ok(format!("{ticket_type}-{}-{value:06}", now.year()))
}

pub struct Insert<'a> {
    pub number: &'a str,
    pub ticket_type: TicketType,
    pub priority: Priority,
    pub status: TicketStatus,
    pub asset_id: i64,
    pub location_id: i64,
    pub description: &'a str,
    pub assigned_to: Option<i64>,
    pub created_by: i64,
    pub targets: Targets,
    pub lines: Lines,
    pub created_at: DateTime<Utc>,
}

pub async fn insert(conn: &mut PgConnection, t: &Insert<'_>) -> ApiResult<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO tickets (number, ticket_type, priority, status, asset_id, location_id, description, assigned_to,
             created_by, sla_calendar_id, response_target_minutes, resolution_target_minutes, warning_ratio,
             response_warning_at, response_due_at, resolution_warning_at, resolution_due_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18)
         RETURNING id",
    )
    .bind(t.number)
    .bind(t.ticket_type.as_str())
    .bind(t.priority.as_str())
    .bind(t.status.as_str())
    .bind(t.asset_id)
    .bind(t.location_id)
    .bind(t.description)
    .bind(t.assigned_to)
    .bind(t.created_by)
    .bind(t.targets.calendar_id)
    .bind(t.targets.response_minutes)
    .bind(t.targets.resolution_minutes)
    .bind(t.targets.warning_ratio)
    .bind(t.lines.response_warning_at)
    .bind(t.lines.response_due_at)
    .bind(t.lines.resolution_warning_at)
    .bind(t.lines.resolution_due_at)
    .bind(t.created_at)
    .fetch_one(conn)
    .await?)
}

/// Writes every changeable column of `next`. The version check makes the row lock's guarantee
/// explicit: a write based on a stale read changes nothing (and is reported as a conflict).
pub async fn write(conn: &mut PgConnection, next: &TicketRow, read_version: i32) -> ApiResult<()> {
    let done = sqlx::query(AssertSqlSafe(
        "UPDATE tickets SET priority = $3, status = $4, description = $5, notes = $6, resolution_notes = $7,
             hold_reason = $8, assigned_to = $9, sla_calendar_id = $10, response_target_minutes = $11,
             resolution_target_minutes = $12, warning_ratio = $13, response_warning_at = $14, response_due_at = $15,
             resolution_warning_at = $16, resolution_due_at = $17, responded_at = $18, resolved_at = $19,
             closed_at = $20, cancelled_at = $21, on_hold_since = $22, held_seconds = $23,
             response_breached = $24, resolution_breached = $25, version = $26,
             response_warned = $27, resolution_warned = $28, status_changed_at = $29, status_received_at = $30
         WHERE id = $1 AND version = $2",
    ))
    .bind(next.id)
    .bind(read_version)
    .bind(next.priority.as_str())
    .bind(next.status.as_str())
    .bind(&next.description)
    .bind(&next.notes)
    .bind(&next.resolution_notes)
    .bind(&next.hold_reason)
    .bind(next.assigned_to)
    .bind(next.sla_calendar_id)
    .bind(next.response_target_minutes)
    .bind(next.resolution_target_minutes)
    .bind(next.warning_ratio)
    .bind(next.response_warning_at)
    .bind(next.response_due_at)
    .bind(next.resolution_warning_at)
    .bind(next.resolution_due_at)
    .bind(next.responded_at)
    .bind(next.resolved_at)
    .bind(next.closed_at)
    .bind(next.cancelled_at)
    .bind(next.on_hold_since)
    .bind(next.held_seconds)
    .bind(next.response_breached)
    .bind(next.resolution_breached)
    .bind(next.version)
    .bind(next.response_warned)
    .bind(next.resolution_warned)
    .bind(next.status_changed_at)
    .bind(next.status_received_at)
    .execute(conn)
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(ApiError::Conflict("The ticket changed meanwhile; read it again.".into()))
    }
}

/// A transition that crosses a line (a late response or resolution) records the crossing
/// itself: the ticket leaves the scheduled check's indexes with that very transition.
pub async fn record_crossings(
    conn: &mut PgConnection,
    before: &TicketRow,
    next: &TicketRow,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let crossings = [
        (!before.response_warned && next.response_warned, "response_warning", next.response_warning_at),
        (!before.response_breached && next.response_breached, "response_breach", next.response_due_at),
        (!before.resolution_warned && next.resolution_warned, "resolution_warning", next.resolution_warning_at),
        (!before.resolution_breached && next.resolution_breached, "resolution_breach", next.resolution_due_at),
    ];
    let mut recorded = Vec::new();
    for (crossed, kind, line_at) in crossings {
        if crossed {
            let row: Option<webhook::sla::Recorded> = sqlx::query_as(
                "INSERT INTO sla_events (ticket_id, kind, line_at, detected_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT ON CONSTRAINT sla_events_once DO NOTHING
                 RETURNING ticket_id, kind, line_at, detected_at",
            )
            .bind(next.id)
            .bind(kind)
            .bind(line_at)
            .bind(now)
            .fetch_optional(&mut *conn)
            .await?;
            recorded.extend(row);
        }
    }
    webhook::sla::emit(conn, &recorded).await?;
    Ok(())
}

/// A breach the check recorded that a late event proved did not happen (a response or
/// resolution made offline before the line, synced after it): the breach event stays and a
/// retraction naming it is appended, so the record only ever grows.
pub async fn record_retractions(
    conn: &mut PgConnection,
    before: &TicketRow,
    next: &TicketRow,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let retractions = [
        (before.response_breached && !next.response_breached, "response_breach"),
        (before.resolution_breached && !next.resolution_breached, "resolution_breach"),
    ];
    let mut recorded = Vec::new();
    for (retracted, breach) in retractions {
        if retracted {
            let row: Option<webhook::sla::Recorded> = sqlx::query_as(
                "INSERT INTO sla_events (ticket_id, kind, line_at, detected_at, retracts_event_id)
                 SELECT ticket_id, kind || '_retracted', line_at, $3, id FROM sla_events WHERE ticket_id = $1 AND kind = $2
                 ON CONFLICT ON CONSTRAINT sla_events_once DO NOTHING
                 RETURNING ticket_id, kind, line_at, detected_at",
            )
            .bind(next.id)
            .bind(breach)
            .bind(now)
            .fetch_optional(&mut *conn)
            .await?;
            recorded.extend(row);
        }
    }
    webhook::sla::emit(conn, &recorded).await?;
    Ok(())
}

/// When the ticket's first check-in inside the site's geofence happened, if any.
pub async fn first_inside_visit(conn: &mut PgConnection, ticket_id: i64) -> ApiResult<Option<DateTime<Utc>>> {
    Ok(sqlx::query_scalar("SELECT min(checked_in_at) FROM visits WHERE ticket_id = $1 AND result = 'inside'")
        .bind(ticket_id)
        .fetch_one(conn)
        .await?)
}

#[cfg(test)]
mod tests {
    use nexus_shared::pagination::PageParams;
    use nexus_shared::ticket::{Priority, TicketFilter, TicketStatus, Visibility};

    use super::list_query;

    /// `bench/tickets-list.sql`, which pgbench runs as the list's physical limit, is the
    /// statement this list sends for its filter (pgbench variables in place of `$n`).
    #[test]
    fn the_benchmarks_copy_of_the_list_statement_is_current() {
        let filter = TicketFilter {
            statuses: TicketStatus::ACTIVE.to_vec(),
            priority: Some(Priority::High),
            region: Some("Bali".into()),
            ..TicketFilter::default()
        };
        let page = PageParams::<crate::handlers::TicketSorting>::default().resolve().unwrap();
        let mut qb = list_query(&filter, Visibility::All, &page);
        page.push_after(&mut qb);
        page.push_order_limit(&mut qb);
        let bench = include_str!("../../../bench/tickets-list.sql");
        let bench: String = bench.lines().filter(|l| !l.starts_with("--")).collect::<Vec<_>>().join(" ");
        let bench = bench.trim_end().trim_end_matches(';').replace(":statuses", "$1").replace(":priority", "$2");
        let bench = bench.replace(":region", "$3").replace(":page", "$4");
        let words = |sql: &str| sql.split_whitespace().collect::<Vec<_>>().join(" ").replace(" ,", ",");
        assert_eq!(words(&bench), words(qb.sql().as_str()), "update bench/tickets-list.sql");
    }
}
