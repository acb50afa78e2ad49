/* test_webhooks.c -- webhooks (DESIGN §10): registration and its refusals,
 * and delivery to a real receiver on loopback (libmicrohttpd in this
 * binary) that fails, times out, or holds a request while the daemon is
 * killed.
 *
 * Every test talks to a cust-svc of its own on a scratch database (started
 * once, restarted by the test that kills it), with short retry waits
 * (WEBHOOK_RETRY_BASE_MS=300) and a short per-attempt timeout (700 ms), so
 * that the shared stack's daemons are left as they were.
 *
 * Longer than 600 lines: the receiver is part of the suite, and one file
 * per contract section, as the other suites are. */
#include "client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RETRY_BASE_MS 300
#define TIMEOUT_MS 700
#define SECRET "a-secret-of-thirty-two-bytes-ok!"

/* ---- the scratch cust-svc --------------------------------------------------------- */

static char scratch_db[64];
static int scratch_port;
static pid_t scratch_pid = -1;
static int second_port; /* the second daemon on the scratch database, once started */

static const char *scratch_url(void)
{
    return strf("postgresql://cust_svc@127.0.0.1:%s/%s", it_env("PGPORT"), scratch_db);
}

static void scratch_start(void)
{
    static const char *const more[] = {"WEBHOOK_RETRY_BASE_MS=300", "WEBHOOK_RETRY_MAX_MS=5000",
                                       "WEBHOOK_TIMEOUT_MS=700", NULL};
    scratch_pid = start_daemon_env("cust", scratch_port, scratch_url(), grid_url(),
                                   strf("itest-webhooks-%d", scratch_port), more);
    assert_true(scratch_pid > 0);
}

/* Its base URL; the database and the daemon are made when first asked,
 * and the daemon again when a test left it stopped. */
static const char *hooks_base(void)
{
    if (!scratch_db[0]) {
        snprintf(scratch_db, sizeof scratch_db, "itest_webhooks_%s", uniq());
        pg_ok(pg_admin("postgres"), strf("CREATE DATABASE %s OWNER cust_svc", scratch_db));
        scratch_port = free_port();
    }
    if (scratch_pid <= 0) scratch_start();
    return strf("http://127.0.0.1:%d", scratch_port);
}

static int group_teardown(void **state)
{
    daemon_kill(scratch_pid);
    scratch_pid = -1;
    pg_drop_scratch(scratch_db);
    return it_group_teardown(state);
}

/* ---- the receiver ---------------------------------------------------------------------- */

typedef enum { ANSWER_OK, ANSWER_500, ANSWER_LATE, ANSWER_HOLD } action;

typedef struct arrival {
    double at; /* now_s() when the whole request was in */
    long long seq; /* X-Event-Seq */
    char type[64], signature[160], content_type[64];
    char *body;
    action did;
} arrival;

#define MAX_ARRIVALS 64

typedef struct receiver {
    struct MHD_Daemon *d;
    int port;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    action plan[8]; /* the answer to the n-th request; ANSWER_OK after them */
    int nplan;
    arrival got[MAX_ARRIVALS];
    int n;
    int released; /* held requests may be answered */
    int ok_delay_ms; /* how long an accepting answer takes */
    int inflight, most_inflight; /* requests being answered at once */
} receiver;

static receiver *the_rx;

typedef struct upload {
    char *s;
    size_t len;
} upload;

static const char *header_of(struct MHD_Connection *conn, const char *name)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
    return v ? v : "";
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(2, (void *)"{}",
                                                                MHD_RESPMEM_PERSISTENT);
    enum MHD_Result rc = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* Waits, without holding the lock, for the test to release held requests
 * (10 s at most: a stuck test must still end). */
static void hold(receiver *rx)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&rx->mu);
    while (!rx->released && pthread_cond_timedwait(&rx->cv, &rx->mu, &until) != ETIMEDOUT) {
    }
    pthread_mutex_unlock(&rx->mu);
}

