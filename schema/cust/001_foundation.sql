-- cust-svc foundation: bookkeeping tables, the shapes every collection and
-- relation table shares, and the first collections.
--
-- The generic resource code (common/engine/resource.c, common/engine/relation.c) relies on
-- the columns of cust_object and cust_link; each table takes them with
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
    type       text        NOT NULL,   -- customer.created, relation.added, ...
    code       text        NOT NULL,   -- the object, or a link's from end
    other_code text,                   -- a link's to end
    before     jsonb,
    after      jsonb
);
CREATE INDEX changes_code ON changes (code, seq);
CREATE INDEX changes_other_code ON changes (other_code, seq) WHERE other_code IS NOT NULL;

CREATE TABLE cust_object (
    code       text        PRIMARY KEY,
    status     text        NOT NULL DEFAULT 'active'
               CHECK (status IN ('pending', 'active', 'retired')),
    version    integer     NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text        NOT NULL
);

-- Links are effective-dated: current while valid_to IS NULL.
CREATE TABLE cust_link (
    id         bigserial   PRIMARY KEY,
    from_code  text        NOT NULL,
    to_code    text        NOT NULL,
    status     text        NOT NULL DEFAULT 'active' CHECK (status IN ('pending', 'active')),
    valid_from timestamptz NOT NULL DEFAULT now(),
    valid_to   timestamptz,
    created_by text        NOT NULL,
    ended_by   text,
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);

CREATE TABLE addresses (
    LIKE cust_object INCLUDING ALL,
    province     text NOT NULL,
    city         text NOT NULL,
    district     text NOT NULL,
    street       text,
    community    text,
    building     text,
    unit         text,
    room         text,
    detail       text,
    location_lon double precision,
    location_lat double precision
);

CREATE TABLE customers (
    LIKE cust_object INCLUDING ALL,
    name                  text NOT NULL,
    category              text NOT NULL CHECK (category IN ('hv', 'lv_resident', 'lv_nonresident')),
    phone                 text,
    address               text REFERENCES addresses (code),
    account_no            text,
    contract_capacity_kva double precision,
    CONSTRAINT customers_account_no_key UNIQUE (account_no)
);
CREATE INDEX customers_address ON customers (address);
CREATE INDEX customers_category ON customers (category);
