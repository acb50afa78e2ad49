/* test_resilience.c -- the daemons under trouble:
 *   (a) PostgreSQL stops and starts under the running daemons: 503 quickly
 *       while it is down, normal service again without a daemon restart;
 *   (b) SIGTERM: a request in flight is finished, then the process exits 0;
 *       an idle daemon exits 0 at once;
 *   (c) two instances started at the same moment on a fresh database apply
 *       each migration exactly once and both serve.
 *
 * These tests stop PostgreSQL and start extra daemons; each teardown puts
 * things back (PostgreSQL running, extra daemons gone, scratch database
 * dropped) even when the test fails half-way. */
#include "client.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cust.h"

/* ---- (a) PostgreSQL restart ------------------------------------------------------- */

static int pg_stopped;

static int ensure_pg_running(void **state)
{
    if (pg_stopped) {
        if (pg_script("start") != 0) fprintf(stderr, "# could not start PostgreSQL again!\n");
        pg_stopped = 0;
        /* Give the runner's daemons a moment to notice before the next test. */
        sleep_ms(500);
    }
    return it_teardown(state);
}

/* GET until it answers want, for up to timeout_s; the last answer. */
static api_resp *get_until(const char *base, const char *path, const char *key, long want,
                           double timeout_s)
{
    double deadline = now_s() + timeout_s;
    for (;;) {
        api_opts o = {.key = key, .timeout_s = 10};
        api_resp *r = api_call("GET", strf("%s%s", base, path), &o, NULL, 0);
        if (r->status == want || now_s() >= deadline) return r;
        sleep_ms(200);
    }
}

static void postgres_restart_under_running_daemons(void **state)
{
    char *code = create_substation(strf("pg restart %s", uniq()));
    char *cu = create_customer(strf("pg restart %s", uniq()), NULL);
    const char *spath = strf("/v1/substations/%s", code);
    const char *cpath = strf("/v1/customers/%s", cu);
    assert_status(api_get(grid_url(), spath, KEY_DISPATCH), 200);

    pg_stopped = 1;
    assert_int_equal(pg_script("stop"), 0);

    /* While it is down: a quick 503 problem, not a hang. */
    api_opts o = {.key = KEY_DISPATCH, .timeout_s = 10};
    api_resp *down = api_call("GET", strf("%s%s", grid_url(), spath), &o, NULL, 0);
    if (down->transport_error) {
        api_dump(down);
        fail_msg("no answer while PostgreSQL is down (hang or crash?)");
    }
    assert_problem(down, 503);
    assert_true(down->seconds < 10);
    api_resp *cdown = api_call("GET", strf("%s%s", cust_url(), cpath), &o, NULL, 0);
    assert_problem(cdown, 503);
    api_resp *ldown = api_call("GET", strf("%s/v1/substations?limit=5", grid_url()), &o, NULL, 0);
    assert_problem(ldown, 503);

    api_opts w = {.key = KEY_PRODUCTION, .timeout_s = 10};
    char *lost_name = strf("written while down %s", uniq());
    char *body = jdump(json_pack("{s:s, s:f}", "name", lost_name, "voltage_kv", 110.0));
    api_resp *wdown = api_call("POST", strf("%s/v1/substations", grid_url()), &w, body, strlen(body));
    assert_problem(wdown, 503);

    api_opts ro = {.timeout_s = 10};
    api_resp *ready = api_call("GET", strf("%s/readyz", grid_url()), &ro, NULL, 0);
    assert_status(ready, 503);
    assert_string_equal(jstr(ready->json, "database"), "down");
    api_resp *cready = api_call("GET", strf("%s/readyz", cust_url()), &ro, NULL, 0);
    assert_status(cready, 503);
    /* liveness does not depend on the database */
    assert_status(api_call("GET", strf("%s/healthz", grid_url()), &ro, NULL, 0), 200);

    assert_int_equal(pg_script("start"), 0);
    pg_stopped = 0;

    /* Back within a few seconds, without restarting the daemons. */
    api_resp *up = get_until(grid_url(), spath, KEY_DISPATCH, 200, 10);
    assert_status(up, 200);
    assert_string_equal(jstr(up->json, "code"), code);
    assert_status(get_until(cust_url(), cpath, KEY_DISPATCH, 200, 10), 200);
    assert_status(get_until(grid_url(), "/readyz", NULL, 200, 10), 200);
    assert_status(get_until(cust_url(), "/readyz", NULL, 200, 10), 200);

    /* Writes work again, on both daemons, and reads of every pooled connection. */
    char *after = create_substation(strf("after restart %s", uniq()));
    assert_status(api_get(grid_url(), strf("/v1/substations/%s", after), KEY_DISPATCH), 200);
    create_customer(strf("after restart %s", uniq()), NULL);
    for (int i = 0; i < 12; i++) {
        assert_status(api_get(grid_url(), spath, KEY_DISPATCH), 200);
        assert_status(api_get(grid_url(), "/v1/substations?limit=2", KEY_DISPATCH), 200);
        assert_status(api_get(cust_url(), cpath, KEY_DISPATCH), 200);
    }
    /* the write refused while it was down was not stored */
    assert_int_equal(count_where(grid_url(), "substations", strf("status=all&name=%s", urlenc(lost_name))),
                     0);
}

