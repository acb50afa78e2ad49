/* test_platforms.c -- who may write what (the policy of config/policy.json),
 * and how the two platforms work together: proxied reads that answer
 * exactly what the owner answers, 421 for writes sent to the wrong
 * platform, identity and request ids passed on, and the built-in routes
 * (/healthz, /readyz, /metrics, /openapi.json).
 *
 * One file, though over 600 lines: each part is short and they share the
 * bodies and checks of its first part on one stack. */
#include "client.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cust.h"

/* ---- bodies ---------------------------------------------------------------------- */

static char *substation_body(const char *name)
{
    return jdump(json_pack("{s:s, s:f}", "name", name, "voltage_kv", 110.0));
}

static char *line_body(const char *name, const char *kind)
{
    return jdump(json_pack("{s:s, s:s, s:f}", "name", name, "kind", kind, "voltage_kv", 10.0));
}

static char *customer_body(const char *name)
{
    return jdump(json_pack("{s:s, s:s}", "name", name, "category", "hv"));
}

static char *address_body(const char *detail)
{
    return jdump(json_pack("{s:s, s:s, s:s, s:s}", "province", "江苏省", "city", "南京市", "district",
                           "鼓楼区", "detail", detail));
}

static size_t named(const char *base, const char *coll, const char *name)
{
    return count_where(base, coll, strf("status=all&name=%s", urlenc(name)));
}

/* A 403 problem whose detail names the role that maintains the object. */
#define assert_forbidden_naming(r, role)                                                  \
    do {                                                                                  \
        const api_resp *f_ = (r);                                                         \
        assert_problem(f_, 403);                                                          \
        assert_str_contains(jstr(f_->json, "detail"), role);                              \
    } while (0)

/* ---- roles ------------------------------------------------------------------------- */

static void production_writes_grid_but_not_dedicated_lines(void **state)
{
    const char *g = grid_url();
    char *ss = strf("prod SS %s", uniq());
    api_resp *s = api_post(g, "/v1/substations", KEY_PRODUCTION, substation_body(ss));
    assert_status(s, 201);
    assert_string_equal(jstr(s->json, "updated_by"), "pms");

    char *pub = strf("prod public %s", uniq());
    api_resp *p = api_post(g, "/v1/lines", KEY_PRODUCTION, line_body(pub, "public"));
    assert_status(p, 201);
    assert_string_equal(jstr(p->json, "kind"), "public");

    char *ded = strf("prod dedicated %s", uniq());
    api_resp *d = api_post(g, "/v1/lines", KEY_PRODUCTION, line_body(ded, "dedicated"));
    assert_forbidden_naming(d, "marketing");
    assert_int_equal(named(g, "lines", ded), 0);

    /* and no customer-side objects */
    char *cu = strf("prod customer %s", uniq());
    assert_forbidden_naming(api_post(cust_url(), "/v1/customers", KEY_PRODUCTION, customer_body(cu)),
                            "marketing");
    assert_int_equal(named(cust_url(), "customers", cu), 0);

    /* production maintains substation-line links */
    api_resp *rel = api_post(g, "/v1/relations/substation-line", KEY_PRODUCTION,
                             jdump(json_pack("{s:s, s:s}", "from", jstr(s->json, "code"), "to",
                                             jstr(p->json, "code"))));
    assert_status(rel, 201);
}

static void marketing_writes_dedicated_lines_and_customers(void **state)
{
    const char *g = grid_url();
    char *ded = strf("mkt dedicated %s", uniq());
    api_resp *d = api_post(g, "/v1/lines", KEY_MARKETING, line_body(ded, "dedicated"));
    assert_status(d, 201);
    assert_string_equal(jstr(d->json, "updated_by"), "marketing");

    char *pub = strf("mkt public %s", uniq());
    assert_forbidden_naming(api_post(g, "/v1/lines", KEY_MARKETING, line_body(pub, "public")),
                            "production");
    assert_int_equal(named(g, "lines", pub), 0);

    char *ss = strf("mkt SS %s", uniq());
    assert_forbidden_naming(api_post(g, "/v1/substations", KEY_MARKETING, substation_body(ss)),
                            "production");
    assert_int_equal(named(g, "substations", ss), 0);

    char *cu = strf("mkt customer %s", uniq());
    assert_status(api_post(cust_url(), "/v1/customers", KEY_MARKETING, customer_body(cu)), 201);
    assert_status(api_post(cust_url(), "/v1/addresses", KEY_MARKETING, address_body(uniq())), 201);

    /* marketing may not link substations and lines */
    char *s_code = create_substation(strf("mkt rel %s", uniq()));
    api_resp *rel = api_post(g, "/v1/relations/substation-line", KEY_MARKETING,
                             jdump(json_pack("{s:s, s:s}", "from", s_code, "to",
                                             jstr(d->json, "code"))));
    assert_forbidden_naming(rel, "production");
    assert_int_equal(json_array_size(list_items(api_get(
                         g, strf("/v1/relations/substation-line?from=%s", s_code), KEY_DISPATCH))),
                     0);
}

