/* collections.c -- what cust-svc keeps, declared once (DESIGN §2). The
 * generic code serves, validates, filters and documents each of them; the
 * tables are in schema/cust. */
#include "cust.h"

static const char *const categories[] = {"hv", "lv_resident", "lv_nonresident", NULL};
static const char *const supply_modes[] = {"main", "backup", NULL};
static const char *const purposes[] = {"billing", "check", NULL};
static const char *const phases[] = {"single", "three", NULL};
static const char *const demand_modes[] = {"capacity", "demand", "none", NULL};
static const char *const generator_kinds[] = {"diesel", "gas", "battery", "ups", "other", NULL};
static const char *const plant_kinds[] = {"pv", "wind", "hydro", "thermal", "biomass", "storage",
                                          "other", NULL};
static const char *const pile_kinds[] = {"ac", "dc", NULL};
static const char *const order_types[] = {"hv_new_connection", NULL};

static const end_rule dedicated_only = {.field = "kind", .value = "dedicated"};

static const char *const cu[] = {"CU", NULL};
static const char *const ad[] = {"AD", NULL};
static const char *const sp[] = {"SP", NULL};
static const char *const mp[] = {"MP", NULL};
static const char *const mt[] = {"MT", NULL};
static const char *const mb[] = {"MB", NULL};
static const char *const pp[] = {"PP", NULL};
static const char *const ln[] = {"LN", NULL};
static const char *const tr[] = {"TR", NULL};

/* Names are what people search by (GET /v1/search). */
#define NAME(fl, what) {.name = "name", .type = FT_TEXT, .flags = (fl) | FF_SEARCH, .doc = what}
#define CUSTOMER(fl) \
    {.name = "customer", .type = FT_CODE, .flags = (fl), .refs = cu, .doc = "customer (CU)"}
/* A supply or metering point feeds its customer in the supply chain. */
#define FED_CUSTOMER \
    {.name = "customer", .type = FT_CODE, .flags = FF_REQUIRED | FF_FEEDS, .refs = cu, \
     .doc = "customer (CU) it supplies"}
#define KV(what) {.name = "voltage_kv", .type = FT_NUM, .min = 0.1, .max = 1000, .doc = what}
#define LOCATION {.name = "location", .type = FT_LOCATION, .doc = "position, WGS-84 degrees"}
#define TARIFF_FIELDS                                                                          \
    {.name = "tariff", .type = FT_TEXT, .max_len = 60, .doc = "tariff code 电价码"},           \
    {.name = "demand_charge", .type = FT_ENUM, .values = demand_modes,                         \
     .doc = "basic charge by capacity 按容量, by demand 按需量, or none"},                      \
    {.name = "power_factor_standard", .type = FT_NUM, .min = 0.5, .max = 1,                    \
     .doc = "power factor adjustment standard 力调标准, e.g. 0.9"},                            \
    {.name = "loss_share", .type = FT_NUM, .min = 0, .max = 1,                                 \
     .doc = "share of line or transformer losses billed to the customer"}

static const field_def customer_fields[] = {
    NAME(FF_REQUIRED, "customer name"),
    {.name = "category", .type = FT_ENUM, .flags = FF_REQUIRED | FF_SUMMARY | FF_IMPACT_GROUP,
     .values = categories, .doc = "hv (high voltage), lv_resident, lv_nonresident"},
    {.name = "phone", .type = FT_TEXT, .flags = FF_SUMMARY, .max_len = 40, .doc = "contact phone"},
    {.name = "address", .type = FT_CODE, .flags = FF_SUMMARY, .refs = ad,
     .doc = "structured address (AD)"},
    {.name = "account_no", .type = FT_TEXT, .flags = FF_UNIQUE | FF_SEARCH, .max_len = 40,
     .doc = "legacy account number 户号, unique when present"},
    {.name = "contract_capacity_kva", .type = FT_NUM, .min = 0, .max = 10000000,
     .doc = "contracted capacity, kVA"},
    FIELDS_END,
};

