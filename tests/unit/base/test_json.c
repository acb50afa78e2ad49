/* test_json.c -- common/base/jsonutil.c: request parsing, RFC 7396 merge patch,
 * output formatting, validation errors. */
#include "../unit_helpers.h"

#include "base/jsonutil.h"

static json_t *parse_any(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    if (!v) fail_msg("test JSON does not parse: %s: %s", text, je.text);
    return v;
}

static json_t *parse_ok(const char *text)
{
    char err[256] = "";
    json_t *v = json_parse_object(text, strlen(text), err, sizeof err);
    if (!v) fail_msg("json_parse_object(%s) failed: %s", text, err);
    return v;
}

static void parse_fails(const char *text, size_t len, const char *expect_in_msg)
{
    char err[256];
    memset(err, 0, sizeof err);
    json_t *v = json_parse_object(text, len, err, sizeof err);
    if (v) {
        char *s = json_text(v);
        json_decref(v);
        fail_msg("json_parse_object(%.*s) accepted it as %s", (int)len, text, s);
    }
    assert_true(strlen(err) > 0);
    if (!strstr(err, expect_in_msg))
        fail_msg("error '%s' does not contain '%s'", err, expect_in_msg);
}

/* ---- json_parse_object -------------------------------------------------- */

static void test_parse_empty(void **state)
{
    (void)state;
    parse_fails("", strlen(""), "empty");
    parse_fails("{}", 0, "empty"); /* len is what counts */
}

static void test_parse_malformed_has_position(void **state)
{
    (void)state;
    const char *text = "{\n  \"a\": 1,\n  \"b\": }";
    parse_fails(text, strlen(text), "malformed JSON");
    parse_fails(text, strlen(text), "line 3");
    parse_fails(text, strlen(text), "column 8");

    parse_fails("{\"a\": tru}", strlen("{\"a\": tru}"), "line 1");
    parse_fails("   ", strlen("   "), "malformed JSON");
    parse_fails("{\"a\": 1", strlen("{\"a\": 1"), "malformed JSON");
    parse_fails("{} {}", strlen("{} {}"), "malformed JSON");     /* trailing data */
    parse_fails("{'a': 1}", strlen("{'a': 1}"), "malformed JSON");  /* not JSON quotes */
    parse_fails("{\"a\": 01}", strlen("{\"a\": 01}"), "malformed JSON");
    parse_fails("{\"a\": NaN}", strlen("{\"a\": NaN}"), "malformed JSON");
    parse_fails("{\"a\": \"\xff\"}", strlen("{\"a\": \"\xff\"}"), "malformed JSON"); /* not UTF-8 */
}

static void test_parse_not_object(void **state)
{
    (void)state;
    parse_fails("[1,2]", strlen("[1,2]"), "must be a JSON object, not an array");
    parse_fails("[]", strlen("[]"), "must be a JSON object, not an array");
}

/* Valid JSON that is not an object is refused as "not an object", naming
 * what it is (the function has a branch for exactly this), not called
 * malformed. */
static void test_parse_scalar_not_object(void **state)
{
    (void)state;
    parse_fails("42", strlen("42"), "must be a JSON object, not an integer");
    parse_fails("4.5", strlen("4.5"), "must be a JSON object, not a number");
    parse_fails("\"s\"", strlen("\"s\""), "must be a JSON object, not a string");
    parse_fails("null", strlen("null"), "must be a JSON object, not null");
    parse_fails("true", strlen("true"), "must be a JSON object, not a boolean");
}

static void test_parse_duplicate_keys(void **state)
{
    (void)state;
    const char *text = "{\"a\": 1, \"a\": 2}";
    parse_fails(text, strlen(text), "duplicate");
    /* also inside nested objects */
    text = "{\"o\": {\"k\": 1, \"k\": 1}}";
    parse_fails(text, strlen(text), "duplicate");
}

