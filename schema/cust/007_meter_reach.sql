-- The customer each meter leads to, kept ready for the walks that only want
-- the customers below a meter box (an outage's list, DESIGN §6): the box the
-- meter sits in and the customer its metering point serves, while the
-- meter, both its links and the metering point are live. Walking box ->
-- meter -> metering point -> customer reads three rows and three links per
-- customer; this table is one range scan per box. The walk still vets each
-- customer itself. (cust-svc declares it on meter-meterbox, collections.c.)
--
-- Kept in the writing transaction by the statement triggers below. Only
-- the links, and updates of meters and metering points, can change it: a
-- new meter or metering point has no links yet, since links name them.
CREATE TABLE meter_reach (
    meter     text PRIMARY KEY,
    meter_box text NOT NULL,
    customer  text NOT NULL
);
CREATE INDEX meter_reach_box ON meter_reach (meter_box) INCLUDE (customer);

-- Recomputes the rows of the given meters from the tables, each statement
-- with a fresh snapshot (READ COMMITTED; a VOLATILE function).
CREATE FUNCTION meter_reach_refresh(meters text[]) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM meter_reach WHERE meter = ANY (meters);
    INSERT INTO meter_reach (meter, meter_box, customer)
    SELECT m.code, mb.to_code, mp.customer
      FROM meters m
      JOIN rel_meter_meterbox mb ON mb.from_code = m.code AND mb.valid_to IS NULL
      JOIN rel_meter_meteringpoint mm ON mm.from_code = m.code AND mm.valid_to IS NULL
      JOIN metering_points mp ON mp.code = mm.to_code
     WHERE m.code = ANY (meters) AND m.status <> 'retired'
       AND mp.status <> 'retired' AND mp.customer IS NOT NULL;
$$;

-- Every refresh first takes one lock, held until its transaction ends, and
-- only then looks at the tables. Two writers that touch the same chain
-- (one links a meter to a metering point while the other changes that
-- point's customer) would otherwise each miss the other's uncommitted row
-- and leave the old answer behind; in turn, the second one sees the first's
-- change committed and recomputes what both changed. Writes to these tables
-- are short, so queuing their last step costs little.
CREATE FUNCTION meter_reach_lock() RETURNS void
LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(hashtext('meter_reach'));
$$;

-- The triggers name their transition table "changed".
CREATE FUNCTION meter_reach_links_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM meter_reach_lock();
    PERFORM meter_reach_refresh(ARRAY(SELECT DISTINCT from_code FROM changed));
    RETURN NULL;
END $$;

CREATE FUNCTION meter_reach_meters_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM meter_reach_lock();
    PERFORM meter_reach_refresh(ARRAY(SELECT code FROM changed));
    RETURN NULL;
END $$;

CREATE FUNCTION meter_reach_points_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM meter_reach_lock();
    PERFORM meter_reach_refresh(ARRAY(
        SELECT mm.from_code FROM rel_meter_meteringpoint mm JOIN changed c ON mm.to_code = c.code
         WHERE mm.valid_to IS NULL));
    RETURN NULL;
END $$;

-- One trigger per event: PostgreSQL takes transition tables only on
-- single-event triggers. A link's ends never change (a move ends the link
-- and makes a new one), so the new rows of an update name the same meters
-- as the old.
CREATE TRIGGER meter_reach_ins AFTER INSERT ON rel_meter_meterbox
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION meter_reach_links_changed();
CREATE TRIGGER meter_reach_upd AFTER UPDATE ON rel_meter_meterbox
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION meter_reach_links_changed();
CREATE TRIGGER meter_reach_del AFTER DELETE ON rel_meter_meterbox
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION meter_reach_links_changed();
CREATE TRIGGER meter_reach_ins AFTER INSERT ON rel_meter_meteringpoint
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION meter_reach_links_changed();
CREATE TRIGGER meter_reach_upd AFTER UPDATE ON rel_meter_meteringpoint
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION meter_reach_links_changed();
CREATE TRIGGER meter_reach_del AFTER DELETE ON rel_meter_meteringpoint
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION meter_reach_links_changed();
CREATE TRIGGER meter_reach_upd AFTER UPDATE ON meters
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION meter_reach_meters_changed();
CREATE TRIGGER meter_reach_upd AFTER UPDATE ON metering_points
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION meter_reach_points_changed();

SELECT meter_reach_refresh(ARRAY(SELECT code FROM meters));
