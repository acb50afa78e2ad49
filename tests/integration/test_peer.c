/* test_peer.c -- the peer client (common/net/peer.c) against the real daemons
 * of the test stack, and the rule that keeps the two platforms from
 * stopping each other (waits.h): who may wait on the peer, holding what. */
#include "client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "store/db.h"
#include "net/peer.h"
#include "base/waits.h"

static peer *peer_to(const char *base, int timeout_ms, int handles, size_t answer_limit)
{
    peer_config cfg = {base, "test_peer", 1000, timeout_ms, handles, answer_limit};
    return peer_new(&cfg);
}

static void get(peer *p, const char *path, peer_response *out)
{
    peer_caller who = {.request_id = "test-peer"};
    peer_call(p, "GET", path, &who, NULL, 0, out);
}

/* A thread that has not been let wait on the peer (an I/O thread, a local
 * worker) is refused before anything is sent. */
static void a_thread_not_allowed_is_refused(void **state)
{
    peer *p = peer_to(grid_url(), 2000, 1, 0);
    waits_allow_peer(0);
    peer_response pr;
    get(p, "/healthz", &pr);
    assert_int_equal(pr.error, PEER_REFUSED);
    assert_str_contains(pr.detail, "may not wait");
    peer_response_free(&pr);
    waits_allow_peer(1);
    get(p, "/healthz", &pr);
    assert_int_equal(pr.error, PEER_OK);
    assert_int_equal(pr.status, 200);
    peer_response_free(&pr);
    waits_allow_peer(0);
    peer_free(p);
}

/* Holding a database connection while the peer answers is what stopped
 * both platforms under load: refused. */
static void holding_a_connection_is_refused(void **state)
{
    db_config cfg = {.url = it_env("GRID_DATABASE_URL"), .app_name = "test_peer", .size = 1,
                     .statement_timeout_ms = 5000, .acquire_timeout_ms = 2000,
                     .connect_timeout_s = 2};
    db_pool *pool = db_pool_new(&cfg);
    peer *p = peer_to(cust_url(), 2000, 1, 0);
    waits_allow_peer(1);
    db_acquire_status st;
    db_conn *c = db_acquire(pool, &st);
    assert_non_null(c);
    peer_response pr;
    get(p, "/healthz", &pr);
    assert_int_equal(pr.error, PEER_REFUSED);
    assert_str_contains(pr.detail, "holding 1 database connection");
    peer_response_free(&pr);
    db_release(pool, c);
    get(p, "/healthz", &pr);
    assert_int_equal(pr.error, PEER_OK);
    peer_response_free(&pr);
    waits_allow_peer(0);
    peer_free(p);
    db_pool_free(pool);
}

/* An answer larger than the limit is not buffered whole. */
static void an_answer_over_the_limit_is_cut(void **state)
{
    peer *small = peer_to(grid_url(), 5000, 1, 4096), *big = peer_to(grid_url(), 5000, 1, 0);
    waits_allow_peer(1);
    peer_response pr;
    get(small, "/openapi.json", &pr);
    assert_int_equal(pr.error, PEER_TOO_LARGE);
    assert_str_contains(pr.detail, "larger than 4096 bytes");
    assert_true(pr.len == 0);
    peer_response_free(&pr);
    get(big, "/openapi.json", &pr);
    assert_int_equal(pr.error, PEER_OK);
    assert_true(pr.len > 4096);
    peer_response_free(&pr);
    waits_allow_peer(0);
    peer_free(small);
    peer_free(big);
}

/* ---- no call waits for another ------------------------------------------------------------ */

typedef struct {
    peer *p;
    peer_error error;
} caller_job;

static void *call_silent(void *arg)
{
    caller_job *j = arg;
    waits_allow_peer(1);
    peer_response pr;
    get(j->p, "/anything", &pr);
    j->error = pr.error;
    peer_response_free(&pr);
    return NULL;
}

/* A listening socket that never answers: connections are made (by the
 * kernel's backlog), requests get no answer. */
static int silent_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 64), 0);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return fd;
}

/* Calls beyond the connections kept open do not queue for one: a fixed set
 * of handles let calls wait on calls, and through them on the peer. Eight
 * calls to a peer that never answers, with one handle kept, take one
 * timeout together, not eight. */
