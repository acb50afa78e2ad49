-- cust-svc: the rest of Table 1 (DESIGN §2) and its relations.

CREATE TABLE supply_points (
    LIKE cust_object INCLUDING ALL,
    name         text,
    customer     text NOT NULL REFERENCES customers (code),
    voltage_kv   double precision,
    mode         text NOT NULL CHECK (mode IN ('main', 'backup')),
    capacity_kva double precision
);
CREATE INDEX supply_points_customer ON supply_points (customer);

CREATE TABLE metering_points (
    LIKE cust_object INCLUDING ALL,
    name       text,
    customer   text NOT NULL REFERENCES customers (code),
    purpose    text NOT NULL CHECK (purpose IN ('billing', 'check')),
    voltage_kv double precision
);
CREATE INDEX metering_points_customer ON metering_points (customer);

CREATE TABLE meter_boxes (
    LIKE cust_object INCLUDING ALL,
    name         text,
    asset_no     text,
    rows         integer,
    cols         integer,
    location_lon double precision,
    location_lat double precision,
    CONSTRAINT meter_boxes_asset_no_key UNIQUE (asset_no)
);

CREATE TABLE meters (
    LIKE cust_object INCLUDING ALL,
    asset_no        text NOT NULL,
    model           text,
    phase           text CHECK (phase IN ('single', 'three')),
    rated_current_a double precision,
    manufacturer    text,
    CONSTRAINT meters_asset_no_key UNIQUE (asset_no)
);

-- line and transformer name grid-svc objects: confirmed with grid-svc on write.
CREATE TABLE line_billings (
    LIKE cust_object INCLUDING ALL,
    customer              text NOT NULL REFERENCES customers (code),
    line                  text NOT NULL CHECK (left(line, 3) = 'LN-'),
    tariff                text,
    demand_charge         text CHECK (demand_charge IN ('capacity', 'demand', 'none')),
    power_factor_standard double precision,
    loss_share            double precision
);
CREATE INDEX line_billings_customer ON line_billings (customer);
CREATE INDEX line_billings_line ON line_billings (line);

CREATE TABLE transformer_billings (
    LIKE cust_object INCLUDING ALL,
    customer              text NOT NULL REFERENCES customers (code),
    transformer           text NOT NULL CHECK (left(transformer, 3) = 'TR-'),
    tariff                text,
    demand_charge         text CHECK (demand_charge IN ('capacity', 'demand', 'none')),
    power_factor_standard double precision,
    loss_share            double precision
);
CREATE INDEX transformer_billings_customer ON transformer_billings (customer);
CREATE INDEX transformer_billings_transformer ON transformer_billings (transformer);

CREATE TABLE backup_generators (
    LIKE cust_object INCLUDING ALL,
    name        text NOT NULL,
    customer    text NOT NULL REFERENCES customers (code),
    kind        text NOT NULL CHECK (kind IN ('diesel', 'gas', 'battery', 'ups', 'other')),
    capacity_kw double precision
);
CREATE INDEX backup_generators_customer ON backup_generators (customer);

CREATE TABLE power_plants (
    LIKE cust_object INCLUDING ALL,
    name         text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('pv', 'wind', 'hydro', 'thermal', 'biomass',
                                               'storage', 'other')),
    capacity_kw  double precision,
    customer     text REFERENCES customers (code),
    location_lon double precision,
    location_lat double precision
);
CREATE INDEX power_plants_customer ON power_plants (customer);

CREATE TABLE generating_units (
    LIKE cust_object INCLUDING ALL,
    name        text,
    plant       text NOT NULL REFERENCES power_plants (code),
    capacity_kw double precision
);
CREATE INDEX generating_units_plant ON generating_units (plant);

CREATE TABLE charging_piles (
    LIKE cust_object INCLUDING ALL,
    name           text,
    customer       text REFERENCES customers (code),
    metering_point text REFERENCES metering_points (code),
    power_kw       double precision,
    kind           text NOT NULL CHECK (kind IN ('ac', 'dc')),
    location_lon   double precision,
    location_lat   double precision
);
CREATE INDEX charging_piles_customer ON charging_piles (customer);

CREATE TABLE work_orders (
    LIKE cust_object INCLUDING ALL,
    type     text NOT NULL CHECK (type IN ('hv_new_connection')),
    customer text REFERENCES customers (code),
    summary  text
);
CREATE INDEX work_orders_customer ON work_orders (customer);

CREATE TABLE rel_supplypoint_meteringpoint (
    LIKE cust_link INCLUDING ALL,
    FOREIGN KEY (from_code) REFERENCES supply_points (code),
    FOREIGN KEY (to_code) REFERENCES metering_points (code)
);
CREATE UNIQUE INDEX rel_supplypoint_meteringpoint_one_sp ON rel_supplypoint_meteringpoint (to_code)
    WHERE valid_to IS NULL;
CREATE INDEX rel_supplypoint_meteringpoint_from ON rel_supplypoint_meteringpoint (from_code)
    WHERE valid_to IS NULL;

CREATE TABLE rel_meter_meterbox (
    LIKE cust_link INCLUDING ALL,
    FOREIGN KEY (from_code) REFERENCES meters (code),
    FOREIGN KEY (to_code) REFERENCES meter_boxes (code)
);
CREATE UNIQUE INDEX rel_meter_meterbox_one_box ON rel_meter_meterbox (from_code)
    WHERE valid_to IS NULL;
CREATE INDEX rel_meter_meterbox_to ON rel_meter_meterbox (to_code) WHERE valid_to IS NULL;

CREATE TABLE rel_meter_meteringpoint (
    LIKE cust_link INCLUDING ALL,
    FOREIGN KEY (from_code) REFERENCES meters (code),
    FOREIGN KEY (to_code) REFERENCES metering_points (code)
);
CREATE UNIQUE INDEX rel_meter_meteringpoint_one_meter ON rel_meter_meteringpoint (to_code)
    WHERE valid_to IS NULL;
CREATE UNIQUE INDEX rel_meter_meteringpoint_one_point ON rel_meter_meteringpoint (from_code)
    WHERE valid_to IS NULL;
