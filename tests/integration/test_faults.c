/* test_faults.c -- the platforms when one of their processes dies or stalls:
 *   1. a daemon killed (SIGKILL) in the middle of a large NDJSON import: the
 *      rows in the database are whole batches, a prefix of them, and the same
 *      import sent again completes it exactly as an uninterrupted one would;
 *   2. PostgreSQL killed (SIGKILL of the postmaster) under writes on both
 *      platforms, on a cluster of the test's own: every acknowledged write is
 *      kept and none answered 503 is, writes in the outage answer 503 with
 *      Retry-After, and the same daemon processes serve writes again once it
 *      is back;
 *   3. the peer killed in the middle of traces and outage impacts: every
 *      answer is the complete one or a 502/504 naming the peer, never a
 *      partial 200, and complete answers are back soon after its restart;
 *   4. the peer stopped (SIGSTOP) for 5 s: requests that do not need it are
 *      not slowed, those that do answer within the peer timeout;
 *   5. 500 slow clients (slowloris) do not stop others being served;
 *   6. an outage announced while grid-svc is down: refused naming it, with
 *      nothing stored, and whole once it is back.
 *
 * Each test starts daemons of its own (and test 2 its own PostgreSQL), so the
 * run's stack is never disturbed; the teardowns resume stopped processes,
 * kill the extra daemons and remove scratch databases and clusters whatever
 * happened. The figures measured (writes acknowledged and lost, latencies,
 * times to recover) are printed as "# " lines. */
#include "client.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- figures ---------------------------------------------------------------------------- */

/* Numbers added from several threads. */
typedef struct samples {
    pthread_mutex_t mu;
    double *v;
    int n, cap;
} samples;

static void samples_free(void *p)
{
    samples *s = p;
    pthread_mutex_destroy(&s->mu);
    free(s->v);
    free(s);
}

static samples *samples_new(void)
{
    samples *s = calloc(1, sizeof *s);
    assert_non_null(s);
    pthread_mutex_init(&s->mu, NULL);
    return it_track(s, samples_free);
}

static void samples_add(samples *s, double x)
{
    pthread_mutex_lock(&s->mu);
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->v = realloc(s->v, (size_t)s->cap * sizeof *s->v);
        if (!s->v) abort(); /* may run outside the test's thread */
    }
    s->v[s->n++] = x;
    pthread_mutex_unlock(&s->mu);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The p-th percentile (nearest rank); 0 when there is nothing. */
static double samples_pct(samples *s, double p)
{
    pthread_mutex_lock(&s->mu);
    double out = 0;
    if (s->n > 0) {
        qsort(s->v, (size_t)s->n, sizeof *s->v, cmp_double);
        int k = (int)ceil(p / 100.0 * s->n) - 1;
        if (k < 0) k = 0;
        if (k >= s->n) k = s->n - 1;
        out = s->v[k];
    }
    pthread_mutex_unlock(&s->mu);
    return out;
}

/* Notes from threads (which may not assert), shown when the test fails. */
typedef struct notes {
    pthread_mutex_t mu;
    long count;
    char text[8][600];
} notes;

static void notes_free(void *p)
{
    notes *n = p;
    pthread_mutex_destroy(&n->mu);
    free(n);
}

static notes *notes_new(void)
{
    notes *n = calloc(1, sizeof *n);
    assert_non_null(n);
    pthread_mutex_init(&n->mu, NULL);
    return it_track(n, notes_free);
}

static void note(notes *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(notes *n, const char *fmt, ...)
{
    pthread_mutex_lock(&n->mu);
    if (n->count < 8) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(n->text[n->count], sizeof n->text[0], fmt, ap);
        va_end(ap);
    }
    n->count++;
    pthread_mutex_unlock(&n->mu);
}

static void notes_show(notes *n, const char *what)
{
    fprintf(stderr, "# %ld %s%s\n", n->count, what, n->count ? "; the first:" : "");
    for (long i = 0; i < n->count && i < 8; i++) fprintf(stderr, "#   %s\n", n->text[i]);
}

/* What one answer says, in a line. */
static const char *answer_line(const api_resp *r)
{
    if (r->transport_error)
        return strf("%s %s -> no answer after %.2f s (%s)", r->method, r->url, r->seconds,
                    r->error);
    return strf("%s %s -> %ld after %.2f s: %.300s", r->method, r->url, r->status, r->seconds,
                r->body);
}

/* ---- processes ------------------------------------------------------------------------- */

/* Is pid, our child, still running? */
static int running(pid_t pid)
{
    int st;
    return pid > 0 && waitpid(pid, &st, WNOHANG) == 0;
}

/* SIGKILL and reap: a crash, nothing is flushed or closed. */
static void kill9(pid_t pid)
{
    if (pid <= 0) return;
    kill(pid, SIGKILL);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
}

static const char *base_at(int port)
{
    return strf("http://127.0.0.1:%d", port);
}

/* A pair of daemons of our own, each the other's peer: grid-svc in
 * it_extra[0], cust-svc in it_extra[1] (killed by it_stop_extras). */
typedef struct pair {
    int gport, cport;
    const char *grid, *cust;       /* base URLs */
    const char *gdb, *cdb;         /* their databases */
    const char *const *more;       /* settings of both */
    const char *label;
} pair;

static pid_t start_one(const pair *p, int grid)
{
    return spawn_daemon_env(grid ? "grid" : "cust", grid ? p->gport : p->cport,
                            grid ? p->gdb : p->cdb, grid ? p->cust : p->grid,
                            strf("itest-%s-%s-%d", p->label, grid ? "grid" : "cust",
                                 grid ? p->gport : p->cport),
                            p->more);
}

static pair *start_pair(const char *gdb, const char *cdb, const char *const *more,
                        const char *label)
{
    pair *p = it_track(calloc(1, sizeof *p), free);
    assert_non_null(p);
    p->gport = free_port();
    do p->cport = free_port();
    while (p->cport == p->gport);
    assert_true(p->gport > 0 && p->cport > 0);
    p->grid = base_at(p->gport);
    p->cust = base_at(p->cport);
    p->gdb = gdb;
    p->cdb = cdb;
    p->more = more;
    p->label = label;
    it_extra[0] = start_one(p, 1);
    it_extra[1] = start_one(p, 0);
    assert_true(it_extra[0] > 0 && it_extra[1] > 0);
    if (daemon_wait_ready(it_extra[0], p->grid, 60) != 0 ||
        daemon_wait_ready(it_extra[1], p->cust, 60) != 0)
        fail_msg("the pair %s did not become ready (logs in %s/itest-%s-*.log)", label,
                 it_env("RUN_DIR"), label);
    return p;
}

/* Starts one of the pair again on its port after a crash; waits for it. */
static void restart_one(pair *p, int grid)
{
    int i = grid ? 0 : 1;
    it_extra[i] = start_one(p, grid);
    assert_true(it_extra[i] > 0);
    if (daemon_wait_ready(it_extra[i], grid ? p->grid : p->cust, 60) != 0)
        fail_msg("%s-svc did not come back on port %d", grid ? "grid" : "cust",
                 grid ? p->gport : p->cport);
}

/* SIGTERM to both: each must exit 0 (a sanitizer report at exit would not). */
static void stop_pair(void)
{
    int sg = daemon_stop(it_extra[0], 15), sc = daemon_stop(it_extra[1], 15);
    it_extra[0] = it_extra[1] = -1;
    assert_int_equal(sg, 0);
    assert_int_equal(sc, 0);
}

/* ---- PostgreSQL ----------------------------------------------------------------------- */

static void finish_conn(void *p)
{
    PQfinish(p);
}

static void clear_result(void *p)
{
    PQclear(p);
}

/* A superuser connection to dbname on the PostgreSQL at port. */
static PGconn *pg_at(int port, const char *dbname)
{
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    const char *keys[] = {"host", "port", "user", "dbname", "connect_timeout", NULL};
    const char *vals[] = {"127.0.0.1", ps, "postgres", dbname, "10", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 0);
    if (!c) fail_msg("PQconnectdbParams returned NULL");
    it_track(c, finish_conn);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("cannot connect as postgres to %s on port %d: %s", dbname, port,
                 PQerrorMessage(c));
    return c;
}

/* Runs sql with text parameters; asserts success. */
static PGresult *pg_params(PGconn *c, const char *sql, int n, const char *const *params)
{
    PGresult *r = it_track(PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0), clear_result);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("SQL failed: %s: %s", sql, PQresultErrorMessage(r));
    return r;
}

/* codes as a text[] literal, for one parameter (codes hold no quotes, commas
 * or braces). */
static const char *text_array(char *const *codes, int n)
{
    size_t len = 3;
    for (int i = 0; i < n; i++) len += strlen(codes[i]) + 1;
    char *s = it_track(malloc(len), free);
    assert_non_null(s);
    char *p = s;
    *p++ = '{';
    for (int i = 0; i < n; i++) {
        size_t l = strlen(codes[i]);
        if (i) *p++ = ',';
        memcpy(p, codes[i], l);
        p += l;
    }
    *p++ = '}';
    *p = '\0';
    return s;
}

/* The number of rows of sql ($1 = codes as text[]) -- a set of codes
 * found, as a JSON object (code -> true). */