static void calls_never_wait_for_a_handle(void **state)
{
    enum { CALLS = 8, TIMEOUT_MS = 700 };
    int port, fd = silent_listener(&port);
    peer *p = peer_to(strf("http://127.0.0.1:%d", port), TIMEOUT_MS, 1, 0);
    caller_job jobs[CALLS];
    pthread_t t[CALLS];
    double t0 = now_s();
    for (int i = 0; i < CALLS; i++) {
        jobs[i] = (caller_job){p, PEER_OK};
        assert_int_equal(pthread_create(&t[i], NULL, call_silent, &jobs[i]), 0);
    }
    for (int i = 0; i < CALLS; i++) pthread_join(t[i], NULL);
    double took = now_s() - t0;
    for (int i = 0; i < CALLS; i++) assert_int_equal(jobs[i].error, PEER_TIMEOUT);
    if (took > 3 * TIMEOUT_MS / 1000.0)
        fail_msg("%d calls to a silent peer took %.2f s: they waited for each other's handle",
                 CALLS, took);
    peer_stats ps;
    peer_get_stats(p, &ps);
    assert_int_equal(ps.handles, 1); /* the others were let go */
    peer_free(p);
    close(fd);
}

/* ---- the hop ------------------------------------------------------------------------------- */

/* A request that has crossed twice may not wait on the peer again: the
 * waits would come round (waits.h). Requests that do not wait are served. */
static void a_third_crossing_is_a_loop(void **state)
{
    char *ss = create_substation(strf("hop %s", uniq()));
    const char *hop2[] = {"X-Peer-Hop: 2", NULL}, *hop1[] = {"X-Peer-Hop: 1", NULL};
    api_opts o2 = {.key = KEY_DISPATCH, .headers = hop2}, o1 = {.key = KEY_DISPATCH, .headers = hop1};
    api_resp *r = api_call("GET", strf("%s/v1/trace/%s?direction=down", grid_url(), ss), &o2, NULL, 0);
    assert_problem(r, 508);
    assert_str_contains(jstr(r->json, "detail"), "crossed between the platforms 2 times");
    assert_status(api_call("GET", strf("%s/v1/trace/%s?direction=down", grid_url(), ss), &o1,
                           NULL, 0),
                  200);
    assert_status(api_call("GET", strf("%s/v1/substations/%s", grid_url(), ss), &o2, NULL, 0), 200);
}

/* A leg takes at most 200,000 codes, in a body of at most 8 MiB: it was
 * read whole up to the import limit (256 MiB) and a million codes. */
static void a_leg_has_limits(void **state)
{
    char *code = mint_code("MB");
    size_t n = 200001, each = strlen(code) + 3;
    char *body = it_track(malloc(n * each + 128), free);
    assert_non_null(body);
    size_t len = (size_t)sprintf(body, "{\"direction\": \"down\", \"codes\": [");
    for (size_t i = 0; i < n; i++) len += (size_t)sprintf(body + len, "%s\"%s\"", i ? "," : "", code);
    len += (size_t)sprintf(body + len, "]}");
    api_opts o = {.key = KEY_DISPATCH, .timeout_s = 60};
    api_resp *r = api_call("POST", strf("%s/v1/graph/walk", cust_url()), &o, body, len);
    assert_problem(r, 400);
    assert_str_contains(jstr(r->json, "detail"), "at most 200000 codes");
    /* over 8 MiB: refused before it is read */
    size_t big = (8u << 20) + 1024;
    char *huge = it_track(malloc(big), free);
    assert_non_null(huge);
    memset(huge, ' ', big);
    memcpy(huge, "{\"direction\": \"down\"}", 21);
    r = api_call("POST", strf("%s/v1/graph/walk", grid_url()), &o, huge, big);
    assert_problem(r, 413);
}

/* A platform just started does not yet know which objects the peer walks
 * on from, so it hands over all it reached; a hand-over the peer has no
 * link for is an empty leg, 200 (its statement, naming no status, was once
 * prepared with two parameters and run with three: 502). */
static void an_empty_leg_on_the_peer(void **state)
{
    char *ss = create_substation(strf("alone %s", uniq()));
    int port = free_port();
    it_extra[0] = start_daemon("grid", port, it_env("GRID_DATABASE_URL"), cust_url(),
                               strf("itest-fresh-%d", port));
    assert_true(it_extra[0] > 0);
    api_resp *r = api_get(strf("http://127.0.0.1:%d", port),
                          strf("/v1/trace/%s?direction=down", ss), KEY_DISPATCH);
    assert_status(r, 200);
    assert_int_equal(json_array_size(json_object_get(r->json, "nodes")), 1);
    assert_int_equal(json_array_size(json_object_get(r->json, "edges")), 0);
}

int main(void)
{
    it_filter();
    const struct CMUnitTest tests[] = {
        IT(a_thread_not_allowed_is_refused),
        IT(holding_a_connection_is_refused),
        IT(an_answer_over_the_limit_is_cut),
        IT(calls_never_wait_for_a_handle),
        IT(a_third_crossing_is_a_loop),
        IT(a_leg_has_limits),
        cmocka_unit_test_teardown(an_empty_leg_on_the_peer, it_stop_extras),
    };
    return cmocka_run_group_tests(tests, it_group_setup, it_group_teardown);
}
