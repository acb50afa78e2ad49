-- grid-svc foundation: bookkeeping tables, the shapes every collection and
-- relation table shares, and the first collections.
--
-- The generic resource code (common/engine/resource.c, common/engine/relation.c) relies on
-- the columns of grid_object and grid_link; each table takes them with
-- CREATE TABLE ... (LIKE ... INCLUDING ALL) and adds its own fields.

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

-- Every write, in the transaction that made it: the history of each object.
CREATE TABLE changes (
    seq        bigserial   PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    app        text        NOT NULL,
    type       text        NOT NULL,   -- substation.created, relation.added, ...
    code       text        NOT NULL,   -- the object, or a link's from end
    other_code text,                   -- a link's to end
    before     jsonb,
    after      jsonb
);
CREATE INDEX changes_code ON changes (code, seq);
CREATE INDEX changes_other_code ON changes (other_code, seq) WHERE other_code IS NOT NULL;

CREATE TABLE grid_object (
    code       text        PRIMARY KEY,
    status     text        NOT NULL DEFAULT 'operational'
               CHECK (status IN ('design', 'operational', 'retired')),
    version    integer     NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text        NOT NULL
);

-- Links are effective-dated: current while valid_to IS NULL.
CREATE TABLE grid_link (
    id         bigserial   PRIMARY KEY,
    from_code  text        NOT NULL,
    to_code    text        NOT NULL,
    status     text        NOT NULL DEFAULT 'operational'
               CHECK (status IN ('design', 'operational')),
    valid_from timestamptz NOT NULL DEFAULT now(),
    valid_to   timestamptz,
    created_by text        NOT NULL,
    ended_by   text,
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);

CREATE TABLE substations (
    LIKE grid_object INCLUDING ALL,
    name         text             NOT NULL,
    voltage_kv   double precision NOT NULL,
    location_lon double precision,
    location_lat double precision
);

CREATE TABLE lines (
    LIKE grid_object INCLUDING ALL,
    name       text             NOT NULL,
    kind       text             NOT NULL CHECK (kind IN ('public', 'dedicated')),
    voltage_kv double precision NOT NULL,
    length_km  double precision,
    conductor  text
);
CREATE INDEX lines_kind ON lines (kind);

CREATE TABLE rel_substation_line (
    LIKE grid_link INCLUDING ALL,
    role text NOT NULL CHECK (role IN ('source', 'tie')),
    FOREIGN KEY (from_code) REFERENCES substations (code),
    FOREIGN KEY (to_code) REFERENCES lines (code)
);
CREATE UNIQUE INDEX rel_substation_line_current ON rel_substation_line (from_code, to_code)
    WHERE valid_to IS NULL;
CREATE INDEX rel_substation_line_to ON rel_substation_line (to_code) WHERE valid_to IS NULL;
