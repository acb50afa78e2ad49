/* test_pgarray.c -- common/store/pgarray.c: the array literals that carry a
 * list as one statement parameter. What PostgreSQL reads back from them is
 * checked against the real server in tests/integration/test_db.c. */
#include "../unit_helpers.h"

#include "store/pgarray.h"

static char *literal(const char *const *items)
{
    pg_array a = {0};
    for (; *items; items++) pg_array_add(&a, *items);
    return pg_array_steal(&a);
}

static void expect(const char *const *items, const char *want)
{
    char *got = literal(items);
    if (strcmp(got, want) != 0) fail_msg("got %s, want %s", got, want);
    free(got);
}

static void test_plain_words_as_they_are(void **state)
{
    (void)state;
    expect((const char *const[]){"CU-1A2B3C4D5E6F-7", NULL}, "{CU-1A2B3C4D5E6F-7}");
    expect((const char *const[]){"design", "operational", NULL}, "{design,operational}");
}

static void test_empty_is_an_empty_array(void **state)
{
    (void)state;
    expect((const char *const[]){NULL}, "{}");
}

static void test_what_array_in_would_misread_is_quoted(void **state)
{
    (void)state;
    expect((const char *const[]){"", NULL}, "{\"\"}");
    expect((const char *const[]){"NULL", "null", NULL}, "{\"NULL\",\"null\"}");
    expect((const char *const[]){"a,b", "{x}", "two words", NULL},
           "{\"a,b\",\"{x}\",\"two words\"}");
    expect((const char *const[]){"say \"hi\"", "back\\slash", NULL},
           "{\"say \\\"hi\\\"\",\"back\\\\slash\"}");
}

static void test_steal_leaves_it_empty(void **state)
{
    (void)state;
    pg_array a = {0};
    pg_array_add(&a, "x");
    char *first = pg_array_steal(&a);
    pg_array_add(&a, "y");
    char *second = pg_array_steal(&a);
    assert_string_equal(first, "{x}");
    assert_string_equal(second, "{y}");
    free(first);
    free(second);
    pg_array_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_words_as_they_are),
        cmocka_unit_test(test_empty_is_an_empty_array),
        cmocka_unit_test(test_what_array_in_would_misread_is_quoted),
        cmocka_unit_test(test_steal_leaves_it_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
