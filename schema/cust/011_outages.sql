-- Outages, notices and trouble calls 停电管理、主动通知、故障报修 (DESIGN §10,
-- cust-svc/outages.c, notices.c, calls.c). Outages and notices are written
-- by those routes only; the generic code serves their reads.

CREATE TABLE outages (
    LIKE cust_object INCLUDING ALL,
    kind        text        NOT NULL CHECK (kind IN ('planned', 'fault')),
    elements    text[]      NOT NULL CHECK (cardinality(elements) > 0),
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz CHECK (ends_at > starts_at),
    reason      text,
    work_order  text        REFERENCES work_orders (code),
    state       text        NOT NULL DEFAULT 'announced'
                CHECK (state IN ('announced', 'started', 'restored', 'cancelled')),
    customers   integer     NOT NULL DEFAULT 0,
    started_at  timestamptz,
    restored_at timestamptz
);
CREATE INDEX outages_state ON outages (state) WHERE state IN ('announced', 'started');
-- A work order's power-on work has one planned outage (its scheduled step).
ALTER TABLE work_orders ADD COLUMN outage text REFERENCES outages (code);
CREATE UNIQUE INDEX outages_work_order ON outages (work_order)
    WHERE work_order IS NOT NULL AND state <> 'cancelled';

-- The list frozen when the outage is created: who was told, as they were
-- then. Later grid or customer changes do not alter it.
CREATE TABLE outage_customers (
    outage           text    NOT NULL REFERENCES outages (code),
    customer         text    NOT NULL REFERENCES customers (code),
    name             text    NOT NULL,
    phone            text,
    address          text,              -- the structured address as one line of text
    transformer      text,              -- 台区: the transformer whose area it is in
    transformer_name text,
    backup           boolean NOT NULL,  -- a supply point or generator the outage does not cut
    PRIMARY KEY (outage, customer)
);
CREATE INDEX outage_customers_customer ON outage_customers (customer);

-- One notice per customer and message: never made twice.
CREATE TABLE notices (
    LIKE cust_object INCLUDING ALL,
    outage   text NOT NULL REFERENCES outages (code),
    customer text NOT NULL REFERENCES customers (code),
    phone    text,
    message  text NOT NULL CHECK (message IN ('announced', 'rescheduled', 'restored', 'cancelled')),
    state    text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    detail   text,
    sent_at  timestamptz,
    -- A second reschedule is a message of its own: the key counts them.
    round    integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX notices_once ON notices (outage, customer, message, round);
CREATE INDEX notices_state ON notices (state, code);
CREATE INDEX notices_outage ON notices (outage, customer);

CREATE TABLE trouble_calls (
    LIKE cust_object INCLUDING ALL,
    customer text        NOT NULL REFERENCES customers (code),
    phone    text,
    text     text        NOT NULL,
    at       timestamptz NOT NULL,
    outage   text        REFERENCES outages (code)
);
CREATE INDEX trouble_calls_open ON trouble_calls (at) WHERE outage IS NULL;
CREATE INDEX trouble_calls_customer ON trouble_calls (customer);
CREATE INDEX trouble_calls_outage ON trouble_calls (outage) WHERE outage IS NOT NULL;
-- 95598 finds a caller by the phone the call comes from.
CREATE INDEX customers_phone ON customers (phone) WHERE status <> 'retired';
CREATE INDEX meter_reach_customer ON meter_reach (customer);
