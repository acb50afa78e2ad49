/* test_predict.c -- outages predicted from trouble calls (DESIGN §10) on a
 * citygen city loaded through the import API: calls are planted under
 * elements found by walking the city (a transformer whose callers stand
 * under two access points, an access point whose callers share it) with
 * a few more that predict nothing (two under another transformer), and
 * GET /v1/outages/predicted must group exactly the planted ones, each under
 * its element (or its transformer, when that cuts the same customers), with the customers an outage of it would cut. Confirmed by
 * a fault outage, a group's calls are explained and it is predicted no
 * more. */
#include "client.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define CITY_CUSTOMERS 1000

static char *city_dir;

static void run(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0) fail_msg("'%s' exited with %d", cmd, rc);
}

static int city_setup(void **state)
{
    if (it_group_setup(state) != 0) return -1;
    city_dir = strdup(strf("%s/predictcity", it_env("RUN_DIR")));
    srand((unsigned)(time(NULL) ^ getpid()));
    int seed = 20000 + rand() % 9000; /* codes and account numbers of no other city here */
    run(strf("rm -rf '%s' && '%s/citygen' --customers %d --seed %d --out '%s' >/dev/null",
             city_dir, it_env("BIN_DIR"), CITY_CUSTOMERS, seed, city_dir));
    run(strf("'%s/scripts/cityload.sh' '%s' >'%s.log' 2>&1", it_env("REPO_ROOT"), city_dir,
             city_dir));
    return 0;
}

static int city_teardown(void **state)
{
    free(city_dir);
    return it_group_teardown(state);
}

/* The sampled low-voltage customers of the city. */
static json_t *sampled_customers(void)
{
    FILE *f = fopen(strf("%s/sample/customers_lv.txt", city_dir), "r");
    if (!f) fail_msg("citygen wrote no sample of lv customers");
    json_t *all = jkeep(json_array());
    char line[128];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (*line) json_array_append_new(all, json_string(line));
    }
    fclose(f);
    if (json_array_size(all) < 50) fail_msg("too few sampled customers");
    return all;
}

/* The code of the node of prefix in a trace up from cu. */
static const char *above(const char *cu, const char *prefix)
{
    api_resp *r = api_get(cust_url(), strf("/v1/trace/%s?direction=up", cu), KEY_DISPATCH);
    assert_status(r, 200);
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(r->json, "nodes"), i, n)
        if (strncmp(jstr(n, "code"), prefix, 2) == 0) return it_strdup(jstr(n, "code"));
    fail_msg("no %s above %s: %s", prefix, cu, r->body);
    return NULL;
}

/* The customers an outage of code cuts now, as an array of codes. */
static json_t *cut_by(const char *code)
{
    api_resp *r = api_get(cust_url(), strf("/v1/outage-impact?codes=%s&limit=10000", code),
                          KEY_DISPATCH);
    assert_status(r, 200);
    json_t *codes = jkeep(json_array());
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(r->json, "customers"), i, c)
        json_array_append_new(codes, json_string(jstr(c, "code")));
    return codes;
}

static const char *call(const char *cu)
{
    api_resp *r = api_post(cust_url(), "/v1/trouble-calls", KEY_MARKETING,
                           jdump(json_pack("{s:s, s:s}", "customer", cu, "text", "停电")));
    assert_status(r, 201);
    if (!json_is_null(json_object_get(r->json, "outage")))
        fail_msg("a call from %s was explained before any outage: %s", cu, r->body);
    return it_strdup(jstr(r->json, "code"));
}

/* The element a group under code is reported as: the highest of up (code,
 * then the elements above it within its transformer area, in order) that
 * still cuts the same customers. */
static const char *reported(const char *const *up)
{
    size_t n = json_array_size(cut_by(up[0]));
    const char *code = up[0];
    for (int i = 1; up[i] && json_array_size(cut_by(up[i])) == n; i++) code = up[i];
    return code;
}

/* A planted group: the element expected and its calls, "C1 C2 ..." sorted. */
typedef struct planted {
    const char *element;
    json_t *calls; /* code -> true */
    long customers;
} planted;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static char *sorted_keys(json_t *o)
{
    size_t n = json_object_size(o), k = 0;
    const char **ks = it_track(calloc(n + 1, sizeof *ks), free);
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) ks[k++] = key;
    qsort(ks, n, sizeof *ks, cmp_str);
    char *out = it_strdup("");
    for (size_t i = 0; i < n; i++) out = strf("%s%s ", out, ks[i]);
    return out;
}