/* ---- (b) SIGTERM ------------------------------------------------------------------------ */


static void sigterm_finishes_request_in_flight(void **state)
{
    int port = free_port();
    assert_true(port > 0);
    it_extra[0] = start_daemon("grid", port, it_env("GRID_DATABASE_URL"), cust_url(),
                            strf("itest-sigterm-%d", port));
    assert_true(it_extra[0] > 0);

    char *name = strf("in flight %s", uniq());
    char *body = jdump(json_pack("{s:s, s:f}", "name", name, "voltage_kv", 220.0));
    size_t len = strlen(body), half = len / 2;
    char *head = strf("POST /v1/substations HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                      "Authorization: Bearer " KEY_PRODUCTION "\r\n"
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                      port, len);
    int fd = raw_connect(port);
    assert_true(fd >= 0);
    assert_int_equal(raw_send(fd, head, strlen(head)), 0);
    assert_int_equal(raw_send(fd, body, half), 0);
    sleep_ms(300); /* the daemon has read the headers: the request is in flight */

    assert_int_equal(kill(it_extra[0], SIGTERM), 0);
    sleep_ms(300);
    assert_int_equal(raw_send(fd, body + half, len - half), 0);
    char *resp = raw_read_response(fd, 15);
    shutdown(fd, SHUT_RDWR);
    if (raw_status(resp) != 201) fail_msg("in-flight request after SIGTERM answered: %.500s", resp);
    json_t *obj = jkeep(json_loads(raw_body(resp), 0, NULL));
    assert_non_null(obj);
    assert_string_equal(jstr(obj, "name"), name);
    assert_int_equal(strncmp(jstr(obj, "code"), "SS-", 3), 0);

    int st = daemon_wait_exit(it_extra[0], 15);
    it_extra[0] = -1;
    assert_int_equal(st, 0);
    /* and the object was really stored */
    api_resp *g = api_get(grid_url(), strf("/v1/substations/%s", jstr(obj, "code")), KEY_DISPATCH);
    assert_status(g, 200);
    assert_string_equal(jstr(g->json, "name"), name);
}

/* While a draining daemon finishes its last request, a new client must be
 * refused (or answered) at once, not left hanging on a listening socket that
 * nobody accepts from any more. */
static void sigterm_stops_accepting_new_connections(void **state)
{
    int port = free_port();
    it_extra[0] = start_daemon("grid", port, it_env("GRID_DATABASE_URL"), cust_url(),
                            strf("itest-drain-%d", port));
    assert_true(it_extra[0] > 0);
    char *body = jdump(json_pack("{s:s, s:f}", "name", strf("drain %s", uniq()), "voltage_kv", 10.0));
    size_t len = strlen(body);
    char *head = strf("POST /v1/substations HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                      "Authorization: Bearer " KEY_PRODUCTION "\r\n"
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                      port, len);
    int fd = raw_connect(port);
    assert_true(fd >= 0);
    assert_int_equal(raw_send(fd, head, strlen(head)), 0);
    assert_int_equal(raw_send(fd, body, 5), 0);
    sleep_ms(300);
    assert_int_equal(kill(it_extra[0], SIGTERM), 0);
    sleep_ms(300);

    api_opts o = {.timeout_s = 3};
    api_resp *late = api_call("GET", strf("http://127.0.0.1:%d/healthz", port), &o, NULL, 0);

    /* finish the request in flight whatever happened */
    assert_int_equal(raw_send(fd, body + 5, len - 5), 0);
    char *resp = raw_read_response(fd, 15);
    shutdown(fd, SHUT_RDWR);
    int st = daemon_wait_exit(it_extra[0], 15);
    it_extra[0] = -1;

    if (late->transport_error == 28 /* CURLE_OPERATION_TIMEDOUT */) {
        api_dump(late);
        fail_msg("a new connection to a draining daemon hangs (%.1f s) instead of being refused",
                 late->seconds);
    }
    assert_true(late->transport_error != 0 || late->status == 503);
    assert_int_equal(raw_status(resp), 201);
    assert_int_equal(st, 0);
}

