/* test_integrity.c -- references across the boundary: an object that the
 * other platform names cannot be retired, nor changed so that it breaks the
 * other platform's rule, while that name is live:
 *   - grid-svc asks cust-svc before it retires a line or transformer, or
 *     changes the kind a billing's rule reads (dedicated), and answers 409
 *     naming the billings;
 *   - cust-svc asks grid-svc before it retires a customer, meter box, supply
 *     point or metering point a current grid link names, and answers 409
 *     naming the links;
 *   - a retired billing or an ended link names nothing; a change no rule of
 *     the peer reads asks nothing; a peer that cannot be reached means 502
 *     (with Retry-After) and nothing changed;
 *   - GET /v1/references?codes= on either platform: what names those codes;
 *   - a work order cancelled withdraws its drawing only when nothing else
 *     names the drawing's transformer. */
#include "client.h"

#include <stdlib.h>

/* ---- objects ------------------------------------------------------------------------ */

/* A transformer of kind (dedicated ones are marketing's, public ones production's). */
static char *new_transformer(const char *kind)
{
    const char *key = strcmp(kind, "dedicated") == 0 ? KEY_MARKETING : KEY_PRODUCTION;
    api_resp *r = create_ok(grid_url(), "transformers", key,
                            jdump(json_pack("{s:s, s:s, s:f, s:f}", "name",
                                            strf("integrity TR %s", uniq()), "kind", kind,
                                            "capacity_kva", 400.0, "voltage_kv", 10.0)));
    return it_strdup(jstr(r->json, "code"));
}

static char *new_hv_customer(void)
{
    api_resp *r = create_ok(cust_url(), "customers", KEY_MARKETING,
                            jdump(json_pack("{s:s, s:s}", "name",
                                            strf("integrity CU %s", uniq()), "category", "hv")));
    return it_strdup(jstr(r->json, "code"));
}

/* A billing on cust-svc: collection "transformer-billings" (field
 * "transformer") or "line-billings" ("line"). */
static char *new_billing(const char *collection, const char *field, const char *code)
{
    api_resp *r = create_ok(cust_url(), collection, KEY_MARKETING,
                            jdump(json_pack("{s:s, s:s}", "customer", new_hv_customer(), field,
                                            code)));
    return it_strdup(jstr(r->json, "code"));
}

static void link_ok(const char *kind, const char *from, const char *to)
{
    assert_status(api_post(grid_url(), strf("/v1/relations/%s", kind), KEY_MARKETING,
                           jdump(json_pack("{s:s, s:s}", "from", from, "to", to))),
                  201);
}

static void unlink_ok(const char *kind, const char *from, const char *to)
{
    assert_status(api_delete(grid_url(), strf("/v1/relations/%s?from=%s&to=%s", kind, from, to),
                             KEY_MARKETING),
                  200);
}

static json_t *object(const char *base, const char *collection, const char *code)
{
    api_resp *r = api_get(base, strf("/v1/%s/%s", collection, code), KEY_DISPATCH);
    assert_status(r, 200);
    return r->json;
}

/* ---- what a refusal says --------------------------------------------------------------- */

/* Is member key of o the string want? */
static int is(const json_t *o, const char *key, const char *want)
{
    const char *v = jstr(o, key);
    return v && strcmp(v, want) == 0;
}

/* A 409 whose detail names `by` and whose references[] hold an item naming
 * it (as the referring object, or as an end of the referring link). */
static void assert_refused_for(const api_resp *r, const char *code, const char *by)
{
    assert_problem(r, 409);
    assert_str_contains(jstr(r->json, "detail"), code);
    assert_str_contains(jstr(r->json, "detail"), by);
    assert_str_contains(jstr(r->json, "detail"), "nothing was changed");
    json_t *refs = json_object_get(r->json, "references");
    size_t i;
    json_t *it;
    json_array_foreach(refs, i, it) {
        if (is(it, "code", code) && (is(it, "by", by) || is(it, "from", by) || is(it, "to", by)))
            return;
    }
    api_dump(r);
    fail_msg("references[] of the 409 do not name %s referring to %s", by, code);
}

