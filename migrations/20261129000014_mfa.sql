-- Multi-factor authentication (TOTP, RFC 6238): functions/auth/src/mfa/, shared/src/auth/mfa.rs.

-- One authenticator per user. The secret is stored only sealed (AES-256-GCM under the MFA key,
-- shared/src/seal.rs): a database dump alone computes no code. `confirmed_at` is NULL while the
-- enrolment waits for its first code; `last_step` is the last TOTP time step accepted, so a
-- code is accepted once (a replay inside its 90-second window is refused).
CREATE TABLE user_mfa (
    user_id       bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_sealed bytea NOT NULL,
    confirmed_at  timestamptz,
    last_step     bigint,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Ten single-use recovery codes per confirmed enrolment, stored as SHA-256 (each holds 80
-- random bits, so a fast hash is enough).
CREATE TABLE mfa_recovery_codes (
    user_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash bytea NOT NULL,
    used_at   timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

-- A password that was right, waiting for its second factor: the login's `mfa_token`, stored as
-- SHA-256, single use, short-lived. A user's spent and expired ones go at their next login.
CREATE TABLE mfa_challenges (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX mfa_challenges_user_idx ON mfa_challenges (user_id);

-- A session opened by a user whose role requires MFA (NEXUS_MFA_REQUIRED_ROLES) before they
-- enrolled: it may only enrol (shared/src/auth/extractor.rs).
ALTER TABLE sessions ADD COLUMN mfa_enrolment_only boolean NOT NULL DEFAULT false;

-- Confirming MFA ends the user's sessions opened without it.
ALTER TABLE sessions DROP CONSTRAINT sessions_revoked_reason_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_revoked_reason_check
    CHECK (revoked_reason IN ('logout', 'refresh_token_reuse', 'user_deactivated', 'admin', 'password_change',
                              'mfa_enrolled'));