static const field_def address_fields[] = {
    {.name = "province", .type = FT_TEXT, .flags = FF_REQUIRED, .max_len = 60, .doc = "省"},
    {.name = "city", .type = FT_TEXT, .flags = FF_REQUIRED, .max_len = 60, .doc = "市"},
    {.name = "district", .type = FT_TEXT, .flags = FF_REQUIRED, .max_len = 60, .doc = "区/县"},
    {.name = "street", .type = FT_TEXT, .max_len = 100, .doc = "街道/乡镇"},
    {.name = "community", .type = FT_TEXT, .max_len = 100, .doc = "社区/村"},
    {.name = "building", .type = FT_TEXT, .max_len = 60, .doc = "楼栋"},
    {.name = "unit", .type = FT_TEXT, .max_len = 30, .doc = "单元"},
    {.name = "room", .type = FT_TEXT, .max_len = 30, .doc = "房号"},
    {.name = "detail", .type = FT_TEXT, .max_len = 300, .doc = "free-text remainder"},
    LOCATION,
    FIELDS_END,
};

static const field_def supply_point_fields[] = {
    NAME(0, "supply point name"),
    FED_CUSTOMER,
    KV("supply voltage, kV"),
    {.name = "mode", .type = FT_ENUM, .values = supply_modes, .dflt = "main",
     .doc = "main 主供 or backup 备供"},
    {.name = "capacity_kva", .type = FT_NUM, .min = 0, .max = 10000000, .doc = "supply capacity, kVA"},
    FIELDS_END,
};

/* A check metering point 考核表 measures a transformer area for the
 * utility and names no customer; a billing one still bills its customer
 * (the table's metering_points_customer_needed, told in these words). */
static const field_def metering_point_fields[] = {
    NAME(0, "metering point name"),
    {.name = "customer", .type = FT_CODE, .flags = FF_FEEDS, .refs = cu,
     .doc = "customer (CU) it supplies; none for a check metering point"},
    {.name = "purpose", .type = FT_ENUM, .values = purposes, .dflt = "billing",
     .doc = "billing 计费 or check 考核"},
    KV("metering voltage, kV"),
    FIELDS_END,
};

static const check_def metering_point_checks[] = {
    {"metering_points_customer_needed", "customer", "a billing metering point needs its customer"},
    {0}};

static const field_def meter_box_fields[] = {
    NAME(0, "meter box label"),
    {.name = "asset_no", .type = FT_TEXT, .flags = FF_UNIQUE | FF_SEARCH, .max_len = 40,
     .doc = "asset number, unique when present"},
    {.name = "rows", .type = FT_INT, .min = 1, .max = 20, .doc = "rows of meter positions"},
    {.name = "cols", .type = FT_INT, .min = 1, .max = 20, .doc = "columns of meter positions"},
    LOCATION,
    FIELDS_END,
};

/* Its daily readings (readings.c). */
static const char *const meter_views[] = {"readings", NULL};
static const query_doc meter_readings_query[] = {
    {"from", "string", NULL, 0, "the first day, YYYY-MM-DD (default: 30 days before to)"},
    {"to", "string", NULL, 0, "the last day, YYYY-MM-DD (default: today, UTC); 366 days at most"},
    {0}};
static const query_doc *const meter_view_query[] = {meter_readings_query};

static const field_def meter_fields[] = {
    {.name = "asset_no", .type = FT_TEXT, .flags = FF_REQUIRED | FF_UNIQUE | FF_SEARCH,
     .max_len = 40,
     .doc = "asset number 资产编号, unique"},
    {.name = "model", .type = FT_TEXT, .max_len = 60, .doc = "model, e.g. DDZY1980"},
    {.name = "phase", .type = FT_ENUM, .values = phases, .doc = "single or three phase"},
    {.name = "rated_current_a", .type = FT_NUM, .min = 0, .max = 10000,
     .doc = "rated current, A, e.g. 5(60)"},
    {.name = "manufacturer", .type = FT_TEXT, .max_len = 100, .doc = "maker"},
    FIELDS_END,
};

static const field_def line_billing_fields[] = {
    CUSTOMER(FF_REQUIRED),
    {.name = "line", .type = FT_CODE, .flags = FF_REQUIRED, .refs = ln, .rule = &dedicated_only,
     .doc = "dedicated line billed (LN, kept by grid-svc)"},
    TARIFF_FIELDS,
    FIELDS_END,
};