/* With SHUTDOWN_GRACE_MS, a daemon told to stop first turns unready while it
 * still serves (a load balancer takes it out), then drains and exits 0. */
static void sigterm_grace_keeps_serving_unready(void **state)
{
    int port = free_port();
    setenv("SHUTDOWN_GRACE_MS", "1500", 1); /* inherited by the daemon */
    it_extra[0] = start_daemon("grid", port, it_env("GRID_DATABASE_URL"), cust_url(),
                            strf("itest-grace-%d", port));
    unsetenv("SHUTDOWN_GRACE_MS");
    assert_true(it_extra[0] > 0);
    char *base = strf("http://127.0.0.1:%d", port);
    assert_status(api_get(base, "/readyz", NULL), 200);
    double t0 = now_s();
    assert_int_equal(kill(it_extra[0], SIGTERM), 0);
    sleep_ms(300);
    assert_status(api_get(base, "/readyz", NULL), 503);
    assert_status(api_get(base, "/v1/substations?limit=1", KEY_DISPATCH), 200);
    int st = daemon_wait_exit(it_extra[0], 15);
    it_extra[0] = -1;
    assert_int_equal(st, 0);
    assert_true(now_s() - t0 >= 1.4);
}

static void sigterm_on_idle_daemon_exits_zero(void **state)
{
    int port = free_port();
    it_extra[0] = start_daemon("grid", port, it_env("GRID_DATABASE_URL"), cust_url(),
                            strf("itest-idle-%d", port));
    assert_true(it_extra[0] > 0);
    /* serve something first, so there are pooled connections to close */
    assert_status(api_get(strf("http://127.0.0.1:%d", port), "/v1/substations?limit=1", KEY_DISPATCH),
                  200);
    assert_status(api_get(strf("http://127.0.0.1:%d", port), strf("/v1/customers?limit=1"),
                          KEY_DISPATCH),
                  200);
    double t0 = now_s();
    int st = daemon_stop(it_extra[0], 15);
    it_extra[0] = -1;
    assert_int_equal(st, 0);
    assert_true(now_s() - t0 < 15);

    /* a cust-svc too */
    int cport = free_port();
    it_extra[1] = start_daemon("cust", cport, it_env("CUST_DATABASE_URL"), grid_url(),
                            strf("itest-idle-cust-%d", cport));
    assert_true(it_extra[1] > 0);
    st = daemon_stop(it_extra[1], 15);
    it_extra[1] = -1;
    assert_int_equal(st, 0);
}

/* ---- the peer in trouble ------------------------------------------------------------------- */

/* Polls base/healthz (not /readyz, which asks the peer) until 200. */
static int wait_alive(pid_t pid, const char *base, double timeout_s)
{
    double deadline = now_s() + timeout_s;
    while (now_s() < deadline) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) return -1;
        api_opts o = {.timeout_s = 2};
        if (api_call("GET", strf("%s/healthz", base), &o, NULL, 0)->status == 200) return 0;
        sleep_ms(50);
    }
    return -1;
}

static void close_listener(void *p)
{
    close((int)(intptr_t)p - 1);
}

/* A socket that listens but never accepts: connections open, answers never come. */
static int silent_listener(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    it_track((void *)(intptr_t)(fd + 1), close_listener);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 64), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    return ntohs(a.sin_port);
}

