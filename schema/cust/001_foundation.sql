-- cust-svc: customers and structured addresses.
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

CREATE TABLE addresses (
    code         text PRIMARY KEY,
    status       text        NOT NULL DEFAULT 'active'
                 CHECK (status IN ('pending', 'active', 'retired')),
    version      integer     NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    updated_by   text        NOT NULL,
    province     text        NOT NULL,
    city         text        NOT NULL,
    district     text        NOT NULL,
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
    code                  text PRIMARY KEY,
    status                text        NOT NULL DEFAULT 'active'
                          CHECK (status IN ('pending', 'active', 'retired')),
    version               integer     NOT NULL DEFAULT 1,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    updated_by            text        NOT NULL,
    name                  text        NOT NULL,
    category              text        NOT NULL CHECK (category IN ('hv', 'lv_resident', 'lv_nonresident')),
    phone                 text,
    address               text REFERENCES addresses (code),
    account_no            text,
    contract_capacity_kva double precision,
    CONSTRAINT customers_account_no_key UNIQUE (account_no)
);
CREATE INDEX customers_address_idx ON customers (address);
CREATE INDEX customers_category_idx ON customers (category);
