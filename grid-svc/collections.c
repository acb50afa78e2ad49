/* collections.c -- what grid-svc keeps, declared once (DESIGN §2). The
 * generic code serves, validates, filters and documents each of them; the
 * tables are in schema/grid. */
#include "grid.h"

static const char *const line_kinds[] = {"public", "dedicated", NULL};
static const char *const room_kinds[] = {"switching_station", "ring_main_unit", "distribution_room",
                                         "box_substation", NULL};
static const char *const pole_kinds[] = {"pole", "branch_box", NULL};
static const char *const source_roles[] = {"source", "tie", NULL};
static const char *const switch_commands[] = {"operate", NULL};
static const char *const switch_kinds[] = {"breaker", "load_switch", "disconnector", "fuse",
                                           NULL};

static const char *const ss[] = {"SS", NULL};
static const char *const ln[] = {"LN", NULL};
static const char *const tr[] = {"TR", NULL};
static const char *const sr[] = {"SR", NULL};
static const char *const pl[] = {"PL", NULL};
static const char *const ap[] = {"AP", NULL};
static const char *const mr[] = {"MR", NULL};
static const char *const mb[] = {"MB", NULL};
static const char *const sp[] = {"SP", NULL};
static const char *const mp[] = {"MP", NULL};
static const char *const cu[] = {"CU", NULL};
static const char *const sw[] = {"SW", NULL};
static const char *const equipment[] = {"SS", "LN", "TR", NULL};

#define NAME_REQUIRED(what) \
    {.name = "name", .type = FT_TEXT, .flags = FF_REQUIRED | FF_SEARCH, .doc = what}
#define LOCATION {.name = "location", .type = FT_LOCATION, .doc = "position, WGS-84 degrees"}
#define KV(req, what) \
    {.name = "voltage_kv", .type = FT_NUM, .flags = (req), .min = 0.1, .max = 1000, .doc = what}

static const field_def substation_fields[] = {
    NAME_REQUIRED("substation name"),
    KV(FF_REQUIRED, "highest voltage level, kV"),
    LOCATION,
    FIELDS_END,
};

static const field_def line_fields[] = {
    NAME_REQUIRED("line name"),
    {.name = "kind", .type = FT_ENUM, .flags = FF_REQUIRED, .values = line_kinds,
     .doc = "public 公线 or dedicated 专线"},
    KV(FF_REQUIRED, "voltage level, kV"),
    {.name = "length_km", .type = FT_NUM, .min = 0, .max = 10000, .doc = "route length, km"},
    {.name = "conductor", .type = FT_TEXT, .max_len = 60, .doc = "conductor type, e.g. YJV22-3x300"},
    FIELDS_END,
};

static const field_def transformer_fields[] = {
    NAME_REQUIRED("transformer name"),
    {.name = "kind", .type = FT_ENUM, .flags = FF_REQUIRED, .values = line_kinds,
     .doc = "public 公变 or dedicated 专变"},
    {.name = "capacity_kva", .type = FT_NUM, .flags = FF_REQUIRED, .min = 1, .max = 1000000,
     .doc = "rated capacity, kVA"},
    KV(FF_REQUIRED, "primary voltage, kV"),
    {.name = "secondary_voltage_kv", .type = FT_NUM, .min = 0.1, .max = 1000,
     .doc = "secondary voltage, kV"},
    {.name = "model", .type = FT_TEXT, .max_len = 60, .doc = "model, e.g. S13-M-400/10"},
    {.name = "station_room", .type = FT_CODE, .refs = sr, .doc = "station room it stands in (SR)"},
    LOCATION,
    FIELDS_END,
};

static const field_def station_room_fields[] = {
    NAME_REQUIRED("station room name"),
    {.name = "kind", .type = FT_ENUM, .flags = FF_REQUIRED, .values = room_kinds,
     .doc = "switching station, ring main unit, distribution room, box substation"},
    KV(0, "voltage level, kV"),
    LOCATION,
    FIELDS_END,
};

static const field_def pole_fields[] = {
    NAME_REQUIRED("pole number or branch box name"),
    {.name = "kind", .type = FT_ENUM, .flags = FF_REQUIRED, .values = pole_kinds,
     .doc = "pole 杆位 or branch_box 电缆分支箱"},
    {.name = "line", .type = FT_CODE, .refs = ln,
     .doc = "line it carries (LN): where the line runs, not what feeds anything (DESIGN §9)"},
    LOCATION,
    FIELDS_END,
};

static const field_def access_point_fields[] = {
    NAME_REQUIRED("access point name"),
    {.name = "pole", .type = FT_CODE, .refs = pl,
     .doc = "pole or branch box it hangs on (PL): a position; it is fed by its transformer"},
    LOCATION,
    FIELDS_END,
};

static const field_def meter_box_resource_fields[] = {
    {.name = "name", .type = FT_TEXT, .flags = FF_SEARCH, .doc = "label on the drawing"},
    {.name = "symbol", .type = FT_TEXT, .max_len = 60, .doc = "graphic symbol on the drawing"},
    {.name = "rotation_deg", .type = FT_NUM, .min = 0, .max = 360, .doc = "symbol rotation"},
    LOCATION,
    FIELDS_END,
};

static const field_def switch_fields[] = {
    {.name = "name", .type = FT_TEXT, .flags = FF_SEARCH, .doc = "dispatch name or number"},
    {.name = "kind", .type = FT_ENUM, .flags = FF_REQUIRED, .values = switch_kinds,
     .doc = "breaker 断路器, load_switch 负荷开关, disconnector 隔离开关 or fuse 熔断器"},
    {.name = "normal_open", .type = FT_BOOL, .flags = FF_REQUIRED,
     .doc = "open in the normal operating arrangement 常开 (false: 常闭)"},
    {.name = "current_open", .type = FT_BOOL, .flags = FF_SERVER,
     .doc = "open now: starts as normal_open, changed only by operating the switch"},
    {.name = "station_room", .type = FT_CODE, .refs = sr, .doc = "station room it stands in (SR)"},
    LOCATION,
    FIELDS_END,
};

