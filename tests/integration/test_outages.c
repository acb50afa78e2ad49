/* test_outages.c -- outages, notices and trouble calls (DESIGN §10), on cust-svc.
 *
 * Every test builds its own small grid with fresh codes through the API:
 * a line with a dedicated transformer serving one hv customer, and a public
 * transformer whose area has two access points, each with a meter box and
 * its customers. Answers are checked for exact sets of customers, notices
 * and calls. grid-svc reads the outages cust-svc keeps (proxied), so both
 * platforms are asked where a read is concerned. */
#include "client.h"

#include <ctype.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* ---- building a grid ------------------------------------------------------------------- */

#define NBOX 2
#define PER_BOX 3

/* One feeder: ln -> dedicated TR -> hv customer; ln -> public TR -> AP[i] ->
 * box[i] <- meter -> metering point -> customer, PER_BOX per box. The
 * first lv customer has no phone. */
typedef struct grid {
    char *ln, *hv_tr, *hv_cu, *tr, *ap[NBOX], *mb[NBOX];
    char *cu[NBOX][PER_BOX];
    char *tr_name;
} grid;

static char *lv_customer(const grid *g, int box, int i)
{
    const char *phone = box == 0 && i == 0 ? NULL : strf("139%08d", rand() % 100000000);
    json_t *b = json_pack("{s:s, s:s, s:s, s:s}", "name", strf("lv %d.%d %s", box, i, uniq()),
                          "category", "lv_resident", "account_no", strf("A%s", uniq()),
                          "address", create_address());
    if (phone) json_object_set_new(b, "phone", json_string(phone));
    char *cu = mk(cust_url(), "customers", KEY_MARKETING, b);
    char *mp = mk(cust_url(), "metering-points", KEY_MARKETING,
                  json_pack("{s:s, s:s}", "name", "MP", "customer", cu));
    char *mt = mk(cust_url(), "meters", KEY_MARKETING,
                  json_pack("{s:s, s:s}", "asset_no", strf("M%s", uniq()), "phase", "single"));
    link_admin(cust_url(), "meter-meterbox", mt, g->mb[box]);
    link_admin(cust_url(), "meter-meteringpoint", mt, mp);
    return cu;
}

static grid *new_grid(void)
{
    grid *g = it_track(calloc(1, sizeof *g), free);
    g->ln = create_line(KEY_PRODUCTION, strf("10kV outage line %s", uniq()), "public", 10);
    g->hv_tr = mk(grid_url(), "transformers", KEY_MARKETING,
                  json_pack("{s:s, s:s, s:f, s:f}", "name", strf("hv TR %s", uniq()), "kind",
                            "dedicated", "capacity_kva", 630.0, "voltage_kv", 10.0));
    g->hv_cu = mk(cust_url(), "customers", KEY_MARKETING,
                  json_pack("{s:s, s:s, s:s}", "name", strf("hv %s", uniq()), "category", "hv",
                            "phone", "0571-88880000"));
    link_admin(grid_url(), "line-transformer", g->ln, g->hv_tr);
    link_admin(grid_url(), "transformer-customer", g->hv_tr, g->hv_cu);
    g->tr_name = strf("lv TR %s", uniq());
    g->tr = mk(grid_url(), "transformers", KEY_PRODUCTION,
               json_pack("{s:s, s:s, s:f, s:f}", "name", g->tr_name, "kind", "public",
                         "capacity_kva", 400.0, "voltage_kv", 10.0));
    link_admin(grid_url(), "line-transformer", g->ln, g->tr);
    for (int b = 0; b < NBOX; b++) {
        g->ap[b] = mk(grid_url(), "access-points", KEY_PRODUCTION,
                      json_pack("{s:s}", "name", strf("AP %d %s", b, uniq())));
        g->mb[b] = mk(cust_url(), "meter-boxes", KEY_MARKETING,
                      json_pack("{s:s}", "name", strf("box %d %s", b, uniq())));
        link_admin(grid_url(), "accesspoint-transformer", g->ap[b], g->tr);
        link_admin(grid_url(), "accesspoint-meterbox", g->ap[b], g->mb[b]);
        for (int i = 0; i < PER_BOX; i++) g->cu[b][i] = lv_customer(g, b, i);
    }
    return g;
}

/* ---- outages --------------------------------------------------------------------------- */

/* An instant hours from now, RFC 3339. */
static char *in_hours(double hours)
{
    time_t t = time(NULL) + (time_t)(hours * 3600);
    struct tm tm;
    gmtime_r(&t, &tm);
    char *out = it_track(calloc(1, 32), free);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return out;
}

static json_t *outage_body(const char *kind, const char *element, double start_h, double end_h)
{
    return json_pack("{s:s, s:[s], s:s, s:s, s:s}", "kind", kind, "elements", element,
                     "starts_at", in_hours(start_h), "ends_at", in_hours(end_h), "reason",
                     "maintenance 检修");
}

