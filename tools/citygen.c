/* citygen -- a synthetic but consistent city for both platforms, as NDJSON.
 *
 *   citygen --customers N [--seed S] --out DIR     N from 100 to 10,000,000; S defaults to 1
 *
 * Writes NDJSON into DIR/grid and DIR/grid/rel (what grid-svc keeps) and into
 * DIR/cust and DIR/cust/rel (what cust-svc keeps): one object a line exactly
 * as POST /v1/{collection} accepts it plus its "code", one link a line as
 * POST /v1/relations/{kind} accepts it. DIR/load-order.tsv lists the
 * files in an order that loads without a dangling reference; DIR/sample/ holds
 * codes spread evenly over the city for load tests; DIR/city.json the counts.
 *
 * The low-voltage tree is built top-down, one customer at a time: 20 public
 * lines per substation, 12 public transformers per line, 4 access points (each
 * on its own pole) per transformer, 2 or 3 meter boxes per access point, 4
 * meters per box, one customer per meter. 1% of the customers are high voltage,
 * interleaved evenly with the low-voltage ones: each has a dedicated
 * transformer on the public line being built, or every 10th on a dedicated line
 * of its own. Only the codes of the branch being built are held, so memory does
 * not grow with N (but for the public lines of the last row of substations,
 * which the ties below need: a few hundred codes at most).
 *
 * The grid is operated radially (DESIGN §9): every source link passes a
 * breaker 出线断路器, normally closed, and every public line is tied 联络 to a
 * line of a neighbouring substation (line k of a substation to line k of the
 * one built before it in its row, or above it at the start of a row) by a
 * line-line link through a load switch that is normally open, so each line is
 * fed from its own substation alone until dispatch transfers it. The first
 * substation has no neighbour built before it: its lines are tied in pairs
 * (2 to 1, 4 to 3, ...), so a city of one substation has ties too.
 *
 * The same N and S give byte-identical files: codes are 2026-01-01T00:00:00Z
 * plus the object's index in milliseconds (so a type's codes sort by creation
 * and never collide), then 80 bits of splitmix64 seeded from (S, prefix, index).
 *
 * --faults F plants F broken links of every kind the integration report
 * knows (schema/datahub/001_report.sql) at known codes, spread evenly over
 * the city, and lists them in DIR/faults.ndjson: {"kind", "code", "other",
 * "substation", "line", "transformer"}, the last three where the report
 * places the fault (null where it cannot). Most are links left out of the
 * files. Two kinds cannot go through the import API, which refuses them:
 * customers to retire after the load (DIR/retire.tsv: collection TAB code;
 * a grid link names each, so the API's DELETE refuses them too: by SQL),
 * and codes that name nothing on the other platform, carried over as a
 * legacy system would by SQL (DIR/legacy/grid.sql and cust.sql, one INSERT
 * a line, for each platform's own database). Without --faults nothing of
 * this is written and the city is the same as ever.
 *
 * --readings DAYS (from --readings-from, default 2026-11-01) gives every
 * public transformer a check metering point 考核计量点 (purpose check, no
 * customer) with a three-phase check meter 考核表, linked to the transformer
 * by equipment-meteringpoint, and writes DIR/cust/readings.ndjson: each
 * day's energy of every meter, {"meter", "day", "kwh"}, a day at a time and
 * each day's meters in code order, loaded last (POST /v1/readings:import).
 * Values follow the true grid and the model at the top of
 * citygen_readings.c; --missing-readings P leaves out P meter-days in a
 * thousand.
 *
 * --mislinks M records M low-voltage customers, spread evenly over the city,
 * under a wrong public transformer (户变关系错误): their meter's meter-meterbox
 * link names the last meter box of the public transformer built before theirs
 * on the same line, or (every other one, where there is one) of the last
 * transformer of the line built before theirs in the same substation. Their
 * readings still count in their true transformer's check meter. Vacant
 * customers are passed over (the next one takes the turn): a vacant meter's
 * few tenths of a kWh cannot show where it hangs, and say nothing of loss.
 * DIR/mislinks.ndjson lists them: {"customer", "meter",
 * "recorded_transformer", "true_transformer"}. Without either option nothing
 * of this is written and the city is the same as ever.
 *
 * Exit status: 0 success, 1 I/O error, 2 usage error.
 *
 * One file of about 1,550 lines, on purpose: it is one pass over one tree,
 * and its parts (the tree, the lines it writes, the faults and mislinks it
 * plants) share the branch being built. The readings, a second pass a day at
 * a time, are in citygen_readings.c. Its lines are written from templates, and
 * tests/unit/model/test_catalogue.c holds every line of a city it makes to
 * the platforms' declarations (each field declared, each required one
 * written), so a template cannot drift from them unseen. */
#include "citygen_readings.h"
#include "model/bizcode.h"
#include "model/breaks.h"
#include "base/core.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define EXIT_IO 1
#define EXIT_USAGE 2
#define MIN_CUSTOMERS 100LL
#define MAX_CUSTOMERS 10000000LL

/* The shape of the low-voltage tree. */
#define LINES_PER_SS 20
#define TRS_PER_LINE 12
#define APS_PER_TR 4
#define MIN_BOXES_PER_AP 2 /* 2 or 3, drawn per access point */
#define METERS_PER_BOX 4
/* The fewest customers a full line or substation can carry: bounds the
 * counts that are not known until the tree is built. */
#define MIN_PER_AP (MIN_BOXES_PER_AP * METERS_PER_BOX)
#define MIN_PER_LINE (TRS_PER_LINE * APS_PER_TR * MIN_PER_AP)
#define MIN_PER_SS (LINES_PER_SS * MIN_PER_LINE)

#define HV_PER_HUNDRED 1
#define DEDICATED_LINE_EVERY 10 /* of the HV customers: the 1st, 11th, 21st... */
#define BACKUP_EVERY 2          /* of the HV customers: the 1st, 3rd, 5th... */
#define NONRESIDENT_EVERY 10    /* of the LV customers: 90% residents */
#define CUSTOMERS_PER_PLANT 5000
#define UNITS_PER_PLANT 2
#define CUSTOMERS_PER_PILE 200

#define EPOCH_MS 1767225600000ULL /* 2026-01-01T00:00:00Z */

#define MAX_READING_DAYS 366
#define READINGS_FROM "2026-11-01"
#define LV_PER_MISLINK 200 /* room enough to pass over vacant customers and a line's first area */

/* Hangzhou, in micro-degrees so that positions print exactly with 6 decimals. */
#define LON_MIN 119900000
#define LON_SPAN 600000
#define LAT_MIN 30000000
#define LAT_SPAN 500000

/* ---- outputs, in load order ------------------------------------------------ */

/* Collections first (grid, then cust), then relations (grid, then cust): each
 * file refers only to objects of files above it. */
enum {
    O_SS, O_LN, O_TR, O_PL, O_AP, O_SW,
    O_CU, O_SP, O_MP, O_MB, O_MT, O_TB, O_LB, O_BG, O_PP, O_GU, O_CP,
    R_SS_LN, R_LN_LN, R_LN_TR, R_AP_TR, R_AP_MB, R_EQ_SP, R_EQ_MP, R_TR_CU,
    R_MT_MB, R_MT_MP, R_SP_MP,
    N_OUT
};

/* A collection by its prefix, a relation by its kind; the registry in
 * common/model/bizcode.c gives the owner, the collection path and the file name. */
static const struct {
    const char *prefix, *kind;
} out_specs[N_OUT] = {
    [O_SS] = {"SS", NULL}, [O_LN] = {"LN", NULL}, [O_TR] = {"TR", NULL},
    [O_PL] = {"PL", NULL}, [O_AP] = {"AP", NULL}, [O_SW] = {"SW", NULL},
    [O_CU] = {"CU", NULL},
    [O_SP] = {"SP", NULL}, [O_MP] = {"MP", NULL}, [O_MB] = {"MB", NULL},
    [O_MT] = {"MT", NULL}, [O_TB] = {"TB", NULL}, [O_LB] = {"LB", NULL},
    [O_BG] = {"BG", NULL}, [O_PP] = {"PP", NULL}, [O_GU] = {"GU", NULL},
    [O_CP] = {"CP", NULL},
    [R_SS_LN] = {NULL, "substation-line"},
    [R_LN_LN] = {NULL, "line-line"},
    [R_LN_TR] = {NULL, "line-transformer"},
    [R_AP_TR] = {NULL, "accesspoint-transformer"},
    [R_AP_MB] = {NULL, "accesspoint-meterbox"},
    [R_EQ_SP] = {NULL, "equipment-supplypoint"},
    [R_EQ_MP] = {NULL, "equipment-meteringpoint"}, /* check points: with --readings only */
    [R_TR_CU] = {NULL, "transformer-customer"},
    [R_MT_MB] = {NULL, "meter-meterbox"},
    [R_MT_MP] = {NULL, "meter-meteringpoint"},
    [R_SP_MP] = {NULL, "supplypoint-meteringpoint"},
};