static json_t *codes_found(PGconn *c, const char *sql, char *const *codes, int n)
{
    const char *arr = text_array(codes, n);
    PGresult *r = pg_params(c, sql, 1, &arr);
    json_t *found = jkeep(json_object());
    for (int i = 0; i < PQntuples(r); i++)
        json_object_set_new(found, PQgetvalue(r, i, 0), json_true());
    return found;
}

/* ---- 1. a daemon killed in the middle of an import ----------------------------------------- */

#define IMP_LINES 20000
#define IMP_BATCH 20
#define IMP_BATCHES (IMP_LINES / IMP_BATCH)
#define NDJSON "application/x-ndjson"

static char scratch_db[64];

static int drop_scratch(void **state)
{
    for (int i = 0; i < 2; i++) {
        daemon_kill(it_extra[i]);
        it_extra[i] = -1;
    }
    pg_drop_scratch(scratch_db);
    return it_teardown(state);
}

typedef struct body {
    char *s;
    size_t len, cap;
} body;

static void body_free(void *p)
{
    body *b = p;
    free(b->s);
    free(b);
}

static void body_add(body *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        while (b->len + n + 1 > b->cap) b->cap = b->cap ? b->cap * 2 : 1 << 16;
        b->s = realloc(b->s, b->cap);
        assert_non_null(b->s);
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

/* IMP_LINES address lines with these codes; everything but the code depends
 * only on tag and the line, so two files with the same tag load the same
 * rows under other codes. */
static body *address_file(char **codes, const char *tag)
{
    static const char *const districts[] = {"西湖区", "上城区", "拱墅区", "滨江区"};
    body *b = it_track(calloc(1, sizeof(body)), body_free);
    assert_non_null(b);
    for (int i = 0; i < IMP_LINES; i++) {
        char street[32], building[16], room[32], detail[96];
        snprintf(street, sizeof street, "文三路 %d 号", i % 97);
        snprintf(building, sizeof building, "%d 幢", i % 31);
        snprintf(room, sizeof room, "%d-%d", i % 7 + 1, i);
        snprintf(detail, sizeof detail, "%s line %d \"quoted\"", tag, i);
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:f, s:f}}", "code",
                              codes[i], "province", "浙江省", "city", "杭州市", "district",
                              districts[i % 4], "street", street, "building", building, "room",
                              room, "detail", detail, "location", "lon", 120.0 + i * 1e-5, "lat",
                              30.0 + i * 1e-5);
        char *t = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        assert_non_null(t);
        body_add(b, t, strlen(t));
        body_add(b, "\n", 1);
        free(t);
    }
    return b;
}

static char **fresh_codes(const char *prefix, int n)
{
    char **v = it_track(calloc((size_t)n, sizeof *v), free);
    assert_non_null(v);
    for (int i = 0; i < n; i++) v[i] = mint_code(prefix);
    return v;
}

typedef struct bg_call {
    const char *method, *url;
    const body *b;
    api_opts opts;
    api_resp *resp;
    atomic_int done;
} bg_call;

static void *bg_run(void *p)
{
    bg_call *c = p;
    c->resp = api_call(c->method, c->url, &c->opts, c->b->s, c->b->len);
    atomic_store(&c->done, 1);
    return NULL;
}

static long long count_of(PGconn *c, const char *sql)
{
    return atoll(PQgetvalue(pg_ok(c, sql), 0, 0));
}

/* The stored address rows, code -> every other column as text. */
static json_t *address_rows(PGconn *c)
{
    PGresult *r = pg_ok(c, "SELECT code, concat_ws('|', province, city, district, street, "
                           "community, building, unit, room, detail, location_lon, location_lat, "
                           "status, version, updated_by) FROM addresses");
    json_t *rows = jkeep(json_object());
    for (int i = 0; i < PQntuples(r); i++)
        json_object_set_new(rows, PQgetvalue(r, i, 0), json_string(PQgetvalue(r, i, 1)));
    return rows;
}

static long long member_int(const api_resp *r, const char *key)
{
    json_t *v = json_object_get(r->json, key);
    if (!json_is_integer(v)) {
        api_dump(r);
        fail_msg("no integer member '%s' in the import answer", key);
    }
    return json_integer_value(v);
}

static void import_killed_midway_loads_whole_batches(void **state)
{
    (void)state;
    snprintf(scratch_db, sizeof scratch_db, "itest_faults_%s", uniq());
    pg_ok(pg_admin("postgres"), strf("CREATE DATABASE %s OWNER cust_svc", scratch_db));
    const char *url = strf("postgresql://cust_svc@127.0.0.1:%s/%s", it_env("PGPORT"), scratch_db);
    int port = free_port();
    const char *base = base_at(port);
    const char *label = strf("itest-faults-import-%d", port);
    it_extra[0] = start_daemon("cust", port, url, grid_url(), label);
    assert_true(it_extra[0] > 0);
    PGconn *db = pg_admin(scratch_db);

    char *tag = uniq();
    char **a = fresh_codes("AD", IMP_LINES), **b = fresh_codes("AD", IMP_LINES);
    body *fa = address_file(a, tag), *fb = address_file(b, tag);
    fprintf(stderr, "# import: %d lines, %zu bytes, batch=%d (%d batches)\n", IMP_LINES, fa->len,
            IMP_BATCH, IMP_BATCHES);

    /* The import in a thread; the daemon killed once a tenth of the batches are in. */
    const char *import_url = strf("%s/v1/addresses:import?batch=%d", base, IMP_BATCH);
    bg_call call = {"POST", import_url, fa,
                    {.key = KEY_MARKETING, .content_type = NDJSON, .timeout_s = 180}, NULL, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, bg_run, &call), 0);
    const char *count_sql = "SELECT count(*) FROM changes WHERE type = 'address.imported'";
    double t0 = now_s();
    long long at_kill = 0;
    while (!atomic_load(&call.done) && now_s() - t0 < 120) {
        at_kill = count_of(db, count_sql);
        if (at_kill >= IMP_BATCHES / 10) break;
        sleep_ms(5);
    }
    int finished_first = atomic_load(&call.done);
    if (!finished_first) {
        kill9(it_extra[0]);
        it_extra[0] = -1;
    }
    double killed_at = now_s() - t0;
    pthread_join(t, NULL);
    if (finished_first) {
        api_dump(call.resp);
        fail_msg("the import ended (%.2f s) before it could be killed with a few batches in; "
                 "make it larger",
                 killed_at);
    }
    fprintf(stderr, "# killed after %.2f s with %lld batches committed; the client got: %s\n",
            killed_at, at_kill, answer_line(call.resp));

    /* Until the killed daemon's sessions are gone, a batch could still commit. */
    const char *sessions = "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND "
                           "pid <> pg_backend_pid()";
    const char *dbname = scratch_db;
    double w0 = now_s();
    long long left;
    while ((left = atoll(PQgetvalue(pg_params(db, sessions, 1, &dbname), 0, 0))) > 0 &&
           now_s() - w0 < 15)
        sleep_ms(50);
    assert_int_equal(left, 0);

    /* Whole batches, and a prefix of them. */
    json_t *have = codes_found(db, "SELECT code FROM addresses WHERE code = ANY($1::text[])", a,
                               IMP_LINES);
    int loaded = 0, ended = 0;
    for (int j = 0; j < IMP_BATCHES; j++) {
        int in = 0;
        for (int i = j * IMP_BATCH; i < (j + 1) * IMP_BATCH; i++)
            in += json_object_get(have, a[i]) != NULL;
        if (in != 0 && in != IMP_BATCH)
            fail_msg("batch %d (lines %d-%d) is partly stored: %d of %d rows", j + 1,
                     j * IMP_BATCH + 1, (j + 1) * IMP_BATCH, in, IMP_BATCH);
        if (in && ended)
            fail_msg("batch %d is stored although an earlier one is not: not a prefix", j + 1);
        if (in) loaded++;
        else ended = 1;
    }
    long long rows = count_of(db, "SELECT count(*) FROM addresses");
    assert_int_equal(rows, (long long)loaded * IMP_BATCH);
    fprintf(stderr, "# after the kill: %d whole batches (%d rows) stored, no partial batch\n",
            loaded, loaded * IMP_BATCH);
    assert_true(loaded >= at_kill);
    assert_true(loaded < IMP_BATCHES);
    /* one imported change per stored batch, naming its codes */
    PGresult *ch = pg_ok(db, "SELECT code, after->>'last', after->>'count' FROM changes WHERE "
                             "type = 'address.imported' ORDER BY seq");
    assert_int_equal(PQntuples(ch), loaded);
    for (int j = 0; j < loaded; j++) {
        assert_string_equal(PQgetvalue(ch, j, 0), a[j * IMP_BATCH]);
        assert_string_equal(PQgetvalue(ch, j, 1), a[(j + 1) * IMP_BATCH - 1]);
        assert_int_equal(atoi(PQgetvalue(ch, j, 2)), IMP_BATCH);
    }

    /* Restarted, the same import again. */
    double r0 = now_s();
    it_extra[0] = start_daemon("cust", port, url, grid_url(), label);
    assert_true(it_extra[0] > 0);
    fprintf(stderr, "# the daemon was ready again %.2f s after its restart\n", now_s() - r0);
    api_opts io = {.key = KEY_MARKETING, .content_type = NDJSON, .timeout_s = 180};
    api_resp *again = api_call("POST", import_url, &io, fa->s, fa->len);
    json_t *first_error = json_array_get(json_object_get(again->json, "errors"), 0);
    fprintf(stderr, "# the same import again (%.2f s): %ld, lines %lld, imported %lld, rejected "
                    "%lld, batches %lld, %zu rejected batches, %zu errors, first: %s\n",
            again->seconds, again->status, jint(again->json, "lines"),
            jint(again->json, "imported"), jint(again->json, "rejected"),
            jint(again->json, "batches"),
            json_array_size(json_object_get(again->json, "rejected_batches")),
            json_array_size(json_object_get(again->json, "errors")),
            first_error ? jdump(json_incref(first_error)) : "none");
    /* the batches already in are refused as duplicates, exactly those */
    assert_problem(again, 422);
    assert_int_equal(member_int(again, "lines"), IMP_LINES);
    assert_int_equal(member_int(again, "imported"), IMP_LINES - loaded * IMP_BATCH);
    assert_int_equal(member_int(again, "rejected"), loaded * IMP_BATCH);
    assert_int_equal(member_int(again, "batches"), IMP_BATCHES);
    json_t *rb = json_object_get(again->json, "rejected_batches");
    assert_int_equal(json_array_size(rb), (size_t)loaded);
    for (int j = 0; j < loaded; j++) {
        json_t *x = json_array_get(rb, (size_t)j);
        assert_int_equal(jint(x, "first_line"), j * IMP_BATCH + 1);
        assert_int_equal(jint(x, "last_line"), (j + 1) * IMP_BATCH);
    }
    json_t *errors = json_object_get(again->json, "errors");
    assert_int_equal(json_array_size(errors), (size_t)loaded);
    for (int j = 0; j < loaded; j++) {
        json_t *e = json_array_get(errors, (size_t)j);
        assert_int_equal(jint(e, "line"), j * IMP_BATCH + 1);
        assert_string_equal(jstr(e, "field"), "code");
        assert_str_contains(jstr(e, "message"), a[j * IMP_BATCH]);
    }

    /* The same file under other codes, uninterrupted: the same rows. */
    api_resp *whole = api_call("POST", import_url, &io, fb->s, fb->len);
    assert_status(whole, 200);
    assert_int_equal(member_int(whole, "imported"), IMP_LINES);
    fprintf(stderr, "# the same lines under other codes, uninterrupted: %ld in %.2f s\n",
            whole->status, whole->seconds);
    json_t *stored = address_rows(db);
    assert_int_equal(json_object_size(stored), 2 * IMP_LINES);
    for (int i = 0; i < IMP_LINES; i++) {
        const char *x = json_string_value(json_object_get(stored, a[i]));
        const char *y = json_string_value(json_object_get(stored, b[i]));
        if (!x || !y || strcmp(x, y) != 0)
            fail_msg("line %d: interrupted and resent %s = [%s], uninterrupted %s = [%s]", i + 1,
                     a[i], x ? x : "(missing)", b[i], y ? y : "(missing)");
    }
    /* and the same history: one imported change per batch of each file */
    ch = pg_ok(db, "SELECT code, after->>'last', count(*) OVER (PARTITION BY code) FROM changes "
                   "WHERE type = 'address.imported'");
    assert_int_equal(PQntuples(ch), 2 * IMP_BATCHES);
    json_t *firsts = jkeep(json_object());
    for (int i = 0; i < PQntuples(ch); i++) {
        assert_string_equal(PQgetvalue(ch, i, 2), "1");
        json_object_set_new(firsts, PQgetvalue(ch, i, 0), json_string(PQgetvalue(ch, i, 1)));
    }
    for (int j = 0; j < IMP_BATCHES; j++) {
        assert_string_equal(jstr(firsts, a[j * IMP_BATCH]), a[(j + 1) * IMP_BATCH - 1]);
        assert_string_equal(jstr(firsts, b[j * IMP_BATCH]), b[(j + 1) * IMP_BATCH - 1]);
    }
    int st = daemon_stop(it_extra[0], 15);
    it_extra[0] = -1;
    assert_int_equal(st, 0);
}