static api_resp *announce(const char *key, json_t *body)
{
    return api_post(cust_url(), "/v1/outages", key, jdump(body));
}

static char *planned_on(const char *element)
{
    api_resp *r = announce(KEY_PRODUCTION, outage_body("planned", element, 24 * 8, 24 * 8 + 4));
    assert_status(r, 201);
    return it_strdup(jstr(r->json, "code"));
}

/* Every page of GET path (items with "code"), as code -> item. */
static json_t *all_pages(const char *path, const char *key, int limit)
{
    json_t *all = jkeep(json_object());
    const char *after = NULL;
    for (int page = 0; page < 100; page++) {
        const char *sep = strchr(path, '?') ? "&" : "?";
        api_resp *r = api_get(cust_url(),
                              strf("%s%slimit=%d%s%s", path, sep, limit, after ? "&after=" : "",
                                   after ? after : ""),
                              key);
        assert_status(r, 200);
        size_t i;
        json_t *it;
        json_array_foreach(list_items(r), i, it) json_object_set(all, jstr(it, "code"), it);
        if (json_is_null(json_object_get(r->json, "next"))) return all;
        after = it_strdup(jstr(r->json, "next"));
    }
    fail_msg("%s: more than 100 pages", path);
    return NULL;
}

static json_t *frozen_list(const char *og)
{
    return all_pages(strf("/v1/outages/%s/customers", og), KEY_DISPATCH, 2);
}

static json_t *notices_of(const char *og)
{
    return all_pages(strf("/v1/notices?outage=%s", og), KEY_NOTIFIER, 1000);
}

/* The items of an answer that is not a page ({"items": [...]}). */
static json_t *items_of(const api_resp *r)
{
    assert_status(r, 200);
    json_t *items = json_object_get(r->json, "items");
    if (!json_is_array(items)) fail_msg("%s %s: no items: %s", r->method, r->url, r->body);
    return items;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of an object, sorted, one per line. */
static char *keys_text(const json_t *o)
{
    size_t n = json_object_size(o), k = 0;
    const char **ks = it_track(calloc(n + 1, sizeof *ks), free);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v) ks[k++] = key;
    qsort(ks, n, sizeof *ks, cmp_str);
    char *out = it_strdup("");
    for (size_t i = 0; i < n; i++) out = strf("%s%s\n", out, ks[i]);
    return out;
}

/* codes, NULL-terminated, as keys_text gives them. */
static char *codes_text(const char *first, ...)
{
    json_t *o = jkeep(json_object());
    va_list ap;
    va_start(ap, first);
    for (const char *c = first; c; c = va_arg(ap, const char *)) json_object_set_new(o, c, json_true());
    va_end(ap);
    return keys_text(o);
}

static char *all_customers_text(const grid *g)
{
    json_t *o = jkeep(json_object());
    json_object_set_new(o, g->hv_cu, json_true());
    for (int b = 0; b < NBOX; b++)
        for (int i = 0; i < PER_BOX; i++) json_object_set_new(o, g->cu[b][i], json_true());
    return keys_text(o);
}

/* The notices of og with message, as customer -> notice. */
static json_t *by_customer(json_t *notices, const char *message)
{
    json_t *out = jkeep(json_object());
    const char *k;
    json_t *n;
    json_object_foreach(notices, k, n) {
        if (strcmp(jstr(n, "message"), message)) continue;
        if (json_object_get(out, jstr(n, "customer")))
            fail_msg("two %s notices for %s", message, jstr(n, "customer"));
        json_object_set(out, jstr(n, "customer"), n);
    }
    return out;
}

static void expect_notices(const grid *g, const char *og, const char *message, int rounds)
{
    json_t *all = notices_of(og);
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(all, k, v) n += strcmp(jstr(v, "message"), message) == 0;
    if (n != (size_t)(rounds * (1 + NBOX * PER_BOX)))
        fail_msg("%s: %zu %s notices, want %d", og, n, message, rounds * (1 + NBOX * PER_BOX));
    if (rounds != 1) return;
    json_t *mine = by_customer(all, message);
    assert_string_equal(keys_text(mine), all_customers_text(g));
    json_object_foreach(mine, k, v) {
        int no_phone = strcmp(k, g->cu[0][0]) == 0;
        assert_string_equal(jstr(v, "outage"), og);
        assert_string_equal(jstr(v, "state"), no_phone ? "failed" : "pending");
        if (no_phone && !strstr(jstr(v, "detail"), "no phone"))
            fail_msg("the notice of a customer with no phone says: %s", jstr(v, "detail"));
    }
}

/* ---- the frozen list -------------------------------------------------------------------- */

