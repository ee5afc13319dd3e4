-- "What is due next" among active tickets (the dispatcher's default view, and status filters
-- sorted by resolution_due_at) read in due order from one index instead of sorting every match.
CREATE INDEX tickets_active_due_idx ON tickets (resolution_due_at, id)
    WHERE status IN ('open', 'assigned', 'in_progress', 'on_hold', 'resolved');