static enum MHD_Result act_on(receiver *rx, struct MHD_Connection *conn, action act, int delay);

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)url;
    (void)method;
    (void)version;
    receiver *rx = cls;
    upload *u = *con_cls;
    if (!u) {
        *con_cls = calloc(1, sizeof *u);
        return *con_cls ? MHD_YES : MHD_NO;
    }
    if (*upload_size > 0) {
        char *grown = realloc(u->s, u->len + *upload_size + 1);
        if (!grown) return MHD_NO;
        u->s = grown;
        memcpy(u->s + u->len, upload_data, *upload_size);
        u->len += *upload_size;
        u->s[u->len] = '\0';
        *upload_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&rx->mu);
    action act = rx->n < rx->nplan ? rx->plan[rx->n] : ANSWER_OK;
    if (rx->n < MAX_ARRIVALS) {
        arrival *a = &rx->got[rx->n++];
        a->at = now_s();
        a->seq = atoll(header_of(conn, "X-Event-Seq"));
        snprintf(a->type, sizeof a->type, "%s", header_of(conn, "X-Event-Type"));
        snprintf(a->signature, sizeof a->signature, "%s", header_of(conn, "X-Signature"));
        snprintf(a->content_type, sizeof a->content_type, "%s",
                 header_of(conn, "Content-Type"));
        a->body = u->s ? u->s : strdup("");
        u->s = NULL;
        a->did = act;
    }
    rx->inflight++;
    if (rx->inflight > rx->most_inflight) rx->most_inflight = rx->inflight;
    int delay = rx->ok_delay_ms;
    pthread_cond_broadcast(&rx->cv);
    pthread_mutex_unlock(&rx->mu);
    enum MHD_Result rc = act_on(rx, conn, act, delay);
    pthread_mutex_lock(&rx->mu);
    rx->inflight--;
    pthread_mutex_unlock(&rx->mu);
    return rc;
}

static enum MHD_Result act_on(receiver *rx, struct MHD_Connection *conn, action act, int delay)
{
    switch (act) {
    case ANSWER_500:
        return answer(conn, 500);
    case ANSWER_LATE:
        sleep_ms(TIMEOUT_MS + 500); /* past the sender's timeout */
        return answer(conn, 200);
    case ANSWER_HOLD:
        hold(rx);
        return answer(conn, 200);
    default:
        if (delay) sleep_ms(delay);
        return answer(conn, 200);
    }
}

static void on_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                    enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)conn;
    (void)why;
    upload *u = *con_cls;
    if (u) {
        free(u->s);
        free(u);
    }
    *con_cls = NULL;
}

static receiver *rx_start(const action *plan, int nplan)
{
    receiver *rx = calloc(1, sizeof *rx);
    assert_non_null(rx);
    pthread_mutex_init(&rx->mu, NULL);
    pthread_cond_init(&rx->cv, NULL);
    for (int i = 0; i < nplan && i < 8; i++) rx->plan[i] = plan[i];
    rx->nplan = nplan;
    rx->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                                 MHD_USE_ERROR_LOG,
                             0, NULL, NULL, on_request, rx, MHD_OPTION_NOTIFY_COMPLETED, on_done,
                             rx, MHD_OPTION_SOCK_ADDR,
                             (struct sockaddr *)&(struct sockaddr_in){
                                 .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)},
                             MHD_OPTION_END);
    the_rx = rx; /* stopped by rx_teardown, whatever happens */
    assert_non_null(rx->d);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(rx->d, MHD_DAEMON_INFO_BIND_PORT);
    assert_non_null(info);
    rx->port = info->port;
    return rx;
}

static void rx_release(receiver *rx)
{
    pthread_mutex_lock(&rx->mu);
    rx->released = 1;
    pthread_cond_broadcast(&rx->cv);
    pthread_mutex_unlock(&rx->mu);
}

static int rx_teardown(void **state)
{
    receiver *rx = the_rx;
    the_rx = NULL;
    if (rx) {
        rx_release(rx);
        if (rx->d) MHD_stop_daemon(rx->d);
        for (int i = 0; i < rx->n; i++) free(rx->got[i].body);
        pthread_cond_destroy(&rx->cv);
        pthread_mutex_destroy(&rx->mu);
        free(rx);
    }
    return it_teardown(state);
}

