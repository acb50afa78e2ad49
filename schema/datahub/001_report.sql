-- The integration report (营配贯通率) of the data middle platform (数据中台).
--
-- scripts/datahub.sh gives datahub each platform's tables as its own
-- migrations make them, and fills them by logical replication. Replication
-- matches tables by schema and name, and both platforms keep theirs in
-- public, so the replicated ones (whose names the two never share) sit in
-- public here too; the rest of each platform's schema (its bookkeeping)
-- stays in the schema of its name, grid or cust, unused. Both platforms'
-- data meet here, so a chain is followed across the boundary with joins
-- instead of peer requests. This file only reads them.
--
-- The rules, the same in every view:
--   * a link counts while it is current (valid_to IS NULL), whatever its
--     status; an object counts unless it is retired;
--   * a chain is walked upward from each active customer, through live
--     objects only: a retired meter is no meter, a retired line no line;
--   * where a link is kept by one platform and names the other's object
--     (accesspoint-meterbox, equipment-supplypoint, transformer-customer,
--     the billings, ...), an object that is missing or retired at the far
--     end is a cross-domain fault of its own: dangling_code or
--     retired_but_linked. It is not also a structural gap, so each fault is
--     reported once, under one kind.
CREATE SCHEMA report;

-- ---- upward from the grid ----------------------------------------------------------

-- Each live line and the live substations it hangs from (none: NULL). A
-- line with a source and a tie substation has a row for each.
CREATE VIEW report.line_up AS
SELECT ln.code AS line, ss.code AS substation
  FROM lines ln
  LEFT JOIN (rel_substation_line sl
             JOIN substations ss ON ss.code = sl.from_code AND ss.status <> 'retired')
         ON sl.to_code = ln.code AND sl.valid_to IS NULL
 WHERE ln.status <> 'retired';

CREATE VIEW report.transformer_up AS
SELECT tr.code AS transformer, tr.kind, lu.line, lu.substation
  FROM transformers tr
  LEFT JOIN (rel_line_transformer lt JOIN report.line_up lu ON lu.line = lt.from_code)
         ON lt.to_code = tr.code AND lt.valid_to IS NULL
 WHERE tr.status <> 'retired';

-- An access point's transformer area 台区, its line and substation.
CREATE VIEW report.access_point_up AS
SELECT ap.code AS access_point, tu.transformer, tu.line, tu.substation
  FROM access_points ap
  LEFT JOIN (rel_accesspoint_transformer atr
             JOIN report.transformer_up tu ON tu.transformer = atr.to_code)
         ON atr.from_code = ap.code AND atr.valid_to IS NULL
 WHERE ap.status <> 'retired';