/* The object as it was: same version, same status, same kind (if any). */
static void assert_unchanged(const char *base, const char *collection, const json_t *before)
{
    json_t *now = object(base, collection, jstr(before, "code"));
    assert_int_equal(jint(now, "version"), jint(before, "version"));
    assert_string_equal(jstr(now, "status"), jstr(before, "status"));
    if (json_object_get(before, "kind"))
        assert_string_equal(jstr(now, "kind"), jstr(before, "kind"));
}

/* ---- grid objects named by cust-svc --------------------------------------------------------- */

/* The defect as it was found: a dedicated transformer billed on cust-svc was
 * turned public and retired with the admin key, both answered 200. */
static void billed_dedicated_transformer_stays_dedicated_and_live(void **state)
{
    (void)state;
    char *tr = new_transformer("dedicated");
    char *tb = new_billing("transformer-billings", "transformer", tr);
    json_t *before = object(grid_url(), "transformers", tr);
    const char *path = strf("/v1/transformers/%s", tr);

    api_resp *p = api_patch(grid_url(), path, KEY_ADMIN, "{\"kind\": \"public\"}");
    assert_refused_for(p, tr, tb);
    assert_str_contains(jstr(p->json, "detail"), "dedicated");
    json_t *ref = json_array_get(json_object_get(p->json, "references"), 0);
    assert_string_equal(jstr(ref, "field"), "transformer");
    assert_string_equal(jstr(json_object_get(ref, "rule"), "field"), "kind");
    assert_string_equal(jstr(json_object_get(ref, "rule"), "value"), "dedicated");
    assert_unchanged(grid_url(), "transformers", before);

    assert_refused_for(api_delete(grid_url(), path, KEY_ADMIN), tr, tb);
    assert_refused_for(api_delete(grid_url(), path, KEY_MARKETING), tr, tb);
    assert_unchanged(grid_url(), "transformers", before);

    /* Once the billing is retired it names nothing: both go through. */
    assert_status(api_delete(cust_url(), strf("/v1/transformer-billings/%s", tb), KEY_MARKETING),
                  200);
    api_resp *ok = api_patch(grid_url(), path, KEY_ADMIN, "{\"kind\": \"public\"}");
    assert_status(ok, 200);
    assert_string_equal(jstr(ok->json, "kind"), "public");
    api_resp *gone = api_delete(grid_url(), path, KEY_ADMIN);
    assert_status(gone, 200);
    assert_string_equal(jstr(gone->json, "status"), "retired");
}

static void billed_dedicated_line_stays_dedicated_and_live(void **state)
{
    (void)state;
    char *ln = create_line(KEY_MARKETING, strf("integrity LN %s", uniq()), "dedicated", 10);
    char *lb = new_billing("line-billings", "line", ln);
    json_t *before = object(grid_url(), "lines", ln);
    const char *path = strf("/v1/lines/%s", ln);

    assert_refused_for(api_delete(grid_url(), path, KEY_MARKETING), ln, lb);
    assert_refused_for(api_patch(grid_url(), path, KEY_ADMIN, "{\"kind\": \"public\"}"), ln, lb);
    assert_unchanged(grid_url(), "lines", before);

    /* A change the billing's rule does not read is no business of cust-svc's. */
    assert_status(api_patch(grid_url(), path, KEY_MARKETING, "{\"length_km\": 3.5}"), 200);

    assert_status(api_delete(cust_url(), strf("/v1/line-billings/%s", lb), KEY_MARKETING), 200);
    assert_status(api_delete(grid_url(), path, KEY_MARKETING), 200);
}

/* A change no rule of the peer reads asks the peer nothing; neither does a
 * write of a collection the peer never names, nor a patch that leaves the
 * field a rule reads as it is. */
