/* test_readings.c -- meter readings on cust-svc (DESIGN §11):
 *
 *   POST /v1/readings:import           NDJSON {"meter", "day", "kwh"} per line
 *   GET  /v1/meters/{code}/readings    ?from=&to=
 *
 * An import loads good lines and says how many were new and how many
 * replaced a stored day; the same meter and day twice in one file, a bad
 * value, an unknown or retired meter each reject their batch, naming the
 * line; months get their partitions; reads check their span; only
 * marketing (and admin) import; the readings reach datahub. And a check
 * metering point names no customer, while a billing one must. */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

#define NDJSON "application/x-ndjson"
#define CATCH_UP_S 120.0

/* ---- helpers ------------------------------------------------------------------------- */

/* The UTC date ago days before today, YYYY-MM-DD. */
static char *day_ago(int ago)
{
    time_t t = time(NULL) - (time_t)ago * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[16];
    strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return it_strdup(buf);
}

static char *new_meter(void)
{
    return mk(cust_url(), "meters", KEY_MARKETING, json_pack("{s:s}", "asset_no", uniq()));
}

/* One NDJSON line of a reading; kwh as given (a JSON text). */
static char *line(const char *meter, const char *day, const char *kwh)
{
    return strf("{\"meter\": \"%s\", \"day\": \"%s\", \"kwh\": %s}\n", meter, day, kwh);
}

static api_resp *import_as(const char *key, const char *query, const char *body)
{
    api_opts o = {.key = key, .content_type = NDJSON, .timeout_s = 60};
    return api_call("POST", strf("%s/v1/readings:import%s%s", cust_url(), query ? "?" : "",
                                 query ? query : ""),
                    &o, body, strlen(body));
}

static api_resp *import(const char *body)
{
    return import_as(KEY_MARKETING, NULL, body);
}

static api_resp *readings(const char *base, const char *meter, const char *query)
{
    return api_get(base, strf("/v1/meters/%s/readings%s%s", meter, query ? "?" : "",
                              query ? query : ""),
                   KEY_DISPATCH);
}

/* The items of a 200 read of meter. */
static json_t *items_of(const char *meter, const char *query)
{
    api_resp *r = readings(cust_url(), meter, query);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "meter"), meter);
    json_t *items = json_object_get(r->json, "items");
    assert_true(json_is_array(items));
    return items;
}

static void assert_item(const json_t *items, size_t i, const char *day, double kwh)
{
    json_t *it = json_array_get(items, i);
    assert_non_null(it);
    assert_string_equal(jstr(it, "day"), day);
    double got = json_number_value(json_object_get(it, "kwh"));
    if (got != kwh) fail_msg("item %zu (%s): kwh %.6f, want %.6f", i, day, got, kwh);
}

static long long member(const api_resp *r, const char *name)
{
    json_t *v = json_object_get(r->json, name);
    if (!json_is_integer(v)) {
        api_dump(r);
        fail_msg("%s: no integer %s", r->url, name);
    }
    return json_integer_value(v);
}

/* The message of the error on line n for field (NULL: any field); fails
 * the test when there is none. */
static const char *error_on(const api_resp *r, int n, const char *field)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r->json, "errors"), i, e) {
        if (jint(e, "line") != n) continue;
        if (field && strcmp(jstr(e, "field"), field) != 0) continue;
        return jstr(e, "message");
    }
    api_dump(r);
    fail_msg("no error on line %d for field %s", n, field ? field : "(any)");
    return NULL;
}

/* ---- the import ------------------------------------------------------------------------ */