-- A meter box (cust-svc's) up through grid-svc's accesspoint-meterbox link.
CREATE VIEW report.meter_box_up AS
SELECT mb.code AS meter_box, au.access_point, au.transformer, au.line, au.substation
  FROM meter_boxes mb
  LEFT JOIN (rel_accesspoint_meterbox amb
             JOIN report.access_point_up au ON au.access_point = amb.from_code)
         ON amb.to_code = mb.code AND amb.valid_to IS NULL
 WHERE mb.status <> 'retired';

-- What a supply point may be fed by: a substation, a line or a transformer.
CREATE VIEW report.equipment_up AS
SELECT code AS equipment, NULL::text AS transformer, NULL::text AS line, code AS substation
  FROM substations
 WHERE status <> 'retired'
UNION ALL
SELECT line, NULL, line, substation FROM report.line_up
UNION ALL
SELECT transformer, transformer, line, substation FROM report.transformer_up;

-- The grid objects a report may be scoped by, retired ones included (a
-- scope that names nothing is an error; one that names a retired object is
-- merely empty).
CREATE VIEW report.scopes AS
SELECT code, 'substation'::text AS level, status FROM substations
UNION ALL
SELECT code, 'line', status FROM lines
UNION ALL
SELECT code, 'transformer', status FROM transformers;

-- Where a grid object sits: the transformer area, line and substation
-- above it (itself included), as far as its links go. Broken links are
-- placed in a scope by the grid object they hang on.
CREATE VIEW report.grid_place AS
SELECT equipment AS code, transformer, line, substation FROM report.equipment_up
UNION ALL
SELECT access_point, transformer, line, substation FROM report.access_point_up;

-- ---- the whole chain of each active customer --------------------------------------------

CREATE VIEW report.active_customers AS
SELECT code, category FROM customers WHERE status = 'active';

-- Low voltage, 站-线-变-台-户: customer, metering point, meter, meter box,
-- access point, transformer area, line, substation. One row per live
-- metering point (a customer without one has a row of NULLs) and per
-- substation above it.
CREATE VIEW report.lv_chain AS
SELECT cu.code AS customer, cu.category, mp.code AS metering_point, mt.code AS meter,
       bu.meter_box, bu.access_point, bu.transformer, bu.line, bu.substation
  FROM report.active_customers cu
  LEFT JOIN metering_points mp ON mp.customer = cu.code AND mp.status <> 'retired'
  LEFT JOIN (rel_meter_meteringpoint mm
             JOIN meters mt ON mt.code = mm.from_code AND mt.status <> 'retired')
         ON mm.to_code = mp.code AND mm.valid_to IS NULL
  LEFT JOIN (rel_meter_meterbox mmb JOIN report.meter_box_up bu ON bu.meter_box = mmb.to_code)
         ON mmb.from_code = mt.code AND mmb.valid_to IS NULL
 WHERE cu.category <> 'hv';

-- High voltage: customer, supply point, the equipment feeding it, then on
-- up to the substation. One row per live supply point.
CREATE VIEW report.hv_chain AS
SELECT cu.code AS customer, cu.category, sp.code AS supply_point, eu.equipment, eu.transformer,
       eu.line, eu.substation
  FROM report.active_customers cu
  LEFT JOIN supply_points sp ON sp.customer = cu.code AND sp.status <> 'retired'
  LEFT JOIN (rel_equipment_supplypoint es JOIN report.equipment_up eu ON eu.equipment = es.from_code)
         ON es.to_code = sp.code AND es.valid_to IS NULL
 WHERE cu.category = 'hv';

-- Both, one shape. A chain is complete when it reaches a substation. Where
-- it stops on the customer's side of the meter box or the supply point's
-- equipment, break_kind, break_code and break_other name the broken link
-- (the breaks above are the grid's, found object by object in grid_breaks,
-- whether customers hang below them or not).
CREATE VIEW report.chains AS
SELECT customer, category, metering_point, meter, meter_box, access_point,
       NULL::text AS supply_point, NULL::text AS equipment, transformer, line, substation,
       substation IS NOT NULL AS complete,
       CASE WHEN metering_point IS NULL THEN 'customer_without_metering_point'
            WHEN meter IS NULL THEN 'metering_point_without_meter'
            WHEN meter_box IS NULL THEN 'meter_without_box' END AS break_kind,
       CASE WHEN metering_point IS NULL THEN customer
            WHEN meter IS NULL THEN metering_point
            WHEN meter_box IS NULL THEN meter END AS break_code,
       CASE WHEN metering_point IS NULL THEN NULL
            WHEN meter IS NULL THEN customer
            WHEN meter_box IS NULL THEN metering_point END AS break_other
  FROM report.lv_chain
UNION ALL
SELECT customer, category, NULL, NULL, NULL, NULL, supply_point, equipment, transformer, line,
       substation, substation IS NOT NULL,
       CASE WHEN supply_point IS NULL THEN 'customer_without_supply_point'
            WHEN equipment IS NULL THEN 'supply_point_without_equipment' END,
       CASE WHEN supply_point IS NULL THEN customer WHEN equipment IS NULL THEN supply_point END,
       CASE WHEN supply_point IS NOT NULL AND equipment IS NULL THEN customer END
  FROM report.hv_chain;

-- Where each active customer's chains start: its live metering points (low
-- voltage) or supply points (high voltage). A customer with one start has
-- one chain, forking at most where its line hangs from several substations,
-- and then all its rows are complete or none is.
CREATE VIEW report.chain_starts AS
SELECT mp.customer, mp.code
  FROM metering_points mp JOIN report.active_customers cu ON cu.code = mp.customer
 WHERE mp.status <> 'retired' AND cu.category <> 'hv'
UNION ALL
SELECT sp.customer, sp.code
  FROM supply_points sp JOIN report.active_customers cu ON cu.code = sp.customer
 WHERE sp.status <> 'retired' AND cu.category = 'hv';

-- Each active customer once: complete when every one of its chains is.
CREATE VIEW report.customer_status AS
SELECT customer, category, bool_and(complete) AS complete
  FROM report.chains
 GROUP BY customer, category;

-- ---- the rate by substation, line and transformer area ------------------------------------

-- A customer counts under every substation (line, transformer) its chains
-- reach, complete or not as customer_status says. A chain broken below a
-- level cannot be placed under it: such customers count in the whole
-- city's figures only.
CREATE VIEW report.rates AS
SELECT p.level, p.code, count(DISTINCT p.customer) AS customers,
       count(DISTINCT p.customer) FILTER (WHERE s.complete) AS complete,
       round(count(DISTINCT p.customer) FILTER (WHERE s.complete)::numeric
             / count(DISTINCT p.customer), 4) AS rate
  FROM report.chains c
 CROSS JOIN LATERAL (VALUES ('substation', c.substation, c.customer),
                            ('line', c.line, c.customer),
                            ('transformer', c.transformer, c.customer)) p (level, code, customer)
  JOIN report.customer_status s ON s.customer = p.customer
 WHERE p.code IS NOT NULL
 GROUP BY p.level, p.code;