static void test_parse_valid(void **state)
{
    (void)state;
    json_t *v = parse_ok("{\"name\": \"变电站 A\", \"voltage_kv\": 110, \"length_km\": 0.4,"
                         " \"location\": {\"lon\": 116.4, \"lat\": 39.9}, \"tags\": [], \"x\": null}");
    assert_true(json_is_object(v));
    assert_int_equal(json_object_size(v), 6);
    assert_string_equal(json_string_value(json_object_get(v, "name")), "变电站 A");
    assert_int_equal(json_integer_value(json_object_get(v, "voltage_kv")), 110);
    assert_true(json_real_value(json_object_get(v, "length_km")) == 0.4);
    assert_true(json_is_null(json_object_get(v, "x")));
    json_decref(v);

    v = parse_ok("{}");
    assert_int_equal(json_object_size(v), 0);
    json_decref(v);

    /* Only len bytes are read: the buffer need not end in a NUL. */
    const char buf[] = {'{', '"', 'a', '"', ':', '1', '}', 'x', 'y'};
    char err[128];
    v = json_parse_object(buf, 7, err, sizeof err);
    assert_non_null(v);
    assert_int_equal(json_integer_value(json_object_get(v, "a")), 1);
    json_decref(v);
}

static void test_parse_small_err_buffer(void **state)
{
    (void)state;
    char err[8];
    memset(err, 'Z', sizeof err);
    assert_null(json_parse_object("[]", 2, err, sizeof err));
    assert_int_equal(strlen(err), sizeof err - 1); /* truncated, terminated */
}

/* ---- json_merge_patch: RFC 7396 Appendix A, every example ----------------- */

typedef struct {
    const char *target, *patch, *result;
} patch_case;

static const patch_case rfc7396_examples[] = {
    {"{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
    {"{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"},
    {"{\"a\":\"b\"}", "{\"a\":null}", "{}"},
    {"{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"},
    {"{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
    {"{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"},
    {"{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}"},
    {"{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"},
    {"[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]"},
    {"{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]"},
    {"{\"a\":\"foo\"}", "null", "null"},
    {"{\"a\":\"foo\"}", "\"bar\"", "\"bar\""},
    {"{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}"},
    {"[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}"},
    {"{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"},
};

static void test_merge_patch_rfc7396_appendix_a(void **state)
{
    (void)state;
    assert_int_equal(ARRAY_LEN(rfc7396_examples), 15);
    for (size_t i = 0; i < ARRAY_LEN(rfc7396_examples); i++) {
        const patch_case *c = &rfc7396_examples[i];
        json_t *target = parse_any(c->target), *patch = parse_any(c->patch);
        json_t *want = parse_any(c->result);
        json_t *target_copy = json_deep_copy(target), *patch_copy = json_deep_copy(patch);
        json_t *got = json_merge_patch(target, patch);
        assert_non_null(got);
        if (!json_equal(got, want)) {
            char *g = json_text(got);
            fail_msg("example %zu: %s + %s gave %s, want %s", i + 1, c->target, c->patch, g,
                     c->result);
        }
        /* inputs untouched, result shares nothing mutable with them */
        assert_true(json_equal(target, target_copy));
        assert_true(json_equal(patch, patch_copy));
        if (json_is_object(got) || json_is_array(got)) assert_true(got != target && got != patch);
        json_decref(got);
        assert_true(json_equal(target, target_copy));
        assert_true(json_equal(patch, patch_copy));
        json_decref(target);
        json_decref(patch);
        json_decref(want);
        json_decref(target_copy);
        json_decref(patch_copy);
    }
}

static void test_merge_patch_no_aliasing(void **state)
{
    (void)state;
    json_t *target = parse_any("{\"keep\":{\"x\":1},\"loc\":{\"lon\":1,\"lat\":2}}");
    json_t *patch = parse_any("{\"loc\":{\"lat\":3},\"new\":{\"y\":[1]}}");
    json_t *got = json_merge_patch(target, patch);
    json_t *want = parse_any("{\"keep\":{\"x\":1},\"loc\":{\"lon\":1,\"lat\":3},\"new\":{\"y\":[1]}}");
    assert_true(json_equal(got, want));
    /* mutating the result leaves the inputs alone */
    json_object_set_new(json_object_get(got, "keep"), "x", json_integer(99));
    json_array_append_new(json_object_get(json_object_get(got, "new"), "y"), json_integer(2));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(target, "keep"), "x")), 1);
    assert_int_equal(json_array_size(json_object_get(json_object_get(patch, "new"), "y")), 1);
    json_decref(got);
    json_decref(want);
    json_decref(target);
    json_decref(patch);

    /* NULL target (absent member) behaves as RFC 7396 says: like {} */
    patch = parse_any("{\"a\":1,\"b\":null}");
    got = json_merge_patch(NULL, patch);
    want = parse_any("{\"a\":1}");
    assert_true(json_equal(got, want));
    json_decref(got);
    json_decref(want);
    json_decref(patch);
}

