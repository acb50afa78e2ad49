/* test_replica.c -- reads on a streaming standby (DATABASE_READ_URL):
 *   (a) a cust-svc given a standby serves reads from it, as /metrics counts
 *       and the standby's own sessions show; a write reaches it once
 *       replayed;
 *   (b) a write is answered by the primary, however far behind the standby
 *       is; reads that must see the primary (the event stream, a caller's
 *       X-Read-Primary, the peer's checks for a write) get it, and a trace
 *       leg the peer asks for reads the standby;
 *   (c) with the standby stopped, reads fall back to the primary (200s, a
 *       counter, one warning in the log), and return to the standby once it
 *       is back;
 *   (d) that daemon exits 0 on SIGTERM with a clean log.
 *
 * The group makes its own standby of the run's cluster (scripts/pg.sh
 * standby-start, on a free port) and its own cust-svc reading from it, so
 * the run's two daemons stay as they are; the group's teardown removes both. */
#include "client.h"

#include <stdlib.h>
#include <sys/stat.h>

#define READS_REPLICA "db_reads_total{pool=\"replica\"}"
#define READS_PRIMARY "db_reads_total{pool=\"primary\"}"
#define FALLBACKS "replica_fallbacks_total"
#define WARNING "read replica unavailable"
#define BACK "read replica back"
#define REPLAY_S 10.0 /* how long a write may take to reach the standby */

static struct {
    int standby_port;
    pid_t pid; /* the cust-svc reading from the standby */
    char base[64];
    char log[512];
    int standby_stopped;
} g = {.pid = -1};

/* ---- the standby and its daemon ----------------------------------------------------- */

static int start_group(void **state)
{
    if (it_group_setup(state) != 0) return -1;
    g.standby_port = free_port();
    char port[16];
    snprintf(port, sizeof port, "%d", g.standby_port);
    setenv("STANDBY_PORT", port, 1); /* for every pg.sh standby-* from here on */
    /* A fresh copy: one left by an interrupted run may lack the WAL since. */
    if (pg_script("standby-destroy") != 0 || pg_script("standby-start") != 0) {
        fprintf(stderr, "# scripts/pg.sh standby-start failed\n");
        return -1;
    }
    int http = free_port();
    snprintf(g.base, sizeof g.base, "http://127.0.0.1:%d", http);
    snprintf(g.log, sizeof g.log, "%s/itest-replica-%d.log", getenv("RUN_DIR"), http);
    char *read_url = strf("postgresql://cust_svc@127.0.0.1:%d/%s", g.standby_port,
                          db_name_of("CUST_DATABASE_URL"));
    setenv("DATABASE_READ_URL", read_url, 1); /* inherited by the daemon only */
    g.pid = start_daemon("cust", http, it_env("CUST_DATABASE_URL"), grid_url(),
                         strf("itest-replica-%d", http));
    unsetenv("DATABASE_READ_URL");
    it_teardown(state);
    return g.pid > 0 ? 0 : -1;
}

static int stop_group(void **state)
{
    daemon_kill(g.pid);
    if (pg_script("standby-destroy") != 0) fprintf(stderr, "# could not remove the standby\n");
    return it_group_teardown(state);
}

static void finish(void *c)
{
    PQfinish(c);
}

/* A superuser connection to the standby's copy of the cust database. */
static PGconn *standby_admin(void)
{
    char port[16];
    snprintf(port, sizeof port, "%d", g.standby_port);
    const char *keys[] = {"host", "port", "user", "dbname", "connect_timeout", NULL};
    const char *vals[] = {"127.0.0.1", port, "postgres", db_name_of("CUST_DATABASE_URL"), "10",
                          NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 0);
    it_track(c, finish);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("cannot connect to the standby: %s", PQerrorMessage(c));
    return c;
}

/* Teardown of tests that pause replay or stop the standby: both undone. */
static int standby_back(void **state)
{
    if (g.standby_stopped) {
        if (pg_script("standby-start") != 0) fprintf(stderr, "# could not restart the standby!\n");
        g.standby_stopped = 0;
    }
    char port[16];
    snprintf(port, sizeof port, "%d", g.standby_port);
    const char *keys[] = {"host", "port", "user", "dbname", NULL};
    const char *vals[] = {"127.0.0.1", port, "postgres", "postgres", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 0);
    PQclear(PQexec(c, "SELECT pg_wal_replay_resume()"));
    PQfinish(c);
    return it_stop_extras(state);
}