static void marketing_cannot_change_production_objects(void **state)
{
    const char *g = grid_url();
    api_resp *s = create_ok(g, "substations", KEY_PRODUCTION, substation_body(strf("keep %s", uniq())));
    const char *path = strf("/v1/substations/%s", jstr(s->json, "code"));
    assert_forbidden_naming(api_patch(g, path, KEY_MARKETING, "{\"name\": \"taken over\"}"),
                            "production");
    assert_forbidden_naming(api_delete(g, path, KEY_MARKETING), "production");
    api_resp *now = api_get(g, path, KEY_DISPATCH);
    assert_true(json_equal(now->json, s->json));

    /* nor production the customers */
    char *cu = create_customer(strf("keep %s", uniq()), NULL);
    const char *cpath = strf("/v1/customers/%s", cu);
    api_resp *before = api_get(cust_url(), cpath, KEY_DISPATCH);
    assert_forbidden_naming(api_patch(cust_url(), cpath, KEY_PRODUCTION, "{\"name\": \"x\"}"),
                            "marketing");
    assert_forbidden_naming(api_delete(cust_url(), cpath, KEY_PRODUCTION), "marketing");
    api_resp *after = api_get(cust_url(), cpath, KEY_DISPATCH);
    assert_true(json_equal(after->json, before->json));
}

static void dispatch_reads_but_never_writes(void **state)
{
    const char *g = grid_url(), *c = cust_url();
    char *name = strf("dispatch %s", uniq());
    assert_problem(api_post(g, "/v1/substations", KEY_DISPATCH, substation_body(name)), 403);
    assert_problem(api_post(g, "/v1/lines", KEY_DISPATCH, line_body(name, "public")), 403);
    assert_problem(api_post(g, "/v1/lines", KEY_DISPATCH, line_body(name, "dedicated")), 403);
    assert_problem(api_post(c, "/v1/customers", KEY_DISPATCH, customer_body(name)), 403);
    assert_problem(api_post(c, "/v1/addresses", KEY_DISPATCH, address_body(name)), 403);
    assert_int_equal(named(g, "substations", name), 0);
    assert_int_equal(named(g, "lines", name), 0);
    assert_int_equal(named(c, "customers", name), 0);
    assert_int_equal(count_where(c, "addresses", strf("status=all&detail=%s", urlenc(name))), 0);

    api_resp *s = create_ok(g, "substations", KEY_PRODUCTION, substation_body(strf("d %s", uniq())));
    const char *ss = jstr(s->json, "code");
    char *ln = create_line(KEY_PRODUCTION, strf("d %s", uniq()), "public", 10);
    const char *spath = strf("/v1/substations/%s", ss);
    assert_problem(api_patch(g, spath, KEY_DISPATCH, "{\"name\": \"dispatch was here\"}"), 403);
    assert_problem(api_delete(g, spath, KEY_DISPATCH), 403);
    assert_problem(api_post(g, "/v1/relations/substation-line", KEY_DISPATCH,
                            jdump(json_pack("{s:s, s:s}", "from", ss, "to", ln))),
                   403);
    assert_status(api_post(g, "/v1/relations/substation-line", KEY_PRODUCTION,
                           jdump(json_pack("{s:s, s:s}", "from", ss, "to", ln))),
                  201);
    assert_problem(api_delete(g, strf("/v1/relations/substation-line?from=%s&to=%s", ss, ln),
                              KEY_DISPATCH),
                   403);
    char *cu = create_customer(strf("d %s", uniq()), NULL);
    assert_problem(api_patch(c, strf("/v1/customers/%s", cu), KEY_DISPATCH, "{\"name\": \"x\"}"), 403);
    assert_problem(api_delete(c, strf("/v1/customers/%s", cu), KEY_DISPATCH), 403);

    /* nothing changed, and every read works */
    api_resp *now = api_get(g, spath, KEY_DISPATCH);
    assert_status(now, 200);
    assert_true(json_equal(now->json, s->json));
    api_resp *links = api_get(g, strf("/v1/relations/substation-line?from=%s", ss), KEY_DISPATCH);
    assert_int_equal(json_array_size(list_items(links)), 1);
    assert_status(api_get(g, "/v1/substations", KEY_DISPATCH), 200);
    assert_status(api_get(g, "/v1/lines?kind=public", KEY_DISPATCH), 200);
    assert_status(api_get(g, strf("/v1/lines/%s", ln), KEY_DISPATCH), 200);
    assert_status(api_get(c, "/v1/customers", KEY_DISPATCH), 200);
    assert_status(api_get(c, "/v1/addresses", KEY_DISPATCH), 200);
    api_resp *cg = api_get(c, strf("/v1/customers/%s", cu), KEY_DISPATCH);
    assert_status(cg, 200);
    assert_string_equal(jstr(cg->json, "status"), "active");
}

