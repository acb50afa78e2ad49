/* bizcode.c -- business codes and the registry of object types (see bizcode.h, DESIGN §3). */
#include "model/bizcode.h"

#include "base/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uuid/uuid.h>

/* ---- registry (DESIGN §2) ---------------------------------------------- */

const biz_type biz_types[] = {
    {"SS", "substation", "substations", "变电站", SVC_GRID},
    {"LN", "line", "lines", "线路", SVC_GRID},
    {"TR", "transformer", "transformers", "变压器", SVC_GRID},
    {"SR", "station_room", "station-rooms", "站房", SVC_GRID},
    {"PL", "pole", "poles", "杆位/电缆分支箱", SVC_GRID},
    {"AP", "access_point", "access-points", "低压接入点", SVC_GRID},
    {"MR", "meter_box_resource", "meter-box-resources", "计量箱资源", SVC_GRID},
    {"SW", "switch", "switches", "开关", SVC_GRID},
    {"CU", "customer", "customers", "用户", SVC_CUST},
    {"AD", "address", "addresses", "结构化地址", SVC_CUST},
    {"SP", "supply_point", "supply-points", "电源点", SVC_CUST},
    {"MP", "metering_point", "metering-points", "计量点", SVC_CUST},
    {"MB", "meter_box", "meter-boxes", "计量箱", SVC_CUST},
    {"MT", "meter", "meters", "电能表", SVC_CUST},
    {"LB", "line_billing", "line-billings", "专线计费", SVC_CUST},
    {"TB", "transformer_billing", "transformer-billings", "专变计费", SVC_CUST},
    {"BG", "backup_generator", "backup-generators", "自备电源", SVC_CUST},
    {"PP", "power_plant", "power-plants", "电厂", SVC_CUST},
    {"GU", "generating_unit", "generating-units", "机组", SVC_CUST},
    {"CP", "charging_pile", "charging-piles", "充电桩", SVC_CUST},
    {"WO", "work_order", "work-orders", "工单", SVC_CUST},
    {"OG", "outage", "outages", "停电事件", SVC_CUST},
    {"NT", "notice", "notices", "停电通知", SVC_CUST},
    {"TC", "trouble_call", "trouble-calls", "故障报修", SVC_CUST},
};
const int biz_ntypes = (int)ARRAY_LEN(biz_types);
_Static_assert(ARRAY_LEN(biz_types) <= BIZ_TYPES_MAX, "a set of types must fit in BIZ_TYPES_MAX bits");

const biz_relation biz_relations[] = {
    {"substation-line", SVC_GRID},
    {"line-line", SVC_GRID},
    {"line-transformer", SVC_GRID},
    {"accesspoint-transformer", SVC_GRID},
    {"accesspoint-meterbox", SVC_GRID},
    {"meterboxresource-meterbox", SVC_GRID},
    {"equipment-supplypoint", SVC_GRID},
    {"transformer-customer", SVC_GRID},
    {"equipment-meteringpoint", SVC_GRID},
    {"supplypoint-meteringpoint", SVC_CUST},
    {"meter-meterbox", SVC_CUST},
    {"meter-meteringpoint", SVC_CUST},
};
const int biz_nrelations = (int)ARRAY_LEN(biz_relations);

const char *service_name(service_id id)
{
    switch (id) {
    case SVC_GRID: return "grid-svc";
    case SVC_CUST: return "cust-svc";
    }
    return "unknown-svc";
}

