/* test_bad_input.c -- every kind of bad request gets a precise 4xx
 * problem+json answer and changes nothing; awkward but valid text (SQL
 * metacharacters, quotes, backslashes, LIKE wildcards, Chinese, emoji) is
 * stored and returned verbatim and can be filtered on. */
#include "client.h"
#include "base/core.h"

#include <stdlib.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "model/bizcode.h"

/* POST raw bytes with a content type (NULL: application/json; "": none). */
static api_resp *post_raw(const char *base, const char *path, const char *key,
                          const char *content_type, const char *body, size_t len)
{
    api_opts o = {.key = key, .content_type = content_type};
    return api_call("POST", strf("%s%s", base, path), &o, body, len);
}

static api_resp *patch_raw(const char *base, const char *path, const char *key,
                           const char *content_type, const char *body, size_t len)
{
    api_opts o = {.key = key, .content_type = content_type};
    return api_call("PATCH", strf("%s%s", base, path), &o, body, len);
}

/* No substation (of any status) carries this name. */
static void no_substation_named(const char *name)
{
    size_t n = count_where(grid_url(), "substations", strf("status=all&name=%s", urlenc(name)));
    if (n != 0) fail_msg("a refused request stored %zu substation(s) named '%s'", n, name);
}

static void no_customer_named(const char *name)
{
    size_t n = count_where(cust_url(), "customers", strf("status=all&name=%s", urlenc(name)));
    if (n != 0) fail_msg("a refused request stored %zu customer(s) named '%s'", n, name);
}

/* The object is exactly as it was (same JSON, so same version). */
static void unchanged(const char *base, const char *path, const api_resp *before)
{
    api_resp *now = api_get(base, path, KEY_DISPATCH);
    assert_status(now, 200);
    if (!json_equal(now->json, before->json)) {
        api_dump(now);
        fail_msg("%s changed after a refused request", path);
    }
}

static api_resp *new_substation(void)
{
    return create_ok(grid_url(), "substations", KEY_PRODUCTION,
                     jdump(json_pack("{s:s, s:f}", "name", strf("victim %s", uniq()), "voltage_kv",
                                     35.0)));
}

/* ---- the body ------------------------------------------------------------------------ */

static void malformed_json(void **state)
{
    char *name = strf("malformed %s", uniq());
    char *body = strf("{\"name\": \"%s\", \"voltage_kv\": 110,", name);
    api_resp *r = post_raw(grid_url(), "/v1/substations", KEY_PRODUCTION, NULL, body, strlen(body));
    assert_problem(r, 400);
    no_substation_named(name);

    api_resp *s = new_substation();
    const char *path = strf("/v1/substations/%s", jstr(s->json, "code"));
    const char *bad = "{\"name\": \"x\" \"voltage_kv\": 1}";
    assert_problem(patch_raw(grid_url(), path, KEY_PRODUCTION, NULL, bad, strlen(bad)), 400);
    unchanged(grid_url(), path, s);

    char *cname = strf("malformed %s", uniq());
    char *cbody = strf("{\"name\": \"%s\", \"category\": \"hv\"", cname);
    assert_problem(post_raw(cust_url(), "/v1/customers", KEY_MARKETING, NULL, cbody, strlen(cbody)),
                   400);
    no_customer_named(cname);
}

static void empty_body(void **state)
{
    assert_problem(post_raw(grid_url(), "/v1/substations", KEY_PRODUCTION, NULL, "", 0), 400);
}

static void json_not_an_object(void **state)
{
    char *name = strf("array %s", uniq());
    char *arr = jdump(json_pack("[{s:s, s:f}]", "name", name, "voltage_kv", 110.0));
    assert_problem(post_raw(grid_url(), "/v1/substations", KEY_PRODUCTION, NULL, arr, strlen(arr)),
                   400);
    char *str = jdump(json_string(name));
    assert_problem(post_raw(grid_url(), "/v1/substations", KEY_PRODUCTION, NULL, str, strlen(str)),
                   400);
    assert_problem(post_raw(grid_url(), "/v1/substations", KEY_PRODUCTION, NULL, "42", 2), 400);
    assert_problem(post_raw(grid_url(), "/v1/substations", KEY_PRODUCTION, NULL, "null", 4), 400);
    no_substation_named(name);

    api_resp *s = new_substation();
    const char *path = strf("/v1/substations/%s", jstr(s->json, "code"));
    assert_problem(patch_raw(grid_url(), path, KEY_PRODUCTION, NULL, arr, strlen(arr)), 400);
    assert_problem(patch_raw(grid_url(), path, KEY_PRODUCTION, NULL, str, strlen(str)), 400);
    unchanged(grid_url(), path, s);
}

static void duplicate_member(void **state)
{
    char *name = strf("dup member %s", uniq());
    char *body = strf("{\"name\": \"%s\", \"voltage_kv\": 110, \"voltage_kv\": 220}", name);
    assert_problem(post_raw(grid_url(), "/v1/substations", KEY_PRODUCTION, NULL, body, strlen(body)),
                   400);
    no_substation_named(name);
}

static void invalid_utf8_and_nul(void **state)
{
    char *u = uniq();
    char *bad = strf("{\"name\": \"bad \xff\xfe utf8 %s\", \"voltage_kv\": 110}", u);
    assert_problem(post_raw(grid_url(), "/v1/substations", KEY_PRODUCTION, NULL, bad, strlen(bad)),
                   400);
    char *name = strf("nul %s", u);
    char *nul = strf("{\"name\": \"%s\\u0000tail\", \"voltage_kv\": 110}", name);
    api_resp *r = post_raw(grid_url(), "/v1/substations", KEY_PRODUCTION, NULL, nul, strlen(nul));
    assert_problem(r, 400);
    no_substation_named(name);
    /* a filter value that is not UTF-8 is a client error too */
    assert_problem(api_get(grid_url(), "/v1/substations?name=%FF%FE", KEY_DISPATCH), 400);
}

static void unknown_field(void **state)
{
    char *name = strf("unknown field %s", uniq());
    api_resp *r = api_post(grid_url(), "/v1/substations", KEY_PRODUCTION,
                           jdump(json_pack("{s:s, s:f, s:s}", "name", name, "voltage_kv", 110.0,
                                           "colour", "red")));
    assert_problem_field(r, 400, "colour");
    no_substation_named(name);

    char *cname = strf("unknown field %s", uniq());
    api_resp *c = api_post(cust_url(), "/v1/customers", KEY_MARKETING,
                           jdump(json_pack("{s:s, s:s, s:s}", "name", cname, "category", "hv",
                                           "vip", "yes")));
    assert_problem_field(c, 400, "vip");
    no_customer_named(cname);

}

