/* test_fields.c -- common/model/fields.c: field_check for every field type, the
 * text forms it writes, filters, timestamps, column bookkeeping, and rows
 * back to JSON. Codes are computed here independently of bizcode.c. */
#include "../unit_helpers.h"

#include <math.h>

#include "model/fields.h"
#include "base/jsonutil.h"

static const char *const kinds[] = {"public", "dedicated", NULL};
static const char *const tr_refs[] = {"TR", NULL};
static const char *const eq_refs[] = {"SS", "LN", "TR", NULL};

static const field_def f_text = {.name = "name", .type = FT_TEXT};
static const field_def f_text5 = {.name = "symbol", .type = FT_TEXT, .max_len = 5};
static const field_def f_text9 = {.name = "zh", .type = FT_TEXT, .max_len = 9};
static const field_def f_int = {.name = "rows", .type = FT_INT};
static const field_def f_int_r = {.name = "phase", .type = FT_INT, .min = 1, .max = 3};
static const field_def f_num = {.name = "length_km", .type = FT_NUM};
static const field_def f_num_r = {.name = "voltage_kv", .type = FT_NUM, .min = 0, .max = 1000};
static const field_def f_bool = {.name = "active", .type = FT_BOOL};
static const field_def f_enum = {.name = "kind", .type = FT_ENUM, .values = kinds};
static const field_def f_code = {.name = "transformer", .type = FT_CODE, .refs = tr_refs};
static const field_def f_code3 = {.name = "equipment", .type = FT_CODE, .refs = eq_refs};
static const field_def f_loc = {.name = "location", .type = FT_LOCATION};
static const field_def f_time = {.name = "starts_at", .type = FT_TIME};
static const field_def f_codes = {.name = "elements", .type = FT_CODES, .refs = eq_refs,
                                  .max_len = 3};

static json_t *J(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    if (!v) fail_msg("test JSON does not parse: %s: %s", text, je.text);
    return v;
}

/* field_check must accept v and write want0 (and want1) to out. */
static void accepts_v(const field_def *f, json_t *v, const char *want0, const char *want1)
{
    json_t *errors = json_array();
    char *out[2] = {NULL, NULL};
    int rc = field_check(f, v, errors, out);
    if (rc != OK) {
        char *e = json_text(errors);
        char *t = json_text(v);
        fail_msg("%s refused %s: %s", f->name, t, e);
    }
    assert_int_equal(json_array_size(errors), 0);
    assert_non_null(out[0]);
    assert_string_equal(out[0], want0);
    if (want1) {
        assert_non_null(out[1]);
        assert_string_equal(out[1], want1);
    } else {
        assert_null(out[1]);
    }
    free(out[0]);
    free(out[1]);
    json_decref(errors);
    json_decref(v);
}

static void accepts(const field_def *f, const char *json, const char *want0, const char *want1)
{
    accepts_v(f, J(json), want0, want1);
}

/* field_check must refuse v with one error on f->name whose message
 * contains msg, and write nothing. */
static void refuses_v(const field_def *f, json_t *v, const char *msg)
{
    json_t *errors = json_array();
    json_array_append_new(errors, json_string("earlier error")); /* appended to, not replaced */
    char *out[2] = {NULL, NULL};
    int rc = field_check(f, v, errors, out);
    if (rc != ERR) {
        char *t = json_text(v);
        fail_msg("%s accepted %s as '%s'", f->name, t, out[0] ? out[0] : "(null)");
    }
    assert_null(out[0]);
    assert_null(out[1]);
    assert_int_equal(json_array_size(errors), 2);
    json_t *e = json_array_get(errors, 1);
    assert_string_equal(json_string_value(json_object_get(e, "field")), f->name);
    const char *m = json_string_value(json_object_get(e, "message"));
    assert_non_null(m);
    if (!strstr(m, msg)) fail_msg("%s: message '%s' lacks '%s'", f->name, m, msg);
    json_decref(errors);
    json_decref(v);
}