/* ASCII only: a locale must never make a non-ASCII byte count as a letter. */
static int ascii_letter(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static char ascii_upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

/* Accepts "TR" and also a whole code "TR-...", so callers holding a code
 * need not cut the prefix out first. Never reads past a terminator. */
const biz_type *biz_type_by_prefix(const char *prefix)
{
    if (!prefix || !ascii_letter((unsigned char)prefix[0]) ||
        !ascii_letter((unsigned char)prefix[1]))
        return NULL;
    if (prefix[2] != '\0' && prefix[2] != '-') return NULL;
    char p0 = ascii_upper(prefix[0]), p1 = ascii_upper(prefix[1]);
    for (int i = 0; i < biz_ntypes; i++)
        if (biz_types[i].prefix[0] == p0 && biz_types[i].prefix[1] == p1) return &biz_types[i];
    return NULL;
}

const biz_type *biz_type_by_collection(const char *collection)
{
    if (!collection) return NULL;
    for (int i = 0; i < biz_ntypes; i++)
        if (strcmp(biz_types[i].collection, collection) == 0) return &biz_types[i];
    return NULL;
}

const biz_relation *biz_relation_by_kind(const char *kind)
{
    if (!kind) return NULL;
    for (int i = 0; i < biz_nrelations; i++)
        if (strcmp(biz_relations[i].kind, kind) == 0) return &biz_relations[i];
    return NULL;
}

/* ---- base32 and the check symbol ------------------------------------------ */

static const char ALPHABET[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* Crockford decoding: case-insensitive, I/L read as 1 and O as 0 because
 * people mistype them; U is excluded from the alphabet. -1 for anything else. */
static int symbol_value(unsigned char c)
{
    if (c >= 'a' && c <= 'z') c = (unsigned char)(c - 'a' + 'A');
    if (c >= '0' && c <= '9') return c - '0';
    /* A..Z: the ALPHABET position, with O -> 0, I/L -> 1 and U refused. */
    static const signed char letters[26] = {10, 11, 12, 13, 14, 15, 16, 17, 1,  18, 19, 1,  20,
                                            21, 0,  22, 23, 24, 25, 26, -1, 27, 28, 29, 30, 31};
    return c >= 'A' && c <= 'Z' ? letters[c - 'A'] : -1;
}

/* Bit k of the 128-bit big-endian value, k = 0 the most significant. */
static int value_bit(const uint8_t value[16], int k)
{
    return (value[k / 8] >> (7 - k % 8)) & 1;
}

/* 26 symbols hold 130 bits: the value sits in the low 128, so the top two
 * bits are zero and the first symbol is 0-7, as in ULID. */
static void encode_body(const uint8_t value[16], char body[BIZCODE_BODY_LEN])
{
    for (int i = 0; i < BIZCODE_BODY_LEN; i++) {
        int v = 0;
        for (int b = 5 * i; b < 5 * i + 5; b++) v = (v << 1) | (b < 2 ? 0 : value_bit(value, b - 2));
        body[i] = ALPHABET[v];
    }
}

/* The inverse of encode_body; vals[0] must already be known to be <= 7. */
static void decode_body(const int vals[BIZCODE_BODY_LEN], uint8_t value[16])
{
    memset(value, 0, 16);
    for (int i = 0; i < BIZCODE_BODY_LEN; i++) {
        for (int j = 0; j < 5; j++) {
            int b = 5 * i + j - 2;
            if (b < 0 || !((vals[i] >> (4 - j)) & 1)) continue;
            value[b / 8] |= (uint8_t)(1u << (7 - b % 8));
        }
    }
}

/* Luhn mod 32 over symbol values. Doubling then folding is a bijection on
 * 0..31, which is why every single substituted symbol changes the sum. */
static int check_value(const int vals[BIZCODE_BODY_LEN])
{
    int sum = 0;
    for (int i = 0; i < BIZCODE_BODY_LEN; i++) {
        int factor = (i % 2 == 0) ? 2 : 1; /* i counts from the right */
        int p = vals[BIZCODE_BODY_LEN - 1 - i] * factor;
        sum += p / 32 + p % 32;
    }
    return (32 - sum % 32) % 32;
}

char bizcode_check_symbol(const char body[BIZCODE_BODY_LEN])
{
    int vals[BIZCODE_BODY_LEN];
    for (int i = 0; i < BIZCODE_BODY_LEN; i++) {
        int v = symbol_value((unsigned char)body[i]);
        vals[i] = v < 0 ? 0 : v; /* callers pass canonical bodies; junk must not index out */
    }
    return ALPHABET[check_value(vals)];
}

/* ---- formatting and minting ---------------------------------------------- */

void bizcode_format(const char *prefix, const uint8_t value[16], char out[BIZCODE_LEN + 1])
{
    out[0] = ascii_upper(prefix[0]);
    out[1] = prefix[0] ? ascii_upper(prefix[1]) : '\0';
    out[2] = '-';
    encode_body(value, out + 3);
    out[3 + BIZCODE_BODY_LEN] = bizcode_check_symbol(out + 3);
    out[BIZCODE_LEN] = '\0';
}

static uint64_t unix_millis(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* uuid_generate_random fixes the version nibble (byte 6) and the variant
 * bits (byte 8); the other 14 bytes are random, so take 10 of those.
 * libuuid draws from getrandom(), so this holds no state of ours and is
 * safe to call from several threads. */
static void random_80_bits(uint8_t out[10])
{
    uuid_t u;
    uuid_generate_random(u);
    memcpy(out, u, 6);
    out[6] = u[7];
    memcpy(out + 7, u + 9, 3);
}

void bizcode_mint(const char *prefix, char out[BIZCODE_LEN + 1])
{
    if (!biz_type_by_prefix(prefix)) {
        /* A caller bug, not bad input: codes of no type must never exist. */
        fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"bizcode_mint: unknown prefix\"}\n");
        abort();
    }
    uint8_t value[16];
    uint64_t ms = unix_millis();
    for (int i = 0; i < 6; i++) value[i] = (uint8_t)(ms >> (8 * (5 - i)));
    random_80_bits(value + 6);
    bizcode_format(prefix, value, out);
}

uint64_t bizcode_millis(const uint8_t value[16])
{
    uint64_t ms = 0;
    for (int i = 0; i < 6; i++) ms = (ms << 8) | value[i];
    return ms;
}

/* ---- parsing ------------------------------------------------------------- */

/* Each check reads only bytes already known to lie before the terminator. */
static biz_status parse_prefix(const char *in)
{
    if (!ascii_letter((unsigned char)in[0]) || !ascii_letter((unsigned char)in[1]) || in[2] != '-')
        return BIZ_BAD_PREFIX;
    return biz_type_by_prefix(in) ? BIZ_OK : BIZ_UNKNOWN_TYPE;
}

/* Decodes body and check symbol into vals[0..26]. */
static biz_status parse_symbols(const char *sym, int vals[BIZCODE_BODY_LEN + 1])
{
    for (int i = 0; i <= BIZCODE_BODY_LEN; i++) {
        vals[i] = symbol_value((unsigned char)sym[i]);
        if (vals[i] < 0) return BIZ_BAD_SYMBOL;
    }
    return BIZ_OK;
}

biz_status bizcode_parse(const char *in, char canon[BIZCODE_LEN + 1], uint8_t value[16])
{
    /* strnlen stops at BIZCODE_LEN + 1, so a huge input costs nothing. */
    if (!in || strnlen(in, BIZCODE_LEN + 1) != BIZCODE_LEN) return BIZ_BAD_LENGTH;
    biz_status st = parse_prefix(in);
    if (st != BIZ_OK) return st;
    int vals[BIZCODE_BODY_LEN + 1];
    st = parse_symbols(in + 3, vals);
    if (st != BIZ_OK) return st;
    if (vals[0] > 7) return BIZ_OVERFLOW;
    if (check_value(vals) != vals[BIZCODE_BODY_LEN]) return BIZ_BAD_CHECK;

    if (canon) {
        canon[0] = ascii_upper(in[0]);
        canon[1] = ascii_upper(in[1]);
        canon[2] = '-';
        for (int i = 0; i <= BIZCODE_BODY_LEN; i++) canon[3 + i] = ALPHABET[vals[i]];
        canon[BIZCODE_LEN] = '\0';
    }
    if (value) decode_body(vals, value);
    return BIZ_OK;
}

const char *bizcode_strerror(biz_status st)
{
    switch (st) {
    case BIZ_OK: return "ok";
    case BIZ_BAD_LENGTH:
        return "must be 30 characters: two-letter prefix, '-', 26 symbols and a check symbol";
    case BIZ_BAD_PREFIX: return "must start with a two-letter prefix and '-', like TR-";
    case BIZ_UNKNOWN_TYPE: return "unknown object type prefix";
    case BIZ_BAD_SYMBOL: return "bad symbol: use only 0-9 and A-Z without U";
    case BIZ_OVERFLOW: return "first symbol after the prefix must be 0-7";
    case BIZ_BAD_CHECK: return "wrong check symbol (mistyped code?)";
    }
    return "invalid code";
}
