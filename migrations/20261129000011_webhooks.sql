-- Outbound webhooks (functions webhooks and webhook-dispatch): endpoints, the transactional outbox
-- of events, and one delivery per (event, endpoint).

CREATE TABLE webhooks (
    id                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url                        text NOT NULL CHECK (length(url) <= 2000),
    events                     text[] NOT NULL CHECK (cardinality(events) > 0),
    description                text CHECK (length(description) <= 500),
    enabled                    boolean NOT NULL DEFAULT true,
    -- Why delivery stopped (e.g. failing for 3 days); NULL while enabled.
    disabled_reason            text,
    -- The signing secret (`whsec_…`), sealed with AES-256-GCM under the webhook key (nonce ‖
    -- ciphertext ‖ tag); never stored or logged in the clear.
    secret_sealed              bytea NOT NULL,
    -- After a rotation the previous secret also signs until it expires (24 h).
    previous_secret_sealed     bytea,
    previous_secret_expires_at timestamptz,
    -- The first failed attempt since the last success: an endpoint failing for 3 days is disabled.
    failing_since              timestamptz,
    created_by                 bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now()
);
-- Writers look up the enabled endpoints subscribed to an event type.
CREATE INDEX webhooks_subscribed_idx ON webhooks USING gin (events) WHERE enabled;

-- The outbox: an event is written in the transaction of the change that causes it (only when
-- some enabled endpoint subscribes to its type), so none is lost after a commit and none is sent
-- for a change that rolled back. `payload` is the body sent: {type, timestamp, data}.
CREATE TABLE webhook_events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type       text NOT NULL,
    payload    jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_events_created_at_idx ON webhook_events (created_at);

-- One delivery per event and endpoint, written with the event. `message_id` is the
-- `webhook-id` header: the same on every retry and replay, so receivers can deduplicate.
CREATE TABLE webhook_deliveries (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id       bigint NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id         bigint NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    message_id       text NOT NULL UNIQUE,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz,
    last_attempt_at  timestamptz,
    last_status_code integer,
    last_error       text,
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL))
);
-- The dispatcher's queue: pending deliveries that are due.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at, id) WHERE status = 'pending';
-- An endpoint's deliveries, newest first.
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);

ALTER TABLE audit_logs DROP CONSTRAINT audit_logs_entity_type_check;
ALTER TABLE audit_logs ADD CONSTRAINT audit_logs_entity_type_check
    CHECK (entity_type IN ('user', 'location', 'asset', 'ticket', 'approval', 'sla_rule', 'sla_calendar', 'sla_event',
                           'jobcard', 'pm_plan', 'meter', 'checklist', 'visit', 'attachment', 'export', 'webhook'));