static void pause_replay(void)
{
    pg_ok(standby_admin(), "SELECT pg_wal_replay_pause()");
}

static void resume_replay(void)
{
    pg_ok(standby_admin(), "SELECT pg_wal_replay_resume()");
}

/* ---- helpers -------------------------------------------------------------------------- */

static double metric(const char *name)
{
    api_resp *r = api_get(g.base, "/metrics", NULL);
    assert_status(r, 200);
    return metric_sum(r->body, name);
}

static api_resp *read_primary(const char *path)
{
    const char *const hdrs[] = {"X-Read-Primary: 1", NULL};
    api_opts o = {.key = KEY_DISPATCH, .headers = hdrs};
    return api_call("GET", strf("%s%s", g.base, path), &o, NULL, 0);
}

/* GETs path from the standby's daemon until member key is want (want NULL:
 * until it answers 200), for at most REPLAY_S; the last answer. */
static api_resp *get_when(const char *path, const char *key, const char *want)
{
    double deadline = now_s() + REPLAY_S;
    for (;;) {
        api_resp *r = api_get(g.base, path, KEY_DISPATCH);
        int there = r->status == 200 && (!want || strcmp(jstr(r->json, key), want) == 0);
        if (there || now_s() >= deadline) return r;
        sleep_ms(50);
    }
}

static char *new_customer(const char *base, const char *name)
{
    api_resp *r = create_ok(base, "customers", KEY_MARKETING,
                            jdump(json_pack("{s:s, s:s}", "name", name, "category", "hv")));
    return it_strdup(jstr(r->json, "code"));
}

static long log_size(void)
{
    struct stat st;
    return stat(g.log, &st) == 0 ? (long)st.st_size : 0;
}

/* Lines of the daemon's log from byte off on that contain needle. */
static int log_lines(long off, const char *needle)
{
    FILE *f = fopen(g.log, "r");
    if (!f) fail_msg("cannot read %s", g.log);
    fseek(f, off, SEEK_SET);
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f)) n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

/* A grid-svc in it_extra[0] whose peer is the standby's cust-svc; its base. */
static char *grid_asking_it(void)
{
    int port = free_port();
    it_extra[0] = start_daemon("grid", port, it_env("GRID_DATABASE_URL"), g.base,
                               strf("itest-replica-grid-%d", port));
    assert_true(it_extra[0] > 0);
    return strf("http://127.0.0.1:%d", port);
}

/* ---- (a) reads on the standby ---------------------------------------------------------- */

static void reads_are_served_by_the_standby(void **state)
{
    api_resp *ready = api_get(g.base, "/readyz", NULL);
    assert_status(ready, 200);
    assert_string_equal(jstr(ready->json, "database"), "ok");
    assert_string_equal(jstr(ready->json, "replica"), "ok");

    /* written through the run's own cust-svc: the primary */
    char *name = strf("replayed %s", uniq());
    char *cu = new_customer(cust_url(), name);
    const char *one = strf("/v1/customers/%s", cu);
    double replica0 = metric(READS_REPLICA), primary0 = metric(READS_PRIMARY);

    api_resp *got = get_when(one, "name", name);
    assert_status(got, 200);
    assert_string_equal(jstr(got->json, "name"), name);
    assert_status(api_get(g.base, strf("/v1/customers?code=%s", cu), KEY_DISPATCH), 200);
    assert_true(list_has_code(api_get(g.base, strf("/v1/customers?code=%s", cu), KEY_DISPATCH), cu));
    assert_status(api_get(g.base, strf("%s/history", one), KEY_DISPATCH), 200);
    assert_status(api_get(g.base, "/v1/events?limit=5", KEY_DISPATCH), 200);

    double replica = metric(READS_REPLICA) - replica0, primary = metric(READS_PRIMARY) - primary0;
    if (replica < 4 || primary != 0)
        fail_msg("reads should be the standby's: %s went up by %.0f (want >= 4), %s by %.0f "
                 "(want 0)",
                 READS_REPLICA, replica, READS_PRIMARY, primary);
    /* and the standby itself has the daemon's sessions */
    PGresult *s = pg_ok(standby_admin(), "SELECT count(*) FROM pg_stat_activity "
                                         "WHERE application_name = 'cust-svc'");
    assert_true(atoi(PQgetvalue(s, 0, 0)) > 0);
    assert_int_equal(metric("db_replica_up"), 1);
    assert_true(metric("db_replica_lag_bytes") >= 0);
}

