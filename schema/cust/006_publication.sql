-- What the data middle platform (数据中台, the datahub database) receives
-- from this platform by PostgreSQL's logical replication: every object and
-- link table, as committed. The bookkeeping (changes, events, idempotency
-- keys, the steps of work orders) stays here.
--
-- FOR TABLE, not FOR ALL TABLES: the owner of the tables may create it,
-- no superuser needed, and only what is declared is published: a
-- collection or relation declared later joins it when the daemon starts
-- (common/model/catalogue_check.c), once its own migration has made its
-- table. scripts/datahub.sh subscribes to it and never applies
-- this file (nor any *_publication.sql) to the datahub's copy of the schema.
CREATE PUBLICATION cust_datahub FOR TABLE
    addresses, customers, supply_points, metering_points, meter_boxes, meters, line_billings,
    transformer_billings, backup_generators, power_plants, generating_units, charging_piles,
    work_orders, rel_supplypoint_meteringpoint, rel_meter_meterbox, rel_meter_meteringpoint;
