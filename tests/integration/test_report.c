/* test_report.c -- the data middle platform (datahub) and the integration
 * report 营配贯通率, GET /v1/reports/integration on cust-svc:
 *
 *   - each platform publishes exactly the tables it declares, and datahub
 *     follows a write on either within seconds;
 *   - a citygen city with --faults F planted (F of every kind, at known
 *     codes, listed in faults.ndjson) is loaded through the import API,
 *     with the faults the API refuses (retired customers, codes that name
 *     nothing) applied as a legacy system would; once datahub has caught up
 *     (bounded), the report finds exactly the planted faults of the city,
 *     kind by kind, and nothing else of it;
 *   - customer totals and rates, for the whole city (as the difference the
 *     city made) and scoped by substation, line and transformer, agree with
 *     the city's own files walked here, independently of the views;
 *   - scoped lists hold the faults placed in the scope, pages follow each
 *     other without loss or repetition, bad input is 400 (404 for a scope
 *     that names nothing), and without datahub the route answers 503;
 *   - the rates by level (/v1/reports/integration/rates), for the whole
 *     city and within a substation or a line, agree with the city's files
 *     object by object and with each sampled object's own report.
 *
 * The city has REPORT_CUSTOMERS customers (default 100,000) and
 * REPORT_FAULTS faults of each kind (default 10). The databases hold what
 * the other suites wrote too: only what concerns the city's codes is
 * compared, and whole-city figures as differences.
 *
 * One file, though long: the city takes most of a minute to load and
 * nearly every test here reads it. */
#include "client.h"

#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cust.h"
#include "grid.h"
#include "engine/resource.h"

#define PAGE_MAX 1000
#define CATCH_UP_S 120.0 /* the most a catch-up may take before a test fails */
#define CHANGE_S 10.0    /* the most a single change may take to show */

static const char *const kinds[] = {
    "customer_without_metering_point", "customer_without_supply_point",
    "metering_point_without_meter", "meter_without_box", "box_without_access_point",
    "access_point_without_transformer_area", "transformer_without_line",
    "line_without_substation", "supply_point_without_equipment",
    "dedicated_transformer_without_customer", "dangling_code", "retired_but_linked",
};
#define NKINDS (sizeof kinds / sizeof *kinds)

/* ---- datahub ------------------------------------------------------------------------ */

static const char *datahub_db(void)
{
    const char *url = getenv("DATAHUB_DATABASE_URL");
    return url && *url ? db_name_of("DATAHUB_DATABASE_URL") : "datahub";
}

/* The whole city's report may take seconds on a busy machine: the server's
 * own statement timeout (503) comes first. */
static api_resp *report(const char *query)
{
    api_opts o = {.key = KEY_DISPATCH, .timeout_s = 120};
    return api_call("GET", strf("%s/v1/reports/integration%s%s", cust_url(), query ? "?" : "",
                                query ? query : ""),
                    &o, NULL, 0);
}

static int datahub_has(PGconn *db, const char *table, const char *code)
{
    const char *p[] = {code};
    PGresult *r = PQexecParams(db, strf("SELECT 1 FROM %s WHERE code = $1", table), 1, NULL, p,
                               NULL, NULL, 0);
    int yes = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    PQclear(r);
    return yes;
}

static int copying(PGconn *db)
{
    PGresult *r = PQexec(db, "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'");
    int n = PQresultStatus(r) == PGRES_TUPLES_OK ? atoi(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return n;
}

/* Writes a marker on each platform (objects no report counts: a substation
 * and an address) and waits until datahub has both, and no table is in its
 * first copy. Replication applies each platform's commits in order, so
 * everything written before is there too. Seconds taken; fails past
 * limit_s. */
static double catch_up(double limit_s)
{
    PGconn *db = pg_admin(datahub_db());
    char *ss = create_substation(strf("marker %s", uniq()));
    char *ad = create_address();
    double t0 = now_s();
    while (!(datahub_has(db, "substations", ss) && datahub_has(db, "addresses", ad) &&
             copying(db) == 0)) {
        if (now_s() - t0 > limit_s)
            fail_msg("datahub did not catch up within %.0f s (markers %s, %s)", limit_s, ss, ad);
        sleep_ms(20);
    }
    return now_s() - t0;
}

/* ---- the city ------------------------------------------------------------------------- */

/* What the city is, read from its files; outside the per-test arena, as it
 * lives for the whole run (freed by the group teardown). */
typedef struct {
    int tried, loaded;
    char *dir;
    long long customers, faults_per_kind;
    json_t *faults;  /* faults.ndjson as an array */
    json_t *codes;   /* every code of the city, and those its faults name: a set */
    json_t *retired; /* customers retired after the load: a set */
    json_t *cat;     /* customer -> category */
    json_t *mps;     /* customer -> [metering points]: where a low-voltage chain starts */
    json_t *sps;     /* customer -> [supply points]: where a high-voltage one does */
    json_t *up;      /* one step up the chain: MP->MT, MT->MB, MB->AP, AP->TR, TR->LN, LN->SS, SP->EQ */
    json_t *before;  /* the whole report's by_kind and customers before the city */
    json_t *after;   /* and once the city was in */
    double load_s, catch_up_s;
} city_state;

static city_state city;

static void add_code(const char *code)
{
    if (code) json_object_set_new(city.codes, code, json_true());
}

/* Calls fn for each object of an NDJSON file of the city. */
static void each_line(const char *rel, void (*fn)(json_t *o))
{
    char *path = strf("%s/%s", city.dir, rel);
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("cannot read %s", path);
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        if (!o) {
            free(line);
            fclose(f);
            fail_msg("%s: a line that is not JSON", path);
        }
        fn(o);
        json_decref(o);
    }
    free(line);
    fclose(f);
}

static void object_line(json_t *o)
{
    add_code(jstr(o, "code"));
}

static void customer_line(json_t *o)
{
    json_object_set_new(city.cat, jstr(o, "code"), json_string(jstr(o, "category")));
}

static void add_start(json_t *map, json_t *o)
{
    const char *cu = jstr(o, "customer");
    json_t *list = json_object_get(map, cu);
    if (!list) json_object_set_new(map, cu, list = json_array());
    json_array_append_new(list, json_string(jstr(o, "code")));
}

static void mp_line(json_t *o)
{
    add_start(city.mps, o);
}

static void sp_line(json_t *o)
{
    add_start(city.sps, o);
}

static json_t *starts_of(const char *cu)
{
    int hv = strcmp(json_string_value(json_object_get(city.cat, cu)), "hv") == 0;
    return json_object_get(hv ? city.sps : city.mps, cu);
}