/* ---- (b) what stays on the primary -------------------------------------------------------- */

static void a_write_is_answered_by_the_primary(void **state)
{
    char *name = strf("before %s", uniq());
    char *cu = new_customer(g.base, name);
    const char *one = strf("/v1/customers/%s", cu);
    assert_string_equal(jstr(get_when(one, "name", name)->json, "name"), name);

    pause_replay();
    /* no replay, so whatever the answer says came from the primary */
    char *renamed = strf("after %s", uniq());
    api_resp *p = api_patch(g.base, one, KEY_MARKETING, jdump(json_pack("{s:s}", "name", renamed)));
    assert_status(p, 200);
    assert_string_equal(jstr(p->json, "name"), renamed);
    assert_int_equal(jint(p->json, "version"), 2);
    char *fresh = new_customer(g.base, strf("unreplayed %s", uniq()));

    /* reads: the standby's, which has neither yet */
    api_resp *stale = api_get(g.base, one, KEY_DISPATCH);
    assert_status(stale, 200);
    assert_string_equal(jstr(stale->json, "name"), name);
    assert_int_equal(jint(stale->json, "version"), 1);
    assert_problem(api_get(g.base, strf("/v1/customers/%s", fresh), KEY_DISPATCH), 404);
    assert_true(metric("db_replica_lag_bytes") > 0);
    assert_true(metric("db_replica_lag_seconds") > 0);
    /* unless the caller asks for the primary */
    assert_string_equal(jstr(read_primary(one)->json, "name"), renamed);

    resume_replay();
    api_resp *caught_up = get_when(one, "name", renamed);
    assert_string_equal(jstr(caught_up->json, "name"), renamed);
    assert_status(get_when(strf("/v1/customers/%s", fresh), "code", NULL), 200);
    /* the primary is idle again, however old its last commit: no lag */
    double deadline = now_s() + REPLAY_S;
    while ((metric("db_replica_lag_bytes") != 0 || metric("db_replica_lag_seconds") != 0) &&
           now_s() < deadline)
        sleep_ms(100);
    assert_int_equal(metric("db_replica_lag_bytes"), 0);
    assert_int_equal(metric("db_replica_lag_seconds"), 0);
}

static void the_event_stream_and_asked_reads_use_the_primary(void **state)
{
    double replica0 = metric(READS_REPLICA), primary0 = metric(READS_PRIMARY);
    assert_status(read_primary("/v1/customers?limit=1"), 200);
    /* a stream answers 200 at once and runs on: give up on it after a second */
    api_opts o = {.key = KEY_DISPATCH, .timeout_s = 1};
    api_resp *stream = api_call("GET", strf("%s/v1/events/stream", g.base), &o, NULL, 0);
    assert_true(stream->status == 200 || stream->transport_error != 0);
    assert_int_equal(metric(READS_PRIMARY) - primary0, 2);
    assert_int_equal(metric(READS_REPLICA) - replica0, 0);
}

/* A grid-svc checking a customer for a link asks cust-svc to read its
 * primary: the customer may have been written a moment before. */
static void a_write_on_the_peer_checks_codes_on_the_primary(void **state)
{
    char *grid = grid_asking_it();
    char *tr = it_strdup(jstr(create_ok(grid, "transformers", KEY_MARKETING,
                                        jdump(json_pack("{s:s, s:s, s:f, s:f}", "name",
                                                        strf("replica TR %s", uniq()), "kind",
                                                        "dedicated", "capacity_kva", 400.0,
                                                        "voltage_kv", 10.0)))
                                  ->json,
                              "code"));
    pause_replay();
    char *cu = new_customer(g.base, strf("just written %s", uniq()));
    assert_problem(api_get(g.base, strf("/v1/customers/%s", cu), KEY_DISPATCH), 404);
    api_resp *link = api_post(grid, "/v1/relations/transformer-customer", KEY_MARKETING,
                              jdump(json_pack("{s:s, s:s}", "from", tr, "to", cu)));
    assert_status(link, 201);
    resume_replay();
}