static void admin_writes_everything(void **state)
{
    const char *g = grid_url(), *c = cust_url();
    api_resp *s = api_post(g, "/v1/substations", KEY_ADMIN, substation_body(strf("adm %s", uniq())));
    assert_status(s, 201);
    assert_string_equal(jstr(s->json, "updated_by"), "admin");
    api_resp *p = api_post(g, "/v1/lines", KEY_ADMIN, line_body(strf("adm %s", uniq()), "public"));
    assert_status(p, 201);
    api_resp *d = api_post(g, "/v1/lines", KEY_ADMIN, line_body(strf("adm %s", uniq()), "dedicated"));
    assert_status(d, 201);
    api_resp *a = api_post(c, "/v1/addresses", KEY_ADMIN, address_body(uniq()));
    assert_status(a, 201);
    api_resp *cu = api_post(c, "/v1/customers", KEY_ADMIN,
                            jdump(json_pack("{s:s, s:s, s:s}", "name", strf("adm %s", uniq()),
                                            "category", "hv", "address", jstr(a->json, "code"))));
    assert_status(cu, 201);
    assert_status(api_post(g, "/v1/relations/substation-line", KEY_ADMIN,
                           jdump(json_pack("{s:s, s:s}", "from", jstr(s->json, "code"), "to",
                                           jstr(d->json, "code")))),
                  201);
    /* flipping a line's kind is the admin's to do */
    api_resp *flip = api_patch(g, strf("/v1/lines/%s", jstr(p->json, "code")), KEY_ADMIN,
                               "{\"kind\": \"dedicated\"}");
    assert_status(flip, 200);
    assert_string_equal(jstr(flip->json, "kind"), "dedicated");
    assert_status(api_patch(c, strf("/v1/customers/%s", jstr(cu->json, "code")), KEY_ADMIN,
                            "{\"phone\": \"13800000000\"}"),
                  200);
    assert_status(api_delete(g, strf("/v1/substations/%s", jstr(s->json, "code")), KEY_ADMIN), 200);
    assert_status(api_delete(c, strf("/v1/customers/%s", jstr(cu->json, "code")), KEY_ADMIN), 200);
    assert_status(api_delete(g, strf("/v1/relations/substation-line?from=%s&to=%s",
                                     jstr(s->json, "code"), jstr(d->json, "code")),
                             KEY_ADMIN),
                  200);
}

static void production_cannot_flip_public_line_to_dedicated(void **state)
{
    const char *g = grid_url();
    api_resp *l = create_ok(g, "lines", KEY_PRODUCTION, line_body(strf("flip %s", uniq()), "public"));
    const char *path = strf("/v1/lines/%s", jstr(l->json, "code"));
    api_resp *r = api_patch(g, path, KEY_PRODUCTION, "{\"kind\": \"dedicated\"}");
    assert_forbidden_naming(r, "marketing");
    api_resp *now = api_get(g, path, KEY_DISPATCH);
    assert_string_equal(jstr(now->json, "kind"), "public");
    assert_int_equal(jint(now->json, "version"), 1);
    assert_true(json_equal(now->json, l->json));

    /* nor can marketing take a public line by flipping it */
    assert_forbidden_naming(api_patch(g, path, KEY_MARKETING, "{\"kind\": \"dedicated\"}"),
                            "production");
    /* and marketing cannot hand a dedicated line over to production */
    api_resp *d = create_ok(g, "lines", KEY_MARKETING, line_body(strf("flip %s", uniq()), "dedicated"));
    const char *dpath = strf("/v1/lines/%s", jstr(d->json, "code"));
    assert_forbidden_naming(api_patch(g, dpath, KEY_MARKETING, "{\"kind\": \"public\"}"), "production");
    assert_true(json_equal(api_get(g, dpath, KEY_DISPATCH)->json, d->json));
    assert_true(json_equal(api_get(g, path, KEY_DISPATCH)->json, l->json));
    /* production can still rename its own public line */
    assert_status(api_patch(g, path, KEY_PRODUCTION, "{\"length_km\": 3.5}"), 200);
}