/* Waits up to timeout_s until pred holds of what arrived; 1 if it did. */
static int rx_wait(receiver *rx, int (*pred)(const receiver *rx, const void *arg),
                   const void *arg, double timeout_s)
{
    double deadline = now_s() + timeout_s;
    pthread_mutex_lock(&rx->mu);
    int ok;
    while (!(ok = pred(rx, arg)) && now_s() < deadline) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 50 * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&rx->cv, &rx->mu, &until);
    }
    pthread_mutex_unlock(&rx->mu);
    return ok;
}

static int arrived_n(const receiver *rx, const void *arg)
{
    return rx->n >= *(const int *)arg;
}

/* Every seq of arg (a -1-terminated list) accepted at least once. */
static int accepted_all(const receiver *rx, const void *arg)
{
    for (const long long *s = arg; *s >= 0; s++) {
        int found = 0;
        for (int i = 0; i < rx->n && !found; i++)
            found = rx->got[i].seq == *s && rx->got[i].did == ANSWER_OK;
        if (!found) return 0;
    }
    return 1;
}

/* ---- helpers ------------------------------------------------------------------------- */

static char *hex_hmac(const char *secret, const char *body)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, strlen(body), mac,
         &len);
    char hex[2 * EVP_MAX_MD_SIZE + 1] = "";
    for (unsigned int i = 0; i < len; i++) snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    return strf("sha256=%s", hex);
}

/* A webhook for these event types to the receiver (or any url); its id. */
static long long register_hook(const char *base, const char *url, const char *types_json)
{
    api_resp *r = api_post(base, "/v1/webhooks", KEY_ADMIN,
                           strf("{\"url\": \"%s\", \"events\": %s, \"secret\": \"%s\"}", url,
                                types_json, SECRET));
    assert_status(r, 201);
    long long id = jint(r->json, "id");
    assert_true(id > 0);
    assert_string_equal(r->location, strf("/v1/webhooks/%lld", id));
    assert_null(json_object_get(r->json, "secret"));
    return id;
}

static char *new_customer(const char *base, const char *name)
{
    api_resp *a = create_ok(base, "addresses", KEY_MARKETING,
                            jdump(json_pack("{s:s, s:s, s:s, s:s}", "province", "浙江省", "city",
                                            "杭州市", "district", "西湖区", "detail", uniq())));
    api_resp *r = create_ok(base, "customers", KEY_MARKETING,
                            jdump(json_pack("{s:s, s:s, s:s}", "name", name, "category",
                                            "lv_resident", "address", jstr(a->json, "code"))));
    return it_strdup(jstr(r->json, "code"));
}

/* The seq of the customer.created event of code, from GET /v1/events. */
static long long created_seq(const char *base, const char *code)
{
    api_resp *r = api_get(base, "/v1/events?types=customer.created&limit=1000", KEY_ADMIN);
    json_t *items = list_items(r);
    size_t i;
    json_t *e;
    json_array_foreach(items, i, e)
        if (strcmp(jstr(e, "code"), code) == 0) return jint(e, "seq");
    fail_msg("no customer.created event for %s", code);
    return -1;
}

/* The event of seq exactly as GET /v1/events lists it. */
static const char *listed_event(const char *base, long long seq)
{
    api_resp *r = api_get(base, strf("/v1/events?after=%lld&limit=1", seq - 1), KEY_ADMIN);
    json_t *items = list_items(r);
    assert_int_equal(json_array_size(items), 1);
    return jdump(json_incref(json_array_get(items, 0)));
}

static json_t *deliveries_of(const char *base, long long id)
{
    api_resp *r = api_get(base, strf("/v1/webhooks/%lld/deliveries", id), KEY_ADMIN);
    return list_items(r);
}

/* The attempts, once there are at least n of them (the receiver sees a
 * request before the sender records it), waiting up to 5 s. */
static json_t *deliveries_once(const char *base, long long id, size_t n)
{
    double deadline = now_s() + 5;
    json_t *d;
    while (json_array_size(d = deliveries_of(base, id)) < n && now_s() < deadline) sleep_ms(50);
    return d;
}

static void delete_hook(const char *base, long long id)
{
    assert_status(api_delete(base, strf("/v1/webhooks/%lld", id), KEY_ADMIN), 200);
}

/* ---- registration -------------------------------------------------------------------- */