static void an_outage_freezes_its_list(void **state)
{
    (void)state;
    grid *g = new_grid();
    api_resp *r = announce(KEY_PRODUCTION, outage_body("planned", g->ln, 24 * 8, 24 * 8 + 4));
    assert_status(r, 201);
    const char *og = it_strdup(jstr(r->json, "code"));
    assert_string_equal(r->location, strf("/v1/outages/%s", og));
    assert_string_equal(jstr(r->json, "state"), "announced");
    assert_int_equal(jint(r->json, "customers"), 1 + NBOX * PER_BOX);
    json_t *list = frozen_list(og);
    assert_string_equal(keys_text(list), all_customers_text(g));
    json_t *hv = json_object_get(list, g->hv_cu);
    assert_string_equal(jstr(hv, "transformer"), g->hv_tr);
    assert_string_equal(jstr(hv, "phone"), "0571-88880000");
    for (int b = 0; b < NBOX; b++)
        for (int i = 0; i < PER_BOX; i++) {
            json_t *it = json_object_get(list, g->cu[b][i]);
            assert_string_equal(jstr(it, "transformer"), g->tr);
            assert_string_equal(jstr(it, "transformer_name"), g->tr_name);
            assert_true(json_is_false(json_object_get(it, "backup")));
            assert_non_null(strstr(jstr(it, "address"), "杭州市"));
            assert_int_equal(json_array_size(json_object_get(it, "notices")), 1);
        }
    assert_true(json_is_null(json_object_get(json_object_get(list, g->cu[0][0]), "phone")));
    expect_notices(g, og, "announced", 1);
    /* grid-svc reads it from cust-svc */
    api_resp *via = api_get(grid_url(), strf("/v1/outages/%s", og), KEY_DISPATCH);
    assert_status(via, 200);
    assert_string_equal(jstr(via->json, "state"), "announced");
    assert_status(api_get(cust_url(), strf("/v1/outages/%s/customers?after=xyz", og), KEY_DISPATCH), 400);
    assert_problem(api_get(cust_url(), strf("/v1/outages/%s/customers", mint_code("OG")), KEY_DISPATCH), 404);
}

/* Who was told does not change with the grid after. */
static void a_frozen_list_stays_as_it_was(void **state)
{
    (void)state;
    grid *g = new_grid();
    const char *og = planned_on(g->tr);
    char *before = keys_text(frozen_list(og));
    /* a new customer in the area, and one moved away */
    char *late = lv_customer(g, 1, 9);
    api_resp *end = api_call("DELETE", strf("%s/v1/relations/accesspoint-meterbox?from=%s&to=%s",
                                            grid_url(), g->ap[0], g->mb[0]),
                             &(api_opts){.key = KEY_ADMIN}, NULL, 0);
    assert_status(end, 200);
    assert_string_equal(keys_text(frozen_list(og)), before);
    api_resp *now = api_get(cust_url(), strf("/v1/outage-impact?codes=%s", g->tr), KEY_DISPATCH);
    assert_status(now, 200);
    int has_late = 0;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(now->json, "customers"), i, c)
        has_late |= strcmp(jstr(c, "code"), late) == 0;
    assert_true(has_late); /* the impact now sees the grid as it is; the list does not */
    assert_int_equal(jint(api_get(cust_url(), strf("/v1/outages/%s", og), KEY_DISPATCH)->json,
                          "customers"),
                     1 + NBOX * PER_BOX - 1);
}

/* A customer with a generator, or a supply point the outage does not cut,
 * keeps supply: backup. */
static void backup_supply_is_flagged(void **state)
{
    (void)state;
    grid *g = new_grid();
    char *other = create_line(KEY_PRODUCTION, strf("10kV other line %s", uniq()), "public", 10);
    char *sp = mk(cust_url(), "supply-points", KEY_MARKETING,
                  json_pack("{s:s, s:s, s:s}", "name", "备供", "customer", g->hv_cu, "mode",
                            "backup"));
    link_admin(grid_url(), "equipment-supplypoint", other, sp);
    mk(cust_url(), "backup-generators", KEY_MARKETING,
       json_pack("{s:s, s:s, s:s}", "name", "diesel", "customer", g->cu[1][2], "kind", "diesel"));
    const char *og = planned_on(g->ln);
    json_t *list = frozen_list(og);
    const char *k;
    json_t *it;
    json_object_foreach(list, k, it) {
        int want = strcmp(k, g->hv_cu) == 0 || strcmp(k, g->cu[1][2]) == 0;
        if (json_is_true(json_object_get(it, "backup")) != want)
            fail_msg("%s: backup %s, want %s", k, jdump(json_incref(json_object_get(it, "backup"))),
                     want ? "true" : "false");
    }
    /* an outage of both lines cuts the backup supply point too */
    api_resp *r = announce(KEY_PRODUCTION,
                           json_pack("{s:s, s:[s,s], s:s, s:s}", "kind", "planned", "elements",
                                     g->ln, other, "starts_at", in_hours(24 * 9), "ends_at",
                                     in_hours(24 * 9 + 2)));
    assert_status(r, 201);
    it = json_object_get(frozen_list(jstr(r->json, "code")), g->hv_cu);
    assert_true(json_is_false(json_object_get(it, "backup")));
}

/* ---- refusals ---------------------------------------------------------------------------- */