/* ---- 2. PostgreSQL killed under writes -------------------------------------------------- */

/* A PostgreSQL cluster of this test's own (scripts/pg.sh with another RUN_DIR
 * and port), so the run's stack never loses its database. */
static struct {
    char run_dir[128];
    int port;
    char pgdata[512];
    char grid_db[256], cust_db[256];
} own_pg;

/* RUN_DIR=<ours> PGPORT=<ours> scripts/pg.sh cmd; its exit status. Full
 * durability on commit (synchronous_commit on); without fsync, which only
 * matters if the machine itself fails, not a process. */
static int own_pg_script(const char *cmd)
{
    const char *script = getenv("PG_SCRIPT");
    if (!script || !*script) return -1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(2, 1); /* keep the TAP stream clean */
        char port[16];
        snprintf(port, sizeof port, "%d", own_pg.port);
        setenv("RUN_DIR", own_pg.run_dir, 1);
        setenv("PGPORT", port, 1);
        setenv("PG_FAST", "0", 1);
        setenv("PG_OPTS", "-c fsync=off -c full_page_writes=off", 1);
        execl(script, script, cmd, (char *)NULL);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void env_file_value(const char *path, const char *key, char *out, size_t cap)
{
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[1024];
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, kl) == 0 && line[kl] == '=') {
            line[strcspn(line, "\n")] = '\0';
            snprintf(out, cap, "%s", line + kl + 1);
        }
    }
    fclose(f);
}

static int destroy_own_pg(void **state)
{
    for (int i = 0; i < 2; i++) {
        daemon_kill(it_extra[i]);
        it_extra[i] = -1;
    }
    if (own_pg.run_dir[0]) {
        if (own_pg_script("destroy") != 0)
            fprintf(stderr, "# could not remove the cluster of %s\n", own_pg.run_dir);
        char path[256];
        snprintf(path, sizeof path, "%s/pg.env", own_pg.run_dir);
        unlink(path);
        rmdir(own_pg.run_dir);
        own_pg.run_dir[0] = '\0';
    }
    return it_teardown(state);
}

static pid_t postmaster_pid(void)
{
    char path[600];
    snprintf(path, sizeof path, "%s/postmaster.pid", own_pg.pgdata);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long pid = -1;
    if (fscanf(f, "%ld", &pid) != 1) pid = -1;
    fclose(f);
    return (pid_t)pid;
}

/* Codes or tags, added from several threads. */
typedef struct ledger {
    pthread_mutex_t mu;
    char **v;
    int n, cap;
} ledger;

static void ledger_free(void *p)
{
    ledger *l = p;
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

static ledger *ledger_new(void)
{
    ledger *l = calloc(1, sizeof *l);
    assert_non_null(l);
    pthread_mutex_init(&l->mu, NULL);
    return it_track(l, ledger_free);
}

static void ledger_add(ledger *l, const char *code)
{
    char *c = strdup(code);
    if (!c) abort();
    pthread_mutex_lock(&l->mu);
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->v = realloc(l->v, (size_t)l->cap * sizeof *l->v);
        if (!l->v) abort();
    }
    l->v[l->n++] = c;
    pthread_mutex_unlock(&l->mu);
}

enum { W_GRID, W_CUST, W_CROSS };

/* What the writers create, and how to find it: by the code a 201 gave (a
 * link by its from end), and by the unique tag each request carried (its
 * name or detail; a link's tag is its access point), for the refused ones. */
enum { T_SS, T_AP, T_LINK, T_AD, T_CU, T_MB, NTAB };

static const struct wtab {
    const char *what;
    int grid;
    const char *by_code, *by_tag;
} wtabs[NTAB] = {
    {"substations", 1, "SELECT code FROM substations WHERE code = ANY($1::text[])",
     "SELECT name FROM substations WHERE name = ANY($1::text[])"},
    {"access points", 1, "SELECT code FROM access_points WHERE code = ANY($1::text[])",
     "SELECT name FROM access_points WHERE name = ANY($1::text[])"},
    {"accesspoint-meterbox links", 1,
     "SELECT from_code FROM rel_accesspoint_meterbox WHERE valid_to IS NULL AND "
     "from_code = ANY($1::text[])",
     "SELECT from_code FROM rel_accesspoint_meterbox WHERE from_code = ANY($1::text[])"},
    {"addresses", 0, "SELECT code FROM addresses WHERE code = ANY($1::text[])",
     "SELECT detail FROM addresses WHERE detail = ANY($1::text[])"},
    {"customers", 0, "SELECT code FROM customers WHERE code = ANY($1::text[])",
     "SELECT name FROM customers WHERE name = ANY($1::text[])"},
    {"meter boxes", 0, "SELECT code FROM meter_boxes WHERE code = ANY($1::text[])",
     "SELECT name FROM meter_boxes WHERE name = ANY($1::text[])"},
};

typedef struct writes {
    const pair *p;
    ledger *acked[NTAB];   /* codes answered 201 */
    ledger *refused[NTAB]; /* tags of writes answered 503 */
    samples *ok_at[2];     /* when each 201 came, per platform (0 grid, 1 cust) */
    samples *latency;
    notes *bad;            /* anything but 201 and 503 with Retry-After */
    atomic_long answers, created, unavailable;
    atomic_int stop;
} writes;

