-- The first response to a creating request sent with an Idempotency-Key, stored in the same
-- transaction as what it created: a retry (API Gateway, Lambda, a mobile client on a bad
-- network) with the same key gets that response back and creates nothing. Scoped per user.
CREATE TABLE idempotency_keys (
    user_id        bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key            text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    route          text NOT NULL,
    request_sha256 text NOT NULL,
    status         smallint NOT NULL,
    body           jsonb NOT NULL,
    etag           text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
-- For purging old keys.
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
