/* test_search.c -- the parts of common/engine/search.c that need no
 * database: q trimmed and counted in characters (UTF-8 checked), the LIKE
 * pattern with its wildcards escaped, whether q has letters with a case,
 * the rank of a hit read from its collection's declaration, and the one
 * order of an answer. */
#include "../unit_helpers.h"

#include <jansson.h>

#include "engine/search.h"

/* ---- trimming ---------------------------------------------------------------------- */

static void trim_is(const char *q, int want_chars, const char *want)
{
    size_t start = 99, len = 99;
    int chars = search_trim(q, &start, &len);
    assert_int_equal(chars, want_chars);
    if (chars < 0) return;
    char got[512];
    snprintf(got, sizeof got, "%.*s", (int)len, q + start);
    assert_string_equal(got, want);
}

static void q_is_trimmed_and_counted(void **state)
{
    (void)state;
    trim_is("abc", 3, "abc");
    trim_is("  abc \t", 3, "abc");
    trim_is(" a b ", 3, "a b");
    trim_is("湖墅", 2, "湖墅");
    trim_is("\xE3\x80\x80湖墅线\xE3\x80\x80 ", 3, "湖墅线"); /* ideographic spaces */
    trim_is("湖\xE3\x80\x80墅", 3, "湖\xE3\x80\x80墅");      /* kept inside */
    trim_is("", 0, "");
    trim_is("   \xE3\x80\x80 ", 0, "");
    trim_is("\xF0\x9F\x98\x80", 1, "\xF0\x9F\x98\x80"); /* four bytes, one character */
}

static void bad_utf8_is_refused(void **state)
{
    (void)state;
    trim_is("\xFF", -1, NULL);
    trim_is("ab\x80", -1, NULL);           /* a stray continuation byte */
    trim_is("\xC0\xAF", -1, NULL);         /* overlong '/' */
    trim_is("\xE0\x80\xAF", -1, NULL);     /* overlong, three bytes */
    trim_is("\xED\xA0\x80", -1, NULL);     /* a surrogate */
    trim_is("\xF4\x90\x80\x80", -1, NULL); /* beyond U+10FFFF */
    trim_is("\xE6\xB9", -1, NULL);         /* cut short */
    trim_is("  \xE6\xB9  ", -1, NULL);
}

/* ---- the pattern ------------------------------------------------------------------- */

static void pattern_is(const char *q, const char *want)
{
    char *p = search_like_pattern(q, strlen(q));
    assert_string_equal(p, want);
    free(p);
}

static void wildcards_are_plain_text(void **state)
{
    (void)state;
    pattern_is("湖墅", "%湖墅%");
    pattern_is("50%_off", "%50\\%\\_off%");
    pattern_is("a\\b", "%a\\\\b%");
    char *cut = search_like_pattern("abcdef", 3);
    assert_string_equal(cut, "%abc%");
    free(cut);
}

static void caseless(const char *q, int want)
{
    if (search_caseless(q, strlen(q)) != want) fail_msg("search_caseless(\"%s\") != %d", q, want);
}

static void letters_with_a_case_need_ilike(void **state)
{
    (void)state;
    caseless("湖墅", 1);
    caseless("330100070000000001", 1);
    caseless("上城1-1线 1号杆", 1);
    caseless("\xE3\x80\x80", 1);
    caseless("\xF0\xA0\x80\x80", 1); /* U+20000, CJK extension B */
    caseless("10kV", 0);
    caseless("湖墅A", 0);
    caseless("\xC3\x89", 0);          /* É */
    caseless("\xD0\x96", 0);          /* Ж */
    caseless("\xEF\xBC\xA1", 0);      /* Ａ, full width */
}

/* ---- rank and order ---------------------------------------------------------------- */

static const field_def fields[] = {
    {.name = "name", .type = FT_TEXT, .flags = FF_SEARCH},
    {.name = "account_no", .type = FT_TEXT, .flags = FF_UNIQUE | FF_SEARCH},
    {.name = "phone", .type = FT_TEXT},
    FIELDS_END,
};
static const collection_def coll = {.prefix = "CU", .table = "customers", .fields = fields};

static void ranks_follow_the_declaration(void **state)
{
    (void)state;
    assert_int_equal(search_rank(&coll, "code", 1), 0);
    assert_int_equal(search_rank(NULL, "code", 1), 0);
    assert_int_equal(search_rank(&coll, "account_no", 1), 1);
    assert_int_equal(search_rank(&coll, "name", 1), 2);
    assert_int_equal(search_rank(&coll, "name", 0), 3);
    assert_int_equal(search_rank(&coll, "phone", 1), 4); /* not searched: last */
    assert_int_equal(search_rank(&coll, "nothing", 1), 4);
    assert_int_equal(search_rank(NULL, "name", 1), 4);
}

static void hits_sort_by_rank_then_code(void **state)
{
    (void)state;
    search_hit h[] = {
        {3, "TR-B", NULL}, {2, "LN-Z", NULL}, {3, "CU-C", NULL},
        {1, "MT-A", NULL}, {0, "SS-Q", NULL}, {3, "AP-A", NULL},
    };
    search_sort(h, ARRAY_LEN(h));
    const char *want[] = {"SS-Q", "MT-A", "LN-Z", "AP-A", "CU-C", "TR-B"};
    for (size_t i = 0; i < ARRAY_LEN(h); i++) assert_string_equal(h[i].code, want[i]);
    search_sort(h, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(q_is_trimmed_and_counted),
        cmocka_unit_test(bad_utf8_is_refused),
        cmocka_unit_test(wildcards_are_plain_text),
        cmocka_unit_test(letters_with_a_case_need_ilike),
        cmocka_unit_test(ranks_follow_the_declaration),
        cmocka_unit_test(hits_sort_by_rank_then_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