/* Links up the chain: from the lower end to the upper one. */
static void up_from_line(json_t *o)
{
    json_object_set_new(city.up, jstr(o, "from"), json_string(jstr(o, "to")));
}

static void up_to_line(json_t *o)
{
    json_object_set_new(city.up, jstr(o, "to"), json_string(jstr(o, "from")));
}

static void read_city(void)
{
    static const char *const collections[] = {
        "grid/substations.ndjson", "grid/lines.ndjson", "grid/transformers.ndjson",
        "grid/poles.ndjson", "grid/access_points.ndjson", "cust/customers.ndjson",
        "cust/supply_points.ndjson", "cust/metering_points.ndjson", "cust/meter_boxes.ndjson",
        "cust/meters.ndjson", "cust/transformer_billings.ndjson", "cust/line_billings.ndjson",
        "cust/backup_generators.ndjson", "cust/power_plants.ndjson",
        "cust/generating_units.ndjson", "cust/charging_piles.ndjson",
    };
    for (size_t i = 0; i < sizeof collections / sizeof *collections; i++)
        each_line(collections[i], object_line);
    each_line("cust/customers.ndjson", customer_line);
    each_line("cust/metering_points.ndjson", mp_line);
    each_line("cust/supply_points.ndjson", sp_line);
    /* from is the lower end of these ... */
    each_line("cust/rel/meter-meterbox.ndjson", up_from_line);
    each_line("grid/rel/accesspoint-transformer.ndjson", up_from_line);
    /* ... and to of these. */
    each_line("cust/rel/meter-meteringpoint.ndjson", up_to_line);
    each_line("grid/rel/accesspoint-meterbox.ndjson", up_to_line);
    each_line("grid/rel/line-transformer.ndjson", up_to_line);
    each_line("grid/rel/substation-line.ndjson", up_to_line);
    each_line("grid/rel/equipment-supplypoint.ndjson", up_to_line);

    city.faults = json_array();
    char *path = strf("%s/faults.ndjson", city.dir);
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("citygen wrote no %s", path);
    json_error_t err;
    json_t *o;
    while ((o = json_loadf(f, JSON_DISABLE_EOF_CHECK, &err))) {
        add_code(jstr(o, "code"));
        add_code(json_string_value(json_object_get(o, "other")));
        json_array_append_new(city.faults, o);
    }
    fclose(f);
}

/* The chain of one start, walked up the city's files: what it reaches. */
typedef struct {
    const char *tr, *ln, *ss;
} reach;

static const char *up_of(const char *code)
{
    return code ? json_string_value(json_object_get(city.up, code)) : NULL;
}

static reach walk(const char *start)
{
    reach r = {NULL, NULL, NULL};
    const char *at = start;
    if (strncmp(start, "MP-", 3) == 0) at = up_of(up_of(up_of(up_of(start)))); /* MT, MB, AP, TR */
    else at = up_of(start);                                                    /* the equipment */
    if (at && strncmp(at, "SS-", 3) == 0) {
        r.ss = at;
        return r;
    }
    if (at && strncmp(at, "TR-", 3) == 0) {
        r.tr = at;
        at = up_of(at);
    }
    r.ln = at;
    r.ss = up_of(r.ln);
    return r;
}

/* Active customers of the city whose chains pass through code (NULL: all of
 * them), and how many of those have every chain reach a substation. */
static void expected(const char *code, long long *active, long long *complete)
{
    *active = *complete = 0;
    const char *cu;
    json_t *category;
    json_object_foreach(city.cat, cu, category) {
        if (json_object_get(city.retired, cu)) continue;
        json_t *starts = starts_of(cu);
        int in = code == NULL, whole = json_array_size(starts) > 0;
        size_t i;
        json_t *s;
        json_array_foreach(starts, i, s) {
            reach r = walk(json_string_value(s));
            whole = whole && r.ss;
            if (code && ((r.tr && !strcmp(r.tr, code)) || (r.ln && !strcmp(r.ln, code)) ||
                         (r.ss && !strcmp(r.ss, code))))
                in = 1;
        }
        if (!in) continue;
        (*active)++;
        if (whole) (*complete)++;
    }
}

/* ---- loading it --------------------------------------------------------------------------- */

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

static void apply_legacy(const char *platform, const char *url_var)
{
    char *path = strf("%s/legacy/%s.sql", city.dir, platform);
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("citygen wrote no %s", path);
    char *sql = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&sql, &len);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, mem);
    fclose(f);
    fclose(mem);
    it_track(sql, free);
    pg_ok(pg_admin(db_name_of(url_var)), sql);
}

/* The table of a cust-svc collection, from its declaration. */
static const char *cust_table(const char *collection)
{
    const biz_type *bt = biz_type_by_collection(collection);
    for (int i = 0; bt && i < cust_ncollections; i++)
        if (strcmp(cust_collections[i].prefix, bt->prefix) == 0) return cust_collections[i].table;
    fail_msg("retire.tsv names %s, which cust-svc does not keep", collection);
    return NULL;
}

/* Retired while still linked on grid-svc: the API refuses that (cust-svc
 * asks grid-svc first), so, as the other faults it refuses, by SQL. */
static void retire_listed(void)
{
    char *path = strf("%s/retire.tsv", city.dir);
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("citygen wrote no %s", path);
    PGconn *db = pg_admin(db_name_of("CUST_DATABASE_URL"));
    char collection[64], code[64];
    while (fscanf(f, "%63s %63s", collection, code) == 2) {
        char *sql = strf("UPDATE %s SET status = 'retired', version = version + 1, updated_at = "
                         "now(), updated_by = 'legacy' WHERE code = $1",
                         cust_table(collection));
        const char *params[] = {code};
        PGresult *r = PQexecParams(db, sql, 1, NULL, params, NULL, NULL, 0);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK && strcmp(PQcmdTuples(r), "1") == 0;
        char *why = it_strdup(PQerrorMessage(db));
        PQclear(r);
        if (!ok) fail_msg("retiring %s %s by SQL: %s", collection, code, why);
        json_object_set_new(city.retired, code, json_true());
    }
    fclose(f);
}

static json_t *whole_report(void)
{
    api_resp *r = report("limit=1");
    assert_status(r, 200);
    return json_pack("{s:O, s:O}", "customers", json_object_get(r->json, "customers"), "by_kind",
                     json_object_get(json_object_get(r->json, "broken_links"), "by_kind"));
}

/* citygen, the import API, the faults the API cannot take, and datahub
 * caught up: once per run, by whichever test needs it first. */
