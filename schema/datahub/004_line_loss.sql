-- Line loss 线损 per transformer area 台区 (DESIGN §11), from the readings
-- cust-svc publishes (schema/cust/015_readings_publication.sql).
--
-- Rows arrive as the partitioned table's own and land in one default
-- partition here: cust-svc makes its monthly partitions as imports need
-- them, and replication would stop at a month datahub had no partition
-- for. The reports ask by day, across all meters: readings arrive a day at
-- a time, so an index on day reads a day's rows from few pages.
CREATE TABLE readings_default PARTITION OF readings DEFAULT;
CREATE INDEX readings_day ON readings (day);

-- Each transformer area's billing meters: a live public transformer, the
-- access points of its area, their meter boxes, the meters in them and the
-- billing points they measure, of customers not retired. This is the
-- recorded 户变关系, right or wrong: the line loss is worked out on it, and
-- it is what report.suspect links question. Every link here names one
-- upstream object at most, so a meter is in one area at most.
CREATE VIEW report.area_meters AS
SELECT atr.to_code AS transformer, mp.customer, mt.code AS meter
  FROM rel_accesspoint_transformer atr
  JOIN transformers tr ON tr.code = atr.to_code AND tr.kind = 'public' AND tr.status <> 'retired'
  JOIN access_points ap ON ap.code = atr.from_code AND ap.status <> 'retired'
  JOIN rel_accesspoint_meterbox amb ON amb.from_code = ap.code AND amb.valid_to IS NULL
  JOIN meter_boxes mb ON mb.code = amb.to_code AND mb.status <> 'retired'
  JOIN rel_meter_meterbox mmb ON mmb.to_code = mb.code AND mmb.valid_to IS NULL
  JOIN meters mt ON mt.code = mmb.from_code AND mt.status <> 'retired'
  JOIN rel_meter_meteringpoint mm ON mm.from_code = mt.code AND mm.valid_to IS NULL
  JOIN metering_points mp ON mp.code = mm.to_code AND mp.status <> 'retired'
                         AND mp.purpose = 'billing'
  JOIN customers cu ON cu.code = mp.customer AND cu.status <> 'retired'
 WHERE atr.valid_to IS NULL;

-- Each transformer area's check meters 考核表: the live meters on its live
-- check metering points (equipment-meteringpoint). Usually one; an area
-- measured at two outlets has two, and its input is their sum.
CREATE VIEW report.area_check_meters AS
SELECT em.from_code AS transformer, mt.code AS meter
  FROM rel_equipment_meteringpoint em
  JOIN transformers tr ON tr.code = em.from_code AND tr.kind = 'public' AND tr.status <> 'retired'
  JOIN metering_points mp ON mp.code = em.to_code AND mp.status <> 'retired'
                         AND mp.purpose = 'check'
  JOIN rel_meter_meteringpoint mm ON mm.to_code = mp.code AND mm.valid_to IS NULL
  JOIN meters mt ON mt.code = mm.from_code AND mt.status <> 'retired'
 WHERE em.valid_to IS NULL;

-- The report's reader reads the readings through this view only.
CREATE VIEW report.readings AS SELECT meter, day, kwh FROM readings;