typedef struct writer {
    writes *w;
    int kind;
} writer;

#define WRITE_TIMEOUT_S 10

/* One create of table t; the new code on 201, else NULL. */
static const char *w_create(writes *w, int t, const char *path, const char *key, json_t *obj,
                            const char *tag)
{
    int grid = wtabs[t].grid;
    char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (!text) abort();
    api_opts o = {.key = key, .timeout_s = WRITE_TIMEOUT_S};
    api_resp *r = api_call("POST", strf("%s%s", grid ? w->p->grid : w->p->cust, path), &o, text,
                           strlen(text));
    free(text);
    atomic_fetch_add(&w->answers, 1);
    samples_add(w->latency, r->seconds);
    if (r->status == 201) {
        const char *code = jstr(r->json, "code") ? jstr(r->json, "code") : jstr(r->json, "from");
        if (!code) {
            note(w->bad, "201 without a code: %s", answer_line(r));
            return NULL;
        }
        atomic_fetch_add(&w->created, 1);
        samples_add(w->ok_at[grid ? 0 : 1], now_s());
        ledger_add(w->acked[t], code);
        return code;
    }
    if (r->status == 503) ledger_add(w->refused[t], tag);
    if (r->status == 503 && r->retry_after[0] && it_is_problem(r, 503))
        atomic_fetch_add(&w->unavailable, 1);
    else
        note(w->bad, "%s (Retry-After '%s')", answer_line(r), r->retry_after);
    sleep_ms(20); /* not a tight loop of refusals */
    return NULL;
}

static void *writer_run(void *arg)
{
    writer *me = arg;
    writes *w = me->w;
    while (!atomic_load(&w->stop)) {
        const char *tag = strf("pgcrash-%s", uniq());
        if (me->kind == W_GRID) {
            w_create(w, T_SS, "/v1/substations", KEY_PRODUCTION,
                     json_pack("{s:s, s:f}", "name", tag, "voltage_kv", 110.0), tag);
        } else if (me->kind == W_CUST) {
            const char *ad = w_create(w, T_AD, "/v1/addresses", KEY_MARKETING,
                                      json_pack("{s:s, s:s, s:s, s:s}", "province", "浙江省",
                                                "city", "杭州市", "district", "西湖区", "detail",
                                                tag),
                                      tag);
            if (ad)
                w_create(w, T_CU, "/v1/customers", KEY_MARKETING,
                         json_pack("{s:s, s:s, s:s}", "name", tag, "category", "lv_resident",
                                   "address", ad),
                         tag);
        } else {
            /* a link on grid-svc naming a box that cust-svc keeps */
            const char *mb = w_create(w, T_MB, "/v1/meter-boxes", KEY_MARKETING,
                                      json_pack("{s:s}", "name", tag), tag);
            const char *ap = mb ? w_create(w, T_AP, "/v1/access-points", KEY_PRODUCTION,
                                           json_pack("{s:s}", "name", tag), tag)
                                : NULL;
            if (ap)
                w_create(w, T_LINK, "/v1/relations/accesspoint-meterbox", KEY_MARKETING,
                         json_pack("{s:s, s:s}", "from", ap, "to", mb), ap);
        }
        sleep_ms(5);
    }
    return NULL;
}

/* The first moment in s after t (0 when none). */
static double first_after(samples *s, double t)
{
    pthread_mutex_lock(&s->mu);
    double best = 0;
    for (int i = 0; i < s->n; i++)
        if (s->v[i] > t && (best == 0 || s->v[i] < best)) best = s->v[i];
    pthread_mutex_unlock(&s->mu);
    return best;
}

/* When PostgreSQL at port accepts connections again, after a crash. */
typedef struct pinger {
    int port;
    double up_at; /* 0 until then */
    atomic_int stop;
} pinger;

static void *pinger_run(void *arg)
{
    pinger *pg = arg;
    char conninfo[160];
    snprintf(conninfo, sizeof conninfo,
             "host=127.0.0.1 port=%d user=postgres dbname=postgres connect_timeout=2", pg->port);
    while (!atomic_load(&pg->stop)) {
        if (PQping(conninfo) == PQPING_OK) {
            pg->up_at = now_s();
            break;
        }
        sleep_ms(20);
    }
    return NULL;
}

/* How many of the codes or tags in led sql ($1 = text[]) does not find, or
 * (stored = 1) finds; the first few printed. */
static int check_ledger(PGconn *c, const char *sql, ledger *led, int stored, const char *what)
{
    if (led->n == 0) return 0;
    json_t *found = codes_found(c, sql, led->v, led->n);
    int bad = 0;
    for (int i = 0; i < led->n; i++) {
        if ((json_object_get(found, led->v[i]) != NULL) != stored) continue;
        if (bad++ < 5)
            fprintf(stderr, "# %s: %s %s\n", what, led->v[i],
                    stored ? "was refused (503) and is stored"
                           : "was acknowledged (201) and is not stored");
    }
    return bad;
}

static void postgres_killed_under_writes(void **state)
{
    (void)state;
    snprintf(own_pg.run_dir, sizeof own_pg.run_dir, "/tmp/itest-faults-pg.XXXXXX");
    if (!mkdtemp(own_pg.run_dir)) {
        own_pg.run_dir[0] = '\0';
        fail_msg("mkdtemp: %s", strerror(errno));
    }
    own_pg.port = free_port();
    double c0 = now_s();
    if (own_pg_script("start") != 0) fail_msg("scripts/pg.sh start for our own cluster failed");
    char env_path[256];
    snprintf(env_path, sizeof env_path, "%s/pg.env", own_pg.run_dir);
    env_file_value(env_path, "PGDATA", own_pg.pgdata, sizeof own_pg.pgdata);
    env_file_value(env_path, "GRID_DATABASE_URL", own_pg.grid_db, sizeof own_pg.grid_db);
    env_file_value(env_path, "CUST_DATABASE_URL", own_pg.cust_db, sizeof own_pg.cust_db);
    assert_true(own_pg.pgdata[0] && own_pg.grid_db[0] && own_pg.cust_db[0]);
    fprintf(stderr, "# our own PostgreSQL on port %d, ready after %.1f s\n", own_pg.port,
            now_s() - c0);

    pair *p = start_pair(own_pg.grid_db, own_pg.cust_db, NULL, "faults-pgkill");
    pid_t gpid = it_extra[0], cpid = it_extra[1];

    writes *w = it_track(calloc(1, sizeof *w), free);
    assert_non_null(w);
    w->p = p;
    for (int i = 0; i < NTAB; i++) {
        w->acked[i] = ledger_new();
        w->refused[i] = ledger_new();
    }
    w->ok_at[0] = samples_new();
    w->ok_at[1] = samples_new();
    w->latency = samples_new();
    w->bad = notes_new();
    enum { NW = 8 };
    writer ws[NW] = {{w, W_GRID}, {w, W_GRID},  {w, W_GRID},  {w, W_CUST},
                     {w, W_CUST}, {w, W_CUST}, {w, W_CROSS}, {w, W_CROSS}};
    pthread_t t[NW];
    for (int i = 0; i < NW; i++)
        assert_int_equal(pthread_create(&t[i], NULL, writer_run, &ws[i]), 0);

    double t0 = now_s();
    sleep_ms(2500);
    long before = atomic_load(&w->created);
    pid_t pm = postmaster_pid();
    int killed = pm > 0 && kill(pm, SIGKILL) == 0;
    double t_kill = now_s();
    sleep_ms(1500);
    pinger ping = {.port = own_pg.port};
    pthread_t tp;
    assert_int_equal(pthread_create(&tp, NULL, pinger_run, &ping), 0);
    /* Started again as soon as it lets itself be: until the killed server's
     * processes have all gone, it refuses (its shared memory is in use). */
    int started = 0;
    while (killed && !started && now_s() - t_kill < 60) {
        started = own_pg_script("start") == 0;
        if (!started) sleep_ms(500);
    }
    atomic_store(&ping.stop, 1);
    pthread_join(tp, NULL);
    double t_up = ping.up_at ? ping.up_at : now_s();
    /* Writing on until both platforms have stored writes again for a while. */
    while (now_s() - t_up < 30) {
        double g = first_after(w->ok_at[0], t_up), c = first_after(w->ok_at[1], t_up);
        if (g > 0 && c > 0 && now_s() - (g > c ? g : c) > 2) break;
        sleep_ms(100);
    }
    atomic_store(&w->stop, 1);
    for (int i = 0; i < NW; i++) pthread_join(t[i], NULL);
    double t_end = now_s();
    if (!killed) fail_msg("could not read or kill the postmaster (pid %d)", (int)pm);
    if (!started) fail_msg("our PostgreSQL did not start again within 60 s of the kill");

    double g_back = first_after(w->ok_at[0], t_up), c_back = first_after(w->ok_at[1], t_up);
    fprintf(stderr,
            "# writes for %.1f s: %ld answers, %ld created (%ld before the kill), %ld 503 with "
            "Retry-After; latency p50 %.3f s, p99 %.3f s, max %.3f s\n",
            t_end - t0, atomic_load(&w->answers), atomic_load(&w->created), before,
            atomic_load(&w->unavailable), samples_pct(w->latency, 50), samples_pct(w->latency, 99),
            samples_pct(w->latency, 100));
    fprintf(stderr,
            "# PostgreSQL killed at %.1f s, accepting connections again %.1f s later; the "
            "first 201 after that: grid-svc %+.2f s, cust-svc %+.2f s\n",
            t_kill - t0, t_up - t_kill, g_back ? g_back - t_up : -1, c_back ? c_back - t_up : -1);

    /* Every acknowledged write is stored. */
    PGconn *gdb = pg_at(own_pg.port, "grid"), *cdb = pg_at(own_pg.port, "cust");
    int lost = 0, refused_stored = 0;
    for (int i = 0; i < NTAB; i++) {
        PGconn *c = wtabs[i].grid ? gdb : cdb;
        int l = check_ledger(c, wtabs[i].by_code, w->acked[i], 0, "LOST");
        int r = check_ledger(c, wtabs[i].by_tag, w->refused[i], 1, "STORED");
        fprintf(stderr, "# %-28s acknowledged %5d, lost %d; refused (503) %4d, of them stored %d\n",
                wtabs[i].what, w->acked[i]->n, l, w->refused[i]->n, r);
        lost += l;
        refused_stored += r;
    }
    notes_show(w->bad, "answers that were neither 201 nor 503 with Retry-After");

    /* The same processes serve again. */
    assert_true(running(gpid) && running(cpid));
    api_opts ro = {.timeout_s = 10};
    assert_status(api_call("GET", strf("%s/readyz", p->grid), &ro, NULL, 0), 200);
    assert_status(api_call("GET", strf("%s/readyz", p->cust), &ro, NULL, 0), 200);
    create_ok(p->grid, "substations", KEY_PRODUCTION,
              jdump(json_pack("{s:s, s:f}", "name", "after the crash", "voltage_kv", 110.0)));
    create_ok(p->cust, "customers", KEY_MARKETING,
              jdump(json_pack("{s:s, s:s}", "name", "after the crash", "category", "hv")));

    if (lost) fail_msg("%d acknowledged writes were lost (listed above)", lost);
    if (refused_stored)
        fail_msg("%d writes answered 503 were stored all the same (listed above)", refused_stored);
    if (w->bad->count)
        fail_msg("%ld writes answered neither 201 nor 503 with Retry-After (listed above)",
                 w->bad->count);
    assert_true(atomic_load(&w->unavailable) > 0); /* the outage was seen */
    if (!g_back || !c_back || g_back - t_up > 15 || c_back - t_up > 15)
        fail_msg("writes were not served again within 15 s of PostgreSQL's restart");
    stop_pair();
}

