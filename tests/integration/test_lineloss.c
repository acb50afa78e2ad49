/* test_lineloss.c -- line loss per transformer area and suspect
 * customer–transformer links (DESIGN §11), on cust-svc from datahub:
 *
 *   - five hand-made transformer areas on one line, their readings
 *     imported through POST /v1/readings:import: each area's input,
 *     billed, loss, rate and status to the watt-hour, for a day and for a
 *     span, and the line's totals of the areas whose readings are whole;
 *   - scopes (transformer, line, substation), pages that follow each other,
 *     bad input 400 and a scope that names nothing 404;
 *   - two hand-made areas of one substation, thirty days of readings, one
 *     customer recorded under the wrong one: the suspect links name it,
 *     with the area its consumption fits, and nobody else there;
 *   - a citygen city with readings and planted mislinks (citygen
 *     --readings --mislinks, truth in mislinks.ndjson), loaded through the
 *     import API: the suspect list finds at least 90 % of the mislinked
 *     customers, at a precision of at least 90 %, and names the area that
 *     really feeds at least 90 % of those it finds.
 *
 * LOSS_CUSTOMERS (default 20,000) and LOSS_MISLINKS (default 60) size the
 * city. Other suites' data share the databases: whole-city answers are
 * read only for the codes made here. */
#include "client.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "base/core.h"
#include "model/bizcode.h"

#define CATCH_UP_S 180.0
#define NAREAS 5
#define PER_AREA 3
#define SUS_DAYS 30
#define SUS_PER_AREA 6

static const char *datahub_db(void)
{
    const char *url = getenv("DATAHUB_DATABASE_URL");
    return url && *url ? db_name_of("DATAHUB_DATABASE_URL") : "datahub";
}

/* ---- building areas ----------------------------------------------------------------- */

/* Codes kept for the whole run (the hand-made line serves several tests),
 * so copied out of the per-test arena. */
typedef char code_buf[BIZCODE_LEN + 1];

typedef struct {
    code_buf tr, check; /* transformer, its check meter ("": none) */
    code_buf mt[SUS_PER_AREA], cu[SUS_PER_AREA];
    code_buf box;
} area;

static void keep(code_buf dst, const char *code)
{
    snprintf(dst, sizeof(code_buf), "%s", code);
}

static char *new_meter(void)
{
    return mk(cust_url(), "meters", KEY_MARKETING,
              json_pack("{s:s, s:s}", "asset_no", strf("LL%s", uniq()), "phase", "single"));
}

/* A customer billed by a meter in box; its meter's code. */
static char *customer_in(const char *box, code_buf cu_out)
{
    char *cu = create_customer(strf("loss %s", uniq()), create_address());
    char *mp = mk(cust_url(), "metering-points", KEY_MARKETING,
                  json_pack("{s:s, s:s}", "name", "MP", "customer", cu));
    char *mt = new_meter();
    link_admin(cust_url(), "meter-meterbox", mt, box);
    link_admin(cust_url(), "meter-meteringpoint", mt, mp);
    keep(cu_out, cu);
    return mt;
}

/* The check metering 考核 of tr: a point of purpose check with no
 * customer, its meter, and the transformer's equipment-meteringpoint link. */
static char *check_meter(const char *tr)
{
    char *mp = mk(cust_url(), "metering-points", KEY_MARKETING,
                  json_pack("{s:s, s:s}", "name", "考核计量点", "purpose", "check"));
    char *mt = new_meter();
    link_admin(cust_url(), "meter-meteringpoint", mt, mp);
    link_admin(grid_url(), "equipment-meteringpoint", tr, mp);
    return mt;
}

static void new_area(area *a, const char *ln, int customers, int checked)
{
    keep(a->tr, mk(grid_url(), "transformers", KEY_PRODUCTION,
                   json_pack("{s:s, s:s, s:f, s:f}", "name", strf("loss TR %s", uniq()), "kind",
                             "public", "capacity_kva", 400.0, "voltage_kv", 10.0)));
    link_admin(grid_url(), "line-transformer", ln, a->tr);
    char *ap = mk(grid_url(), "access-points", KEY_PRODUCTION,
                  json_pack("{s:s}", "name", strf("loss AP %s", uniq())));
    keep(a->box, mk(cust_url(), "meter-boxes", KEY_MARKETING,
                    json_pack("{s:s}", "name", strf("loss box %s", uniq()))));
    link_admin(grid_url(), "accesspoint-transformer", ap, a->tr);
    link_admin(grid_url(), "accesspoint-meterbox", ap, a->box);
    for (int i = 0; i < customers; i++) keep(a->mt[i], customer_in(a->box, a->cu[i]));
    keep(a->check, checked ? check_meter(a->tr) : "");
}

