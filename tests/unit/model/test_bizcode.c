/* test_bizcode.c -- business codes (DESIGN §3) and the type registry (DESIGN §2).
 *
 * The expected values come from a second, deliberately different
 * implementation below (128-bit integer arithmetic instead of bit walking)
 * and from vectors worked out by hand, so a slip in bizcode.c shows up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/bizcode.h"
#include "base/core.h"

static const char ALPHA[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* ---- reference implementation ---------------------------------------------- */

static int ref_index(char c)
{
    const char *p = strchr(ALPHA, c);
    return (c && p) ? (int)(p - ALPHA) : -1;
}

static void ref_body(const uint8_t value[16], char body[27])
{
    unsigned __int128 v = 0;
    for (int i = 0; i < 16; i++) v = (v << 8) | value[i];
    for (int i = 25; i >= 0; i--) {
        body[i] = ALPHA[(int)(v % 32)];
        v /= 32;
    }
    body[26] = '\0';
}

static char ref_check(const char *body)
{
    int sum = 0, factor = 2;
    for (int i = 25; i >= 0; i--) {
        int p = ref_index(body[i]) * factor;
        sum += p / 32 + p % 32;
        factor = 3 - factor;
    }
    return ALPHA[(32 - sum % 32) % 32];
}

static void ref_code(const char *prefix, const uint8_t value[16], char out[31])
{
    char body[27];
    ref_body(value, body);
    snprintf(out, 31, "%s-%s%c", prefix, body, ref_check(body));
}

/* A valid code of the given prefix whose body is given (check appended). */
static void with_check(const char *prefix, const char *body, char out[31])
{
    snprintf(out, 31, "%s-%s%c", prefix, body, ref_check(body));
}

/* ---- fixed vectors ---------------------------------------------------------- */

static void test_vector_zero(void **state)
{
    uint8_t v[16] = {0};
    char out[BIZCODE_LEN + 1];
    bizcode_format("TR", v, out);
    assert_string_equal(out, "TR-000000000000000000000000000");
    assert_int_equal(bizcode_check_symbol("00000000000000000000000000"), '0');
}

static void test_vector_all_ones(void **state)
{
    uint8_t v[16];
    memset(v, 0xFF, sizeof v);
    char out[BIZCODE_LEN + 1];
    bizcode_format("CU", v, out);
    /* By hand: 25 symbols of 31 fold to 31 each (62 -> 1 + 30), plus 7:
     * 775 + 7 = 782, 782 % 32 = 14, check 18 = 'J'. */
    assert_string_equal(out, "CU-7ZZZZZZZZZZZZZZZZZZZZZZZZZJ");
}

static void test_vector_one(void **state)
{
    uint8_t v[16] = {0};
    v[15] = 1;
    char out[BIZCODE_LEN + 1];
    bizcode_format("SS", v, out);
    /* Rightmost symbol 1, doubled: sum 2, check 30 = 'Y'. */
    assert_string_equal(out, "SS-00000000000000000000000001Y");
}

static void test_vector_ulid_time(void **state)
{
    /* The ULID spec encodes time 1469918176385 as "01ARYZ6S41"; our first 48
     * bits are laid out the same way, so the body must start with it. */
    uint8_t v[16] = {0};
    uint64_t ms = 1469918176385ull;
    for (int i = 0; i < 6; i++) v[i] = (uint8_t)(ms >> (40 - 8 * i));
    char out[BIZCODE_LEN + 1];
    bizcode_format("WO", v, out);
    assert_string_equal(out, "WO-01ARYZ6S410000000000000000" "7");
    assert_int_equal(bizcode_millis(v), ms);
}

static void test_vector_counting_bytes(void **state)
{
    uint8_t v[16];
    for (int i = 0; i < 16; i++) v[i] = (uint8_t)i;
    char out[BIZCODE_LEN + 1];
    bizcode_format("MT", v, out);
    assert_string_equal(out, "MT-00041061050R3GG28A1C60T3GFK");
    uint8_t back[16];
    assert_int_equal(bizcode_parse(out, NULL, back), BIZ_OK);
    assert_memory_equal(back, v, 16);
}

