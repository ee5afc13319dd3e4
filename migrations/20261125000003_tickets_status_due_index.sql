-- "What is due next" for a status (the dispatcher's view: open tickets by resolution due time)
-- read in due order from one index. Without it the planner walks tickets_resolution_due_idx
-- from the oldest deadline, through every closed ticket (17 ms at 100k tickets, growing).
CREATE INDEX tickets_status_due_idx ON tickets (status, resolution_due_at, id);