static void unreachable_peer_is_bad_gateway(void **state)
{
    int dead = free_port(); /* nothing listens there */
    int port = free_port();
    char *base = strf("http://127.0.0.1:%d", port);
    it_extra[0] = start_daemon("grid", port, it_env("GRID_DATABASE_URL"),
                            strf("http://127.0.0.1:%d", dead), strf("itest-nopeer-%d", port));
    assert_true(it_extra[0] > 0);

    api_resp *ready = api_get(base, "/readyz", NULL);
    assert_status(ready, 200); /* its own data is still served */
    assert_string_equal(jstr(json_object_get(ready->json, "peer"), "state"), "unreachable");

    char *cu = create_customer(strf("no peer %s", uniq()), NULL);
    api_resp *r = api_get(base, strf("/v1/customers/%s", cu), KEY_DISPATCH);
    assert_problem(r, 502);
    assert_true(r->seconds < 5);
    assert_problem(api_get(base, "/v1/customers?limit=5", KEY_DISPATCH), 502);
    /* and so are cust-svc's own reads it passes on */
    for (int i = 0; i < cust_nreads; i++) {
        api_resp *own = api_get(base, cust_reads[i].path, KEY_DISPATCH);
        assert_problem(own, 502);
        assert_str_contains(jstr(own->json, "detail"), cust_reads[i].what);
    }

    char *ss = create_substation(strf("no peer %s", uniq()));
    assert_status(api_get(base, strf("/v1/substations/%s", ss), KEY_DISPATCH), 200);
    /* writes of peer objects are still refused with 421, without asking anyone */
    api_resp *w = api_post(base, "/v1/customers", KEY_MARKETING,
                           jdump(json_pack("{s:s, s:s}", "name", "x", "category", "hv")));
    assert_problem(w, 421);
    assert_string_equal(jstr(w->json, "owner"), "cust-svc");

    int st = daemon_stop(it_extra[0], 15);
    it_extra[0] = -1;
    assert_int_equal(st, 0);
}

/* A grid-svc in it_extra[0] whose peer accepts connections and never
 * answers, alive; its base URL, and its port in *port. */
static char *grid_with_silent_peer(const char *label, int *port)
{
    int silent = silent_listener();
    *port = free_port();
    char *base = strf("http://127.0.0.1:%d", *port);
    it_extra[0] = spawn_daemon("grid", *port, it_env("GRID_DATABASE_URL"),
                               strf("http://127.0.0.1:%d", silent), strf("%s-%d", label, *port));
    assert_true(it_extra[0] > 0);
    assert_int_equal(wait_alive(it_extra[0], base, 30), 0);
    return base;
}

static void silent_peer_is_gateway_timeout(void **state)
{
    int port;
    char *base = grid_with_silent_peer("itest-silentpeer", &port);

    char *cu = mint_code("CU");
    api_opts o = {.key = KEY_DISPATCH, .timeout_s = 20};
    api_resp *r = api_call("GET", strf("%s/v1/customers/%s", base, cu), &o, NULL, 0);
    assert_problem(r, 504);
    assert_true(r->seconds < 10); /* the peer timeout (5 s by default), not forever */

    /* local reads do not wait for the peer */
    char *ss = create_substation(strf("silent peer %s", uniq()));
    api_opts q = {.key = KEY_DISPATCH, .timeout_s = 3};
    assert_status(api_call("GET", strf("%s/v1/substations/%s", base, ss), &q, NULL, 0), 200);

    int st = daemon_stop(it_extra[0], 20);
    it_extra[0] = -1;
    assert_int_equal(st, 0);
}

static void *one_job(void *p)
{
    api_parallel(p, 1);
    return NULL;
}

/* One request waiting for a silent peer must not hold up other clients'
 * requests that need nothing from the peer, including those that arrive on
 * connections kept alive from earlier requests (as the peer platform's own
 * client, load balancers and most HTTP clients keep them). */