/* Random values against the reference, both ways. */
static void test_format_matches_reference(void **state)
{
    srand(12345);
    for (int n = 0; n < 2000; n++) {
        uint8_t v[16], back[16];
        for (int i = 0; i < 16; i++) v[i] = (uint8_t)(rand() & 0xFF);
        char got[BIZCODE_LEN + 1], want[31], canon[BIZCODE_LEN + 1];
        bizcode_format("MB", v, got);
        ref_code("MB", v, want);
        assert_string_equal(got, want);
        assert_int_equal(bizcode_parse(got, canon, back), BIZ_OK);
        assert_string_equal(canon, want);
        assert_memory_equal(back, v, 16);
    }
}

/* ---- minting ---------------------------------------------------------------- */

static uint64_t now_millis(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void test_mint_round_trip(void **state)
{
    for (int i = 0; i < biz_ntypes; i++) {
        const char *prefix = biz_types[i].prefix;
        uint64_t before = now_millis();
        char code[BIZCODE_LEN + 1], canon[BIZCODE_LEN + 1];
        bizcode_mint(prefix, code);
        uint64_t after = now_millis();

        assert_int_equal(strlen(code), BIZCODE_LEN);
        assert_memory_equal(code, prefix, 2);
        assert_int_equal(code[2], '-');
        assert_true(code[3] >= '0' && code[3] <= '7');
        assert_int_equal(code[29], ref_check(code + 3) /* reads 26 body symbols */);

        uint8_t v[16];
        assert_int_equal(bizcode_parse(code, canon, v), BIZ_OK);
        assert_string_equal(canon, code);
        uint64_t ms = bizcode_millis(v);
        assert_true(ms >= before && ms <= after);
        char again[31];
        ref_code(prefix, v, again);
        assert_string_equal(again, code);
        assert_ptr_equal(biz_type_by_prefix(canon), &biz_types[i]);
    }
}

static void test_mint_random_part_differs(void **state)
{
    char a[BIZCODE_LEN + 1], b[BIZCODE_LEN + 1];
    bizcode_mint("TR", a);
    bizcode_mint("TR", b);
    assert_string_not_equal(a, b);
}

static void wait_next_millisecond(void)
{
    uint64_t start = now_millis();
    struct timespec d = {0, 200000};
    while (now_millis() == start) nanosleep(&d, NULL);
}

static void test_time_ordering(void **state)
{
    char prev[BIZCODE_LEN + 1], cur[BIZCODE_LEN + 1];
    bizcode_mint("LN", prev);
    for (int i = 0; i < 20; i++) {
        wait_next_millisecond();
        bizcode_mint("LN", cur);
        assert_true(strcmp(prev, cur) < 0);
        memcpy(prev, cur, sizeof cur);
    }
}

#define THREADS 4
#define PER_THREAD 2000

static void *mint_many(void *arg)
{
    char(*codes)[BIZCODE_LEN + 1] = arg;
    for (int i = 0; i < PER_THREAD; i++) bizcode_mint("CP", codes[i]);
    return NULL;
}

static int cmp_code(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_mint_threads(void **state)
{
    char(*codes)[BIZCODE_LEN + 1] = xcalloc(THREADS * PER_THREAD, BIZCODE_LEN + 1);
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, mint_many, codes[t * PER_THREAD]), 0);
    for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
    for (int i = 0; i < THREADS * PER_THREAD; i++)
        assert_int_equal(bizcode_parse(codes[i], NULL, NULL), BIZ_OK);
    qsort(codes, THREADS * PER_THREAD, BIZCODE_LEN + 1, cmp_code);
    for (int i = 1; i < THREADS * PER_THREAD; i++) assert_string_not_equal(codes[i - 1], codes[i]);
    free(codes);
}

/* ---- canonicalisation --------------------------------------------------------- */

static void test_lower_case(void **state)
{
    char code[BIZCODE_LEN + 1], lower[BIZCODE_LEN + 1], canon[BIZCODE_LEN + 1];
    bizcode_mint("AP", code);
    for (int i = 0; i <= BIZCODE_LEN; i++)
        lower[i] = (code[i] >= 'A' && code[i] <= 'Z') ? (char)(code[i] - 'A' + 'a') : code[i];
    assert_int_equal(bizcode_parse(lower, canon, NULL), BIZ_OK);
    assert_string_equal(canon, code);
}