static void the_city(void)
{
    if (city.loaded) return;
    if (city.tried) fail_msg("the city could not be loaded: see the first test that tried");
    city.tried = 1;
    city.customers = env_count("REPORT_CUSTOMERS", 100000);
    city.faults_per_kind = env_count("REPORT_FAULTS", 10);
    catch_up(CATCH_UP_S);
    city.before = whole_report();

    char tmpl[] = "/tmp/yingpei-report-city.XXXXXX";
    if (!mkdtemp(tmpl)) fail_msg("mkdtemp failed");
    city.dir = strdup(tmpl);
    city.codes = json_object();
    city.retired = json_object();
    city.cat = json_object();
    city.mps = json_object();
    city.sps = json_object();
    city.up = json_object();
    srand((unsigned)(time(NULL) ^ getpid()));
    int seed = 1000 + rand() % 9000; /* account numbers carry it: no clash with an earlier run */
    run(strf("'%s/citygen' --customers %lld --seed %d --faults %lld --out '%s/city' >/dev/null",
             it_env("BIN_DIR"), city.customers, seed, city.faults_per_kind, city.dir));
    char *top = city.dir;
    city.dir = strdup(strf("%s/city", top));
    free(top);
    read_city();

    double t0 = now_s();
    run(strf("'%s/scripts/cityload.sh' '%s' >'%s/cityload.log' 2>&1", it_env("REPO_ROOT"),
             city.dir, city.dir));
    apply_legacy("grid", "GRID_DATABASE_URL");
    apply_legacy("cust", "CUST_DATABASE_URL");
    retire_listed();
    city.load_s = now_s() - t0;
    city.catch_up_s = catch_up(CATCH_UP_S);
    city.after = whole_report();
    fprintf(stderr, "# city of %lld customers (seed %d), %lld faults of each kind: loaded in "
                    "%.1f s; datahub caught up %.2f s later\n",
            city.customers, seed, city.faults_per_kind, city.load_s, city.catch_up_s);
    city.loaded = 1;
}

static int city_teardown(void **state)
{
    if (city.dir) {
        char *parent = strdup(city.dir);
        char *slash = strrchr(parent, '/');
        if (slash) *slash = '\0';
        if (strncmp(parent, "/tmp/yingpei-report-city.", 25) == 0) {
            char *cmd = NULL;
            if (asprintf(&cmd, "rm -rf '%s'", parent) > 0 && system(cmd) != 0)
                fprintf(stderr, "# could not remove %s\n", parent);
            free(cmd);
        }
        free(parent);
    }
    free(city.dir);
    json_t *all[] = {city.faults, city.codes, city.retired, city.cat, city.mps,
                     city.sps,    city.up,    city.before,  city.after};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) json_decref(all[i]);
    return it_group_teardown(state);
}

/* ---- comparing -------------------------------------------------------------------------- */

/* "kind code other" of an item or a fault: what is compared. */
static char *item_key(const json_t *o)
{
    const char *other = json_string_value(json_object_get(o, "other"));
    return strf("%s %s %s", jstr(o, "kind"), jstr(o, "code"), other ? other : "-");
}

/* Every item of a report, page after page (limit per page), as a set of
 * keys; only items that concern the city's codes when city_only. */
static json_t *all_items(const char *query, int limit, int city_only)
{
    json_t *keys = jkeep(json_object());
    const char *after = NULL;
    for (int page = 0; page < 100000; page++) {
        char *q = strf("%s%slimit=%d%s%s", query ? query : "", query ? "&" : "", limit,
                       after ? "&after=" : "", after ? urlenc(after) : "");
        api_resp *r = report(q);
        assert_status(r, 200);
        size_t i;
        json_t *item;
        json_array_foreach(json_object_get(r->json, "items"), i, item) {
            const char *other = json_string_value(json_object_get(item, "other"));
            if (city_only && !json_object_get(city.codes, jstr(item, "code")) &&
                !(other && json_object_get(city.codes, other)))
                continue;
            char *key = item_key(item);
            if (json_object_get(keys, key)) fail_msg("%s: %s listed twice", q, key);
            json_object_set_new(keys, key, json_true());
        }
        after = json_string_value(json_object_get(r->json, "next"));
        if (!after) return keys;
        assert_true(json_array_size(json_object_get(r->json, "items")) == (size_t)limit);
    }
    fail_msg("%s: pages never end", query);
    return NULL;
}

/* Keys of the faults for which field (a place: substation, line,
 * transformer) is value; all faults when field is NULL; of one kind when
 * kind is not NULL. */
static json_t *faults_where(const char *field, const char *value, const char *kind)
{
    json_t *keys = jkeep(json_object());
    size_t i;
    json_t *f;
    json_array_foreach(city.faults, i, f) {
        const char *at = field ? json_string_value(json_object_get(f, field)) : NULL;
        if (field && (!at || strcmp(at, value) != 0)) continue;
        if (kind && strcmp(jstr(f, "kind"), kind) != 0) continue;
        json_object_set_new(keys, item_key(f), json_true());
    }
    return keys;
}

static void assert_same_keys(json_t *got, json_t *want, const char *what)
{
    int bad = 0;
    const char *k;
    json_t *v;
    json_object_foreach(want, k, v) {
        if (!json_object_get(got, k)) {
            fprintf(stderr, "# %s: missing %s\n", what, k);
            bad++;
        }
    }
    json_object_foreach(got, k, v) {
        if (!json_object_get(want, k)) {
            fprintf(stderr, "# %s: not planted, yet reported: %s\n", what, k);
            bad++;
        }
    }
    if (bad) fail_msg("%s: %d differences between the report and the planted faults", what, bad);
}

static long long member_ll(const json_t *o, const char *a, const char *b)
{
    return (long long)json_integer_value(json_object_get(json_object_get(o, a), b));
}

/* The report scoped by level=code: its customers agree with the city's
 * files, its rate with them, and its list holds exactly the faults placed
 * there. */
static void assert_scope(const char *level, const char *code)
{
    char *q = strf("%s=%s", level, code);
    api_resp *r = report(strf("%s&limit=%d", q, PAGE_MAX));
    assert_status(r, 200);
    assert_string_equal(jstr(json_object_get(r->json, "scope"), level), code);
    long long active, complete;
    expected(code, &active, &complete);
    json_t *cu = json_object_get(r->json, "customers");
    if (jint(cu, "active") != active || jint(cu, "complete") != complete) {
        api_dump(r);
        fail_msg("%s: %lld active, %lld complete; the city's files say %lld and %lld", q,
                 jint(cu, "active"), jint(cu, "complete"), active, complete);
    }
    assert_int_equal(jint(cu, "incomplete"), active - complete);
    json_t *rate = json_object_get(r->json, "rate");
    if (active) assert_true(fabs(json_real_value(rate) - (double)complete / (double)active) < 1e-9);
    else assert_true(json_is_null(rate));
    assert_same_keys(all_items(q, PAGE_MAX, 0), faults_where(level, code, NULL), q);
    fprintf(stderr, "# %s: %lld active customers, %lld complete, %zu broken links\n", q, active,
            complete, json_object_size(faults_where(level, code, NULL)));
}

