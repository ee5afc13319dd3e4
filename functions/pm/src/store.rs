//! The pm_plans table, and what a plan change does to the tickets generated ahead of it.

use chrono::{DateTime, Utc, Weekday};
use nexus_shared::audit::Actor;
use nexus_shared::db::Lock;
use nexus_shared::pagination::{Page, PageRequest, SortKey};
use nexus_shared::pm::{PLAN_COLUMNS, PlanRow, SCOPE, plan_columns};
use nexus_shared::{ApiError, ApiResult};
use sqlx::{AssertSqlSafe, PgConnection, PgPool};

use crate::plan::{PlanDraft, PmPlan};

pub const SORTS: [SortKey; 2] = [
    SortKey { name: "created_at", column: "p.created_at", cast: "timestamptz" },
    SortKey { name: "name", column: "p.name", cast: "text" },
];

pub struct Filter {
    pub active: Option<bool>,
    pub region: Option<String>,
    pub asset_id: Option<i64>,
}

pub async fn list(pool: &PgPool, filter: &Filter, page: &PageRequest) -> ApiResult<Page<PmPlan>> {
    let mut qb = page.query(&plan_columns("p"), "pm_plans p");
    if let Some(active) = filter.active {
        qb.push(" AND p.active = ").push_bind(active);
    }
    if let Some(region) = &filter.region {
        // Served by the GIN index on regions.
        qb.push(" AND p.regions @> ARRAY[").push_bind(region.clone()).push("]::text[]");
    }
    if let Some(asset_id) = filter.asset_id {
        // Plans whose scope holds the asset now, by the generator's own test.
        qb.push(format_args!(
            " AND EXISTS (SELECT 1 FROM assets a JOIN locations l ON l.id = a.location_id WHERE a.id = "
        ));
        qb.push_bind(asset_id).push(format_args!(" AND {SCOPE})"));
    }
    let page_of_rows: Page<PlanRow> = page.fetch(qb, pool).await?;
    Ok(page_of_rows.map(PmPlan::from_row))
}

pub async fn find(conn: &mut PgConnection, id: i64, lock: Lock) -> ApiResult<Option<PlanRow>> {
    nexus_shared::db::fetch_by_id(conn, PLAN_COLUMNS, "pm_plans", id, lock).await
}

/// Checks what the draft refers to: a 422 naming the field, not a foreign-key 500.
async fn check_references(conn: &mut PgConnection, draft: &PlanDraft) -> ApiResult<()> {
    let mut v = nexus_shared::validate::Validator::new();
    for (field, ids, table) in
        [("scope.asset_ids", &draft.asset_ids, "assets"), ("scope.location_ids", &draft.location_ids, "locations")]
    {
        let Some(ids) = ids else { continue };
        let missing: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT x FROM unnest($1::bigint[]) x WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE t.id = x) ORDER BY x LIMIT 10"
        )))
        .bind(ids)
        .fetch_all(&mut *conn)
        .await?;
        if !missing.is_empty() {
            let list: Vec<String> = missing.iter().map(i64::to_string).collect();
            v.error(field, format!("no such id: {}", list.join(", ")));
        }
    }
    if let Some(calendar_id) = draft.calendar_id {
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM sla_calendars WHERE id = $1)")
            .bind(calendar_id)
            .fetch_one(&mut *conn)
            .await?;
        if !exists {
            v.error("calendar_id", "no such SLA calendar");
        }
    }
    if let Some(checklist_id) = draft.checklist_id {
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM checklists WHERE id = $1)")
            .bind(checklist_id)
            .fetch_one(&mut *conn)
            .await?;
        if !exists {
            v.error("checklist_id", "no such checklist");
        }
    }
    if let Some(user_id) = draft.assigned_to
        && !nexus_shared::user::is_active_technician(conn, user_id).await?
    {
        v.error("assigned_to", "must be an active technician");
    }
    if v.is_valid() { Ok(()) } else { Err(v.into_error()) }
}