/* ---- proxied reads ---------------------------------------------------------------------- */

static void assert_same_answer(const api_resp *direct, const api_resp *proxied)
{
    if (direct->status != proxied->status || strcmp(direct->body, proxied->body) != 0 ||
        strcmp(direct->etag, proxied->etag) != 0) {
        api_dump(direct);
        api_dump(proxied);
        fail_msg("the proxied answer differs from the owner's (status %ld/%ld, ETag '%s'/'%s')",
                 direct->status, proxied->status, direct->etag, proxied->etag);
    }
    assert_true(json_equal(direct->json, proxied->json));
    /* the media type survives too */
    assert_int_equal(strncasecmp(direct->content_type, proxied->content_type,
                                 strcspn(direct->content_type, ";")),
                     0);
}

static void substation_read_through_cust_is_identical(void **state)
{
    char *code = create_substation(strf("proxy %s", uniq()));
    /* a second version, so the ETag is not the trivial "1" */
    assert_status(api_patch(grid_url(), strf("/v1/substations/%s", code), KEY_PRODUCTION,
                            "{\"name\": \"proxied 变电站\"}"),
                  200);
    api_resp *direct = api_get(grid_url(), strf("/v1/substations/%s", code), KEY_DISPATCH);
    api_resp *proxied = api_get(cust_url(), strf("/v1/substations/%s", code), KEY_DISPATCH);
    assert_status(direct, 200);
    assert_string_equal(direct->etag, "\"2\"");
    assert_same_answer(direct, proxied);

    char *ln = create_line(KEY_PRODUCTION, strf("proxy %s", uniq()), "public", 10);
    assert_same_answer(api_get(grid_url(), strf("/v1/lines/%s", ln), KEY_DISPATCH),
                       api_get(cust_url(), strf("/v1/lines/%s", ln), KEY_DISPATCH));
}

static void customer_read_through_grid_is_identical(void **state)
{
    char *ad = create_address();
    char *cu = create_customer(strf("proxy %s", uniq()), ad);
    api_resp *direct = api_get(cust_url(), strf("/v1/customers/%s", cu), KEY_DISPATCH);
    api_resp *proxied = api_get(grid_url(), strf("/v1/customers/%s", cu), KEY_DISPATCH);
    assert_status(direct, 200);
    assert_same_answer(direct, proxied);
    assert_same_answer(api_get(cust_url(), strf("/v1/addresses/%s", ad), KEY_DISPATCH),
                       api_get(grid_url(), strf("/v1/addresses/%s", ad), KEY_DISPATCH));
}

static void proxied_lists_with_filters(void **state)
{
    /* awkward text in the filter must survive the hop */
    char *name = strf("proxy list 变电站 & co=1 %s", uniq());
    char *a = create_substation(name);
    char *b = create_substation(name);
    char *q = strf("/v1/substations?name=%s&limit=1", urlenc(name));
    api_resp *direct = api_get(grid_url(), q, KEY_DISPATCH);
    api_resp *proxied = api_get(cust_url(), q, KEY_DISPATCH);
    assert_int_equal(json_array_size(list_items(direct)), 1);
    assert_same_answer(direct, proxied);
    /* the cursor works through the proxy */
    const char *next = jstr(proxied->json, "next");
    assert_non_null(next);
    api_resp *page2 = api_get(cust_url(), strf("%s&after=%s", q, next), KEY_DISPATCH);
    assert_int_equal(json_array_size(list_items(page2)), 1);
    assert_true(list_has_code(proxied, a) || list_has_code(proxied, b));
    assert_true(list_has_code(page2, a) || list_has_code(page2, b));
    assert_false(list_has_code(page2, jstr(json_array_get(list_items(proxied), 0), "code")));

    char *cname = strf("proxy list %s", uniq());
    char *c1 = create_customer(cname, NULL);
    create_ok(cust_url(), "customers", KEY_MARKETING,
              jdump(json_pack("{s:s, s:s}", "name", cname, "category", "hv")));
    char *cq = strf("/v1/customers?name=%s&category=lv_resident", urlenc(cname));
    api_resp *cd = api_get(cust_url(), cq, KEY_DISPATCH);
    api_resp *cp = api_get(grid_url(), cq, KEY_DISPATCH);
    assert_int_equal(json_array_size(list_items(cp)), 1);
    assert_true(list_has_code(cp, c1));
    assert_same_answer(cd, cp);

    /* relations owned by grid-svc, listed through cust-svc */
    char *ln = create_line(KEY_PRODUCTION, strf("proxy rel %s", uniq()), "public", 10);
    assert_status(api_post(grid_url(), "/v1/relations/substation-line", KEY_PRODUCTION,
                           jdump(json_pack("{s:s, s:s}", "from", a, "to", ln))),
                  201);
    char *rq = strf("/v1/relations/substation-line?to=%s", ln);
    api_resp *rd = api_get(grid_url(), rq, KEY_DISPATCH);
    api_resp *rp = api_get(cust_url(), rq, KEY_DISPATCH);
    assert_int_equal(json_array_size(list_items(rp)), 1);
    assert_same_answer(rd, rp);
}