static size_t outages_on(const char *element)
{
    return count_where(cust_url(), "outages", strf("elements=%s", element));
}

static void refused_announcements_store_nothing(void **state)
{
    (void)state;
    grid *g = new_grid();
    /* too little notice: 422 with the earliest start allowed */
    api_resp *r = announce(KEY_PRODUCTION, outage_body("planned", g->tr, 24, 28));
    assert_problem(r, 422);
    double earliest = rfc3339_seconds(jstr(r->json, "earliest_start"));
    if (earliest < (double)time(NULL) + 168 * 3600 - 120 || earliest > (double)time(NULL) + 168 * 3600 + 120)
        fail_msg("earliest_start %s is not 168 hours from now", jstr(r->json, "earliest_start"));
    /* bad bodies */
    json_t *b = outage_body("planned", g->tr, 200, 204);
    json_object_set_new(b, "state", json_string("started"));
    assert_problem_field(announce(KEY_PRODUCTION, b), 400, "state");
    b = outage_body("planned", g->tr, 200, 204);
    json_object_set_new(b, "elements", json_array());
    assert_problem_field(announce(KEY_PRODUCTION, b), 400, "elements");
    b = outage_body("planned", g->tr, 200, 204);
    json_object_set_new(b, "elements", json_pack("[s, s]", g->tr, g->tr));
    assert_problem_field(announce(KEY_PRODUCTION, b), 400, "elements");
    b = outage_body("planned", g->tr, 200, 204);
    json_object_set_new(b, "elements", json_pack("[s]", g->cu[0][1]));
    assert_problem_field(announce(KEY_PRODUCTION, b), 400, "elements");
    b = outage_body("planned", g->tr, 200, 204);
    json_object_set_new(b, "starts_at", json_string("2026-13-01T00:00:00Z"));
    assert_problem_field(announce(KEY_PRODUCTION, b), 400, "starts_at");
    assert_problem_field(announce(KEY_PRODUCTION, outage_body("planned", g->tr, 200, 190)), 400,
                         "ends_at");
    b = outage_body("planned", g->tr, 200, 204);
    json_object_del(b, "ends_at");
    assert_problem_field(announce(KEY_PRODUCTION, b), 400, "ends_at");
    /* roles: marketing announces nothing; a fault is dispatch's */
    assert_problem(announce(KEY_MARKETING, outage_body("planned", g->tr, 200, 204)), 403);
    assert_problem(announce(KEY_PRODUCTION, outage_body("fault", g->tr, 0, 2)), 403);
    assert_problem(announce(NULL, outage_body("fault", g->tr, 0, 2)), 401);
    /* an element that names nothing */
    assert_problem(announce(KEY_DISPATCH, outage_body("fault", mint_code("TR"), 0, 2)), 404);
    assert_int_equal(outages_on(g->tr), 0);
    assert_int_equal(count_where(cust_url(), "notices", strf("customer=%s", g->cu[0][1])), 0);
    /* and a fault starts now, with no notice needed; a code in lower case names the same */
    char *low = it_strdup(g->tr);
    for (char *c = low + 3; *c; c++) *c = (char)tolower((unsigned char)*c);
    api_resp *f = announce(KEY_DISPATCH, outage_body("fault", low, 0, 2));
    assert_status(f, 201);
    assert_string_equal(jdump(json_incref(json_object_get(f->json, "elements"))),
                        strf("[\"%s\"]", g->tr));
    assert_int_equal(jint(f->json, "customers"), NBOX * PER_BOX);
    assert_int_equal(outages_on(g->tr), 1);
}

/* The same announcement sent again with its Idempotency-Key is answered as
 * the first was: one outage, one list, one round of notices. */
static void a_retried_announcement_is_replayed(void **state)
{
    (void)state;
    grid *g = new_grid();
    const char *body = jdump(outage_body("planned", g->ln, 24 * 8, 24 * 8 + 4));
    const char *key = strf("announce-%s", uniq());
    api_opts o = {.key = KEY_PRODUCTION, .idempotency_key = key};
    api_resp *first = api_call("POST", strf("%s/v1/outages", cust_url()), &o, body, strlen(body));
    assert_status(first, 201);
    api_resp *again = api_call("POST", strf("%s/v1/outages", cust_url()), &o, body, strlen(body));
    assert_status(again, 201);
    assert_string_equal(again->body, first->body);
    assert_string_equal(again->replayed, "true");
    assert_int_equal(outages_on(g->ln), 1);
    expect_notices(g, jstr(first->json, "code"), "announced", 1);
    /* the key with another body is refused */
    const char *other = jdump(outage_body("planned", g->ln, 24 * 9, 24 * 9 + 4));
    assert_problem(api_call("POST", strf("%s/v1/outages", cust_url()), &o, other, strlen(other)), 422);
    assert_int_equal(outages_on(g->ln), 1);
}

/* ---- transitions and reschedules --------------------------------------------------------- */

