-- A line is joined up through the substation that energises it now
-- (DESIGN §9), not through every substation it touches: a tie substation
-- (a substation-line link with role tie and no switch) feeds nothing, a
-- link whose switch is open feeds nothing, and a line transferred through a
-- closed tie (转供) is fed from the substation of the line it is tied to.
-- grid-svc keeps that in line_feeds as it changes; a line it names no
-- substation for has a row with NULL: line_without_substation. The same
-- shape as 001's view, so that a report scoped by a substation still finds
-- its lines by index.
CREATE OR REPLACE VIEW report.line_up AS
SELECT ln.code AS line, ss.code AS substation
  FROM lines ln
  LEFT JOIN (line_feeds lf
             JOIN substations ss ON ss.code = lf.substation AND ss.status <> 'retired')
         ON lf.line = ln.code
 WHERE ln.status <> 'retired';