/* A substation with one line: the line's code, the substation's in *ss. */
static char *new_feeder(char **ss)
{
    *ss = create_substation(strf("loss SS %s", uniq()));
    char *ln = create_line(KEY_PRODUCTION, strf("loss LN %s", uniq()), "public", 10);
    assert_status(api_post(grid_url(), "/v1/relations/substation-line", KEY_ADMIN,
                           jdump(json_pack("{s:s, s:s, s:s}", "from", *ss, "to", ln, "role",
                                           "source"))),
                  201);
    return ln;
}

/* ---- readings ----------------------------------------------------------------------- */

static void add_reading(sbuf *b, const char *meter, const char *day, double kwh)
{
    sb_appendf(b, "{\"meter\":\"%s\",\"day\":\"%s\",\"kwh\":%.3f}\n", meter, day, kwh);
}

/* Imports the lines, then waits until datahub has the last of them:
 * replication applies cust-svc's commits in order. */
static void import_readings(sbuf *b, const char *last_meter, const char *last_day)
{
    api_opts o = {.key = KEY_MARKETING, .content_type = "application/x-ndjson", .timeout_s = 600};
    api_resp *r = api_call("POST", strf("%s/v1/readings:import", cust_url()), &o, b->s, b->len);
    if (r->status != 200) api_dump(r);
    assert_int_equal(r->status, 200);
    sb_free(b);
    PGconn *db = pg_admin(datahub_db());
    const char *p[] = {last_meter, last_day};
    double t0 = now_s();
    for (;;) {
        PGresult *q = PQexecParams(db, "SELECT 1 FROM readings WHERE meter = $1 AND day = $2", 2,
                                   NULL, p, NULL, NULL, 0);
        int there = PQresultStatus(q) == PGRES_TUPLES_OK && PQntuples(q) == 1;
        PQclear(q);
        if (there) return;
        if (now_s() - t0 > CATCH_UP_S)
            fail_msg("datahub did not receive the readings within %.0f s", CATCH_UP_S);
        sleep_ms(50);
    }
}

static api_resp *ask(const char *route, const char *query)
{
    api_opts o = {.key = KEY_DISPATCH, .timeout_s = 300};
    return api_call("GET", strf("%s/v1/reports/%s?%s", cust_url(), route, query), &o, NULL, 0);
}

static json_t *item_of(const api_resp *r, const char *key, const char *code)
{
    json_t *items = json_object_get(r->json, "items"), *it;
    size_t i;
    json_array_foreach(items, i, it) if (strcmp(jstr(it, key), code) == 0) return it;
    return NULL;
}

static double num(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v)) fail_msg("%s is not a number: %s", key, jdump((json_t *)o));
    return json_number_value(v);
}

static void near(double got, double want, const char *what)
{
    if (fabs(got - want) > 5e-4) fail_msg("%s: %.4f, want %.4f", what, got, want);
}

/* ---- the hand-made line --------------------------------------------------------------- */

/* A: normal; B: negative; C: high; D: no check meter; E: a customer
 * without a reading. Day 2026-11-02 for all; 2026-11-03 for A only. */
typedef struct {
    code_buf ss, ln;
    area a[NAREAS];
} line_state;

static line_state hand;
static int hand_made;

static const double day2[NAREAS][PER_AREA + 1] = {
    /* check, then the customers; -1: no reading */
    {37.000, 10.500, 20.250, 5.125}, /* A: 35.875 billed, 1.125 lost, 0.0304 */
    {10.000, 6.000, 5.000, -1},      /* B: two customers, 11 billed, -1 */
    {20.000, 8.000, 9.000, -1},      /* C: 17 billed, 3 lost, 0.15 */
    {-1, 4.000, 4.000, -1},          /* D: no check meter */
    {10.000, 4.000, -1, -1},         /* E: the second customer has no reading */
};
static const int customers_of[NAREAS] = {3, 2, 2, 2, 2};