static api_resp *move(const char *og, const char *key, const char *to, const char *if_match)
{
    return api_call("POST", strf("%s/v1/outages/%s/transitions", cust_url(), og),
                    &(api_opts){.key = key, .if_match = if_match},
                    jdump(json_pack("{s:s}", "to", to)), strlen(jdump(json_pack("{s:s}", "to", to))));
}

static void an_outage_moves_and_tells(void **state)
{
    (void)state;
    grid *g = new_grid();
    const char *og = planned_on(g->ln);
    api_resp *r = move(og, KEY_DISPATCH, "restored", NULL);
    assert_problem(r, 409);
    assert_string_equal(jdump(json_incref(json_object_get(r->json, "legal"))), "[\"started\",\"cancelled\"]");
    assert_problem(move(og, KEY_MARKETING, "started", NULL), 403);
    assert_problem(move(og, KEY_DISPATCH, "started", "\"7\""), 412);
    assert_problem_field(move(og, KEY_DISPATCH, "paused", NULL), 400, "to");
    /* rescheduled twice: two rounds of rescheduled notices */
    api_resp *p = api_patch(cust_url(), strf("/v1/outages/%s", og), KEY_PRODUCTION,
                            jdump(json_pack("{s:s}", "ends_at", in_hours(24 * 8 + 6))));
    assert_status(p, 200);
    assert_int_equal(jint(p->json, "version"), 2);
    expect_notices(g, og, "rescheduled", 1);
    p = api_patch(cust_url(), strf("/v1/outages/%s", og), KEY_PRODUCTION,
                  jdump(json_pack("{s:s}", "starts_at", in_hours(24 * 8 + 1))));
    assert_status(p, 200);
    expect_notices(g, og, "rescheduled", 2);
    /* the reason alone tells nobody again */
    assert_status(api_patch(cust_url(), strf("/v1/outages/%s", og), KEY_PRODUCTION,
                            jdump(json_pack("{s:s}", "reason", "transformer replaced"))), 200);
    expect_notices(g, og, "rescheduled", 2);
    assert_problem_field(api_patch(cust_url(), strf("/v1/outages/%s", og), KEY_PRODUCTION,
                                   jdump(json_pack("{s:s}", "state", "restored"))), 400, "state");
    assert_problem_field(api_patch(cust_url(), strf("/v1/outages/%s", og), KEY_PRODUCTION,
                                   jdump(json_pack("{s:s}", "ends_at", "tomorrow noon"))), 400,
                         "ends_at");
    assert_problem(api_patch(cust_url(), strf("/v1/outages/%s", og), KEY_MARKETING,
                             jdump(json_pack("{s:s}", "reason", "x"))), 403);
    assert_problem(api_patch(cust_url(), strf("/v1/outages/%s", og), KEY_PRODUCTION,
                             jdump(json_pack("{s:s}", "starts_at", in_hours(2)))), 422);
    /* started, then restored: restored notices, and the history */
    r = move(og, KEY_DISPATCH, "started", strf("\"%lld\"", version_of(cust_url(), "outages", og)));
    assert_status(r, 200);
    assert_true(is_rfc3339_utc(jstr(r->json, "started_at")));
    assert_problem(api_patch(cust_url(), strf("/v1/outages/%s", og), KEY_PRODUCTION,
                             jdump(json_pack("{s:s}", "starts_at", in_hours(24 * 10)))), 409);
    /* the start given again as it is, written otherwise, moves nothing: the end may change */
    json_t *now = api_get(cust_url(), strf("/v1/outages/%s", og), KEY_DISPATCH)->json;
    time_t start = (time_t)rfc3339_seconds(jstr(now, "starts_at"));
    struct tm tm;
    localtime_r(&start, &tm);
    char same[40];
    strftime(same, sizeof same, "%Y-%m-%dT%H:%M:%S", &tm);
    long off = tm.tm_gmtoff;
    snprintf(same + strlen(same), sizeof same - strlen(same), "%c%02ld:%02ld", off < 0 ? '-' : '+',
             labs(off) / 3600, labs(off) % 3600 / 60);
    assert_status(api_patch(cust_url(), strf("/v1/outages/%s", og), KEY_PRODUCTION,
                            jdump(json_pack("{s:s, s:s}", "starts_at", same, "ends_at",
                                            in_hours(24 * 8 + 7)))), 200);
    expect_notices(g, og, "rescheduled", 3);
    assert_status(move(og, KEY_PRODUCTION, "restored", NULL), 200);
    expect_notices(g, og, "restored", 1);
    assert_problem(move(og, KEY_DISPATCH, "cancelled", NULL), 409);
    api_resp *h = api_get(cust_url(), strf("/v1/outages/%s/history", og), KEY_DISPATCH);
    assert_status(h, 200);
    char *types = it_strdup("");
    size_t i;
    json_t *c;
    json_array_foreach(list_items(h), i, c) types = strf("%s%s ", types, jstr(c, "type"));
    assert_string_equal(types, "outage.created outage.rescheduled outage.rescheduled "
                               "outage.updated outage.started outage.rescheduled "
                               "outage.restored ");
    api_resp *ev = api_get(cust_url(), "/v1/events?types=outage.restored&limit=1000", KEY_DISPATCH);
    assert_status(ev, 200);
    int seen = 0;
    json_array_foreach(list_items(ev), i, c) seen += strcmp(jstr(c, "code"), og) == 0;
    assert_int_equal(seen, 1);
}