static size_t hooks_count(const char *base)
{
    return json_array_size(list_items(api_get(base, "/v1/webhooks?limit=1000", KEY_ADMIN)));
}

static void refusals_store_nothing(void **state)
{
    (void)state;
    const char *base = hooks_base();
    size_t before = hooks_count(base);
    const char *good = "{\"url\": \"http://127.0.0.1:9/x\", \"events\": [\"customer.created\"], "
                       "\"secret\": \"" SECRET "\"}";
    assert_problem(api_post(base, "/v1/webhooks", NULL, good), 401);
    assert_problem(api_post(base, "/v1/webhooks", KEY_MARKETING, good), 403);
    assert_problem(api_post(base, "/v1/webhooks", KEY_DISPATCH, good), 403);
    assert_problem(api_get(base, "/v1/webhooks", KEY_MARKETING), 403);
    assert_problem(api_get(base, "/v1/webhooks", NULL), 401);

    static const struct {
        const char *body, *field;
    } bad[] = {
        {"{\"url\": \"ftp://127.0.0.1/x\", \"events\": [\"customer.created\"], \"secret\": \"" SECRET
         "\"}", "url"},
        {"{\"url\": \"http://\", \"events\": [\"customer.created\"], \"secret\": \"" SECRET "\"}",
         "url"},
        {"{\"events\": [\"customer.created\"], \"secret\": \"" SECRET "\"}", "url"},
        {"{\"url\": \"http://127.0.0.1:9/x\", \"events\": [], \"secret\": \"" SECRET "\"}",
         "events"},
        {"{\"url\": \"http://127.0.0.1:9/x\", \"events\": \"customer.created\", \"secret\": \"" SECRET
         "\"}", "events"},
        {"{\"url\": \"http://127.0.0.1:9/x\", \"events\": [\"Customer\"], \"secret\": \"" SECRET
         "\"}", "events"},
        {"{\"url\": \"http://127.0.0.1:9/x\", \"events\": [\"customer.created\", 7], \"secret\": \""
         SECRET "\"}", "events"},
        {"{\"url\": \"http://127.0.0.1:9/x\", \"events\": [7, \"customer.created\"], \"secret\": \""
         SECRET "\"}", "events"},
        {"{\"url\": \"http://127.0.0.1:9/x\", \"events\": [\"customer.created\", \"customer.created\"], "
         "\"secret\": \"" SECRET "\"}", "events"},
        {"{\"url\": \"http://127.0.0.1:9/x\", \"events\": [\"customer.created\"], \"secret\": 12345678901234567}",
         "secret"},
        {"{\"url\": \"http://127.0.0.1:9/x\", \"events\": [\"customer.created\"], \"secret\": "
         "\"short\"}", "secret"},
        {"{\"url\": \"http://127.0.0.1:9/x\", \"events\": [\"customer.created\"]}", "secret"},
        {"{\"url\": \"http://127.0.0.1:9/x\", \"events\": [\"customer.created\"], \"secret\": \""
         SECRET "\", \"active\": true}", "active"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_problem_field(api_post(base, "/v1/webhooks", KEY_ADMIN, bad[i].body), 400,
                             bad[i].field);
    /* Every problem of one body at once. */
    api_resp *all = api_post(base, "/v1/webhooks", KEY_ADMIN,
                             "{\"url\": 1, \"events\": [], \"secret\": \"x\", \"extra\": 1}");
    assert_problem_field(all, 400, "url");
    assert_true(problem_names_field(all, "events") && problem_names_field(all, "secret") &&
                problem_names_field(all, "extra"));
    assert_int_equal(hooks_count(base), before);

    assert_problem(api_get(base, "/v1/webhooks/987654321", KEY_ADMIN), 404);
    assert_problem(api_delete(base, "/v1/webhooks/987654321", KEY_ADMIN), 404);
    assert_problem(api_get(base, "/v1/webhooks/987654321/deliveries", KEY_ADMIN), 404);
    assert_problem(api_get(base, "/v1/webhooks/abc", KEY_ADMIN), 400);
    assert_problem(api_get(base, "/v1/webhooks?bogus=1", KEY_ADMIN), 400);
}

static void register_read_delete(void **state)
{
    (void)state;
    const char *base = hooks_base();
    long long id = register_hook(base, "https://hooks.example.org/in",
                                 "[\"customer.created\", \"outage.created\"]");
    api_resp *r = api_get(base, strf("/v1/webhooks/%lld", id), KEY_ADMIN);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "url"), "https://hooks.example.org/in");
    assert_string_equal(jstr(r->json, "created_by"), "admin");
    assert_true(is_rfc3339_utc(jstr(r->json, "created_at")));
    assert_int_equal(json_array_size(json_object_get(r->json, "events")), 2);
    assert_null(json_object_get(r->json, "secret"));
    assert_true(strstr(r->body, SECRET) == NULL);
    json_t *all = list_items(api_get(base, "/v1/webhooks?limit=1000", KEY_ADMIN));
    int listed = 0;
    for (size_t i = 0; i < json_array_size(all); i++)
        listed += jint(json_array_get(all, i), "id") == id;
    assert_int_equal(listed, 1);
    /* Others may not read it. */
    assert_problem(api_get(base, strf("/v1/webhooks/%lld", id), KEY_PRODUCTION), 403);
    assert_problem(api_get(base, strf("/v1/webhooks/%lld/deliveries", id), KEY_DISPATCH), 403);
    assert_problem(api_delete(base, strf("/v1/webhooks/%lld", id), KEY_MARKETING), 403);
    assert_int_equal(json_array_size(deliveries_of(base, id)), 0);
    delete_hook(base, id);
    assert_problem(api_get(base, strf("/v1/webhooks/%lld", id), KEY_ADMIN), 404);
    assert_problem(api_delete(base, strf("/v1/webhooks/%lld", id), KEY_ADMIN), 404);
}