static void refuses(const field_def *f, const char *json, const char *msg)
{
    refuses_v(f, J(json), msg);
}

/* The text form of a number must give back exactly the same double. */
static void accepts_number_exact(const field_def *f, const char *json, double want)
{
    json_t *v = J(json), *errors = json_array();
    char *out[2] = {NULL, NULL};
    assert_int_equal(field_check(f, v, errors, out), OK);
    assert_non_null(out[0]);
    char *end;
    double got = strtod(out[0], &end);
    assert_true(*end == '\0');
    if (got != want) fail_msg("%s: %s written as %s (%.17g)", f->name, json, out[0], got);
    free(out[0]);
    json_decref(v);
    json_decref(errors);
}

/* ---- FT_TEXT ------------------------------------------------------------ */

static void test_text(void **state)
{
    (void)state;
    accepts(&f_text, "\"Substation A\"", "Substation A", NULL);
    accepts(&f_text, "\"\"", "", NULL);
    accepts(&f_text, "\"变电站 110kV\"", "变电站 110kV", NULL);
    accepts(&f_text5, "\"abcde\"", "abcde", NULL);
    refuses(&f_text5, "\"abcdef\"", "must be at most 5 bytes");
    /* bytes, not characters: 3 Chinese characters are 9 bytes */
    accepts(&f_text9, "\"变压器\"", "变压器", NULL);
    refuses(&f_text9, "\"变压器A\"", "must be at most 9 bytes");

    /* the default limit is 200 bytes */
    char buf[256];
    memset(buf, 'a', sizeof buf);
    buf[200] = '\0';
    accepts_v(&f_text, json_string(buf), buf, NULL);
    buf[200] = 'a';
    buf[201] = '\0';
    refuses_v(&f_text, json_string(buf), "must be at most 200 bytes");

    refuses(&f_text, "5", "must be a string, not an integer");
    refuses(&f_text, "5.5", "must be a string, not a number");
    refuses(&f_text, "true", "must be a string, not a boolean");
    refuses(&f_text, "[\"a\"]", "must be a string, not an array");
    refuses(&f_text, "{\"a\":\"b\"}", "must be a string, not an object");
}

/* ---- FT_INT ------------------------------------------------------------- */

static void test_int(void **state)
{
    (void)state;
    accepts(&f_int, "42", "42", NULL);
    accepts(&f_int, "0", "0", NULL);
    accepts(&f_int, "-7", "-7", NULL);
    accepts(&f_int, "9007199254740993", "9007199254740993", NULL); /* exact, not via double */
    accepts(&f_int, "-9223372036854775808", "-9223372036854775808", NULL);
    refuses(&f_int, "1.5", "must be an integer, not a number");
    refuses(&f_int, "2.0", "must be an integer, not a number");
    refuses(&f_int, "\"42\"", "must be an integer, not a string");
    refuses(&f_int, "false", "must be an integer, not a boolean");
    refuses(&f_int, "[]", "must be an integer, not an array");

    /* inclusive range */
    accepts(&f_int_r, "1", "1", NULL);
    accepts(&f_int_r, "3", "3", NULL);
    refuses(&f_int_r, "0", "must be between 1 and 3");
    refuses(&f_int_r, "4", "must be between 1 and 3");
    refuses(&f_int_r, "-1", "must be between 1 and 3");
    refuses(&f_int_r, "\"2\"", "must be an integer, not a string");
}

/* ---- FT_NUM ------------------------------------------------------------- */