static void slow_peer_does_not_stall_other_clients(void **state)
{
    int port;
    char *base = grid_with_silent_peer("itest-hol", &port);

    /* Clients with kept-alive connections, each used once already. */
    enum { KEPT = 16 };
    int fds[KEPT];
    char *req = strf("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", port);
    for (int i = 0; i < KEPT; i++) {
        fds[i] = raw_connect(port);
        assert_true(fds[i] >= 0);
        assert_int_equal(raw_send(fds[i], req, strlen(req)), 0);
        assert_int_equal(raw_status(raw_read_response(fds[i], 5)), 200);
    }

    /* Another client's request waits for the peer (5 s peer timeout). */
    api_job slow[1] = {{"GET", strf("%s/v1/customers/%s", base, mint_code("CU")), NULL,
                        {.key = KEY_DISPATCH, .timeout_s = 20}, NULL}};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, one_job, slow), 0);
    sleep_ms(300);

    /* Meanwhile the kept-alive clients ask again. */
    double worst = 0;
    int stalled = 0;
    for (int i = 0; i < KEPT; i++) assert_int_equal(raw_send(fds[i], req, strlen(req)), 0);
    double t0 = now_s();
    int done[KEPT] = {0}, left = KEPT;
    while (left > 0 && now_s() - t0 < 10) {
        struct pollfd p[KEPT];
        for (int i = 0; i < KEPT; i++) p[i] = (struct pollfd){done[i] ? -1 : fds[i], POLLIN, 0};
        if (poll(p, KEPT, 200) <= 0) continue;
        for (int i = 0; i < KEPT; i++) {
            if (done[i] || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            double took = now_s() - t0; /* when its answer began to arrive */
            char *resp = raw_read_response(fds[i], 5);
            done[i] = 1;
            left--;
            if (raw_status(resp) != 200 || took > 2) stalled++;
            if (took > worst) worst = took;
        }
    }
    stalled += left;
    if (left) worst = now_s() - t0;
    pthread_join(t, NULL);
    assert_problem(slow[0].resp, 504);
    if (stalled)
        fail_msg("%d of %d kept-alive clients waited up to %.1f s for a /healthz while another "
                 "client's request waited for the peer: a handler blocked on the peer holds up "
                 "every connection of its worker thread",
                 stalled, KEPT, worst);
    int st = daemon_stop(it_extra[0], 20);
    it_extra[0] = -1;
    assert_int_equal(st, 0);
}

/* A readiness probe must answer quickly even when the peer hangs. */
static void readyz_does_not_wait_for_a_silent_peer(void **state)
{
    int port;
    char *base = grid_with_silent_peer("itest-readyz", &port);
    api_opts o = {.timeout_s = 20};
    api_resp *r = api_call("GET", strf("%s/readyz", base), &o, NULL, 0);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "database"), "ok");
    if (r->seconds > 2.5)
        fail_msg("/readyz took %.1f s because the peer does not answer; a readiness probe "
                 "(typically 1-2 s timeout) would mark this healthy daemon unready",
                 r->seconds);
    int st = daemon_stop(it_extra[0], 20);
    it_extra[0] = -1;
    assert_int_equal(st, 0);
}

static void peer_url_pointing_back_is_a_loop(void **state)
{
    int port = free_port();
    char *base = strf("http://127.0.0.1:%d", port);
    it_extra[0] = start_daemon("grid", port, it_env("GRID_DATABASE_URL"), base,
                            strf("itest-loop-%d", port));
    assert_true(it_extra[0] > 0);
    api_opts o = {.key = KEY_DISPATCH, .timeout_s = 10};
    api_resp *r = api_call("GET", strf("%s/v1/customers/%s", base, mint_code("CU")), &o, NULL, 0);
    assert_problem(r, 508);
    int st = daemon_stop(it_extra[0], 15);
    it_extra[0] = -1;
    assert_int_equal(st, 0);
}

/* ---- (c) two instances migrating at once ------------------------------------------------- */

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

static int is_migration(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".sql") == 0 && name[0] >= '0' && name[0] <= '9';
}

