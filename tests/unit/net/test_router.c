/* test_router.c -- common/net/router.c: literal and {param} matching, 405 with
 * Allow, 404, over-long parameters, segment limits, order and indexes. */
#include "../unit_helpers.h"

#include "net/router.h"

static void h_a(request *req, void *ctx) { (void)req; (void)ctx; }
static void h_b(request *req, void *ctx) { (void)req; (void)ctx; }

static int ctx_list, ctx_one, ctx_rel;

/* The table a collection service builds, plus a few extras. */
static router *sample_router(void)
{
    router *r = router_new();
    router_add(r, "GET", "/v1/substations", h_a, &ctx_list, 0, "list");          /* 0 */
    router_add(r, "POST", "/v1/substations", h_b, &ctx_list, ROUTE_BODY_JSON, "add"); /* 1 */
    router_add(r, "GET", "/v1/substations/{code}", h_a, &ctx_one, 0, "get");      /* 2 */
    router_add(r, "PATCH", "/v1/substations/{code}", h_b, &ctx_one, ROUTE_BODY_JSON, "patch"); /* 3 */
    router_add(r, "DELETE", "/v1/substations/{code}", h_b, &ctx_one, ROUTE_BODY_JSON, "del"); /* 4 */
    router_add(r, "GET", "/v1/relations/{kind}", h_a, &ctx_rel, 0, "links");       /* 5 */
    router_add(r, "GET", "/v1/trace/{code}/{direction}/x/{depth}", h_a, NULL, 0, "multi"); /* 6 */
    router_add(r, "GET", "/healthz", h_a, NULL, ROUTE_PUBLIC, "health");           /* 7 */
    return r;
}

static int setup(void **state)
{
    *state = sample_router();
    return 0;
}

static int teardown(void **state)
{
    router_free(*state);
    return 0;
}