static void test_crockford_aliases(void **state)
{
    char canon[BIZCODE_LEN + 1];
    uint8_t v[16], zero[16] = {0};
    assert_int_equal(bizcode_parse("tr-oOoOoOoOoOoOoOoOoOoOoOoOoOo", canon, v), BIZ_OK);
    assert_string_equal(canon, "TR-000000000000000000000000000");
    assert_memory_equal(v, zero, 16);

    /* Value 1 ends in body symbol 1 and check 'Y'. */
    const char *ones[] = {"SS-0000000000000000000000000IY", "ss-0000000000000000000000000iy",
                          "SS-0000000000000000000000000LY", "sS-oooooooooooooooooooooooooly"};
    for (size_t i = 0; i < ARRAY_LEN(ones); i++) {
        assert_int_equal(bizcode_parse(ones[i], canon, v), BIZ_OK);
        assert_string_equal(canon, "SS-00000000000000000000000001Y");
        assert_int_equal(v[15], 1);
    }

    /* The same 1 as an alias in the check position: body 0...0X has check 1
     * iff the doubled X folds to 31, i.e. X = 31 ('Z'). */
    assert_int_equal(bizcode_parse("PL-0000000000000000000000000Zl", canon, NULL), BIZ_OK);
    assert_string_equal(canon, "PL-0000000000000000000000000Z1");
}

/* ---- the check symbol catches mistakes ---------------------------------------- */

static void test_every_substitution_caught(void **state)
{
    char code[BIZCODE_LEN + 1];
    bizcode_mint("MP", code);
    int tried = 0;
    for (int pos = 3; pos < 3 + BIZCODE_BODY_LEN; pos++) {
        for (int s = 0; s < 32; s++) {
            if (ALPHA[s] == code[pos]) continue;
            char bad[BIZCODE_LEN + 1];
            memcpy(bad, code, sizeof bad);
            bad[pos] = ALPHA[s];
            /* The check itself must differ, whatever parse reports first. */
            assert_int_not_equal(bizcode_check_symbol(bad + 3), code[29]);
            biz_status st = bizcode_parse(bad, NULL, NULL);
            if (pos == 3 && s > 7)
                assert_int_equal(st, BIZ_OVERFLOW);
            else
                assert_int_equal(st, BIZ_BAD_CHECK);
            tried++;
        }
    }
    assert_int_equal(tried, 26 * 31);
    const char check = code[29];
    for (int s = 0; s < 32; s++) { /* and every wrong check symbol */
        if (ALPHA[s] == check) continue;
        code[29] = ALPHA[s];
        assert_int_equal(bizcode_parse(code, NULL, NULL), BIZ_BAD_CHECK);
    }
}

/* ---- rejection ----------------------------------------------------------------- */

static void test_reject_length(void **state)
{
    char code[BIZCODE_LEN + 1], longer[BIZCODE_LEN + 2];
    bizcode_mint("SR", code);
    assert_int_equal(bizcode_parse(NULL, NULL, NULL), BIZ_BAD_LENGTH);
    assert_int_equal(bizcode_parse("", NULL, NULL), BIZ_BAD_LENGTH);
    assert_int_equal(bizcode_parse("SR-", NULL, NULL), BIZ_BAD_LENGTH);
    code[29] = '\0';
    assert_int_equal(bizcode_parse(code, NULL, NULL), BIZ_BAD_LENGTH);
    bizcode_mint("SR", code);
    snprintf(longer, sizeof longer, "%sX", code);
    assert_int_equal(bizcode_parse(longer, NULL, NULL), BIZ_BAD_LENGTH);

    size_t n = 1 << 20; /* a valid code followed by a megabyte of junk */
    char *huge = xmalloc(n + 1);
    memset(huge, 'Z', n);
    memcpy(huge, code, BIZCODE_LEN);
    huge[n] = '\0';
    assert_int_equal(bizcode_parse(huge, NULL, NULL), BIZ_BAD_LENGTH);
    free(huge);
}

/* Exactly 30 bytes in a heap block of 31, so ASan flags any read past it. */
static biz_status parse_exact(const char *s)
{
    char *p = xstrdup(s);
    biz_status st = bizcode_parse(p, NULL, NULL);
    free(p);
    return st;
}

static void test_reject_prefix(void **state)
{
    char code[BIZCODE_LEN + 1];
    bizcode_mint("TR", code);
    const char *bads[] = {"1R", "T1", "T_", "-R", "\xc3\xa9", " T"};
    for (size_t i = 0; i < ARRAY_LEN(bads); i++) {
        memcpy(code, bads[i], 2);
        assert_int_equal(parse_exact(code), BIZ_BAD_PREFIX);
    }
    bizcode_mint("TR", code);
    code[2] = '_';
    assert_int_equal(parse_exact(code), BIZ_BAD_PREFIX);
}