static void planted_calls_are_found_exactly(void **state)
{
    (void)state;
    json_t *sample = sampled_customers();
    /* three transformers of sampled customers, each with callers under two
     * access points or more */
    json_t *trs = jkeep(json_object());
    size_t i;
    json_t *c;
    json_array_foreach(sample, i, c) {
        if (json_object_size(trs) == 3) break;
        const char *tr = above(json_string_value(c), "TR");
        if (!json_object_get(trs, tr)) json_object_set_new(trs, tr, json_true());
    }
    if (json_object_size(trs) < 3) fail_msg("fewer than three transformers among the sample");
    const char *tr_codes[3];
    size_t k = 0;
    const char *key;
    json_t *v;
    json_object_foreach(trs, key, v) tr_codes[k++] = it_strdup(key);

    planted groups[2] = {{tr_codes[0], jkeep(json_object()), 0}, {NULL, jkeep(json_object()), 0}};
    json_t *mine = jkeep(json_object()); /* every call planted */
    /* the first transformer: callers under at least two access points */
    json_t *cus = cut_by(tr_codes[0]);
    json_t *aps = jkeep(json_object());
    json_array_foreach(cus, i, c) {
        const char *cu = json_string_value(c), *ap = above(cu, "AP");
        json_t *n = json_object_get(aps, ap);
        if (json_integer_value(n) >= 2) continue; /* never three under one access point */
        json_object_set_new(aps, ap, json_integer(json_integer_value(n) + 1));
        const char *tc = call(cu);
        json_object_set_new(groups[0].calls, tc, json_true());
        json_object_set_new(mine, tc, json_true());
        if (json_object_size(groups[0].calls) == 3) break;
    }
    if (json_object_size(groups[0].calls) < 3 || json_object_size(aps) < 2)
        fail_msg("%s has too few customers under two access points", tr_codes[0]);
    groups[0].customers = (long)json_array_size(cus);
    /* lines and substations feed many areas: a transformer is reported as itself */
    /* the second: three callers under one access point */
    cus = cut_by(tr_codes[1]);
    const char *ap1 = above(json_string_value(json_array_get(cus, 0)), "AP");
    json_t *under_ap = cut_by(ap1);
    if (json_array_size(under_ap) < 3) fail_msg("%s has fewer than three customers", ap1);
    groups[1] = (planted){reported((const char *const[]){ap1, tr_codes[1], NULL}), groups[1].calls,
                          (long)json_array_size(under_ap)};
    for (i = 0; i < 3; i++) {
        const char *tc = call(json_string_value(json_array_get(under_ap, i)));
        json_object_set_new(groups[1].calls, tc, json_true());
        json_object_set_new(mine, tc, json_true());
    }
    /* the third: two calls, which predict nothing on their own */
    cus = cut_by(tr_codes[2]);
    for (i = 0; i < 2 && i < json_array_size(cus); i++)
        json_object_set_new(mine, call(json_string_value(json_array_get(cus, i))), json_true());

    api_resp *p = api_get(cust_url(), "/v1/outages/predicted", KEY_DISPATCH);
    assert_status(p, 200);
    int found[2] = {0, 0};
    json_t *it;
    json_array_foreach(json_object_get(p->json, "items"), i, it) {
        json_t *calls = jkeep(json_object());
        size_t j;
        json_t *tc;
        int ours = 0;
        json_array_foreach(json_object_get(it, "calls"), j, tc) {
            json_object_set_new(calls, jstr(tc, "code"), json_true());
            ours += json_object_get(mine, jstr(tc, "code")) != NULL;
        }
        if (!ours) continue; /* another test's calls */
        int g = strcmp(jstr(it, "element"), groups[0].element) == 0   ? 0
                : strcmp(jstr(it, "element"), groups[1].element) == 0 ? 1
                                                                      : -1;
        if (g < 0) fail_msg("predicted %s, planted under none: %s", jstr(it, "element"), p->body);
        assert_string_equal(sorted_keys(calls), sorted_keys(groups[g].calls));
        assert_int_equal(jint(it, "customers"), groups[g].customers);
        found[g]++;
    }
    if (found[0] != 1 || found[1] != 1)
        fail_msg("want %s and %s predicted once each: %s", groups[0].element, groups[1].element,
                 p->body);

    /* confirmed: a fault outage on the transformer explains its calls */
    api_resp *f = api_post(cust_url(), "/v1/outages", KEY_DISPATCH,
                           jdump(json_pack("{s:s, s:[s], s:s}", "kind", "fault", "elements",
                                           groups[0].element, "starts_at",
                                           "2026-01-01T00:00:00Z")));
    assert_status(f, 201);
    const char *og = jstr(f->json, "code");
    json_object_foreach(groups[0].calls, key, v) {
        api_resp *r = api_get(cust_url(), strf("/v1/trouble-calls/%s", key), KEY_DISPATCH);
        assert_string_equal(jstr(r->json, "outage"), og);
    }
    p = api_get(cust_url(), "/v1/outages/predicted", KEY_DISPATCH);
    json_array_foreach(json_object_get(p->json, "items"), i, it)
        if (strcmp(jstr(it, "element"), groups[0].element) == 0)
            fail_msg("%s still predicted after its outage: %s", groups[0].element, p->body);
    assert_status(api_post(cust_url(), strf("/v1/outages/%s/transitions", og), KEY_DISPATCH,
                           "{\"to\": \"started\"}"),
                  200);
    assert_status(api_post(cust_url(), strf("/v1/outages/%s/transitions", og), KEY_DISPATCH,
                           "{\"to\": \"restored\"}"),
                  200);
}

int main(void)
{
    it_filter();
    const struct CMUnitTest tests[] = {
        IT(planted_calls_are_found_exactly),
    };
    return cmocka_run_group_tests(tests, city_setup, city_teardown);
}
