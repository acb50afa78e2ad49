-- Work orders 工单: the high-voltage new connection 高压业扩新装 of the source
-- paper, moved step by step with POST /v1/work-orders/{code}/transitions
-- (cust-svc/workorders.c). The work order carries what each step decided and
-- the codes of what the steps created, on both platforms; the steps table
-- keeps each step's data and answer, so a retried step answers the same.
ALTER TABLE work_orders
    ADD COLUMN step text NOT NULL DEFAULT 'applied'
        CHECK (step IN ('applied', 'surveyed', 'planned', 'designed', 'scheduled', 'accepted',
                        'published', 'powered', 'archived', 'cancelled')),
    ADD COLUMN applicant            text,
    ADD COLUMN phone                text,
    ADD COLUMN address              text REFERENCES addresses (code),
    ADD COLUMN line                 text CHECK (left(line, 3) = 'LN-'),
    ADD COLUMN capacity_kva         double precision,
    ADD COLUMN voltage_kv           double precision,
    ADD COLUMN metering_plan        text,
    ADD COLUMN billing_plan         text,
    ADD COLUMN power_on_date        text,
    ADD COLUMN supply_point         text REFERENCES supply_points (code),
    ADD COLUMN transformer          text CHECK (left(transformer, 3) = 'TR-'),
    ADD COLUMN drawing_published_at text,
    ADD COLUMN metering_point       text REFERENCES metering_points (code),
    ADD COLUMN meter                text REFERENCES meters (code),
    ADD COLUMN billing              text REFERENCES transformer_billings (code);
CREATE INDEX work_orders_step ON work_orders (step);

CREATE TABLE work_order_steps (
    work_order text        NOT NULL REFERENCES work_orders (code),
    step       text        NOT NULL,
    at         timestamptz NOT NULL DEFAULT now(),
    app        text        NOT NULL,
    data       jsonb       NOT NULL,   -- what the step was given
    result     json        NOT NULL,   -- the answer, byte for byte: a retry gets the same
    PRIMARY KEY (work_order, step)
);