static void the_line(void)
{
    if (hand_made) return;
    char *ss;
    keep(hand.ln, new_feeder(&ss));
    keep(hand.ss, ss);
    for (int i = 0; i < NAREAS; i++) new_area(&hand.a[i], hand.ln, customers_of[i], i != 3);
    sbuf b = {0};
    for (int i = 0; i < NAREAS; i++) {
        if (hand.a[i].check[0]) add_reading(&b, hand.a[i].check, "2026-11-02", day2[i][0]);
        for (int c = 0; c < customers_of[i]; c++)
            if (day2[i][c + 1] >= 0) add_reading(&b, hand.a[i].mt[c], "2026-11-02", day2[i][c + 1]);
    }
    /* A again on the 3rd, a little more lost. */
    add_reading(&b, hand.a[0].mt[0], "2026-11-03", 11.000);
    add_reading(&b, hand.a[0].mt[1], "2026-11-03", 20.000);
    add_reading(&b, hand.a[0].mt[2], "2026-11-03", 4.875);
    add_reading(&b, hand.a[0].check, "2026-11-03", 37.000);
    import_readings(&b, hand.a[0].check, "2026-11-03");
    hand_made = 1;
}

static void check_area(const api_resp *r, int i, const char *status, double input, double billed)
{
    json_t *it = item_of(r, "transformer", hand.a[i].tr);
    if (!it) fail_msg("area %d (%s) is not listed", i, hand.a[i].tr);
    assert_string_equal(jstr(it, "status"), status);
    near(num(it, "billed_kwh"), billed, "billed_kwh");
    if (input < 0) {
        assert_true(json_is_null(json_object_get(it, "input_kwh")));
        assert_true(json_is_null(json_object_get(it, "loss_kwh")));
        assert_true(json_is_null(json_object_get(it, "loss_rate")));
        return;
    }
    near(num(it, "input_kwh"), input, "input_kwh");
    near(num(it, "loss_kwh"), input - billed, "loss_kwh");
    near(num(it, "loss_rate"), round((input - billed) / input * 10000) / 10000, "loss_rate");
}

static void a_day_of_each_area_to_the_watt_hour(void **state)
{
    (void)state;
    the_line();
    api_resp *r = ask("line-loss", strf("day=2026-11-02&line=%s", hand.ln));
    assert_status(r, 200);
    assert_int_equal(json_array_size(json_object_get(r->json, "items")), NAREAS);
    check_area(r, 0, "normal", 37.0, 35.875);
    check_area(r, 1, "negative", 10.0, 11.0);
    check_area(r, 2, "high", 20.0, 17.0);
    check_area(r, 3, "no_check_reading", -1, 8.0);
    check_area(r, 4, "incomplete_readings", 10.0, 4.0);
    json_t *e = item_of(r, "transformer", hand.a[4].tr);
    assert_int_equal(jint(e, "missing_readings"), 1);
    assert_int_equal(jint(e, "meters"), 2);
    assert_int_equal(jint(e, "days"), 1);
    /* The line's totals: the areas whose readings are whole (A, B, C). */
    json_t *t = json_object_get(r->json, "totals");
    assert_int_equal(jint(t, "areas"), NAREAS);
    assert_int_equal(jint(t, "counted"), 3);
    near(num(t, "input_kwh"), 67.0, "totals.input_kwh");
    near(num(t, "billed_kwh"), 63.875, "totals.billed_kwh");
    near(num(t, "loss_kwh"), 3.125, "totals.loss_kwh");
    near(num(t, "loss_rate"), 0.0466, "totals.loss_rate");
    json_t *by = json_object_get(t, "by_status");
    const char *statuses[] = {"normal", "negative", "high", "no_check_reading",
                              "incomplete_readings"};
    for (size_t i = 0; i < ARRAY_LEN(statuses); i++) assert_int_equal(jint(by, statuses[i]), 1);
    json_t *period = json_object_get(r->json, "period");
    assert_string_equal(jstr(period, "from"), "2026-11-02");
    assert_string_equal(jstr(period, "to"), "2026-11-02");
}