static void test_num(void **state)
{
    (void)state;
    accepts(&f_num, "10.5", "10.5", NULL);
    accepts(&f_num, "3", "3", NULL); /* an integer is a number */
    accepts(&f_num, "-2.25", "-2.25", NULL);
    accepts(&f_num, "0", "0", NULL);
    accepts_number_exact(&f_num, "0.4", 0.4);
    accepts_number_exact(&f_num, "0.1", 0.1);
    accepts_number_exact(&f_num, "116.397128", 116.397128);
    accepts_number_exact(&f_num, "1e300", 1e300);
    accepts_number_exact(&f_num, "5e-324", 5e-324);
    accepts_number_exact(&f_num, "9007199254740993", 9007199254740992.0);
    refuses(&f_num, "\"10.5\"", "must be a number, not a string");
    refuses(&f_num, "true", "must be a number, not a boolean");
    refuses(&f_num, "{}", "must be a number, not an object");

    /* inclusive range */
    accepts(&f_num_r, "0", "0", NULL);
    accepts(&f_num_r, "1000", "1000", NULL);
    accepts(&f_num_r, "1000.0", "1000", NULL);
    accepts(&f_num_r, "110", "110", NULL);
    refuses(&f_num_r, "-0.1", "must be between 0 and 1000");
    refuses(&f_num_r, "1000.0001", "must be between 0 and 1000");
    refuses(&f_num_r, "1e308", "must be between 0 and 1000");
    refuses(&f_num_r, "-5", "must be between 0 and 1000");
}

/* ---- FT_BOOL ------------------------------------------------------------ */

static void test_bool(void **state)
{
    (void)state;
    accepts(&f_bool, "true", "true", NULL);
    accepts(&f_bool, "false", "false", NULL);
    refuses(&f_bool, "\"true\"", "must be a boolean, not a string");
    refuses(&f_bool, "1", "must be a boolean, not an integer");
    refuses(&f_bool, "0", "must be a boolean, not an integer");
}

/* ---- FT_ENUM ------------------------------------------------------------ */

static void test_enum(void **state)
{
    (void)state;
    accepts(&f_enum, "\"public\"", "public", NULL);
    accepts(&f_enum, "\"dedicated\"", "dedicated", NULL);
    refuses(&f_enum, "\"private\"", "must be one of: public, dedicated");
    refuses(&f_enum, "\"Public\"", "must be one of: public, dedicated"); /* exact */
    refuses(&f_enum, "\"\"", "must be one of: public, dedicated");
    refuses(&f_enum, "\"public \"", "must be one of");
    refuses(&f_enum, "1", "must be a string, not an integer");
    refuses(&f_enum, "[\"public\"]", "must be a string, not an array");
}

/* ---- FT_CODE ------------------------------------------------------------ */

static void lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z') *s = (char)(*s - 'A' + 'a');
}

