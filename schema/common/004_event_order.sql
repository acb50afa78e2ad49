-- Change events numbered in commit order, and a wake-up on each commit, the
-- same on both platforms (applied for each from schema/common).
--
-- A bigserial hands out numbers when rows are inserted, not when they
-- commit: a write that took seq 5 may commit after one that took seq 6, and
-- a reader that has already seen 6 (GET /v1/events?after=6, or a stream at
-- 6) would skip 5 for ever. So the number an event is inserted with is only
-- provisional, never seen by anyone else: a deferred trigger, run as the
-- transaction commits, takes one transaction-scoped advisory lock and
-- renumbers the transaction's events from the same sequence. The lock is
-- held until the commit is done, so the next committer draws its numbers
-- only after this one's are visible (or rolled back, leaving a gap that
-- skips nothing): seq order is commit order, and whoever sees seq N sees
-- every committed event below it.
--
-- Because the lock is taken at commit and nowhere earlier, a transaction
-- may record its events at any point, then lock rows or wait on the peer
-- platform (a work order's step does both), without holding up other
-- writers; they queue only for the moment of each other's commit.
-- The key is a constant of its own (migrations lock 7319001). The time
-- stamped is the commit's, taken under the lock too, so `at` rises with
-- seq and pruning by age never removes an event while keeping an older one.
-- Nothing may use the number an INSERT ... RETURNING seq hands back.
--
-- Followers of GET /v1/events/stream LISTEN on 'events'. NOTIFY is
-- delivered when the transaction commits (never for one that rolls back),
-- and identical notifications of one transaction are sent once, so a bulk
-- batch wakes them once. The payload is empty: they read the table, which
-- is the truth, from where they are.

CREATE FUNCTION events_number_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7319002);
    UPDATE events SET seq = nextval(pg_get_serial_sequence('events', 'seq')),
                      at = clock_timestamp()
     WHERE seq = NEW.seq;
    PERFORM pg_notify('events', '');
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER events_number_at_commit AFTER INSERT ON events
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION events_number_at_commit();
