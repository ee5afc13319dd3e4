-- Field work with proof: versioned checklists and their answers on tickets, GPS visits against
-- each site's geofence, photo evidence in S3, and events captured offline that count when they
-- happened (status changes carry the instant they occurred; a late event may retract a breach).

ALTER TABLE audit_logs DROP CONSTRAINT audit_logs_entity_type_check;
ALTER TABLE audit_logs ADD CONSTRAINT audit_logs_entity_type_check
    CHECK (entity_type IN ('user', 'location', 'asset', 'ticket', 'approval', 'sla_rule', 'sla_calendar', 'sla_event',
                           'jobcard', 'pm_plan', 'meter', 'checklist', 'visit', 'attachment'));

-- How close to the site's coordinates a check-in counts as at the site.
ALTER TABLE locations ADD COLUMN geofence_m integer NOT NULL DEFAULT 200 CHECK (geofence_m BETWEEN 20 AND 5000);

-- A checklist template; each change is a new row in checklist_versions, and a version a ticket
-- uses never changes.
CREATE TABLE checklists (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    version    integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_by bigint REFERENCES users (id) ON DELETE RESTRICT,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX checklists_name_idx ON checklists (name, id);
CREATE INDEX checklists_created_at_idx ON checklists (created_at, id);
CREATE TRIGGER checklists_updated_at BEFORE UPDATE ON checklists FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE checklist_versions (
    checklist_id bigint NOT NULL REFERENCES checklists (id) ON DELETE RESTRICT,
    version      integer NOT NULL CHECK (version >= 1),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- [{key, label, type, required, …}], validated by the API (shared::checklist).
    items        jsonb NOT NULL CHECK (jsonb_typeof(items) = 'array'),
    created_by   bigint REFERENCES users (id) ON DELETE RESTRICT,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (checklist_id, version)
);

ALTER TABLE pm_plans ADD COLUMN checklist_id bigint REFERENCES checklists (id) ON DELETE RESTRICT;

ALTER TABLE tickets
    ADD COLUMN checklist_id bigint,
    ADD COLUMN checklist_version integer,
    -- Bumped by every change of the ticket's answers: the checklist's own ETag.
    ADD COLUMN checklist_revision integer NOT NULL DEFAULT 0,
    -- A CM ticket made by a failed checklist item: the ticket and the item.
    ADD COLUMN parent_ticket_id bigint REFERENCES tickets (id) ON DELETE RESTRICT,
    ADD COLUMN parent_checklist_key text CHECK (length(parent_checklist_key) BETWEEN 1 AND 100),
    -- When the last status change happened (a device's occurred_at) and when the server got it;
    -- NULL for tickets whose status never changed since this column exists.
    ADD COLUMN status_changed_at timestamptz,
    ADD COLUMN status_received_at timestamptz,
    ADD CONSTRAINT tickets_checklist_version_fkey FOREIGN KEY (checklist_id, checklist_version)
        REFERENCES checklist_versions (checklist_id, version) ON DELETE RESTRICT,
    ADD CONSTRAINT tickets_checklist_pair CHECK ((checklist_id IS NULL) = (checklist_version IS NULL)),
    ADD CONSTRAINT tickets_parent_item_pair CHECK (parent_checklist_key IS NULL OR parent_ticket_id IS NOT NULL);
-- A failed item makes its CM ticket once, however many times (or concurrently) it is answered.
CREATE UNIQUE INDEX tickets_failed_item_once ON tickets (parent_ticket_id, parent_checklist_key)
    WHERE parent_checklist_key IS NOT NULL;
CREATE INDEX tickets_parent_idx ON tickets (parent_ticket_id) WHERE parent_ticket_id IS NOT NULL;
CREATE INDEX tickets_checklist_idx ON tickets (checklist_id, checklist_version) WHERE checklist_id IS NOT NULL;

-- One answer per ticket and item key; `value: null` from the API deletes the row.
CREATE TABLE checklist_answers (
    ticket_id   bigint NOT NULL REFERENCES tickets (id) ON DELETE RESTRICT,
    key         text NOT NULL CHECK (length(key) BETWEEN 1 AND 100),
    value       jsonb NOT NULL,
    answered_by bigint REFERENCES users (id) ON DELETE RESTRICT,
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ticket_id, key)
);

-- A technician at (or not quite at) the site.
CREATE TABLE visits (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id            bigint NOT NULL REFERENCES tickets (id) ON DELETE RESTRICT,
    technician_id        bigint NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    checked_in_at        timestamptz NOT NULL,
    received_at          timestamptz NOT NULL DEFAULT now(),
    lat                  double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lng                  double precision NOT NULL CHECK (lng BETWEEN -180 AND 180),
    accuracy_m           double precision NOT NULL CHECK (accuracy_m >= 0),
    distance_m           double precision CHECK (distance_m >= 0),
    result               text NOT NULL CHECK (result IN ('inside', 'outside', 'low_accuracy', 'no_site_position')),
    checked_out_at       timestamptz,
    checkout_received_at timestamptz,
    checkout_lat         double precision CHECK (checkout_lat BETWEEN -90 AND 90),
    checkout_lng         double precision CHECK (checkout_lng BETWEEN -180 AND 180),
    checkout_accuracy_m  double precision CHECK (checkout_accuracy_m >= 0),
    checkout_distance_m  double precision CHECK (checkout_distance_m >= 0),
    checkout_result      text CHECK (checkout_result IN ('inside', 'outside', 'low_accuracy', 'no_site_position')),
    CONSTRAINT visits_checkout_complete CHECK (
        (checked_out_at IS NULL) = (checkout_received_at IS NULL)
        AND (checked_out_at IS NULL) = (checkout_result IS NULL)
        AND (checked_out_at IS NULL) = (checkout_lat IS NULL))
);
CREATE INDEX visits_ticket_idx ON visits (ticket_id, checked_in_at, id);
-- "The ticket's first inside check-in" (a resolution may not precede it).
CREATE INDEX visits_inside_idx ON visits (ticket_id, checked_in_at) WHERE result = 'inside';

-- Photos, signatures and documents: the bytes in S3, the row here. A row is `pending` until the
-- server has read the object and checked its size and SHA-256.
CREATE TABLE attachments (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id     bigint NOT NULL REFERENCES tickets (id) ON DELETE RESTRICT,
    kind          text NOT NULL CHECK (kind IN ('before', 'after', 'signature', 'document')),
    checklist_key text CHECK (length(checklist_key) BETWEEN 1 AND 100),
    content_type  text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp', 'application/pdf')),
    size_bytes    bigint NOT NULL CHECK (size_bytes BETWEEN 1 AND 10485760),
    sha256        text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'stored')),
    -- Chosen by the server: uploads/pending/… until confirmed, then its final key.
    object_key    text NOT NULL CHECK (length(object_key) BETWEEN 1 AND 500),
    uploaded_by   bigint REFERENCES users (id) ON DELETE RESTRICT,
    created_at    timestamptz NOT NULL DEFAULT now(),
    stored_at     timestamptz,
    CONSTRAINT attachments_stored_at CHECK ((status = 'stored') = (stored_at IS NOT NULL))
);
CREATE UNIQUE INDEX attachments_object_key ON attachments (object_key);
CREATE INDEX attachments_ticket_idx ON attachments (ticket_id, id);
-- Photo and signature items are met by stored attachments.
CREATE INDEX attachments_checklist_idx ON attachments (ticket_id, checklist_key) WHERE status = 'stored';
-- Housekeeping removes pending rows whose upload never came.
CREATE INDEX attachments_pending_idx ON attachments (created_at) WHERE status = 'pending';

-- A late event (a check-in made offline) may prove a recorded breach did not happen: the
-- breach stays, and a retraction naming it is appended.
ALTER TABLE sla_events DROP CONSTRAINT sla_events_kind_check;
ALTER TABLE sla_events ADD CONSTRAINT sla_events_kind_check
    CHECK (kind IN ('response_warning', 'response_breach', 'resolution_warning', 'resolution_breach',
                    'response_breach_retracted', 'resolution_breach_retracted'));
ALTER TABLE sla_events
    ADD COLUMN retracts_event_id bigint REFERENCES sla_events (id) ON DELETE RESTRICT,
    ADD CONSTRAINT sla_events_retraction_names_its_breach
        CHECK ((kind LIKE '%_retracted') = (retracts_event_id IS NOT NULL));