static void a_cancelled_outage_tells_its_customers(void **state)
{
    (void)state;
    grid *g = new_grid();
    const char *og = planned_on(g->tr);
    assert_status(move(og, KEY_PRODUCTION, "cancelled", NULL), 200);
    json_t *all = notices_of(og);
    json_t *cancelled = by_customer(all, "cancelled");
    assert_int_equal(json_object_size(cancelled), NBOX * PER_BOX);
    assert_problem(move(og, KEY_PRODUCTION, "started", NULL), 409);
}

/* ---- notices ----------------------------------------------------------------------------- */

static api_resp *ack(const char *key, json_t *items)
{
    return api_post(cust_url(), "/v1/notices:ack", key, jdump(json_pack("{s:o}", "items", items)));
}

static void a_notifier_pulls_and_reports(void **state)
{
    (void)state;
    grid *g = new_grid();
    const char *og = planned_on(g->tr);
    api_resp *p = api_get(cust_url(), strf("/v1/notices?state=pending&outage=%s&limit=1000", og),
                          KEY_NOTIFIER);
    assert_status(p, 200);
    json_t *pending = list_items(p);
    assert_int_equal(json_array_size(pending), NBOX * PER_BOX - 1); /* one has no phone */
    const char *n0 = jstr(json_array_get(pending, 0), "code");
    const char *n1 = jstr(json_array_get(pending, 1), "code");
    /* refusals change nothing */
    assert_problem(ack(KEY_MARKETING, json_pack("[{s:s, s:s}]", "code", n0, "state", "sent")), 403);
    assert_problem_field(ack(KEY_NOTIFIER, json_pack("[{s:s, s:s}]", "code", n0, "state", "read")),
                         400, "items[0]");
    assert_problem(ack(KEY_NOTIFIER, json_pack("[{s:s, s:s}, {s:s, s:s}]", "code", n0, "state",
                                               "sent", "code", mint_code("NT"), "state", "sent")),
                   422);
    assert_int_equal(count_where(cust_url(), "notices", strf("outage=%s&state=sent", og)), 0);
    /* reported, then reported again: nothing more changes */
    api_resp *a = ack(KEY_NOTIFIER, json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}]", "code", n0,
                                              "state", "sent", "detail", "sms 1", "code", n1,
                                              "state", "failed", "detail", "number unreachable"));
    assert_status(a, 200);
    a = ack(KEY_NOTIFIER, json_pack("[{s:s, s:s}]", "code", n0, "state", "sent"));
    assert_status(a, 200);
    assert_true(json_is_false(json_object_get(json_array_get(items_of(a), 0), "changed")));
    assert_int_equal(version_of(cust_url(), "notices", n0), 2);
    assert_problem(ack(KEY_NOTIFIER, json_pack("[{s:s, s:s}]", "code", n1, "state", "sent")), 409);
    api_resp *one = api_get(cust_url(), strf("/v1/notices/%s", n1), KEY_NOTIFIER);
    assert_string_equal(jstr(one->json, "state"), "failed");
    assert_string_equal(jstr(one->json, "detail"), "number unreachable");
    assert_int_equal(count_where(cust_url(), "notices", strf("outage=%s&state=pending", og)),
                     NBOX * PER_BOX - 3);
    /* the list shows each customer's notices */
    json_t *list = frozen_list(og);
    json_t *told = json_array_get(json_object_get(json_object_get(list, jstr(json_array_get(pending, 0), "customer")), "notices"), 0);
    assert_string_equal(jstr(told, "state"), "sent");
    /* notices are the platform's to write */
    assert_status(api_post(cust_url(), "/v1/notices", KEY_ADMIN, "{}"), 405);
}

/* ---- trouble calls ------------------------------------------------------------------------ */

static api_resp *call_in(const char *key, json_t *body)
{
    return api_post(cust_url(), "/v1/trouble-calls", key, jdump(body));
}

static const char *account_of(const char *cu)
{
    return it_strdup(jstr(api_get(cust_url(), strf("/v1/customers/%s", cu), KEY_DISPATCH)->json,
                          "account_no"));
}

static const char *phone_of(const char *cu)
{
    return it_strdup(jstr(api_get(cust_url(), strf("/v1/customers/%s", cu), KEY_DISPATCH)->json,
                          "phone"));
}

/* Three calls from one transformer's area, two boxes: the transformer is
 * the lowest element above them all; confirmed, the calls are explained
 * and a fourth caller is told. */