static void imports_good_lines(void **state)
{
    (void)state;
    char *mt = new_meter();
    char *d3 = day_ago(3), *d2 = day_ago(2), *d1 = day_ago(1);
    /* out of order, one value with more than three decimals */
    char *body = strf("%s%s%s", line(mt, d2, "2"), line(mt, d3, "1.5"), line(mt, d1, "3.1235"));
    api_resp *r = import(body);
    assert_status(r, 200);
    assert_int_equal(member(r, "lines"), 3);
    assert_int_equal(member(r, "imported"), 3);
    assert_int_equal(member(r, "new"), 3);
    assert_int_equal(member(r, "replaced"), 0);
    assert_int_equal(member(r, "rejected"), 0);
    json_t *items = items_of(mt, NULL);
    assert_int_equal(json_array_size(items), 3);
    assert_item(items, 0, d3, 1.5);
    assert_item(items, 1, d2, 2);
    assert_item(items, 2, d1, 3.124); /* kept to the watt-hour, rounded */
    /* from and to bound the days */
    items = items_of(mt, strf("from=%s&to=%s", d2, d2));
    assert_int_equal(json_array_size(items), 1);
    assert_item(items, 0, d2, 2);
    /* one change per batch, in the meter's words */
    PGconn *db = pg_admin(db_name_of("CUST_DATABASE_URL"));
    const char *p[] = {mt};
    PGresult *res = PQexecParams(db, "SELECT app, after->>'count' FROM changes WHERE type = "
                                     "'reading.imported' AND code = $1",
                                 1, NULL, p, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(res), 1);
    assert_string_equal(PQgetvalue(res, 0, 0), "marketing");
    assert_string_equal(PQgetvalue(res, 0, 1), "3");
    PQclear(res);
    PGresult *by = pg_ok(db, strf("SELECT imported_by FROM readings WHERE meter = '%s'", mt));
    assert_string_equal(PQgetvalue(by, 0, 0), "marketing");
}

static void a_day_imported_again_is_replaced(void **state)
{
    (void)state;
    char *mt = new_meter();
    char *d5 = day_ago(5), *d4 = day_ago(4);
    assert_status(import(strf("%s%s", line(mt, d5, "10"), line(mt, d4, "11"))), 200);
    api_resp *r = import_as(KEY_ADMIN, NULL, strf("%s%s", line(mt, d4, "12.25"),
                                                  line(mt, day_ago(3), "13")));
    assert_status(r, 200);
    assert_int_equal(member(r, "imported"), 2);
    assert_int_equal(member(r, "new"), 1);
    assert_int_equal(member(r, "replaced"), 1);
    json_t *items = items_of(mt, NULL);
    assert_int_equal(json_array_size(items), 3);
    assert_item(items, 0, d5, 10);
    assert_item(items, 1, d4, 12.25);
    PGconn *db = pg_admin(db_name_of("CUST_DATABASE_URL"));
    PGresult *by = pg_ok(db, strf("SELECT imported_by FROM readings WHERE meter = '%s' AND "
                                  "day = '%s'", mt, d4));
    assert_string_equal(PQgetvalue(by, 0, 0), "admin");
}

static void the_same_day_twice_in_a_file_is_refused(void **state)
{
    (void)state;
    char *mt = new_meter(), *other = new_meter();
    char *d = day_ago(2);
    /* in one batch: the batch loads nothing */
    api_resp *r = import(strf("%s%s%s", line(mt, d, "1"), line(other, d, "2"), line(mt, d, "3")));
    assert_problem(r, 422);
    assert_int_equal(member(r, "imported"), 0);
    assert_int_equal(member(r, "rejected"), 3);
    assert_str_contains(error_on(r, 3, "day"), "line 1");
    assert_int_equal(json_array_size(json_object_get(r->json, "errors")), 1);
    assert_int_equal(json_array_size(items_of(mt, NULL)), 0);
    assert_int_equal(json_array_size(items_of(other, NULL)), 0);
    /* in another batch of the same import: still the second line's error */
    r = import_as(KEY_MARKETING, "batch=1", strf("%s\n%s", line(mt, d, "1"), line(mt, d, "3")));
    assert_problem(r, 422);
    assert_int_equal(member(r, "imported"), 1);
    assert_str_contains(error_on(r, 3, "day"), "line 1");
    json_t *items = items_of(mt, NULL);
    assert_int_equal(json_array_size(items), 1);
    assert_item(items, 0, d, 1);
}