/* The place (substation, line, transformer) most faults share. */
static const char *busiest(const char *field)
{
    json_t *counts = jkeep(json_object());
    const char *best = NULL;
    long long most = 0;
    size_t i;
    json_t *f;
    json_array_foreach(city.faults, i, f) {
        const char *at = json_string_value(json_object_get(f, field));
        if (!at) continue;
        long long n = json_integer_value(json_object_get(counts, at)) + 1;
        json_object_set_new(counts, at, json_integer(n));
        if (n > most) {
            most = n;
            best = at;
        }
    }
    if (!best) fail_msg("no fault is placed under any %s", field);
    return best;
}

/* The code of the first fault of a kind. */
static const char *first_fault(const char *kind, const char *field)
{
    size_t i;
    json_t *f;
    json_array_foreach(city.faults, i, f)
        if (strcmp(jstr(f, "kind"), kind) == 0) return jstr(f, field);
    fail_msg("no fault of kind %s", kind);
    return NULL;
}

/* ---- the publications ------------------------------------------------------------------- */

static void publishes_declared_tables(const char *url_var, const char *pub,
                                      const collection_def *cols, int ncols,
                                      const relation_def *rels, int nrels,
                                      const char *const *kept)
{
    PGresult *r = pg_ok(pg_admin(db_name_of(url_var)),
                        strf("SELECT string_agg(tablename, ' ' ORDER BY tablename) FROM "
                             "pg_publication_tables WHERE pubname = '%s' AND schemaname = "
                             "'public'",
                             pub));
    json_t *want = jkeep(json_array());
    for (int i = 0; i < ncols; i++) json_array_append_new(want, json_string(cols[i].table));
    for (int i = 0; i < nrels; i++) json_array_append_new(want, json_string(rels[i].table));
    for (; kept && *kept; kept++) json_array_append_new(want, json_string(*kept));
    PGresult *sorted = pg_ok(pg_admin(db_name_of(url_var)),
                             strf("SELECT string_agg(t, ' ' ORDER BY t) FROM "
                                  "json_array_elements_text('%s') AS t",
                                  jdump(json_incref(want))));
    assert_string_equal(PQgetvalue(r, 0, 0), PQgetvalue(sorted, 0, 0));
}

/* ... and what a platform keeps up to date for the report's sake: which
 * substations energise each line (schema/grid/009_switching.sql), and the
 * meters' readings (schema/cust/015_readings_publication.sql). */
static void each_platform_publishes_its_declared_tables(void **state)
{
    static const char *const grid_kept[] = {"line_feeds", NULL};
    static const char *const cust_kept[] = {"readings", NULL};
    publishes_declared_tables("GRID_DATABASE_URL", "grid_datahub", grid_collections,
                              grid_ncollections, grid_relations, grid_nrelations, grid_kept);
    publishes_declared_tables("CUST_DATABASE_URL", "cust_datahub", cust_collections,
                              cust_ncollections, cust_relations, cust_nrelations, cust_kept);
}

/* Both subscriptions stream, nothing is being copied, and the answer says
 * how fresh it is. */
static void the_report_says_how_fresh_it_is(void **state)
{
    catch_up(CATCH_UP_S);
    api_resp *r = report("limit=1");
    assert_status(r, 200);
    json_t *fresh = json_object_get(r->json, "freshness");
    json_t *subs = json_object_get(fresh, "subscriptions");
    assert_int_equal(json_array_size(subs), 2);
    const char *names[] = {"datahub_cust", "datahub_grid"};
    for (size_t i = 0; i < 2; i++) {
        json_t *s = json_array_get(subs, i);
        assert_string_equal(jstr(s, "name"), names[i]);
        assert_true(json_is_true(json_object_get(s, "streaming")));
        assert_int_equal(jint(s, "tables_copying"), 0);
        assert_true(is_rfc3339_utc(jstr(s, "last_message_received_at")));
    }
    const char *as_of = jstr(fresh, "as_of");
    assert_true(is_rfc3339_utc(as_of));
    /* Each platform has spoken within its keep-alive interval (wal_sender_timeout / 2). */
    double age = (double)time(NULL) - rfc3339_seconds(as_of);
    if (age > 60) fail_msg("freshness.as_of %s is %.0f s old", as_of, age);
}

/* ---- the planted faults ------------------------------------------------------------------ */

static void report_finds_every_planted_fault_and_nothing_else(void **state)
{
    the_city();
    for (size_t k = 0; k < NKINDS; k++) {
        /* Each kind: the planted ones exactly, among whatever else the
         * other suites left behind. */
        json_t *got = all_items(strf("kind=%s", kinds[k]), PAGE_MAX, 1);
        assert_same_keys(got, faults_where(NULL, NULL, kinds[k]), kinds[k]);
        assert_int_equal(json_object_size(got), city.faults_per_kind);
        long long delta = member_ll(city.after, "by_kind", kinds[k]) -
                          member_ll(city.before, "by_kind", kinds[k]);
        if (delta != city.faults_per_kind)
            fail_msg("%s: the city added %lld to by_kind, planted %lld", kinds[k], delta,
                     city.faults_per_kind);
    }
    assert_same_keys(all_items(NULL, PAGE_MAX, 1), faults_where(NULL, NULL, NULL), "all kinds");
}

static void whole_city_totals_and_rate(void **state)
{
    the_city();
    long long active, complete;
    expected(NULL, &active, &complete);
    assert_int_equal(active, city.customers - (long long)json_object_size(city.retired));
    long long got_active = member_ll(city.after, "customers", "active") -
                           member_ll(city.before, "customers", "active");
    long long got_complete = member_ll(city.after, "customers", "complete") -
                             member_ll(city.before, "customers", "complete");
    fprintf(stderr, "# the city: %lld active customers, %lld with a complete chain (%.2f%%)\n",
            active, complete, 100.0 * (double)complete / (double)active);
    if (got_active != active || got_complete != complete)
        fail_msg("the city added %lld active and %lld complete customers to the report; its "
                 "files say %lld and %lld",
                 got_active, got_complete, active, complete);
    /* The faults below the line cut customers off: the rate is under 1. */
    assert_true(complete < active);

    api_resp *r = report("limit=1");
    assert_status(r, 200);
    json_t *cu = json_object_get(r->json, "customers");
    assert_int_equal(jint(cu, "incomplete"), jint(cu, "active") - jint(cu, "complete"));
    double rate = json_real_value(json_object_get(r->json, "rate"));
    assert_true(fabs(rate - (double)jint(cu, "complete") / (double)jint(cu, "active")) < 1e-9);
    json_t *bl = json_object_get(r->json, "broken_links");
    long long total = 0;
    const char *k;
    json_t *n;
    json_object_foreach(json_object_get(bl, "by_kind"), k, n) total += json_integer_value(n);
    assert_int_equal(json_object_size(json_object_get(bl, "by_kind")), NKINDS);
    assert_int_equal(jint(bl, "total"), total);
}