static void wrong_types(void **state)
{
    char *name = strf("wrong type %s", uniq());
    api_resp *r = api_post(grid_url(), "/v1/substations", KEY_PRODUCTION,
                           jdump(json_pack("{s:s, s:s}", "name", name, "voltage_kv", "110")));
    assert_problem_field(r, 400, "voltage_kv");
    no_substation_named(name);

    /* name as a number; find it (if stored) by its unusual voltage */
    double kv = 1 + (double)(rand() % 900000) / 1000.0;
    api_resp *n = api_post(grid_url(), "/v1/substations", KEY_PRODUCTION,
                           jdump(json_pack("{s:i, s:f}", "name", 12345, "voltage_kv", kv)));
    assert_problem_field(n, 400, "name");
    assert_int_equal(count_where(grid_url(), "substations", strf("status=all&voltage_kv=%.17g", kv)), 0);

    api_resp *loc = api_post(grid_url(), "/v1/substations", KEY_PRODUCTION,
                             jdump(json_pack("{s:s, s:f, s:s}", "name", name, "voltage_kv", 110.0,
                                             "location", "120.1,30.2")));
    assert_problem_field(loc, 400, "location");
    no_substation_named(name);

    char *cname = strf("wrong type %s", uniq());
    api_resp *c = api_post(cust_url(), "/v1/customers", KEY_MARKETING,
                           jdump(json_pack("{s:s, s:s, s:s}", "name", cname, "category", "hv",
                                           "contract_capacity_kva", "lots")));
    assert_problem_field(c, 400, "contract_capacity_kva");
    no_customer_named(cname);

}

static void missing_required_field(void **state)
{
    char *name = strf("missing %s", uniq());
    api_resp *r = api_post(grid_url(), "/v1/substations", KEY_PRODUCTION,
                           jdump(json_pack("{s:s}", "name", name)));
    assert_problem_field(r, 400, "voltage_kv");
    no_substation_named(name);

    api_resp *l = api_post(grid_url(), "/v1/lines", KEY_ADMIN,
                           jdump(json_pack("{s:s, s:f}", "name", name, "voltage_kv", 10.0)));
    assert_problem_field(l, 400, "kind");
    assert_int_equal(count_where(grid_url(), "lines", strf("status=all&name=%s", urlenc(name))), 0);

    api_resp *c = api_post(cust_url(), "/v1/customers", KEY_MARKETING,
                           jdump(json_pack("{s:s}", "name", name)));
    assert_problem_field(c, 400, "category");
    no_customer_named(name);

    api_resp *a = api_post(cust_url(), "/v1/addresses", KEY_MARKETING,
                           jdump(json_pack("{s:s, s:s}", "province", "浙江省", "detail", name)));
    assert_problem_field(a, 400, "city");
    assert_int_equal(count_where(cust_url(), "addresses", strf("status=all&detail=%s", urlenc(name))), 0);

}

static void enum_outside_its_set(void **state)
{
    char *name = strf("private line %s", uniq());
    api_resp *r = api_post(grid_url(), "/v1/lines", KEY_ADMIN,
                           jdump(json_pack("{s:s, s:s, s:f}", "name", name, "kind", "private",
                                           "voltage_kv", 10.0)));
    assert_problem_field(r, 400, "kind");
    assert_int_equal(count_where(grid_url(), "lines", strf("status=all&name=%s", urlenc(name))), 0);

    api_resp *c = api_post(cust_url(), "/v1/customers", KEY_MARKETING,
                           jdump(json_pack("{s:s, s:s}", "name", name, "category", "vip")));
    assert_problem_field(c, 400, "category");
    no_customer_named(name);

    char *ss = create_substation(strf("enum rel %s", uniq()));
    char *ln = create_line(KEY_PRODUCTION, strf("enum rel %s", uniq()), "public", 10);
    api_resp *rel = api_post(grid_url(), "/v1/relations/substation-line", KEY_PRODUCTION,
                             jdump(json_pack("{s:s, s:s, s:s}", "from", ss, "to", ln, "role", "boss")));
    assert_problem_field(rel, 400, "role");
    assert_int_equal(json_array_size(list_items(api_get(
                         grid_url(), strf("/v1/relations/substation-line?from=%s", ss), KEY_DISPATCH))),
                     0);
}

static void status_and_read_only_members(void **state)
{
    char *name = strf("read only %s", uniq());
    api_resp *v = api_post(grid_url(), "/v1/substations", KEY_PRODUCTION,
                           jdump(json_pack("{s:s, s:f, s:i}", "name", name, "voltage_kv", 110.0,
                                           "version", 7)));
    assert_problem_field(v, 400, "version");
    api_resp *c = api_post(grid_url(), "/v1/substations", KEY_PRODUCTION,
                           jdump(json_pack("{s:s, s:f, s:s}", "name", name, "voltage_kv", 110.0,
                                           "created_at", "2020-01-01T00:00:00Z")));
    assert_problem_field(c, 400, "created_at");
    api_resp *st = api_post(grid_url(), "/v1/substations", KEY_PRODUCTION,
                            jdump(json_pack("{s:s, s:f, s:s}", "name", name, "voltage_kv", 110.0,
                                            "status", "retired")));
    assert_problem_field(st, 400, "status");
    api_resp *bogus = api_post(grid_url(), "/v1/substations", KEY_PRODUCTION,
                               jdump(json_pack("{s:s, s:f, s:s}", "name", name, "voltage_kv", 110.0,
                                               "status", "dreaming")));
    assert_problem_field(bogus, 400, "status");
    no_substation_named(name);

}

static void text_and_number_limits(void **state)
{
    char long_name[260];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    char *u = uniq();
    memcpy(long_name, u, strlen(u));
    api_resp *r = api_post(grid_url(), "/v1/substations", KEY_PRODUCTION,
                           jdump(json_pack("{s:s, s:f}", "name", long_name, "voltage_kv", 110.0)));
    assert_problem_field(r, 400, "name");
    no_substation_named(long_name);

    char *name = strf("range %s", uniq());
    api_resp *zero = api_post(grid_url(), "/v1/substations", KEY_PRODUCTION,
                              jdump(json_pack("{s:s, s:f}", "name", name, "voltage_kv", 0.0)));
    assert_problem_field(zero, 400, "voltage_kv");
    api_resp *huge = api_post(grid_url(), "/v1/substations", KEY_PRODUCTION,
                              jdump(json_pack("{s:s, s:f}", "name", name, "voltage_kv", 5000.0)));
    assert_problem_field(huge, 400, "voltage_kv");
    const char *over = "{\"name\": \"x\", \"voltage_kv\": 1e400}";
    assert_problem(post_raw(grid_url(), "/v1/substations", KEY_PRODUCTION, NULL, over, strlen(over)),
                   400);
    no_substation_named(name);

    api_resp *neg = api_post(cust_url(), "/v1/customers", KEY_MARKETING,
                             jdump(json_pack("{s:s, s:s, s:f}", "name", name, "category", "hv",
                                             "contract_capacity_kva", -5.0)));
    assert_problem_field(neg, 400, "contract_capacity_kva");
    no_customer_named(name);
}

