-- The KPI report (functions/reports) reads each KPI as one aggregate over the tickets whose
-- instant of interest falls in the period: these give each of those instants an index range
-- (resolution_due_at, scheduled_for and CM created_at already have one).
CREATE INDEX tickets_resolved_at_idx ON tickets (resolved_at) WHERE resolved_at IS NOT NULL;
CREATE INDEX tickets_closed_at_idx ON tickets (closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX tickets_response_due_at_idx ON tickets (response_due_at);
CREATE INDEX approvals_created_at_idx ON approvals (created_at);
-- The backlog at a date: tickets unfinished now, or finished (resolved or cancelled) after it.
CREATE INDEX tickets_cancelled_at_idx ON tickets (cancelled_at) WHERE cancelled_at IS NOT NULL;
CREATE INDEX tickets_unfinished_idx ON tickets (created_at) WHERE resolved_at IS NULL AND cancelled_at IS NULL;