static void a_span_adds_its_days(void **state)
{
    (void)state;
    the_line();
    api_resp *r = ask("line-loss", strf("from=2026-11-02&to=2026-11-03&line=%s", hand.ln));
    assert_status(r, 200);
    check_area(r, 0, "normal", 74.0, 71.75);
    /* B read on the 2nd only: its check meter missed a day. */
    check_area(r, 1, "no_check_reading", -1, 11.0);
    json_t *a = item_of(r, "transformer", hand.a[0].tr);
    assert_int_equal(jint(a, "days"), 2);
    assert_int_equal(jint(a, "missing_readings"), 0);
    /* A day with no readings at all: every area with a check meter lacks it. */
    r = ask("line-loss", strf("day=2026-11-04&line=%s", hand.ln));
    assert_status(r, 200);
    assert_int_equal(jint(json_object_get(json_object_get(r->json, "totals"), "by_status"),
                          "no_check_reading"),
                     NAREAS);
}

static void scopes_and_pages(void **state)
{
    (void)state;
    the_line();
    api_resp *r = ask("line-loss", strf("day=2026-11-02&transformer=%s", hand.a[2].tr));
    assert_status(r, 200);
    assert_int_equal(json_array_size(json_object_get(r->json, "items")), 1);
    check_area(r, 2, "high", 20.0, 17.0);
    r = ask("line-loss", strf("day=2026-11-02&substation=%s", hand.ss));
    assert_status(r, 200);
    assert_int_equal(json_array_size(json_object_get(r->json, "items")), NAREAS);
    /* Pages of two: each area once, in code order. */
    json_t *seen = jkeep(json_object());
    const char *after = NULL, *last = "";
    for (int page = 0; page < 5; page++) {
        r = ask("line-loss", strf("day=2026-11-02&line=%s&limit=2%s%s", hand.ln,
                                  after ? "&after=" : "", after ? after : ""));
        assert_status(r, 200);
        json_t *it;
        size_t i;
        json_array_foreach(json_object_get(r->json, "items"), i, it) {
            const char *tr = jstr(it, "transformer");
            assert_true(strcmp(tr, last) > 0);
            last = it_strdup(tr);
            assert_null(json_object_get(seen, tr));
            json_object_set_new(seen, tr, json_true());
        }
        json_t *next = json_object_get(r->json, "next");
        if (json_is_null(next)) break;
        after = it_strdup(json_string_value(next));
    }
    assert_int_equal(json_object_size(seen), NAREAS);
}

static void bad_questions_are_refused(void **state)
{
    (void)state;
    the_line();
    const char *bad[] = {
        "",                                    /* no day */
        "day=2026-11-02&from=2026-11-01&to=2026-11-03",
        "from=2026-11-01",                     /* to missing */
        "from=2026-11-03&to=2026-11-01",       /* backwards */
        "from=2025-01-01&to=2026-01-02",       /* 367 days */
        "day=2026-02-30",
        "day=yesterday",
        "day=2026-11-02&colour=red",
        "day=2026-11-02&day=2026-11-03",
        strf("day=2026-11-02&line=%s&substation=%s", hand.ln, hand.ss),
        strf("day=2026-11-02&transformer=%s", hand.ln), /* a line's code */
        "day=2026-11-02&after=nonsense",
        "day=2026-11-02&limit=0",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        api_resp *r = ask("line-loss", bad[i]);
        if (!it_is_problem(r, 400)) fail_msg("line-loss?%s: %ld, not 400", bad[i], r->status);
    }
    assert_true(it_is_problem(ask("line-loss", strf("day=2026-11-02&line=%s", mint_code("LN"))),
                              404));
    const char *bad_sus[] = {
        "from=2026-11-01&to=2026-11-03", /* too short */
        "day=2026-11-02",                /* a span is needed */
        "from=2026-11-01&to=2026-11-30&line=x",
        "from=2026-11-01&to=2026-11-30&after=TR-1",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad_sus); i++) {
        api_resp *r = ask("suspect-links", bad_sus[i]);
        if (!it_is_problem(r, 400))
            fail_msg("suspect-links?%s: %ld, not 400", bad_sus[i], r->status);
    }
    assert_true(it_is_problem(
        ask("suspect-links", strf("from=2026-11-01&to=2026-11-30&substation=%s",
                                  mint_code("SS"))),
        404));
}