/* ---- codes ------------------------------------------------------------------------------- */

static void wrong_check_symbol_in_path(void **state)
{
    api_resp *s = new_substation();
    const char *code = jstr(s->json, "code");
    const char *path = strf("/v1/substations/%s", code);
    char *bad = spoil_check(code);
    char canon[BIZCODE_LEN + 1];
    assert_int_equal(bizcode_parse(bad, canon, NULL), BIZ_BAD_CHECK);

    assert_problem(api_get(grid_url(), strf("/v1/substations/%s", bad), KEY_DISPATCH), 400);
    assert_problem(api_patch(grid_url(), strf("/v1/substations/%s", bad), KEY_PRODUCTION,
                             jdump(json_pack("{s:s}", "name", "renamed"))),
                   400);
    assert_problem(api_delete(grid_url(), strf("/v1/substations/%s", bad), KEY_PRODUCTION), 400);
    unchanged(grid_url(), path, s);
    /* on the peer's proxy too */
    assert_problem(api_get(cust_url(), strf("/v1/substations/%s", bad), KEY_DISPATCH), 400);
}

static void wrong_check_symbol_in_reference(void **state)
{
    char *ad = create_address();
    char *name = strf("bad ref %s", uniq());
    api_resp *r = api_post(cust_url(), "/v1/customers", KEY_MARKETING,
                           jdump(json_pack("{s:s, s:s, s:s}", "name", name, "category", "hv",
                                           "address", spoil_check(ad))));
    assert_problem_field(r, 400, "address");
    no_customer_named(name);

    char *ss = create_substation(strf("bad ref %s", uniq()));
    char *ln = create_line(KEY_PRODUCTION, strf("bad ref %s", uniq()), "public", 10);
    api_resp *rel = api_post(grid_url(), "/v1/relations/substation-line", KEY_PRODUCTION,
                             jdump(json_pack("{s:s, s:s}", "from", spoil_check(ss), "to", ln)));
    assert_problem_field(rel, 400, "from");
    assert_int_equal(json_array_size(list_items(api_get(
                         grid_url(), strf("/v1/relations/substation-line?to=%s", ln), KEY_DISPATCH))),
                     0);
    /* and in a filter */
    assert_problem(api_get(cust_url(), strf("/v1/customers?address=%s", spoil_check(ad)),
                           KEY_DISPATCH),
                   400);
    assert_problem(api_get(grid_url(), strf("/v1/substations?code=%s", spoil_check(ss)),
                           KEY_DISPATCH),
                   400);
}

static void code_of_wrong_type_in_path(void **state)
{
    char *ln = create_line(KEY_PRODUCTION, strf("wrong type %s", uniq()), "public", 10);
    api_resp *line = api_get(grid_url(), strf("/v1/lines/%s", ln), KEY_DISPATCH);
    assert_status(line, 200);
    assert_problem(api_get(grid_url(), strf("/v1/substations/%s", ln), KEY_DISPATCH), 400);
    assert_problem(api_patch(grid_url(), strf("/v1/substations/%s", ln), KEY_PRODUCTION,
                             jdump(json_pack("{s:s}", "name", "renamed"))),
                   400);
    assert_problem(api_delete(grid_url(), strf("/v1/substations/%s", ln), KEY_PRODUCTION), 400);
    unchanged(grid_url(), strf("/v1/lines/%s", ln), line);
    /* a customer code where an address code belongs */
    char *cu = create_customer(strf("wrong type %s", uniq()), NULL);
    assert_problem(api_get(cust_url(), strf("/v1/addresses/%s", cu), KEY_DISPATCH), 400);
}

static void code_of_wrong_type_in_reference(void **state)
{
    char *cu = create_customer(strf("a customer %s", uniq()), NULL);
    char *name = strf("cu as address %s", uniq());
    api_resp *r = api_post(cust_url(), "/v1/customers", KEY_MARKETING,
                           jdump(json_pack("{s:s, s:s, s:s}", "name", name, "category", "hv",
                                           "address", cu)));
    assert_problem_field(r, 400, "address");
    no_customer_named(name);

    char *ss = create_substation(strf("reversed %s", uniq()));
    char *ln = create_line(KEY_PRODUCTION, strf("reversed %s", uniq()), "public", 10);
    api_resp *rel = api_post(grid_url(), "/v1/relations/substation-line", KEY_PRODUCTION,
                             jdump(json_pack("{s:s, s:s}", "from", ln, "to", ss)));
    assert_problem(rel, 400);
    assert_true(problem_names_field(rel, "from") && problem_names_field(rel, "to"));
    assert_int_equal(json_array_size(list_items(api_get(
                         grid_url(), strf("/v1/relations/substation-line?from=%s", ss), KEY_DISPATCH))),
                     0);

    /* a client-supplied code of another type on create */
    char *sname = strf("ln code for ss %s", uniq());
    api_resp *own = api_post(grid_url(), "/v1/substations", KEY_PRODUCTION,
                             jdump(json_pack("{s:s, s:s, s:f}", "code", mint_code("LN"), "name",
                                             sname, "voltage_kv", 110.0)));
    assert_problem_field(own, 400, "code");
    api_resp *own2 = api_post(grid_url(), "/v1/substations", KEY_PRODUCTION,
                              jdump(json_pack("{s:s, s:s, s:f}", "code", spoil_check(mint_code("SS")),
                                              "name", sname, "voltage_kv", 110.0)));
    assert_problem_field(own2, 400, "code");
    no_substation_named(sname);
}

static void unknown_code_is_not_found(void **state)
{
    char *ghost = mint_code("SS");
    assert_problem(api_get(grid_url(), strf("/v1/substations/%s", ghost), KEY_DISPATCH), 404);
    assert_problem(api_patch(grid_url(), strf("/v1/substations/%s", ghost), KEY_PRODUCTION,
                             jdump(json_pack("{s:s}", "name", "x"))),
                   404);
    assert_problem(api_delete(grid_url(), strf("/v1/substations/%s", ghost), KEY_PRODUCTION), 404);
    assert_problem(api_get(cust_url(), strf("/v1/customers/%s", mint_code("CU")), KEY_DISPATCH), 404);
    /* still nothing there */
    assert_problem(api_get(grid_url(), strf("/v1/substations/%s", ghost), KEY_DISPATCH), 404);
}

/* ---- size and type of the body ------------------------------------------------------------ */