/* ---- small grids ------------------------------------------------------------------------- */

/* A low-voltage chain SS → LN → TR ← AP → MB ← MT → MP → CU with NBOX boxes
 * of PER meters, made through the run's daemons. */
#define NBOX 2
#define PER 3

typedef struct chain {
    char *ss, *ln, *tr, *ap;
    char *mb[NBOX], *mt[NBOX * PER], *mp[NBOX * PER], *cu[NBOX * PER];
} chain;

static chain *build_chain(void)
{
    const char *g = grid_url(), *c = cust_url();
    chain *ch = it_track(calloc(1, sizeof *ch), free);
    assert_non_null(ch);
    ch->ss = create_substation(strf("faults SS %s", uniq()));
    ch->ln = create_line(KEY_PRODUCTION, strf("faults LN %s", uniq()), "public", 10);
    ch->tr = mk(g, "transformers", KEY_PRODUCTION,
                json_pack("{s:s, s:s, s:f, s:f}", "name", strf("faults TR %s", uniq()), "kind",
                          "public", "capacity_kva", 400.0, "voltage_kv", 10.0));
    ch->ap = mk(g, "access-points", KEY_PRODUCTION,
                json_pack("{s:s}", "name", strf("faults AP %s", uniq())));
    link_admin(g, "substation-line", ch->ss, ch->ln);
    link_admin(g, "line-transformer", ch->ln, ch->tr);
    link_admin(g, "accesspoint-transformer", ch->ap, ch->tr);
    for (int b = 0; b < NBOX; b++) {
        ch->mb[b] = mk(c, "meter-boxes", KEY_MARKETING,
                       json_pack("{s:s, s:i, s:i}", "name", strf("faults MB %d %s", b, uniq()),
                                 "rows", 2, "cols", 4));
        link_admin(g, "accesspoint-meterbox", ch->ap, ch->mb[b]);
        for (int k = 0; k < PER; k++) {
            int i = b * PER + k;
            ch->cu[i] = mk(c, "customers", KEY_MARKETING,
                           json_pack("{s:s, s:s, s:s}", "name", strf("faults CU %d %s", i, uniq()),
                                     "category", i % 2 ? "lv_nonresident" : "lv_resident",
                                     "phone", strf("139%08d", i)));
            ch->mp[i] = mk(c, "metering-points", KEY_MARKETING,
                           json_pack("{s:s, s:s}", "name", strf("MP %d", i), "customer",
                                     ch->cu[i]));
            ch->mt[i] = mk(c, "meters", KEY_MARKETING,
                           json_pack("{s:s, s:s}", "asset_no", strf("F%s", uniq()), "phase",
                                     "single"));
            link_admin(c, "meter-meterbox", ch->mt[i], ch->mb[b]);
            link_admin(c, "meter-meteringpoint", ch->mt[i], ch->mp[i]);
        }
    }
    return ch;
}

/* ---- 3. the peer killed in the middle of walks ----------------------------------------------- */

typedef struct side {
    int walk_on_grid; /* 1: walks on grid-svc, cust-svc killed; 0: the other way */
} side;

