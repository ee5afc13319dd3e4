-- Webhooks: a version for the ETag (a PUT with a stale If-Match is 412), as tickets, PM plans
-- and checklists have.
ALTER TABLE webhooks ADD COLUMN version integer NOT NULL DEFAULT 1;