static void bad_values_are_line_errors(void **state)
{
    (void)state;
    char *mt = new_meter();
    char *d = day_ago(1);
    struct {
        const char *text, *field, *says;
    } bad[] = {
        {line(mt, d, "-0.5"), "kwh", "negative"},
        {line(mt, d, "1000000.5"), "kwh", "1000000"},
        {line(mt, d, "\"12\""), "kwh", "number"},
        {line(mt, d, "null"), "kwh", "number"},
        {strf("{\"meter\": \"%s\", \"day\": \"%s\"}\n", mt, d), "kwh", "required"},
        {line(mt, "2023-02-29", "1"), "day", "calendar"},
        {line(mt, "2024-13-01", "1"), "day", "calendar"},
        {line(mt, "2024-1-05", "1"), "day", "calendar"},
        {line(mt, "1999-12-31", "1"), "day", "2000-01-01"},
        {line(mt, day_ago(-1), "1"), "day", "after today"},
        {strf("{\"meter\": \"%s\", \"day\": 20240105, \"kwh\": 1}\n", mt), "day", "calendar"},
        {line("MT-nonsense", d, "1"), "meter", "not a valid code"},
        {line(mint_code("CU"), d, "1"), "meter", "not a meter"},
        {strf("{\"day\": \"%s\", \"kwh\": 1}\n", d), "meter", "required"},
        {strf("{\"meter\": \"%s\", \"day\": \"%s\", \"kwh\": 1, \"unit\": \"kWh\"}\n", mt, d),
         "unit", "unknown field"},
    };
    int n = (int)(sizeof bad / sizeof *bad);
    char *body = it_strdup("");
    for (int i = 0; i < n; i++) body = strf("%s%s", body, bad[i].text);
    body = strf("%s%s", body, line(mt, day_ago(2), "7")); /* good, but in the bad batch */
    api_resp *r = import(body);
    assert_problem(r, 422);
    assert_int_equal(member(r, "lines"), n + 1);
    assert_int_equal(member(r, "imported"), 0);
    for (int i = 0; i < n; i++) assert_str_contains(error_on(r, i + 1, bad[i].field), bad[i].says);
    assert_int_equal(json_array_size(json_object_get(r->json, "errors")), n);
    assert_int_equal(json_array_size(items_of(mt, NULL)), 0);
    /* the largest and the smallest are kept */
    assert_status(import(strf("%s%s", line(mt, day_ago(3), "1000000"), line(mt, d, "0"))), 200);
    json_t *items = items_of(mt, NULL);
    assert_item(items, 0, day_ago(3), 1000000);
    assert_item(items, 1, d, 0);
}

static void meters_must_exist_and_be_in_service(void **state)
{
    (void)state;
    char *mt = new_meter(), *gone = new_meter(), *unknown = mint_code("MT");
    assert_status(api_delete(cust_url(), strf("/v1/meters/%s", gone), KEY_MARKETING), 200);
    char *d = day_ago(1);
    api_resp *r = import(strf("%s%s%s", line(mt, d, "1"), line(unknown, d, "2"), line(gone, d, "3")));
    assert_problem(r, 422);
    assert_int_equal(member(r, "imported"), 0);
    assert_int_equal(member(r, "rejected"), 3);
    error_on(r, 2, "meter");
    assert_str_contains(error_on(r, 3, "meter"), "retired");
    /* the batch failing loads nothing, not even the good line */
    assert_int_equal(json_array_size(items_of(mt, NULL)), 0);
    /* other batches load */
    r = import_as(KEY_MARKETING, "batch=1", strf("%s%s", line(mt, d, "1"), line(unknown, d, "2")));
    assert_problem(r, 422);
    assert_int_equal(member(r, "imported"), 1);
    assert_int_equal(member(r, "new"), 1);
    assert_int_equal(json_array_size(items_of(mt, NULL)), 1);
}

static void months_get_their_partitions(void **state)
{
    (void)state;
    char *mt = new_meter();
    assert_status(import(strf("%s%s%s", line(mt, "2021-01-31", "4"), line(mt, "2021-02-01", "5"),
                              line(mt, "2021-03-15", "6"))),
                  200);
    PGconn *db = pg_admin(db_name_of("CUST_DATABASE_URL"));
    PGresult *res = pg_ok(db, "SELECT count(*) FROM pg_inherits WHERE inhparent = "
                              "'readings'::regclass AND inhrelid::regclass::text IN "
                              "('readings_2021_01', 'readings_2021_02', 'readings_2021_03')");
    assert_string_equal(PQgetvalue(res, 0, 0), "3");
    res = pg_ok(db, strf("SELECT tableoid::regclass::text FROM readings WHERE meter = '%s' "
                         "ORDER BY day", mt));
    assert_int_equal(PQntuples(res), 3);
    assert_string_equal(PQgetvalue(res, 1, 0), "readings_2021_02");
    json_t *items = items_of(mt, "from=2021-01-01&to=2021-02-28");
    assert_int_equal(json_array_size(items), 2);
    assert_item(items, 0, "2021-01-31", 4);
    assert_item(items, 1, "2021-02-01", 5);
    /* a second import into the same months finds them */
    assert_status(import(line(mt, "2021-01-30", "3")), 200);
    assert_int_equal(json_array_size(items_of(mt, "from=2021-01-01&to=2021-12-31")), 4);
}

