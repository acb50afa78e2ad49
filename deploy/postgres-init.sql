-- The two platforms' databases on the compose stack's PostgreSQL, as
-- scripts/pg.sh makes them on a local cluster: each service owns its own.
-- Development passwords, like the dev-* keys in config/apps.dev.json.
CREATE ROLE grid_svc LOGIN PASSWORD 'grid-dev';
CREATE ROLE cust_svc LOGIN PASSWORD 'cust-dev';
CREATE DATABASE grid OWNER grid_svc;
CREATE DATABASE cust OWNER cust_svc;
-- What the data middle platform's subscriptions connect as (docker-compose.yml,
-- datahub-setup grants it SELECT on the published tables).
CREATE ROLE datahub_repl LOGIN REPLICATION PASSWORD 'datahub-dev';