static void test_code(void **state)
{
    (void)state;
    char tr[31], ss[31], ln[31], cu[31], v[64];
    make_code("TR", BODY_A, tr);
    make_code("SS", BODY_B, ss);
    make_code("LN", BODY_C, ln);
    make_code("CU", BODY_A, cu);

    snprintf(v, sizeof v, "\"%s\"", tr);
    accepts(&f_code, v, tr, NULL);
    snprintf(v, sizeof v, "\"%s\"", ss);
    accepts(&f_code3, v, ss, NULL);
    snprintf(v, sizeof v, "\"%s\"", ln);
    accepts(&f_code3, v, ln, NULL);

    /* lower-case input is canonicalised to upper case */
    char low[31];
    strcpy(low, tr);
    lower(low);
    assert_string_not_equal(low, tr);
    snprintf(v, sizeof v, "\"%s\"", low);
    accepts(&f_code, v, tr, NULL);

    /* Crockford decoding: O -> 0, I and L -> 1 (BODY_A begins "01") */
    char alias[31];
    strcpy(alias, tr);
    assert_int_equal(alias[3], '0');
    assert_int_equal(alias[4], '1');
    alias[3] = 'O';
    alias[4] = 'l';
    snprintf(v, sizeof v, "\"%s\"", alias);
    accepts(&f_code, v, tr, NULL);
    alias[3] = 'o';
    alias[4] = 'I';
    snprintf(v, sizeof v, "\"%s\"", alias);
    accepts(&f_code, v, tr, NULL);

    /* wrong check symbol */
    char bad[31];
    strcpy(bad, tr);
    bad[29] = bad[29] == 'Z' ? 'Y' : (bad[29] == '9' ? 'A' : (char)(bad[29] + 1));
    if (bad[29] == 'I' || bad[29] == 'L' || bad[29] == 'O' || bad[29] == 'U') bad[29]++;
    assert_true(bad[29] != tr[29]);
    snprintf(v, sizeof v, "\"%s\"", bad);
    refuses(&f_code, v, "not a valid code");

    /* a single mistyped body symbol is caught by the check symbol */
    strcpy(bad, tr);
    bad[10] = bad[10] == '2' ? '3' : '2';
    snprintf(v, sizeof v, "\"%s\"", bad);
    refuses(&f_code, v, "not a valid code");

    /* right shape, wrong prefix: names the expected and the actual type */
    snprintf(v, sizeof v, "\"%s\"", ss);
    refuses(&f_code, v, "must be a code of type TR");
    refuses(&f_code, v, ss);
    refuses(&f_code, v, "is a substation code");
    snprintf(v, sizeof v, "\"%s\"", cu);
    refuses(&f_code3, v, "must be a code of type SS, LN, TR");
    refuses(&f_code3, v, "customer");

    /* unknown prefix, bad lengths, bad symbols */
    char zz[31];
    make_code("ZZ", BODY_A, zz);
    snprintf(v, sizeof v, "\"%s\"", zz);
    refuses(&f_code, v, "not a valid code");
    refuses(&f_code, "\"TR-\"", "not a valid code");
    refuses(&f_code, "\"\"", "not a valid code");
    snprintf(v, sizeof v, "\"%sX\"", tr);
    refuses(&f_code, v, "not a valid code");
    strcpy(bad, tr);
    bad[12] = 'U';
    snprintf(v, sizeof v, "\"%s\"", bad);
    refuses(&f_code, v, "not a valid code");
    strcpy(bad, tr);
    bad[2] = '_';
    snprintf(v, sizeof v, "\"%s\"", bad);
    refuses(&f_code, v, "not a valid code");
    /* first body symbol above 7: more than 128 bits */
    char over[31];
    make_code("TR", "8ZZZZZZZZZZZZZZZZZZZZZZZZZ", over);
    snprintf(v, sizeof v, "\"%s\"", over);
    refuses(&f_code, v, "not a valid code");

    /* not a string */
    refuses(&f_code, "12", "must be a code string, not an integer");
    refuses(&f_code, "{\"code\":\"x\"}", "must be a code string, not an object");
}

/* ---- FT_LOCATION -------------------------------------------------------- */

static void test_location(void **state)
{
    (void)state;
    accepts(&f_loc, "{\"lon\": 116, \"lat\": 40}", "116", "40");
    accepts(&f_loc, "{\"lat\": 40, \"lon\": 116}", "116", "40"); /* order free */
    accepts(&f_loc, "{\"lon\": 116.5, \"lat\": -39.25}", "116.5", "-39.25");
    accepts(&f_loc, "{\"lon\": -180, \"lat\": -90}", "-180", "-90");
    accepts(&f_loc, "{\"lon\": 180, \"lat\": 90}", "180", "90");
    accepts(&f_loc, "{\"lon\": 0, \"lat\": 0}", "0", "0");

    /* exact text forms of inexact decimals */
    json_t *v = J("{\"lon\": 116.397128, \"lat\": 39.916527}"), *errors = json_array();
    char *out[2] = {NULL, NULL};
    assert_int_equal(field_check(&f_loc, v, errors, out), OK);
    assert_true(strtod(out[0], NULL) == 116.397128);
    assert_true(strtod(out[1], NULL) == 39.916527);
    free(out[0]);
    free(out[1]);
    json_decref(v);
    json_decref(errors);

    const char *shape = "must be an object {\"lon\": number, \"lat\": number}";
    refuses(&f_loc, "{\"lon\": 116}", shape);                          /* missing lat */
    refuses(&f_loc, "{\"lat\": 40}", shape);                           /* missing lon */
    refuses(&f_loc, "{}", shape);
    refuses(&f_loc, "{\"lon\": 1, \"lat\": 2, \"alt\": 3}", shape);     /* extra member */
    refuses(&f_loc, "{\"lon\": 1, \"x\": 2}", shape);                   /* two, but wrong ones */
    refuses(&f_loc, "{\"lng\": 1, \"lat\": 2}", shape);
    refuses(&f_loc, "{\"lon\": \"116\", \"lat\": 40}", shape);         /* wrong member type */
    refuses(&f_loc, "{\"lon\": 116, \"lat\": null}", shape);
    refuses(&f_loc, "{\"lon\": 116, \"lat\": true}", shape);
    refuses(&f_loc, "[116, 40]", shape);
    refuses(&f_loc, "\"116,40\"", shape);
    refuses(&f_loc, "116", shape);

    const char *range = "lon must be within -180..180 and lat within -90..90";
    refuses(&f_loc, "{\"lon\": 180.0001, \"lat\": 0}", range);
    refuses(&f_loc, "{\"lon\": -180.5, \"lat\": 0}", range);
    refuses(&f_loc, "{\"lon\": 0, \"lat\": 90.1}", range);
    refuses(&f_loc, "{\"lon\": 0, \"lat\": -91}", range);
    refuses(&f_loc, "{\"lon\": 1e10, \"lat\": 1e10}", range);
    /* lat and lon swapped (a common client mistake) is caught when lat > 90 */
    refuses(&f_loc, "{\"lon\": 39.9, \"lat\": 116.4}", range);
}