const collection_def grid_collections[] = {
    {.prefix = "SS", .table = "substations", .fields = substation_fields,
     .statuses = &grid_statuses, .doc = "Substation 变电站"},
    {.prefix = "LN", .table = "lines", .fields = line_fields, .statuses = &grid_statuses,
     .doc = "Medium-voltage line 线路: public 公线 or dedicated 专线"},
    {.prefix = "TR", .table = "transformers", .fields = transformer_fields,
     .statuses = &grid_statuses,
     .doc = "Distribution transformer 变压器: public 公变 (production) or dedicated 专变 (marketing)"},
    {.prefix = "SR", .table = "station_rooms", .fields = station_room_fields,
     .statuses = &grid_statuses, .doc = "Station room 站房"},
    {.prefix = "PL", .table = "poles", .fields = pole_fields, .statuses = &grid_statuses,
     .doc = "Pole 杆位 or cable branch box 电缆分支箱"},
    {.prefix = "AP", .table = "access_points", .fields = access_point_fields,
     .statuses = &grid_statuses, .doc = "Low-voltage access point 低压接入点"},
    {.prefix = "MR", .table = "meter_box_resources", .fields = meter_box_resource_fields,
     .statuses = &grid_statuses, .doc = "Meter-box resource and its graphic 计量箱资源/图形"},
    {.prefix = "SW", .table = "switches", .fields = switch_fields, .statuses = &grid_statuses,
     .doc = "Switch 开关: its normal and current position (DESIGN §9)", .commands = switch_commands},
};
const int grid_ncollections = (int)ARRAY_LEN(grid_collections);

#define LINK_SWITCH(req)                                                                   \
    {.name = "switch", .type = FT_CODE, .flags = FF_SWITCH | (req), .refs = sw,            \
     .doc = "switch that makes or breaks the link (SW): closed while the switch is"}

static const field_def substation_line_attrs[] = {
    {.name = "role", .type = FT_ENUM, .values = source_roles, .dflt = "source",
     .doc = "source (the line is fed from this substation) or tie"},
    LINK_SWITCH(0),
    FIELDS_END,
};

static const field_def line_transformer_attrs[] = {LINK_SWITCH(0), FIELDS_END};
static const field_def line_line_attrs[] = {LINK_SWITCH(FF_REQUIRED), FIELDS_END};

/* A tie substation's link without a switch carries no power (DESIGN §9). */
static const end_rule tie_role = {.field = "role", .value = "tie"};

static const end_rule public_only = {.field = "kind", .value = "public"};
static const end_rule dedicated_only = {.field = "kind", .value = "dedicated"};

const relation_def grid_relations[] = {
    {.kind = "substation-line", .table = "rel_substation_line", .from = ss, .to = ln,
     .attrs = substation_line_attrs, .open_without_switch = &tie_role,
     .rules = REL_UPSTREAM_FROM | REL_MESHED,
     .doc = "A line has one or more substations (role source or tie), each through its switch"},
    {.kind = "line-line", .table = "rel_line_line", .from = ln, .to = ln,
     .attrs = line_line_attrs, .rules = REL_TIE | REL_MESHED,
     .doc = "A tie 联络 between two lines, through its switch (normally open 常开)"},
    {.kind = "line-transformer", .table = "rel_line_transformer", .from = ln, .to = tr,
     .attrs = line_transformer_attrs, .rules = REL_UPSTREAM_FROM | REL_ONE_FROM_PER_TO,
     .doc = "A transformer hangs on exactly one line, through its switch if it has one"},
    {.kind = "accesspoint-transformer", .table = "rel_accesspoint_transformer", .from = ap,
     .to = tr, .to_rule = &public_only, .rules = REL_UPSTREAM_TO | REL_ONE_TO_PER_FROM,
     .doc = "An access point belongs to one public transformer's area 台区"},
    {.kind = "accesspoint-meterbox", .table = "rel_accesspoint_meterbox", .from = ap, .to = mb,
     .rules = REL_UPSTREAM_FROM | REL_ONE_FROM_PER_TO,
     .doc = "A meter box hangs on one access point"},
    {.kind = "meterboxresource-meterbox", .table = "rel_meterboxresource_meterbox", .from = mr,
     .to = mb, .rules = REL_ONE_FROM_PER_TO | REL_ONE_TO_PER_FROM,
     .doc = "A meter-box resource is the graphic of one meter box, one to one"},
    {.kind = "equipment-supplypoint", .table = "rel_equipment_supplypoint", .from = equipment,
     .to = sp, .rules = REL_UPSTREAM_FROM | REL_ONE_FROM_PER_TO,
     .doc = "A supply point is fed by one piece of equipment (substation, line or transformer)"},
    {.kind = "transformer-customer", .table = "rel_transformer_customer", .from = tr, .to = cu,
     .from_rule = &dedicated_only, .rules = REL_UPSTREAM_FROM | REL_ONE_TO_PER_FROM,
     .doc = "A dedicated transformer serves one customer"},
    {.kind = "equipment-meteringpoint", .table = "rel_equipment_meteringpoint",
     .from = equipment, .to = mp, .rules = REL_UPSTREAM_FROM | REL_ONE_FROM_PER_TO,
     .doc = "A metering point sits on at most one piece of equipment"},
};
const int grid_nrelations = (int)ARRAY_LEN(grid_relations);
