-- Trigram indexes for GET /v1/search (common/engine/search.c): every column
-- searched as a substring (FF_SEARCH without FF_UNIQUE in grid-svc's
-- collections.c: the names) is matched with ILIKE '%q%', which a pg_trgm GIN
-- index serves once q has three characters or more. The database's locale
-- (C.UTF-8) counts Chinese characters as letters, so 上城1-1线 has trigrams; q
-- of one or two characters (湖墅) has none, and those read the table.
-- pg_trgm is a trusted extension: the database's owner may create it. In
-- public, where the datahub (scripts/datahub.sh) finds its operator class too.
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;

CREATE INDEX substations_name_trgm ON substations USING gin (name gin_trgm_ops);
CREATE INDEX lines_name_trgm ON lines USING gin (name gin_trgm_ops);
CREATE INDEX transformers_name_trgm ON transformers USING gin (name gin_trgm_ops);
CREATE INDEX station_rooms_name_trgm ON station_rooms USING gin (name gin_trgm_ops);
CREATE INDEX poles_name_trgm ON poles USING gin (name gin_trgm_ops);
CREATE INDEX access_points_name_trgm ON access_points USING gin (name gin_trgm_ops);
CREATE INDEX meter_box_resources_name_trgm ON meter_box_resources USING gin (name gin_trgm_ops);
CREATE INDEX switches_name_trgm ON switches USING gin (name gin_trgm_ops);
