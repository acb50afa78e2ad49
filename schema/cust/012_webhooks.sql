-- Webhooks (DESIGN §10): an administrator registers a URL, the event types it
-- wants and a secret; cust-svc's delivery thread (cust-svc/webhooks.c) POSTs
-- every such event committed after the registration, signed with the secret,
-- at least once and in seq order, and records every attempt.
--
-- The cursor is the webhook's row: delivered_upto says that every event of
-- its types up to that seq has been delivered (it also moves past events of
-- other types, so that looking for the next one stays a short scan), and it
-- moves only once a receiver answered 2xx, in the same statement that
-- records the attempt. An attempt is claimed by moving next_at past its
-- end (a lease) and bumping claim, under FOR UPDATE SKIP LOCKED: another
-- cust-svc on this database skips the webhook until the lease runs out, and
-- a daemon stopped mid-delivery leaves the event for whoever claims it next.
-- The attempt is recorded only while the claim is still its own.
CREATE TABLE webhooks (
    id             bigserial   PRIMARY KEY,
    url            text        NOT NULL CHECK (url ~ '^https?://'),
    events         text[]      NOT NULL CHECK (cardinality(events) > 0),
    secret         text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    created_by     text        NOT NULL,
    delivered_upto bigint      NOT NULL,   -- the cursor: the last event seq dealt with
    next_at        timestamptz NOT NULL DEFAULT now(), -- the next attempt, or a claim's lease
    attempts       integer     NOT NULL DEFAULT 0,     -- failed attempts of the next event
    claim          bigint      NOT NULL DEFAULT 0      -- bumped by each claim
);
CREATE INDEX webhooks_due ON webhooks (next_at);

-- One row per attempt, successful or not.
CREATE TABLE webhook_deliveries (
    id       bigserial   PRIMARY KEY,
    webhook  bigint      NOT NULL REFERENCES webhooks ON DELETE CASCADE,
    seq      bigint      NOT NULL,
    type     text        NOT NULL,
    attempt  integer     NOT NULL,   -- 1 for the event's first attempt
    at       timestamptz NOT NULL,   -- when the request was sent
    ms       integer     NOT NULL,   -- how long the receiver took to answer (or fail)
    status   integer,                -- the receiver's HTTP status; NULL: no answer
    error    text,                   -- why the attempt failed, when it did
    ok       boolean     NOT NULL
);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook, id);
