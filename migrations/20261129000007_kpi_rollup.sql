-- The KPI rollup (functions/report-rollup, read by functions/reports): per site-local day and
-- per (site, type, priority, asset category, assignee), the additive parts of every KPI whose
-- events can be dated to a day, each placed on the day its own event falls on at the site (a
-- resolution, a due time, a closure, a decision), and the backlog as it stood at the end of the
-- day. Every grouping of the report is a sum over these rows (region through the site, week and
-- month through `day`). A day is rebuilt whole (delete + insert in one transaction).
-- Beside the rows of each site, a day holds national rows (`location_id` 0, no assignee: the
-- sums of the site rows per type, priority and category): a report that neither filters nor
-- groups by site, region or assignee reads only those (tens of rows a day instead of one per
-- ticket event).
CREATE TABLE kpi_daily (
    day                 date NOT NULL,
    location_id         bigint NOT NULL, -- 0: every site (national rows)
    ticket_type         text NOT NULL,
    priority            text NOT NULL,
    asset_category      text,
    assignee            bigint,
    -- MTTR (CM resolved that day): tickets and the sums of their wall and working hours.
    mttr_count          bigint NOT NULL DEFAULT 0,
    mttr_wall_hours     float8 NOT NULL DEFAULT 0,
    mttr_working_hours  float8 NOT NULL DEFAULT 0,
    -- SLA lines due that day and decided: met / due.
    response_met        bigint NOT NULL DEFAULT 0,
    response_due        bigint NOT NULL DEFAULT 0,
    resolution_met      bigint NOT NULL DEFAULT 0,
    resolution_due      bigint NOT NULL DEFAULT 0,
    -- PM tickets scheduled that day and decided: met / due.
    pm_met              bigint NOT NULL DEFAULT 0,
    pm_due              bigint NOT NULL DEFAULT 0,
    -- CM tickets closed that day: fixed the first time / decided; pending (window still open).
    ftf_fixed           bigint NOT NULL DEFAULT 0,
    ftf_decided         bigint NOT NULL DEFAULT 0,
    ftf_pending         bigint NOT NULL DEFAULT 0,
    -- Approvals decided that day: rejected / decided.
    reopen_rejected     bigint NOT NULL DEFAULT 0,
    reopen_decided      bigint NOT NULL DEFAULT 0,
    -- The backlog at the end of the day: total, by age, by status then.
    backlog_total       bigint NOT NULL DEFAULT 0,
    backlog_lt_1d       bigint NOT NULL DEFAULT 0,
    backlog_d1_3        bigint NOT NULL DEFAULT 0,
    backlog_d3_7        bigint NOT NULL DEFAULT 0,
    backlog_d7_30       bigint NOT NULL DEFAULT 0,
    backlog_gt_30d      bigint NOT NULL DEFAULT 0,
    backlog_open        bigint NOT NULL DEFAULT 0,
    backlog_assigned    bigint NOT NULL DEFAULT 0,
    backlog_in_progress bigint NOT NULL DEFAULT 0,
    backlog_on_hold     bigint NOT NULL DEFAULT 0
);
-- One row per day and group (the nullable dimensions compared through sentinels); the day range
-- of a national report reads it.
CREATE UNIQUE INDEX kpi_daily_key ON kpi_daily
    (day, location_id, ticket_type, priority, COALESCE(asset_category, ''), COALESCE(assignee, 0));
-- A page of sites (`group_by=location`) over a period; the national rows (location 0) of a period.
CREATE INDEX kpi_daily_location_idx ON kpi_daily (location_id, day);

-- The days the rollup holds, when each was last rebuilt, and whether that rebuild came after
-- every figure of the day had settled (first-time fix windows and PM grace over, late events in):
-- the report reads the rollup for a day only when it is listed here, and for first-time fix and
-- PM compliance only when it is settled; other days are read live.
CREATE TABLE kpi_rollup_days (
    day       date PRIMARY KEY,
    rolled_at timestamptz NOT NULL,
    settled   boolean NOT NULL
);
