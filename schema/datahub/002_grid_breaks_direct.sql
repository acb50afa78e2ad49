-- report.grid_breaks as 001 has it, but a box without an access point and an
-- access point without a transformer area are asked directly: a live object
-- with no current link to a live one above. 001 found them as the rows of
-- meter_box_up and access_point_up that stop there, after walking every box
-- and access point of the city up to its substation; the whole-city report
-- spent a tenth of its time on that.
CREATE OR REPLACE VIEW report.grid_breaks AS
SELECT 'box_without_access_point'::text AS kind, mb.code, NULL::text AS other,
       NULL::text AS anchor
  FROM meter_boxes mb
 WHERE mb.status <> 'retired'
   AND NOT EXISTS (SELECT 1 FROM rel_accesspoint_meterbox amb
                     JOIN access_points ap ON ap.code = amb.from_code AND ap.status <> 'retired'
                    WHERE amb.to_code = mb.code AND amb.valid_to IS NULL)
UNION ALL
SELECT 'access_point_without_transformer_area', ap.code, NULL, NULL
  FROM access_points ap
 WHERE ap.status <> 'retired'
   AND NOT EXISTS (SELECT 1 FROM rel_accesspoint_transformer atr
                     JOIN transformers tr ON tr.code = atr.to_code AND tr.status <> 'retired'
                    WHERE atr.from_code = ap.code AND atr.valid_to IS NULL)
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
