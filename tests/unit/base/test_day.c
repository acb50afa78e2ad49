/* test_day.c -- common/base/day.c: calendar days to and from "YYYY-MM-DD". */
#include "../unit_helpers.h"

#include "base/day.h"

static void parses(const char *s, long want)
{
    long d = -1;
    if (day_parse(s, &d) != OK) fail_msg("day_parse(%s) refused it", s);
    if (d != want) fail_msg("day_parse(%s) = %ld, want %ld", s, d, want);
    char back[11];
    day_format(d, back);
    assert_string_equal(back, s);
}

static void test_known_days(void **state)
{
    (void)state;
    parses("1970-01-01", 0);
    parses("1969-12-31", -1);
    parses("2000-02-29", 11016);
    parses("2026-11-01", 20758);
    parses("2026-12-31", 20818);
    parses("0001-01-01", -719162);
    parses("9999-12-31", 2932896);
}

static void test_round_trip_every_day(void **state)
{
    (void)state;
    char s[11];
    long d;
    for (long i = -719162; i <= 2932896; i += 7) {
        day_format(i, s);
        assert_int_equal(day_parse(s, &d), OK);
        assert_int_equal(d, i);
    }
}

static void test_refused(void **state)
{
    (void)state;
    const char *bad[] = {"",           "2026-1-01",   "2026-13-01", "2026-00-10", "2026-02-29",
                         "2100-02-29", "2026-04-31",  "2026-11-00", "0000-01-01", "2026/11/01",
                         "2026-11-01T", " 2026-11-01", "2026-11-0a", "+026-11-01", "20261101"};
    long d;
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        if (day_parse(bad[i], &d) == OK) fail_msg("day_parse(\"%s\") took it", bad[i]);
}

static void test_today(void **state)
{
    (void)state;
    long t = day_today(), d;
    assert_int_equal(day_parse("2026-01-01", &d), OK);
    assert_true(t > d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_days),
        cmocka_unit_test(test_round_trip_every_day),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_today),
    };
    return cmocka_run_group_tests_name("day", tests, NULL, NULL);
}
