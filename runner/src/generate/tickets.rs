//! Tickets at the generated devices, given to the technician of each site's territory (by
//! location), created by a supervisor; every closed one approved; the SLA crossings the check
//! would have recorded. Numbered `GEN-<year>-<n>`: the API's `CM-`/`PM-` counters never meet them.

use nexus_shared::ApiError;
use sqlx::PgConnection;

use super::Preset;

/// Priorities 5/20/45/30 % critical/high/medium/low, 75 % corrective, targets from the SLA
/// matrix; about one response in seven and one resolution in ten late, with the flags the SLA
/// check would have set. Statuses and ages as the preset says (see [`Preset`]).
pub async fn create(conn: &mut PgConnection, preset: &Preset) -> Result<u64, ApiError> {
    let result = sqlx::query(
        "WITH device AS (SELECT id, location_id, row_number() OVER (ORDER BY id) AS rn FROM assets WHERE tag LIKE 'DEV-%'),
              devices AS (SELECT count(*) AS n FROM device),
              tech AS (SELECT u.id, row_number() OVER (ORDER BY u.id) - 1 AS k FROM users u
                       JOIN user_roles r ON r.user_id = u.id AND r.role = 'technician' WHERE u.email LIKE '%' || $2),
              techs AS (SELECT count(*) AS n FROM tech),
              creator AS (SELECT min(u.id) AS id FROM users u JOIN user_roles r ON r.user_id = u.id AND r.role = 'supervisor'
                          WHERE u.email LIKE '%' || $2),
              base AS (
                  SELECT g, random() AS s, random() AS p, random() AS t, random() AS late_r, random() AS late_f,
                         random() AS spread, 1 + floor(random() * devices.n)::bigint AS device_rn
                  FROM generate_series(1, $1) g, devices
              ),
              shaped AS (
                  SELECT g, device_rn, late_r, late_f,
                         CASE WHEN $3 THEN (ARRAY['open', 'assigned', 'in_progress', 'on_hold', 'resolved', 'closed', 'cancelled'])[1 + g % 7]
                              WHEN $4 AND spread * 730 > 7 AND s < 0.99 THEN 'closed'
                              WHEN $4 AND spread * 730 > 7 THEN 'open'
                              WHEN s < 0.70 THEN 'closed' WHEN s < 0.80 THEN 'open' WHEN s < 0.88 THEN 'assigned'
                              WHEN s < 0.95 THEN 'in_progress' WHEN s < 0.97 THEN 'on_hold' ELSE 'resolved' END AS status,
                         CASE WHEN p < 0.05 THEN 'critical' WHEN p < 0.25 THEN 'high' WHEN p < 0.70 THEN 'medium' ELSE 'low' END AS priority,
                         CASE WHEN t < 0.25 THEN 'PM' ELSE 'CM' END AS ticket_type,
                         CASE WHEN $3 THEN now() - spread * interval '2 days'
                              WHEN $4 THEN now() - spread * interval '730 days'
                              WHEN s < 0.70 THEN now() - interval '3 days' - spread * interval '727 days'
                              ELSE now() - spread * interval '3 days' END AS created
                  FROM base
              ),
              timed AS (
                  SELECT sh.*, m.response_target_minutes AS rt, m.resolution_target_minutes AS st, m.warning_ratio AS w,
                         m.calendar_id,
                         -- Responded within 0.1–1.3× the target (one in seven late), resolved within 0.2–1.2×.
                         sh.created + make_interval(secs => m.response_target_minutes * 60 * (0.1 + 1.2 * sh.late_r)) AS responded,
                         sh.created + make_interval(secs => m.resolution_target_minutes * 60 * (0.2 + 1.0 * sh.late_f)) AS resolved
                  FROM shaped sh JOIN sla_matrices m ON m.ticket_type = sh.ticket_type AND m.priority = sh.priority
              ),
              lined AS (
                  SELECT x.*,
                         x.created + make_interval(secs => x.rt * 60 * x.w) AS response_warning_at,
                         x.created + make_interval(mins => x.rt) AS response_due_at,
                         x.created + make_interval(secs => x.st * 60 * x.w) AS resolution_warning_at,
                         x.created + make_interval(mins => x.st) AS resolution_due_at,
                         -- Where a running clock stands: now, or when the hold began or the ticket was cancelled.
                         CASE x.status WHEN 'on_hold' THEN least(x.responded, now())
                                       WHEN 'cancelled' THEN x.created + interval '1 hour' ELSE now() END AS clock
                  FROM timed x
              )
         INSERT INTO tickets (number, ticket_type, priority, status, asset_id, location_id, description, assigned_to, created_by,
             sla_calendar_id, response_target_minutes, resolution_target_minutes, warning_ratio,
             response_warning_at, response_due_at, resolution_warning_at, resolution_due_at,
             responded_at, resolved_at, closed_at, cancelled_at, resolution_notes, on_hold_since, hold_reason,
             response_warned, response_breached, resolution_warned, resolution_breached, created_at, updated_at)
         SELECT 'GEN-' || extract(year FROM x.created) || '-' || lpad(x.g::text, 7, '0'), x.ticket_type, x.priority, x.status,
                d.id, d.location_id,
                (ARRAY['Cash dispenser jammed', 'Card reader fault', 'Receipt printer out of paper', 'Network down',
                       'Preventive maintenance visit', 'Screen unresponsive', 'Vault door alarm', 'Power supply failure'])
                    [CASE WHEN x.ticket_type = 'PM' THEN 5 ELSE 1 + x.g % 8 END],
                CASE WHEN x.status = 'open' THEN NULL ELSE tech.id END, creator.id,
                x.calendar_id, x.rt, x.st, x.w,
                x.response_warning_at, x.response_due_at, x.resolution_warning_at, x.resolution_due_at,
                CASE WHEN x.status IN ('in_progress', 'on_hold', 'resolved', 'closed') THEN least(x.responded, now()) END,
                CASE WHEN x.status IN ('resolved', 'closed') THEN least(greatest(x.resolved, x.responded), now()) END,
                CASE WHEN x.status = 'closed' THEN greatest(x.resolved, x.responded) + interval '2 hours' END,
                CASE WHEN x.status = 'cancelled' THEN x.created + interval '1 hour' END,
                CASE WHEN x.status IN ('resolved', 'closed') THEN 'Replaced the faulty module; tested OK' END,
                CASE WHEN x.status = 'on_hold' THEN least(x.responded, now()) END,
                CASE WHEN x.status = 'on_hold' THEN 'awaiting_parts' END,
                -- A stopped clock: responded after 0.8× (warning) or 1× (deadline) of the target
                -- (0.1 + 1.2 r > 0.8, > 1). A running one: the lines it has passed, as the SLA check,
                -- running every minute all along, would have recorded them.
                CASE WHEN x.status IN ('in_progress', 'on_hold', 'resolved', 'closed') THEN x.late_r > 0.5834
                     ELSE x.response_warning_at <= x.clock END,
                CASE WHEN x.status IN ('in_progress', 'on_hold', 'resolved', 'closed') THEN x.late_r > 0.75
                     ELSE x.response_due_at <= x.clock END,
                CASE WHEN x.status IN ('resolved', 'closed') THEN x.late_f > 0.6 ELSE x.resolution_warning_at <= x.clock END,
                CASE WHEN x.status IN ('resolved', 'closed') THEN x.late_f > 0.8 ELSE x.resolution_due_at <= x.clock END,
                x.created, x.created
         FROM lined x
         JOIN device d ON d.rn = x.device_rn
         CROSS JOIN techs CROSS JOIN creator
         JOIN tech ON tech.k = d.location_id % techs.n
         ON CONFLICT (number) DO NOTHING",
    )
    .bind(preset.tickets)
    .bind(preset.staff_domain())
    .bind(preset.every_state_equally)
    .bind(preset.steady_flow)
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}