/* Several fields: errors accumulate, one per refused field. */
/* ---- FT_TIME ------------------------------------------------------------ */

static void test_time(void **state)
{
    (void)state;
    accepts(&f_time, "\"2026-12-14T08:00:00Z\"", "2026-12-14T08:00:00Z", NULL);
    accepts(&f_time, "\"2026-12-14T16:00:00+08:00\"", "2026-12-14T16:00:00+08:00", NULL);
    accepts(&f_time, "\"2028-02-29T23:59:59.123456-05:30\"", "2028-02-29T23:59:59.123456-05:30",
            NULL);
    static const char *const bad[] = {
        "\"2026-12-14\"", "\"2026-12-14 08:00:00Z\"", "\"2026-12-14T08:00:00\"",
        "\"2026-13-01T00:00:00Z\"", "\"2027-02-29T00:00:00Z\"", "\"2026-12-14T24:00:00Z\"",
        "\"2026-12-14T-1:00:00Z\"", "\"2026-+1-05T00:00:00Z\"", "\"2026-12-14T 8:00:00Z\"",
        "\"2026-12-14T08:00:00.Z\"", "\"2026-12-14T08:00:00+8:00\"", "\"2026-12-14T08:00:00Zx\"",
        "\"+2026-12-14T08:00:00Z\"", "\"2026-12-14T08:60:00Z\"", "\"2026-12-14T08:00:00+24:00\"",
        NULL};
    for (const char *const *b = bad; *b; b++) refuses(&f_time, *b, "RFC 3339");
    refuses(&f_time, "1765699200", "must be a time string");
}

/* ---- FT_CODES ----------------------------------------------------------- */

static void test_codes(void **state)
{
    (void)state;
    char ss[31], ln[31], tr[31], cu[31], v[160], want[160];
    make_code("SS", BODY_A, ss);
    make_code("LN", BODY_B, ln);
    make_code("TR", BODY_C, tr);
    make_code("CU", BODY_A, cu);
    snprintf(v, sizeof v, "[\"%s\", \"%s\"]", ss, ln);
    snprintf(want, sizeof want, "{%s,%s}", ss, ln);
    accepts(&f_codes, v, want, NULL);
    /* canonical in the column: lower case given, upper case kept */
    char low[31];
    strcpy(low, ln);
    lower(low);
    snprintf(v, sizeof v, "[\"%s\"]", low);
    snprintf(want, sizeof want, "{%s}", ln);
    accepts(&f_codes, v, want, NULL);
    refuses(&f_codes, "[]", "between 1 and 3");
    snprintf(v, sizeof v, "[\"%s\", \"%s\", \"%s\", \"%s\"]", ss, ln, tr, ss);
    refuses(&f_codes, v, "between 1 and 3");
    snprintf(v, sizeof v, "[\"%s\", \"%s\"]", ln, low);
    refuses(&f_codes, v, "named twice");
    snprintf(v, sizeof v, "[\"%s\"]", cu);
    refuses(&f_codes, v, "[0] must be a code of type");
    refuses(&f_codes, "[42]", "[0] must be a code string");
    refuses(&f_codes, "\"SS-1\"", "must be an array of codes");
}