/* ---- json_text ---------------------------------------------------------- */

static void expect_text(json_t *v, const char *want)
{
    char *s = json_text(v);
    assert_string_equal(s, want);
    free(s);
    json_decref(v);
}

static void test_json_text_formatting(void **state)
{
    (void)state;
    expect_text(json_real(0.4), "0.4");
    expect_text(json_real(10.5), "10.5");
    /* every double reads back exactly: as few digits as that takes */
    expect_text(json_real(0.1 + 0.2), "0.30000000000000004");
    expect_text(json_real(169.98275531098247), "169.98275531098247");
    expect_text(json_real(116.397128), "116.397128");
    expect_text(json_real(-39.9), "-39.9");
    expect_text(json_real(1.0), "1.0");
    expect_text(json_integer(42), "42");
    expect_text(json_integer(-9007199254740993LL), "-9007199254740993");
    expect_text(json_string("x"), "\"x\"");
    expect_text(json_null(), "null");
    expect_text(json_true(), "true");
    /* compact, UTF-8 kept as is */
    expect_text(json_pack("{s:f, s:[i,i], s:s}", "length_km", 0.4, "a", 1, 2, "zh", "变压器"),
                "{\"length_km\":0.4,\"a\":[1,2],\"zh\":\"变压器\"}");
    /* round trip: a parsed 0.4 is written back as 0.4 */
    json_t *v = parse_ok("{\"length_km\":0.4,\"capacity_kva\":10.5}");
    expect_text(v, "{\"length_km\":0.4,\"capacity_kva\":10.5}");
}

/* sb_json_* write what json_text writes for the same value, without a tree. */
static void expect_same_text(json_t *v, void (*write)(sbuf *, const json_t *))
{
    sbuf b = {0};
    write(&b, v);
    char *want = json_text(v);
    assert_string_equal(b.s, want);
    free(want);
    sb_free(&b);
    json_decref(v);
}

static void write_string(sbuf *b, const json_t *v) { sb_json_string(b, json_string_value(v)); }
static void write_int(sbuf *b, const json_t *v) { sb_json_int(b, json_integer_value(v)); }
static void write_real(sbuf *b, const json_t *v) { sb_json_real(b, json_real_value(v)); }

static void test_sb_json_values(void **state)
{
    (void)state;
    const char *strings[] = {"", "x", "变压器 T1", "a\"b", "back\\slash", "/path/", "tab\tnl\ncr\r",
                             "\b\f", "del\x7f", "é\u2028", NULL};
    for (const char **s = strings; *s; s++) expect_same_text(json_string(*s), write_string);
    for (int c = 1; c < 0x20; c++) { /* every control character */
        char s[4] = {'<', (char)c, '>', 0};
        expect_same_text(json_string(s), write_string);
    }
    long long ints[] = {0, 1, -1, 42, -9007199254740993LL, 9223372036854775807LL};
    for (size_t i = 0; i < ARRAY_LEN(ints); i++) expect_same_text(json_integer(ints[i]), write_int);
    double reals[] = {0.4, 10.5, 0.1 + 0.2, 169.98275531098247, 116.397128, -39.9, 1.0, 0.0,
                      1e21, 1.5e-7, 123456789012345680.0};
    for (size_t i = 0; i < ARRAY_LEN(reals); i++) expect_same_text(json_real(reals[i]), write_real);
    sbuf b = {0};
    sb_json_real(&b, 1.0 / 0.0); /* JSON has no infinity */
    assert_string_equal(b.s, "null");
    sb_free(&b);
}