static const field_def transformer_billing_fields[] = {
    CUSTOMER(FF_REQUIRED),
    {.name = "transformer", .type = FT_CODE, .flags = FF_REQUIRED, .refs = tr,
     .rule = &dedicated_only,
     .doc = "dedicated transformer billed (TR, kept by grid-svc)"},
    TARIFF_FIELDS,
    FIELDS_END,
};

static const field_def backup_generator_fields[] = {
    NAME(FF_REQUIRED, "generator name"),
    CUSTOMER(FF_REQUIRED),
    {.name = "kind", .type = FT_ENUM, .flags = FF_REQUIRED, .values = generator_kinds,
     .doc = "diesel, gas, battery, ups, other"},
    {.name = "capacity_kw", .type = FT_NUM, .min = 0, .max = 1000000, .doc = "capacity, kW"},
    FIELDS_END,
};

static const field_def power_plant_fields[] = {
    NAME(FF_REQUIRED, "plant name"),
    {.name = "kind", .type = FT_ENUM, .flags = FF_REQUIRED, .values = plant_kinds,
     .doc = "pv, wind, hydro, thermal, biomass, storage, other"},
    {.name = "capacity_kw", .type = FT_NUM, .min = 0, .max = 100000000, .doc = "installed, kW"},
    CUSTOMER(0),
    LOCATION,
    FIELDS_END,
};

static const field_def generating_unit_fields[] = {
    NAME(0, "unit name"),
    {.name = "plant", .type = FT_CODE, .flags = FF_REQUIRED, .refs = pp, .doc = "plant (PP)"},
    {.name = "capacity_kw", .type = FT_NUM, .min = 0, .max = 10000000, .doc = "capacity, kW"},
    FIELDS_END,
};

static const field_def charging_pile_fields[] = {
    NAME(0, "pile name"),
    CUSTOMER(0),
    {.name = "metering_point", .type = FT_CODE, .refs = mp, .doc = "metering point (MP)"},
    {.name = "power_kw", .type = FT_NUM, .min = 0, .max = 10000, .doc = "rated power, kW"},
    {.name = "kind", .type = FT_ENUM, .flags = FF_REQUIRED, .values = pile_kinds, .doc = "ac or dc"},
    LOCATION,
    FIELDS_END,
};

static const char *const order_steps[] = {"applied", "surveyed", "planned", "designed",
                                          "scheduled", "accepted", "published", "powered",
                                          "archived", "cancelled", NULL};
static const char *const tb[] = {"TB", NULL};
static const char *const og_ref[] = {"OG", NULL};

/* What the applicant asks for, then what the steps decide and create
 * (FF_SERVER: set by POST /v1/work-orders/{code}/transitions only). */
#define STEP_SET(n, t, r, what) {.name = (n), .type = (t), .flags = FF_SERVER, .refs = (r), .doc = what}
static const field_def work_order_fields[] = {
    {.name = "type", .type = FT_ENUM, .flags = FF_REQUIRED, .values = order_types,
     .doc = "business process"},
    {.name = "applicant", .type = FT_TEXT, .flags = FF_REQUIRED, .max_len = 200,
     .doc = "who applies: the future customer's name"},
    {.name = "phone", .type = FT_TEXT, .max_len = 40, .doc = "contact phone"},
    {.name = "address", .type = FT_CODE, .refs = ad, .doc = "where the supply is wanted (AD)"},
    {.name = "summary", .type = FT_TEXT, .max_len = 500, .doc = "what is asked"},
    {.name = "step", .type = FT_ENUM, .flags = FF_SERVER, .values = order_steps,
     .dflt = "applied", .doc = "where the work order is; moved by its transitions"},
    STEP_SET("line", FT_CODE, ln, "planned: the line that will supply (LN, kept by grid-svc)"),
    STEP_SET("capacity_kva", FT_NUM, NULL, "planned: capacity, kVA"),
    STEP_SET("voltage_kv", FT_NUM, NULL, "planned: supply voltage, kV"),
    STEP_SET("metering_plan", FT_TEXT, NULL, "planned: metering plan"),
    STEP_SET("billing_plan", FT_TEXT, NULL, "planned: billing plan"),
    STEP_SET("power_on_date", FT_TEXT, NULL, "planned, scheduled: intended power-on date"),
    STEP_SET("outage", FT_CODE, og_ref, "scheduled: the planned outage of the power-on work (OG)"),
    STEP_SET("customer", FT_CODE, cu, "planned: the customer created, pending until powered"),
    STEP_SET("supply_point", FT_CODE, sp, "planned: its supply point (SP)"),
    STEP_SET("transformer", FT_CODE, tr, "designed: the dedicated transformer drawn (TR)"),
    STEP_SET("drawing_published_at", FT_TEXT, NULL,
             "published: when grid-svc published the drawing (its drawing.published event)"),
    STEP_SET("metering_point", FT_CODE, mp, "powered: the metering point (MP)"),
    STEP_SET("meter", FT_CODE, mt, "powered: the meter (MT)"),
    STEP_SET("billing", FT_CODE, tb, "powered: the transformer billing (TB)"),
    FIELDS_END,
};