static void unrelated_changes_ask_nothing(void **state)
{
    (void)state;
    char *tr = new_transformer("dedicated");
    new_billing("transformer-billings", "transformer", tr);
    char *ss = create_substation(strf("integrity SS %s", uniq()));

    double before = peer_requests_total(grid_url());
    const char *path = strf("/v1/transformers/%s", tr);
    assert_status(api_patch(grid_url(), path, KEY_MARKETING,
                            jdump(json_pack("{s:s}", "name", strf("renamed %s", uniq())))),
                  200);
    assert_status(api_patch(grid_url(), path, KEY_MARKETING, "{\"kind\": \"dedicated\"}"), 200);
    assert_status(api_patch(grid_url(), strf("/v1/substations/%s", ss), KEY_PRODUCTION,
                            "{\"voltage_kv\": 220}"),
                  200);
    assert_status(api_delete(grid_url(), strf("/v1/substations/%s", ss), KEY_PRODUCTION), 200);
    double after = peer_requests_total(grid_url());
    if (after != before)
        fail_msg("grid-svc made %g peer requests for writes cust-svc has no rule about",
                 after - before);

    /* The same on cust-svc: grid-svc names no address. */
    char *ad = create_address();
    double cbefore = peer_requests_total(cust_url());
    assert_status(api_delete(cust_url(), strf("/v1/addresses/%s", ad), KEY_MARKETING), 200);
    assert_true(peer_requests_total(cust_url()) == cbefore);
}

/* ---- cust objects named by grid-svc ---------------------------------------------------------- */

static void customer_served_by_a_transformer_stays_live(void **state)
{
    (void)state;
    char *tr = new_transformer("dedicated");
    char *cu = new_hv_customer();
    link_ok("transformer-customer", tr, cu);
    json_t *before = object(cust_url(), "customers", cu);
    const char *path = strf("/v1/customers/%s", cu);

    api_resp *r = api_delete(cust_url(), path, KEY_MARKETING);
    assert_refused_for(r, cu, tr);
    assert_str_contains(jstr(r->json, "detail"), "transformer-customer");
    json_t *ref = json_array_get(json_object_get(r->json, "references"), 0);
    assert_string_equal(jstr(ref, "relation"), "transformer-customer");
    assert_refused_for(api_delete(cust_url(), path, KEY_ADMIN), cu, tr);
    assert_unchanged(cust_url(), "customers", before);

    /* A patch of the customer: grid-svc's rules read none of its fields. */
    assert_status(api_patch(cust_url(), path, KEY_MARKETING, "{\"phone\": \"0571-1\"}"), 200);

    /* The link ended, the customer may go. */
    unlink_ok("transformer-customer", tr, cu);
    api_resp *gone = api_delete(cust_url(), path, KEY_MARKETING);
    assert_status(gone, 200);
    assert_string_equal(jstr(gone->json, "status"), "retired");
}

static void meter_box_on_an_access_point_stays_live(void **state)
{
    (void)state;
    api_resp *a = create_ok(grid_url(), "access-points", KEY_PRODUCTION,
                            jdump(json_pack("{s:s}", "name", strf("integrity AP %s", uniq()))));
    char *ap = it_strdup(jstr(a->json, "code"));
    api_resp *m = create_ok(cust_url(), "meter-boxes", KEY_MARKETING,
                            jdump(json_pack("{s:s, s:i, s:i}", "name",
                                            strf("integrity MB %s", uniq()), "rows", 2, "cols",
                                            3)));
    char *mb = it_strdup(jstr(m->json, "code"));
    link_ok("accesspoint-meterbox", ap, mb);
    json_t *before = object(cust_url(), "meter-boxes", mb);
    const char *path = strf("/v1/meter-boxes/%s", mb);

    api_resp *r = api_delete(cust_url(), path, KEY_MARKETING);
    assert_refused_for(r, mb, ap);
    assert_str_contains(jstr(r->json, "detail"), "accesspoint-meterbox");
    assert_unchanged(cust_url(), "meter-boxes", before);

    unlink_ok("accesspoint-meterbox", ap, mb);
    assert_status(api_delete(cust_url(), path, KEY_MARKETING), 200);
}