static void test_reject_unknown_type(void **state)
{
    char code[BIZCODE_LEN + 1];
    bizcode_mint("TR", code);
    const char *unknown[] = {"XX", "ZZ", "TT", "xx"};
    for (size_t i = 0; i < ARRAY_LEN(unknown); i++) {
        memcpy(code, unknown[i], 2);
        assert_int_equal(parse_exact(code), BIZ_UNKNOWN_TYPE);
    }
}

static void test_reject_bad_symbol(void **state)
{
    char code[BIZCODE_LEN + 1];
    const char bads[] = {'U', 'u', '*', '-', ' ', '\x7f', '\x80', '\xff', '='};
    for (size_t i = 0; i < sizeof bads; i++) {
        for (int pos = 3; pos < BIZCODE_LEN; pos += 13) { /* first, middle, check */
            bizcode_mint("GU", code);
            code[pos] = bads[i];
            assert_int_equal(parse_exact(code), BIZ_BAD_SYMBOL);
        }
    }
}

static void test_reject_overflow(void **state)
{
    char body[27] = "80000000000000000000000000", code[31];
    for (int s = 8; s < 32; s++) {
        body[0] = ALPHA[s];
        with_check("PP", body, code); /* correct check: only the overflow is wrong */
        assert_int_equal(parse_exact(code), BIZ_OVERFLOW);
    }
    body[0] = '7';
    with_check("PP", body, code);
    assert_int_equal(parse_exact(code), BIZ_OK);
}

static void test_reject_check(void **state)
{
    assert_int_equal(parse_exact("TR-000000000000000000000000001"), BIZ_BAD_CHECK);
    assert_int_equal(parse_exact("CU-7ZZZZZZZZZZZZZZZZZZZZZZZZZK"), BIZ_BAD_CHECK);
    /* A swap of two adjacent different symbols changes the sum too. */
    assert_int_equal(parse_exact("MT-00041061050R3GG28A1C6T03GFK"), BIZ_BAD_CHECK);
}

static void test_strerror(void **state)
{
    biz_status all[] = {BIZ_BAD_LENGTH, BIZ_BAD_PREFIX, BIZ_UNKNOWN_TYPE, BIZ_BAD_SYMBOL,
                        BIZ_OVERFLOW, BIZ_BAD_CHECK};
    for (size_t i = 0; i < ARRAY_LEN(all); i++) {
        const char *m = bizcode_strerror(all[i]);
        assert_non_null(m);
        assert_true(strlen(m) > 5);
        for (size_t j = 0; j < i; j++) assert_string_not_equal(m, bizcode_strerror(all[j]));
    }
    assert_non_null(strstr(bizcode_strerror(BIZ_BAD_CHECK), "check"));
    assert_non_null(strstr(bizcode_strerror(BIZ_BAD_LENGTH), "30"));
}

/* ---- registry ------------------------------------------------------------------- */

/* Table 1 of DESIGN §2 is in the registry with its owners. A type added
 * later needs its declaration by its owner, which test_catalogue checks. */
static void test_registry_complete(void **state)
{
    const char *grid = "SS LN TR SR PL AP MR";
    const char *cust = "CU AD SP MP MB MT LB TB BG PP GU CP WO";
    for (int k = 0; k < 2; k++) {
        const char *list = k == 0 ? grid : cust;
        for (const char *p = list; *p; p += p[2] ? 3 : 2) {
            char prefix[3] = {p[0], p[1], '\0'};
            const biz_type *t = biz_type_by_prefix(prefix);
            if (!t) fail_msg("%s is not in the registry", prefix);
            assert_int_equal(t->owner, k == 0 ? SVC_GRID : SVC_CUST);
        }
    }
    assert_true(biz_ntypes >= 20);
    for (int i = 0; i < biz_ntypes; i++) {
        const biz_type *t = &biz_types[i];
        assert_int_equal(strlen(t->prefix), 2);
        assert_true(t->prefix[0] >= 'A' && t->prefix[0] <= 'Z');
        assert_true(t->prefix[1] >= 'A' && t->prefix[1] <= 'Z');
        assert_true(t->owner == SVC_GRID || t->owner == SVC_CUST);
        assert_true(strlen(t->type) > 0 && strlen(t->zh) > 0);
        for (int j = 0; j < i; j++) {
            assert_string_not_equal(t->prefix, biz_types[j].prefix);
            assert_string_not_equal(t->collection, biz_types[j].collection);
            assert_string_not_equal(t->type, biz_types[j].type);
        }
        assert_ptr_equal(biz_type_by_prefix(t->prefix), t);
        assert_ptr_equal(biz_type_by_collection(t->collection), t);
    }
}

