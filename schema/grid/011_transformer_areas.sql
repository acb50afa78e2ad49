-- The transformer area 台区 of customer-side objects (DESIGN §10): for each
-- meter box, supply point, metering point or customer asked, the grid object
-- that feeds it now (its access point, its equipment, its dedicated
-- transformer) and the transformer whose area that is. An outage's frozen
-- list names each customer's area, and a customer whose supply point has a
-- feeder the outage does not cut keeps supply (backup). Current links only:
-- the list is of the grid as it is when the outage is announced.
CREATE FUNCTION transformer_areas(codes text[])
RETURNS TABLE (code text, feeder text, transformer text, transformer_name text)
LANGUAGE sql STABLE AS $$
    WITH asked AS (SELECT DISTINCT unnest(codes) AS code),
    fed AS (
        SELECT a.code, l.from_code AS feeder FROM asked a
          JOIN rel_accesspoint_meterbox l ON l.to_code = a.code AND l.valid_to IS NULL
        UNION ALL
        SELECT a.code, l.from_code FROM asked a
          JOIN rel_equipment_supplypoint l ON l.to_code = a.code AND l.valid_to IS NULL
        UNION ALL
        SELECT a.code, l.from_code FROM asked a
          JOIN rel_equipment_meteringpoint l ON l.to_code = a.code AND l.valid_to IS NULL
        UNION ALL
        SELECT a.code, l.from_code FROM asked a
          JOIN rel_transformer_customer l ON l.to_code = a.code AND l.valid_to IS NULL
    )
    SELECT f.code, f.feeder, t.code, t.name
      FROM fed f
      LEFT JOIN rel_accesspoint_transformer at ON at.from_code = f.feeder AND at.valid_to IS NULL
      LEFT JOIN transformers t ON t.code = coalesce(at.to_code, f.feeder)
$$;
