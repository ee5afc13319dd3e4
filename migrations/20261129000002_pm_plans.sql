-- Preventive maintenance that generates itself: PM plans (scope x recurrence x holiday rule),
-- the occurrences the generator decided (one row per plan, asset and due date), meters and their
-- readings, and on tickets the plan that made them and the instant their SLA clocks start.

ALTER TABLE audit_logs DROP CONSTRAINT audit_logs_entity_type_check;
ALTER TABLE audit_logs ADD CONSTRAINT audit_logs_entity_type_check
    CHECK (entity_type IN ('user', 'location', 'asset', 'ticket', 'approval', 'sla_rule', 'sla_calendar', 'sla_event',
                           'jobcard', 'pm_plan', 'meter'));

CREATE TABLE pm_plans (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- Copied onto every generated ticket.
    description         text NOT NULL CHECK (length(description) BETWEEN 1 AND 5000),
    priority            text NOT NULL CHECK (priority IN ('low', 'medium', 'high', 'critical')),
    -- Scope: criteria AND-ed, values within one OR-ed; NULL = not a criterion. Evaluated at
    -- every generation, so assets entering or leaving scope are picked up or dropped.
    asset_ids           bigint[] CHECK (cardinality(asset_ids) BETWEEN 1 AND 1000),
    location_ids        bigint[] CHECK (cardinality(location_ids) BETWEEN 1 AND 1000),
    categories          text[] CHECK (cardinality(categories) BETWEEN 1 AND 100),
    regions             text[] CHECK (cardinality(regions) BETWEEN 1 AND 100),
    every               integer NOT NULL CHECK (every BETWEEN 1 AND 366),
    unit                text NOT NULL CHECK (unit IN ('day', 'week', 'month')),
    -- ISO weekday numbers, 1 = Monday (week plans only).
    weekdays            smallint[],
    day_of_month        smallint,
    anchor              text NOT NULL CHECK (anchor IN ('fixed', 'floating')),
    starts_on           date NOT NULL,
    ends_on             date,
    -- Wall-clock time in each site's own zone.
    start_time          time NOT NULL,
    calendar_id         bigint NOT NULL REFERENCES sla_calendars (id) ON DELETE RESTRICT,
    non_working         text NOT NULL DEFAULT 'next' CHECK (non_working IN ('skip', 'previous', 'next')),
    generate_ahead_days integer NOT NULL DEFAULT 7 CHECK (generate_ahead_days BETWEEN 0 AND 60),
    open_policy         text NOT NULL DEFAULT 'skip_if_open' CHECK (open_policy IN ('skip_if_open', 'always')),
    assigned_to         bigint REFERENCES users (id) ON DELETE RESTRICT,
    -- {"meter_name", "every"} (cumulative) or {"meter_name", "above"|"below", "cooldown_hours"} (gauge).
    meter_trigger       jsonb CHECK (jsonb_typeof(meter_trigger) = 'object'),
    active              boolean NOT NULL DEFAULT true,
    -- The generator's bookmark for fixed plans: every nominal date up to this one has been
    -- decided for every asset in scope, so a run looks only past it (its cost follows what is due).
    generated_through   date,
    version             integer NOT NULL DEFAULT 1,
    created_by          bigint REFERENCES users (id) ON DELETE RESTRICT,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pm_plans_scope_given CHECK (num_nonnulls(asset_ids, location_ids, categories, regions) >= 1),
    CONSTRAINT pm_plans_ends_after_start CHECK (ends_on IS NULL OR ends_on >= starts_on),
    CONSTRAINT pm_plans_weekdays_of_weeks CHECK (weekdays IS NULL OR (unit = 'week' AND cardinality(weekdays) BETWEEN 1 AND 7
                                                                      AND weekdays <@ '{1,2,3,4,5,6,7}'::smallint[])),
    CONSTRAINT pm_plans_day_of_months CHECK (day_of_month IS NULL OR (unit = 'month' AND day_of_month BETWEEN 1 AND 31))
);
-- Only changes through the API (each bumps the version): the generator moving its bookmark
-- is not a change of the plan.
CREATE TRIGGER pm_plans_updated_at BEFORE UPDATE ON pm_plans FOR EACH ROW
    WHEN (OLD.version IS DISTINCT FROM NEW.version) EXECUTE FUNCTION set_updated_at();
CREATE INDEX pm_plans_created_at_idx ON pm_plans (created_at, id);
CREATE INDEX pm_plans_name_idx ON pm_plans (name, id);
-- The generator reads the active plans; the list filters by asset and region.
CREATE INDEX pm_plans_active_idx ON pm_plans (id) WHERE active;
CREATE INDEX pm_plans_asset_ids_idx ON pm_plans USING gin (asset_ids);
CREATE INDEX pm_plans_regions_idx ON pm_plans USING gin (regions);