static void proxied_errors_pass_through(void **state)
{
    char *ghost = mint_code("SS");
    api_resp *direct = api_get(grid_url(), strf("/v1/substations/%s", ghost), KEY_DISPATCH);
    api_resp *proxied = api_get(cust_url(), strf("/v1/substations/%s", ghost), KEY_DISPATCH);
    assert_problem(direct, 404);
    assert_problem(proxied, 404);
    assert_same_answer(direct, proxied);

    char *cghost = mint_code("CU");
    api_resp *cp = api_get(grid_url(), strf("/v1/customers/%s", cghost), KEY_DISPATCH);
    assert_problem(cp, 404);
    assert_same_answer(api_get(cust_url(), strf("/v1/customers/%s", cghost), KEY_DISPATCH), cp);

    /* a peer's 400 passes through too */
    api_resp *bad = api_get(grid_url(), "/v1/customers?limit=0", KEY_DISPATCH);
    assert_problem(bad, 400);
    assert_same_answer(api_get(cust_url(), "/v1/customers?limit=0", KEY_DISPATCH), bad);
}

/* A read of cust-svc's own, asked of grid-svc: cust-svc's answer, passed
 * on. The report's freshness moves by the second, and datahub may still be
 * applying what the tests before wrote: the rest is compared, until both
 * ask the same data (bounded). */
static void assert_passed_on(const char *path_query, long want_status)
{
    for (int tries = 0;; tries++) {
        api_resp *g = api_get(grid_url(), path_query, KEY_DISPATCH);
        api_resp *c = api_get(cust_url(), path_query, KEY_DISPATCH);
        if (c->status != want_status) {
            api_dump(c);
            fail_msg("%s on cust-svc answered %ld, not %ld", path_query, c->status, want_status);
        }
        assert_string_equal(g->served_by, "cust-svc");
        json_t *gj = jkeep(json_deep_copy(g->json)), *cj = jkeep(json_deep_copy(c->json));
        json_object_del(gj, "freshness");
        json_object_del(cj, "freshness");
        if (g->status == c->status && json_equal(gj, cj)) return;
        if (tries == 50) {
            api_dump(g);
            api_dump(c);
            fail_msg("%s: grid-svc passed on another answer than cust-svc's", path_query);
        }
        sleep_ms(100);
    }
}

/* cust-svc's own reads that no collection serves (cust_reads), asked of
 * grid-svc, whose console calls only its own origin: each is passed on with
 * its query, answers and problems alike; /v1/outages/predicted is not taken
 * for an outage's code. */
static void peer_reads_through_grid_are_identical(void **state)
{
    static const struct {
        const char *path_query;
        long status;
    } asks[] = {
        {"/v1/reports/integration?limit=2", 200},
        {"/v1/reports/integration?what=1", 400},
        {"/v1/reports/integration/rates?level=line&limit=2", 200},
        {"/v1/reports/integration/rates?level=substation&line=LN-0", 400},
        {"/v1/outages/predicted", 200},
        {"/v1/reports/line-loss?day=2026-11-03&limit=2", 200},
        {"/v1/reports/line-loss?from=2026-11-03", 400},
        {"/v1/reports/suspect-links?from=2026-11-01&to=2026-11-30&limit=2", 200},
        {"/v1/reports/suspect-links?day=2026-11-03", 400},
    };
    /* Every declared read is asked here. */
    for (int i = 0; i < cust_nreads; i++) {
        size_t k = 0;
        while (k < ARRAY_LEN(asks) &&
               strcmp(strf("%.*s", (int)strcspn(asks[k].path_query, "?"), asks[k].path_query),
                      cust_reads[i].path) != 0)
            k++;
        if (k == ARRAY_LEN(asks)) fail_msg("%s is declared and never asked", cust_reads[i].path);
    }
    for (size_t k = 0; k < ARRAY_LEN(asks); k++)
        assert_passed_on(asks[k].path_query, asks[k].status);
    api_resp *p = api_get(grid_url(), "/v1/outages/predicted", KEY_DISPATCH);
    assert_non_null(json_object_get(p->json, "min_calls"));
    /* grid-svc still asks who is calling, as for every read. */
    assert_problem(api_get(grid_url(), "/v1/outages/predicted", NULL), 401);
    assert_problem(api_get(grid_url(), "/v1/reports/integration", "no-such-key"), 401);
}