static void test_errors_accumulate(void **state)
{
    (void)state;
    json_t *errors = json_array();
    char *out[2] = {NULL, NULL};
    json_t *a = J("\"x\""), *b = J("7"), *c = J("\"private\"");
    assert_int_equal(field_check(&f_int, a, errors, out), ERR);
    assert_int_equal(field_check(&f_bool, b, errors, out), ERR);
    assert_int_equal(field_check(&f_enum, c, errors, out), ERR);
    assert_int_equal(json_array_size(errors), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 0), "field")),
                        "rows");
    assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 1), "field")),
                        "active");
    assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 2), "field")),
                        "kind");
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(errors);
}

/* ---- field_parse_filter ------------------------------------------------- */

static void filter_ok(const field_def *f, const char *text, const char *want)
{
    char err[256] = "", *out = NULL;
    if (field_parse_filter(f, text, &out, err, sizeof err) != OK)
        fail_msg("filter %s=%s refused: %s", f->name, text, err);
    assert_non_null(out);
    assert_string_equal(out, want);
    free(out);
}

static void filter_bad(const field_def *f, const char *text, const char *msg)
{
    char err[256] = "", *out = NULL;
    if (field_parse_filter(f, text, &out, err, sizeof err) != ERR)
        fail_msg("filter %s=%s accepted as %s", f->name, text, out ? out : "(null)");
    assert_null(out);
    if (!strstr(err, msg)) fail_msg("filter %s=%s: '%s' lacks '%s'", f->name, text, err, msg);
    if (!strstr(err, f->name)) fail_msg("filter message '%s' does not name %s", err, f->name);
}

static void test_filters(void **state)
{
    (void)state;
    filter_ok(&f_text, "Substation A", "Substation A");
    filter_ok(&f_text, "", "");
    filter_ok(&f_text, "变电站", "变电站");

    filter_ok(&f_int, "42", "42");
    filter_ok(&f_int, "-3", "-3");
    filter_bad(&f_int, "", "is not a valid value");
    filter_bad(&f_int, "4x", "is not a valid value");
    filter_bad(&f_int, "1.5", "is not a valid value");
    filter_bad(&f_int, "abc", "is not a valid value");

    filter_ok(&f_num, "10.5", "10.5");
    filter_ok(&f_num, "110", "110");
    filter_ok(&f_num, "1e3", "1000");
    filter_ok(&f_num, "-0.25", "-0.25");
    filter_bad(&f_num, "", "is not a valid value");
    filter_bad(&f_num, "ten", "is not a valid value");
    filter_bad(&f_num, "10kV", "is not a valid value");
    filter_bad(&f_num, "inf", "is not a valid value");
    filter_bad(&f_num, "nan", "is not a valid value");
    filter_bad(&f_num, "1e999", "is not a valid value");

    filter_ok(&f_bool, "true", "true");
    filter_ok(&f_bool, "false", "false");
    filter_bad(&f_bool, "yes", "is not a valid value");
    filter_bad(&f_bool, "1", "is not a valid value");
    filter_bad(&f_bool, "TRUE", "is not a valid value");
    filter_bad(&f_bool, "", "is not a valid value");

    filter_ok(&f_enum, "public", "public");
    filter_ok(&f_enum, "dedicated", "dedicated");
    filter_bad(&f_enum, "private", "must be one of: public, dedicated");
    filter_bad(&f_enum, "", "must be one of: public, dedicated");

    char tr[31], ss[31], low[31];
    make_code("TR", BODY_B, tr);
    make_code("SS", BODY_A, ss);
    filter_ok(&f_code, tr, tr);
    strcpy(low, tr);
    lower(low);
    filter_ok(&f_code, low, tr);
    filter_ok(&f_code3, ss, ss);
    filter_bad(&f_code, ss, "must be a code of type TR");
    filter_bad(&f_code, "TR-1", "not a valid code");
    filter_bad(&f_code, "", "not a valid code");
    char bad[31];
    strcpy(bad, tr);
    bad[29] = bad[29] == '0' ? '1' : '0';
    filter_bad(&f_code, bad, "not a valid code");

    filter_bad(&f_loc, "116,40", "cannot be used as a filter");
}