/* ---- the question itself --------------------------------------------------------------------- */

static void references_answer_what_names_the_codes(void **state)
{
    (void)state;
    char *tr = new_transformer("dedicated");
    char *tb = new_billing("transformer-billings", "transformer", tr);
    char *old = new_billing("transformer-billings", "transformer", tr);
    assert_status(api_delete(cust_url(), strf("/v1/transformer-billings/%s", old), KEY_MARKETING),
                  200);
    char *cu = new_hv_customer(), *cu2 = new_hv_customer();
    link_ok("transformer-customer", tr, cu);
    link_ok("transformer-customer", new_transformer("dedicated"), cu2);
    unlink_ok("transformer-customer", tr, cu);
    char *lone = new_transformer("dedicated");

    /* cust-svc: the live billing, not the retired one; any app may ask */
    api_resp *r = api_get(cust_url(), strf("/v1/references?codes=%s,%s", tr, lone), KEY_DISPATCH);
    assert_status(r, 200);
    json_t *items = json_object_get(r->json, "items");
    assert_int_equal(json_array_size(items), 1);
    json_t *it = json_array_get(items, 0);
    assert_string_equal(jstr(it, "code"), tr);
    assert_string_equal(jstr(it, "by"), tb);
    assert_string_equal(jstr(it, "collection"), "transformer-billings");
    assert_string_equal(jstr(it, "field"), "transformer");
    assert_string_equal(jstr(it, "status"), "active");
    assert_string_equal(jstr(json_object_get(it, "rule"), "value"), "dedicated");

    /* grid-svc: current links only; the one ended names nothing */
    r = api_get(grid_url(), strf("/v1/references?codes=%s,%s", cu, cu2), KEY_DISPATCH);
    assert_status(r, 200);
    items = json_object_get(r->json, "items");
    assert_int_equal(json_array_size(items), 1);
    it = json_array_get(items, 0);
    assert_string_equal(jstr(it, "code"), cu2);
    assert_string_equal(jstr(it, "relation"), "transformer-customer");
    assert_string_equal(jstr(it, "to"), cu2);
    assert_string_equal(jstr(it, "end"), "to");

    /* bad questions */
    assert_problem(api_get(cust_url(), "/v1/references", KEY_DISPATCH), 400);
    assert_problem(api_get(cust_url(), strf("/v1/references?codes=%s", spoil_check(tr)),
                           KEY_DISPATCH),
                   400);
    assert_problem(api_get(cust_url(), strf("/v1/references?codes=%s&x=1", tr), KEY_DISPATCH),
                   400);
    assert_status(api_get(cust_url(), strf("/v1/references?codes=%s", tr), NULL), 401);
}

/* ---- a peer that cannot confirm -------------------------------------------------------------- */

static void unreachable_peer_changes_nothing(void **state)
{
    (void)state;
    char *tr = new_transformer("dedicated");
    json_t *before = object(grid_url(), "transformers", tr);
    int dead = free_port(); /* nothing listens there */
    int port = free_port();
    char *base = strf("http://127.0.0.1:%d", port);
    it_extra[0] = start_daemon("grid", port, it_env("GRID_DATABASE_URL"),
                               strf("http://127.0.0.1:%d", dead), strf("itest-integrity-%d", port));
    assert_true(it_extra[0] > 0);
    const char *path = strf("/v1/transformers/%s", tr);

    api_resp *d = api_delete(base, path, KEY_ADMIN);
    assert_problem(d, 502);
    assert_true(d->retry_after[0] != '\0');
    assert_str_contains(jstr(d->json, "detail"), "cust-svc could not confirm");
    assert_str_contains(jstr(d->json, "detail"), tr);
    assert_str_contains(jstr(d->json, "detail"), "nothing was changed");
    assert_problem(api_patch(base, path, KEY_ADMIN, "{\"kind\": \"public\"}"), 502);
    assert_unchanged(grid_url(), "transformers", before);

    /* what cust-svc has no rule about is changed without asking it */
    assert_status(api_patch(base, path, KEY_MARKETING, "{\"model\": \"S13-M-400/10\"}"), 200);

    int st = daemon_stop(it_extra[0], 15);
    it_extra[0] = -1;
    assert_int_equal(st, 0);
}

