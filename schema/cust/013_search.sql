-- Trigram indexes for GET /v1/search (common/engine/search.c): every column
-- searched as a substring (FF_SEARCH without FF_UNIQUE in cust-svc's
-- collections.c: the names) is matched with ILIKE '%q%', which a pg_trgm GIN
-- index serves once q has three characters or more. The database's locale
-- (C.UTF-8) counts Chinese characters as letters, so 上城1-1线 has trigrams; q
-- of one or two characters (湖墅) has none, and those read the table.
-- Account and asset numbers are matched exactly, through their unique
-- constraints. pg_trgm is a trusted extension: the database's owner may
-- create it. In public, where the datahub (scripts/datahub.sh) finds its
-- operator class too.
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;

CREATE INDEX customers_name_trgm ON customers USING gin (name gin_trgm_ops);
CREATE INDEX supply_points_name_trgm ON supply_points USING gin (name gin_trgm_ops);
CREATE INDEX metering_points_name_trgm ON metering_points USING gin (name gin_trgm_ops);
CREATE INDEX meter_boxes_name_trgm ON meter_boxes USING gin (name gin_trgm_ops);
CREATE INDEX backup_generators_name_trgm ON backup_generators USING gin (name gin_trgm_ops);
CREATE INDEX power_plants_name_trgm ON power_plants USING gin (name gin_trgm_ops);
CREATE INDEX generating_units_name_trgm ON generating_units USING gin (name gin_trgm_ops);
CREATE INDEX charging_piles_name_trgm ON charging_piles USING gin (name gin_trgm_ops);