/* ---- delivery ------------------------------------------------------------------------ */

/* The receiver fails the first two attempts (500), lets the third time
 * out, then accepts: the first customer's event comes four times, with
 * growing waits between, signed, exactly as listed; the second customer's
 * is held back until then, and the addresses' events never come. */
static void retries_until_delivered(void **state)
{
    (void)state;
    const char *base = hooks_base();
    static const action plan[] = {ANSWER_500, ANSWER_500, ANSWER_LATE};
    receiver *rx = rx_start(plan, 3);
    long long id = register_hook(base, strf("http://127.0.0.1:%d/hook", rx->port),
                                 "[\"customer.created\"]");
    char *a = new_customer(base, "张三"), *b = new_customer(base, "李四");
    long long sa = created_seq(base, a), sb = created_seq(base, b);
    assert_true(sa < sb);
    long long want[] = {sa, sb, -1};
    if (!rx_wait(rx, accepted_all, want, 15))
        fail_msg("both events were not delivered within 15 s (%d requests came)", rx->n);
    sleep_ms(300); /* anything sent twice would come now */

    pthread_mutex_lock(&rx->mu);
    int n = rx->n;
    pthread_mutex_unlock(&rx->mu);
    assert_int_equal(n, 5);
    const char *listed = listed_event(base, sa);
    for (int i = 0; i < n; i++) {
        const arrival *g = &rx->got[i];
        long long seq = i < 4 ? sa : sb;
        assert_int_equal(g->seq, seq);
        assert_string_equal(g->type, "customer.created");
        assert_string_equal(g->content_type, "application/json");
        assert_string_equal(g->signature, hex_hmac(SECRET, g->body));
        if (i < 4) assert_string_equal(g->body, listed);
        json_t *e = jkeep(json_loads(g->body, 0, NULL));
        assert_non_null(e);
        assert_int_equal(jint(e, "seq"), seq);
        assert_string_equal(jstr(e, "code"), i < 4 ? a : b);
    }
    /* Waits of about 300, 600 and 1200 ms after each failure (and the
     * timeout of the third), each longer than the one before. */
    double g1 = rx->got[1].at - rx->got[0].at, g2 = rx->got[2].at - rx->got[1].at,
           g3 = rx->got[3].at - rx->got[2].at;
    if (!(g1 >= 0.28 && g2 >= 0.58 && g3 >= 1.15 + 0.9 * TIMEOUT_MS / 1000.0 && g1 < g2 && g2 < g3))
        fail_msg("retry gaps %.3f, %.3f, %.3f s do not grow as 0.3, 0.6, 1.2 (+ timeout)", g1, g2,
                 g3);

    json_t *d = deliveries_once(base, id, 5);
    assert_int_equal(json_array_size(d), 5);
    static const int status[] = {500, 500, 0, 200, 200};
    for (int i = 0; i < 5; i++) {
        json_t *x = json_array_get(d, (size_t)i);
        assert_int_equal(jint(x, "seq"), i < 4 ? sa : sb);
        assert_int_equal(jint(x, "attempt"), i < 4 ? i + 1 : 1);
        assert_string_equal(jstr(x, "type"), "customer.created");
        assert_true(is_rfc3339_utc(jstr(x, "at")));
        assert_int_equal(json_is_true(json_object_get(x, "ok")), i >= 3);
        if (status[i])
            assert_int_equal(jint(x, "status"), status[i]);
        else
            assert_true(json_is_null(json_object_get(x, "status")) &&
                        strlen(jstr(x, "error")) > 0);
        if (i >= 3) assert_true(json_is_null(json_object_get(x, "error")));
    }
    /* Paged as other lists are. */
    api_resp *p1 = api_get(base, strf("/v1/webhooks/%lld/deliveries?limit=3", id), KEY_ADMIN);
    assert_int_equal(json_array_size(list_items(p1)), 3);
    const char *next = jstr(p1->json, "next");
    assert_true(next[0]);
    api_resp *p2 = api_get(base, strf("/v1/webhooks/%lld/deliveries?limit=3&after=%s", id, next),
                           KEY_ADMIN);
    assert_int_equal(json_array_size(list_items(p2)), 2);
    assert_true(json_is_null(json_object_get(p2->json, "next")));
    assert_int_equal(jint(json_array_get(list_items(p2), 0), "attempt"), 4);

    api_resp *w = api_get(base, strf("/v1/webhooks/%lld", id), KEY_ADMIN);
    assert_true(jint(w->json, "delivered_upto") >= sb);
    assert_int_equal(jint(w->json, "failed_attempts"), 0);
    assert_true(json_is_null(json_object_get(w->json, "next_attempt_at")));
    delete_hook(base, id);
}