/* ---- a hand-made mislink -------------------------------------------------------------- */

/* A deterministic day's consumption: a base of its own, moved every day. */
static double consumption(unsigned seed, int customer, int day)
{
    unsigned h = seed * 2654435761u ^ (unsigned)customer * 40503u ^ (unsigned)day * 9973u;
    h ^= h >> 13;
    h *= 0x5bd1e995u;
    h ^= h >> 15;
    double noise = (double)(h % 1000) / 1000.0; /* 0 .. 1 */
    return round((3.0 + customer % 5 * 2.0) * (0.6 + 0.8 * noise) * 100) / 100;
}

static void a_misplaced_customer_is_named_with_its_area(void **state)
{
    (void)state;
    char *ss, *ln = new_feeder(&ss);
    area x, y;
    new_area(&x, ln, SUS_PER_AREA, 1);
    new_area(&y, ln, SUS_PER_AREA, 1);
    /* x's customer 2 is fed from y: billed in x, measured by y's check meter. */
    unsigned seed = (unsigned)rand();
    sbuf b = {0};
    for (int d = 0; d < SUS_DAYS; d++) {
        char *day = strf("2026-10-%02d", d + 1);
        double in_x = 0, in_y = 0;
        for (int i = 0; i < SUS_PER_AREA; i++) {
            double cx = consumption(seed, i, d), cy = consumption(seed, 100 + i, d);
            add_reading(&b, x.mt[i], day, cx);
            add_reading(&b, y.mt[i], day, cy);
            if (i == 2) in_y += cx;
            else in_x += cx;
            in_y += cy;
        }
        add_reading(&b, x.check, day, round(in_x * 1.03 * 1000) / 1000);
        add_reading(&b, y.check, day, round(in_y * 1.045 * 1000) / 1000);
    }
    import_readings(&b, y.check, "2026-10-30");
    api_resp *r = ask("suspect-links", strf("from=2026-10-01&to=2026-10-30&substation=%s", ss));
    assert_status(r, 200);
    json_t *items = json_object_get(r->json, "items");
    if (json_array_size(items) != 1) api_dump(r);
    assert_int_equal(json_array_size(items), 1);
    json_t *it = json_array_get(items, 0);
    assert_string_equal(jstr(it, "customer"), x.cu[2]);
    assert_string_equal(jstr(it, "linked_transformer"), x.tr);
    assert_string_equal(jstr(it, "fits_transformer"), y.tr);
    /* The evidence of both areas, e^12 to 1 at least, to be listed. */
    assert_true(num(it, "score") >= 12.0);
    /* The areas' loss shows it too: x lost less than nothing. */
    r = ask("line-loss", strf("from=2026-10-01&to=2026-10-30&line=%s", ln));
    assert_status(r, 200);
    assert_string_equal(jstr(item_of(r, "transformer", x.tr), "status"), "negative");
}

/* ---- a citygen city with planted mislinks ----------------------------------------------- */

static long long env_count(const char *name, long long dflt)
{
    const char *v = getenv(name);
    return v && *v ? atoll(v) : dflt;
}

static void run(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0) fail_msg("'%s' failed (status %d)", cmd, rc);
}

static json_t *read_ndjson(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("cannot read %s", path);
    json_t *all = jkeep(json_array());
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        if (o) json_array_append_new(all, o);
    }
    free(line);
    fclose(f);
    return all;
}

/* The last line of a file: the readings' last, which datahub is waited for. */
static json_t *last_line(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("cannot read %s", path);
    char *line = NULL, *last = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        free(last);
        last = strdup(line);
    }
    free(line);
    fclose(f);
    json_t *o = last ? json_loads(last, 0, NULL) : NULL;
    free(last);
    if (!o) fail_msg("%s has no last line", path);
    return jkeep(o);
}

