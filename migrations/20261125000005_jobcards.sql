-- Jobcards: the PDF of a closed ticket, versioned; the object lives in S3 (private,
-- encrypted), this row keeps its key and SHA-256 and the ticket version it was made from, so
-- asking again for an unchanged ticket reuses the object.
ALTER TABLE audit_logs DROP CONSTRAINT audit_logs_entity_type_check;
ALTER TABLE audit_logs ADD CONSTRAINT audit_logs_entity_type_check
    CHECK (entity_type IN ('user', 'location', 'asset', 'ticket', 'approval', 'sla_rule', 'sla_calendar', 'sla_event', 'jobcard'));

CREATE TABLE jobcards (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id      bigint NOT NULL REFERENCES tickets (id) ON DELETE RESTRICT,
    version        integer NOT NULL CHECK (version >= 1),
    object_key     text NOT NULL,
    sha256         text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size_bytes     integer NOT NULL CHECK (size_bytes > 0),
    ticket_version integer NOT NULL,
    created_by     bigint REFERENCES users (id) ON DELETE RESTRICT,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT jobcards_ticket_version_key UNIQUE (ticket_id, version)
);
CREATE UNIQUE INDEX jobcards_object_key_key ON jobcards (object_key);