static void policy_imports_are_marketings(void **state)
{
    (void)state;
    char *mt = new_meter();
    const char *refused[] = {KEY_PRODUCTION, KEY_DISPATCH};
    for (int k = 0; k < 2; k++) {
        api_resp *r = import_as(refused[k], NULL, line(mt, day_ago(1), "1"));
        assert_problem(r, 403);
        assert_str_contains(jstr(r->json, "detail"), "marketing");
    }
    assert_int_equal(json_array_size(items_of(mt, NULL)), 0);
}

static void import_answers_as_the_others(void **state)
{
    (void)state;
    api_opts o = {.key = KEY_MARKETING, .content_type = "application/json"};
    char *mt = new_meter();
    const char *body = line(mt, day_ago(1), "1");
    assert_problem(api_call("POST", strf("%s/v1/readings:import", cust_url()), &o, body,
                            strlen(body)),
                   415);
    assert_problem(import_as(KEY_MARKETING, "batch=0", body), 400);
    assert_problem(import_as(KEY_MARKETING, "size=1", body), 400);
    assert_problem(import("\n\n"), 400);
    api_resp *r = import("not json\n");
    assert_problem(r, 422);
    error_on(r, 1, NULL);
}

/* ---- reads ---------------------------------------------------------------------------- */

static void reads_check_their_span(void **state)
{
    (void)state;
    char *mt = new_meter();
    /* a meter without readings */
    assert_int_equal(json_array_size(items_of(mt, NULL)), 0);
    assert_int_equal(json_array_size(items_of(mt, "from=2020-01-01&to=2020-12-31")), 0);
    assert_problem(readings(cust_url(), mt, "from=2024-02-02&to=2024-02-01"), 400);
    assert_problem(readings(cust_url(), mt, "from=2020-01-01&to=2021-01-01"), 400); /* 367 */
    assert_problem(readings(cust_url(), mt, "from=2020-01-01"), 400); /* to today */
    assert_problem(readings(cust_url(), mt, "from=2024-02-30"), 400);
    assert_problem(readings(cust_url(), mt, "to=yesterday"), 400);
    assert_problem(readings(cust_url(), mt, "day=2024-01-01"), 400);
    assert_problem(readings(cust_url(), mint_code("MT"), NULL), 404);
    assert_problem(readings(cust_url(), mint_code("CU"), NULL), 400);
    assert_problem(readings(cust_url(), "MT-nonsense", NULL), 400);
    /* read through grid-svc alike */
    assert_status(import(line(mt, day_ago(2), "8.5")), 200);
    api_resp *r = readings(grid_url(), mt, NULL);
    assert_status(r, 200);
    assert_int_equal(json_array_size(json_object_get(r->json, "items")), 1);
    assert_problem(readings(grid_url(), mint_code("MT"), NULL), 404);
}

/* Both platforms' /openapi.json describe the read's from and to, and the
 * import's batch. */
static void both_documents_describe_the_parameters(void **state)
{
    (void)state;
    const char *bases[] = {cust_url(), grid_url()};
    for (int i = 0; i < 2; i++) {
        api_resp *r = api_get(bases[i], "/openapi.json", KEY_DISPATCH);
        assert_status(r, 200);
        json_t *op = json_object_get(
            json_object_get(json_object_get(r->json, "paths"), "/v1/meters/{code}/readings"), "get");
        assert_non_null(op);
        char *names = it_strdup("");
        size_t k;
        json_t *p;
        json_array_foreach(json_object_get(op, "parameters"), k, p)
            names = strf("%s %s", names, jstr(p, "name"));
        assert_str_contains(names, " from");
        assert_str_contains(names, " to");
    }
    api_resp *r = api_get(cust_url(), "/openapi.json", KEY_DISPATCH);
    json_t *imp = json_object_get(
        json_object_get(json_object_get(r->json, "paths"), "/v1/readings:import"), "post");
    assert_non_null(imp);
    assert_string_equal(jstr(json_array_get(json_object_get(imp, "parameters"), 0), "name"),
                        "batch");
}

/* ---- datahub ------------------------------------------------------------------------------ */