enum { S_LV, S_HV, S_LN, S_SS, S_MB, S_AP, S_TIE, N_SAMPLE };

static const struct {
    const char *file;
    long long limit;
} sample_specs[N_SAMPLE] = {
    [S_LV] = {"customers_lv.txt", 100000}, [S_HV] = {"customers_hv.txt", 10000},
    [S_LN] = {"lines.txt", 10000},         [S_SS] = {"substations.txt", LLONG_MAX},
    [S_MB] = {"meter_boxes.txt", 10000},   [S_AP] = {"access_points.txt", 10000},
    [S_TIE] = {"tie_switches.txt", 10000},
};

typedef struct {
    FILE *f;
    char *path; /* as given on the command line, for messages */
    char *rel;  /* relative to DIR, as load-order.tsv and city.json name it */
    long long rows;
} output;

/* ---- names ----------------------------------------------------------------- */

static const char *const districts[] = {"上城", "拱墅", "西湖", "滨江", "萧山", "余杭",
                                        "临平", "钱塘", "富阳", "临安", "城东", "城西",
                                        "城北", "城南", "下沙", "九堡"};
static const char *const surnames[] = {"王", "李", "张", "刘", "陈", "杨", "黄", "赵",
                                       "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
                                       "何", "林", "罗", "高", "郑", "梁", "谢", "宋"};
static const char *const given_names[] = {"伟", "芳", "娜", "敏", "静", "丽", "强", "磊",
                                          "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
                                          "超", "秀英", "华", "平", "建国", "晓东", "海燕",
                                          "志强"};
static const char *const shops[] = {"便利店", "餐馆", "理发店", "药店", "超市",
                                    "茶馆",   "花店", "五金店", "水果店", "面馆"};
static const char *const firms[] = {"恒达", "华盛", "东方", "新光", "海天", "金鹰",
                                    "宏远", "钱江", "之江", "西子", "天成", "运河"};
static const char *const industries[] = {"机械", "纺织", "化工", "电子", "食品",
                                         "印染", "塑料", "物流", "医药", "建材"};
static const char *const makers[] = {"之江仪表", "钱塘电气", "西溪计量",
                                     "运河电子", "湘湖智能", "良渚仪器"};
static const int hv_capacities[] = {800, 1000, 1250, 1600, 2000, 2500};

/* Plant kinds, weighted by repetition: mostly rooftop and ground PV. */
static const struct {
    const char *kind, *zh;
    int min_kw, max_kw;
} plant_kinds[] = {
    {"pv", "光伏电站", 500, 20000},    {"pv", "光伏电站", 500, 20000},
    {"pv", "光伏电站", 500, 20000},    {"wind", "风电场", 10000, 50000},
    {"hydro", "水电站", 2000, 30000},  {"biomass", "生物质电厂", 5000, 30000},
    {"storage", "储能电站", 1000, 20000},
};

#define PICK(rng, list) ((list)[next_below((rng), ARRAY_LEN(list))])

/* ---- randomness ------------------------------------------------------------ */

/* splitmix64 (Steele, Lea, Flood): one 64-bit state, good enough mixing for
 * test data, and trivially reproducible on every platform. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t splitmix64(uint64_t *state)
{
    return mix64(*state += 0x9E3779B97F4A7C15ULL);
}

/* Uniform enough in 0..n-1 for the small n used here. */
static unsigned next_below(uint64_t *rng, size_t n)
{
    return (unsigned)(splitmix64(rng) % n);
}

static int next_between(uint64_t *rng, int lo, int hi)
{
    return lo + (int)next_below(rng, (size_t)(hi - lo + 1));
}

/* ---- planted faults: what and where ------------------------------------------ */

/* The populations faults are planted in, each counted as it is built. Their
 * sizes are known, or bounded below, before the tree is built, so the faults
 * spread over the whole of each. */
enum { POP_LV, POP_HV, POP_BOX, POP_AP, POP_TR, POP_LINE, N_POPS };

/* How many sites share each population: they take turns, so that no object
 * carries two faults (which of the two the report found would depend on the
 * order it looks in, and a retired customer's supply point is no longer
 * checked at all). */
static const int pop_shares[N_POPS] = {
    [POP_LV] = 3, [POP_HV] = 5, [POP_BOX] = 1, [POP_AP] = 2, [POP_TR] = 1, [POP_LINE] = 1,
};

/* A site: one kind of fault on one population, at its turn. dangling_code has
 * two, a grid link naming a meter box that does not exist and a billing naming
 * a line that does not exist; half: 1 takes the first ceil(F/2), 2 the other
 * floor(F/2), 0 all F. */
enum {
    SITE_CU_NO_MP, SITE_MP_NO_MT, SITE_MT_NO_MB,
    SITE_CU_NO_SP, SITE_SP_NO_EQ, SITE_TR_NO_CU, SITE_RETIRED, SITE_BILL_DANGLING,
    SITE_MB_NO_AP, SITE_AP_NO_TR, SITE_AP_DANGLING, SITE_TR_NO_LN, SITE_LN_NO_SS,
    N_SITES
};

static const struct {
    break_kind kind;
    int pop, turn, half;
} sites[N_SITES] = {
    [SITE_CU_NO_MP] = {BREAK_CUSTOMER_WITHOUT_METERING_POINT, POP_LV, 0, 0},
    [SITE_MP_NO_MT] = {BREAK_METERING_POINT_WITHOUT_METER, POP_LV, 1, 0},
    [SITE_MT_NO_MB] = {BREAK_METER_WITHOUT_BOX, POP_LV, 2, 0},
    [SITE_CU_NO_SP] = {BREAK_CUSTOMER_WITHOUT_SUPPLY_POINT, POP_HV, 0, 0},
    [SITE_SP_NO_EQ] = {BREAK_SUPPLY_POINT_WITHOUT_EQUIPMENT, POP_HV, 1, 0},
    [SITE_TR_NO_CU] = {BREAK_DEDICATED_TRANSFORMER_WITHOUT_CUSTOMER, POP_HV, 2, 0},
    [SITE_RETIRED] = {BREAK_RETIRED_BUT_LINKED, POP_HV, 3, 0},
    [SITE_BILL_DANGLING] = {BREAK_DANGLING_CODE, POP_HV, 4, 2},
    [SITE_MB_NO_AP] = {BREAK_BOX_WITHOUT_ACCESS_POINT, POP_BOX, 0, 0},
    [SITE_AP_NO_TR] = {BREAK_ACCESS_POINT_WITHOUT_TRANSFORMER_AREA, POP_AP, 0, 0},
    [SITE_AP_DANGLING] = {BREAK_DANGLING_CODE, POP_AP, 1, 1},
    [SITE_TR_NO_LN] = {BREAK_TRANSFORMER_WITHOUT_LINE, POP_TR, 0, 0},
    [SITE_LN_NO_SS] = {BREAK_LINE_WITHOUT_SUBSTATION, POP_LINE, 0, 0},
};

/* Files of a city with faults, beside the NDJSON. */
enum { X_FAULTS, X_RETIRE, X_LEGACY_GRID, X_LEGACY_CUST, N_EXTRA };
static const char *const extra_files[N_EXTRA] = {
    [X_FAULTS] = "faults.ndjson", [X_RETIRE] = "retire.tsv",
    [X_LEGACY_GRID] = "legacy/grid.sql", [X_LEGACY_CUST] = "legacy/cust.sql",
};

/* Codes that name nothing: far from any object's index, so never minted for
 * a row of the city. */
#define PHANTOM_INDEX 1000000000000ULL

/* ---- the city under construction ------------------------------------------- */

typedef struct {
    int32_t lon, lat; /* micro-degrees */
} point;

/* A public line that a line built later may be tied to ("" code: none, as
 * for a line planted without its substation: nothing may feed it). */
typedef struct {
    char code[BIZCODE_LEN + 1];
    char name[64];
} tie_end;

/* The node of the branch being built and how many children it has so far. */
typedef struct {
    char code[BIZCODE_LEN + 1];
    int children;
} node;

/* A meter box a mislinked meter may be recorded in: linked up to its
 * public transformer, on a known line of a known substation. */
typedef struct {
    char box[BIZCODE_LEN + 1], tr[BIZCODE_LEN + 1], line[BIZCODE_LEN + 1], ss[BIZCODE_LEN + 1];
} box_place;