static void two_instances_migrate_once(void **state)
{
    snprintf(scratch_db, sizeof scratch_db, "itest_migrate_%s", uniq());
    PGconn *admin = pg_admin("postgres");
    pg_ok(admin, strf("CREATE DATABASE %s OWNER grid_svc", scratch_db));
    char *url = strf("postgresql://grid_svc@127.0.0.1:%s/%s", it_env("PGPORT"), scratch_db);

    int p1 = free_port(), p2;
    do p2 = free_port();
    while (p2 == p1);
    /* both at the same moment */
    it_extra[0] = spawn_daemon("grid", p1, url, cust_url(), strf("itest-migrate-a-%d", p1));
    it_extra[1] = spawn_daemon("grid", p2, url, cust_url(), strf("itest-migrate-b-%d", p2));
    assert_true(it_extra[0] > 0 && it_extra[1] > 0);
    char *b1 = strf("http://127.0.0.1:%d", p1), *b2 = strf("http://127.0.0.1:%d", p2);
    if (daemon_wait_ready(it_extra[0], b1, 30) != 0 || daemon_wait_ready(it_extra[1], b2, 30) != 0)
        fail_msg("both instances should become ready (logs in %s/itest-migrate-*.log)",
                 it_env("RUN_DIR"));

    /* every migration file recorded exactly once */
    PGconn *db = pg_admin(scratch_db);
    PGresult *r = pg_ok(db, "SELECT version, count(*) FROM schema_migrations GROUP BY version "
                            "ORDER BY version");
    /* grid's own and those both platforms share */
    const char *dirs[] = {strf("%s/schema/grid", it_env("REPO_ROOT")),
                          strf("%s/schema/common", it_env("REPO_ROOT"))};
    int files = 0;
    for (size_t k = 0; k < sizeof dirs / sizeof dirs[0]; k++) {
        DIR *d = opendir(dirs[k]);
        assert_non_null(d);
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!is_migration(e->d_name)) continue;
            files++;
            int found = 0;
            for (int i = 0; i < PQntuples(r); i++) {
                if (strcmp(PQgetvalue(r, i, 0), e->d_name) == 0) {
                    found = 1;
                    if (strcmp(PQgetvalue(r, i, 1), "1") != 0)
                        fail_msg("%s recorded %s times", e->d_name, PQgetvalue(r, i, 1));
                }
            }
            if (!found) {
                closedir(d);
                fail_msg("migration %s not recorded in schema_migrations", e->d_name);
            }
        }
        closedir(d);
    }
    assert_true(files > 0);
    assert_int_equal(PQntuples(r), files);
    for (int i = 0; i < PQntuples(r); i++) assert_string_equal(PQgetvalue(r, i, 1), "1");

    /* both serve: a write on one is read on the other */
    char *n1 = strf("instance a %s", uniq()), *n2 = strf("instance b %s", uniq());
    api_resp *c1 = create_ok(b1, "substations", KEY_PRODUCTION,
                             jdump(json_pack("{s:s, s:f}", "name", n1, "voltage_kv", 110.0)));
    api_resp *c2 = create_ok(b2, "substations", KEY_PRODUCTION,
                             jdump(json_pack("{s:s, s:f}", "name", n2, "voltage_kv", 110.0)));
    api_resp *g1 = api_get(b2, strf("/v1/substations/%s", jstr(c1->json, "code")), KEY_DISPATCH);
    api_resp *g2 = api_get(b1, strf("/v1/substations/%s", jstr(c2->json, "code")), KEY_DISPATCH);
    assert_status(g1, 200);
    assert_status(g2, 200);
    assert_true(json_equal(g1->json, c1->json));
    assert_true(json_equal(g2->json, c2->json));
    /* in the scratch database, not the run's */
    assert_problem(api_get(grid_url(), strf("/v1/substations/%s", jstr(c1->json, "code")), KEY_DISPATCH),
                   404);

    int s1 = daemon_stop(it_extra[0], 15);
    it_extra[0] = -1;
    int s2 = daemon_stop(it_extra[1], 15);
    it_extra[1] = -1;
    assert_int_equal(s1, 0);
    assert_int_equal(s2, 0);
}

int main(void)
{
    it_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(postgres_restart_under_running_daemons, ensure_pg_running),
        cmocka_unit_test_teardown(sigterm_finishes_request_in_flight, it_stop_extras),
        cmocka_unit_test_teardown(sigterm_stops_accepting_new_connections, it_stop_extras),
        cmocka_unit_test_teardown(sigterm_on_idle_daemon_exits_zero, it_stop_extras),
        cmocka_unit_test_teardown(unreachable_peer_is_bad_gateway, it_stop_extras),
        cmocka_unit_test_teardown(sigterm_grace_keeps_serving_unready, it_stop_extras),
        cmocka_unit_test_teardown(silent_peer_is_gateway_timeout, it_stop_extras),
        cmocka_unit_test_teardown(slow_peer_does_not_stall_other_clients, it_stop_extras),
        cmocka_unit_test_teardown(readyz_does_not_wait_for_a_silent_peer, it_stop_extras),
        cmocka_unit_test_teardown(peer_url_pointing_back_is_a_loop, it_stop_extras),
        cmocka_unit_test_teardown(two_instances_migrate_once, drop_scratch),
    };
    return cmocka_run_group_tests_name("resilience", tests, it_group_setup, it_group_teardown);
}