static const side WALK_ON_GRID = {1}, WALK_ON_CUST = {0};

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The answer as text, the elements of each top-level array in a fixed order
 * (a trace's nodes and edges are a set); malloc'ed. */
static char *canon(const json_t *o)
{
    json_t *c = json_deep_copy(o);
    if (!c) return NULL;
    const char *k;
    json_t *v;
    json_object_foreach(c, k, v) {
        if (!json_is_array(v)) continue;
        size_t n = json_array_size(v);
        char **t = calloc(n + 1, sizeof *t);
        if (!t) abort();
        for (size_t i = 0; i < n; i++)
            t[i] = json_dumps(json_array_get(v, i),
                              JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        qsort(t, n, sizeof *t, cmp_cstr);
        json_t *s = json_array();
        for (size_t i = 0; i < n; i++) {
            json_array_append_new(s, json_string(t[i] ? t[i] : ""));
            free(t[i]);
        }
        free(t);
        json_object_set_new(c, k, s);
    }
    char *out = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(c);
    return out;
}

#define NQ 4

typedef struct walks {
    const char *base;        /* the platform asked */
    const char *peer_name;   /* the one killed */
    const char *path[NQ];
    char *want[NQ];          /* canon of the answers before the kill */
    atomic_int stop;
    atomic_long full, missing;
    notes *partial, *bad;
    samples *fail_at;        /* when each answer that was not complete started */
    samples *ok_at;          /* when each complete answer started */
} walks;

static void walk_one(walks *w, int q)
{
    double t0 = now_s();
    api_opts o = {.key = KEY_DISPATCH, .timeout_s = 20};
    api_resp *r = api_call("GET", strf("%s%s", w->base, w->path[q]), &o, NULL, 0);
    if (r->status == 200) {
        char *got = canon(r->json);
        int same = got && strcmp(got, w->want[q]) == 0;
        free(got);
        if (same) {
            atomic_fetch_add(&w->full, 1);
            samples_add(w->ok_at, t0);
            return;
        }
        note(w->partial, "200 that is not the complete answer: %s", answer_line(r));
    } else if ((r->status == 502 || r->status == 504) && it_is_problem(r, (int)r->status) &&
               jstr(json_object_get(r->json, "missing"), "platform") &&
               strcmp(jstr(json_object_get(r->json, "missing"), "platform"), w->peer_name) == 0 &&
               !json_object_get(r->json, "nodes") && !json_object_get(r->json, "customers")) {
        atomic_fetch_add(&w->missing, 1);
    } else {
        note(w->bad, "%s", answer_line(r));
    }
    samples_add(w->fail_at, t0);
}

typedef struct walker {
    walks *w;
    int first;
} walker;

static void *walker_run(void *arg)
{
    walker *me = arg;
    for (int i = me->first; !atomic_load(&me->w->stop); i++) {
        walk_one(me->w, i % NQ);
        sleep_ms(5);
    }
    return NULL;
}

static void peer_killed_mid_walks(void **state)
{
    const side *s = *state;
    chain *ch = build_chain();
    pair *p = start_pair(it_env("GRID_DATABASE_URL"), it_env("CUST_DATABASE_URL"), NULL,
                         s->walk_on_grid ? "faults-walk-g" : "faults-walk-c");
    walks *w = it_track(calloc(1, sizeof *w), free);
    assert_non_null(w);
    w->base = s->walk_on_grid ? p->grid : p->cust;
    w->peer_name = s->walk_on_grid ? "cust-svc" : "grid-svc";
    w->path[0] = strf("/v1/trace/%s?direction=down", ch->ln);
    w->path[1] = strf("/v1/trace/%s?direction=up", ch->cu[PER + 1]);
    w->path[2] = strf("/v1/outage-impact?codes=%s", ch->ln);
    w->path[3] = strf("/v1/trace/%s?direction=up", ch->mb[1]);
    w->partial = notes_new();
    w->bad = notes_new();
    w->fail_at = samples_new();
    w->ok_at = samples_new();
    /* The complete answers, twice alike, and with the whole chain in them. */
    for (int q = 0; q < NQ; q++) {
        api_resp *r = api_get(w->base, w->path[q], KEY_DISPATCH);
        assert_status(r, 200);
        w->want[q] = it_track(canon(r->json), free);
        assert_non_null(w->want[q]);
        char *again = canon(api_get(w->base, w->path[q], KEY_DISPATCH)->json);
        int same = again && strcmp(again, w->want[q]) == 0;
        free(again);
        if (!same) fail_msg("two answers to %s differ before anything happened", w->path[q]);
    }
    assert_str_contains(w->want[0], ch->cu[NBOX * PER - 1]);
    assert_str_contains(w->want[1], ch->ss);
    assert_str_contains(w->want[2], ch->cu[0]);
    assert_str_contains(w->want[3], ch->ss);

    enum { NT = 3 };
    walker wk[NT];
    pthread_t t[NT];
    for (int i = 0; i < NT; i++) {
        wk[i] = (walker){w, i};
        assert_int_equal(pthread_create(&t[i], NULL, walker_run, &wk[i]), 0);
    }
    int victim = s->walk_on_grid ? 1 : 0;
    sleep_ms(1000);
    double t_kill = now_s();
    kill9(it_extra[victim]);
    it_extra[victim] = -1;
    sleep_ms(2000);
    double t_restart = now_s();
    restart_one(p, !s->walk_on_grid);
    double t_ready = now_s();
    sleep_ms(4000);
    atomic_store(&w->stop, 1);
    for (int i = 0; i < NT; i++) pthread_join(t[i], NULL);

    double last_fail = samples_pct(w->fail_at, 100);
    double first_ok = first_after(w->ok_at, t_ready);
    fprintf(stderr,
            "# walks on %s, %s killed: %ld complete 200, %ld 502/504 naming %s, %ld partial "
            "200, %ld other\n",
            s->walk_on_grid ? "grid-svc" : "cust-svc", w->peer_name, atomic_load(&w->full),
            atomic_load(&w->missing), w->peer_name, w->partial->count, w->bad->count);
    fprintf(stderr,
            "# %s was down %.2f s (restart took %.2f s); the last incomplete answer started "
            "%+.2f s after it was ready again, the first complete one %+.2f s\n",
            w->peer_name, t_ready - t_kill, t_ready - t_restart,
            w->fail_at->n ? last_fail - t_ready : 0, first_ok ? first_ok - t_ready : -1);
    notes_show(w->partial, "partial 200 answers");
    notes_show(w->bad, "answers that were neither complete nor a 502/504 naming the peer");
    if (w->partial->count)
        fail_msg("%ld answers were 200 with a partial answer (listed above)", w->partial->count);
    if (w->bad->count)
        fail_msg("%ld answers were neither complete nor a 502/504 naming %s (listed above)",
                 w->bad->count, w->peer_name);
    assert_true(atomic_load(&w->missing) > 0); /* the outage was seen */
    if (w->fail_at->n && last_fail - t_ready > 3)
        fail_msg("answers were still incomplete %.2f s after %s was back", last_fail - t_ready,
                 w->peer_name);
    assert_true(first_ok > 0);
    /* and once more, each complete */
    for (int q = 0; q < NQ; q++) {
        char *got = canon(api_get(w->base, w->path[q], KEY_DISPATCH)->json);
        int same = got && strcmp(got, w->want[q]) == 0;
        free(got);
        if (!same) fail_msg("%s is not the complete answer after the restart", w->path[q]);
    }
    stop_pair();
}

/* ---- 4. the peer stopped for 5 s ------------------------------------------------------------ */

static pid_t stopped_pid = -1;

static int resume_and_stop_extras(void **state)
{
    if (stopped_pid > 0) kill(stopped_pid, SIGCONT);
    stopped_pid = -1;
    return it_stop_extras(state);
}

enum { K_GET, K_LIST, K_CREATE, K_HEALTH, K_KEPT, K_READY, K_PEER, NK };
static const char *const kind_name[NK] = {"GET own object", "list", "create", "/healthz",
                                          "GET, kept alive", "/readyz", "GET via the peer"};

typedef struct obs {
    double t0, t1;
    int kind;
    long status;
    int problem;
} obs;

typedef struct stall {
    const char *base;
    int port;
    const char *own_get, *own_list, *create_path, *create_body, *create_key, *peer_get;
    atomic_int stop;
    pthread_mutex_t mu;
    obs *v;
    int n, cap;
    notes *bad;
} stall;

static void stall_free(void *p)
{
    stall *s = p;
    pthread_mutex_destroy(&s->mu);
    free(s->v);
    free(s);
}

static void stall_add(stall *s, obs x)
{
    pthread_mutex_lock(&s->mu);
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->v = realloc(s->v, (size_t)s->cap * sizeof *s->v);
        if (!s->v) abort();
    }
    s->v[s->n++] = x;
    pthread_mutex_unlock(&s->mu);
}

static void stall_call(stall *s, int kind)
{
    const char *path = kind == K_GET      ? s->own_get
                       : kind == K_LIST   ? s->own_list
                       : kind == K_CREATE ? s->create_path
                       : kind == K_HEALTH ? "/healthz"
                       : kind == K_READY  ? "/readyz"
                                          : s->peer_get;
    api_opts o = {.key = kind == K_CREATE ? s->create_key : KEY_DISPATCH, .timeout_s = 20};
    double t0 = now_s();
    api_resp *r = api_call(kind == K_CREATE ? "POST" : "GET", strf("%s%s", s->base, path), &o,
                           kind == K_CREATE ? s->create_body : NULL,
                           kind == K_CREATE ? strlen(s->create_body) : 0);
    obs x = {t0, now_s(), kind, r->status, it_is_problem(r, (int)r->status)};
    int want = kind == K_CREATE ? 201 : 200;
    if (kind != K_PEER && r->status != want) note(s->bad, "%s", answer_line(r));
    if (kind == K_PEER && r->status != 200 &&
        !((r->status == 504 || r->status == 502) && x.problem))
        note(s->bad, "%s", answer_line(r));
    stall_add(s, x);
}

/* Clients that keep their connections open, as most do (load balancers, the
 * peer platform's own client): unlike a new connection, which any free I/O
 * thread accepts, each of these is served by the one thread that holds it. */
enum { KEPT = 8 };

static void kept_run(stall *s)
{
    int fd[KEPT];
    const char *req = strf("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                           "Authorization: Bearer %s\r\n\r\n",
                           s->own_get, s->port, KEY_DISPATCH);
    size_t len = strlen(req);
    for (int k = 0; k < KEPT; k++) fd[k] = raw_connect(s->port);
    for (int i = 0; !atomic_load(&s->stop); i++) {
        int k = i % KEPT;
        double t0 = now_s();
        const char *resp =
            fd[k] >= 0 && raw_send(fd[k], req, len) == 0 ? raw_read_response(fd[k], 10) : "";
        obs x = {t0, now_s(), K_KEPT, raw_status(resp), 0};
        if (x.status != 200) {
            note(s->bad, "GET %s on a kept-alive connection -> %.200s", s->own_get,
                 resp[0] ? resp : "(no answer)");
            fd[k] = raw_connect(s->port);
        }
        stall_add(s, x);
        sleep_ms(10);
    }
}

typedef struct stall_thread {
    stall *s;
    int role; /* 0: own requests, 1: /readyz, 2: through the peer, 3: kept alive */
} stall_thread;

static void *stall_run(void *arg)
{
    stall_thread *me = arg;
    stall *s = me->s;
    for (int i = 0; !atomic_load(&s->stop); i++) {
        if (me->role == 0) {
            stall_call(s, i % 4); /* K_GET, K_LIST, K_CREATE, K_HEALTH */
            sleep_ms(10);
        } else if (me->role == 1) {
            stall_call(s, K_READY);
            sleep_ms(1000); /* a load balancer's probe */
        } else if (me->role == 3) {
            kept_run(s);
            break;
        } else {
            stall_call(s, K_PEER);
            sleep_ms(50);
        }
    }
    return NULL;
}

#define PEER_TIMEOUT_MS 2000

static void peer_stopped_does_not_slow_own_requests(void **state)
{
    const side *sd = *state;
    int grid = sd->walk_on_grid; /* the platform asked; its peer is stopped */
    static const char *const more[] = {"PEER_TIMEOUT_MS=2000", NULL};
    /* objects for both sides, made through the run's daemons */
    char *ss = create_substation(strf("stall SS %s", uniq()));
    char *cu = create_customer(strf("stall CU %s", uniq()), NULL);
    pair *p = start_pair(it_env("GRID_DATABASE_URL"), it_env("CUST_DATABASE_URL"), more,
                         grid ? "faults-stop-g" : "faults-stop-c");
    stall *s = calloc(1, sizeof *s);
    assert_non_null(s);
    pthread_mutex_init(&s->mu, NULL);
    it_track(s, stall_free);
    s->bad = notes_new();
    s->base = grid ? p->grid : p->cust;
    s->port = grid ? p->gport : p->cport;
    s->own_get = grid ? strf("/v1/substations/%s", ss) : strf("/v1/customers/%s", cu);
    s->own_list = grid ? "/v1/substations?limit=5" : "/v1/customers?limit=5";
    s->create_path = grid ? "/v1/substations" : "/v1/customers";
    s->create_key = grid ? KEY_PRODUCTION : KEY_MARKETING;
    s->create_body = grid ? jdump(json_pack("{s:s, s:f}", "name", "stall", "voltage_kv", 10.0))
                          : jdump(json_pack("{s:s, s:s}", "name", "stall", "category", "hv"));
    s->peer_get = grid ? strf("/v1/customers/%s", cu) : strf("/v1/substations/%s", ss);
    assert_status(api_get(s->base, s->peer_get, KEY_DISPATCH), 200);

    enum { NT = 6 };
    stall_thread st[NT] = {{s, 0}, {s, 0}, {s, 1}, {s, 2}, {s, 2}, {s, 3}};
    pthread_t t[NT];
    for (int i = 0; i < NT; i++)
        assert_int_equal(pthread_create(&t[i], NULL, stall_run, &st[i]), 0);
    sleep_ms(1000);
    stopped_pid = it_extra[grid ? 1 : 0];
    double t_stop = now_s();
    kill(stopped_pid, SIGSTOP);
    sleep_ms(5000);
    double t_cont = now_s();
    kill(stopped_pid, SIGCONT);
    stopped_pid = -1;
    sleep_ms(3000);
    atomic_store(&s->stop, 1);
    for (int i = 0; i < NT; i++) pthread_join(t[i], NULL);

    /* Figures per kind, for the requests that overlapped the stop. */
    samples *lat[NK], *own = samples_new();
    int peer_slow = 0, peer_early_ok = 0, peer_answers = 0;
    double peer_worst = 0;
    for (int k = 0; k < NK; k++) lat[k] = samples_new();
    for (int i = 0; i < s->n; i++) {
        obs *x = &s->v[i];
        if (x->t1 < t_stop || x->t0 > t_cont) continue;
        double took = x->t1 - x->t0;
        samples_add(lat[x->kind], took);
        if (x->kind <= K_KEPT) samples_add(own, took);
        if (x->kind == K_PEER) {
            peer_answers++;
            if (took > peer_worst) peer_worst = took;
            if (x->status != 200 && took > PEER_TIMEOUT_MS / 1000.0 + 1.5) peer_slow++;
            /* a 200 through a stopped peer can only come after it resumed, for a request
             * sent once the stop had taken hold (one in flight at SIGSTOP may have had
             * its answer already) */
            if (x->status == 200 && x->t0 > t_stop + 0.05 && x->t1 < t_cont) peer_early_ok++;
        }
    }
    fprintf(stderr, "# %s asked while %s was stopped for %.1f s (PEER_TIMEOUT_MS=%d):\n",
            grid ? "grid-svc" : "cust-svc", grid ? "cust-svc" : "grid-svc", t_cont - t_stop,
            PEER_TIMEOUT_MS);
    for (int k = 0; k < NK; k++)
        fprintf(stderr, "#   %-18s %4d requests, p50 %.3f s, p99 %.3f s, max %.3f s\n",
                kind_name[k], lat[k]->n, samples_pct(lat[k], 50), samples_pct(lat[k], 99),
                samples_pct(lat[k], 100));
    notes_show(s->bad, "unexpected answers");

    /* After SIGCONT, all is normal again. */
    double c0 = now_s();
    api_resp *back;
    do {
        api_opts o = {.key = KEY_DISPATCH, .timeout_s = 10};
        back = api_call("GET", strf("%s%s", s->base, s->peer_get), &o, NULL, 0);
        if (back->status == 200) break;
        sleep_ms(100);
    } while (now_s() - c0 < 5);
    double first_ok = 0;
    for (int i = 0; i < s->n; i++) {
        obs *x = &s->v[i];
        if (x->kind == K_PEER && x->status == 200 && x->t1 > t_cont &&
            (!first_ok || x->t1 < first_ok))
            first_ok = x->t1;
    }
    fprintf(stderr, "# the first 200 through the peer came %.2f s after SIGCONT\n",
            first_ok ? first_ok - t_cont : -1);
    assert_status(back, 200);
    api_opts ro = {.timeout_s = 10};
    api_resp *ready = api_call("GET", strf("%s/readyz", s->base), &ro, NULL, 0);
    assert_status(ready, 200);
    assert_string_equal(jstr(json_object_get(ready->json, "peer"), "state"), "ok");

    if (s->bad->count) fail_msg("%ld unexpected answers (listed above)", s->bad->count);
    assert_true(own->n >= 20);
    if (samples_pct(own, 99) > 0.5)
        fail_msg("requests that do not need the peer took p99 %.3f s (max %.3f s) while it was "
                 "stopped",
                 samples_pct(own, 99), samples_pct(own, 100));
    if (samples_pct(own, 100) > PEER_TIMEOUT_MS / 1000.0 - 0.1)
        fail_msg("a request that does not need the peer took %.3f s while it was stopped, as "
                 "long as the peer timeout",
                 samples_pct(own, 100));
    if (samples_pct(lat[K_READY], 100) > 1.5)
        fail_msg("/readyz took up to %.3f s while the peer was stopped",
                 samples_pct(lat[K_READY], 100));
    assert_true(peer_answers > 0);
    if (peer_slow)
        fail_msg("%d requests through the stopped peer took longer than the peer timeout "
                 "(worst %.2f s)",
                 peer_slow, peer_worst);
    assert_int_equal(peer_early_ok, 0);
    stop_pair();
}

/* ---- 5. slow clients ----------------------------------------------------------------------- */

#define SLOW_CONNS 500

typedef struct slowset {
    int fd[SLOW_CONNS];
    int open[SLOW_CONNS];
    int n;
    atomic_int stop;
    atomic_int closed_by_server;
    atomic_long bytes;
} slowset;

static void slowset_free(void *p)
{
    slowset *s = p;
    for (int i = 0; i < s->n; i++)
        if (s->open[i]) close(s->fd[i]);
    free(s);
}

/* A few bytes on each connection about once a second, never the end of the
 * request head. */
static void *slow_run(void *arg)
{
    slowset *s = arg;
    static const char head[] = "ET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    size_t pos[SLOW_CONNS] = {0};
    while (!atomic_load(&s->stop)) {
        double round = now_s();
        for (int i = 0; i < s->n && !atomic_load(&s->stop); i++) {
            if (!s->open[i]) continue;
            char piece[3];
            for (int k = 0; k < 3; k++, pos[i]++)
                piece[k] = pos[i] < sizeof head - 1 ? head[pos[i]] : "abcdefgh"[pos[i] % 8];
            char sink[512];
            ssize_t got = recv(s->fd[i], sink, sizeof sink, MSG_DONTWAIT);
            ssize_t n = send(s->fd[i], piece, sizeof piece, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ||
                (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
                close(s->fd[i]);
                s->open[i] = 0;
                atomic_fetch_add(&s->closed_by_server, 1);
            } else if (n > 0) {
                atomic_fetch_add(&s->bytes, n);
            }
            if (i % 50 == 49) sleep_ms(100); /* spread over the second */
        }
        double left = 1.0 - (now_s() - round);
        if (left > 0) sleep_ms((long)(left * 1000));
    }
    return NULL;
}

typedef struct normal {
    const char *base, *get;
    atomic_int stop;
    samples *lat;
    notes *bad;
} normal;

static void *normal_run(void *arg)
{
    normal *nm = arg;
    for (int i = 0; !atomic_load(&nm->stop); i++) {
        api_opts o = {.key = KEY_DISPATCH, .timeout_s = 20};
        const char *path = i % 3 == 0   ? "/healthz"
                           : i % 3 == 1 ? nm->get
                                        : "/v1/substations?limit=3";
        api_resp *r = api_call("GET", strf("%s%s", nm->base, path), &o, NULL, 0);
        samples_add(nm->lat, r->seconds);
        if (r->status != 200) note(nm->bad, "%s", answer_line(r));
        sleep_ms(20);
    }
    return NULL;
}

static long open_files_of(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d) return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static void limit_of(pid_t pid, char *out, size_t cap)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/limits", (int)pid);
    snprintf(out, cap, "unknown");
    FILE *f = fopen(path, "r");
    if (!f) return;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "Max open files", 14) == 0) {
            char soft[32], hard[32];
            if (sscanf(line + 14, "%31s %31s", soft, hard) == 2)
                snprintf(out, cap, "soft %s, hard %s", soft, hard);
        }
    fclose(f);
}