typedef struct {
    long long customers, n_lv, n_hv, n_piles;
    uint64_t seed, rng;
    unsigned city_no; /* in account and asset numbers: cities of other seeds do not collide */
    output out[N_OUT], sample[N_SAMPLE];
    long long sample_seen[N_SAMPLE]; /* candidates offered, for even spreading */
    long long sample_total[N_SAMPLE];

    /* Substations sit at the centres of a grid of cells over the city and
     * what they feed stays inside their cell, so the nearest substation of
     * anything is the one it hangs under. */
    int grid_cols, grid_cells, cell_w, cell_h;
    point ss_at;

    node ss, line, tr, ap, box;
    /* The public lines of the last grid_cols + 1 substations, by substation
     * index modulo grid_cols + 1: the one before in the row and the one
     * above are both among them, and neither is the one being built. */
    tie_end (*tie_ends)[LINES_PER_SS];
    int box_quota;        /* meter boxes of the current access point: 2 or 3 */
    int line_aps;         /* access points on the current line, for pole numbers */
    char ss_name[32];     /* 滨江3 */
    char line_name[64];   /* 滨江3-7线 */
    char pole_name[96];   /* 滨江3-7线 17号杆 */
    long long hv_done;

    /* --faults: how many of each kind, how many planted so far per site,
     * objects seen per population, and whether the branch being built is
     * linked upward (so that a fault's place is known as the report sees it). */
    long long faults;
    long long planted[N_SITES];
    long long seen[N_POPS];
    int line_up, tr_up, ap_up;
    output extra[N_EXTRA];

    /* --readings: the readings (NULL without), the area being built. */
    readings *rd;
    long long area;
    output readings_out;

    /* --mislinks: how many, how many are due (their turn came, but no
     * customer fit yet) and planted; the last box built that a meter may be
     * recorded in, and the last one of the transformer before the current
     * one on its line, and of the line before the current one. */
    long long mislinks, mislinks_due, mislinked;
    box_place last_box, before_tr, before_line;
    output mislinks_out;
} city;

/* The code of object `index` of a type. */
static void mint_at(const city *c, const char *prefix, uint64_t index, char code[BIZCODE_LEN + 1])
{
    uint64_t ms = EPOCH_MS + index;
    uint64_t state = mix64(c->seed ^ mix64(((uint64_t)(unsigned char)prefix[0] << 56) ^
                                           ((uint64_t)(unsigned char)prefix[1] << 48) ^ index));
    uint64_t hi = splitmix64(&state), lo = splitmix64(&state);
    uint8_t value[16];
    for (int i = 0; i < 6; i++) value[i] = (uint8_t)(ms >> (8 * (5 - i)));
    for (int i = 0; i < 8; i++) value[6 + i] = (uint8_t)(hi >> (8 * (7 - i)));
    value[14] = (uint8_t)(lo >> 56);
    value[15] = (uint8_t)(lo >> 48);
    bizcode_format(prefix, value, code);
}

/* Codes of a type are minted in row order, so the row about to be written is
 * the object's index. */
static void mint(city *c, int o, char code[BIZCODE_LEN + 1])
{
    mint_at(c, out_specs[o].prefix, (uint64_t)c->out[o].rows, code);
}

/* The stream for the next row of output o. */
static FILE *row(city *c, int o)
{
    c->out[o].rows++;
    return c->out[o].f;
}

static void put_location(FILE *f, point p)
{
    fprintf(f, ",\"location\":{\"lon\":%d.%06d,\"lat\":%d.%06d}", p.lon / 1000000,
            p.lon % 1000000, p.lat / 1000000, p.lat % 1000000);
}

/* A link with no attributes (substation-line and line-line name a switch:
 * source_link, tie). */
static void relate(city *c, int r, const char *from, const char *to)
{
    fprintf(row(c, r), "{\"from\":\"%s\",\"to\":\"%s\"}\n", from, to);
}

/* A switch at p, open or closed in the normal arrangement (常开/常闭). */
static void write_switch(city *c, char code[BIZCODE_LEN + 1], const char *name, const char *kind,
                         int normal_open, point p)
{
    mint(c, O_SW, code);
    FILE *f = row(c, O_SW);
    fprintf(f, "{\"code\":\"%s\",\"name\":\"%s\",\"kind\":\"%s\",\"normal_open\":%s", code,
            name, kind, normal_open ? "true" : "false");
    put_location(f, p);
    fputs("}\n", f);
}

/* The current substation's link to line ln (10kV line_name), through the
 * line's outgoing breaker 出线断路器 at the substation, normally closed. */
static void source_link(city *c, const char *ln, const char *line_name)
{
    char sw[BIZCODE_LEN + 1], name[128];
    snprintf(name, sizeof name, "10kV %s 出线断路器", line_name);
    write_switch(c, sw, name, "breaker", 0, c->ss_at);
    fprintf(row(c, R_SS_LN),
            "{\"from\":\"%s\",\"to\":\"%s\",\"role\":\"source\",\"switch\":\"%s\"}\n",
            c->ss.code, ln, sw);
}

/* True for k of the indexes 0..m-1, evenly spread over them. */
static int spread_pick(long long i, long long m, long long k)
{
    if (k >= m) return 1;
    return (i + 1) * k / m > i * k / m;
}

/* Offers one candidate code to sample s. sample_total[s] is how many the
 * whole run will offer, or an upper bound where the tree decides that: the
 * picks then fall short of the limit but still cover the whole city. */
static void sample(city *c, int s, const char *code)
{
    long long i = c->sample_seen[s]++;
    if (!spread_pick(i, c->sample_total[s], sample_specs[s].limit)) return;
    if (c->sample[s].rows >= sample_specs[s].limit) return;
    c->sample[s].rows++;
    fprintf(c->sample[s].f, "%s\n", code);
}

/* ---- planting faults --------------------------------------------------------- */

/* Each population's size, or a bound below it where the tree decides: an
 * access point feeds at most 3 boxes of 4 meters, a transformer 4 access
 * points, a line 12 transformers. */
static long long pop_size(const city *c, int pop)
{
    switch (pop) {
    case POP_LV: return c->n_lv;
    case POP_HV: return c->n_hv;
    case POP_BOX: return (c->n_lv + METERS_PER_BOX - 1) / METERS_PER_BOX;
    case POP_AP: return c->n_lv / ((MIN_BOXES_PER_AP + 1) * METERS_PER_BOX);
    case POP_TR: return c->n_lv / (APS_PER_TR * (MIN_BOXES_PER_AP + 1) * METERS_PER_BOX);
    default: return c->n_lv / (TRS_PER_LINE * APS_PER_TR * (MIN_BOXES_PER_AP + 1) * METERS_PER_BOX);
    }
}

/* The most faults of each kind the city has room for: every site of a
 * population needs its own object in each stretch of it. */
static long long max_faults(const city *c)
{
    long long most = LLONG_MAX;
    for (int p = 0; p < N_POPS; p++) {
        long long room = pop_size(c, p) / pop_shares[p];
        if (room < most) most = room;
    }
    return most;
}

static long long site_count(const city *c, int s)
{
    return sites[s].half == 0 ? c->faults : sites[s].half == 1 ? (c->faults + 1) / 2 : c->faults / 2;
}

/* The index, in its population, of the j-th object site s goes on: the
 * population cut into F stretches, the sites at even turns in each. */
static long long site_slot(const city *c, int s, long long j)
{
    int share = pop_shares[sites[s].pop];
    long long gap = pop_size(c, sites[s].pop) / c->faults;
    return j * gap + sites[s].turn * gap / share + gap / (2 * share);
}

/* Does site s plant its next fault on object `index` of its population? */
static int plant(city *c, int s, long long index)
{
    if (!c->faults || c->planted[s] == site_count(c, s) ||
        index != site_slot(c, s, c->planted[s]))
        return 0;
    c->planted[s]++;
    return 1;
}

/* Where the report places a fault: the transformer area, line and
 * substation above it, as far as the links written go (NULL: none). */
typedef struct {
    const char *tr, *ln, *ss;
} place;

static const place nowhere = {NULL, NULL, NULL};

static place line_place(const city *c, const char *line, int linked)
{
    return (place){NULL, line, linked ? c->ss.code : NULL};
}

static place transformer_place(const city *c, const char *tr, const char *line, int line_linked)
{
    place p = line_place(c, line, line_linked);
    p.tr = tr;
    return p;
}

/* The access point being built: up through its transformer, if linked. */
static place access_point_place(const city *c)
{
    if (!c->ap_up) return nowhere;
    if (!c->tr_up) return (place){c->tr.code, NULL, NULL};
    return transformer_place(c, c->tr.code, c->line.code, c->line_up);
}

static void put_member(FILE *f, const char *key, const char *value, const char *sep)
{
    if (value)
        fprintf(f, "\"%s\":\"%s\"%s", key, value, sep);
    else
        fprintf(f, "\"%s\":null%s", key, sep);
}