/* Outages, their notices and trouble calls (DESIGN §10): written by their
 * own routes (outages.c, notices.c, calls.c); FF_SERVER marks what those
 * routes set, never the client. */
static const char *const outage_kinds[] = {"planned", "fault", NULL};
static const char *const outage_states[] = {"announced", "started", "restored", "cancelled", NULL};
static const char *const notice_messages[] = {"announced", "rescheduled", "restored",
                                              "cancelled", NULL};
static const char *const notice_states[] = {"pending", "sent", "failed", NULL};
static const char *const grid_elements[] = {"SS", "LN", "TR", "SR", "PL", "AP", "MR", "SW", NULL};
static const char *const wo[] = {"WO", NULL};
static const char *const og[] = {"OG", NULL};
static const char *const outage_commands[] = {"transitions", NULL};
static const char *const outage_views[] = {"customers", NULL};
static const char *const notice_actions[] = {"ack", NULL};

static const field_def outage_fields[] = {
    {.name = "kind", .type = FT_ENUM, .flags = FF_REQUIRED, .values = outage_kinds,
     .doc = "planned 计划停电 or fault 故障停电"},
    {.name = "elements", .type = FT_CODES, .flags = FF_REQUIRED, .refs = grid_elements,
     .doc = "the grid objects taken out (kept by grid-svc)"},
    {.name = "starts_at", .type = FT_TIME, .flags = FF_REQUIRED, .doc = "when supply goes"},
    {.name = "ends_at", .type = FT_TIME, .doc = "expected restoration"},
    {.name = "reason", .type = FT_TEXT, .max_len = 500, .doc = "why, as customers are told"},
    {.name = "work_order", .type = FT_CODE, .refs = wo,
     .doc = "the work order whose power-on work it is (WO)"},
    {.name = "state", .type = FT_ENUM, .flags = FF_SERVER, .values = outage_states,
     .dflt = "announced", .doc = "announced, started, restored or cancelled; moved by its "
                                 "transitions"},
    {.name = "customers", .type = FT_INT, .flags = FF_SERVER,
     .doc = "customers on the list frozen when it was announced"},
    {.name = "started_at", .type = FT_TIME, .flags = FF_SERVER, .doc = "when it started"},
    {.name = "restored_at", .type = FT_TIME, .flags = FF_SERVER, .doc = "when supply came back"},
    FIELDS_END,
};

static const field_def notice_fields[] = {
    {.name = "outage", .type = FT_CODE, .flags = FF_SERVER, .refs = og, .doc = "outage (OG)"},
    {.name = "customer", .type = FT_CODE, .flags = FF_SERVER, .refs = cu,
     .doc = "customer told (CU)"},
    {.name = "phone", .type = FT_TEXT, .flags = FF_SERVER, .max_len = 40,
     .doc = "where to send it, as the customer's record had it"},
    {.name = "message", .type = FT_ENUM, .flags = FF_SERVER, .values = notice_messages,
     .doc = "announced, rescheduled, restored or cancelled"},
    {.name = "state", .type = FT_ENUM, .flags = FF_SERVER, .values = notice_states,
     .dflt = "pending", .doc = "pending until the notifier reports it sent or failed"},
    {.name = "detail", .type = FT_TEXT, .flags = FF_SERVER, .max_len = 500,
     .doc = "why it failed, or the notifier's receipt"},
    {.name = "sent_at", .type = FT_TIME, .flags = FF_SERVER, .doc = "when it was reported"},
    FIELDS_END,
};

