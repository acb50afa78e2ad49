/* collections.c -- what grid-svc keeps, declared once (DESIGN §2). */
#include "grid.h"

static const char *const line_kinds[] = {"public", "dedicated", NULL};
static const char *const source_roles[] = {"source", "tie", NULL};
static const char *const ss[] = {"SS", NULL};
static const char *const ln[] = {"LN", NULL};

static const field_def substation_fields[] = {
    {.name = "name", .type = FT_TEXT, .flags = FF_REQUIRED, .doc = "substation name"},
    {.name = "voltage_kv", .type = FT_NUM, .flags = FF_REQUIRED, .min = 0.1, .max = 1000,
     .doc = "highest voltage level, kV"},
    {.name = "location", .type = FT_LOCATION, .doc = "position, WGS-84"},
    FIELDS_END,
};

static const field_def line_fields[] = {
    {.name = "name", .type = FT_TEXT, .flags = FF_REQUIRED, .doc = "line name"},
    {.name = "kind", .type = FT_ENUM, .flags = FF_REQUIRED, .values = line_kinds,
     .doc = "public 公线 or dedicated 专线"},
    {.name = "voltage_kv", .type = FT_NUM, .flags = FF_REQUIRED, .min = 0.1, .max = 1000,
     .doc = "voltage level, kV"},
    {.name = "length_km", .type = FT_NUM, .min = 0, .max = 10000, .doc = "route length, km"},
    {.name = "conductor", .type = FT_TEXT, .max_len = 60, .doc = "conductor type, e.g. YJV22-3x300"},
    FIELDS_END,
};

const collection_def grid_collections[] = {
    {.prefix = "SS", .table = "substations", .fields = substation_fields,
     .statuses = &grid_statuses, .doc = "Substation 变电站"},
    {.prefix = "LN", .table = "lines", .fields = line_fields, .statuses = &grid_statuses,
     .doc = "Medium-voltage line 线路: public 公线 or dedicated 专线"},
};
const int grid_ncollections = (int)ARRAY_LEN(grid_collections);

static const field_def substation_line_attrs[] = {
    {.name = "role", .type = FT_ENUM, .values = source_roles, .dflt = "source",
     .doc = "source (the line is fed from this substation) or tie"},
    FIELDS_END,
};

const relation_def grid_relations[] = {
    {.kind = "substation-line", .table = "rel_substation_line", .from = ss, .to = ln,
     .attrs = substation_line_attrs,
     .doc = "A line has one or more substations (role source or tie)"},
};
const int grid_nrelations = (int)ARRAY_LEN(grid_relations);