/* One line of faults.ndjson. */
static void fault(city *c, int s, const char *code, const char *other, place at)
{
    FILE *f = c->extra[X_FAULTS].f;
    fprintf(f, "{\"kind\":\"%s\",", break_kinds[sites[s].kind]);
    put_member(f, "code", code, ",");
    put_member(f, "other", other, ",");
    put_member(f, "substation", at.ss, ",");
    put_member(f, "line", at.ln, ",");
    put_member(f, "transformer", at.tr, "}\n");
    c->extra[X_FAULTS].rows++;
}

/* A link from the access point being built to a meter box that does not
 * exist, as grid-svc's database would hold it had a legacy system put it
 * there (the API confirms every code with cust-svc first). */
static void dangling_meter_box(city *c)
{
    char mb[BIZCODE_LEN + 1];
    mint_at(c, "MB", PHANTOM_INDEX + (uint64_t)c->planted[SITE_AP_DANGLING], mb);
    fprintf(c->extra[X_LEGACY_GRID].f,
            "INSERT INTO rel_accesspoint_meterbox (from_code, to_code, created_by) "
            "VALUES ('%s', '%s', 'legacy');\n",
            c->ap.code, mb);
    c->extra[X_LEGACY_GRID].rows++;
    fault(c, SITE_AP_DANGLING, mb, c->ap.code, access_point_place(c));
}

/* A billing of customer cu naming a line that does not exist, the same way
 * into cust-svc's database. */
static void dangling_billing(city *c, const char *cu)
{
    char lb[BIZCODE_LEN + 1], ln[BIZCODE_LEN + 1];
    uint64_t k = PHANTOM_INDEX + (uint64_t)c->planted[SITE_BILL_DANGLING];
    mint_at(c, "LB", k, lb);
    mint_at(c, "LN", k, ln);
    fprintf(c->extra[X_LEGACY_CUST].f,
            "INSERT INTO line_billings (code, customer, line, updated_by) "
            "VALUES ('%s', '%s', '%s', 'legacy');\n",
            lb, cu, ln);
    c->extra[X_LEGACY_CUST].rows++;
    fault(c, SITE_BILL_DANGLING, ln, lb, nowhere);
}

/* A point in the current substation's cell, away from its edges. */
static point near_substation(city *c)
{
    point p = c->ss_at;
    p.lon += next_between(&c->rng, -c->cell_w * 9 / 20, c->cell_w * 9 / 20);
    p.lat += next_between(&c->rng, -c->cell_h * 9 / 20, c->cell_h * 9 / 20);
    return p;
}

static point anywhere(city *c)
{
    point p;
    p.lon = LON_MIN + next_between(&c->rng, 1000, LON_SPAN - 1000);
    p.lat = LAT_MIN + next_between(&c->rng, 1000, LAT_SPAN - 1000);
    return p;
}

/* Enough cells for the most substations the run can build, about 6:5 wide
 * as the city's box is, so no two substations share a centre. */
static void plan_grid(city *c)
{
    int cells = (int)(c->n_lv / MIN_PER_SS) + 1;
    int cols = (int)ceil(sqrt(cells * 1.2));
    int rows = (cells + cols - 1) / cols;
    c->grid_cols = cols;
    c->grid_cells = cols * rows;
    c->cell_w = LON_SPAN / cols;
    c->cell_h = LAT_SPAN / rows;
}

/* ---- the low-voltage tree, top-down ---------------------------------------- */

/* The centre of substation k's cell. */
static point substation_at(const city *c, long long k)
{
    int cell = (int)(k % c->grid_cells);
    return (point){LON_MIN + (cell % c->grid_cols) * c->cell_w + c->cell_w / 2,
                   LAT_MIN + (cell / c->grid_cols) * c->cell_h + c->cell_h / 2};
}

static void open_substation(city *c)
{
    int k = (int)c->out[O_SS].rows;
    c->ss_at = substation_at(c, k);
    memset(c->tie_ends[k % (c->grid_cols + 1)], 0, sizeof *c->tie_ends);
    snprintf(c->ss_name, sizeof c->ss_name, "%s%d", districts[k % ARRAY_LEN(districts)],
             k / (int)ARRAY_LEN(districts) + 1);
    mint(c, O_SS, c->ss.code);
    c->ss.children = 0;
    FILE *f = row(c, O_SS);
    fprintf(f, "{\"code\":\"%s\",\"name\":\"110kV %s号变\",\"voltage_kv\":110", c->ss.code,
            c->ss_name);
    put_location(f, c->ss_at);
    fputs("}\n", f);
    sample(c, S_SS, c->ss.code);
}

/* Ties the line being built to the line of the same number of its
 * neighbouring substation (see the top of this file), through a load switch
 * halfway between the two, normally open; and keeps the line for the lines
 * tied to it later. A line without its source link is tied to nothing. */
static void tie_line(city *c)
{
    long long k = c->out[O_SS].rows - 1;
    int m = c->ss.children - 1, slots = c->grid_cols + 1;
    tie_end *here = &c->tie_ends[k % slots][m];
    const tie_end *there = NULL;
    point there_at = c->ss_at;
    if (k == 0) {
        if (m % 2 == 1) there = &c->tie_ends[0][m - 1];
    } else {
        long long nb = k % c->grid_cols ? k - 1 : k - c->grid_cols;
        there = &c->tie_ends[nb % slots][m];
        there_at = substation_at(c, nb);
    }
    here->code[0] = '\0';
    if (!c->line_up) return;
    memcpy(here->code, c->line.code, sizeof here->code);
    snprintf(here->name, sizeof here->name, "%s", c->line_name);
    if (!there || !there->code[0]) return;
    char sw[BIZCODE_LEN + 1], name[160];
    snprintf(name, sizeof name, "%s–%s 联络开关", there->name, c->line_name);
    point mid = {(there_at.lon + c->ss_at.lon) / 2, (there_at.lat + c->ss_at.lat) / 2};
    write_switch(c, sw, name, "load_switch", 1, mid);
    fprintf(row(c, R_LN_LN), "{\"from\":\"%s\",\"to\":\"%s\",\"switch\":\"%s\"}\n",
            there->code, c->line.code, sw);
    sample(c, S_TIE, sw);
}

static void open_line(city *c)
{
    if (!c->ss.code[0] || c->ss.children == LINES_PER_SS) open_substation(c);
    c->ss.children++;
    snprintf(c->line_name, sizeof c->line_name, "%s-%d线", c->ss_name, c->ss.children);
    mint(c, O_LN, c->line.code);
    if (strcmp(c->last_box.ss, c->ss.code) == 0)
        c->before_line = c->last_box;
    else
        memset(&c->before_line, 0, sizeof c->before_line);
    c->line.children = 0;
    c->line_aps = 0;
    int tenths_km = next_between(&c->rng, 20, 120);
    fprintf(row(c, O_LN),
            "{\"code\":\"%s\",\"name\":\"10kV %s\",\"kind\":\"public\",\"voltage_kv\":10,"
            "\"length_km\":%d.%d}\n",
            c->line.code, c->line_name, tenths_km / 10, tenths_km % 10);
    c->line_up = !plant(c, SITE_LN_NO_SS, c->seen[POP_LINE]++);
    if (c->line_up)
        source_link(c, c->line.code, c->line_name);
    else
        fault(c, SITE_LN_NO_SS, c->line.code, NULL, line_place(c, c->line.code, 0));
    tie_line(c);
    sample(c, S_LN, c->line.code);
}

/* A transformer of either kind; the caller links it to its line. */
static void write_transformer(city *c, const char *code, const char *name, const char *kind,
                              int kva)
{
    FILE *f = row(c, O_TR);
    fprintf(f,
            "{\"code\":\"%s\",\"name\":\"%s\",\"kind\":\"%s\",\"capacity_kva\":%d,"
            "\"voltage_kv\":10,\"secondary_voltage_kv\":0.4",
            code, name, kind, kva);
    put_location(f, near_substation(c));
    fputs("}\n", f);
}

static void check_point(city *c, const char *tr_name);

static void open_transformer(city *c)
{
    if (!c->line.code[0] || c->line.children == TRS_PER_LINE) open_line(c);
    c->line.children++;
    char name[112];
    snprintf(name, sizeof name, "%s %d号公变", c->line_name, c->line.children);
    mint(c, O_TR, c->tr.code);
    c->tr.children = 0;
    write_transformer(c, c->tr.code, name, "public", next_below(&c->rng, 2) ? 630 : 400);
    c->tr_up = !plant(c, SITE_TR_NO_LN, c->seen[POP_TR]++);
    if (c->tr_up)
        relate(c, R_LN_TR, c->line.code, c->tr.code);
    else
        fault(c, SITE_TR_NO_LN, c->tr.code, NULL, (place){c->tr.code, NULL, NULL});
    if (strcmp(c->last_box.line, c->line.code) == 0)
        c->before_tr = c->last_box;
    else
        memset(&c->before_tr, 0, sizeof c->before_tr);
    if (c->rd) check_point(c, name);
}