/* Nothing listens: every attempt fails with no status, the cursor stays,
 * and the webhook says when it tries again. */
static void unreachable_receiver_is_retried(void **state)
{
    (void)state;
    const char *base = hooks_base();
    long long id = register_hook(base, strf("http://127.0.0.1:%d/none", free_port()),
                                 "[\"customer.created\"]");
    long long seq = created_seq(base, new_customer(base, "王五"));
    json_t *d = deliveries_once(base, id, 2);
    if (json_array_size(d) < 2) fail_msg("fewer than 2 attempts within 5 s");
    for (size_t i = 0; i < 2; i++) {
        json_t *x = json_array_get(d, i);
        assert_int_equal(jint(x, "seq"), seq);
        assert_int_equal(jint(x, "attempt"), (long long)i + 1);
        assert_true(json_is_null(json_object_get(x, "status")));
        assert_false(json_is_true(json_object_get(x, "ok")));
        assert_true(strlen(jstr(x, "error")) > 0);
    }
    api_resp *w = api_get(base, strf("/v1/webhooks/%lld", id), KEY_ADMIN);
    assert_true(jint(w->json, "delivered_upto") < seq);
    assert_true(jint(w->json, "failed_attempts") >= 2);
    assert_true(is_rfc3339_utc(jstr(w->json, "next_attempt_at")));
    /* Deleted, it is tried no more. */
    delete_hook(base, id);
    sleep_ms(2 * RETRY_BASE_MS);
    PGconn *db = pg_admin(scratch_db);
    PGresult *r = pg_ok(db, strf("SELECT count(*) FROM webhook_deliveries WHERE webhook = %lld",
                                 id));
    assert_string_equal(PQgetvalue(r, 0, 0), "0");
}

/* The daemon is killed (SIGKILL) while the receiver holds its request:
 * the restarted daemon sends that event again, then the others, in seq
 * order; none is lost. */
