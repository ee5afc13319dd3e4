-- Foundation schema: identity (users, roles, sessions, login throttling), the estate
-- (locations = TIDs, assets) and the audit log. Tickets, SLAs and approvals arrive in later
-- migrations. Every enum-like column is a CHECK so bad data cannot be stored even by hand.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Keeps updated_at honest whoever writes the row.
CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TABLE roles (
    name        text PRIMARY KEY CHECK (name IN ('admin', 'supervisor', 'technician', 'viewer')),
    description text NOT NULL
);

INSERT INTO roles (name, description) VALUES
    ('admin', 'Everything, including users and audit'),
    ('supervisor', 'Reads everything; plans work; manages locations and assets; approves closures'),
    ('technician', 'Works the tickets assigned to them'),
    ('viewer', 'Reads locations, assets and tickets');

CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Stored lower-cased: uniqueness and login are case-insensitive.
    email         text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    full_name     text CHECK (length(full_name) BETWEEN 1 AND 200),
    password_hash text NOT NULL,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE INDEX users_created_at_idx ON users (created_at, id);
CREATE TRIGGER users_updated_at BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE user_roles (
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    role    text NOT NULL REFERENCES roles (name) ON DELETE RESTRICT,
    PRIMARY KEY (user_id, role)
);
CREATE INDEX user_roles_role_idx ON user_roles (role, user_id);

-- One row per login; revoking it kills its access tokens (checked on every request) and its
-- refresh token. Only a hash of the current refresh secret is kept.
CREATE TABLE sessions (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id            bigint NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    refresh_token_hash bytea NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    refreshed_at       timestamptz,
    expires_at         timestamptz NOT NULL,
    revoked_at         timestamptz,
    revoked_reason     text CHECK (revoked_reason IN ('logout', 'refresh_token_reuse', 'user_deactivated', 'admin'))
);
CREATE INDEX sessions_live_by_user_idx ON sessions (user_id) WHERE revoked_at IS NULL;

-- Failed logins per e-mail, kept in Postgres so the limit holds across Lambda instances.
CREATE TABLE login_failures (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email     text NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_email_idx ON login_failures (email, failed_at);

CREATE TABLE locations (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code       text NOT NULL CHECK (code ~ '^[A-Za-z0-9_-]{1,100}$'),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    address    text CHECK (length(address) <= 500),
    latitude   double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude  double precision CHECK (longitude BETWEEN -180 AND 180),
    timezone   text NOT NULL DEFAULT 'Asia/Jakarta' CHECK (length(timezone) BETWEEN 1 AND 64),
    region     text CHECK (length(region) BETWEEN 1 AND 100),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT locations_coordinates_pair CHECK ((latitude IS NULL) = (longitude IS NULL))
);
CREATE UNIQUE INDEX locations_code_key ON locations (code);
CREATE INDEX locations_name_idx ON locations (name, id);
CREATE INDEX locations_created_at_idx ON locations (created_at, id);
CREATE INDEX locations_region_idx ON locations (region, code);
CREATE INDEX locations_search_idx ON locations USING gin ((code || ' ' || name) gin_trgm_ops);
CREATE TRIGGER locations_updated_at BEFORE UPDATE ON locations FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE assets (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    location_id   bigint NOT NULL REFERENCES locations (id) ON DELETE RESTRICT,
    tag           text NOT NULL CHECK (length(tag) BETWEEN 1 AND 100),
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    category      text CHECK (length(category) BETWEEN 1 AND 100),
    purchase_date date,
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'decommissioned')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX assets_tag_key ON assets (tag);
CREATE INDEX assets_location_idx ON assets (location_id, tag);
CREATE INDEX assets_status_idx ON assets (status, tag);
CREATE INDEX assets_category_idx ON assets (category, tag);
CREATE INDEX assets_name_idx ON assets (name, id);
CREATE INDEX assets_created_at_idx ON assets (created_at, id);
CREATE INDEX assets_search_idx ON assets USING gin ((tag || ' ' || name) gin_trgm_ops);
CREATE TRIGGER assets_updated_at BEFORE UPDATE ON assets FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Append-only history of every change, written in the same transaction as the change.
CREATE TABLE audit_logs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity_type text NOT NULL CHECK (entity_type IN ('user', 'location', 'asset')),
    entity_id   bigint NOT NULL,
    action      text NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    actor_id    bigint REFERENCES users (id) ON DELETE RESTRICT,
    changes     jsonb NOT NULL DEFAULT '{}'::jsonb,
    request_id  text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_logs_entity_idx ON audit_logs (entity_type, entity_id, created_at, id);
CREATE INDEX audit_logs_entity_type_idx ON audit_logs (entity_type, created_at, id);
CREATE INDEX audit_logs_actor_idx ON audit_logs (actor_id, created_at, id);
CREATE INDEX audit_logs_created_at_idx ON audit_logs (created_at, id);
