-- grid-svc: the rest of Table 1 (DESIGN §2) and its relations.

CREATE TABLE station_rooms (
    LIKE grid_object INCLUDING ALL,
    name         text             NOT NULL,
    kind         text             NOT NULL CHECK (kind IN ('switching_station', 'ring_main_unit',
                                                           'distribution_room', 'box_substation')),
    voltage_kv   double precision,
    location_lon double precision,
    location_lat double precision
);

CREATE TABLE transformers (
    LIKE grid_object INCLUDING ALL,
    name                 text             NOT NULL,
    kind                 text             NOT NULL CHECK (kind IN ('public', 'dedicated')),
    capacity_kva         double precision NOT NULL,
    voltage_kv           double precision NOT NULL,
    secondary_voltage_kv double precision,
    model                text,
    station_room         text REFERENCES station_rooms (code),
    location_lon         double precision,
    location_lat         double precision
);
CREATE INDEX transformers_kind ON transformers (kind);
CREATE INDEX transformers_station_room ON transformers (station_room);

CREATE TABLE poles (
    LIKE grid_object INCLUDING ALL,
    name         text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('pole', 'branch_box')),
    line         text REFERENCES lines (code),
    location_lon double precision,
    location_lat double precision
);
CREATE INDEX poles_line ON poles (line);

CREATE TABLE access_points (
    LIKE grid_object INCLUDING ALL,
    name         text NOT NULL,
    pole         text REFERENCES poles (code),
    location_lon double precision,
    location_lat double precision
);
CREATE INDEX access_points_pole ON access_points (pole);

CREATE TABLE meter_box_resources (
    LIKE grid_object INCLUDING ALL,
    name         text,
    symbol       text,
    rotation_deg double precision,
    location_lon double precision,
    location_lat double precision
);

-- Relations. An end kept by this platform is a foreign key; an end kept by
-- cust-svc (MB, SP, CU, MP) is confirmed with cust-svc when the link is made.
-- "one X per Y" rules hold for current links: partial unique indexes.

CREATE TABLE rel_line_transformer (
    LIKE grid_link INCLUDING ALL,
    FOREIGN KEY (from_code) REFERENCES lines (code),
    FOREIGN KEY (to_code) REFERENCES transformers (code)
);
CREATE UNIQUE INDEX rel_line_transformer_one_line ON rel_line_transformer (to_code)
    WHERE valid_to IS NULL;
CREATE INDEX rel_line_transformer_from ON rel_line_transformer (from_code) WHERE valid_to IS NULL;

CREATE TABLE rel_accesspoint_transformer (
    LIKE grid_link INCLUDING ALL,
    FOREIGN KEY (from_code) REFERENCES access_points (code),
    FOREIGN KEY (to_code) REFERENCES transformers (code)
);
CREATE UNIQUE INDEX rel_accesspoint_transformer_one_area ON rel_accesspoint_transformer (from_code)
    WHERE valid_to IS NULL;
CREATE INDEX rel_accesspoint_transformer_to ON rel_accesspoint_transformer (to_code)
    WHERE valid_to IS NULL;

CREATE TABLE rel_accesspoint_meterbox (
    LIKE grid_link INCLUDING ALL,
    FOREIGN KEY (from_code) REFERENCES access_points (code)
);
CREATE UNIQUE INDEX rel_accesspoint_meterbox_one_ap ON rel_accesspoint_meterbox (to_code)
    WHERE valid_to IS NULL;
CREATE INDEX rel_accesspoint_meterbox_from ON rel_accesspoint_meterbox (from_code)
    WHERE valid_to IS NULL;

CREATE TABLE rel_meterboxresource_meterbox (
    LIKE grid_link INCLUDING ALL,
    FOREIGN KEY (from_code) REFERENCES meter_box_resources (code)
);
CREATE UNIQUE INDEX rel_meterboxresource_meterbox_one_box ON rel_meterboxresource_meterbox (from_code)
    WHERE valid_to IS NULL;
CREATE UNIQUE INDEX rel_meterboxresource_meterbox_one_mr ON rel_meterboxresource_meterbox (to_code)
    WHERE valid_to IS NULL;

CREATE TABLE rel_equipment_supplypoint (
    LIKE grid_link INCLUDING ALL,
    CHECK (left(from_code, 3) IN ('SS-', 'LN-', 'TR-'))
);
CREATE UNIQUE INDEX rel_equipment_supplypoint_one_feeder ON rel_equipment_supplypoint (to_code)
    WHERE valid_to IS NULL;
CREATE INDEX rel_equipment_supplypoint_from ON rel_equipment_supplypoint (from_code)
    WHERE valid_to IS NULL;

CREATE TABLE rel_transformer_customer (
    LIKE grid_link INCLUDING ALL,
    FOREIGN KEY (from_code) REFERENCES transformers (code)
);
CREATE UNIQUE INDEX rel_transformer_customer_one_customer ON rel_transformer_customer (from_code)
    WHERE valid_to IS NULL;
CREATE INDEX rel_transformer_customer_to ON rel_transformer_customer (to_code)
    WHERE valid_to IS NULL;

CREATE TABLE rel_equipment_meteringpoint (
    LIKE grid_link INCLUDING ALL,
    CHECK (left(from_code, 3) IN ('SS-', 'LN-', 'TR-'))
);
CREATE UNIQUE INDEX rel_equipment_meteringpoint_one_equipment ON rel_equipment_meteringpoint (to_code)
    WHERE valid_to IS NULL;
CREATE INDEX rel_equipment_meteringpoint_from ON rel_equipment_meteringpoint (from_code)
    WHERE valid_to IS NULL;