static void scoped_by_substation_line_and_transformer(void **state)
{
    the_city();
    time_t t0 = time(NULL);
    assert_scope("substation", busiest("substation"));
    assert_scope("line", busiest("line"));
    assert_scope("line", first_fault("line_without_substation", "code"));
    assert_scope("transformer", first_fault("transformer_without_line", "code"));
    assert_scope("transformer", first_fault("dedicated_transformer_without_customer", "code"));
    assert_scope("transformer", first_fault("retired_but_linked", "other"));
    assert_scope("transformer", busiest("transformer"));
    /* A substation with no fault placed under it, if the city has one. */
    const char *quiet = NULL;
    char *path = strf("%s/sample/substations.txt", city.dir);
    FILE *f = fopen(path, "r");
    char code[64];
    while (f && !quiet && fscanf(f, "%63s", code) == 1)
        if (json_object_size(faults_where("substation", code, NULL)) == 0) quiet = it_strdup(code);
    if (f) fclose(f);
    if (quiet) assert_scope("substation", quiet);
    fprintf(stderr, "# scoped reports checked in %ld s\n", (long)(time(NULL) - t0));
}

/* Page after page, one item each, gives the same list as one page, in
 * order; a kind's pages hold that kind only. */
static void pages_follow_each_other(void **state)
{
    the_city();
    const char *ss = busiest("substation");
    char *q = strf("substation=%s", ss);
    json_t *one_page = all_items(q, PAGE_MAX, 0);
    assert_true(json_object_size(one_page) >= 3);
    assert_same_keys(all_items(q, 1, 0), one_page, "pages of 1");
    assert_same_keys(all_items(q, 2, 0), one_page, "pages of 2");

    /* Ordered by kind, then code: each page continues where the last ended. */
    api_resp *r = report(strf("%s&limit=%d", q, PAGE_MAX));
    assert_status(r, 200);
    json_t *items = json_object_get(r->json, "items");
    for (size_t i = 1; i < json_array_size(items); i++) {
        json_t *a = json_array_get(items, i - 1), *b = json_array_get(items, i);
        int c = strcmp(jstr(a, "kind"), jstr(b, "kind"));
        assert_true(c < 0 || (c == 0 && strcmp(jstr(a, "code"), jstr(b, "code")) <= 0));
    }
    assert_true(json_is_null(json_object_get(r->json, "next")));

    json_t *dangling = all_items(strf("%s&kind=dangling_code", q), 1, 0);
    assert_same_keys(dangling, faults_where("substation", ss, "dangling_code"), "one kind");
    /* The whole city's, one kind, two at a time. */
    assert_same_keys(all_items("kind=retired_but_linked", 2, 1),
                     faults_where(NULL, NULL, "retired_but_linked"), "city, two at a time");
}

/* ---- the rates by level -------------------------------------------------------------------- */

static api_resp *rates(const char *query)
{
    api_opts o = {.key = KEY_DISPATCH, .timeout_s = 120};
    return api_call("GET", strf("%s/v1/reports/integration/rates%s%s", cust_url(),
                                query ? "?" : "", query ? query : ""),
                    &o, NULL, 0);
}

/* Every item of the rates asked by query, page after page (limit per page),
 * as code -> [customers, complete]; only the city's codes when city_only.
 * The seconds the first page took in *first_s (if not NULL). */
static json_t *all_rates(const char *query, int limit, int city_only, double *first_s)
{
    json_t *got = jkeep(json_object());
    const char *after = NULL;
    for (int page = 0; page < 100000; page++) {
        char *q = strf("%s&limit=%d%s%s", query, limit, after ? "&after=" : "", after ? after : "");
        api_resp *r = rates(q);
        assert_status(r, 200);
        if (page == 0 && first_s) *first_s = r->seconds;
        size_t i;
        json_t *item, *prev = NULL;
        json_array_foreach(json_object_get(r->json, "items"), i, item) {
            const char *code = jstr(item, "code");
            if (prev && strcmp(jstr(prev, "code"), code) >= 0)
                fail_msg("%s: %s listed after %s", q, code, jstr(prev, "code"));
            prev = item;
            long long cu = jint(item, "customers"), ok = jint(item, "complete");
            assert_true(cu > 0 && ok >= 0 && ok <= cu);
            double rate = json_real_value(json_object_get(item, "rate"));
            assert_true(fabs(rate - (double)ok / (double)cu) < 1e-9);
            if (city_only && !json_object_get(city.codes, code)) continue;
            if (json_object_get(got, code)) fail_msg("%s: %s listed twice", q, code);
            json_object_set_new(got, code, json_pack("[I, I]", (json_int_t)cu, (json_int_t)ok));
        }
        after = json_string_value(json_object_get(r->json, "next"));
        if (!after) return got;
        assert_int_equal(json_array_size(json_object_get(r->json, "items")), (size_t)limit);
        assert_string_equal(after, jstr(prev, "code"));
    }
    fail_msg("%s: pages never end", query);
    return NULL;
}

/* What a reach holds at a level (substation, line, transformer). */
static const char *reach_at(const reach *r, const char *level)
{
    return level[0] == 's' ? r->ss : level[0] == 'l' ? r->ln : r->tr;
}

/* The rates at level of the city's active customers, walked up the city's
 * files, as code -> [customers, complete]: a customer counts under every
 * object of the level its chains reach (those through scope=code only,
 * when scope is not NULL), complete when every one of its chains is. */