static char *big_body(const char *name, size_t total)
{
    char *head = strf("{\"name\": \"%s\", \"voltage_kv\": 110, \"pad\": \"", name);
    size_t hl = strlen(head);
    char *b = it_track(malloc(total + 1), free);
    assert_non_null(b);
    memcpy(b, head, hl);
    memset(b + hl, 'x', total - hl - 2);
    b[total - 2] = '"';
    b[total - 1] = '}';
    b[total] = '\0';
    return b;
}

static void body_over_the_limit(void **state)
{
    size_t size = 1153434; /* 1.1 MiB */
    char *name = strf("too big %s", uniq());
    char *body = big_body(name, size);
    api_opts o = {.key = KEY_PRODUCTION, .expect_continue = 1};
    api_resp *r = api_call("POST", strf("%s/v1/substations", grid_url()), &o, body, size);
    assert_problem(r, 413);
    no_substation_named(name);

    /* a client that sends the whole body at once (no Expect) gets the same answer */
    api_opts plain = {.key = KEY_PRODUCTION};
    assert_problem(api_call("POST", strf("%s/v1/substations", grid_url()), &plain, body, size), 413);
    no_substation_named(name);

    api_resp *s = new_substation();
    const char *path = strf("/v1/substations/%s", jstr(s->json, "code"));
    api_resp *p = api_call("PATCH", strf("%s%s", grid_url(), path), &o, body, size);
    assert_problem(p, 413);
    unchanged(grid_url(), path, s);

    /* a body just under the limit is read and judged on its content */
    char *name2 = strf("big but fine %s", uniq());
    char *under = big_body(name2, 1000 * 1000);
    api_opts o2 = {.key = KEY_PRODUCTION};
    assert_problem_field(api_call("POST", strf("%s/v1/substations", grid_url()), &o2, under,
                                  strlen(under)),
                         400, "pad");
    no_substation_named(name2);
}

static void chunked_body_over_the_limit(void **state)
{
    size_t size = 1153434;
    char *name = strf("too big chunked %s", uniq());
    char *body = big_body(name, size);
    api_opts o = {.key = KEY_PRODUCTION, .chunked = 1};
    api_resp *r = api_call("POST", strf("%s/v1/substations", grid_url()), &o, body, size);
    assert_problem(r, 413);
    no_substation_named(name);

    /* a small chunked body is fine */
    char *ok_name = strf("chunked ok %s", uniq());
    char *small = jdump(json_pack("{s:s, s:f}", "name", ok_name, "voltage_kv", 110.0));
    assert_status(api_call("POST", strf("%s/v1/substations", grid_url()), &o, small, strlen(small)),
                  201);
    assert_int_equal(count_where(grid_url(), "substations", strf("name=%s", urlenc(ok_name))), 1);
}

static void not_json_content_type(void **state)
{
    char *name = strf("text plain %s", uniq());
    char *body = jdump(json_pack("{s:s, s:f}", "name", name, "voltage_kv", 110.0));
    assert_problem(post_raw(grid_url(), "/v1/substations", KEY_PRODUCTION, "text/plain", body,
                            strlen(body)),
                   415);
    assert_problem(post_raw(grid_url(), "/v1/substations", KEY_PRODUCTION, "", body, strlen(body)),
                   415);
    assert_problem(post_raw(grid_url(), "/v1/substations", KEY_PRODUCTION,
                            "application/x-www-form-urlencoded", body, strlen(body)),
                   415);
    /* merge-patch+json is for PATCH only */
    assert_problem(post_raw(grid_url(), "/v1/substations", KEY_PRODUCTION,
                            "application/merge-patch+json", body, strlen(body)),
                   415);
    no_substation_named(name);
    /* with a charset parameter it is still JSON */
    char *ok_name = strf("charset %s", uniq());
    char *ok = jdump(json_pack("{s:s, s:f}", "name", ok_name, "voltage_kv", 110.0));
    assert_status(post_raw(grid_url(), "/v1/substations", KEY_PRODUCTION,
                           "application/json; charset=utf-8", ok, strlen(ok)),
                  201);

    api_resp *s = new_substation();
    const char *path = strf("/v1/substations/%s", jstr(s->json, "code"));
    const char *pb = "{\"name\": \"renamed\"}";
    assert_problem(patch_raw(grid_url(), path, KEY_PRODUCTION, "text/plain", pb, strlen(pb)), 415);
    /* a JSON Patch (RFC 6902) is not a merge patch */
    const char *jp = "[{\"op\": \"replace\", \"path\": \"/name\", \"value\": \"renamed\"}]";
    assert_problem(patch_raw(grid_url(), path, KEY_PRODUCTION, "application/json-patch+json", jp,
                             strlen(jp)),
                   415);
    unchanged(grid_url(), path, s);

    char *cname = strf("text plain %s", uniq());
    char *cb = jdump(json_pack("{s:s, s:s}", "name", cname, "category", "hv"));
    assert_problem(post_raw(cust_url(), "/v1/customers", KEY_MARKETING, "text/plain", cb, strlen(cb)),
                   415);
    no_customer_named(cname);
}

/* ---- authentication ------------------------------------------------------------------------------ */

static void assert_unauthorized(const api_resp *r)
{
    assert_problem(r, 401);
    if (strncasecmp(r->www_authenticate, "Bearer", 6) != 0) {
        api_dump(r);
        fail_msg("401 without a WWW-Authenticate: Bearer challenge (got '%s')", r->www_authenticate);
    }
}

static void missing_authorization(void **state)
{
    assert_unauthorized(api_get(grid_url(), "/v1/substations", NULL));
    assert_unauthorized(api_get(cust_url(), "/v1/customers", NULL));
    char *name = strf("no auth %s", uniq());
    assert_unauthorized(api_post(grid_url(), "/v1/substations", NULL,
                                 jdump(json_pack("{s:s, s:f}", "name", name, "voltage_kv", 110.0))));
    no_substation_named(name);
    api_resp *s = new_substation();
    const char *path = strf("/v1/substations/%s", jstr(s->json, "code"));
    assert_unauthorized(api_delete(grid_url(), path, NULL));
    assert_unauthorized(api_patch(grid_url(), path, NULL, "{\"name\": \"renamed\"}"));
    unchanged(grid_url(), path, s);
}

static void unknown_key(void **state)
{
    assert_unauthorized(api_get(grid_url(), "/v1/substations", "not-a-key"));
    char *name = strf("bad key %s", uniq());
    assert_unauthorized(api_post(grid_url(), "/v1/substations", "dev-production-key-x",
                                 jdump(json_pack("{s:s, s:f}", "name", name, "voltage_kv", 110.0))));
    no_substation_named(name);
    assert_unauthorized(api_get(cust_url(), "/v1/customers", "DEV-MARKETING-KEY"));
}