/* ---- pg_time_json ------------------------------------------------------- */

static void time_is(const char *pg, const char *want)
{
    json_t *v = pg_time_json(pg);
    assert_true(json_is_string(v));
    assert_string_equal(json_string_value(v), want);
    json_decref(v);
    sbuf b = {0}; /* pg_time_text: the same, as JSON text */
    pg_time_text(pg, &b);
    char *quoted = xasprintf("\"%s\"", want);
    assert_string_equal(b.s, quoted);
    free(quoted);
    sb_free(&b);
}

static void test_pg_time_json(void **state)
{
    (void)state;
    time_is("2026-11-27 02:50:00.123456+00", "2026-11-27T02:50:00.123456Z");
    time_is("2026-11-27 02:50:00.123+00", "2026-11-27T02:50:00.123Z");
    time_is("2026-11-27 02:50:00+00", "2026-11-27T02:50:00Z");
    time_is("1999-01-01 00:00:00.5+00", "1999-01-01T00:00:00.5Z");
    /* something else is passed through rather than mangled */
    time_is("", "");
    time_is("infinity", "infinity");
}

/* ---- columns ------------------------------------------------------------ */

static const field_def sample_fields[] = {
    {.name = "name", .type = FT_TEXT},
    {.name = "location", .type = FT_LOCATION},
    {.name = "rows", .type = FT_INT},
    {.name = "kind", .type = FT_ENUM, .values = kinds},
    FIELDS_END,
};
static const field_def no_fields[] = {FIELDS_END};

static void test_columns(void **state)
{
    (void)state;
    assert_int_equal(field_ncols(&f_text), 1);
    assert_int_equal(field_ncols(&f_loc), 2);
    assert_int_equal(field_ncols(&f_code), 1);
    assert_int_equal(fields_ncols(sample_fields), 5);
    assert_int_equal(fields_ncols(no_fields), 0);

    sbuf sql = {0};
    sb_append(&sql, "SELECT code");
    fields_append_columns(sample_fields, &sql, ", ");
    assert_string_equal(sql.s, "SELECT code, name, location_lon, location_lat, rows, kind");
    sb_free(&sql);
    sb_append(&sql, "(");
    fields_append_columns(sample_fields, &sql, "");
    assert_string_equal(sql.s, "(name, location_lon, location_lat, rows, kind");
    sb_free(&sql);

    assert_ptr_equal(field_find(sample_fields, "rows"), &sample_fields[2]);
    assert_ptr_equal(field_find(sample_fields, "location"), &sample_fields[1]);
    assert_null(field_find(sample_fields, "location_lon"));
    assert_null(field_find(sample_fields, "Rows"));
    assert_null(field_find(no_fields, "name"));
}

/* ---- field_to_json, on a PGresult built without a server ---------------- */