static void slow_clients_do_not_stop_others(void **state)
{
    (void)state;
    /* Our sockets, curl's and the daemon's (which inherits our limit). */
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rlim_t want = SLOW_CONNS + 512;
    fprintf(stderr, "# open-file limit of the test: soft %llu, hard %llu\n",
            (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
            fail_msg("the hard open-file limit (%llu) is below the %llu this test needs",
                     (unsigned long long)rl.rlim_max, (unsigned long long)want);
        rl.rlim_cur = want;
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
        fprintf(stderr, "# soft limit raised to %llu\n", (unsigned long long)want);
    }
    int port = free_port();
    const char *base = base_at(port);
    it_extra[0] = start_daemon("grid", port, it_env("GRID_DATABASE_URL"), cust_url(),
                               strf("itest-faults-slow-%d", port));
    assert_true(it_extra[0] > 0);
    char limit[256];
    limit_of(it_extra[0], limit, sizeof limit);
    long fds_idle = open_files_of(it_extra[0]);
    char *ss = create_substation(strf("slow SS %s", uniq()));

    normal *nm = it_track(calloc(1, sizeof *nm), free);
    assert_non_null(nm);
    nm->base = base;
    nm->get = strf("/v1/substations/%s", ss);
    nm->lat = samples_new();
    nm->bad = notes_new();

    slowset *s = calloc(1, sizeof *s);
    assert_non_null(s);
    it_track(s, slowset_free);
    int refused = 0;
    for (int i = 0; i < SLOW_CONNS; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(fd >= 0);
        struct sockaddr_in a = {0};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons((uint16_t)port);
        if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
            send(fd, "G", 1, MSG_NOSIGNAL) != 1) {
            close(fd);
            refused++;
            continue;
        }
        s->fd[s->n] = fd;
        s->open[s->n++] = 1;
    }
    pthread_t ts, tn;
    assert_int_equal(pthread_create(&ts, NULL, slow_run, s), 0);
    sleep_ms(1500); /* every slow connection has been accepted and is being fed */
    long fds_busy = open_files_of(it_extra[0]);
    assert_int_equal(pthread_create(&tn, NULL, normal_run, nm), 0);
    sleep_ms(10000);
    atomic_store(&nm->stop, 1);
    pthread_join(tn, NULL);
    int still_open = SLOW_CONNS - refused - atomic_load(&s->closed_by_server);
    atomic_store(&s->stop, 1);
    pthread_join(ts, NULL);

    fprintf(stderr,
            "# %d slow connections (%d refused at connect), %ld bytes trickled in; %d closed by "
            "the daemon, %d still open after 11.5 s\n",
            SLOW_CONNS, refused, atomic_load(&s->bytes), atomic_load(&s->closed_by_server),
            still_open);
    fprintf(stderr, "# the daemon: open-file limit %s; %ld files open idle, %ld with the slow "
                    "clients\n",
            limit, fds_idle, fds_busy);
    fprintf(stderr, "# other clients meanwhile: %d requests, p50 %.3f s, p99 %.3f s, max %.3f s\n",
            nm->lat->n, samples_pct(nm->lat, 50), samples_pct(nm->lat, 99),
            samples_pct(nm->lat, 100));
    notes_show(nm->bad, "failed requests of other clients");

    /* The slow sockets closed: the daemon is as before. */
    for (int i = 0; i < s->n; i++)
        if (s->open[i]) {
            close(s->fd[i]);
            s->open[i] = 0;
        }
    sleep_ms(500);
    assert_status(api_get(base, "/healthz", NULL), 200);
    fprintf(stderr, "# after closing them: %ld files open\n", open_files_of(it_extra[0]));

    if (nm->bad->count)
        fail_msg("%ld requests of other clients failed (listed above)", nm->bad->count);
    assert_true(nm->lat->n >= 50);
    if (samples_pct(nm->lat, 99) > 0.5 || samples_pct(nm->lat, 100) > 2)
        fail_msg("other clients waited p99 %.3f s, max %.3f s while slow clients held "
                 "connections",
                 samples_pct(nm->lat, 99), samples_pct(nm->lat, 100));
    int st = daemon_stop(it_extra[0], 15);
    it_extra[0] = -1;
    assert_int_equal(st, 0);
}