static json_t *expected_rates(const char *level, const char *scope, const char *code)
{
    json_t *want = jkeep(json_object());
    const char *cu;
    json_t *category;
    json_object_foreach(city.cat, cu, category) {
        if (json_object_get(city.retired, cu)) continue;
        json_t *starts = starts_of(cu), *under = json_object(), *s;
        int whole = json_array_size(starts) > 0;
        size_t i;
        json_array_foreach(starts, i, s) {
            reach r = walk(json_string_value(s));
            whole = whole && r.ss;
            const char *at = reach_at(&r, level), *in = scope ? reach_at(&r, scope) : NULL;
            if (at && (!scope || (in && strcmp(in, code) == 0)))
                json_object_set_new(under, at, json_true());
        }
        const char *at;
        json_t *yes;
        json_object_foreach(under, at, yes) {
            json_t *n = json_object_get(want, at);
            if (!n) json_object_set_new(want, at, n = json_pack("[i, i]", 0, 0));
            json_int_t cus = json_integer_value(json_array_get(n, 0));
            json_int_t ok = json_integer_value(json_array_get(n, 1));
            json_array_set_new(n, 0, json_integer(cus + 1));
            json_array_set_new(n, 1, json_integer(ok + whole));
        }
        json_decref(under);
    }
    return want;
}

static void assert_same_rates(json_t *got, json_t *want, const char *what)
{
    int bad = 0;
    const char *code;
    json_t *n;
    json_object_foreach(want, code, n) {
        json_t *g = json_object_get(got, code);
        if (!g || !json_equal(g, n)) {
            fprintf(stderr, "# %s: %s has %s, the city's files say %s\n", what, code,
                    g ? jdump(json_incref(g)) : "nothing", jdump(json_incref(n)));
            bad++;
        }
    }
    json_object_foreach(got, code, n) {
        if (!json_object_get(want, code)) {
            fprintf(stderr, "# %s: %s is listed, the city's files place no customer there\n",
                    what, code);
            bad++;
        }
    }
    if (bad) fail_msg("%s: %d objects differ from the city's files", what, bad);
}

/* The one-scope report of code agrees with its item. */
static void assert_item_is_the_report(const char *level, const char *code, json_t *item)
{
    api_resp *r = report(strf("%s=%s&limit=1", level, code));
    assert_status(r, 200);
    json_t *cu = json_object_get(r->json, "customers");
    if (jint(cu, "active") != json_integer_value(json_array_get(item, 0)) ||
        jint(cu, "complete") != json_integer_value(json_array_get(item, 1)))
        fail_msg("%s %s: the rates say %s, its report %lld active, %lld complete", level, code,
                 jdump(json_incref(item)), jint(cu, "active"), jint(cu, "complete"));
}

static const char *const levels[] = {"substation", "line", "transformer"};

/* Each level of the whole city: the city's objects exactly as its files
 * say, and a sample of them as their own report says. */
static void rates_by_level_agree_with_the_city_and_the_report(void **state)
{
    the_city();
    for (size_t l = 0; l < 3; l++) {
        double first_s = 0, t0 = now_s();
        json_t *got = all_rates(strf("level=%s", levels[l]), PAGE_MAX, 1, &first_s);
        double all_s = now_s() - t0;
        assert_same_rates(got, expected_rates(levels[l], NULL, NULL), levels[l]);
        /* The busiest place of faults, and the first and last objects. */
        const char *sample[3] = {busiest(levels[l]), NULL, NULL};
        const char *code;
        json_t *n;
        json_object_foreach(got, code, n) {
            if (!sample[1]) sample[1] = code;
            sample[2] = code;
        }
        for (int i = 0; i < 3; i++)
            if (sample[i])
                assert_item_is_the_report(levels[l], sample[i], json_object_get(got, sample[i]));
        fprintf(stderr, "# rates by %s: %zu of the city's, the first page in %.2f s, all in "
                        "%.2f s\n",
                levels[l], json_object_size(got), first_s, all_s);
    }
}

/* Within a substation, its lines and transformer areas; within a line, its
 * transformer areas: as the files say, each as in the whole city's (every
 * line of the city is fed by one substation), and the lines of a
 * substation hold its customers among them. */
static void rates_within_a_scope(const char *level, const char *scope, const char *code,
                                 json_t *city_level)
{
    double first_s = 0;
    char *q = strf("level=%s&%s=%s", level, scope, code);
    json_t *got = all_rates(q, PAGE_MAX, 0, &first_s);
    assert_same_rates(got, expected_rates(level, scope, code), q);
    assert_true(json_object_size(got) > 0);
    const char *at;
    json_t *n;
    json_object_foreach(got, at, n) {
        if (!json_equal(n, json_object_get(city_level, at)))
            fail_msg("%s: %s has %s, in the whole city's %s", q, at, jdump(json_incref(n)),
                     jdump(json_incref(json_object_get(city_level, at))));
    }
    fprintf(stderr, "# rates %s: %zu objects in %.2f s\n", q, json_object_size(got), first_s);
}

static void rates_within_a_substation_and_a_line(void **state)
{
    the_city();
    const char *ss = busiest("substation"), *ln = busiest("line");
    json_t *lines = all_rates("level=line", PAGE_MAX, 1, NULL);
    json_t *areas = all_rates("level=transformer", PAGE_MAX, 1, NULL);
    rates_within_a_scope("line", "substation", ss, lines);
    rates_within_a_scope("transformer", "substation", ss, areas);
    rates_within_a_scope("transformer", "line", ln, areas);

    /* Every customer under the substation reaches it through a line. */
    json_t *of_ss = all_rates(strf("level=line&substation=%s", ss), PAGE_MAX, 0, NULL);
    long long sum = 0, sum_ok = 0;
    const char *at;
    json_t *n;
    json_object_foreach(of_ss, at, n) {
        sum += json_integer_value(json_array_get(n, 0));
        sum_ok += json_integer_value(json_array_get(n, 1));
    }
    json_t *cu = json_object_get(report(strf("substation=%s&limit=1", ss))->json, "customers");
    assert_true(sum >= jint(cu, "active") && sum_ok >= jint(cu, "complete"));

    /* Pages of 1 follow each other as one page does. */
    json_t *one = all_rates(strf("level=transformer&line=%s", ln), PAGE_MAX, 0, NULL);
    json_t *ones = all_rates(strf("level=transformer&line=%s", ln), 1, 0, NULL);
    assert_true(json_equal(one, ones));
}