static void malformed_authorization(void **state)
{
    const char *values[] = {"Basic xyz", "Bearer", "Bearer ", "Token dev-admin-key",
                            "Bearer dev-admin-key extra", "dev-admin-key", "BearerX dev-admin-key"};
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        api_opts o = {.authorization = values[i]};
        api_resp *r = api_call("GET", strf("%s/v1/substations", grid_url()), &o, NULL, 0);
        if (r->status != 401) fail_msg("Authorization '%s': status %ld, want 401", values[i], r->status);
        assert_unauthorized(r);
    }
    char *name = strf("basic %s", uniq());
    char *body = jdump(json_pack("{s:s, s:f}", "name", name, "voltage_kv", 110.0));
    api_opts o = {.authorization = "Basic ZGV2LWFkbWluLWtleTo="};
    assert_unauthorized(api_call("POST", strf("%s/v1/substations", grid_url()), &o, body, strlen(body)));
    no_substation_named(name);
}

/* ---- preconditions, routes, methods -------------------------------------------------------------- */

static void stale_if_match(void **state)
{
    api_resp *s = new_substation();
    const char *path = strf("/v1/substations/%s", jstr(s->json, "code"));
    char *url = strf("%s%s", grid_url(), path);
    const char *body = "{\"name\": \"stale write\"}";
    const char *tags[] = {"\"0\"", "\"2\"", "W/\"7\"", "\"abc\""};
    for (size_t i = 0; i < sizeof tags / sizeof *tags; i++) {
        api_opts o = {.key = KEY_PRODUCTION, .if_match = tags[i]};
        assert_problem(api_call("PATCH", url, &o, body, strlen(body)), 412);
        api_opts d = {.key = KEY_PRODUCTION, .if_match = tags[i]};
        assert_problem(api_call("DELETE", url, &d, NULL, 0), 412);
    }
    unchanged(grid_url(), path, s);
}

static void unknown_route(void **state)
{
    const char *paths[] = {"/v1/nothing-here", "/", "/v2/substations", "/v1/substations/x/y",
                           "/v1/relations/nothing-here", "/v1"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        api_resp *r = api_get(grid_url(), paths[i], KEY_DISPATCH);
        assert_problem(r, 404);
        api_resp *c = api_get(cust_url(), paths[i], KEY_DISPATCH);
        assert_problem(c, 404);
    }
}

static int allow_has(const char *allow, const char *method)
{
    char copy[256];
    snprintf(copy, sizeof copy, "%s", allow);
    char *save = NULL;
    for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
        if (strcmp(t, method) == 0) return 1;
    return 0;
}

static void wrong_method(void **state)
{
    api_opts o = {.key = KEY_ADMIN};
    api_resp *r = api_call("PUT", strf("%s/v1/substations", grid_url()), &o, NULL, 0);
    assert_problem(r, 405);
    if (!allow_has(r->allow, "GET") || !allow_has(r->allow, "POST") || allow_has(r->allow, "PUT"))
        fail_msg("Allow: '%s' should list GET and POST", r->allow);

    api_resp *d = api_call("DELETE", strf("%s/v1/customers", cust_url()), &o, NULL, 0);
    assert_problem(d, 405);
    assert_true(allow_has(d->allow, "GET") && allow_has(d->allow, "POST"));

    char *code = create_substation(strf("method %s", uniq()));
    const char *body = "{\"name\": \"put\"}";
    api_resp *p = api_call("PUT", strf("%s/v1/substations/%s", grid_url(), code), &o, body,
                           strlen(body));
    assert_problem(p, 405);
    assert_true(allow_has(p->allow, "GET") && allow_has(p->allow, "PATCH") &&
                allow_has(p->allow, "DELETE"));
    assert_int_equal(version_of(grid_url(), "substations", code), 1);

    api_resp *rel = api_call("PATCH", strf("%s/v1/relations/substation-line", grid_url()), &o,
                             body, strlen(body));
    assert_problem(rel, 405);
    assert_true(allow_has(rel->allow, "GET") && allow_has(rel->allow, "POST") &&
                allow_has(rel->allow, "DELETE"));
}

static void path_parameter_too_long(void **state)
{
    char longp[102];
    memset(longp, 'A', 101);
    longp[101] = '\0';
    assert_problem(api_get(grid_url(), strf("/v1/substations/%s", longp), KEY_DISPATCH), 400);
    assert_problem(api_patch(grid_url(), strf("/v1/substations/%s", longp), KEY_PRODUCTION,
                             "{\"name\": \"x\"}"),
                   400);
    assert_problem(api_get(cust_url(), strf("/v1/substations/%s", longp), KEY_DISPATCH), 400);
    char huge[5001];
    memset(huge, 'B', 5000);
    huge[5000] = '\0';
    assert_problem(api_get(cust_url(), strf("/v1/customers/%s", huge), KEY_DISPATCH), 400);
}

static void location_out_of_range(void **state)
{
    char *name = strf("lat 91 %s", uniq());
    const char *bad[][2] = {{"120.0", "91"}, {"181", "30"}, {"-180.5", "0"}, {"0", "-90.01"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *body = strf("{\"name\": \"%s\", \"voltage_kv\": 110, \"location\": {\"lon\": %s, "
                          "\"lat\": %s}}",
                          name, bad[i][0], bad[i][1]);
        assert_problem_field(api_post(grid_url(), "/v1/substations", KEY_PRODUCTION, body), 400,
                             "location");
    }
    const char *shapes[] = {"{\"lon\": 120}", "{\"lon\": 120, \"lat\": 30, \"alt\": 5}",
                            "[120, 30]", "{\"lon\": \"120\", \"lat\": 30}"};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        char *body = strf("{\"name\": \"%s\", \"voltage_kv\": 110, \"location\": %s}", name, shapes[i]);
        assert_problem_field(api_post(grid_url(), "/v1/substations", KEY_PRODUCTION, body), 400,
                             "location");
    }
    no_substation_named(name);


    char *detail = strf("lat 91 %s", uniq());
    api_resp *a = api_post(cust_url(), "/v1/addresses", KEY_MARKETING,
                           jdump(json_pack("{s:s, s:s, s:s, s:s, s:{s:f, s:f}}", "province", "p",
                                           "city", "c", "district", "d", "detail", detail,
                                           "location", "lon", 120.0, "lat", 91.0)));
    assert_problem_field(a, 400, "location");
    assert_int_equal(count_where(cust_url(), "addresses", strf("status=all&detail=%s", urlenc(detail))), 0);
}

/* ---- awkward text is data -------------------------------------------------------------------------- */

static const char *const nasty[] = {
    "'; DROP TABLE substations; --", "\"", "\\", "%", "_", "变电站", "⚡🔌", "' OR '1'='1", "%_\\%",
};
#define NNASTY (sizeof nasty / sizeof *nasty)