/* ---- many idle connections ---------------------------------------------------------- */

static void close_fds(void *p)
{
    int *fds = p;
    for (int i = 0; fds[i] >= 0; i++) close(fds[i]);
    free(fds);
}

/* A daemon started with the common soft limit of 1024 open files took
 * about 1,020 connections (libmicrohttpd's default) and then served no one:
 * it raises its own limit for MAX_CONNECTIONS (4096) and tells libmicrohttpd. */
static void idle_connections_do_not_shut_others_out(void **state)
{
    (void)state;
    enum { IDLE = 1200 };
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 4096 + 512) {
        fprintf(stderr, "# the hard open-file limit (%llu) leaves nothing to test\n",
                (unsigned long long)rl.rlim_max);
        skip();
    }
    rlim_t was = rl.rlim_cur;
    rl.rlim_cur = 1024; /* the daemon inherits it */
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    int port = free_port();
    it_extra[0] = start_daemon("grid", port, it_env("GRID_DATABASE_URL"), cust_url(),
                               strf("itest-faults-idle-%d", port));
    rl.rlim_cur = was > IDLE + 512 ? was : IDLE + 512;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_true(it_extra[0] > 0);
    int *fds = calloc(IDLE + 1, sizeof *fds);
    assert_non_null(fds);
    for (int i = 0; i <= IDLE; i++) fds[i] = -1;
    it_track(fds, close_fds);
    int opened = 0;
    for (int i = 0; i < IDLE; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(fd >= 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                                .sin_port = htons((uint16_t)port)};
        if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
            close(fd);
            continue;
        }
        fds[opened++] = fd;
    }
    sleep_ms(1000); /* all accepted (or not) by now */
    char limit[256];
    limit_of(it_extra[0], limit, sizeof limit);
    api_opts o = {.key = KEY_DISPATCH, .timeout_s = 5};
    api_resp *r = api_call("GET", strf("%s/v1/substations?limit=1", base_at(port)), &o, NULL, 0);
    fprintf(stderr, "# %d idle connections open; the daemon's open-file limit: %s; %ld files "
                    "open; a request then: %ld in %.3f s\n",
            opened, limit, open_files_of(it_extra[0]), r->status, r->seconds);
    assert_int_equal(opened, IDLE);
    assert_status(r, 200);
}

/* ---- 6. an outage announced without grid-svc ---------------------------------------------- */

/* Its list needs the grid: 502 naming grid-svc, and no outage, list or
 * notice stored; announced again once grid-svc is back, the list is whole. */
static void outage_announced_without_grid_stores_nothing(void **state)
{
    (void)state;
    chain *ch = build_chain();
    pair *p = start_pair(it_env("GRID_DATABASE_URL"), it_env("CUST_DATABASE_URL"), NULL,
                         "faults-outage");
    const char *announce = jdump(json_pack("{s:s, s:[s], s:s}", "kind", "fault", "elements", ch->ln,
                                       "starts_at", "2026-12-01T00:00:00Z"));
    assert_int_equal(daemon_stop(it_extra[0], 15), 0);
    it_extra[0] = -1;
    api_resp *r = api_post(p->cust, "/v1/outages", KEY_DISPATCH, announce);
    assert_problem(r, 502);
    assert_string_equal(jstr(json_object_get(r->json, "missing"), "platform"), "grid-svc");
    assert_int_equal(count_where(p->cust, "outages", strf("elements=%s", ch->ln)), 0);
    assert_int_equal(count_where(p->cust, "notices", strf("customer=%s", ch->cu[0])), 0);
    restart_one(p, 1);
    r = api_post(p->cust, "/v1/outages", KEY_DISPATCH, announce);
    assert_status(r, 201);
    assert_int_equal(jint(r->json, "customers"), NBOX * PER);
    assert_int_equal(count_where(p->cust, "notices", strf("outage=%s", jstr(r->json, "code"))),
                     NBOX * PER);
    stop_pair();
}

int main(void)
{
    it_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(import_killed_midway_loads_whole_batches, drop_scratch),
        cmocka_unit_test_teardown(postgres_killed_under_writes, destroy_own_pg),
        {"peer_killed_mid_walks (walks on grid-svc, cust-svc killed)", peer_killed_mid_walks,
         NULL, it_stop_extras, (void *)&WALK_ON_GRID},
        {"peer_killed_mid_walks (walks on cust-svc, grid-svc killed)", peer_killed_mid_walks,
         NULL, it_stop_extras, (void *)&WALK_ON_CUST},
        {"peer_stopped_does_not_slow_own_requests (grid-svc asked, cust-svc stopped)",
         peer_stopped_does_not_slow_own_requests, NULL, resume_and_stop_extras,
         (void *)&WALK_ON_GRID},
        {"peer_stopped_does_not_slow_own_requests (cust-svc asked, grid-svc stopped)",
         peer_stopped_does_not_slow_own_requests, NULL, resume_and_stop_extras,
         (void *)&WALK_ON_CUST},
        cmocka_unit_test_teardown(slow_clients_do_not_stop_others, it_stop_extras),
        cmocka_unit_test_teardown(idle_connections_do_not_shut_others_out, it_stop_extras),
        cmocka_unit_test_teardown(outage_announced_without_grid_stores_nothing, it_stop_extras),
    };
    return cmocka_run_group_tests_name("faults", tests, it_group_setup, it_group_teardown);
}