/* An access point on a pole of its own, in the current transformer's area. */
static void open_access_point(city *c)
{
    if (!c->tr.code[0] || c->tr.children == APS_PER_TR) open_transformer(c);
    c->tr.children++;
    c->line_aps++;
    snprintf(c->pole_name, sizeof c->pole_name, "%s %d号杆", c->line_name, c->line_aps);
    char pole[BIZCODE_LEN + 1];
    mint(c, O_PL, pole);
    fprintf(row(c, O_PL), "{\"code\":\"%s\",\"name\":\"%s\",\"kind\":\"pole\",\"line\":\"%s\"}\n",
            pole, c->pole_name, c->line.code);
    mint(c, O_AP, c->ap.code);
    c->ap.children = 0;
    c->box_quota = MIN_BOXES_PER_AP + (int)next_below(&c->rng, 2);
    FILE *f = row(c, O_AP);
    fprintf(f, "{\"code\":\"%s\",\"name\":\"%s接入点\",\"pole\":\"%s\"", c->ap.code,
            c->pole_name, pole);
    put_location(f, near_substation(c));
    fputs("}\n", f);
    long long k = c->seen[POP_AP]++;
    c->ap_up = !plant(c, SITE_AP_NO_TR, k);
    if (c->ap_up)
        relate(c, R_AP_TR, c->ap.code, c->tr.code);
    else
        fault(c, SITE_AP_NO_TR, c->ap.code, NULL, nowhere);
    if (plant(c, SITE_AP_DANGLING, k)) dangling_meter_box(c);
    sample(c, S_AP, c->ap.code);
}

static void open_meter_box(city *c)
{
    if (!c->ap.code[0] || c->ap.children == c->box_quota) open_access_point(c);
    c->ap.children++;
    mint(c, O_MB, c->box.code);
    c->box.children = 0;
    long long n = c->out[O_MB].rows + 1;
    fprintf(row(c, O_MB),
            "{\"code\":\"%s\",\"name\":\"%s %d号表箱\",\"asset_no\":\"3340%04u%012lld\","
            "\"rows\":2,\"cols\":2}\n",
            c->box.code, c->pole_name, c->ap.children, c->city_no, n);
    if (plant(c, SITE_MB_NO_AP, c->seen[POP_BOX]++)) {
        fault(c, SITE_MB_NO_AP, c->box.code, NULL, nowhere);
    } else {
        relate(c, R_AP_MB, c->ap.code, c->box.code);
        if (c->ap_up && c->tr_up && c->line_up) {
            box_place *b = &c->last_box;
            memcpy(b->box, c->box.code, sizeof b->box);
            memcpy(b->tr, c->tr.code, sizeof b->tr);
            memcpy(b->line, c->line.code, sizeof b->line);
            memcpy(b->ss, c->ss.code, sizeof b->ss);
        }
    }
    sample(c, S_MB, c->box.code);
}

/* ---- customers --------------------------------------------------------------- */

/* The customer's metering point; account numbers follow the customer's
 * index, so they are unique. */
static void write_metering_point(city *c, const char *cu, const char *mp)
{
    long long account = c->out[O_CU].rows; /* the customer was just written */
    fprintf(row(c, O_MP),
            "{\"code\":\"%s\",\"name\":\"3301%04u%010lld 计量点\",\"customer\":\"%s\","
            "\"purpose\":\"billing\"}\n",
            mp, c->city_no, account, cu);
}

/* A meter on metering point mp. */
static void write_meter(city *c, const char *mp, const char *mt, int three, const char *maker)
{
    long long asset = c->out[O_MT].rows + 1;
    fprintf(row(c, O_MT),
            "{\"code\":\"%s\",\"asset_no\":\"3330%04u%012lld\",\"model\":\"%s\",\"phase\":\"%s\","
            "\"manufacturer\":\"%s\"}\n",
            mt, c->city_no, asset, three ? "DTZY1980" : "DDZY1980", three ? "three" : "single", maker);
    relate(c, R_MT_MP, mt, mp);
}

/* Draws one at a time: the order in which arguments are evaluated is
 * unspecified, and the output must not depend on the compiler. */
static void write_lv_customer(city *c, const char *cu, int resident)
{
    FILE *f = row(c, O_CU);
    long long account = c->out[O_CU].rows;
    const char *surname = PICK(&c->rng, surnames);
    const char *rest = resident ? PICK(&c->rng, given_names) : PICK(&c->rng, shops);
    if (resident) {
        unsigned mobile = next_below(&c->rng, 1000000000);
        fprintf(f,
                "{\"code\":\"%s\",\"name\":\"%s%s\",\"category\":\"lv_resident\","
                "\"phone\":\"13%09u\",\"account_no\":\"3301%04u%010lld\"}\n",
                cu, surname, rest, mobile, c->city_no, account);
    } else {
        unsigned local = next_below(&c->rng, 10000000);
        fprintf(f,
                "{\"code\":\"%s\",\"name\":\"%s记%s\",\"category\":\"lv_nonresident\","
                "\"phone\":\"0571-8%07u\",\"account_no\":\"3301%04u%010lld\"}\n",
                cu, surname, rest, local, c->city_no, account);
    }
}

static void charging_pile(city *c, const char *cu, const char *mp)
{
    char code[BIZCODE_LEN + 1];
    mint(c, O_CP, code);
    int dc = next_below(&c->rng, 5) == 0;
    FILE *f = row(c, O_CP);
    fprintf(f,
            "{\"code\":\"%s\",\"name\":\"充电桩 %lld\",\"customer\":\"%s\","
            "\"metering_point\":\"%s\",\"power_kw\":%d,\"kind\":\"%s\"}\n",
            code, c->out[O_CP].rows, cu, mp, dc ? 60 : 7, dc ? "dc" : "ac");
}

/* ---- mislinks ------------------------------------------------------------------ */

/* Mislink k's turn comes at the middle of its share of the LV customers. */
static long long mislink_slot(const city *c, long long k)
{
    return (2 * k + 1) * c->n_lv / (2 * c->mislinks);
}

/* Where a mislinked meter is recorded: a box of the transformer before the
 * current one on its line, or of the line before it in the substation;
 * turn by turn, where both are at hand. NULL: neither (the first area of a
 * substation). */
static const box_place *mislink_target(const city *c)
{
    int same_line = c->before_tr.box[0] && strcmp(c->before_tr.line, c->line.code) == 0;
    int next_line = c->before_line.box[0] && strcmp(c->before_line.ss, c->ss.code) == 0;
    if (same_line && (!next_line || c->mislinked % 2 == 0)) return &c->before_tr;
    return next_line ? &c->before_line : NULL;
}

/* The box meter mt of LV customer i is recorded in: its own, or, when a
 * mislink is due and the customer can carry one, another area's. */
static const char *recorded_box(city *c, long long i, const char *cu, const char *mt)
{
    if (!c->mislinks_due || readings_vacant(c->seed, i)) return c->box.code;
    const box_place *to = mislink_target(c);
    if (!to) return c->box.code;
    c->mislinks_due--;
    c->mislinked++;
    fprintf(c->mislinks_out.f,
            "{\"customer\":\"%s\",\"meter\":\"%s\",\"recorded_transformer\":\"%s\","
            "\"true_transformer\":\"%s\"}\n",
            cu, mt, to->tr, c->tr.code);
    c->mislinks_out.rows++;
    return to->box;
}

/* The check metering point 考核计量点 of the public transformer just built and
 * its check meter 考核表, which measures the whole area for the utility and
 * bills no one. */
static void check_point(city *c, const char *tr_name)
{
    char mp[BIZCODE_LEN + 1], mt[BIZCODE_LEN + 1];
    c->area = readings_area(c->rd);
    mint(c, O_MP, mp);
    fprintf(row(c, O_MP), "{\"code\":\"%s\",\"name\":\"%s 考核计量点\",\"purpose\":\"check\"}\n",
            mp, tr_name);
    relate(c, R_EQ_MP, c->tr.code, mp);
    mint(c, O_MT, mt);
    readings_check_meter(c->rd, c->area);
    write_meter(c, mp, mt, 1, makers[c->area % (long long)ARRAY_LEN(makers)]);
}

/* ---- customers' meters ------------------------------------------------------------ */

/* The metering point of low-voltage customer i, its meter and the meter's
 * place in the current box, but for what a fault planted here leaves out.
 * mp is "" when there is no metering point. */