static void calls_predict_then_learn_of_an_outage(void **state)
{
    (void)state;
    grid *g = new_grid();
    const char *calls[3];
    api_resp *r = call_in(KEY_MARKETING, json_pack("{s:s, s:s}", "customer", g->cu[0][1], "text", "没电"));
    assert_status(r, 201);
    assert_true(json_is_null(json_object_get(r->json, "known")));
    calls[0] = it_strdup(jstr(r->json, "code"));
    r = call_in(KEY_MARKETING, json_pack("{s:s, s:s}", "account_no", account_of(g->cu[0][2]), "text", "停电了"));
    assert_status(r, 201);
    assert_string_equal(jstr(r->json, "customer"), g->cu[0][2]);
    calls[1] = it_strdup(jstr(r->json, "code"));
    r = call_in(KEY_DISPATCH, json_pack("{s:s, s:s}", "phone", phone_of(g->cu[1][0]), "text", "灯不亮"));
    assert_status(r, 201);
    assert_string_equal(jstr(r->json, "customer"), g->cu[1][0]);
    calls[2] = it_strdup(jstr(r->json, "code"));

    api_resp *p = api_get(cust_url(), "/v1/outages/predicted", KEY_DISPATCH);
    assert_status(p, 200);
    json_t *mine = NULL;
    size_t i;
    json_t *it;
    json_array_foreach(items_of(p), i, it) {
        if (strcmp(jstr(it, "element"), g->tr) == 0) mine = it;
        if (strcmp(jstr(it, "element"), g->ap[0]) == 0 || strcmp(jstr(it, "element"), g->ln) == 0)
            fail_msg("predicted %s, not the transformer: %s", jstr(it, "element"), p->body);
    }
    if (!mine) fail_msg("no prediction of %s: %s", g->tr, p->body);
    json_t *got = jkeep(json_object());
    json_array_foreach(json_object_get(mine, "calls"), i, it) json_object_set(got, jstr(it, "code"), it);
    assert_string_equal(keys_text(got), codes_text(calls[0], calls[1], calls[2], NULL));
    assert_int_equal(jint(mine, "customers"), NBOX * PER_BOX);
    assert_string_equal(jstr(mine, "name"), g->tr_name);

    /* dispatch confirms: the calls are explained, the prediction goes */
    api_resp *f = announce(KEY_DISPATCH, outage_body("fault", g->tr, -0.1, 3));
    assert_status(f, 201);
    const char *og = it_strdup(jstr(f->json, "code"));
    for (int k = 0; k < 3; k++)
        assert_string_equal(jstr(api_get(cust_url(), strf("/v1/trouble-calls/%s", calls[k]), KEY_DISPATCH)->json, "outage"), og);
    p = api_get(cust_url(), "/v1/outages/predicted", KEY_DISPATCH);
    json_array_foreach(items_of(p), i, it)
        if (strcmp(jstr(it, "element"), g->tr) == 0) fail_msg("still predicted: %s", p->body);
    /* a fourth caller is told it is known */
    r = call_in(KEY_MARKETING, json_pack("{s:s, s:s}", "customer", g->cu[1][1], "text", "还没来电"));
    assert_status(r, 201);
    assert_string_equal(jstr(r->json, "outage"), og);
    json_t *known = json_object_get(r->json, "known");
    assert_string_equal(jstr(known, "outage"), og);
    assert_string_equal(jstr(known, "kind"), "fault");
    assert_true(is_rfc3339_utc(jstr(known, "ends_at")));
    /* a call said to come in long before the fault began is not explained by it */
    r = call_in(KEY_MARKETING, json_pack("{s:s, s:s, s:s}", "customer", g->cu[0][2], "text",
                                         "上周停过电", "at", in_hours(-30)));
    assert_status(r, 201);
    assert_true(json_is_null(json_object_get(r->json, "outage")));
    /* attached calls are in their history and in the events */
    api_resp *h = api_get(cust_url(), strf("/v1/trouble-calls/%s/history", calls[0]), KEY_DISPATCH);
    assert_status(h, 200);
    json_t *last = json_array_get(list_items(h), json_array_size(list_items(h)) - 1);
    assert_string_equal(jstr(last, "type"), "trouble_call.attached");
    api_resp *ev = api_get(cust_url(), "/v1/events?types=trouble_call.attached&limit=1000", KEY_DISPATCH);
    int seen = 0;
    json_array_foreach(list_items(ev), i, it) seen += strcmp(jstr(it, "code"), calls[1]) == 0;
    assert_int_equal(seen, 1);
    /* a customer outside it is not */
    r = call_in(KEY_MARKETING, json_pack("{s:s, s:s}", "customer", g->hv_cu, "text", "停电"));
    assert_status(r, 201);
    assert_true(json_is_null(json_object_get(r->json, "outage")));
}

/* A planned outage explains only calls made once it is due: neither one
 * made before it was announced nor one made before it starts. */
