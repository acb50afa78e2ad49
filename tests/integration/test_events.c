/* test_events.c -- change events (消息通知): GET /v1/events on both
 * platforms. Every write records its event in its own transaction; a
 * refused write records none; readers page by sequence number and filter by
 * type; events that have been pruned are answered 410 with where to resume.
 *
 * Each test reads from the newest sequence number it saw before writing, so
 * other suites' events do not disturb it. */
#include "client.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* The newest sequence number so far (0 when there is none). */
static long long newest(const char *base)
{
    long long after = 0;
    for (;;) {
        api_resp *r = api_get(base, strf("/v1/events?after=%lld&limit=1000", after), KEY_DISPATCH);
        if (r->status == 410) { /* pruned: resume where the answer says, as readers do */
            after = jint(r->json, "resume_after");
            continue;
        }
        assert_status(r, 200);
        json_t *items = list_items(r);
        size_t n = json_array_size(items);
        if (n) after = jint(json_array_get(items, n - 1), "seq");
        if (json_is_null(json_object_get(r->json, "next"))) return after;
    }
}

/* The events after seq (all pages), in order. */
static json_t *events_after(const char *base, long long after, const char *types)
{
    json_t *all = jkeep(json_array());
    for (;;) {
        api_resp *r = api_get(base,
                              strf("/v1/events?after=%lld&limit=2%s%s", after, types ? "&types=" : "",
                                   types ? types : ""),
                              KEY_DISPATCH);
        assert_status(r, 200);
        json_t *items = list_items(r);
        size_t i;
        json_t *e;
        json_array_foreach(items, i, e) {
            long long seq = jint(e, "seq");
            if (seq <= after) fail_msg("events out of order: %lld after %lld", seq, after);
            after = seq;
            json_array_append(all, e);
        }
        const char *next = jstr(r->json, "next");
        if (!next || !*next) return all;
        if (atoll(next) != after) fail_msg("next is %s, the last item %lld", next, after);
    }
}

static json_t *find(json_t *events, const char *type, const char *code)
{
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e)
        if (strcmp(jstr(e, "type"), type) == 0 && strcmp(jstr(e, "code"), code) == 0) return e;
    return NULL;
}

static void a_write_is_an_event(void **state)
{
    (void)state;
    long long g0 = newest(grid_url()), c0 = newest(cust_url());
    char *name = strf("events SS %s", uniq());
    char *ss = create_substation(name);
    char *cu = create_customer(strf("events CU %s", uniq()), NULL);

    json_t *e = find(events_after(grid_url(), g0, NULL), "substation.created", ss);
    if (!e) fail_msg("no substation.created event for %s on grid-svc", ss);
    assert_string_equal(jstr(e, "app"), "pms");
    assert_true(is_rfc3339_utc(jstr(e, "at")));
    json_t *after = json_object_get(json_object_get(e, "data"), "after");
    assert_string_equal(jstr(after, "name"), name);
    assert_true(json_is_null(json_object_get(json_object_get(e, "data"), "before")));
    /* each platform tells of its own writes */
    assert_null(find(events_after(cust_url(), c0, NULL), "substation.created", ss));
    assert_non_null(find(events_after(cust_url(), c0, NULL), "customer.created", cu));

    /* a change and a retirement, each with what it was before */
    long long g1 = newest(grid_url());
    api_opts o = {.key = KEY_PRODUCTION, .content_type = "application/merge-patch+json"};
    const char *patch = "{\"voltage_kv\": 220}";
    assert_status(api_call("PATCH", strf("%s/v1/substations/%s", grid_url(), ss), &o, patch,
                           strlen(patch)),
                  200);
    assert_status(api_delete(grid_url(), strf("/v1/substations/%s", ss), KEY_PRODUCTION), 200);
    json_t *later = events_after(grid_url(), g1, NULL);
    json_t *changed = find(later, "substation.updated", ss);
    json_t *retired = find(later, "substation.retired", ss);
    if (!changed || !retired) fail_msg("missing updated/retired events: %s", jdump(json_incref(later)));
    assert_true(jint(changed, "seq") < jint(retired, "seq"));
    assert_string_equal(jstr(json_object_get(json_object_get(retired, "data"), "before"), "status"),
                        "operational");
}

static void a_link_is_an_event(void **state)
{
    (void)state;
    char *ss = create_substation(strf("events link SS %s", uniq()));
    char *ln = create_line(KEY_PRODUCTION, strf("events link LN %s", uniq()), "public", 10);
    long long g0 = newest(grid_url());
    api_resp *r = api_post(grid_url(), "/v1/relations/substation-line", KEY_PRODUCTION,
                           strf("{\"from\": \"%s\", \"to\": \"%s\"}", ss, ln));
    assert_status(r, 201);
    json_t *e = find(events_after(grid_url(), g0, "relation.added"), "relation.added", ss);
    if (!e) fail_msg("no relation.added event from %s", ss);
    assert_string_equal(jstr(json_object_get(e, "data"), "other"), ln);
}

