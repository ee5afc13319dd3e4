-- Bulk imports of sites and devices (POST /api/imports): each dry run and each apply keeps its
-- report; an apply must name the checksum of a clean dry run of the same bytes from the last 24 h.
CREATE TABLE imports (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity      text NOT NULL CHECK (entity IN ('locations', 'assets')),
    dry_run     boolean NOT NULL,
    -- SHA-256 of the file's bytes, lowercase hex.
    checksum    text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
    rows        integer NOT NULL CHECK (rows >= 0),
    inserted    integer NOT NULL CHECK (inserted >= 0),
    updated     integer NOT NULL CHECK (updated >= 0),
    unchanged   integer NOT NULL CHECK (unchanged >= 0),
    error_count integer NOT NULL CHECK (error_count >= 0),
    created_by  bigint REFERENCES users (id) ON DELETE RESTRICT,
    request_id  text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX imports_created_at_idx ON imports (created_at, id);
-- What an apply looks for: a clean dry run of these bytes.
CREATE INDEX imports_clean_dry_run_idx ON imports (checksum, entity, created_at) WHERE dry_run AND error_count = 0;

-- Every error of an import, in the order found (by row, the header first).
CREATE TABLE import_errors (
    import_id   bigint NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    seq         bigint NOT NULL,
    row_number  integer NOT NULL CHECK (row_number >= 1),
    column_name text NOT NULL,
    code        text NOT NULL,
    message     text NOT NULL,
    PRIMARY KEY (import_id, seq)
);