/* list base/v1/coll?field=value: exactly one item, the code, with field == value. */
static void filter_finds_exactly(const char *base, const char *coll, const char *field,
                                 const char *value, const char *code)
{
    api_resp *l = api_get(base, strf("/v1/%s?%s=%s", coll, field, urlenc(value)), KEY_DISPATCH);
    json_t *items = list_items(l);
    if (json_array_size(items) != 1 || !list_has_code(l, code)) {
        api_dump(l);
        fail_msg("filter %s=%s on %s: want exactly %s", field, value, coll, code);
    }
    assert_string_equal(jstr(json_array_get(items, 0), field), value);
}

/* Every item answered for field=value has exactly that value. */
static void filter_is_exact(const char *base, const char *coll, const char *field, const char *value,
                            const char *code)
{
    api_resp *l = api_get(base, strf("/v1/%s?%s=%s&limit=1000", coll, field, urlenc(value)),
                          KEY_DISPATCH);
    json_t *items = list_items(l);
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        if (!jstr(it, field) || strcmp(jstr(it, field), value) != 0) {
            api_dump(l);
            fail_msg("filter %s=%s on %s answered an item with %s=%s", field, value, coll, field,
                     jstr(it, field) ? jstr(it, field) : "null");
        }
    }
    if (!list_has_code(l, code)) fail_msg("filter %s=%s on %s misses %s", field, value, coll, code);
}

static void metacharacters_are_data_on_grid(void **state)
{
    for (size_t i = 0; i < NNASTY; i++) {
        char *u = uniq();
        char *name = strf("%s %s", nasty[i], u);
        /* a decoy that LIKE-style matching of % or _ would wrongly find */
        create_substation(strf("X %s", u));
        api_resp *c = create_ok(grid_url(), "substations", KEY_PRODUCTION,
                                jdump(json_pack("{s:s, s:f}", "name", name, "voltage_kv", 110.0)));
        const char *code = jstr(c->json, "code");
        assert_string_equal(jstr(c->json, "name"), name);
        api_resp *g = api_get(grid_url(), strf("/v1/substations/%s", code), KEY_DISPATCH);
        assert_status(g, 200);
        assert_string_equal(jstr(g->json, "name"), name);
        filter_finds_exactly(grid_url(), "substations", "name", name, code);

        api_resp *l = create_ok(grid_url(), "lines", KEY_PRODUCTION,
                                jdump(json_pack("{s:s, s:s, s:f, s:s}", "name", name, "kind",
                                                "public", "voltage_kv", 10.0, "conductor", name)));
        const char *lc = jstr(l->json, "code");
        api_resp *lg = api_get(grid_url(), strf("/v1/lines/%s", lc), KEY_DISPATCH);
        assert_string_equal(jstr(lg->json, "name"), name);
        assert_string_equal(jstr(lg->json, "conductor"), name);
        filter_finds_exactly(grid_url(), "lines", "conductor", name, lc);

        /* a patch with the value is stored verbatim too */
        char *renamed = strf("%s renamed %s", nasty[i], u);
        api_resp *p = api_patch(grid_url(), strf("/v1/substations/%s", code), KEY_PRODUCTION,
                                jdump(json_pack("{s:s}", "name", renamed)));
        assert_status(p, 200);
        assert_string_equal(jstr(p->json, "name"), renamed);
        filter_finds_exactly(grid_url(), "substations", "name", renamed, code);
    }
    /* and the tables are all still there */
    assert_status(api_get(grid_url(), "/v1/substations?limit=1", KEY_DISPATCH), 200);
    assert_status(api_get(grid_url(), "/v1/lines?limit=1", KEY_DISPATCH), 200);
}

static void metacharacters_are_data_on_cust(void **state)
{
    static const char *const addr_fields[] = {"province", "city",     "district", "street", "community",
                                              "building", "unit",     "room",     "detail"};
    for (size_t i = 0; i < NNASTY; i++) {
        char *u = uniq();
        char *with_u = strf("%s %s", nasty[i], u);
        json_t *ab = json_object();
        for (size_t f = 0; f < sizeof addr_fields / sizeof *addr_fields; f++) {
            /* unit and room hold 30 bytes: the bare value */
            int bare = strcmp(addr_fields[f], "unit") == 0 || strcmp(addr_fields[f], "room") == 0;
            json_object_set_new(ab, addr_fields[f], json_string(bare ? nasty[i] : with_u));
        }
        api_resp *a = create_ok(cust_url(), "addresses", KEY_MARKETING, jdump(json_incref(ab)));
        const char *ad = jstr(a->json, "code");
        api_resp *ag = api_get(cust_url(), strf("/v1/addresses/%s", ad), KEY_DISPATCH);
        assert_status(ag, 200);
        for (size_t f = 0; f < sizeof addr_fields / sizeof *addr_fields; f++)
            assert_string_equal(jstr(ag->json, addr_fields[f]), jstr(ab, addr_fields[f]));
        json_decref(ab);
        filter_finds_exactly(cust_url(), "addresses", "detail", with_u, ad);
        filter_is_exact(cust_url(), "addresses", "unit", nasty[i], ad);

        create_customer(strf("X %s", u), NULL); /* decoy */
        api_resp *c = create_ok(cust_url(), "customers", KEY_MARKETING,
                                jdump(json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", with_u,
                                                "category", "lv_resident", "phone", with_u,
                                                "account_no", with_u, "address", ad)));
        const char *cu = jstr(c->json, "code");
        api_resp *cg = api_get(cust_url(), strf("/v1/customers/%s", cu), KEY_DISPATCH);
        assert_string_equal(jstr(cg->json, "name"), with_u);
        assert_string_equal(jstr(cg->json, "phone"), with_u);
        assert_string_equal(jstr(cg->json, "account_no"), with_u);
        filter_finds_exactly(cust_url(), "customers", "name", with_u, cu);
        filter_finds_exactly(cust_url(), "customers", "account_no", with_u, cu);
        filter_finds_exactly(cust_url(), "customers", "phone", with_u, cu);
        /* read through grid-svc as well */
        api_resp *via = api_get(grid_url(), strf("/v1/customers?name=%s", urlenc(with_u)), KEY_DISPATCH);
        assert_int_equal(json_array_size(list_items(via)), 1);
        assert_true(list_has_code(via, cu));
    }
    assert_status(api_get(cust_url(), "/v1/customers?limit=1", KEY_DISPATCH), 200);
    assert_status(api_get(cust_url(), "/v1/addresses?limit=1", KEY_DISPATCH), 200);
}

/* ---- list parameters ------------------------------------------------------------------------------------ */