static const field_def trouble_call_fields[] = {
    CUSTOMER(FF_REQUIRED),
    {.name = "phone", .type = FT_TEXT, .max_len = 40, .doc = "the number called from"},
    {.name = "text", .type = FT_TEXT, .flags = FF_REQUIRED, .max_len = 500,
     .doc = "what the caller said"},
    {.name = "at", .type = FT_TIME, .doc = "when the call came in (default: now)"},
    {.name = "outage", .type = FT_CODE, .flags = FF_SERVER, .refs = og,
     .doc = "the announced or started outage the customer is in, when known"},
    FIELDS_END,
};

const collection_def cust_collections[] = {
    {.prefix = "CU", .table = "customers", .fields = customer_fields, .statuses = &cust_statuses,
     .doc = "Customer 用户"},
    {.prefix = "AD", .table = "addresses", .fields = address_fields, .statuses = &cust_statuses,
     .doc = "Structured address 结构化地址"},
    {.prefix = "SP", .table = "supply_points", .fields = supply_point_fields,
     .statuses = &cust_statuses, .doc = "Supply point 电源点, belongs to one customer"},
    {.prefix = "MP", .table = "metering_points", .fields = metering_point_fields,
     .statuses = &cust_statuses, .checks = metering_point_checks,
     .doc = "Metering point 计量点: billing, of one customer, or check, of a transformer area"},
    {.prefix = "MB", .table = "meter_boxes", .fields = meter_box_fields, .statuses = &cust_statuses,
     .doc = "Meter box asset 计量箱"},
    {.prefix = "MT", .table = "meters", .fields = meter_fields, .statuses = &cust_statuses,
     .views = meter_views, .view_query = meter_view_query, .doc = "Electricity meter 电能表"},
    {.prefix = "LB", .table = "line_billings", .fields = line_billing_fields,
     .statuses = &cust_statuses, .doc = "Dedicated-line billing 专线计费"},
    {.prefix = "TB", .table = "transformer_billings", .fields = transformer_billing_fields,
     .statuses = &cust_statuses, .doc = "Dedicated-transformer billing 专变计费"},
    {.prefix = "BG", .table = "backup_generators", .fields = backup_generator_fields,
     .statuses = &cust_statuses, .doc = "Customer's own backup supply 自备电源"},
    {.prefix = "PP", .table = "power_plants", .fields = power_plant_fields,
     .statuses = &cust_statuses, .doc = "Power plant 电厂"},
    {.prefix = "GU", .table = "generating_units", .fields = generating_unit_fields,
     .statuses = &cust_statuses, .doc = "Generating unit 机组, belongs to one plant"},
    {.prefix = "CP", .table = "charging_piles", .fields = charging_pile_fields,
     .statuses = &cust_statuses, .doc = "EV charging pile 充电桩"},
    {.prefix = "WO", .table = "work_orders", .fields = work_order_fields,
     .statuses = &cust_statuses, .doc = "Work order 工单"},
    {.prefix = "OG", .table = "outages", .fields = outage_fields, .statuses = &cust_statuses,
     .own_writes = 1, .commands = outage_commands, .views = outage_views,
     .doc = "Outage 停电事件, planned or fault, with its frozen customer list"},
    {.prefix = "NT", .table = "notices", .fields = notice_fields, .statuses = &cust_statuses,
     .own_writes = 1, .actions = notice_actions,
     .doc = "Notice 停电通知 of an outage to one customer"},
    {.prefix = "TC", .table = "trouble_calls", .fields = trouble_call_fields,
     .statuses = &cust_statuses, .own_writes = 1, .doc = "Trouble call 故障报修"},
};
const int cust_ncollections = (int)ARRAY_LEN(cust_collections);

/* Box -> meter -> metering point -> customer, kept in meter_reach
 * (schema/cust/007_meter_reach.sql). Walking down, meters and metering
 * points lead nowhere else, so a walk that lists only customers loses
 * nothing by skipping them. */
