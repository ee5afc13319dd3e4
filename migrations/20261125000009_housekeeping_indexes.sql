-- The housekeeping job deletes by age; these let it find old rows without scanning the tables.
-- (idempotency_keys already has idempotency_keys_created_idx.)
CREATE INDEX login_failures_failed_at_idx ON login_failures (failed_at);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