static char *repeat(char c, size_t n)
{
    char *s = xmalloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void test_literal_match(void **state)
{
    router *r = *state;
    route_match m;
    assert_int_equal(router_match(r, "GET", "/v1/substations", &m), MATCH_OK);
    assert_non_null(m.route);
    assert_int_equal(m.route->index, 0);
    assert_ptr_equal(m.route->fn, h_a);
    assert_ptr_equal(m.route->ctx, &ctx_list);
    assert_string_equal(m.route->pattern, "/v1/substations");
    assert_int_equal(m.nparams, 0);

    assert_int_equal(router_match(r, "POST", "/v1/substations", &m), MATCH_OK);
    assert_int_equal(m.route->index, 1);
    assert_ptr_equal(m.route->fn, h_b);
    assert_int_equal(m.route->flags, ROUTE_BODY_JSON);

    assert_int_equal(router_match(r, "GET", "/healthz", &m), MATCH_OK);
    assert_int_equal(m.route->index, 7);
    assert_true(m.route->flags & ROUTE_PUBLIC);
    assert_string_equal(m.route->summary, "health");
}

static void test_param_match(void **state)
{
    router *r = *state;
    route_match m;
    assert_int_equal(router_match(r, "GET", "/v1/substations/SS-01ABC", &m), MATCH_OK);
    assert_int_equal(m.route->index, 2);
    assert_int_equal(m.nparams, 1);
    assert_string_equal(m.params[0], "SS-01ABC");

    assert_int_equal(router_match(r, "PATCH", "/v1/substations/x", &m), MATCH_OK);
    assert_int_equal(m.route->index, 3);
    assert_string_equal(m.params[0], "x");

    assert_int_equal(router_match(r, "DELETE", "/v1/substations/SS-2", &m), MATCH_OK);
    assert_int_equal(m.route->index, 4);
    assert_string_equal(m.params[0], "SS-2");

    /* A literal segment must match exactly, including case. */
    assert_int_equal(router_match(r, "GET", "/v1/Substations/SS-1", &m), MATCH_NOT_FOUND);
    assert_int_equal(router_match(r, "GET", "/v1/substation/SS-1", &m), MATCH_NOT_FOUND);
    assert_int_equal(router_match(r, "GET", "/v1/substationsX/SS-1", &m), MATCH_NOT_FOUND);
}

static void test_several_params(void **state)
{
    router *r = *state;
    route_match m;
    assert_int_equal(router_match(r, "GET", "/v1/trace/LN-9/down/x/3", &m), MATCH_OK);
    assert_int_equal(m.route->index, 6);
    assert_int_equal(m.nparams, 3);
    assert_string_equal(m.params[0], "LN-9");
    assert_string_equal(m.params[1], "down");
    assert_string_equal(m.params[2], "3");
    /* The literal between the parameters must match too. */
    assert_int_equal(router_match(r, "GET", "/v1/trace/LN-9/down/y/3", &m), MATCH_NOT_FOUND);

    /* ROUTE_MAX_PARAMS of them are all captured. */
    router *r2 = router_new();
    router_add(r2, "GET", "/{a}/{b}/{c}/{d}", h_a, NULL, 0, NULL);
    assert_int_equal(router_match(r2, "GET", "/1/22/333/4444", &m), MATCH_OK);
    assert_int_equal(m.nparams, ROUTE_MAX_PARAMS);
    assert_string_equal(m.params[0], "1");
    assert_string_equal(m.params[1], "22");
    assert_string_equal(m.params[2], "333");
    assert_string_equal(m.params[3], "4444");
    router_free(r2);
}

static void test_wrong_method_allow(void **state)
{
    router *r = *state;
    route_match m;
    assert_int_equal(router_match(r, "PUT", "/v1/substations", &m), MATCH_BAD_METHOD);
    assert_null(m.route);
    assert_string_equal(m.allow, "GET, POST");

    assert_int_equal(router_match(r, "DELETE", "/v1/substations", &m), MATCH_BAD_METHOD);
    assert_string_equal(m.allow, "GET, POST");

    assert_int_equal(router_match(r, "POST", "/v1/substations/SS-1", &m), MATCH_BAD_METHOD);
    assert_string_equal(m.allow, "GET, PATCH, DELETE");

    assert_int_equal(router_match(r, "POST", "/healthz", &m), MATCH_BAD_METHOD);
    assert_string_equal(m.allow, "GET");

    /* Methods are case-sensitive (RFC 9110 §9.1). */
    assert_int_equal(router_match(r, "get", "/v1/substations", &m), MATCH_BAD_METHOD);
    assert_string_equal(m.allow, "GET, POST");

    /* A method listed twice for one path appears once in Allow. */
    router *r2 = router_new();
    router_add(r2, "GET", "/x/{a}", h_a, NULL, 0, NULL);
    router_add(r2, "GET", "/x/special", h_b, NULL, 0, NULL);
    router_add(r2, "POST", "/x/{a}", h_b, NULL, 0, NULL);
    assert_int_equal(router_match(r2, "DELETE", "/x/special", &m), MATCH_BAD_METHOD);
    assert_string_equal(m.allow, "GET, POST");
    router_free(r2);
}

static void test_not_found(void **state)
{
    router *r = *state;
    route_match m;
    assert_int_equal(router_match(r, "GET", "/v1/nothing", &m), MATCH_NOT_FOUND);
    assert_null(m.route);
    assert_string_equal(m.allow, "");
    assert_int_equal(router_match(r, "GET", "/v2/substations", &m), MATCH_NOT_FOUND);
    assert_int_equal(router_match(r, "GET", "/", &m), MATCH_NOT_FOUND);
    assert_int_equal(router_match(r, "GET", "", &m), MATCH_NOT_FOUND);
    assert_int_equal(router_match(r, "GET", "v1/substations", &m), MATCH_NOT_FOUND);
    assert_int_equal(router_match(r, "GET", "/v1", &m), MATCH_NOT_FOUND);
    assert_int_equal(router_match(r, "GET", "/v1/substations/SS-1/extra", &m), MATCH_NOT_FOUND);
    /* Not found is not a 405, whatever the method. */
    assert_int_equal(router_match(r, "PUT", "/v1/nothing", &m), MATCH_NOT_FOUND);
}

static void test_param_length_limit(void **state)
{
    router *r = *state;
    route_match m;
    char *p100 = repeat('a', ROUTE_PARAM_MAX);
    char *p101 = repeat('b', ROUTE_PARAM_MAX + 1);
    char *path = xasprintf("/v1/substations/%s", p100);
    assert_int_equal(router_match(r, "GET", path, &m), MATCH_OK);
    assert_int_equal(m.route->index, 2);
    assert_int_equal(strlen(m.params[0]), ROUTE_PARAM_MAX);
    assert_string_equal(m.params[0], p100);
    free(path);

    path = xasprintf("/v1/substations/%s", p101);
    assert_int_equal(router_match(r, "GET", path, &m), MATCH_PARAM_TOO_LONG);
    assert_null(m.route);
    /* Over-long whatever the method. */
    assert_int_equal(router_match(r, "PUT", path, &m), MATCH_PARAM_TOO_LONG);
    free(path);

    /* One long parameter among several. */
    path = xasprintf("/v1/trace/LN-1/%s/x/3", p101);
    assert_int_equal(router_match(r, "GET", path, &m), MATCH_PARAM_TOO_LONG);
    free(path);
    path = xasprintf("/v1/trace/%s/%s/x/%s", p100, p100, p100);
    assert_int_equal(router_match(r, "GET", path, &m), MATCH_OK);
    assert_int_equal(m.nparams, 3);
    assert_string_equal(m.params[2], p100);
    free(path);

    /* A long literal-looking segment on an unknown path is simply 404. */
    path = xasprintf("/v1/%s", p101);
    assert_int_equal(router_match(r, "GET", path, &m), MATCH_NOT_FOUND);
    free(path);
    free(p100);
    free(p101);
}

static void test_empty_segment_and_trailing_slash(void **state)
{
    router *r = *state;
    route_match m;
    /* An empty segment never fills a parameter. */
    assert_int_equal(router_match(r, "GET", "/v1/substations/", &m), MATCH_NOT_FOUND);
    assert_int_equal(router_match(r, "PATCH", "/v1/substations/", &m), MATCH_NOT_FOUND);
    assert_int_equal(router_match(r, "GET", "/v1/relations/", &m), MATCH_NOT_FOUND);
    assert_int_equal(router_match(r, "GET", "/v1/trace//down/x/3", &m), MATCH_NOT_FOUND);
    assert_int_equal(router_match(r, "GET", "/v1/trace/LN-1/down/x/", &m), MATCH_NOT_FOUND);
    /* Trailing slashes are other paths. */
    assert_int_equal(router_match(r, "GET", "/healthz/", &m), MATCH_NOT_FOUND);
    assert_int_equal(router_match(r, "GET", "/v1/substations/SS-1/", &m), MATCH_NOT_FOUND);
    /* Doubled slashes too. */
    assert_int_equal(router_match(r, "GET", "//v1/substations", &m), MATCH_NOT_FOUND);
    assert_int_equal(router_match(r, "GET", "/v1//substations", &m), MATCH_NOT_FOUND);
}

static void test_segment_limit(void **state)
{
    (void)state;
    route_match m;
    router *r = router_new();
    /* A route of exactly ROUTE_MAX_SEGS segments works. */
    sbuf pat = {0}, path = {0}, longer = {0};
    for (int i = 0; i < ROUTE_MAX_SEGS; i++) {
        if (i == 5) {
            sb_append(&pat, "/{p}");
            sb_append(&path, "/value");
        } else {
            sb_appendf(&pat, "/s%d", i);
            sb_appendf(&path, "/s%d", i);
        }
    }
    router_add(r, "GET", pat.s, h_a, NULL, 0, NULL);
    assert_int_equal(router_count(r), 1);
    assert_int_equal(router_at(r, 0)->nsegs, ROUTE_MAX_SEGS);
    assert_int_equal(router_match(r, "GET", path.s, &m), MATCH_OK);
    assert_int_equal(m.nparams, 1);
    assert_string_equal(m.params[0], "value");

    /* One more segment than the limit: not found (and no overflow). */
    sb_append(&longer, path.s);
    sb_append(&longer, "/s12");
    assert_int_equal(router_match(r, "GET", longer.s, &m), MATCH_NOT_FOUND);
    /* A trailing slash after the 12th segment is a 13th (empty) one. */
    sb_free(&longer);
    sb_append(&longer, path.s);
    sb_append(&longer, "/");
    assert_int_equal(router_match(r, "GET", longer.s, &m), MATCH_NOT_FOUND);
    /* Many more. */
    sb_free(&longer);
    for (int i = 0; i < 100; i++) sb_append(&longer, "/a");
    assert_int_equal(router_match(r, "GET", longer.s, &m), MATCH_NOT_FOUND);

    sb_free(&pat);
    sb_free(&path);
    sb_free(&longer);
    router_free(r);
}

/* A literal segment beats a parameter, whichever came first (a collection's
 * /v1/outages/{code} and /v1/outages/predicted); of equals, the first. */
static void test_literal_beats_parameter(void **state)
{
    (void)state;
    route_match m;
    router *r = router_new();
    router_add(r, "GET", "/v1/things/{code}", h_a, NULL, 0, "param first");
    router_add(r, "GET", "/v1/things/special", h_b, NULL, 0, "literal second");
    router_add(r, "GET", "/v1/other/special", h_b, NULL, 0, "literal first");
    router_add(r, "GET", "/v1/other/{code}", h_a, NULL, 0, "param second");
    router_add(r, "GET", "/v1/dup", h_a, NULL, 0, "dup one");
    router_add(r, "GET", "/v1/dup", h_b, NULL, 0, "dup two");

    assert_int_equal(router_match(r, "GET", "/v1/things/special", &m), MATCH_OK);
    assert_int_equal(m.route->index, 1);
    assert_string_equal(m.route->summary, "literal second");
    assert_int_equal(m.nparams, 0);
    assert_int_equal(router_match(r, "GET", "/v1/things/else", &m), MATCH_OK);
    assert_int_equal(m.route->index, 0);
    assert_string_equal(m.params[0], "else");

    assert_int_equal(router_match(r, "GET", "/v1/other/special", &m), MATCH_OK);
    assert_int_equal(m.route->index, 2);
    assert_int_equal(m.nparams, 0);
    assert_int_equal(router_match(r, "GET", "/v1/other/else", &m), MATCH_OK);
    assert_int_equal(m.route->index, 3);
    assert_string_equal(m.params[0], "else");

    assert_int_equal(router_match(r, "GET", "/v1/dup", &m), MATCH_OK);
    assert_int_equal(m.route->index, 4);
    assert_ptr_equal(m.route->fn, h_a);
    router_free(r);
}

static void test_route_index(void **state)
{
    router *r = *state;
    assert_int_equal(router_count(r), 8);
    for (int i = 0; i < router_count(r); i++) assert_int_equal(router_at(r, i)->index, i);
    assert_string_equal(router_at(r, 3)->method, "PATCH");
    assert_string_equal(router_at(r, 3)->pattern, "/v1/substations/{code}");
    assert_int_equal(router_at(r, 3)->nsegs, 3);
    assert_string_equal(router_at(r, 3)->segs[2], "{code}");

    /* Many routes: the table grows and keeps indexes and matching. */
    router *big = router_new();
    char pat[64], path[64];
    for (int i = 0; i < 300; i++) {
        snprintf(pat, sizeof pat, "/v1/c%d/{code}", i);
        route *rt = router_add(big, "GET", pat, h_a, NULL, 0, NULL);
        assert_int_equal(rt->index, i);
    }
    assert_int_equal(router_count(big), 300);
    route_match m;
    for (int i = 0; i < 300; i += 37) {
        snprintf(path, sizeof path, "/v1/c%d/X%d", i, i);
        assert_int_equal(router_match(big, "GET", path, &m), MATCH_OK);
        assert_int_equal(m.route->index, i);
        snprintf(pat, sizeof pat, "X%d", i);
        assert_string_equal(m.params[0], pat);
    }
    router_free(big);
}

/* A last "{name*}" takes the rest of the path, slashes and all, possibly
 * empty; the bare prefix, other methods and literal routes beside it are
 * as for any route. */
static void test_rest_segment(void **state)
{
    (void)state;
    router *r = router_new();
    router_add(r, "GET", "/console", h_b, NULL, ROUTE_PUBLIC, "redirect");         /* 0 */
    router_add(r, "GET", "/console/{path*}", h_a, &ctx_one, ROUTE_PUBLIC, "files"); /* 1 */
    router_add(r, "GET", "/console/about", h_b, NULL, ROUTE_PUBLIC, "literal");     /* 2 */
    route_match m;
    assert_int_equal(router_match(r, "GET", "/console/", &m), MATCH_OK);
    assert_int_equal(m.route->index, 1);
    assert_true(m.route->rest);
    assert_int_equal(m.nparams, 1);
    assert_string_equal(m.params[0], "");
    assert_int_equal(router_match(r, "GET", "/console/app.js", &m), MATCH_OK);
    assert_string_equal(m.params[0], "app.js");
    assert_int_equal(router_match(r, "GET", "/console/vendor/lib/x.min.js", &m), MATCH_OK);
    assert_int_equal(m.route->index, 1);
    assert_string_equal(m.params[0], "vendor/lib/x.min.js");
    assert_int_equal(router_match(r, "GET", "/console/a//b/", &m), MATCH_OK);
    assert_string_equal(m.params[0], "a//b/");
    assert_int_equal(router_match(r, "GET", "/console/../openapi.json", &m), MATCH_OK);
    assert_string_equal(m.params[0], "../openapi.json"); /* the handler refuses it */
    assert_int_equal(router_match(r, "GET", "/console", &m), MATCH_OK);
    assert_int_equal(m.route->index, 0);
    assert_false(m.route->rest);
    /* a literal route wins, as over any parameter */
    assert_int_equal(router_match(r, "GET", "/console/about", &m), MATCH_OK);
    assert_int_equal(m.route->index, 2);
    assert_int_equal(router_match(r, "GET", "/console/about/x", &m), MATCH_OK);
    assert_int_equal(m.route->index, 1);
    assert_string_equal(m.params[0], "about/x");
    assert_int_equal(router_match(r, "GET", "/consoles/x", &m), MATCH_NOT_FOUND);
    assert_int_equal(router_match(r, "POST", "/console/x/y", &m), MATCH_BAD_METHOD);
    assert_string_equal(m.allow, "GET");
    /* the rest is a parameter: no longer than the others */
    char *longer = repeat('a', ROUTE_PARAM_MAX - 1);
    char path[ROUTE_PARAM_MAX + 64];
    snprintf(path, sizeof path, "/console/b/%s", longer);
    assert_int_equal(router_match(r, "GET", path, &m), MATCH_PARAM_TOO_LONG);
    snprintf(path, sizeof path, "/console/%s", longer);
    assert_int_equal(router_match(r, "GET", path, &m), MATCH_OK);
    free(longer);
    /* no more segments than any path may have */
    assert_int_equal(router_match(r, "GET", "/console/1/2/3/4/5/6/7/8/9/10/11", &m), MATCH_OK);
    assert_int_equal(router_match(r, "GET", "/console/1/2/3/4/5/6/7/8/9/10/11/12", &m),
                     MATCH_NOT_FOUND);
    /* "{name*}" elsewhere than last is an ordinary parameter */
    router_add(r, "GET", "/x/{a*}/y", h_a, NULL, 0, "not rest");
    assert_int_equal(router_match(r, "GET", "/x/1/y", &m), MATCH_OK);
    assert_false(m.route->rest);
    assert_int_equal(router_match(r, "GET", "/x/1/2/y", &m), MATCH_NOT_FOUND);
    router_free(r);
}

static void test_router_copies_strings(void **state)
{
    (void)state;
    char method[8] = "GET", pattern[32] = "/v1/copied/{code}";
    router *r = router_new();
    router_add(r, method, pattern, h_a, NULL, 0, NULL);
    strcpy(method, "XXX");
    strcpy(pattern, "/zz/zzzzzz/zzzzzz");
    route_match m;
    assert_int_equal(router_match(r, "GET", "/v1/copied/abc", &m), MATCH_OK);
    assert_string_equal(m.route->pattern, "/v1/copied/{code}");
    router_free(r);
    router_free(NULL); /* harmless */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_literal_match, setup, teardown),
        cmocka_unit_test_setup_teardown(test_param_match, setup, teardown),
        cmocka_unit_test_setup_teardown(test_several_params, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_method_allow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_param_length_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_segment_and_trailing_slash, setup, teardown),
        cmocka_unit_test(test_segment_limit),
        cmocka_unit_test(test_literal_beats_parameter),
        cmocka_unit_test_setup_teardown(test_route_index, setup, teardown),
        cmocka_unit_test(test_router_copies_strings),
        cmocka_unit_test(test_rest_segment),
    };
    return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