static void limit_out_of_range(void **state)
{
    const char *bad[] = {"0", "1001", "-1", "abc", "", "10x", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_problem(api_get(grid_url(), strf("/v1/substations?limit=%s", bad[i]), KEY_DISPATCH),
                       400);
        assert_problem(api_get(cust_url(), strf("/v1/customers?limit=%s", bad[i]), KEY_DISPATCH), 400);
        assert_problem(api_get(grid_url(), strf("/v1/relations/substation-line?limit=%s", bad[i]),
                               KEY_DISPATCH),
                       400);
    }
    assert_status(api_get(grid_url(), "/v1/substations?limit=1", KEY_DISPATCH), 200);
    assert_status(api_get(grid_url(), "/v1/substations?limit=1000", KEY_DISPATCH), 200);
}

static void unknown_filter(void **state)
{
    assert_problem(api_get(grid_url(), "/v1/substations?colour=red", KEY_DISPATCH), 400);
    assert_problem(api_get(cust_url(), "/v1/customers?colour=red", KEY_DISPATCH), 400);
    assert_problem(api_get(grid_url(), "/v1/relations/substation-line?colour=red", KEY_DISPATCH), 400);
    /* a field of another collection is unknown here */
    assert_problem(api_get(grid_url(), "/v1/substations?kind=public", KEY_DISPATCH), 400);
    /* through the proxy, too */
    assert_problem(api_get(grid_url(), "/v1/customers?colour=red", KEY_DISPATCH), 400);
}

static void bad_filter_values(void **state)
{
    const char *paths[] = {
        "/v1/substations?voltage_kv=high", "/v1/lines?kind=private",
        "/v1/substations?status=dreaming", "/v1/substations?after=not-a-cursor",
        "/v1/substations?code=",           "/v1/substations?location=1",
        "/v1/relations/substation-line?from=LN-nope",
    };
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        assert_problem(api_get(grid_url(), paths[i], KEY_DISPATCH), 400);
    char *ln = mint_code("LN");
    assert_problem(api_get(grid_url(), strf("/v1/substations?after=%s", ln), KEY_DISPATCH), 400);
    assert_problem(api_get(grid_url(), strf("/v1/substations?code=%s", ln), KEY_DISPATCH), 400);
    assert_problem(api_get(grid_url(), strf("/v1/relations/substation-line?from=%s", ln), KEY_DISPATCH),
                   400);
    /* ending a link needs both ends */
    char *ss = mint_code("SS");
    assert_problem(api_delete(grid_url(), strf("/v1/relations/substation-line?from=%s", ss),
                              KEY_PRODUCTION),
                   400);
}

static void bad_idempotency_key(void **state)
{
    char *name = strf("bad idem key %s", uniq());
    char *body = jdump(json_pack("{s:s, s:f}", "name", name, "voltage_kv", 110.0));
    char key[260];
    memset(key, 'k', 250);
    key[250] = '\0';
    api_opts o = {.key = KEY_PRODUCTION, .idempotency_key = key};
    assert_problem(api_call("POST", strf("%s/v1/substations", grid_url()), &o, body, strlen(body)),
                   400);
    no_substation_named(name);
}

/* ---- invalid merge patches ------------------------------------------------------------------
 * Kept together at the end: each is refused by the same validation as a
 * create, after the stored object has been merged with the patch. */

/* PATCH the patch onto a fresh substation: 400 naming field, object unchanged. */
static void refused_patch(const char *patch, const char *field)
{
    api_resp *s = new_substation();
    const char *path = strf("/v1/substations/%s", jstr(s->json, "code"));
    assert_problem_field(api_patch(grid_url(), path, KEY_PRODUCTION, patch), 400, field);
    unchanged(grid_url(), path, s);
}

static void patch_with_unknown_field(void **state)
{
    refused_patch("{\"name\": \"renamed\", \"colour\": \"red\"}", "colour");
}

static void patch_with_wrong_type(void **state)
{
    refused_patch("{\"voltage_kv\": true}", "voltage_kv");
    refused_patch("{\"name\": 42}", "name");
}

static void patch_removing_required_field(void **state)
{
    /* null removes a member (RFC 7396); a required one may not go */
    refused_patch("{\"name\": null}", "name");
}

static void patch_of_read_only_members(void **state)
{
    refused_patch(jdump(json_pack("{s:s}", "code", mint_code("SS"))), "code");
    refused_patch("{\"version\": 99}", "version");
    refused_patch("{\"updated_by\": \"someone\"}", "updated_by");
    refused_patch("{\"created_at\": \"2020-01-01T00:00:00Z\"}", "created_at");
    refused_patch("{\"status\": \"retired\"}", "status");
}

static void patch_with_location_out_of_range(void **state)
{
    refused_patch("{\"location\": {\"lon\": 120, \"lat\": 91}}", "location");
}

static void patch_with_bad_reference(void **state)
{
    char *cu = create_customer(strf("bad ref patch %s", uniq()), NULL);
    const char *path = strf("/v1/customers/%s", cu);
    api_resp *before = api_get(cust_url(), path, KEY_DISPATCH);
    assert_problem_field(api_patch(cust_url(), path, KEY_MARKETING,
                                   jdump(json_pack("{s:s}", "address", spoil_check(create_address())))),
                         400, "address");
    assert_problem_field(api_patch(cust_url(), path, KEY_MARKETING,
                                   jdump(json_pack("{s:s}", "address", cu))),
                         400, "address");
    unchanged(cust_url(), path, before);
}


/* Bytes that are not UTF-8, or a message cut inside a character, never
 * break the problem answer (nor the daemon). */
static void invalid_utf8_in_path_and_headers(void **state)
{
    (void)state;
    const char *bases[] = {grid_url(), cust_url()};
    const char *owned[] = {"substations", "customers"};
    for (int i = 0; i < 2; i++) {
        api_resp *r = api_get(bases[i], "/v1/%ff%fe", NULL);
        assert_status(r, 404);
        assert_non_null(r->json);
        sbuf longpath = {0};
        sb_append(&longpath, "/v1/");
        for (int k = 0; k < 340; k++) sb_append(&longpath, "%E7%94%B5"); /* 电 */
        r = api_get(bases[i], longpath.s, KEY_PRODUCTION);
        sb_free(&longpath);
        assert_status(r, 404);
        assert_non_null(r->json);
        api_opts o = {.key = KEY_PRODUCTION, .content_type = "text/\xff"};
        r = api_call("POST", strf("%s/v1/%s", bases[i], owned[i]), &o, "{}", 2);
        assert_status(r, 415);
        assert_non_null(r->json);
        r = api_get(bases[i], "/healthz", NULL);
        assert_status(r, 200);
    }
    api_resp *r = api_get(grid_url(), strf("/v1/substations?code=%s", urlenc("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa电")),
                          KEY_PRODUCTION);
    assert_status(r, 400);
    assert_non_null(r->json);
}