static void rates_bad_input_is_400(void **state)
{
    char *ss = mint_code("SS"), *ln = mint_code("LN"), *tr = mint_code("TR");
    const char *bad[] = {
        "",
        "level=",
        "level=city",
        "level=substation&level=line",
        "level=line&what=1",
        strf("level=substation&substation=%s", ss),
        strf("level=line&line=%s", ln),
        strf("level=line&transformer=%s", tr),
        strf("level=transformer&transformer=%s", tr),
        strf("level=transformer&substation=%s&line=%s", ss, ln),
        strf("level=line&substation=%s&substation=%s", ss, ss),
        strf("level=line&substation=%s", ln),
        strf("level=line&substation=%s", spoil_check(ss)),
        "level=line&substation=SS-123",
        "level=line&limit=0",
        "level=line&limit=1001",
        "level=line&limit=ten",
        strf("level=line&after=%s", ss),
        "level=line&after=LN-1",
        "level=line&after=",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        api_resp *r = rates(bad[i]);
        if (r->status != 400) fail_msg("?%s answered %ld, not 400", bad[i], r->status);
        assert_problem(r, 400);
    }
    assert_str_contains(jstr(rates("level=line&what=1")->json, "detail"), "what");
    assert_str_contains(jstr(rates(strf("level=line&line=%s", ln))->json, "detail"), "above");
    /* A scope datahub does not know. */
    api_resp *r = rates(strf("level=line&substation=%s", ss));
    assert_problem(r, 404);
    assert_str_contains(jstr(r->json, "detail"), ss);
    assert_problem(rates(strf("level=transformer&line=%s", ln)), 404);
    /* An empty level of a known scope: a line with nothing under it. */
    char *bare = create_line(KEY_PRODUCTION, strf("10kV %s", uniq()), "public", 10);
    catch_up(CATCH_UP_S);
    r = rates(strf("level=transformer&line=%s", bare));
    assert_status(r, 200);
    assert_int_equal(json_array_size(json_object_get(r->json, "items")), 0);
    assert_true(json_is_null(json_object_get(r->json, "next")));
    assert_string_equal(jstr(r->json, "level"), "transformer");
    assert_string_equal(jstr(json_object_get(r->json, "scope"), "line"), bare);
    assert_non_null(json_object_get(json_object_get(r->json, "freshness"), "subscriptions"));
    assert_problem(api_get(cust_url(), "/v1/reports/integration/rates?level=line", NULL), 401);
}

/* ---- bad input ---------------------------------------------------------------------------- */

static void bad_input_is_400(void **state)
{
    char *ss = mint_code("SS"), *ln = mint_code("LN");
    const char *bad[] = {
        "what=1",
        strf("substation=%s&line=%s", ss, ln),
        strf("substation=%s&substation=%s", ss, ss),
        "substation=SS-123",
        strf("substation=%s", spoil_check(ss)),
        strf("substation=%s", ln),
        strf("transformer=%s", ss),
        "limit=0",
        "limit=1001",
        "limit=ten",
        "limit=",
        "after=not-a-cursor!",
        "after=AAAA",
        "after=ZGFuZ2xpbmdfY29kZR__Hw",   /* "dangling_code", 0xff, "": not UTF-8 */
        "after=bm9uc2Vuc2UfQ1Uf",         /* "nonsense", "CU", "": no such kind */
        "kind=everything",
        "kind=",
        "limit=5&limit=6",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) assert_problem(report(bad[i]), 400);
    assert_str_contains(jstr(report("what=1")->json, "detail"), "what");
    assert_str_contains(jstr(report(strf("substation=%s", ln))->json, "detail"), "SS");
    /* A valid code that names nothing. */
    api_resp *r = report(strf("substation=%s", ss));
    assert_problem(r, 404);
    assert_str_contains(jstr(r->json, "detail"), ss);
    assert_problem(report(strf("line=%s", ln)), 404);
    /* Reading needs a key, as everywhere. */
    assert_problem(api_get(cust_url(), "/v1/reports/integration", NULL), 401);
    /* grid-svc passes it on to cust-svc, whose it is, answer and all. */
    r = api_get(grid_url(), "/v1/reports/integration?what=1", KEY_DISPATCH);
    assert_problem(r, 400);
    assert_string_equal(r->served_by, "cust-svc");
}

/* ---- without datahub ---------------------------------------------------------------------- */

/* An extra cust-svc whose DATAHUB_URL is datahub_url ("" for none). */
static pid_t spawn_cust(int port, const char *datahub_url, const char *log_name)
{
    const char *set = getenv("DATAHUB_URL");
    char *was = set ? strdup(set) : NULL;
    setenv("DATAHUB_URL", datahub_url, 1); /* inherited by the daemon */
    pid_t pid = start_daemon("cust", port, it_env("CUST_DATABASE_URL"), grid_url(), log_name);
    if (was)
        setenv("DATAHUB_URL", was, 1);
    else
        unsetenv("DATAHUB_URL");
    free(was);
    if (pid < 0)
        fail_msg("an extra cust-svc did not start; see %s/%s.log", it_env("RUN_DIR"), log_name);
    return pid;
}

static void without_datahub_the_report_is_503(void **state)
{
    int port = free_port();
    it_extra[0] = spawn_cust(port, "", "cust-no-datahub");
    api_resp *r = api_get(strf("http://127.0.0.1:%d", port), "/v1/reports/integration",
                          KEY_DISPATCH);
    assert_problem(r, 503);
    assert_str_contains(jstr(r->json, "detail"), "DATAHUB_URL");
    r = api_get(strf("http://127.0.0.1:%d", port), "/v1/reports/integration/rates?level=line",
                KEY_DISPATCH);
    assert_problem(r, 503);
    assert_str_contains(jstr(r->json, "detail"), "DATAHUB_URL");
    /* The rest of the platform does not mind. */
    assert_status(api_get(strf("http://127.0.0.1:%d", port), "/readyz", NULL), 200);
    assert_int_equal(daemon_stop(it_extra[0], 15), 0);
    it_extra[0] = -1;

    /* Pointing at a server that is not there: 503 saying why, then it still answers. */
    int dead = free_port();
    port = free_port();
    it_extra[1] = spawn_cust(port, strf("postgresql://datahub_reader@127.0.0.1:%d/datahub", dead),
                             "cust-datahub-down");
    r = api_get(strf("http://127.0.0.1:%d", port), "/v1/reports/integration", KEY_DISPATCH);
    assert_problem(r, 503);
    assert_str_contains(jstr(r->json, "detail"), "cannot be reached");
    assert_true(r->retry_after[0] != '\0');
    assert_status(api_get(strf("http://127.0.0.1:%d", port), "/v1/customers?limit=1",
                          KEY_DISPATCH),
                  200);
    assert_int_equal(daemon_stop(it_extra[1], 15), 0);
    it_extra[1] = -1;
}

/* ---- changes follow within seconds -------------------------------------------------------- */

/* Polls the report with query until pred holds; the seconds it took. */
static double until(const char *query, int (*pred)(const api_resp *r, const void *arg),
                    const void *arg, const char *what)
{
    double t0 = now_s();
    for (;;) {
        api_resp *r = report(query);
        if (pred(r, arg)) return now_s() - t0;
        if (now_s() - t0 > CHANGE_S) {
            api_dump(r);
            fail_msg("%s did not show in datahub's report within %.0f s", what, CHANGE_S);
        }
        sleep_ms(20);
    }
}