static void lv_metering(city *c, long long i, const char *cu, int three, char mp[BIZCODE_LEN + 1])
{
    mp[0] = '\0';
    if (plant(c, SITE_CU_NO_MP, i)) {
        fault(c, SITE_CU_NO_MP, cu, NULL, nowhere);
        return;
    }
    mint(c, O_MP, mp);
    write_metering_point(c, cu, mp);
    if (plant(c, SITE_MP_NO_MT, i)) {
        fault(c, SITE_MP_NO_MT, mp, cu, nowhere);
        return;
    }
    char mt[BIZCODE_LEN + 1];
    mint(c, O_MT, mt);
    write_meter(c, mp, mt, three, PICK(&c->rng, makers));
    if (c->rd) readings_lv_meter(c->rd, i, !three, c->area);
    if (plant(c, SITE_MT_NO_MB, i))
        fault(c, SITE_MT_NO_MB, mt, mp, nowhere);
    else
        relate(c, R_MT_MB, mt, recorded_box(c, i, cu, mt));
}

/* Low-voltage customer i (0-based): a meter in the current meter box. */
static void lv_customer(city *c, long long i)
{
    if (!c->box.code[0] || c->box.children == METERS_PER_BOX) open_meter_box(c);
    c->box.children++;
    while (c->mislinked + c->mislinks_due < c->mislinks &&
           mislink_slot(c, c->mislinked + c->mislinks_due) <= i)
        c->mislinks_due++;
    int resident = i % NONRESIDENT_EVERY != NONRESIDENT_EVERY - 1;
    char cu[BIZCODE_LEN + 1], mp[BIZCODE_LEN + 1];
    mint(c, O_CU, cu);
    write_lv_customer(c, cu, resident);
    lv_metering(c, i, cu, !resident, mp);
    if (mp[0] && spread_pick(i, c->n_lv, c->n_piles)) charging_pile(c, cu, mp);
    sample(c, S_LV, cu);
}

/* A dedicated line from the current substation, for one HV customer. */
static void dedicated_line(city *c, const char *cu, long long j, char ln[BIZCODE_LEN + 1])
{
    mint(c, O_LN, ln);
    char name[64];
    snprintf(name, sizeof name, "%s专线%lld", c->ss_name, j / DEDICATED_LINE_EVERY + 1);
    int tenths_km = next_between(&c->rng, 5, 50);
    fprintf(row(c, O_LN),
            "{\"code\":\"%s\",\"name\":\"10kV %s\",\"kind\":\"dedicated\","
            "\"voltage_kv\":10,\"length_km\":%d.%d}\n",
            ln, name, tenths_km / 10, tenths_km % 10);
    source_link(c, ln, name);
    char lb[BIZCODE_LEN + 1];
    mint(c, O_LB, lb);
    fprintf(row(c, O_LB),
            "{\"code\":\"%s\",\"customer\":\"%s\",\"line\":\"%s\","
            "\"tariff\":\"大工业用电 1-10kV\",\"demand_charge\":\"capacity\"}\n",
            lb, cu, ln);
}

static void write_hv_customer(city *c, const char *cu, const char *name, int kva)
{
    unsigned phone = 80000000 + next_below(&c->rng, 10000000);
    FILE *f = row(c, O_CU);
    fprintf(f,
            "{\"code\":\"%s\",\"name\":\"%s\",\"category\":\"hv\",\"phone\":\"0571-%08u\","
            "\"account_no\":\"3301%04u%010lld\",\"contract_capacity_kva\":%d}\n",
            cu, name, phone, c->city_no, c->out[O_CU].rows, kva);
}

/* Supply point fed by the dedicated transformer (unless fed is 0: a fault),
 * measured at its metering point. */
static void hv_supply(city *c, const char *cu, const char *tr, const char *mp, int kva, int fed)
{
    char sp[BIZCODE_LEN + 1];
    mint(c, O_SP, sp);
    fprintf(row(c, O_SP),
            "{\"code\":\"%s\",\"name\":\"10kV 主供电源\",\"customer\":\"%s\",\"voltage_kv\":10,"
            "\"mode\":\"main\",\"capacity_kva\":%d}\n",
            sp, cu, kva);
    if (fed)
        relate(c, R_EQ_SP, tr, sp);
    else
        fault(c, SITE_SP_NO_EQ, sp, cu, nowhere);
    relate(c, R_SP_MP, sp, mp);
}

static void hv_billing(city *c, const char *cu, const char *tr)
{
    char code[BIZCODE_LEN + 1];
    mint(c, O_TB, code);
    fprintf(row(c, O_TB),
            "{\"code\":\"%s\",\"customer\":\"%s\",\"transformer\":\"%s\","
            "\"tariff\":\"大工业用电 1-10kV\",\"demand_charge\":\"capacity\"}\n",
            code, cu, tr);
}

static void backup_generator(city *c, const char *cu)
{
    char code[BIZCODE_LEN + 1];
    mint(c, O_BG, code);
    fprintf(row(c, O_BG),
            "{\"code\":\"%s\",\"name\":\"自备柴油发电机\",\"customer\":\"%s\",\"kind\":\"diesel\","
            "\"capacity_kw\":%d}\n",
            code, cu, 100 * next_between(&c->rng, 2, 10));
}

/* A customer to retire once loaded, while grid-svc's transformer-customer
 * link to it stays. */
static void retire_later(city *c, const char *cu, const char *tr, place at)
{
    fprintf(c->extra[X_RETIRE].f, "customers\t%s\n", cu);
    c->extra[X_RETIRE].rows++;
    fault(c, SITE_RETIRED, cu, tr, at);
}

/* High-voltage customer j (0-based), near the current substation. */
static void hv_customer(city *c, long long j)
{
    char cu[BIZCODE_LEN + 1], tr[BIZCODE_LEN + 1], mp[BIZCODE_LEN + 1], mt[BIZCODE_LEN + 1];
    char name[96], tr_name[112];
    const char *firm = PICK(&c->rng, firms);
    const char *industry = PICK(&c->rng, industries);
    snprintf(name, sizeof name, "杭州%s%s有限公司", firm, industry);
    snprintf(tr_name, sizeof tr_name, "%s 专变", name);
    int kva = PICK(&c->rng, hv_capacities);
    mint(c, O_CU, cu);
    write_hv_customer(c, cu, name, kva);

    char line[BIZCODE_LEN + 1];
    int line_linked = 1; /* a dedicated line always is */
    if (j % DEDICATED_LINE_EVERY == 0) {
        dedicated_line(c, cu, j, line);
    } else {
        memcpy(line, c->line.code, sizeof line);
        line_linked = c->line_up;
    }
    mint(c, O_TR, tr);
    write_transformer(c, tr, tr_name, "dedicated", kva);
    relate(c, R_LN_TR, line, tr);
    place at = transformer_place(c, tr, line, line_linked);
    if (plant(c, SITE_TR_NO_CU, j))
        fault(c, SITE_TR_NO_CU, tr, NULL, at);
    else
        relate(c, R_TR_CU, tr, cu);

    mint(c, O_MP, mp);
    mint(c, O_MT, mt);
    write_metering_point(c, cu, mp);
    write_meter(c, mp, mt, 1, PICK(&c->rng, makers));
    if (c->rd) readings_hv_meter(c->rd, j);
    if (plant(c, SITE_CU_NO_SP, j))
        fault(c, SITE_CU_NO_SP, cu, NULL, nowhere);
    else
        hv_supply(c, cu, tr, mp, kva, !plant(c, SITE_SP_NO_EQ, j));
    hv_billing(c, cu, tr);
    if (j % BACKUP_EVERY == 0) backup_generator(c, cu);
    if (plant(c, SITE_RETIRED, j)) retire_later(c, cu, tr, at);
    if (plant(c, SITE_BILL_DANGLING, j)) dangling_billing(c, cu);
    sample(c, S_HV, cu);
}

/* ---- plants ------------------------------------------------------------------ */

static void power_plant(city *c, long long k)
{
    char pp[BIZCODE_LEN + 1];
    mint(c, O_PP, pp);
    unsigned t = next_below(&c->rng, ARRAY_LEN(plant_kinds));
    int kw = 100 * (next_between(&c->rng, plant_kinds[t].min_kw, plant_kinds[t].max_kw) / 100);
    FILE *f = row(c, O_PP);
    fprintf(f, "{\"code\":\"%s\",\"name\":\"%s%s%lld号\",\"kind\":\"%s\",\"capacity_kw\":%d",
            pp, districts[k % (long long)ARRAY_LEN(districts)], plant_kinds[t].zh, k + 1,
            plant_kinds[t].kind, kw);
    put_location(f, anywhere(c));
    fputs("}\n", f);
    for (int u = 1; u <= UNITS_PER_PLANT; u++) {
        char gu[BIZCODE_LEN + 1];
        mint(c, O_GU, gu);
        fprintf(row(c, O_GU),
                "{\"code\":\"%s\",\"name\":\"%d号机组\",\"plant\":\"%s\",\"capacity_kw\":%d}\n",
                gu, u, pp, kw / UNITS_PER_PLANT);
    }
}