static void test_field_to_json(void **state)
{
    (void)state;
    static const field_def defs[] = {
        {.name = "name", .type = FT_TEXT},
        {.name = "rows", .type = FT_INT},
        {.name = "length_km", .type = FT_NUM},
        {.name = "active", .type = FT_BOOL},
        {.name = "kind", .type = FT_ENUM, .values = kinds},
        {.name = "transformer", .type = FT_CODE, .refs = tr_refs},
        {.name = "location", .type = FT_LOCATION},
        FIELDS_END,
    };
    enum { NCOLS = 8 };
    PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    assert_non_null(r);
    PGresAttDesc attrs[NCOLS];
    static char *names[NCOLS] = {"name", "rows", "length_km", "active", "kind", "transformer",
                                 "location_lon", "location_lat"};
    for (int i = 0; i < NCOLS; i++)
        attrs[i] = (PGresAttDesc){.name = names[i], .format = 0, .typlen = -1, .atttypmod = -1};
    assert_int_equal(PQsetResultAttrs(r, NCOLS, attrs), 1);
    char tr[31];
    make_code("TR", BODY_A, tr);
    const char *row0[NCOLS] = {"变电站", "-42", "0.4", "t", "dedicated", tr, "116.397128", "39.9"};
    for (int i = 0; i < NCOLS; i++)
        assert_int_equal(PQsetvalue(r, 0, i, (char *)row0[i], (int)strlen(row0[i])), 1);
    for (int i = 0; i < NCOLS; i++) assert_int_equal(PQsetvalue(r, 1, i, NULL, -1), 1);
    const char *row2[NCOLS] = {"", "0", "10.5", "f", "public", tr, "1", NULL};
    for (int i = 0; i < NCOLS; i++)
        assert_int_equal(PQsetvalue(r, 2, i, (char *)row2[i], row2[i] ? (int)strlen(row2[i]) : -1),
                         1);

    json_t *o[3];
    for (int row = 0; row < 3; row++) {
        o[row] = json_object();
        int col = 0;
        for (const field_def *f = defs; f->name; f++) {
            field_to_json(f, r, row, col, o[row]);
            col += field_ncols(f);
        }
        assert_int_equal(col, NCOLS);
    }
    json_t *want0 = json_pack("{s:s, s:i, s:f, s:b, s:s, s:s, s:{s:f, s:f}}", "name", "变电站",
                              "rows", -42, "length_km", 0.4, "active", 1, "kind", "dedicated",
                              "transformer", tr, "location", "lon", 116.397128, "lat", 39.9);
    json_t *want1 = json_pack("{s:n, s:n, s:n, s:n, s:n, s:n, s:n}", "name", "rows", "length_km",
                              "active", "kind", "transformer", "location");
    json_t *want2 = json_pack("{s:s, s:i, s:f, s:b, s:s, s:s, s:n}", "name", "", "rows", 0,
                              "length_km", 10.5, "active", 0, "kind", "public", "transformer", tr,
                              "location");
    json_t *want[3] = {want0, want1, want2};
    for (int row = 0; row < 3; row++) {
        if (!json_equal(o[row], want[row])) {
            char *g = json_text(o[row]), *w = json_text(want[row]);
            fail_msg("row %d: got %s want %s", row, g, w);
        }
        /* field_to_text writes the same members as text */
        sbuf b = {0};
        int col = 0;
        for (const field_def *f = defs; f->name; f++) {
            sb_append(&b, f == defs ? "{" : ",");
            field_to_text(f, r, row, col, &b);
            col += field_ncols(f);
        }
        sb_append(&b, "}");
        char *t = json_text(o[row]);
        assert_string_equal(b.s, t);
        free(t);
        sb_free(&b);
        /* types, not only values */
        json_decref(o[row]);
        json_decref(want[row]);
    }
    PQclear(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_int),
        cmocka_unit_test(test_num),
        cmocka_unit_test(test_bool),
        cmocka_unit_test(test_enum),
        cmocka_unit_test(test_code),
        cmocka_unit_test(test_location),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_codes),
        cmocka_unit_test(test_errors_accumulate),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_pg_time_json),
        cmocka_unit_test(test_columns),
        cmocka_unit_test(test_field_to_json),
    };
    return cmocka_run_group_tests_name("fields", tests, NULL, NULL);
}
