-- The data middle platform's database (POSTGRES_DB makes it): the role cust-svc
-- reads the integration report as (DATAHUB_URL). It may only select from the
-- report's views; scripts/datahub.sh grants that once they exist.
CREATE ROLE datahub_reader LOGIN PASSWORD 'datahub-dev';