/* The peer's half of a trace is a read, though sent as a POST. */
static void a_trace_leg_for_the_peer_reads_the_standby(void **state)
{
    char *grid = grid_asking_it();
    char *name = strf("traced %s", uniq());
    char *cu = new_customer(g.base, name);
    assert_status(get_when(strf("/v1/customers/%s", cu), "name", name), 200);
    double replica0 = metric(READS_REPLICA), primary0 = metric(READS_PRIMARY);
    double asked = peer_requests_total(grid);
    assert_status(api_get(grid, strf("/v1/trace/%s?direction=up", cu), KEY_DISPATCH), 200);
    assert_true(peer_requests_total(grid) > asked);
    assert_true(metric(READS_REPLICA) - replica0 >= 1);
    assert_int_equal(metric(READS_PRIMARY) - primary0, 0);
}

/* ---- (c) the standby down and back ---------------------------------------------------------- */

static void reads_fall_back_while_the_standby_is_down(void **state)
{
    long off = log_size();
    char *cu = new_customer(cust_url(), strf("fallback %s", uniq()));
    const char *one = strf("/v1/customers/%s", cu);
    assert_status(get_when(one, "code", NULL), 200);
    double fallbacks0 = metric(FALLBACKS), replica0 = metric(READS_REPLICA);

    g.standby_stopped = 1;
    assert_int_equal(pg_script("standby-stop"), 0);
    enum { READS = 12 };
    for (int i = 0; i < READS; i++) {
        assert_status(api_get(g.base, one, KEY_DISPATCH), 200);
        assert_status(api_get(g.base, "/v1/customers?limit=2", KEY_DISPATCH), 200);
    }
    assert_true(metric(FALLBACKS) - fallbacks0 >= 2 * READS);
    assert_int_equal(metric(READS_REPLICA) - replica0, 0);
    assert_int_equal(metric("db_replica_up"), 0);
    api_resp *ready = api_get(g.base, "/readyz", NULL);
    assert_status(ready, 200); /* reads have somewhere to go */
    assert_string_equal(jstr(ready->json, "replica"), "down");
    new_customer(g.base, strf("written meanwhile %s", uniq()));
    /* Long enough for reads to try the standby again (every 2 s), and fail. */
    sleep_ms(2500);
    for (int i = 0; i < 3; i++) assert_status(api_get(g.base, one, KEY_DISPATCH), 200);
    /* one warning for the outage, not one per read or per try */
    assert_int_equal(log_lines(off, WARNING), 1);

    assert_int_equal(pg_script("standby-start"), 0);
    g.standby_stopped = 0;
    double deadline = now_s() + 30, replica1 = metric(READS_REPLICA);
    while (metric(READS_REPLICA) == replica1 && now_s() < deadline) {
        assert_status(api_get(g.base, one, KEY_DISPATCH), 200);
        sleep_ms(100);
    }
    if (metric(READS_REPLICA) == replica1)
        fail_msg("reads did not go back to the standby within 30 s of its start");
    assert_string_equal(jstr(api_get(g.base, "/readyz", NULL)->json, "replica"), "ok");
    assert_int_equal(metric("db_replica_up"), 1);
    assert_int_equal(log_lines(off, WARNING), 1);
    assert_int_equal(log_lines(off, BACK), 1);
}

/* ---- (d) a clean exit --------------------------------------------------------------------- */

static void it_exits_zero_with_a_clean_log(void **state)
{
    int st = daemon_stop(g.pid, 15);
    g.pid = -1;
    assert_int_equal(st, 0);
    const char *reports[] = {"runtime error:", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer"};
    for (size_t i = 0; i < sizeof reports / sizeof *reports; i++)
        assert_int_equal(log_lines(0, reports[i]), 0);
}

int main(void)
{
    it_filter();
    const struct CMUnitTest tests[] = {
        IT(reads_are_served_by_the_standby),
        cmocka_unit_test_teardown(a_write_is_answered_by_the_primary, standby_back),
        IT(the_event_stream_and_asked_reads_use_the_primary),
        cmocka_unit_test_teardown(a_write_on_the_peer_checks_codes_on_the_primary, standby_back),
        cmocka_unit_test_teardown(a_trace_leg_for_the_peer_reads_the_standby, it_stop_extras),
        cmocka_unit_test_teardown(reads_fall_back_while_the_standby_is_down, standby_back),
        IT(it_exits_zero_with_a_clean_log),
    };
    return cmocka_run_group_tests_name("replica", tests, start_group, stop_group);
}
