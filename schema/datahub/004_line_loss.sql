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