static void a_refused_write_is_no_event(void **state)
{
    (void)state;
    long long g0 = newest(grid_url());
    /* invalid, forbidden to the role, and misdirected: none is stored */
    assert_status(api_post(grid_url(), "/v1/substations", KEY_PRODUCTION, "{\"name\": \"x\"}"), 400);
    assert_status(api_post(grid_url(), "/v1/substations", KEY_MARKETING,
                           "{\"name\": \"x\", \"voltage_kv\": 110}"),
                  403);
    assert_status(api_post(grid_url(), "/v1/customers", KEY_MARKETING,
                           "{\"name\": \"x\", \"category\": \"hv\"}"),
                  421);
    json_t *later = events_after(grid_url(), g0, NULL);
    size_t i;
    json_t *e;
    json_array_foreach(later, i, e)
        if (strcmp(jstr(e, "app"), "pms") == 0 || strcmp(jstr(e, "app"), "marketing") == 0)
            if (strstr(jstr(e, "type"), "substation.") && strcmp(jstr(json_object_get(json_object_get(
                                                                e, "data"), "after"), "name"), "x") == 0)
                fail_msg("a refused write left an event: %s", jdump(json_incref(e)));
}

static void types_filter_and_paging(void **state)
{
    (void)state;
    long long c0 = newest(cust_url());
    char *codes[5];
    for (int i = 0; i < 5; i++) codes[i] = create_customer(strf("events page %d %s", i, uniq()), NULL);
    create_address(); /* an address.created in between */
    json_t *only = events_after(cust_url(), c0, "customer.created");
    int seen = 0;
    size_t i;
    json_t *e;
    json_array_foreach(only, i, e) {
        if (strcmp(jstr(e, "type"), "customer.created") != 0)
            fail_msg("types=customer.created gave a %s event", jstr(e, "type"));
        for (int k = 0; k < 5; k++) seen += strcmp(jstr(e, "code"), codes[k]) == 0;
    }
    assert_int_equal(seen, 5);
    /* in the order the writes committed */
    json_t *all = events_after(cust_url(), c0, "customer.created,address.created");
    long long last = 0;
    for (int k = 0; k < 5; k++) {
        json_t *ev = find(all, "customer.created", codes[k]);
        assert_non_null(ev);
        assert_true(jint(ev, "seq") > last);
        last = jint(ev, "seq");
    }
    int addresses = 0;
    json_array_foreach(all, i, e) addresses += strcmp(jstr(e, "type"), "address.created") == 0;
    assert_true(addresses >= 1);
}

static void bad_parameters(void **state)
{
    (void)state;
    const char *bad[] = {"after=-1", "after=x", "limit=0", "limit=1001", "types=", "types=A.B",
                         "types=a;b", "foo=1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_problem(api_get(grid_url(), strf("/v1/events?%s", bad[i]), KEY_DISPATCH), 400);
    assert_status(api_get(grid_url(), "/v1/events", NULL), 401);
}

/* Pruned events: a reader behind the horizon is told, not silently skipped. */
static void pruned_events_are_410(void **state)
{
    (void)state;
    create_substation(strf("events horizon %s", uniq()));
    long long top = newest(grid_url());
    PGconn *db = pg_admin(db_name_of("GRID_DATABASE_URL"));
    PGresult *was = pg_ok(db, "SELECT pruned_upto FROM events_horizon");
    long long before = atoll(PQgetvalue(was, 0, 0));
    pg_ok(db, strf("UPDATE events_horizon SET pruned_upto = %lld", top));
    api_resp *r = api_get(grid_url(), strf("/v1/events?after=%lld", top - 1), KEY_DISPATCH);
    api_resp *ok = api_get(grid_url(), strf("/v1/events?after=%lld", top), KEY_DISPATCH);
    pg_ok(db, strf("UPDATE events_horizon SET pruned_upto = %lld", before));
    assert_problem(r, 410);
    assert_int_equal(jint(r->json, "resume_after"), top);
    assert_status(ok, 200);
}

/* A daemon that keeps events for 0 hours prunes them all within its
 * interval, and readers from the start get 410. Runs last: it empties the
 * grid database's events. */
static void old_events_are_pruned(void **state)
{
    (void)state;
    create_substation(strf("events prune %s", uniq()));
    long long top = newest(grid_url());
    assert_true(top > 0);
    int port = free_port();
    setenv("EVENTS_KEEP_HOURS", "0", 1);
    setenv("EVENTS_PRUNE_S", "1", 1);
    it_extra[0] = start_daemon("grid", port, it_env("GRID_DATABASE_URL"), cust_url(),
                               strf("itest-events-prune-%d", port));
    unsetenv("EVENTS_KEEP_HOURS");
    unsetenv("EVENTS_PRUNE_S");
    assert_true(it_extra[0] > 0);
    const char *base = strf("http://127.0.0.1:%d", port);
    api_resp *r = NULL;
    for (int i = 0; i < 50; i++) {
        r = api_get(base, "/v1/events?after=0", KEY_DISPATCH);
        if (r->status == 410) break;
        sleep_ms(200);
    }
    assert_problem(r, 410);
    assert_true(jint(r->json, "resume_after") >= top);
    /* what comes after the horizon is still served */
    assert_status(api_get(base, strf("/v1/events?after=%lld", jint(r->json, "resume_after")),
                          KEY_DISPATCH),
                  200);
    assert_int_equal(daemon_stop(it_extra[0], 15), 0);
    it_extra[0] = -1;
}

int main(void)
{
    it_filter();
    srand((unsigned)(time(NULL) ^ getpid()));
    const struct CMUnitTest tests[] = {
        IT(a_write_is_an_event),
        IT(a_link_is_an_event),
        IT(a_refused_write_is_no_event),
        IT(types_filter_and_paging),
        IT(bad_parameters),
        IT(pruned_events_are_410),
        cmocka_unit_test_teardown(old_events_are_pruned, it_stop_extras),
    };
    return cmocka_run_group_tests(tests, it_group_setup, it_group_teardown);
}
