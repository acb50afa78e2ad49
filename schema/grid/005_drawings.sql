-- Drawings of work orders (grid-svc/drawings.c). The design step of a
-- high-voltage new connection draws the dedicated transformer and its links
-- in `design` status, the red drawing 红图; publishing turns them all
-- `operational` in one transaction, the black drawing 黑图; a cancelled work
-- order withdraws its drawing. One drawing per work order, kept by grid-svc
-- because the objects are grid-svc's; the work order itself is cust-svc's.
CREATE TABLE drawings (
    work_order   text        PRIMARY KEY CHECK (left(work_order, 3) = 'WO-'),
    status       text        NOT NULL DEFAULT 'design'
                 CHECK (status IN ('design', 'published', 'withdrawn')),
    transformer  text        NOT NULL REFERENCES transformers (code),
    line         text        NOT NULL REFERENCES lines (code),
    supply_point text        NOT NULL CHECK (left(supply_point, 3) = 'SP-'),
    customer     text        NOT NULL CHECK (left(customer, 3) = 'CU-'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   text        NOT NULL,
    changed_at   timestamptz,
    changed_by   text
);
CREATE INDEX drawings_transformer ON drawings (transformer);
