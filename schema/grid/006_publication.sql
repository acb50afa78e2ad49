-- What the data middle platform (数据中台, the datahub database) receives
-- from this platform by PostgreSQL's logical replication: every object and
-- link table, as committed. The bookkeeping (changes, events, idempotency
-- keys, drawings) stays here: the datahub answers questions about the grid
-- and its customers, not about this platform's own workings.
--
-- FOR TABLE, not FOR ALL TABLES: the owner of the tables may create it,
-- no superuser needed, and only what is declared is published: a
-- collection or relation declared later joins it when the daemon starts
-- (common/model/catalogue_check.c), once its own migration has made its
-- table. scripts/datahub.sh subscribes to it and never applies
-- this file (nor any *_publication.sql) to the datahub's copy of the schema.
CREATE PUBLICATION grid_datahub FOR TABLE
    substations, lines, station_rooms, transformers, poles, access_points, meter_box_resources,
    rel_substation_line, rel_line_transformer, rel_accesspoint_transformer,
    rel_accesspoint_meterbox, rel_meterboxresource_meterbox, rel_equipment_supplypoint,
    rel_transformer_customer, rel_equipment_meteringpoint;
