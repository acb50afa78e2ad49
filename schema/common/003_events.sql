-- Change events (消息通知), the same on both platforms (applied for each from
-- schema/common): every write, recorded in the transaction that makes it, for other
-- systems to follow with GET /v1/events. Unlike the history in `changes`,
-- events are kept for EVENTS_KEEP_HOURS only; the horizon says up to which
-- sequence number they have been pruned, so a reader asking for older ones
-- learns it (410) instead of missing them.
CREATE TABLE events (
    seq  bigserial   PRIMARY KEY,
    at   timestamptz NOT NULL DEFAULT now(),
    type text        NOT NULL,   -- transformer.created, relation.added, ...
    code text        NOT NULL,   -- the object, or a link's from end
    app  text        NOT NULL,
    data jsonb       NOT NULL    -- {"other", "before", "after"}
);
CREATE INDEX events_at ON events (at);

CREATE TABLE events_horizon (
    one         boolean PRIMARY KEY DEFAULT true CHECK (one),
    pruned_upto bigint  NOT NULL DEFAULT 0
);
INSERT INTO events_horizon DEFAULT VALUES;