/* ---- writes to the wrong platform ----------------------------------------------------------- */

static void assert_misdirected(const api_resp *r, const char *owner)
{
    assert_problem(r, 421);
    const char *o = jstr(r->json, "owner");
    if (!o || strcmp(o, owner) != 0) {
        api_dump(r);
        fail_msg("421 should name owner '%s', not '%s'", owner, o ? o : "(none)");
    }
}

static void writes_to_the_peer_are_misdirected(void **state)
{
    const char *g = grid_url(), *c = cust_url();
    char *name = strf("misdirected %s", uniq());
    assert_misdirected(api_post(c, "/v1/substations", KEY_PRODUCTION, substation_body(name)),
                       "grid-svc");
    assert_misdirected(api_post(c, "/v1/lines", KEY_ADMIN, line_body(name, "public")), "grid-svc");
    assert_int_equal(named(g, "substations", name), 0);
    assert_int_equal(named(g, "lines", name), 0);

    api_resp *s = create_ok(g, "substations", KEY_PRODUCTION, substation_body(strf("m %s", uniq())));
    const char *spath = strf("/v1/substations/%s", jstr(s->json, "code"));
    assert_misdirected(api_patch(c, spath, KEY_PRODUCTION, "{\"name\": \"elsewhere\"}"), "grid-svc");
    assert_misdirected(api_delete(c, spath, KEY_PRODUCTION), "grid-svc");
    assert_true(json_equal(api_get(g, spath, KEY_DISPATCH)->json, s->json));

    char *ln = create_line(KEY_PRODUCTION, strf("m %s", uniq()), "public", 10);
    assert_misdirected(api_post(c, "/v1/relations/substation-line", KEY_PRODUCTION,
                                jdump(json_pack("{s:s, s:s}", "from", jstr(s->json, "code"), "to", ln))),
                       "grid-svc");
    assert_misdirected(api_delete(c, strf("/v1/relations/substation-line?from=%s&to=%s",
                                          jstr(s->json, "code"), ln),
                                  KEY_PRODUCTION),
                       "grid-svc");
    assert_int_equal(json_array_size(list_items(api_get(
                         g, strf("/v1/relations/substation-line?to=%s", ln), KEY_DISPATCH))),
                     0);

    char *cname = strf("misdirected %s", uniq());
    assert_misdirected(api_post(g, "/v1/customers", KEY_MARKETING, customer_body(cname)), "cust-svc");
    assert_misdirected(api_post(g, "/v1/addresses", KEY_MARKETING, address_body(cname)), "cust-svc");
    assert_int_equal(named(c, "customers", cname), 0);
    char *cu = create_customer(strf("m %s", uniq()), NULL);
    const char *cpath = strf("/v1/customers/%s", cu);
    api_resp *before = api_get(c, cpath, KEY_DISPATCH);
    assert_misdirected(api_patch(g, cpath, KEY_MARKETING, "{\"name\": \"elsewhere\"}"), "cust-svc");
    assert_misdirected(api_delete(g, cpath, KEY_MARKETING), "cust-svc");
    assert_true(json_equal(api_get(c, cpath, KEY_DISPATCH)->json, before->json));
}

/* ---- identity and request ids ------------------------------------------------------------------ */

static void caller_identity_is_passed_on(void **state)
{
    char *code = create_substation(strf("identity %s", uniq()));
    api_resp *unknown = api_get(cust_url(), strf("/v1/substations/%s", code), "no-such-key");
    assert_problem(unknown, 401);
    api_resp *none = api_get(cust_url(), strf("/v1/substations/%s", code), NULL);
    assert_problem(none, 401);
    assert_problem(api_get(grid_url(), "/v1/customers", "no-such-key"), 401);

    /* a customer made by marketing, read through grid-svc by dispatch */
    char *cu = create_customer(strf("identity %s", uniq()), NULL);
    api_resp *r = api_get(grid_url(), strf("/v1/customers/%s", cu), KEY_DISPATCH);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "code"), cu);
    assert_string_equal(jstr(r->json, "updated_by"), "marketing");
    /* the scheme is case-insensitive (RFC 9110) */
    api_opts lower = {.authorization = "bearer " KEY_DISPATCH};
    assert_status(api_call("GET", strf("%s/v1/customers/%s", grid_url(), cu), &lower, NULL, 0), 200);
    /* every key reads everything through either platform */
    const char *keys[] = {KEY_PRODUCTION, KEY_MARKETING, KEY_DISPATCH, KEY_ADMIN};
    for (size_t i = 0; i < 4; i++) {
        assert_status(api_get(grid_url(), strf("/v1/customers/%s", cu), keys[i]), 200);
        assert_status(api_get(cust_url(), strf("/v1/substations/%s", code), keys[i]), 200);
    }
}