/* ---- work orders ----------------------------------------------------------------------------- */

static api_resp *step(const char *order, const char *to, const char *key, const char *data)
{
    return api_post(cust_url(), strf("/v1/work-orders/%s/transitions", order), key,
                    strf("{\"to\": \"%s\"%s}", to, data ? data : ""));
}

/* Cancelling a designed work order withdraws its drawing and so retires the
 * dedicated transformer drawn. The work order itself names it, and does not
 * stand in the way; a billing made by hand for that transformer does. */
static void cancelled_work_order_spares_a_billed_transformer(void **state)
{
    (void)state;
    char *ln = create_line(KEY_PRODUCTION, strf("integrity WO LN %s", uniq()), "public", 10);
    api_resp *w = create_ok(cust_url(), "work-orders", KEY_MARKETING,
                            jdump(json_pack("{s:s, s:s}", "type", "hv_new_connection",
                                            "applicant", strf("integrity %s", uniq()))));
    char *order = it_strdup(jstr(w->json, "code"));
    assert_status(step(order, "surveyed", KEY_MARKETING, NULL), 200);
    assert_status(step(order, "planned", KEY_MARKETING,
                       strf(",\"line\": \"%s\", \"capacity_kva\": 630, \"voltage_kv\": 10", ln)),
                  200);
    api_resp *d = step(order, "designed", KEY_PRODUCTION, NULL);
    assert_status(d, 200);
    char *tr = it_strdup(jstr(d->json, "transformer"));
    char *tb = new_billing("transformer-billings", "transformer", tr);

    api_resp *c = step(order, "cancelled", KEY_MARKETING, NULL);
    assert_problem(c, 409);
    assert_str_contains(jstr(c->json, "detail"), tb);
    assert_string_equal(jstr(object(cust_url(), "work-orders", order), "step"), "designed");
    assert_string_equal(jstr(object(grid_url(), "transformers", tr), "status"), "design");
    api_resp *drawing = api_get(grid_url(), strf("/v1/drawings/%s", order), KEY_DISPATCH);
    assert_string_equal(jstr(drawing->json, "status"), "design");

    assert_status(api_delete(cust_url(), strf("/v1/transformer-billings/%s", tb), KEY_MARKETING),
                  200);
    c = step(order, "cancelled", KEY_MARKETING, NULL);
    assert_status(c, 200);
    assert_string_equal(jstr(c->json, "step"), "cancelled");
    assert_string_equal(jstr(object(grid_url(), "transformers", tr), "status"), "retired");
}

int main(void)
{
    it_filter();
    const struct CMUnitTest tests[] = {
        IT(billed_dedicated_transformer_stays_dedicated_and_live),
        IT(billed_dedicated_line_stays_dedicated_and_live),
        IT(unrelated_changes_ask_nothing),
        IT(customer_served_by_a_transformer_stays_live),
        IT(meter_box_on_an_access_point_stays_live),
        IT(references_answer_what_names_the_codes),
        cmocka_unit_test_teardown(unreachable_peer_changes_nothing, it_stop_extras),
        IT(cancelled_work_order_spares_a_billed_transformer),
    };
    return cmocka_run_group_tests_name("integrity", tests, it_group_setup, it_group_teardown);
}
