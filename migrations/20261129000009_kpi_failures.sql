-- MTBF's rollup (functions/report-rollup, read by functions/reports): per site-local day, per asset
-- and per (priority, asset category, assignee) of its CM failures (CM tickets created that day,
-- not cancelled), the first and last creation and their count. An asset's mean gap between
-- consecutive failures telescopes to (last − first) / (failures − 1), so the rows of a period's days
-- merge per asset with min, max and sum, and a report over a year reads these narrow rows instead
-- of converting each failure's creation to its site's zone. Rebuilt with the day's kpi_daily rows.
CREATE TABLE kpi_failures (
    day            date NOT NULL,
    asset_id       bigint NOT NULL,
    location_id    bigint NOT NULL,
    priority       text NOT NULL,
    asset_category text,
    assignee       bigint,
    first_at       timestamptz NOT NULL,
    last_at        timestamptz NOT NULL,
    failures       bigint NOT NULL CHECK (failures > 0)
);
-- A period's rows without touching the table (national reports: asset, priority, category).
CREATE INDEX kpi_failures_day_idx ON kpi_failures (day)
    INCLUDE (asset_id, priority, asset_category, first_at, last_at, failures);
-- A page of sites (`group_by=location`) and a technician's own figures.
CREATE INDEX kpi_failures_location_idx ON kpi_failures (location_id, day);
CREATE INDEX kpi_failures_assignee_idx ON kpi_failures (assignee, day) WHERE assignee IS NOT NULL;

-- National MTBF per whole ISO week and calendar month (site-local days), per priority ('' for
-- every priority): the sum over assets of each asset's mean gap and the assets counted, as the
-- report computes them from kpi_failures. Written by the rollup in the transaction that rebuilds
-- any day of the bucket, once every day of it is rolled up; a national report by week or month
-- reads a bucket that lies wholly in its period from here (one row) instead of merging the
-- bucket's failures per asset. A row exists for every priority of a computed bucket.
CREATE TABLE kpi_mtbf_buckets (
    kind      text NOT NULL CHECK (kind IN ('week', 'month')),
    bucket    date NOT NULL, -- the first day: a Monday, or the 1st
    priority  text NOT NULL, -- '' for every priority
    hours_sum float8 NOT NULL,
    assets    bigint NOT NULL,
    PRIMARY KEY (kind, bucket, priority)
);