static void an_outage_to_come_explains_no_call_yet(void **state)
{
    (void)state;
    grid *g = new_grid();
    api_resp *before = call_in(KEY_MARKETING, json_pack("{s:s, s:s}", "customer", g->cu[0][2], "text", "停电"));
    assert_status(before, 201);
    planned_on(g->tr);
    api_resp *r = call_in(KEY_MARKETING, json_pack("{s:s, s:s}", "customer", g->cu[0][1], "text", "停电"));
    assert_status(r, 201);
    assert_true(json_is_null(json_object_get(r->json, "known")));
    api_resp *again = api_get(cust_url(), strf("/v1/trouble-calls/%s", jstr(before->json, "code")), KEY_DISPATCH);
    assert_true(json_is_null(json_object_get(again->json, "outage")));
}

static void refused_calls_store_nothing(void **state)
{
    (void)state;
    grid *g = new_grid();
    /* a phone two customers share */
    const char *phone = strf("138%08d", rand() % 100000000);
    for (int k = 0; k < 2; k++)
        mk(cust_url(), "customers", KEY_MARKETING,
           json_pack("{s:s, s:s, s:s}", "name", strf("shared %d", k), "category", "lv_resident",
                     "phone", phone));
    api_resp *r = call_in(KEY_MARKETING, json_pack("{s:s, s:s}", "phone", phone, "text", "停电"));
    assert_problem(r, 422);
    assert_int_equal(json_array_size(json_object_get(r->json, "customers")), 2);
    assert_problem(call_in(KEY_MARKETING, json_pack("{s:s, s:s}", "account_no", uniq(), "text", "x")), 422);
    assert_problem_field(call_in(KEY_MARKETING, json_pack("{s:s}", "customer", g->cu[0][1])), 400, "text");
    assert_problem_field(call_in(KEY_MARKETING, json_pack("{s:s}", "text", "no one")), 400, "customer");
    assert_problem_field(call_in(KEY_MARKETING, json_pack("{s:s, s:s, s:s}", "customer", g->cu[0][1],
                                                          "text", "x", "outage", mint_code("OG"))),
                         400, "outage");
    assert_problem(call_in(KEY_PRODUCTION, json_pack("{s:s, s:s}", "customer", g->cu[0][1], "text", "x")), 403);
    /* refused before the caller is looked up: nothing of the customers is told */
    r = call_in(KEY_PRODUCTION, json_pack("{s:s, s:s}", "phone", phone, "text", "x"));
    assert_problem(r, 403);
    assert_null(json_object_get(r->json, "customers"));
    assert_int_equal(count_where(cust_url(), "trouble-calls", strf("customer=%s", g->cu[0][1])), 0);
}

/* grid-svc passes the reads on to cust-svc and refuses the writes (421). */
static void grid_svc_reads_and_refuses(void **state)
{
    (void)state;
    grid *g = new_grid();
    const char *og = planned_on(g->tr);
    api_resp *mine = api_get(cust_url(), strf("/v1/outages/%s/customers?limit=3", og), KEY_DISPATCH);
    api_resp *via = api_get(grid_url(), strf("/v1/outages/%s/customers?limit=3", og), KEY_DISPATCH);
    assert_status(via, 200);
    assert_string_equal(via->body, mine->body);
    assert_status(api_get(grid_url(), "/v1/outages/predicted", KEY_DISPATCH), 200);
    assert_status(api_get(grid_url(), strf("/v1/notices?outage=%s", og), KEY_DISPATCH), 200);
    assert_problem(api_post(grid_url(), strf("/v1/outages/%s/transitions", og), KEY_DISPATCH,
                            "{\"to\": \"started\"}"), 421);
    assert_problem(api_post(grid_url(), "/v1/notices:ack", KEY_NOTIFIER, "{\"items\": []}"), 421);
    assert_problem(api_post(grid_url(), "/v1/trouble-calls", KEY_MARKETING,
                            jdump(json_pack("{s:s, s:s}", "customer", g->cu[0][1], "text", "x"))),
                   421);
    assert_problem(api_post(grid_url(), "/v1/outages", KEY_DISPATCH,
                            jdump(outage_body("fault", g->tr, 0, 2))), 421);
    assert_string_equal(jstr(api_get(cust_url(), strf("/v1/outages/%s", og), KEY_DISPATCH)->json, "state"),
                        "announced");
}

int main(void)
{
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    it_filter();
    const struct CMUnitTest tests[] = {
        IT(an_outage_freezes_its_list),
        IT(a_frozen_list_stays_as_it_was),
        IT(backup_supply_is_flagged),
        IT(refused_announcements_store_nothing),
        IT(a_retried_announcement_is_replayed),
        IT(an_outage_moves_and_tells),
        IT(a_cancelled_outage_tells_its_customers),
        IT(a_notifier_pulls_and_reports),
        IT(calls_predict_then_learn_of_an_outage),
        IT(an_outage_to_come_explains_no_call_yet),
        IT(refused_calls_store_nothing),
        IT(grid_svc_reads_and_refuses),
    };
    return cmocka_run_group_tests(tests, it_group_setup, it_group_teardown);
}