static int lists_code(const api_resp *r, const void *code)
{
    size_t i;
    json_t *item;
    if (r->status != 200) return 0;
    json_array_foreach(json_object_get(r->json, "items"), i, item)
        if (strcmp(jstr(item, "code"), code) == 0) return 1;
    return 0;
}

static int lists_nothing(const api_resp *r, const void *arg)
{
    return r->status == 200 && json_array_size(json_object_get(r->json, "items")) == 0;
}

static int active_is(const api_resp *r, const void *n)
{
    return r->status == 200 &&
           jint(json_object_get(r->json, "customers"), "active") == *(const long long *)n;
}

/* A meter of an LV customer of the city, under a transformer area that has
 * no fault, and that area. */
static void a_quiet_customer(const char **mt, const char **tr)
{
    const char *cu;
    json_t *category;
    json_object_foreach(city.cat, cu, category) {
        if (strcmp(json_string_value(category), "hv") == 0) continue;
        json_t *starts = starts_of(cu);
        if (json_array_size(starts) != 1) continue;
        const char *mp = json_string_value(json_array_get(starts, 0));
        reach r = walk(mp);
        if (!r.ss || json_object_size(faults_where("transformer", r.tr, NULL)) > 0) continue;
        *mt = up_of(mp);
        *tr = r.tr;
        return;
    }
    fail_msg("the city has no customer under a transformer area without faults");
}

static void changes_on_either_platform_follow_within_seconds(void **state)
{
    the_city();
    catch_up(CATCH_UP_S);
    /* grid-svc: a new line with no substation is a broken link ... */
    char *ln = create_line(KEY_PRODUCTION, strf("10kV %s", uniq()), "public", 10);
    char *q = strf("line=%s", ln);
    double grid_new = until(q, lists_code, ln, "a line written on grid-svc");
    /* ... until it is linked to one. */
    char *ss = create_substation(strf("110kV %s", uniq()));
    assert_status(api_post(grid_url(), "/v1/relations/substation-line", KEY_PRODUCTION,
                           jdump(json_pack("{s:s, s:s, s:s}", "from", ss, "to", ln, "role",
                                           "source"))),
                  201);
    double grid_link = until(q, lists_nothing, NULL, "a link written on grid-svc");

    /* cust-svc: a meter retired takes its customer out of its transformer area. */
    const char *mt = NULL, *tr = NULL;
    a_quiet_customer(&mt, &tr);
    char *tq = strf("transformer=%s", tr);
    api_resp *r = report(tq);
    assert_status(r, 200);
    long long fewer = jint(json_object_get(r->json, "customers"), "active") - 1;
    assert_status(api_delete(cust_url(), strf("/v1/meters/%s", mt), KEY_MARKETING), 200);
    double cust_retire = until(tq, active_is, &fewer, "a meter retired on cust-svc");
    fprintf(stderr, "# datahub showed in the report: a new line %.2f s after grid-svc wrote it, "
                    "its link %.2f s after, a retired meter %.2f s after cust-svc wrote it\n",
            grid_new, grid_link, cust_retire);
}

/* A switch of the kind, in the normal position given. */
static char *create_switch(const char *kind, int normal_open)
{
    api_resp *r = api_post(grid_url(), "/v1/switches", KEY_PRODUCTION,
                           jdump(json_pack("{s:s, s:s, s:b}", "name", uniq(), "kind", kind,
                                           "normal_open", normal_open)));
    assert_status(r, 201);
    return it_strdup(jstr(r->json, "code"));
}

static void link_line(const char *kind, const char *from, const char *to, json_t *more)
{
    json_t *b = json_pack("{s:s, s:s}", "from", from, "to", to);
    json_object_update(b, more);
    json_decref(more);
    assert_status(api_post(grid_url(), strf("/v1/relations/%s", kind), KEY_PRODUCTION, jdump(b)),
                  201);
}

/* A line is joined up through the substation that energises it now
 * (DESIGN §9): not through a tie substation, not through an open breaker,
 * and through a closed tie to a line that is fed. */
static void a_line_is_joined_up_through_its_energising_source(void **state)
{
    the_city();
    catch_up(CATCH_UP_S);
    char *ln = create_line(KEY_PRODUCTION, strf("10kV %s", uniq()), "public", 10);
    char *q = strf("line=%s", ln);
    link_line("substation-line", create_substation(strf("110kV %s", uniq())), ln,
              json_pack("{s:s}", "role", "tie"));
    until(q, lists_code, ln, "a line with only a tie substation");
    char *breaker = create_switch("breaker", 0);
    link_line("substation-line", create_substation(strf("110kV %s", uniq())), ln,
              json_pack("{s:s, s:s}", "role", "source", "switch", breaker));
    until(q, lists_nothing, NULL, "the line's source through a closed breaker");
    assert_status(api_post(grid_url(), strf("/v1/switches/%s/operate", breaker), KEY_DISPATCH,
                           "{\"open\": true, \"reason\": \"maintenance\"}"),
                  200);
    until(q, lists_code, ln, "the line's breaker opened");
    /* 转供: a closed tie to a line that has a source of its own */
    char *other = create_line(KEY_PRODUCTION, strf("10kV %s", uniq()), "public", 10);
    link_line("substation-line", create_substation(strf("110kV %s", uniq())), other,
              json_pack("{s:s}", "role", "source"));
    link_line("line-line", ln, other, json_pack("{s:s}", "switch", create_switch("load_switch", 0)));
    until(q, lists_nothing, NULL, "the line fed through a closed tie");
}

int main(void)
{
    it_filter();
    const struct CMUnitTest tests[] = {
        IT(each_platform_publishes_its_declared_tables),
        IT(the_report_says_how_fresh_it_is),
        IT(bad_input_is_400),
        cmocka_unit_test_teardown(without_datahub_the_report_is_503, it_stop_extras),
        IT(report_finds_every_planted_fault_and_nothing_else),
        IT(whole_city_totals_and_rate),
        IT(scoped_by_substation_line_and_transformer),
        IT(pages_follow_each_other),
        IT(rates_bad_input_is_400),
        IT(rates_by_level_agree_with_the_city_and_the_report),
        IT(rates_within_a_substation_and_a_line),
        /* Last: it changes the city. */
        IT(changes_on_either_platform_follow_within_seconds),
        IT(a_line_is_joined_up_through_its_energising_source),
    };
    return cmocka_run_group_tests(tests, it_group_setup, city_teardown);
}
