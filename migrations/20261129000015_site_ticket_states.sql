-- Active tickets per site and recorded SLA state, kept current by the database itself in the
-- transaction of every statement that writes tickets (the API, the SLA check, the PM generator,
-- imports of corrections, the demo data, tests): the national clustered live map aggregates
-- at most one row per site and state instead of every active ticket.
--
-- The state is the one the recorded crossings say (the flags the SLA check and late transitions
-- set), not the one `now` says: the map corrects the few tickets where they differ (a line
-- passed since the last check, a PM not yet due) from the check's own partial indexes.

-- 0 met, 1 pending, 2 warning, 3 breached: the worse of the two clocks, as the map orders them.
-- A stopped clock is met unless its breach was recorded; a running one is as far as recorded.
CREATE FUNCTION ticket_recorded_severity(
    responded_at timestamptz, resolved_at timestamptz,
    response_warned boolean, response_breached boolean,
    resolution_warned boolean, resolution_breached boolean
) RETURNS smallint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT GREATEST(
        CASE WHEN response_breached THEN 3 WHEN responded_at IS NOT NULL THEN 0 WHEN response_warned THEN 2 ELSE 1 END,
        CASE WHEN resolution_breached THEN 3 WHEN resolved_at IS NOT NULL THEN 0 WHEN resolution_warned THEN 2 ELSE 1 END
    )::smallint
$$;

CREATE TABLE site_ticket_states (
    location_id bigint NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
    severity    smallint NOT NULL CHECK (severity BETWEEN 0 AND 3),
    -- Active tickets (open … resolved, generated ahead or not) at the site in this state. No
    -- CHECK (tickets >= 0): PostgreSQL checks the row an upsert proposes, a decrement, before it
    -- finds the row to update.
    tickets     integer NOT NULL,
    PRIMARY KEY (location_id, severity)
);

-- One statement's change: +1 per active row after, -1 per active row before, summed per site
-- and state (most updates net to nothing and write nothing); rows are locked in key order so two
-- writers cannot deadlock on them. Statement triggers: a sweep over 100k tickets is one upsert.
CREATE FUNCTION site_ticket_states_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO site_ticket_states AS s (location_id, severity, tickets)
    SELECT location_id, severity, sum(delta)
    FROM (
        SELECT location_id, ticket_recorded_severity(responded_at, resolved_at, response_warned,
                   response_breached, resolution_warned, resolution_breached) AS severity, 1 AS delta
        FROM new_rows WHERE status IN ('open', 'assigned', 'in_progress', 'on_hold', 'resolved')
        UNION ALL
        SELECT location_id, ticket_recorded_severity(responded_at, resolved_at, response_warned,
                   response_breached, resolution_warned, resolution_breached), -1
        FROM old_rows WHERE status IN ('open', 'assigned', 'in_progress', 'on_hold', 'resolved')
    ) change
    GROUP BY location_id, severity
    HAVING sum(delta) <> 0
    ORDER BY location_id, severity
    ON CONFLICT (location_id, severity) DO UPDATE SET tickets = s.tickets + excluded.tickets;
    RETURN NULL;
END;
$$;

CREATE FUNCTION site_ticket_states_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO site_ticket_states AS s (location_id, severity, tickets)
    SELECT location_id, ticket_recorded_severity(responded_at, resolved_at, response_warned,
               response_breached, resolution_warned, resolution_breached) AS severity, count(*)
    FROM new_rows WHERE status IN ('open', 'assigned', 'in_progress', 'on_hold', 'resolved')
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (location_id, severity) DO UPDATE SET tickets = s.tickets + excluded.tickets;
    RETURN NULL;
END;
$$;

CREATE FUNCTION site_ticket_states_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE site_ticket_states s SET tickets = s.tickets - gone.n
    FROM (
        SELECT location_id, ticket_recorded_severity(responded_at, resolved_at, response_warned,
                   response_breached, resolution_warned, resolution_breached) AS severity, count(*) AS n
        FROM old_rows WHERE status IN ('open', 'assigned', 'in_progress', 'on_hold', 'resolved')
        GROUP BY 1, 2
    ) gone
    WHERE s.location_id = gone.location_id AND s.severity = gone.severity;
    RETURN NULL;
END;
$$;

CREATE TRIGGER tickets_site_states_insert AFTER INSERT ON tickets
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION site_ticket_states_on_insert();
CREATE TRIGGER tickets_site_states_update AFTER UPDATE ON tickets
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION site_ticket_states_on_update();
CREATE TRIGGER tickets_site_states_delete AFTER DELETE ON tickets
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION site_ticket_states_on_delete();

CREATE FUNCTION site_ticket_states_on_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM site_ticket_states;
    RETURN NULL;
END;
$$;
CREATE TRIGGER tickets_site_states_truncate AFTER TRUNCATE ON tickets
    FOR EACH STATEMENT EXECUTE FUNCTION site_ticket_states_on_truncate();

INSERT INTO site_ticket_states (location_id, severity, tickets)
SELECT location_id, ticket_recorded_severity(responded_at, resolved_at, response_warned,
           response_breached, resolution_warned, resolution_breached), count(*)
FROM tickets WHERE status IN ('open', 'assigned', 'in_progress', 'on_hold', 'resolved')
GROUP BY 1, 2;