/* ---- the whole run ----------------------------------------------------------- */

/* HV customer j goes in after LV customer hv_slot(j): the middle of its
 * share of the LV customers, so both kinds spread over every substation. */
static long long hv_slot(const city *c, long long j)
{
    return (2 * j + 1) * c->n_lv / (2 * c->n_hv);
}

/* A write error shows in ferror long before the files are closed; checking
 * once per substation stops a full disk from costing the rest of the run. */
static const output *failed_output(const city *c)
{
    for (int o = 0; o < N_OUT; o++)
        if (c->out[o].f && ferror(c->out[o].f)) return &c->out[o];
    for (int s = 0; s < N_SAMPLE; s++)
        if (ferror(c->sample[s].f)) return &c->sample[s];
    for (int x = 0; x < N_EXTRA; x++)
        if (c->extra[x].f && ferror(c->extra[x].f)) return &c->extra[x];
    if (c->mislinks_out.f && ferror(c->mislinks_out.f)) return &c->mislinks_out;
    return NULL;
}

static const output *generate(city *c)
{
    for (long long i = 0; i < c->n_lv; i++) {
        long long ss_before = c->out[O_SS].rows;
        lv_customer(c, i);
        while (c->hv_done < c->n_hv && hv_slot(c, c->hv_done) <= i)
            hv_customer(c, c->hv_done++);
        if (c->out[O_SS].rows != ss_before) {
            const output *bad = failed_output(c);
            if (bad) return bad;
        }
    }
    long long plants = c->customers / CUSTOMERS_PER_PLANT;
    for (long long k = 0; k < (plants > 0 ? plants : 1); k++) power_plant(c, k);
    return failed_output(c);
}

static void meter_code(const void *ctx, uint64_t index, char *code)
{
    mint_at(ctx, "MT", index, code);
}

/* The second pass: every meter's readings, a day at a time. */
static const output *write_readings(city *c)
{
    if (!c->rd) return NULL;
    c->readings_out.rows = readings_write(c->rd, c->readings_out.f, meter_code, c);
    return ferror(c->readings_out.f) ? &c->readings_out : NULL;
}

/* ---- files ------------------------------------------------------------------- */

static int make_dir(const char *path)
{
    if (mkdir(path, 0777) == 0 || errno == EEXIST) return OK;
    fprintf(stderr, "citygen: %s: %s\n", path, strerror(errno));
    return ERR;
}

static int make_dirs(const char *dir, int faults)
{
    static const char *const subdirs[] = {"", "/grid", "/cust", "/grid/rel", "/cust/rel",
                                          "/sample", "/legacy"};
    for (size_t i = 0; i < ARRAY_LEN(subdirs) - !faults; i++) {
        char *path = xasprintf("%s%s", dir, subdirs[i]);
        int rc = make_dir(path);
        free(path);
        if (rc != OK) return ERR;
    }
    return OK;
}

/* Is output o written at all? The check points' links come with readings. */
static int present(const city *c, int o)
{
    return o != R_EQ_MP || c->rd;
}

static service_id out_owner(int o)
{
    return out_specs[o].prefix ? biz_type_by_prefix(out_specs[o].prefix)->owner
                               : biz_relation_by_kind(out_specs[o].kind)->owner;
}

static const char *svc_dir(service_id id)
{
    return id == SVC_GRID ? "grid" : "cust";
}

/* grid/access_points.ndjson for AP, grid/rel/substation-line.ndjson for a link. */
static char *out_rel_path(int o)
{
    const char *svc = svc_dir(out_owner(o));
    if (out_specs[o].kind) return xasprintf("%s/rel/%s.ndjson", svc, out_specs[o].kind);
    char *p = xasprintf("%s/%s.ndjson", svc, biz_type_by_prefix(out_specs[o].prefix)->collection);
    for (char *s = p + strlen(svc) + 1; *s; s++)
        if (*s == '-') *s = '_';
    return p;
}

/* Big buffers: the run is a few million short lines into a few dozen files. */
static int open_output(output *out, const char *dir, char *rel)
{
    out->rel = rel;
    out->path = xasprintf("%s/%s", dir, rel);
    out->f = fopen(out->path, "w");
    if (!out->f) {
        fprintf(stderr, "citygen: %s: %s\n", out->path, strerror(errno));
        return ERR;
    }
    setvbuf(out->f, NULL, _IOFBF, 1 << 16);
    return OK;
}

static int open_all(city *c, const char *dir)
{
    for (int o = 0; o < N_OUT; o++)
        if (present(c, o) && open_output(&c->out[o], dir, out_rel_path(o)) != OK) return ERR;
    for (int s = 0; s < N_SAMPLE; s++)
        if (open_output(&c->sample[s], dir, xasprintf("sample/%s", sample_specs[s].file)) != OK)
            return ERR;
    for (int x = 0; x < N_EXTRA && c->faults; x++)
        if (open_output(&c->extra[x], dir, xstrdup(extra_files[x])) != OK) return ERR;
    if (c->rd && open_output(&c->readings_out, dir, xstrdup("cust/readings.ndjson")) != OK)
        return ERR;
    if (c->mislinks && open_output(&c->mislinks_out, dir, xstrdup("mislinks.ndjson")) != OK)
        return ERR;
    return OK;
}

/* Closes f and reports a write error, naming the file. ferror does not keep
 * the cause; errno still holds it when the last write failed. */
static int close_file(FILE *f, const char *path)
{
    errno = 0;
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        fprintf(stderr, "citygen: %s: %s\n", path, errno ? strerror(errno) : "write error");
        return ERR;
    }
    return OK;
}

static int close_output(output *out, int report)
{
    if (!out->f) return OK;
    int rc = report ? close_file(out->f, out->path) : (fclose(out->f), OK);
    out->f = NULL;
    return rc;
}

/* report is 0 after a failure already reported: the rest only needs closing. */
static int close_all(city *c, int report)
{
    int rc = OK;
    for (int o = 0; o < N_OUT; o++)
        if (close_output(&c->out[o], report) != OK) rc = ERR;
    for (int s = 0; s < N_SAMPLE; s++)
        if (close_output(&c->sample[s], report) != OK) rc = ERR;
    for (int x = 0; x < N_EXTRA; x++)
        if (close_output(&c->extra[x], report) != OK) rc = ERR;
    if (close_output(&c->readings_out, report) != OK) rc = ERR;
    if (close_output(&c->mislinks_out, report) != OK) rc = ERR;
    return rc;
}

static void free_all(city *c)
{
    free(c->tie_ends);
    for (int o = 0; o < N_OUT; o++) {
        free(c->out[o].path);
        free(c->out[o].rel);
    }
    for (int s = 0; s < N_SAMPLE; s++) {
        free(c->sample[s].path);
        free(c->sample[s].rel);
    }
    for (int x = 0; x < N_EXTRA; x++) {
        free(c->extra[x].path);
        free(c->extra[x].rel);
    }
    free(c->readings_out.path);
    free(c->readings_out.rel);
    free(c->mislinks_out.path);
    free(c->mislinks_out.rel);
    readings_free(c->rd);
}

static void write_load_order(const city *c, FILE *f)
{
    for (int o = 0; o < N_OUT; o++) {
        if (!present(c, o)) continue;
        const char *svc = svc_dir(out_owner(o));
        if (out_specs[o].kind)
            fprintf(f, "%s\t/v1/relations/%s:import\t%s\t%lld\n", svc, out_specs[o].kind,
                    c->out[o].rel, c->out[o].rows);
        else
            fprintf(f, "%s\t/v1/%s:import\t%s\t%lld\n", svc,
                    biz_type_by_prefix(out_specs[o].prefix)->collection, c->out[o].rel,
                    c->out[o].rows);
    }
    /* Last: the import confirms every meter a reading names. */
    if (c->rd)
        fprintf(f, "cust\t/v1/readings:import\t%s\t%lld\n", c->readings_out.rel,
                c->readings_out.rows);
}