-- ---- broken links --------------------------------------------------------------------------

-- Codes kept by one platform that name the other's objects, with what the
-- far end is: its status, or NULL when no such object exists there.
-- holder is the object (or link's from end) that names it.
CREATE VIEW report.cross_refs AS
SELECT r.from_code AS holder, r.to_code AS named, o.status
  FROM rel_accesspoint_meterbox r LEFT JOIN meter_boxes o ON o.code = r.to_code
 WHERE r.valid_to IS NULL
UNION ALL
SELECT r.from_code, r.to_code, o.status
  FROM rel_meterboxresource_meterbox r LEFT JOIN meter_boxes o ON o.code = r.to_code
 WHERE r.valid_to IS NULL
UNION ALL
SELECT r.from_code, r.to_code, o.status
  FROM rel_equipment_supplypoint r LEFT JOIN supply_points o ON o.code = r.to_code
 WHERE r.valid_to IS NULL
UNION ALL
SELECT r.from_code, r.to_code, o.status
  FROM rel_transformer_customer r LEFT JOIN customers o ON o.code = r.to_code
 WHERE r.valid_to IS NULL
UNION ALL
SELECT r.from_code, r.to_code, o.status
  FROM rel_equipment_meteringpoint r LEFT JOIN metering_points o ON o.code = r.to_code
 WHERE r.valid_to IS NULL
UNION ALL
SELECT b.code, b.line, o.status
  FROM line_billings b LEFT JOIN lines o ON o.code = b.line
 WHERE b.status <> 'retired'
UNION ALL
SELECT b.code, b.transformer, o.status
  FROM transformer_billings b LEFT JOIN transformers o ON o.code = b.transformer
 WHERE b.status <> 'retired';

-- The grid's broken links, object by object, and the cross-domain ones:
-- kind, the code at fault, the other code it concerns (or NULL), and
-- anchor, the grid object that places it in a scope through
-- report.grid_place (NULL: it cannot be placed).
CREATE VIEW report.grid_breaks AS
SELECT 'box_without_access_point'::text AS kind, meter_box AS code, NULL::text AS other,
       NULL::text AS anchor
  FROM report.meter_box_up
 WHERE access_point IS NULL
UNION ALL
SELECT 'access_point_without_transformer_area', access_point, NULL, NULL
  FROM report.access_point_up
 WHERE transformer IS NULL
UNION ALL
SELECT 'transformer_without_line', transformer, NULL, transformer
  FROM report.transformer_up
 WHERE line IS NULL
UNION ALL
SELECT 'line_without_substation', line, NULL, line
  FROM report.line_up
 WHERE substation IS NULL
UNION ALL
SELECT 'dedicated_transformer_without_customer', tr.code, NULL, tr.code
  FROM transformers tr
 WHERE tr.kind = 'dedicated' AND tr.status <> 'retired'
   AND NOT EXISTS (SELECT 1 FROM rel_transformer_customer tc
                    WHERE tc.from_code = tr.code AND tc.valid_to IS NULL)
UNION ALL
SELECT CASE WHEN status IS NULL THEN 'dangling_code' ELSE 'retired_but_linked' END, named,
       holder, holder
  FROM report.cross_refs
 WHERE status IS NULL OR status = 'retired';

-- Every broken link, once: the chains' and the grid's. Those of the
-- chains cannot be placed in a scope: the chain stops below the grid.
CREATE VIEW report.broken_links AS
SELECT DISTINCT break_kind AS kind, break_code AS code, break_other AS other, NULL::text AS anchor
  FROM report.chains
 WHERE break_kind IS NOT NULL
UNION ALL
SELECT kind, code, other, anchor FROM report.grid_breaks;

-- ---- how fresh -------------------------------------------------------------------------------

-- Each subscription of this database: whether its worker is streaming, when
-- its platform last sent a message (data or keep-alive: everything that
-- platform committed before then has arrived, give or take the apply), when
-- it arrived, and how many tables are still in their first copy.
CREATE VIEW report.freshness AS
SELECT s.subname AS subscription, st.pid IS NOT NULL AS streaming,
       st.last_msg_send_time AS last_message_sent_at,
       st.last_msg_receipt_time AS last_message_received_at,
       st.latest_end_time AS latest_end_at,
       (SELECT count(*) FROM pg_subscription_rel r
         WHERE r.srsubid = s.oid AND r.srsubstate <> 'r') AS tables_copying
  FROM pg_subscription s
  LEFT JOIN pg_stat_subscription st ON st.subid = s.oid AND st.relid IS NULL
 WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database());