static void test_json_type_name(void **state)
{
    (void)state;
    json_t *v;
    v = json_object(); assert_string_equal(json_type_name(v), "an object"); json_decref(v);
    v = json_array(); assert_string_equal(json_type_name(v), "an array"); json_decref(v);
    v = json_string(""); assert_string_equal(json_type_name(v), "a string"); json_decref(v);
    v = json_integer(1); assert_string_equal(json_type_name(v), "an integer"); json_decref(v);
    v = json_real(1.5); assert_string_equal(json_type_name(v), "a number"); json_decref(v);
    assert_string_equal(json_type_name(json_true()), "a boolean");
    assert_string_equal(json_type_name(json_false()), "a boolean");
    assert_string_equal(json_type_name(json_null()), "null");
}

/* ---- json_add_error ----------------------------------------------------- */

static void test_json_add_error(void **state)
{
    (void)state;
    json_t *errors = json_array();
    json_add_error(errors, "voltage_kv", "must be between %g and %g", 0.0, 1000.0);
    json_add_error(errors, "kind", "must be one of: %s", "public, dedicated");
    json_add_error(errors, "name", "is required");
    assert_int_equal(json_array_size(errors), 3);

    json_t *e = json_array_get(errors, 0);
    assert_int_equal(json_object_size(e), 2);
    assert_string_equal(json_string_value(json_object_get(e, "field")), "voltage_kv");
    assert_string_equal(json_string_value(json_object_get(e, "message")),
                        "must be between 0 and 1000");
    e = json_array_get(errors, 1);
    assert_string_equal(json_string_value(json_object_get(e, "field")), "kind");
    assert_string_equal(json_string_value(json_object_get(e, "message")),
                        "must be one of: public, dedicated");
    char *s = json_text(json_array_get(errors, 2));
    assert_string_equal(s, "{\"field\":\"name\",\"message\":\"is required\"}");
    free(s);
    json_decref(errors);
}

static void test_json_add_error_long_message(void **state)
{
    (void)state;
    json_t *errors = json_array();
    char *big = xmalloc(2001);
    memset(big, 'x', 2000);
    big[2000] = '\0';
    json_add_error(errors, "f", "%s", big);
    assert_int_equal(json_array_size(errors), 1);
    const char *msg = json_string_value(json_object_get(json_array_get(errors, 0), "message"));
    assert_non_null(msg);
    assert_true(strlen(msg) > 100 && strlen(msg) < 2000);
    assert_memory_equal(msg, big, strlen(msg));
    free(big);
    json_decref(errors);
}

/* An error must never be dropped: a long message of multi-byte UTF-8
 * characters, truncated by the fixed buffer, must still be appended (as
 * valid UTF-8). */
static void test_json_add_error_long_utf8_message(void **state)
{
    (void)state;
    json_t *errors = json_array();
    sbuf b = {0};
    for (int i = 0; i < 400; i++) sb_append(&b, "é"); /* 800 bytes, 2 per character */
    json_add_error(errors, "detail", "%s", b.s);
    sb_free(&b);
    size_t n = json_array_size(errors);
    json_t *e = json_array_get(errors, 0);
    char *field = e ? xstrdup(json_string_value(json_object_get(e, "field"))) : NULL;
    size_t msglen = e ? strlen(json_string_value(json_object_get(e, "message"))) : 0;
    json_decref(errors);
    assert_int_equal(n, 1);
    assert_string_equal(field, "detail");
    assert_true(msglen > 100);
    free(field);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_empty),
        cmocka_unit_test(test_parse_malformed_has_position),
        cmocka_unit_test(test_parse_not_object),
        cmocka_unit_test(test_parse_scalar_not_object),
        cmocka_unit_test(test_parse_duplicate_keys),
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_small_err_buffer),
        cmocka_unit_test(test_merge_patch_rfc7396_appendix_a),
        cmocka_unit_test(test_merge_patch_no_aliasing),
        cmocka_unit_test(test_json_text_formatting),
        cmocka_unit_test(test_sb_json_values),
        cmocka_unit_test(test_json_type_name),
        cmocka_unit_test(test_json_add_error),
        cmocka_unit_test(test_json_add_error_long_message),
        cmocka_unit_test(test_json_add_error_long_utf8_message),
    };
    return cmocka_run_group_tests_name("jsonutil", tests, NULL, NULL);
}