/// Inserts (`id` None) or rewrites (`id` Some, bumping its version) a plan.
///
/// Either way the generator's bookmark starts again from yesterday (or `starts_on` if later):
/// a new or changed rule never back-fills the past, and the dates whose tickets were cancelled
/// by the change are generated again under the new rule.
pub async fn save(conn: &mut PgConnection, id: Option<i64>, draft: &PlanDraft, caller: &Actor) -> ApiResult<PlanRow> {
    check_references(conn, draft).await?;
    let values = "$2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
        COALESCE($17, (SELECT id FROM sla_calendars WHERE kind = '24x7' ORDER BY id LIMIT 1)),
        $18, $19, $20, $21, $22, $23, greatest($14, current_date - 1) - 1, $25";
    let columns = "name, description, priority, asset_ids, location_ids, categories, regions, every, unit, weekdays,
        day_of_month, anchor, starts_on, ends_on, start_time, calendar_id, non_working, generate_ahead_days,
        open_policy, assigned_to, meter_trigger, active, generated_through, checklist_id";
    let sql = match id {
        None => format!("INSERT INTO pm_plans ({columns}, created_by) VALUES ({values}, $24) RETURNING {PLAN_COLUMNS}"),
        Some(_) => format!(
            "UPDATE pm_plans SET ({columns}, version) = ({values}, version + 1) WHERE id = $1 RETURNING {PLAN_COLUMNS}"
        ),
    };
    let weekdays: Option<Vec<i16>> = (!draft.recurrence.weekdays().is_empty())
        .then(|| draft.recurrence.weekdays().iter().map(|d: &Weekday| d.number_from_monday() as i16).collect());
    let trigger = draft.meter_trigger.as_ref().map(serde_json::to_value).transpose().map_err(ApiError::internal)?;
    sqlx::query_as(AssertSqlSafe(sql))
        .bind(id)
        .bind(&draft.name)
        .bind(&draft.description)
        .bind(draft.priority.as_str())
        .bind(&draft.asset_ids)
        .bind(&draft.location_ids)
        .bind(&draft.categories)
        .bind(&draft.regions)
        .bind(draft.recurrence.every() as i32)
        .bind(draft.recurrence.unit().as_str())
        .bind(weekdays)
        .bind(draft.recurrence.day_of_month().map(|d| d as i16))
        .bind(draft.anchor.as_str())
        .bind(draft.starts_on)
        .bind(draft.ends_on)
        .bind(draft.start_time)
        .bind(draft.calendar_id)
        .bind(draft.non_working.as_str())
        .bind(draft.generate_ahead_days)
        .bind(draft.open_policy.as_str())
        .bind(draft.assigned_to)
        .bind(trigger)
        .bind(draft.active)
        .bind(caller.user_id)
        .bind(draft.checklist_id)
        .fetch_one(conn)
        .await
        .map_err(Into::into)
}

/// Cancels the plan's tickets generated ahead and not started (open or assigned, due later
/// than `now`), each with its audit row, and forgets their occurrences so the generator can
/// make them again under the plan's new rule. Answers how many were cancelled.
pub async fn cancel_generated_ahead(
    conn: &mut PgConnection,
    plan_id: i64,
    now: DateTime<Utc>,
    actor: &Actor,
) -> ApiResult<i64> {
    Ok(sqlx::query_scalar(
        "WITH ahead AS (
            SELECT id, status, version FROM tickets
            WHERE pm_plan_id = $1 AND status IN ('open', 'assigned') AND scheduled_for > $2
            FOR UPDATE
         ), cancelled AS (
            UPDATE tickets t SET status = 'cancelled', cancelled_at = $2, version = t.version + 1
            FROM ahead WHERE t.id = ahead.id
            RETURNING t.id
         ), forgotten AS (
            DELETE FROM pm_occurrences WHERE ticket_id IN (SELECT id FROM cancelled)
         ), audited AS (
            INSERT INTO audit_logs (entity_type, entity_id, action, actor_id, changes, request_id)
            SELECT 'ticket', a.id, 'update', $3,
                   jsonb_build_object('status', jsonb_build_object('old', a.status, 'new', 'cancelled'),
                                      'cancelled_at', jsonb_build_object('old', NULL, 'new', $2),
                                      'version', jsonb_build_object('old', a.version, 'new', a.version + 1)),
                   $4
            FROM ahead a
         )
         SELECT count(*) FROM cancelled",
    )
    .bind(plan_id)
    .bind(now)
    .bind(actor.user_id)
    .bind(actor.request_id.as_deref())
    .fetch_one(conn)
    .await?)
}
