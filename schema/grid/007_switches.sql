-- Switches 开关 (DESIGN §9): what each is and where it sits, and its
-- position in the normal operating arrangement (常开/常闭) and now. Its
-- position now starts as its normal one; only operating it changes it.
CREATE TABLE switches (
    LIKE grid_object INCLUDING ALL,
    name         text,
    kind         text    NOT NULL CHECK (kind IN ('breaker', 'load_switch', 'disconnector',
                                                  'fuse')),
    normal_open  boolean NOT NULL,
    current_open boolean NOT NULL,
    station_room text REFERENCES station_rooms (code),
    location_lon double precision,
    location_lat double precision
);
CREATE INDEX switches_station_room ON switches (station_room);

CREATE FUNCTION switches_start_normal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.current_open := coalesce(NEW.current_open, NEW.normal_open);
    RETURN NEW;
END
$$;
CREATE TRIGGER switches_start_normal BEFORE INSERT ON switches
    FOR EACH ROW EXECUTE FUNCTION switches_start_normal();
