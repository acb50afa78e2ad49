-- grid-svc: substations, lines and the substation-line relation.
-- Every table of a collection has the same base columns; the generic
-- resource code (common/resource.c) relies on them.

CREATE TABLE idempotency_keys (
    app          text        NOT NULL,
    key          text        NOT NULL,
    request_hash text        NOT NULL,
    status       integer     NOT NULL,
    body         text        NOT NULL,
    location     text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (app, key)
);

CREATE TABLE substations (
    code         text PRIMARY KEY,
    status       text        NOT NULL DEFAULT 'operational'
                 CHECK (status IN ('design', 'operational', 'retired')),
    version      integer     NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    updated_by   text        NOT NULL,
    name         text        NOT NULL,
    voltage_kv   double precision NOT NULL,
    location_lon double precision,
    location_lat double precision
);

CREATE TABLE lines (
    code         text PRIMARY KEY,
    status       text        NOT NULL DEFAULT 'operational'
                 CHECK (status IN ('design', 'operational', 'retired')),
    version      integer     NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    updated_by   text        NOT NULL,
    name         text        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('public', 'dedicated')),
    voltage_kv   double precision NOT NULL,
    length_km    double precision,
    conductor    text
);
CREATE INDEX lines_kind_idx ON lines (kind);

-- Relations are effective-dated: current while valid_to IS NULL.
CREATE TABLE rel_substation_line (
    id         bigserial PRIMARY KEY,
    from_code  text        NOT NULL REFERENCES substations (code),
    to_code    text        NOT NULL REFERENCES lines (code),
    role       text        NOT NULL CHECK (role IN ('source', 'tie')),
    valid_from timestamptz NOT NULL DEFAULT now(),
    valid_to   timestamptz,
    created_by text        NOT NULL,
    ended_by   text,
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
-- A pair is linked at most once at a time.
CREATE UNIQUE INDEX rel_substation_line_current
    ON rel_substation_line (from_code, to_code) WHERE valid_to IS NULL;
CREATE INDEX rel_substation_line_to ON rel_substation_line (to_code) WHERE valid_to IS NULL;