static const char *const mt_mp[] = {"MT", "MP", NULL};
static const chain_shortcut box_customers = {.table = "meter_reach", .near_col = "meter_box",
                                             .far_col = "customer", .far = cu, .skips = mt_mp};

const relation_def cust_relations[] = {
    {.kind = "supplypoint-meteringpoint", .table = "rel_supplypoint_meteringpoint", .from = sp,
     .to = mp, .rules = REL_UPSTREAM_FROM | REL_ONE_FROM_PER_TO,
     .doc = "A metering point is measured on one supply point"},
    {.kind = "meter-meterbox", .table = "rel_meter_meterbox", .from = mt, .to = mb,
     .rules = REL_UPSTREAM_TO | REL_ONE_TO_PER_FROM, .shortcut = &box_customers,
     .doc = "A meter sits in one meter box"},
    {.kind = "meter-meteringpoint", .table = "rel_meter_meteringpoint", .from = mt, .to = mp,
     .rules = REL_UPSTREAM_FROM | REL_ONE_FROM_PER_TO | REL_ONE_TO_PER_FROM,
     .doc = "One active meter per metering point"},
};
const int cust_nrelations = (int)ARRAY_LEN(cust_relations);

/* Reads answered by cust-svc's own routes that grid-svc passes on: the
 * integration report (report.c, report_rates.c) and the outages trouble
 * calls predict (calls.c), with their query parameters, which both
 * platforms' /openapi.json describe from here. */
#define PAGE_DOCS                                                                            \
    {"limit", "integer", NULL, 0, "items per page (1-1000, default 100)"},                   \
    {"after", "string", NULL, 0, "the next of the page before"}

static const query_doc report_query[] = {
    {"substation", "string", NULL, 0, "a substation's code: its customers and broken links"},
    {"line", "string", NULL, 0, "a line's code (one scope at most)"},
    {"transformer", "string", NULL, 0, "a transformer's code: its transformer area"},
    {"kind", "string", NULL, 0, "one kind of broken link to page (a name of broken_links.by_kind)"},
    PAGE_DOCS,
    {0}};

static const char *const rate_levels[] = {"substation", "line", "transformer", NULL};

static const query_doc rates_query[] = {
    {"level", "string", rate_levels, 1, "the objects rated"},
    {"substation", "string", NULL, 0, "only those under this substation (a level below it)"},
    {"line", "string", NULL, 0, "only those under this line (transformer areas)"},
    PAGE_DOCS,
    {0}};

#define PERIOD_DOCS                                                                          \
    {"from", "string", NULL, 0, "the first day, YYYY-MM-DD (with to)"},                       \
    {"to", "string", NULL, 0, "the last day, YYYY-MM-DD; at most 366 days from the first"}

static const query_doc line_loss_query[] = {
    {"day", "string", NULL, 0, "one day, YYYY-MM-DD (or from and to)"},
    PERIOD_DOCS,
    {"substation", "string", NULL, 0, "only the transformer areas under this substation"},
    {"line", "string", NULL, 0, "only those on this line (one scope at most)"},
    {"transformer", "string", NULL, 0, "only this transformer's area"},
    {"limit", "integer", NULL, 0, "items per page (1-1000, default 100)"},
    {"after", "string", NULL, 0, "the next of the page before (a TR code)"},
    {0}};

static const query_doc suspects_query[] = {
    PERIOD_DOCS,
    {"substation", "string", NULL, 0, "only customers recorded under this substation's areas"},
    {"limit", "integer", NULL, 0, "items per page (1-1000, default 100)"},
    {"after", "string", NULL, 0, "the next of the page before (a CU code)"},
    {0}};

const read_def cust_reads[] = {
    {.path = "/v1/reports/integration", .what = "the integration report", .query = report_query},
    {.path = "/v1/reports/integration/rates", .what = "the integration rates",
     .query = rates_query},
    {.path = "/v1/outages/predicted", .what = "the predicted outages"},
    {.path = "/v1/reports/line-loss", .what = "the line loss", .query = line_loss_query},
    {.path = "/v1/reports/suspect-links", .what = "the suspect customer-transformer links",
     .query = suspects_query},
};
const int cust_nreads = (int)ARRAY_LEN(cust_reads);
