-- Meter readings 采集 (DESIGN §11): each meter's energy of one day, as the
-- collection system freezes it at midnight (日冻结电量), imported by
-- POST /v1/readings:import and read by GET /v1/meters/{code}/readings.
--
-- One row per meter and day. A day imported again replaces the value (a
-- corrected reading is re-sent, not added). Partitioned by month: a city's
-- readings grow by a million rows a day, and what is asked is always a span
-- of days, so a month that is asked for is one partition and an old month
-- is dropped or archived whole. The import makes the partitions of the
-- months it brings (readings_months); there is no default partition here,
-- so a row never lands somewhere no one looks.
--
-- No foreign key to meters: the import confirms every meter it names, batch
-- by batch, as other imports confirm their codes, and a trigger per row
-- would cost the thirty million rows of a city's month their speed.
CREATE TABLE readings (
    meter       text          NOT NULL,
    day         date          NOT NULL,
    kwh         numeric(12,3) NOT NULL CHECK (kwh >= 0 AND kwh <= 1000000),
    imported_at timestamptz   NOT NULL DEFAULT now(),
    imported_by text          NOT NULL,
    PRIMARY KEY (meter, day)
) PARTITION BY RANGE (day);

-- Makes the monthly partitions readings_YYYY_MM covering days first..last
-- that do not exist yet. Concurrent imports queue on one lock, so the
-- second finds the first's partition instead of failing to create it.
CREATE FUNCTION readings_months(first date, last date) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    m date := date_trunc('month', first)::date;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('readings_months'));
    WHILE m <= last LOOP
        IF to_regclass(format('readings_%s', to_char(m, 'YYYY_MM'))) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF readings FOR VALUES FROM (%L) TO (%L)',
                           format('readings_%s', to_char(m, 'YYYY_MM')), m,
                           (m + interval '1 month')::date);
        END IF;
        m := (m + interval '1 month')::date;
    END LOOP;
END $$;

-- A transformer area's check meter 考核表 sits on a metering point of
-- purpose check, linked to the transformer (equipment-meteringpoint); it
-- measures the area for the utility and serves no customer. A billing
-- point still names the customer it bills.
ALTER TABLE metering_points ALTER COLUMN customer DROP NOT NULL;
ALTER TABLE metering_points ADD CONSTRAINT metering_points_customer_needed
    CHECK (customer IS NOT NULL OR purpose = 'check');
