-- The grid as it is operated (DESIGN §9): the switch that makes or breaks a
-- link, ties between lines, and what an outage cuts of the meshed part.

-- A link may name its switch; a switch makes or breaks one current link of
-- each relation at most.
ALTER TABLE rel_substation_line ADD COLUMN switch text REFERENCES switches (code);
ALTER TABLE rel_line_transformer ADD COLUMN switch text REFERENCES switches (code);
CREATE UNIQUE INDEX rel_substation_line_switch ON rel_substation_line (switch)
    WHERE valid_to IS NULL AND switch IS NOT NULL;
CREATE UNIQUE INDEX rel_line_transformer_switch ON rel_line_transformer (switch)
    WHERE valid_to IS NULL AND switch IS NOT NULL;

-- A tie 联络 between two lines, always through a switch.
CREATE TABLE rel_line_line (
    LIKE grid_link INCLUDING ALL,
    switch text NOT NULL REFERENCES switches (code),
    FOREIGN KEY (from_code) REFERENCES lines (code),
    FOREIGN KEY (to_code) REFERENCES lines (code),
    CHECK (from_code <> to_code)
);
CREATE UNIQUE INDEX rel_line_line_current ON rel_line_line (from_code, to_code)
    WHERE valid_to IS NULL;
CREATE INDEX rel_line_line_to ON rel_line_line (to_code) WHERE valid_to IS NULL;
CREATE UNIQUE INDEX rel_line_line_switch ON rel_line_line (switch) WHERE valid_to IS NULL;

-- Whether a switch is open in a state: its normal position (常开/常闭) or
-- its position now.
CREATE FUNCTION switch_open(sw switches, normal boolean) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS $$ SELECT CASE WHEN normal THEN sw.normal_open ELSE sw.current_open END $$;

-- The closed ties between operational lines of region in a state, each
-- way, leaving out those whose switch is out (gone). region holds every
-- line a closed tie joins to one of it.
CREATE FUNCTION closed_ties(region text[], normal boolean, gone text[])
    RETURNS TABLE (line text, other text) LANGUAGE sql STABLE AS $$
    SELECT e.line, e.other
      FROM rel_line_line ll
      JOIN switches s ON s.code = ll.switch
     CROSS JOIN LATERAL (VALUES (ll.from_code, ll.to_code), (ll.to_code, ll.from_code)) e (line, other)
     WHERE ll.from_code = ANY (region) AND ll.valid_to IS NULL AND ll.status = 'operational'
       AND NOT switch_open(s, normal) AND NOT (ll.switch = ANY (gone))
$$;

-- The lines joined to those of seed by current ties, open or closed,
-- however far, and seed's own: where energisation around them is decided.
CREATE FUNCTION tie_region(seed text[]) RETURNS text[] LANGUAGE sql STABLE AS $$
    SELECT ARRAY(
        WITH RECURSIVE reach (code) AS (
            SELECT unnest(seed)
            UNION
            SELECT CASE WHEN ll.from_code = r.code THEN ll.to_code ELSE ll.from_code END
              FROM reach r
              JOIN rel_line_line ll ON (ll.from_code = r.code OR ll.to_code = r.code)
                                   AND ll.valid_to IS NULL
        ) SELECT code FROM reach)
$$;

-- The lines joined to those of seed by ties closed in a state, however
-- far, and seed's own, passing no tie whose switch is out (gone).
CREATE FUNCTION closed_reach(seed text[], normal boolean, gone text[]) RETURNS text[]
    LANGUAGE sql STABLE AS $$
    SELECT ARRAY(
        WITH RECURSIVE reach (code) AS (
            SELECT unnest(seed)
            UNION
            SELECT CASE WHEN ll.from_code = r.code THEN ll.to_code ELSE ll.from_code END
              FROM reach r
              JOIN rel_line_line ll ON (ll.from_code = r.code OR ll.to_code = r.code)
                                   AND ll.valid_to IS NULL AND ll.status = 'operational'
              JOIN switches s ON s.code = ll.switch
             WHERE NOT switch_open(s, normal) AND NOT (ll.switch = ANY (gone))
        ) SELECT code FROM reach)
$$;