static void write_summary(const city *c, FILE *f)
{
    fprintf(f, "{\n  \"customers\": %lld,\n  \"seed\": %" PRIu64 ",\n  \"counts\": {\n",
            c->customers, c->seed);
    const char *sep = "";
    for (int o = 0; o < N_OUT; o++) {
        if (!present(c, o)) continue;
        fprintf(f, "%s    \"%s\": %lld", sep, c->out[o].rel, c->out[o].rows);
        sep = ",\n";
    }
    if (c->rd) fprintf(f, ",\n    \"%s\": %lld", c->readings_out.rel, c->readings_out.rows);
    fputs("\n  }", f);
    if (c->faults) fprintf(f, ",\n  \"faults\": %lld", c->faults);
    if (c->mislinks) fprintf(f, ",\n  \"mislinks\": %lld", c->mislinks);
    fputs("\n}\n", f);
}

static int write_file(const city *c, const char *dir, const char *name,
                      void (*writer)(const city *, FILE *))
{
    char *path = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    int rc = ERR;
    if (!f)
        fprintf(stderr, "citygen: %s: %s\n", path, strerror(errno));
    else {
        writer(c, f);
        rc = close_file(f, path);
    }
    free(path);
    return rc;
}

/* ---- arguments --------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f, "usage: citygen --customers N [--seed S] [--faults F] [--readings DAYS]\n"
               "               [--readings-from YYYY-MM-DD] [--missing-readings P]\n"
               "               [--mislinks M] --out DIR\n"
               "  N from %lld to %lld customers (1%% high voltage); S a non-negative integer,\n"
               "  default 1. Writes NDJSON for grid-svc and cust-svc under DIR; the same N and S\n"
               "  always give the same bytes. DIR/load-order.tsv lists the files in load order.\n"
               "  F broken links of every kind the integration report knows are planted, as\n"
               "  many as the city has room for; DIR/faults.ndjson lists them, and\n"
               "  DIR/retire.tsv and DIR/legacy/*.sql hold those the import API cannot load.\n"
               "  DAYS (up to %d) days of every meter's readings from YYYY-MM-DD (default\n"
               "  %s) go to DIR/cust/readings.ndjson, with a check meter on each public\n"
               "  transformer; P meter-days in a thousand are left out (default 0).\n"
               "  M low-voltage customers (one in %d at most) are recorded under a wrong\n"
               "  public transformer, listed in DIR/mislinks.ndjson.\n",
            MIN_CUSTOMERS, MAX_CUSTOMERS, MAX_READING_DAYS, READINGS_FROM, LV_PER_MISLINK);
}

/* A whole-string unsigned decimal, or ERR. */
static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (*s < '0' || *s > '9') return ERR; /* strtoull would take "-1" and " 1" */
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end != '\0') return ERR;
    *out = v;
    return OK;
}

typedef struct {
    long long customers;
    uint64_t seed;
    uint64_t faults;
    uint64_t days, missing, mislinks;
    long from; /* days since 1970-01-01 */
    const char *out;
} options;

/* The options of readings and mislinks; 1 when a is one of them, ERR when
 * its value is wrong. */
static int parse_readings_arg(const char *a, const char *v, options *opt)
{
    if (!strcmp(a, "--readings")) {
        if (parse_u64(v, &opt->days) == OK && opt->days <= MAX_READING_DAYS) return 1;
        fprintf(stderr, "citygen: --readings needs a number of days from 0 to %d\n",
                MAX_READING_DAYS);
    } else if (!strcmp(a, "--readings-from")) {
        if ((opt->from = readings_parse_day(v)) >= 0) return 1;
        fprintf(stderr, "citygen: --readings-from needs a date YYYY-MM-DD\n");
    } else if (!strcmp(a, "--missing-readings")) {
        if (parse_u64(v, &opt->missing) == OK && opt->missing <= 1000) return 1;
        fprintf(stderr, "citygen: --missing-readings needs a number from 0 to 1000\n");
    } else if (!strcmp(a, "--mislinks")) {
        if (parse_u64(v, &opt->mislinks) == OK && opt->mislinks <= (uint64_t)MAX_CUSTOMERS)
            return 1;
        fprintf(stderr, "citygen: --mislinks needs a non-negative integer\n");
    } else {
        return 0;
    }
    return ERR;
}

static int parse_args(int argc, char **argv, options *opt)
{
    uint64_t n = 0;
    opt->seed = 1;
    opt->from = readings_parse_day(READINGS_FROM);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "citygen: %s needs a value\n", a);
            return ERR;
        }
        int taken = parse_readings_arg(a, v, opt);
        if (taken == ERR) return ERR;
        if (taken) {
            i++;
            continue;
        }
        if (!strcmp(a, "--customers")) {
            if (parse_u64(v, &n) != OK || n < MIN_CUSTOMERS || n > MAX_CUSTOMERS) {
                fprintf(stderr, "citygen: --customers needs a number from %lld to %lld\n",
                        MIN_CUSTOMERS, MAX_CUSTOMERS);
                return ERR;
            }
        } else if (!strcmp(a, "--seed")) {
            if (parse_u64(v, &opt->seed) != OK) {
                fprintf(stderr, "citygen: --seed needs a non-negative integer\n");
                return ERR;
            }
        } else if (!strcmp(a, "--faults")) {
            if (parse_u64(v, &opt->faults) != OK || opt->faults > (uint64_t)MAX_CUSTOMERS) {
                fprintf(stderr, "citygen: --faults needs a non-negative integer\n");
                return ERR;
            }
        } else if (!strcmp(a, "--out")) {
            opt->out = *v ? v : NULL;
        } else {
            fprintf(stderr, "citygen: unknown argument '%s'\n", a);
            return ERR;
        }
        i++;
    }
    opt->customers = (long long)n;
    if (!n || !opt->out) {
        fprintf(stderr, "citygen: --customers and --out are required\n");
        return ERR;
    }
    return OK;
}

/* Counts that follow from N, and the sample totals (exact where the count is
 * known before the tree is built, an upper bound otherwise). */
static void plan(city *c, const options *opt)
{
    c->customers = opt->customers;
    c->seed = opt->seed;
    c->city_no = (unsigned)(opt->seed % 10000);
    c->rng = mix64(opt->seed ^ 0x6369747967656EULL); /* apart from the code streams */
    c->n_hv = c->customers * HV_PER_HUNDRED / 100;
    c->n_lv = c->customers - c->n_hv;
    c->n_piles = c->customers / CUSTOMERS_PER_PILE;
    if (c->n_piles < 1) c->n_piles = 1;
    c->sample_total[S_LV] = c->n_lv;
    c->sample_total[S_HV] = c->n_hv;
    c->sample_total[S_SS] = c->n_lv / MIN_PER_SS + 1;
    c->sample_total[S_LN] = c->n_lv / MIN_PER_LINE + 1;
    c->sample_total[S_AP] = c->n_lv / MIN_PER_AP + 1;
    c->sample_total[S_MB] = (c->n_lv + METERS_PER_BOX - 1) / METERS_PER_BOX;
    c->sample_total[S_TIE] = c->sample_total[S_LN]; /* a tie at most per public line */
    plan_grid(c);
    c->tie_ends = xcalloc((size_t)c->grid_cols + 1, sizeof *c->tie_ends);
    c->faults = (long long)opt->faults;
    c->mislinks = (long long)opt->mislinks;
    if (opt->days)
        c->rd = readings_new(opt->seed, (int)opt->days, opt->from, (int)opt->missing);
}

int main(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage(stdout);
        return 0;
    }
    options opt = {0};
    if (parse_args(argc, argv, &opt) != OK) {
        usage(stderr);
        return EXIT_USAGE;
    }
    static city c; /* zeroed: no branch open yet */
    plan(&c, &opt);
    if (c.faults > max_faults(&c)) {
        fprintf(stderr, "citygen: a city of %lld customers has room for at most %lld faults of "
                        "each kind\n", c.customers, max_faults(&c));
        free_all(&c);
        return EXIT_USAGE;
    }
    if (c.mislinks > c.n_lv / LV_PER_MISLINK) {
        fprintf(stderr, "citygen: a city of %lld customers has room for at most %lld mislinks\n",
                c.customers, c.n_lv / LV_PER_MISLINK);
        free_all(&c);
        return EXIT_USAGE;
    }
    int rc = EXIT_IO;
    if (make_dirs(opt.out, c.faults > 0) == OK && open_all(&c, opt.out) == OK) {
        const output *bad = generate(&c);
        if (!bad) bad = write_readings(&c);
        if (!bad && c.mislinked < c.mislinks)
            fprintf(stderr, "citygen: %lld of %lld mislinks found a place\n", c.mislinked,
                    c.mislinks);
        else if (bad)
            fprintf(stderr, "citygen: %s: %s\n", bad->path,
                    errno ? strerror(errno) : "write error");
        else if (close_all(&c, 1) == OK &&
                 write_file(&c, opt.out, "load-order.tsv", write_load_order) == OK &&
                 write_file(&c, opt.out, "city.json", write_summary) == OK)
            rc = 0;
    }
    close_all(&c, 0);
    free_all(&c);
    return rc;
}
