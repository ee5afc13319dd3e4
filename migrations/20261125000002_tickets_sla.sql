-- Work orders and their SLA clocks: calendars, SLA rules (type x priority), tickets with their
-- deadlines stored (so "what is due" is an indexed range query), approvals of closures, and the
-- SLA events the scheduled check records exactly once per ticket and kind.

ALTER TABLE audit_logs DROP CONSTRAINT audit_logs_entity_type_check;
ALTER TABLE audit_logs ADD CONSTRAINT audit_logs_entity_type_check
    CHECK (entity_type IN ('user', 'location', 'asset', 'ticket', 'approval', 'sla_rule', 'sla_calendar', 'sla_event'));

-- When SLA clocks run. '24x7' always; 'business_hours' only inside weekly_hours (local wall-clock
-- intervals per weekday, Monday first, evaluated in the location's time zone) and never on holidays.
CREATE TABLE sla_calendars (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    kind         text NOT NULL CHECK (kind IN ('24x7', 'business_hours')),
    -- [[["08:00","17:00"]], [...], ... 7 entries]; empty for 24x7.
    weekly_hours jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(weekly_hours) = 'array'),
    holidays     date[] NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX sla_calendars_name_key ON sla_calendars (name);
CREATE TRIGGER sla_calendars_updated_at BEFORE UPDATE ON sla_calendars FOR EACH ROW EXECUTE FUNCTION set_updated_at();

INSERT INTO sla_calendars (name, kind) VALUES ('24x7', '24x7');

-- One rule per ticket type x priority. Targets are working minutes of the rule's calendar.
CREATE TABLE sla_matrices (
    id                        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_type               text NOT NULL CHECK (ticket_type IN ('PM', 'CM')),
    priority                  text NOT NULL CHECK (priority IN ('low', 'medium', 'high', 'critical')),
    response_target_minutes   integer NOT NULL CHECK (response_target_minutes BETWEEN 1 AND 525600),
    resolution_target_minutes integer NOT NULL CHECK (resolution_target_minutes BETWEEN 1 AND 525600),
    calendar_id               bigint NOT NULL REFERENCES sla_calendars (id) ON DELETE RESTRICT,
    -- The share of a target after which the clock is in 'warning'.
    warning_ratio             real NOT NULL DEFAULT 0.8 CHECK (warning_ratio > 0 AND warning_ratio < 1),
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sla_matrices_resolution_after_response CHECK (resolution_target_minutes >= response_target_minutes)
);
CREATE UNIQUE INDEX sla_matrices_type_priority_key ON sla_matrices (ticket_type, priority);
CREATE TRIGGER sla_matrices_updated_at BEFORE UPDATE ON sla_matrices FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Defaults every deployment starts with (admins replace them through POST /api/sla).
INSERT INTO sla_matrices (ticket_type, priority, response_target_minutes, resolution_target_minutes, calendar_id)
SELECT t.ticket_type, t.priority, t.response, t.resolution, c.id
FROM (VALUES
    ('CM', 'critical', 60, 240), ('CM', 'high', 120, 480), ('CM', 'medium', 240, 1440), ('CM', 'low', 480, 2880),
    ('PM', 'critical', 240, 1440), ('PM', 'high', 480, 2880), ('PM', 'medium', 1440, 4320), ('PM', 'low', 2880, 10080)
) AS t (ticket_type, priority, response, resolution)
CROSS JOIN sla_calendars c WHERE c.name = '24x7';

-- Human-readable ticket numbers per type and year: CM-2026-000123.
CREATE TABLE ticket_counters (
    ticket_type text NOT NULL,
    year        integer NOT NULL,
    last_value  bigint NOT NULL,
    PRIMARY KEY (ticket_type, year)
);

CREATE TABLE tickets (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number                text NOT NULL,
    ticket_type           text NOT NULL CHECK (ticket_type IN ('PM', 'CM')),
    priority              text NOT NULL CHECK (priority IN ('low', 'medium', 'high', 'critical')),
    status                text NOT NULL DEFAULT 'open'
                          CHECK (status IN ('open', 'assigned', 'in_progress', 'on_hold', 'resolved', 'closed', 'cancelled')),
    asset_id              bigint NOT NULL REFERENCES assets (id) ON DELETE RESTRICT,
    location_id           bigint NOT NULL REFERENCES locations (id) ON DELETE RESTRICT,
    description           text NOT NULL CHECK (length(description) BETWEEN 1 AND 5000),
    notes                 text CHECK (length(notes) <= 20000),
    resolution_notes      text CHECK (length(resolution_notes) <= 5000),
    hold_reason           text CHECK (hold_reason IN ('awaiting_parts', 'no_site_access', 'customer_request', 'other')),
    assigned_to           bigint REFERENCES users (id) ON DELETE RESTRICT,
    created_by            bigint REFERENCES users (id) ON DELETE RESTRICT,
    -- The SLA as it stood at creation (a later rule change does not move running clocks).
    sla_calendar_id       bigint NOT NULL REFERENCES sla_calendars (id) ON DELETE RESTRICT,
    response_target_minutes   integer NOT NULL,
    resolution_target_minutes integer NOT NULL,
    warning_ratio         real NOT NULL,
    -- Deadlines and warning lines, recomputed when priority changes or a hold ends.
    response_warning_at   timestamptz NOT NULL,
    response_due_at       timestamptz NOT NULL,
    resolution_warning_at timestamptz NOT NULL,
    resolution_due_at     timestamptz NOT NULL,
    responded_at          timestamptz,
    resolved_at           timestamptz,
    closed_at             timestamptz,
    cancelled_at          timestamptz,
    on_hold_since         timestamptz,
    -- Working time (by the ticket's calendar) spent on hold; added to the resolution lines.
    held_seconds          bigint NOT NULL DEFAULT 0,
    -- Set once a line has been crossed (by the scheduled check or a late transition): crossed
    -- tickets leave the partial indexes the check scans, so its cost follows what is due.
    response_warned       boolean NOT NULL DEFAULT false,
    response_breached     boolean NOT NULL DEFAULT false,
    resolution_warned     boolean NOT NULL DEFAULT false,
    resolution_breached   boolean NOT NULL DEFAULT false,
    -- Bumped on every change: the ETag, checked against If-Match.
    version               integer NOT NULL DEFAULT 1,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tickets_hold_consistent CHECK ((status = 'on_hold') = (on_hold_since IS NOT NULL AND hold_reason IS NOT NULL)),
    CONSTRAINT tickets_resolved_has_notes CHECK (status NOT IN ('resolved', 'closed') OR (resolved_at IS NOT NULL AND resolution_notes IS NOT NULL)),
    CONSTRAINT tickets_closed_at CHECK ((status = 'closed') = (closed_at IS NOT NULL)),
    CONSTRAINT tickets_cancelled_at CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL)),
    CONSTRAINT tickets_assigned_has_assignee CHECK (status IN ('open', 'cancelled') OR assigned_to IS NOT NULL)
);
CREATE UNIQUE INDEX tickets_number_key ON tickets (number);
CREATE TRIGGER tickets_updated_at BEFORE UPDATE ON tickets FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- List filters and sorts (keyset on (column, id)).
CREATE INDEX tickets_created_at_idx ON tickets (created_at, id);
CREATE INDEX tickets_resolution_due_idx ON tickets (resolution_due_at, id);
CREATE INDEX tickets_status_idx ON tickets (status, created_at, id);
CREATE INDEX tickets_priority_idx ON tickets (priority, created_at, id);
CREATE INDEX tickets_type_idx ON tickets (ticket_type, created_at, id);
CREATE INDEX tickets_assigned_to_idx ON tickets (assigned_to, created_at, id);
CREATE INDEX tickets_location_idx ON tickets (location_id, created_at, id);
CREATE INDEX tickets_asset_idx ON tickets (asset_id, created_at, id);
CREATE INDEX tickets_breached_idx ON tickets (created_at, id) WHERE response_breached OR resolution_breached;
CREATE INDEX tickets_active_idx ON tickets (created_at, id)
    WHERE status IN ('open', 'assigned', 'in_progress', 'on_hold', 'resolved');