static void killed_mid_delivery_loses_nothing(void **state)
{
    (void)state;
    const char *base = hooks_base();
    static const action plan[] = {ANSWER_HOLD};
    receiver *rx = rx_start(plan, 1);
    long long id = register_hook(base, strf("http://127.0.0.1:%d/hook", rx->port),
                                 "[\"customer.created\", \"address.created\"]");
    long long seqs[4];
    for (int i = 0; i < 2; i++) {
        char *cu = new_customer(base, strf("客户%d", i));
        seqs[i] = created_seq(base, cu);
    }
    int one = 1;
    if (!rx_wait(rx, arrived_n, &one, 5)) fail_msg("no request came within 5 s");
    kill(scratch_pid, SIGKILL);
    int st;
    while (waitpid(scratch_pid, &st, 0) < 0 && errno == EINTR) {
    }
    scratch_pid = -1;
    rx_release(rx); /* answered to nobody */
    /* The daemon is down: the receiver has the first event only. */
    pthread_mutex_lock(&rx->mu);
    long long first = rx->got[0].seq;
    int came = rx->n;
    pthread_mutex_unlock(&rx->mu);
    assert_int_equal(came, 1);

    scratch_start();
    /* More events after the restart. */
    for (int i = 2; i < 4; i++) seqs[i] = created_seq(base, new_customer(base, strf("客户%d", i)));
    long long want[] = {first, seqs[0], seqs[1], seqs[2], seqs[3], -1};
    if (!rx_wait(rx, accepted_all, want, 15))
        fail_msg("not every event was delivered within 15 s of the restart (%d requests)", rx->n);
    sleep_ms(300);

    /* Every event of the two types after the registration, exactly as
     * listed, accepted in seq order. */
    pthread_mutex_lock(&rx->mu);
    long long last = 0;
    int accepted = 0;
    for (int i = 0; i < rx->n; i++) {
        const arrival *g = &rx->got[i];
        assert_string_equal(g->signature, hex_hmac(SECRET, g->body));
        if (g->did != ANSWER_OK) continue;
        if (g->seq <= last) fail_msg("seq %lld accepted after %lld", g->seq, last);
        last = g->seq;
        accepted++;
    }
    pthread_mutex_unlock(&rx->mu);
    api_resp *ev = api_get(base,
                           strf("/v1/events?after=%lld&types=customer.created,address.created"
                                "&limit=1000", first - 1),
                           KEY_ADMIN);
    assert_int_equal(accepted, (int)json_array_size(list_items(ev)));
    assert_true(accepted >= 8); /* four customers and their addresses */
    json_t *d = deliveries_once(base, id, (size_t)accepted);
    assert_int_equal(json_array_size(d), accepted);
    delete_hook(base, id);
}

/* SIGTERM while the receiver holds a request: the daemon stops at once,
 * gives its claim back, and once started again sends the event at once
 * (not after the claim's lease), as attempt 1: a stop is no failure. */
static void sigterm_mid_delivery_resumes_at_once(void **state)
{
    (void)state;
    const char *base = hooks_base();
    static const action plan[] = {ANSWER_HOLD};
    receiver *rx = rx_start(plan, 1);
    long long id = register_hook(base, strf("http://127.0.0.1:%d/hook", rx->port),
                                 "[\"customer.created\"]");
    long long seq = created_seq(base, new_customer(base, "赵六"));
    int one = 1;
    if (!rx_wait(rx, arrived_n, &one, 5)) fail_msg("no request came within 5 s");
    double t0 = now_s();
    int st = daemon_stop(scratch_pid, 10);
    scratch_pid = -1;
    double took = now_s() - t0;
    assert_int_equal(st, 0);
    if (took > 3) fail_msg("cust-svc took %.1f s to stop during a delivery", took);
    rx_release(rx);

    scratch_start();
    double t1 = now_s();
    long long want[] = {seq, -1};
    if (!rx_wait(rx, accepted_all, want, 10)) fail_msg("the event was not sent again");
    pthread_mutex_lock(&rx->mu);
    double again = rx->got[rx->n - 1].at - t1;
    pthread_mutex_unlock(&rx->mu);
    if (again > 2.5) fail_msg("sent again %.1f s after the restart: the claim was kept", again);
    json_t *d = deliveries_once(base, id, 1);
    assert_int_equal(json_array_size(d), 1);
    assert_int_equal(jint(json_array_get(d, 0), "attempt"), 1);
    assert_true(json_is_true(json_object_get(json_array_get(d, 0), "ok")));
    delete_hook(base, id);
}