static void request_id_is_echoed(void **state)
{
    char *code = create_substation(strf("rid %s", uniq()));
    char *rid = strf("itest-%s", uniq());
    api_opts o = {.key = KEY_DISPATCH, .request_id = rid};
    api_resp *r = api_call("GET", strf("%s/v1/substations/%s", grid_url(), code), &o, NULL, 0);
    assert_status(r, 200);
    assert_string_equal(r->request_id, rid);

    char *rid2 = strf("itest-proxy-%s", uniq());
    api_opts p = {.key = KEY_DISPATCH, .request_id = rid2};
    api_resp *pr = api_call("GET", strf("%s/v1/substations/%s", cust_url(), code), &p, NULL, 0);
    assert_status(pr, 200);
    assert_string_equal(pr->request_id, rid2);

    /* on errors as well */
    char *rid3 = strf("itest-err-%s", uniq());
    api_opts e = {.key = KEY_DISPATCH, .request_id = rid3};
    api_resp *er = api_call("GET", strf("%s/v1/substations/%s", cust_url(), mint_code("SS")), &e,
                            NULL, 0);
    assert_problem(er, 404);
    assert_string_equal(er->request_id, rid3);
    api_opts u = {.request_id = rid3};
    api_resp *ur = api_call("GET", strf("%s/v1/substations", grid_url()), &u, NULL, 0);
    assert_problem(ur, 401);
    assert_string_equal(ur->request_id, rid3);

    /* without one, the daemon makes one up */
    api_resp *none = api_get(grid_url(), "/healthz", NULL);
    assert_true(strlen(none->request_id) > 0);
    /* and it does not echo one that is unsafe to log (spaces, quotes, CR/LF tricks) */
    api_opts bad = {.request_id = "evil id \"quoted\""};
    api_resp *br = api_call("GET", strf("%s/healthz", grid_url()), &bad, NULL, 0);
    assert_status(br, 200);
    assert_true(strlen(br->request_id) > 0);
    assert_null(strchr(br->request_id, ' '));
    assert_null(strchr(br->request_id, '"'));
}

/* ---- built-in routes ------------------------------------------------------------------------------ */

static void healthz_without_auth(void **state)
{
    const char *bases[] = {grid_url(), cust_url()};
    for (int i = 0; i < 2; i++) {
        api_resp *r = api_get(bases[i], "/healthz", NULL);
        assert_status(r, 200);
        assert_true(json_is_object(r->json));
        assert_string_equal(jstr(r->json, "status"), "ok");
    }
}

static void readyz_reports_database(void **state)
{
    const char *bases[] = {grid_url(), cust_url()};
    const char *names[] = {"grid-svc", "cust-svc"};
    for (int i = 0; i < 2; i++) {
        api_resp *r = api_get(bases[i], "/readyz", NULL);
        assert_status(r, 200);
        assert_string_equal(jstr(r->json, "database"), "ok");
        assert_string_equal(jstr(r->json, "replica"), "none"); /* no DATABASE_READ_URL */
        assert_string_equal(jstr(r->json, "service"), names[i]);
        /* the peer's state is reported too */
        json_t *peer = json_object_get(r->json, "peer");
        assert_non_null(peer);
    }
}

static char *metrics_page(const char *base)
{
    api_resp *r = api_get(base, "/metrics", NULL);
    assert_status(r, 200);
    assert_str_contains(r->content_type, "text/plain");
    return r->body;
}