-- What an outage cuts of the meshed part of the grid (substations, lines and
-- the ties between them), where loops may close: with the objects named
-- taken out, and what stands in a named station room with them, a line is
-- energised while closed links through operational objects that are not out
-- connect it to a substation that is not. Rows:
--   ('cut', code, component)  a line the outage cuts, not itself named, and
--                             the lines cut together with it (the least
--                             code of those its closed ties join it to);
--   ('cut', code, NULL)       a transformer cut by a switch that is out, or
--                             standing in a named station room;
--   ('restore', switch, component)  an open switch that is not out, between
--                             an energised substation or line and a cut line:
--                             closing it restores that component (转供).
-- The walk below them, radial, is the daemons' (common/topology). Only the
-- lines tied to those the outage touches are read, each by index.
CREATE FUNCTION outage_cut(named text[], normal boolean)
    RETURNS TABLE (what text, code text, component text) LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    gone   text[]; -- out: the named objects and the contents of named station rooms
    seed   text[]; -- lines the outage touches: named, or linked to what is out
    near   text[]; -- seed and the lines closed ties join to it: those it may cut
    region text[]; -- near, the lines tied to it open or closed, and those closed ties join
                   -- to them: energisation around near is decided within it
    live   text[]; -- lines of region energised with gone out
    cut    text[];
BEGIN
    gone := named
        || ARRAY(SELECT t.code FROM transformers t WHERE t.station_room = ANY (named))
        || ARRAY(SELECT s.code FROM switches s WHERE s.station_room = ANY (named));
    seed := ARRAY(
        SELECT l.code FROM lines l WHERE l.code = ANY (named)
        UNION
        SELECT sl.to_code FROM rel_substation_line sl
         WHERE sl.valid_to IS NULL AND sl.from_code = ANY (gone)
        UNION
        SELECT sl.to_code FROM rel_substation_line sl
         WHERE sl.valid_to IS NULL AND sl.switch = ANY (gone)
        UNION
        SELECT e.x FROM rel_line_line ll
         CROSS JOIN LATERAL (VALUES (ll.from_code), (ll.to_code)) e (x)
         WHERE ll.valid_to IS NULL AND ll.switch = ANY (gone));
    near := CASE WHEN cardinality(seed) > 0 THEN closed_reach(seed, normal, gone) ELSE '{}' END;
    -- Most outages name lines that closed ties join to nothing else: then
    -- nothing is cut but what is named, and nothing more is read.
    IF EXISTS (SELECT 1 FROM unnest(near) x WHERE NOT (x = ANY (gone))) THEN
        region := closed_reach(near || ARRAY(
            SELECT ll.to_code FROM rel_line_line ll WHERE ll.from_code = ANY (near) AND ll.valid_to IS NULL
            UNION
            SELECT ll.from_code FROM rel_line_line ll WHERE ll.to_code = ANY (near) AND ll.valid_to IS NULL),
            normal, gone);
        live := ARRAY(
            WITH RECURSIVE ct AS MATERIALIZED (SELECT * FROM closed_ties(region, normal, gone)),
            fed (code) AS (
                SELECT sl.to_code
                  FROM rel_substation_line sl
                  JOIN substations ss ON ss.code = sl.from_code AND ss.status = 'operational'
                  JOIN lines l ON l.code = sl.to_code AND l.status = 'operational'
                  LEFT JOIN switches s ON s.code = sl.switch
                 WHERE sl.valid_to IS NULL AND sl.status = 'operational'
                   AND sl.to_code = ANY (region)
                   AND NOT (sl.from_code = ANY (gone)) AND NOT (sl.to_code = ANY (gone))
                   AND CASE WHEN sl.switch IS NULL THEN sl.role <> 'tie'
                            ELSE NOT (sl.switch = ANY (gone)) AND NOT switch_open(s, normal) END
                UNION
                SELECT t.other FROM fed f
                  JOIN ct t ON t.line = f.code
                  JOIN lines l ON l.code = t.other AND l.status = 'operational'
                 WHERE NOT (t.other = ANY (gone))
            ) SELECT code FROM fed);
        cut := ARRAY(SELECT x FROM unnest(near) x
                      WHERE NOT (x = ANY (live)) AND NOT (x = ANY (gone)));
    ELSE
        region := '{}';
        cut := '{}';
    END IF;
    IF cardinality(cut) = 0 THEN
        RETURN QUERY
            SELECT 'cut'::text, lt.to_code, NULL::text FROM rel_line_transformer lt
             WHERE lt.valid_to IS NULL AND lt.switch = ANY (gone)
            UNION ALL
            SELECT 'cut', x, NULL FROM unnest(gone) x WHERE left(x, 2) = 'TR' AND NOT (x = ANY (named));
        RETURN;
    END IF;
    RETURN QUERY
        WITH RECURSIVE ct AS MATERIALIZED (SELECT * FROM closed_ties(region, normal, gone)),
        joined (code, root) AS (
            SELECT x, x FROM unnest(cut) x
            UNION
            SELECT t.other, j.root FROM joined j
              JOIN ct t ON t.line = j.code
             WHERE t.other = ANY (cut)
        ), comp AS (
            SELECT j.code, min(j.root) AS root FROM joined j GROUP BY j.code
        ), restore AS (
            SELECT sl.switch, c.root
              FROM rel_substation_line sl
              JOIN comp c ON c.code = sl.to_code
              JOIN switches s ON s.code = sl.switch
              JOIN substations ss ON ss.code = sl.from_code AND ss.status = 'operational'
             WHERE sl.valid_to IS NULL AND sl.status = 'operational' AND switch_open(s, normal)
               AND NOT (sl.switch = ANY (gone)) AND NOT (sl.from_code = ANY (gone))
            UNION
            SELECT ll.switch, c.root
              FROM rel_line_line ll
              JOIN switches s ON s.code = ll.switch
              JOIN comp c ON c.code IN (ll.from_code, ll.to_code)
             WHERE ll.valid_to IS NULL AND ll.status = 'operational' AND switch_open(s, normal)
               AND NOT (ll.switch = ANY (gone))
               AND CASE WHEN c.code = ll.from_code THEN ll.to_code ELSE ll.from_code END = ANY (live)
        )
        SELECT 'cut'::text, c.code, c.root FROM comp c
        UNION ALL
        SELECT 'cut', lt.to_code, NULL FROM rel_line_transformer lt
         WHERE lt.valid_to IS NULL AND lt.switch = ANY (gone)
        UNION ALL
        SELECT 'cut', x, NULL FROM unnest(gone) x WHERE left(x, 2) = 'TR' AND NOT (x = ANY (named))
        UNION ALL
        SELECT 'restore', r.switch, r.root FROM restore r;