static int rx_and_extras_teardown(void **state)
{
    for (int i = 0; i < 2; i++) {
        daemon_kill(it_extra[i]);
        it_extra[i] = -1;
    }
    return rx_teardown(state);
}

/* Two cust-svc on one database: each event is sent once, in seq order,
 * never two requests at once to the webhook. */
static void two_daemons_send_each_event_once(void **state)
{
    (void)state;
    const char *base = hooks_base();
    static const char *const more[] = {"WEBHOOK_RETRY_BASE_MS=300", "WEBHOOK_TIMEOUT_MS=700", NULL};
    int port2 = second_port = free_port();
    it_extra[0] = start_daemon_env("cust", port2, scratch_url(), grid_url(),
                                   strf("itest-webhooks-%d", port2), more);
    assert_true(it_extra[0] > 0);
    const char *base2 = strf("http://127.0.0.1:%d", port2);
    receiver *rx = rx_start(NULL, 0);
    rx->ok_delay_ms = 150;
    long long id = register_hook(base2, strf("http://127.0.0.1:%d/hook", rx->port),
                                 "[\"customer.created\"]");
    enum { N = 6 };
    long long want[N + 1];
    for (int i = 0; i < N; i++) {
        const char *b = i % 2 ? base2 : base;
        want[i] = created_seq(b, new_customer(b, strf("并发%d", i)));
    }
    want[N] = -1;
    if (!rx_wait(rx, accepted_all, want, 15)) fail_msg("not all %d events came within 15 s", N);
    sleep_ms(500);
    pthread_mutex_lock(&rx->mu);
    int n = rx->n, most = rx->most_inflight;
    long long last = 0;
    for (int i = 0; i < n; i++) {
        if (rx->got[i].seq <= last)
            fail_msg("seq %lld came after %lld", rx->got[i].seq, last);
        last = rx->got[i].seq;
    }
    pthread_mutex_unlock(&rx->mu);
    assert_int_equal(n, N);
    assert_int_equal(most, 1);
    assert_int_equal(json_array_size(deliveries_once(base, id, N)), N);
    delete_hook(base, id);
    assert_int_equal(daemon_stop(it_extra[0], 10), 0);
    it_extra[0] = -1;
}

/* Each log of the daemons started here holds no sanitizer report. */

static void assert_clean_log(int port)
{
    const char *path = strf("%s/itest-webhooks-%d.log", it_env("RUN_DIR"), port);
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("cannot read %s", path);
    char line[4096];
    int bad = 0;
    while (fgets(line, sizeof line, f))
        bad |= strstr(line, "runtime error:") || strstr(line, "ERROR: AddressSanitizer") ||
               strstr(line, "ERROR: LeakSanitizer");
    fclose(f);
    if (bad) fail_msg("%s holds a sanitizer report", path);
}

/* Last: the scratch daemon stops on SIGTERM with status 0 (under the
 * sanitizers, no leak either), and no log has a report. */
static void scratch_daemon_stops_cleanly(void **state)
{
    (void)state;
    hooks_base();
    int st = daemon_stop(scratch_pid, 15);
    scratch_pid = -1;
    assert_int_equal(st, 0);
    assert_clean_log(scratch_port);
    if (second_port) assert_clean_log(second_port);
}

int main(void)
{
    it_filter();
    srand((unsigned)(time(NULL) ^ getpid()));
    const struct CMUnitTest tests[] = {
        IT(refusals_store_nothing),
        IT(register_read_delete),
        cmocka_unit_test_teardown(retries_until_delivered, rx_teardown),
        IT(unreachable_receiver_is_retried),
        cmocka_unit_test_teardown(killed_mid_delivery_loses_nothing, rx_teardown),
        cmocka_unit_test_teardown(sigterm_mid_delivery_resumes_at_once, rx_teardown),
        cmocka_unit_test_teardown(two_daemons_send_each_event_once, rx_and_extras_teardown),
        IT(scratch_daemon_stops_cleanly),
    };
    return cmocka_run_group_tests(tests, it_group_setup, group_teardown);
}