static void test_registry_lookups(void **state)
{
    const biz_type *t = biz_type_by_prefix("tr");
    assert_non_null(t);
    assert_string_equal(t->type, "transformer");
    assert_string_equal(t->collection, "transformers");
    assert_string_equal(t->zh, "变压器");
    assert_int_equal(t->owner, SVC_GRID);

    t = biz_type_by_collection("station-rooms");
    assert_non_null(t);
    assert_string_equal(t->prefix, "SR");
    assert_string_equal(t->type, "station_room");
    assert_string_equal(biz_type_by_prefix("MR")->type, "meter_box_resource");
    assert_string_equal(biz_type_by_prefix("AP")->collection, "access-points");
    assert_string_equal(biz_type_by_prefix("Wo")->collection, "work-orders");
    assert_int_equal(biz_type_by_prefix("CU")->owner, SVC_CUST);
    assert_int_equal(biz_type_by_prefix("MB")->owner, SVC_CUST);
    assert_int_equal(biz_type_by_collection("meter-box-resources")->owner, SVC_GRID);

    /* A whole code names its type too. */
    assert_ptr_equal(biz_type_by_prefix("TR-000000000000000000000000000"), biz_type_by_prefix("TR"));

    assert_null(biz_type_by_prefix(NULL));
    assert_null(biz_type_by_prefix(""));
    assert_null(biz_type_by_prefix("T"));
    assert_null(biz_type_by_prefix("TRX"));
    assert_null(biz_type_by_prefix("XX"));
    assert_null(biz_type_by_collection("transformer"));
    assert_null(biz_type_by_collection("/v1/transformers"));
    assert_null(biz_type_by_collection(NULL));

    assert_string_equal(service_name(SVC_GRID), "grid-svc");
    assert_string_equal(service_name(SVC_CUST), "cust-svc");
}

static void test_relations(void **state)
{
    const char *grid[] = {"substation-line",       "line-line",             "line-transformer",
                          "accesspoint-transformer", "accesspoint-meterbox",
                          "meterboxresource-meterbox", "equipment-supplypoint",
                          "transformer-customer",  "equipment-meteringpoint"};
    const char *cust[] = {"supplypoint-meteringpoint", "meter-meterbox", "meter-meteringpoint"};
    assert_int_equal(biz_nrelations, (int)(ARRAY_LEN(grid) + ARRAY_LEN(cust)));
    for (size_t i = 0; i < ARRAY_LEN(grid); i++) {
        const biz_relation *r = biz_relation_by_kind(grid[i]);
        assert_non_null(r);
        assert_string_equal(r->kind, grid[i]);
        assert_int_equal(r->owner, SVC_GRID);
    }
    for (size_t i = 0; i < ARRAY_LEN(cust); i++) {
        const biz_relation *r = biz_relation_by_kind(cust[i]);
        assert_non_null(r);
        assert_int_equal(r->owner, SVC_CUST);
    }
    assert_null(biz_relation_by_kind("line-substation"));
    assert_null(biz_relation_by_kind(""));
    assert_null(biz_relation_by_kind(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_zero),
        cmocka_unit_test(test_vector_all_ones),
        cmocka_unit_test(test_vector_one),
        cmocka_unit_test(test_vector_ulid_time),
        cmocka_unit_test(test_vector_counting_bytes),
        cmocka_unit_test(test_format_matches_reference),
        cmocka_unit_test(test_mint_round_trip),
        cmocka_unit_test(test_mint_random_part_differs),
        cmocka_unit_test(test_time_ordering),
        cmocka_unit_test(test_mint_threads),
        cmocka_unit_test(test_lower_case),
        cmocka_unit_test(test_crockford_aliases),
        cmocka_unit_test(test_every_substitution_caught),
        cmocka_unit_test(test_reject_length),
        cmocka_unit_test(test_reject_prefix),
        cmocka_unit_test(test_reject_unknown_type),
        cmocka_unit_test(test_reject_bad_symbol),
        cmocka_unit_test(test_reject_overflow),
        cmocka_unit_test(test_reject_check),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_registry_complete),
        cmocka_unit_test(test_registry_lookups),
        cmocka_unit_test(test_relations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