static const char *datahub_db(void)
{
    const char *url = getenv("DATAHUB_DATABASE_URL");
    return url && *url ? db_name_of("DATAHUB_DATABASE_URL") : "datahub";
}

static void readings_reach_datahub(void **state)
{
    (void)state;
    char *mt = new_meter();
    char *d = day_ago(2);
    assert_status(import(strf("%s%s", line(mt, d, "21.5"), line(mt, "2021-06-30", "2"))), 200);
    assert_status(import(line(mt, d, "22.75")), 200); /* replaced there too */
    PGconn *db = pg_admin(datahub_db());
    const char *p[] = {mt};
    double t0 = now_s();
    for (;;) {
        PGresult *r = PQexecParams(db, "SELECT string_agg(day || '=' || kwh, ',' ORDER BY day) "
                                       "FROM readings WHERE meter = $1",
                                   1, NULL, p, NULL, NULL, 0);
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        char *got = it_strdup(PQgetvalue(r, 0, 0));
        PQclear(r);
        if (strcmp(got, strf("2021-06-30=2.000,%s=22.750", d)) == 0) break;
        if (now_s() - t0 > CATCH_UP_S)
            fail_msg("datahub has '%s' for %s after %.0f s", got, mt, CATCH_UP_S);
        sleep_ms(50);
    }
}

/* ---- check metering points ------------------------------------------------------------------ */

static void check_metering_points_name_no_customer(void **state)
{
    (void)state;
    char *mp = mk(cust_url(), "metering-points", KEY_MARKETING,
                  json_pack("{s:s, s:s}", "name", "考核表", "purpose", "check"));
    api_resp *got = api_get(cust_url(), strf("/v1/metering-points/%s", mp), KEY_DISPATCH);
    assert_status(got, 200);
    json_t *cu_of = json_object_get(got->json, "customer");
    assert_true(!cu_of || json_is_null(cu_of));
    const char *bodies[] = {"{\"purpose\": \"billing\"}", "{\"name\": \"no purpose\"}"};
    for (int i = 0; i < 2; i++) {
        api_resp *r = api_post(cust_url(), "/v1/metering-points", KEY_MARKETING, bodies[i]);
        assert_problem_field(r, 400, "customer");
        assert_str_contains(jstr(r->json, "detail"), "a billing metering point needs its customer");
    }
    /* nor may a check point become a billing one without a customer */
    api_resp *r = api_patch(cust_url(), strf("/v1/metering-points/%s", mp), KEY_MARKETING,
                            "{\"purpose\": \"billing\"}");
    assert_problem_field(r, 400, "customer");
    /* imported alike: the line is told in the same words */
    api_opts o = {.key = KEY_MARKETING, .content_type = NDJSON};
    const char *body = "{\"name\": \"考核表 2\", \"purpose\": \"check\"}\n"
                       "{\"name\": \"计费\", \"purpose\": \"billing\"}\n";
    r = api_call("POST", strf("%s/v1/metering-points:import", cust_url()), &o, body, strlen(body));
    assert_problem(r, 422);
    assert_string_equal(error_on(r, 2, "customer"), "a billing metering point needs its customer");
    assert_int_equal(member(r, "imported"), 0);
    body = "{\"name\": \"考核表 3\", \"purpose\": \"check\"}\n";
    r = api_call("POST", strf("%s/v1/metering-points:import", cust_url()), &o, body, strlen(body));
    assert_status(r, 200);
    assert_int_equal(member(r, "imported"), 1);
    /* a billing point with its customer, as before */
    char *cu = create_customer(strf("readings %s", uniq()), NULL);
    mk(cust_url(), "metering-points", KEY_MARKETING,
       json_pack("{s:s, s:s}", "customer", cu, "purpose", "billing"));
}

int main(void)
{
    it_filter();
    const struct CMUnitTest tests[] = {
        IT(imports_good_lines),
        IT(a_day_imported_again_is_replaced),
        IT(the_same_day_twice_in_a_file_is_refused),
        IT(bad_values_are_line_errors),
        IT(meters_must_exist_and_be_in_service),
        IT(months_get_their_partitions),
        IT(policy_imports_are_marketings),
        IT(import_answers_as_the_others),
        IT(reads_check_their_span),
        IT(both_documents_describe_the_parameters),
        IT(readings_reach_datahub),
        IT(check_metering_points_name_no_customer),
    };
    return cmocka_run_group_tests(tests, it_group_setup, it_group_teardown);
}