END
$$;

-- Which substations energise each line now (DESIGN §9): through a closed
-- source link, or through closed ties from a line so fed (转供). Kept up to
-- date in the transaction of every change that can alter it, so that
-- readers (the datahub's integration report, which receives it by
-- replication) join a table instead of walking ties. Live objects and links
-- count, as the report counts them.
CREATE TABLE line_feeds (
    line       text NOT NULL,
    substation text NOT NULL,
    PRIMARY KEY (line, substation)
);
CREATE INDEX line_feeds_substation ON line_feeds (substation);

-- Which substations feed the lines of region now, found by index. region
-- must hold every line a current tie joins to one of it, so that what
-- feeds them is found within it.
CREATE FUNCTION line_feeds_of(region text[]) RETURNS TABLE (line text, substation text)
    LANGUAGE sql STABLE AS $$
    WITH RECURSIVE ties (line, other) AS (
        SELECT e.line, e.other
          FROM rel_line_line ll
          JOIN switches s ON s.code = ll.switch AND NOT s.current_open
         CROSS JOIN LATERAL (VALUES (ll.from_code, ll.to_code), (ll.to_code, ll.from_code))
               e (line, other)
         WHERE ll.valid_to IS NULL AND ll.status <> 'retired' AND ll.from_code = ANY (region)
    ), fed (line, substation) AS (
        SELECT sl.to_code, sl.from_code
          FROM rel_substation_line sl
          JOIN substations ss ON ss.code = sl.from_code AND ss.status <> 'retired'
          JOIN lines l ON l.code = sl.to_code AND l.status <> 'retired'
          LEFT JOIN switches s ON s.code = sl.switch
         WHERE sl.valid_to IS NULL AND sl.status <> 'retired' AND sl.to_code = ANY (region)
           AND CASE WHEN sl.switch IS NULL THEN sl.role <> 'tie' ELSE NOT s.current_open END
        UNION
        SELECT t.other, f.substation
          FROM fed f
          JOIN ties t ON t.line = f.line
          JOIN lines l ON l.code = t.other AND l.status <> 'retired'
    ) SELECT line, substation FROM fed