/// Every closed generated ticket was approved by a supervisor of the preset's staff when it closed.
pub async fn approvals(conn: &mut PgConnection, preset: &Preset) -> Result<u64, ApiError> {
    let result = sqlx::query(
        "WITH spv AS (SELECT u.id, row_number() OVER (ORDER BY u.id) - 1 AS k FROM users u
                      JOIN user_roles r ON r.user_id = u.id AND r.role = 'supervisor' WHERE u.email LIKE '%' || $1),
              spvs AS (SELECT count(*) AS n FROM spv)
         INSERT INTO approvals (ticket_id, decision, comments, decided_by, created_at)
         SELECT t.id, 'approve', 'Work verified', spv.id, t.closed_at
         FROM tickets t CROSS JOIN spvs JOIN spv ON spv.k = t.location_id % spvs.n
         WHERE t.number LIKE 'GEN-%' AND t.status = 'closed'
           AND NOT EXISTS (SELECT 1 FROM approvals a WHERE a.ticket_id = t.id)",
    )
    .bind(preset.staff_domain())
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}

/// The crossings the SLA check would have recorded for the generated tickets' flags.
pub async fn sla_events(conn: &mut PgConnection) -> Result<u64, ApiError> {
    let result = sqlx::query(
        "INSERT INTO sla_events (ticket_id, kind, line_at, detected_at)
         SELECT t.id, e.kind, e.line_at, e.line_at + interval '3 minutes'
         FROM tickets t
         CROSS JOIN LATERAL (VALUES
             ('response_warning', t.response_warning_at, t.response_warned),
             ('response_breach', t.response_due_at, t.response_breached),
             ('resolution_warning', t.resolution_warning_at, t.resolution_warned),
             ('resolution_breach', t.resolution_due_at, t.resolution_breached)) AS e (kind, line_at, crossed)
         WHERE t.number LIKE 'GEN-%' AND e.crossed
         ON CONFLICT (ticket_id, kind) DO NOTHING",
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}