/* A lower-case code, or one with Crockford aliases, names the same object:
 * a retired address stays refused however its code is written. */
static void reference_written_in_lower_case(void **state)
{
    (void)state;
    char *ad = create_address();
    char *lower = it_strdup(ad);
    for (char *p = lower; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
    api_resp *r = api_post(cust_url(), "/v1/customers", KEY_MARKETING,
                           jdump(json_pack("{s:s, s:s, s:s}", "name", "lower", "category",
                                           "lv_resident", "address", lower)));
    assert_status(r, 201);
    assert_string_equal(jstr(r->json, "address"), ad);
    assert_status(api_delete(cust_url(), strf("/v1/addresses/%s", ad), KEY_MARKETING), 200);
    r = api_post(cust_url(), "/v1/customers", KEY_MARKETING,
                 jdump(json_pack("{s:s, s:s, s:s}", "name", "lower", "category", "lv_resident",
                                 "address", lower)));
    assert_status(r, 409);
}

/* ---- request heads too large (each gets a status and a problem) ----------------------------- */

/* A query of n parameters "aNNNN=1", joined by '&'. */
static char *many_params(int n)
{
    size_t cap = (size_t)n * 12 + 1, len = 0;
    char *q = it_track(malloc(cap), free);
    assert_non_null(q);
    q[0] = '\0';
    for (int i = 0; i < n; i++) len += (size_t)snprintf(q + len, cap - len, "%sa%d=1", i ? "&" : "", i);
    return q;
}

static char *repeat(char c, size_t n)
{
    char *s = it_track(malloc(n + 1), free);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* 2,000 parameters (about 17 KB) got no answer at all: the connection was
 * closed once libmicrohttpd's memory for the head ran out. 256 are read. */
static void query_of_two_thousand_parameters(void **state)
{
    const char *bases[] = {grid_url(), cust_url()};
    for (int i = 0; i < 2; i++) {
        api_opts o = {.key = KEY_DISPATCH};
        api_resp *r =
            api_call("GET", strf("%s/v1/substations?%s", bases[i], many_params(2000)), &o, NULL, 0);
        if (r->transport_error) fail_msg("no answer to 2,000 parameters: %s", r->error);
        assert_problem(r, 414);
        assert_str_contains(jstr(r->json, "detail"), "more than 256 parameters");
    }
    /* few but long: 40 KB in one */
    api_opts o = {.key = KEY_DISPATCH};
    api_resp *r = api_call("GET", strf("%s/v1/customers?name=%s", cust_url(), repeat('n', 40000)),
                           &o, NULL, 0);
    assert_problem(r, 414);
    assert_str_contains(jstr(r->json, "detail"), "longer than 32768 bytes");
    /* within the limits, the parameters are read: an unknown one is a 400 */
    r = api_call("GET", strf("%s/v1/customers?%s", cust_url(), many_params(20)), &o, NULL, 0);
    assert_problem(r, 400);
}

/* A target of 100 KB does not fit the 64 KiB libmicrohttpd keeps for a
 * head: it refuses it itself, still with 414, and the daemon goes on. */
static void target_of_a_hundred_kilobytes(void **state)
{
    api_opts o = {.key = KEY_DISPATCH};
    api_resp *r = api_call("GET", strf("%s/v1/substations?name=%s", grid_url(), repeat('a', 100000)),
                           &o, NULL, 0);
    assert_status(r, 414);
    r = api_call("GET", strf("%s/v1/customers/%s", cust_url(), repeat('b', 100000)), &o, NULL, 0);
    assert_status(r, 414);
    assert_status(api_get(grid_url(), "/v1/substations?limit=1", KEY_DISPATCH), 200);
    assert_status(api_get(cust_url(), "/v1/customers?limit=1", KEY_DISPATCH), 200);
}

static void header_fields_too_large(void **state)
{
    const char *big[] = {strf("X-Big: %s", repeat('c', 40000)), NULL};
    api_opts o = {.key = KEY_DISPATCH, .headers = big};
    api_resp *r = api_call("GET", strf("%s/v1/substations?limit=1", grid_url()), &o, NULL, 0);
    assert_problem(r, 431);
    const char **many = it_track(calloc(151, sizeof *many), free);
    assert_non_null(many);
    for (int i = 0; i < 150; i++) many[i] = strf("X-Field-%d: v", i);
    api_opts m = {.key = KEY_DISPATCH, .headers = many};
    r = api_call("GET", strf("%s/v1/customers?limit=1", cust_url()), &m, NULL, 0);
    assert_problem(r, 431);
    assert_str_contains(jstr(r->json, "detail"), "at most 100");
    /* and the daemons answer as usual afterwards */
    assert_status(api_get(grid_url(), "/v1/substations?limit=1", KEY_DISPATCH), 200);
}

int main(void)
{
    it_filter();
    srand((unsigned)(time(NULL) ^ getpid()));
    const struct CMUnitTest tests[] = {
        IT(malformed_json),
        IT(empty_body),
        IT(json_not_an_object),
        IT(duplicate_member),
        IT(invalid_utf8_and_nul),
        IT(unknown_field),
        IT(wrong_types),
        IT(missing_required_field),
        IT(enum_outside_its_set),
        IT(status_and_read_only_members),
        IT(text_and_number_limits),
        IT(wrong_check_symbol_in_path),
        IT(wrong_check_symbol_in_reference),
        IT(code_of_wrong_type_in_path),
        IT(code_of_wrong_type_in_reference),
        IT(unknown_code_is_not_found),
        IT(body_over_the_limit),
        IT(chunked_body_over_the_limit),
        IT(not_json_content_type),
        IT(missing_authorization),
        IT(unknown_key),
        IT(malformed_authorization),
        IT(stale_if_match),
        IT(unknown_route),
        IT(wrong_method),
        IT(path_parameter_too_long),
        IT(location_out_of_range),
        IT(metacharacters_are_data_on_grid),
        IT(metacharacters_are_data_on_cust),
        IT(limit_out_of_range),
        IT(unknown_filter),
        IT(bad_filter_values),
        IT(bad_idempotency_key),
        IT(patch_with_unknown_field),
        IT(patch_with_wrong_type),
        IT(patch_removing_required_field),
        IT(patch_of_read_only_members),
        IT(patch_with_location_out_of_range),
        IT(patch_with_bad_reference),
        IT(invalid_utf8_in_path_and_headers),
        IT(reference_written_in_lower_case),
        IT(query_of_two_thousand_parameters),
        IT(target_of_a_hundred_kilobytes),
        IT(header_fields_too_large),
    };
    return cmocka_run_group_tests_name("bad_input", tests, it_group_setup, it_group_teardown);
}