$$;

-- The same for every line: what line_feeds must hold.
CREATE FUNCTION line_feeds_now() RETURNS TABLE (line text, substation text)
    LANGUAGE sql STABLE AS $$ SELECT * FROM line_feeds_of(ARRAY(SELECT code FROM lines)) $$;

-- Brings line_feeds up to date for the lines a change touched: what feeds
-- a line can change only when a line joined to it by a current tie, open or
-- closed, however far, is touched; so that much is found again, and only
-- the rows that differ are written. One refresh at a time: each reads what
-- the one before committed (a statement in PL/pgSQL takes its own
-- snapshot), so two operations at once cannot leave it as neither sees it.
CREATE FUNCTION line_feeds_refresh(touched text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    region text[];
BEGIN
    IF coalesce(cardinality(touched), 0) = 0 THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('line_feeds'));
    region := tie_region(touched);
    WITH now AS MATERIALIZED (SELECT * FROM line_feeds_of(region)),
    gone AS (
        DELETE FROM line_feeds f
         WHERE f.line = ANY (region)
           AND NOT EXISTS (SELECT 1 FROM now n WHERE n.line = f.line AND n.substation = f.substation)
    )
    INSERT INTO line_feeds (line, substation) SELECT n.line, n.substation FROM now n
        ON CONFLICT DO NOTHING;
END
$$;

-- The lines each kind of change touches, from its rows (transition table
-- "changed"): a switch, the lines of the links it makes; a source link, its
-- line; a tie, both; a line, itself; a substation, the lines it links to.
CREATE FUNCTION line_feeds_after_switches() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM line_feeds_refresh(ARRAY(
        SELECT sl.to_code FROM rel_substation_line sl JOIN changed c ON c.code = sl.switch
         WHERE sl.valid_to IS NULL
        UNION
        SELECT e.x FROM rel_line_line ll JOIN changed c ON c.code = ll.switch
         CROSS JOIN LATERAL (VALUES (ll.from_code), (ll.to_code)) e (x)
         WHERE ll.valid_to IS NULL));
    RETURN NULL;
END
$$;

CREATE FUNCTION line_feeds_after_sources() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM line_feeds_refresh(ARRAY(SELECT DISTINCT to_code FROM changed));
    RETURN NULL;
END
$$;

CREATE FUNCTION line_feeds_after_ties() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM line_feeds_refresh(ARRAY(SELECT from_code FROM changed UNION SELECT to_code FROM changed));
    RETURN NULL;
END
$$;

CREATE FUNCTION line_feeds_after_lines() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM line_feeds_refresh(ARRAY(SELECT code FROM changed));
    RETURN NULL;
END
$$;

CREATE FUNCTION line_feeds_after_substations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM line_feeds_refresh(ARRAY(
        SELECT DISTINCT sl.to_code FROM rel_substation_line sl JOIN changed c ON c.code = sl.from_code
         WHERE sl.valid_to IS NULL));
    RETURN NULL;
END
$$;

-- A trigger with transition tables takes one kind of event: one per kind.
CREATE TRIGGER line_feeds_switches AFTER UPDATE ON switches REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION line_feeds_after_switches();
CREATE TRIGGER line_feeds_sources_added AFTER INSERT ON rel_substation_line
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION line_feeds_after_sources();
CREATE TRIGGER line_feeds_sources_changed AFTER UPDATE ON rel_substation_line
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION line_feeds_after_sources();
CREATE TRIGGER line_feeds_ties_added AFTER INSERT ON rel_line_line
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION line_feeds_after_ties();
CREATE TRIGGER line_feeds_ties_changed AFTER UPDATE ON rel_line_line
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION line_feeds_after_ties();
CREATE TRIGGER line_feeds_lines AFTER UPDATE ON lines REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION line_feeds_after_lines();
CREATE TRIGGER line_feeds_substations AFTER UPDATE ON substations REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION line_feeds_after_substations();
