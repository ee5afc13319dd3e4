-- The statement GET /api/tickets?status=open,assigned,in_progress,on_hold,resolved&priority=high&region=…&limit=50 sends (first
-- page, default sort -created_at), as functions/tickets/src/store.rs and ticket.rs build it,
-- with its four parameters as pgbench variables (bench/harness.py passes them with -D).
-- functions/tickets/src/store.rs tests that it still matches what the list builds.
SELECT t.id, t.number, t.ticket_type, t.priority, t.status, t.description, t.notes,
        t.resolution_notes, t.hold_reason, t.asset_id, a.tag AS asset_tag, a.name AS asset_name,
        t.location_id, l.code AS location_code, l.name AS location_name, l.latitude, l.longitude, l.region,
        l.timezone, t.assigned_to, t.created_by, t.sla_calendar_id, t.response_target_minutes,
        t.resolution_target_minutes, t.warning_ratio, t.response_warning_at, t.response_due_at,
        t.resolution_warning_at, t.resolution_due_at, t.responded_at, t.resolved_at, t.closed_at,
        t.cancelled_at, t.on_hold_since, t.held_seconds, t.response_warned, t.response_breached,
        t.resolution_warned, t.resolution_breached, t.pm_plan_id, t.scheduled_for, t.sla_started_at,
        t.status_changed_at, t.status_received_at, t.checklist_id, t.checklist_version, t.parent_ticket_id,
        t.version, t.created_at, t.updated_at, (t.created_at)::text AS page_sort_value, t.id AS page_id
    FROM tickets t
    JOIN assets a ON a.id = t.asset_id
    JOIN locations l ON l.id = t.location_id WHERE true AND t.status = ANY(:statuses) AND t.priority = :priority AND l.region = :region ORDER BY t.created_at DESC, t.id DESC LIMIT :page;