ALTER TABLE tickets ADD COLUMN pm_plan_id bigint REFERENCES pm_plans (id) ON DELETE RESTRICT;
-- When the work is due (generated PM tickets); tickets appear ahead of it.
ALTER TABLE tickets ADD COLUMN scheduled_for timestamptz;
-- The instant the SLA clocks start: scheduled_for for a generated PM (generating a week ahead
-- must not eat a week of the SLA), created_at otherwise. Every computation of the lines starts here.
ALTER TABLE tickets ADD COLUMN sla_started_at timestamptz;
UPDATE tickets SET sla_started_at = created_at;
ALTER TABLE tickets ALTER COLUMN sla_started_at SET NOT NULL;

-- Every writer of tickets (the API, the generator, the demo data, tests) gets the rule above
-- without repeating it.
CREATE FUNCTION tickets_default_sla_start() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.sla_started_at := COALESCE(NEW.sla_started_at, NEW.scheduled_for, NEW.created_at);
    RETURN NEW;
END;
$$;
CREATE TRIGGER tickets_sla_started_at BEFORE INSERT ON tickets FOR EACH ROW EXECUTE FUNCTION tickets_default_sla_start();

-- "Is this plan's previous ticket for the asset still open?" (the skip_if_open policy).
CREATE INDEX tickets_pm_plan_open_idx ON tickets (pm_plan_id, asset_id)
    WHERE pm_plan_id IS NOT NULL AND status IN ('open', 'assigned', 'in_progress', 'on_hold', 'resolved');
CREATE INDEX tickets_scheduled_for_idx ON tickets (scheduled_for, id) WHERE scheduled_for IS NOT NULL;

CREATE TABLE meters (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    asset_id   bigint NOT NULL REFERENCES assets (id) ON DELETE RESTRICT,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    unit       text NOT NULL CHECK (length(unit) BETWEEN 1 AND 30),
    kind       text NOT NULL CHECK (kind IN ('cumulative', 'gauge')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX meters_asset_name_key ON meters (asset_id, name);
CREATE INDEX meters_name_idx ON meters (name, asset_id);
CREATE TRIGGER meters_updated_at BEFORE UPDATE ON meters FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE meter_readings (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    meter_id    bigint NOT NULL REFERENCES meters (id) ON DELETE RESTRICT,
    value       double precision NOT NULL CHECK (value = value AND value NOT IN ('Infinity', '-Infinity')),
    read_at     timestamptz NOT NULL,
    -- A cumulative meter that restarted from zero (replaced, rolled over).
    reset       boolean NOT NULL DEFAULT false,
    recorded_by bigint REFERENCES users (id) ON DELETE RESTRICT,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX meter_readings_meter_idx ON meter_readings (meter_id, read_at, id);

-- What the generator (or a meter reading) decided for one plan, asset and due date.
CREATE TABLE pm_occurrences (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plan_id       bigint NOT NULL REFERENCES pm_plans (id) ON DELETE RESTRICT,
    asset_id      bigint NOT NULL REFERENCES assets (id) ON DELETE RESTRICT,
    -- Site-local date; shifted_from is the date the recurrence gave before a holiday moved it.
    due_on        date NOT NULL,
    shifted_from  date,
    reason        text CHECK (length(reason) <= 200),
    scheduled_for timestamptz NOT NULL,
    source        text NOT NULL DEFAULT 'schedule' CHECK (source IN ('schedule', 'meter')),
    outcome       text NOT NULL CHECK (outcome IN ('generated', 'skip_open', 'skip_non_working')),
    ticket_id     bigint REFERENCES tickets (id) ON DELETE RESTRICT,
    -- The meter reading when this PM was made (meter plans): "grown by `every` since the last PM".
    meter_value   double precision,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pm_occurrences_ticket_when_generated CHECK ((outcome = 'generated') = (ticket_id IS NOT NULL))
);
-- Exactly once per plan, asset and due date, however often or concurrently the generator runs.
CREATE UNIQUE INDEX pm_occurrences_once ON pm_occurrences (plan_id, asset_id, due_on) WHERE source = 'schedule';
CREATE INDEX pm_occurrences_plan_idx ON pm_occurrences (plan_id, due_on, asset_id);
-- A floating plan's latest occurrence per asset.
CREATE INDEX pm_occurrences_asset_idx ON pm_occurrences (plan_id, asset_id, due_on);
CREATE UNIQUE INDEX pm_occurrences_ticket_key ON pm_occurrences (ticket_id);