-- What the scheduled SLA check scans: only clocks that are running and whose line is not yet
-- recorded. On hold, resolved, closed and cancelled tickets are not in them.
CREATE INDEX tickets_response_warning_due_idx ON tickets (response_warning_at)
    WHERE status IN ('open', 'assigned') AND NOT response_warned;
CREATE INDEX tickets_response_breach_due_idx ON tickets (response_due_at)
    WHERE status IN ('open', 'assigned') AND NOT response_breached;
CREATE INDEX tickets_resolution_warning_due_idx ON tickets (resolution_warning_at)
    WHERE status IN ('open', 'assigned', 'in_progress') AND NOT resolution_warned;
CREATE INDEX tickets_resolution_breach_due_idx ON tickets (resolution_due_at)
    WHERE status IN ('open', 'assigned', 'in_progress') AND NOT resolution_breached;

CREATE TABLE approvals (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id  bigint NOT NULL REFERENCES tickets (id) ON DELETE RESTRICT,
    decision   text NOT NULL CHECK (decision IN ('approve', 'reject')),
    comments   text CHECK (length(comments) <= 5000),
    decided_by bigint NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX approvals_ticket_idx ON approvals (ticket_id, created_at, id);

-- Each crossing of an SLA line, once per ticket and kind.
CREATE TABLE sla_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id   bigint NOT NULL REFERENCES tickets (id) ON DELETE RESTRICT,
    kind        text NOT NULL CHECK (kind IN ('response_warning', 'response_breach', 'resolution_warning', 'resolution_breach')),
    -- The line that was crossed, and when the check saw it.
    line_at     timestamptz NOT NULL,
    detected_at timestamptz NOT NULL,
    CONSTRAINT sla_events_once UNIQUE (ticket_id, kind)
);
CREATE INDEX sla_events_detected_idx ON sla_events (detected_at, id);
CREATE INDEX sla_events_kind_idx ON sla_events (kind, detected_at, id);