static void metrics_are_prometheus_text(void **state)
{
    char *code = create_substation(strf("metrics %s", uniq()));
    assert_status(api_get(grid_url(), strf("/v1/substations/%s", code), KEY_DISPATCH), 200);
    char *m = metrics_page(grid_url());
    assert_str_contains(m, "# TYPE http_requests_total counter");
    assert_str_contains(m, "http_requests_total{");
    assert_str_contains(m, "route=\"/v1/substations/{code}\"");
    assert_str_contains(m, "route=\"/v1/substations\"");
    assert_str_contains(m, "http_request_duration_seconds_bucket{");
    assert_str_contains(m, "le=\"+Inf\"");
    assert_true(metric_sum(m, "http_requests_total") >= 2);
    /* without a replica, every read is the primary's, and none falls back */
    assert_true(metric_sum(m, "db_reads_total{pool=\"primary\"}") >= 1);
    assert_true(metric_sum(m, "db_reads_total{pool=\"replica\"}") == 0);
    assert_true(metric_sum(m, "replica_fallbacks_total") == 0);
    assert_true(metric_sum(m, "db_pool_in_use") >= 0);
    assert_true(metric_sum(m, "db_pool_waiting") >= 0);
    assert_true(metric_sum(m, "peer_requests_total") >= 0);
    char *cm = metrics_page(cust_url());
    assert_true(metric_sum(cm, "db_pool_in_use") >= 0);
    assert_true(metric_sum(cm, "db_pool_waiting") >= 0);
    assert_true(metric_sum(cm, "peer_requests_total") >= 0);
    assert_str_contains(cm, "http_request_duration_seconds_bucket");
}

static void metrics_count_peer_requests(void **state)
{
    char *code = create_substation(strf("peer count %s", uniq()));
    double before = metric_sum(metrics_page(cust_url()), "peer_requests_total");
    assert_true(before >= 0);
    assert_status(api_get(cust_url(), strf("/v1/substations/%s", code), KEY_DISPATCH), 200);
    double after = metric_sum(metrics_page(cust_url()), "peer_requests_total");
    if (after != before + 1)
        fail_msg("peer_requests_total went from %g to %g after one proxied read", before, after);

    /* and the request counter counts the proxied route */
    char *m = metrics_page(cust_url());
    assert_str_contains(m, "route=\"/v1/substations/{code}\"");
}

static void assert_methods(json_t *paths, const char *path, const char *const *methods)
{
    json_t *item = json_object_get(paths, path);
    if (!json_is_object(item)) fail_msg("openapi.json has no path %s", path);
    for (const char *const *m = methods; *m; m++)
        if (!json_is_object(json_object_get(item, *m)))
            fail_msg("openapi.json: %s has no %s operation", path, *m);
}

static void openapi_describes_every_route(void **state)
{
    static const char *const coll[] = {"get", "post", NULL};
    static const char *const one[] = {"get", "patch", "delete", NULL};
    static const char *const rel[] = {"get", "post", "delete", NULL};
    api_resp *g = api_get(grid_url(), "/openapi.json", NULL);
    assert_status(g, 200);
    assert_str_contains(g->content_type, "application/json");
    assert_true(json_is_object(g->json));
    assert_string_equal(jstr(g->json, "openapi"), "3.1.0");
    json_t *paths = json_object_get(g->json, "paths");
    assert_true(json_is_object(paths));
    assert_methods(paths, "/v1/substations", coll);
    assert_methods(paths, "/v1/substations/{code}", one);
    assert_methods(paths, "/v1/lines", coll);
    assert_methods(paths, "/v1/lines/{code}", one);
    assert_methods(paths, "/v1/relations/substation-line", rel);

    api_resp *c = api_get(cust_url(), "/openapi.json", NULL);
    assert_status(c, 200);
    assert_string_equal(jstr(c->json, "openapi"), "3.1.0");
    json_t *cpaths = json_object_get(c->json, "paths");
    assert_methods(cpaths, "/v1/customers", coll);
    assert_methods(cpaths, "/v1/customers/{code}", one);
    assert_methods(cpaths, "/v1/addresses", coll);
    assert_methods(cpaths, "/v1/addresses/{code}", one);
}

int main(void)
{
    it_filter();
    const struct CMUnitTest tests[] = {
        IT(production_writes_grid_but_not_dedicated_lines),
        IT(marketing_writes_dedicated_lines_and_customers),
        IT(marketing_cannot_change_production_objects),
        IT(dispatch_reads_but_never_writes),
        IT(admin_writes_everything),
        IT(production_cannot_flip_public_line_to_dedicated),
        IT(substation_read_through_cust_is_identical),
        IT(customer_read_through_grid_is_identical),
        IT(proxied_lists_with_filters),
        IT(proxied_errors_pass_through),
        IT(peer_reads_through_grid_are_identical),
        IT(writes_to_the_peer_are_misdirected),
        IT(caller_identity_is_passed_on),
        IT(request_id_is_echoed),
        IT(healthz_without_auth),
        IT(readyz_reports_database),
        IT(metrics_are_prometheus_text),
        IT(metrics_count_peer_requests),
        IT(openapi_describes_every_route),
    };
    return cmocka_run_group_tests_name("platforms", tests, it_group_setup, it_group_teardown);
}