static void planted_mislinks_are_found(void **state)
{
    (void)state;
    long long customers = env_count("LOSS_CUSTOMERS", 20000);
    long long mislinks = env_count("LOSS_MISLINKS", 60);
    char tmpl[] = "/tmp/yingpei-loss-city.XXXXXX";
    if (!mkdtemp(tmpl)) fail_msg("mkdtemp failed");
    char *dir = it_strdup(tmpl);
    int seed = 1000 + rand() % 9000;
    run(strf("'%s/citygen' --customers %lld --seed %d --readings 30 --mislinks %lld "
             "--out '%s/city' >/dev/null",
             it_env("BIN_DIR"), customers, seed, mislinks, dir));
    double t0 = now_s();
    run(strf("'%s/scripts/cityload.sh' '%s/city' >'%s/cityload.log' 2>&1", it_env("REPO_ROOT"),
             dir, dir));
    double load_s = now_s() - t0;
    json_t *last = last_line(strf("%s/city/cust/readings.ndjson", dir));
    PGconn *db = pg_admin(datahub_db());
    const char *p[] = {jstr(last, "meter"), jstr(last, "day")};
    for (t0 = now_s();;) {
        PGresult *q = PQexecParams(db, "SELECT 1 FROM readings WHERE meter = $1 AND day = $2", 2,
                                   NULL, p, NULL, NULL, 0);
        int there = PQresultStatus(q) == PGRES_TUPLES_OK && PQntuples(q) == 1;
        PQclear(q);
        if (there) break;
        if (now_s() - t0 > CATCH_UP_S) fail_msg("datahub did not receive the city's readings");
        sleep_ms(100);
    }

    json_t *truth = read_ndjson(strf("%s/city/mislinks.ndjson", dir));
    json_t *city = jkeep(json_object()), *planted = jkeep(json_object()), *o;
    size_t i;
    json_t *city_customers = read_ndjson(strf("%s/city/cust/customers.ndjson", dir));
    json_array_foreach(city_customers, i, o)
        json_object_set_new(city, jstr(o, "code"), json_true());
    json_array_foreach(truth, i, o) json_object_set(planted, jstr(o, "customer"), o);
    assert_int_equal(json_array_size(truth), mislinks);

    t0 = now_s();
    api_resp *r = ask("suspect-links", "from=2026-11-01&to=2026-11-30&limit=1000");
    double ask_s = now_s() - t0;
    assert_status(r, 200);
    long long listed = 0, right = 0, right_area = 0;
    json_t *it;
    json_array_foreach(json_object_get(r->json, "items"), i, it) {
        const char *cu = jstr(it, "customer");
        if (!json_object_get(city, cu)) continue; /* another suite's */
        listed++;
        json_t *t = json_object_get(planted, cu);
        if (!t) continue;
        right++;
        assert_string_equal(jstr(it, "linked_transformer"), jstr(t, "recorded_transformer"));
        if (strcmp(jstr(it, "fits_transformer"), jstr(t, "true_transformer")) == 0) right_area++;
    }
    double recall = (double)right / (double)mislinks;
    double precision = listed ? (double)right / (double)listed : 0;
    double areas_right = right ? (double)right_area / (double)right : 0;
    fprintf(stderr, "# city of %lld customers, %lld mislinks (seed %d): loaded in %.1f s; "
                    "suspects in %.2f s: %lld listed, %lld planted, %lld with the right area; "
                    "recall %.3f, precision %.3f\n",
            customers, mislinks, seed, load_s, ask_s, listed, right, right_area, recall,
            precision);
    if (recall < 0.9 || precision < 0.9 || areas_right < 0.9) {
        json_array_foreach(truth, i, o) {
            json_t *hit = item_of(r, "customer", jstr(o, "customer"));
            if (!hit) fprintf(stderr, "#   missed %s\n", jdump(o));
        }
        fail_msg("recall %.3f, precision %.3f, right areas %.3f: each must be 0.9 at least",
                 recall, precision, areas_right);
    }
    run(strf("rm -rf '%s'", dir));
}

int main(void)
{
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    it_filter();
    const struct CMUnitTest tests[] = {
        IT(a_day_of_each_area_to_the_watt_hour),
        IT(a_span_adds_its_days),
        IT(scopes_and_pages),
        IT(bad_questions_are_refused),
        IT(a_misplaced_customer_is_named_with_its_area),
        IT(planted_mislinks_are_found),
    };
    return cmocka_run_group_tests(tests, it_group_setup, it_group_teardown);
}
