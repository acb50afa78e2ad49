/* test_http.c -- common/net's HTTP server, served: the ?limit= and ?after= of
 * a page, query and path accessors, heads over our limits (414, 431), keys
 * (401), bodies (413, 415, 400), problems as clients get them, and which
 * thread runs a handler (the I/O thread, the local workers, the peer workers
 * of each hop, 508 beyond). The server listens on 127.0.0.1 on a free port;
 * requests go over a real socket with libcurl. (Answers set without a
 * server: test_problem.c.) */
#include "../unit_helpers.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>

#include "base/log.h"
#include "net/auth.h"
#include "net/http.h"
#include "net/peer.h"
#include "net/router.h"

#define KEY "unit-test-key"

static char *repeat(char c, size_t n)
{
    char *s = xmalloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static const char *member(const json_t *j, const char *key)
{
    const char *v = json_string_value(json_object_get(j, key));
    if (!v) fail_msg("no string member %s", key);
    return v;
}

/* ---- a server on a free port ------------------------------------------------------------------ */

typedef struct {
    http_server *server;
    router *router;
    auth *auth;
    char base[64];
} fixture;

/* GET /q: the query as the accessors give it. */
static int add_arg(void *ctx, const char *key, const char *value)
{
    json_t *args = ctx;
    if (strcmp(key, "stop") == 0) return ERR; /* ends the walk early */
    json_object_set_new(args, key, json_string(value));
    return OK;
}

static void h_query(request *req, void *ctx)
{
    (void)ctx;
    json_t *args = json_object();
    int rc = http_query_foreach(req, add_arg, args);
    const char *a = http_query(req, "a");
    const char *h = http_header_in(req, "X-Test");
    http_json(req, 200, json_pack("{s:o, s:b, s:s?, s:s?}", "args", args, "complete", rc == OK,
                                  "a", a, "x_test", h));
}

static void h_page(request *req, void *ctx)
{
    (void)ctx;
    int limit;
    long long after;
    if (http_paging(req, 10, 50, &limit, &after) != OK) return;
    http_json(req, 200, json_pack("{s:i, s:I}", "limit", limit, "after", (json_int_t)after));
}

static void h_item(request *req, void *ctx)
{
    (void)ctx;
    http_json(req, 200, json_pack("{s:s, s:s, s:s}", "code", http_param(req, 0), "part",
                                  http_param(req, 1), "beyond", http_param(req, 2)));
}

static void h_echo(request *req, void *ctx)
{
    (void)ctx;
    http_json(req, 201, json_incref(req->json));
}

/* The thread a handler ran on, as a number the test compares. */
static void h_thread(request *req, void *ctx)
{
    (void)ctx;
    char t[32];
    snprintf(t, sizeof t, "%lu", (unsigned long)pthread_self());
    http_json(req, 200, json_pack("{s:s, s:s}", "thread", t, "app", req->app ? req->app->name : "-"));
}

static void h_silent(request *req, void *ctx)
{
    (void)req;
    (void)ctx;
}

static int start_server(void **state)
{
    fixture *f = xcalloc(1, sizeof *f);
    char hash[65], err[256];
    sha256_hex(KEY, strlen(KEY), hash);
    char *apps = xasprintf("{\"apps\": [{\"app\": \"unit\", \"roles\": [\"admin\"], "
                           "\"key_sha256\": \"%s\"}]}", hash);
    char *path = write_temp(apps);
    f->auth = auth_load(path, err, sizeof err);
    unlink(path);
    free(path);
    free(apps);
    if (!f->auth) fail_msg("auth_load: %s", err);

    router *r = f->router = router_new();
    router_add(r, "GET", "/q", h_query, NULL, ROUTE_PUBLIC, "query");
    router_add(r, "GET", "/page", h_page, NULL, ROUTE_PUBLIC, "page");
    router_add(r, "GET", "/items/{code}/{part}", h_item, NULL, ROUTE_PUBLIC, "item");
    router_add(r, "POST", "/echo", h_echo, NULL, ROUTE_BODY_JSON, "echo");
    router_add(r, "PATCH", "/echo", h_echo, NULL, ROUTE_BODY_JSON, "echo patch");
    router_add(r, "GET", "/io", h_thread, NULL, 0, "on the I/O thread");
    router_add(r, "GET", "/local", h_thread, NULL, ROUTE_SLOW, "on a local worker");
    router_add(r, "GET", "/peer", h_thread, NULL, ROUTE_PEER, "on a peer worker");
    router_add(r, "GET", "/silent", h_silent, NULL, ROUTE_PUBLIC, "no answer");

    http_config cfg = {.service = "unit-svc",
                       .bind_addr = "127.0.0.1",
                       .port = 0,
                       .threads = 1,
                       .peer_workers = 1,
                       .local_workers = 1,
                       .max_connections = 64,
                       .body_limit = 1024,
                       .bulk_limit = 4096,
                       .auth = f->auth};
    f->server = http_start(&cfg, r);
    if (!f->server) fail_msg("the server did not start");
    assert_true(http_port(f->server) > 0);
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", http_port(f->server));
    *state = f;
    return 0;
}

static int stop_server(void **state)
{
    fixture *f = *state;
    http_shutdown(f->server, 5);
    router_free(f->router);
    auth_free(f->auth);
    free(f);
    return 0;
}

typedef struct {
    long status;
    char type[128];
    sbuf body;
    json_t *json; /* the body, when it is JSON */
    char allow[128], www_auth[128], request_id[80];
} answer;

static size_t take_body(char *p, size_t size, size_t n, void *ctx)
{
    sb_appendn(&((answer *)ctx)->body, p, size * n);
    return size * n;
}

static void copy_header(const char *line, size_t len, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    if (len <= nl || strncasecmp(line, name, nl) != 0) return;
    const char *v = line + nl;
    size_t vl = len - nl;
    while (vl && (*v == ' ')) v++, vl--;
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n')) vl--;
    snprintf(out, cap, "%.*s", (int)vl, v);
}

static size_t take_header(char *p, size_t size, size_t n, void *ctx)
{
    answer *a = ctx;
    copy_header(p, size * n, "Content-Type:", a->type, sizeof a->type);
    copy_header(p, size * n, "Allow:", a->allow, sizeof a->allow);
    copy_header(p, size * n, "WWW-Authenticate:", a->www_auth, sizeof a->www_auth);
    copy_header(p, size * n, "X-Request-Id:", a->request_id, sizeof a->request_id);
    return size * n;
}

/* One request; headers is NULL-terminated (or NULL). The answer is freed by
 * answer_free. */
static answer *call(const fixture *f, const char *method, const char *target,
                    const char *const *headers, const char *body)
{
    answer *a = xcalloc(1, sizeof *a);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    char *url = xasprintf("%s%s", f->base, target);
    struct curl_slist *h = NULL;
    for (; headers && *headers; headers++) h = curl_slist_append(h, *headers);
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, take_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, take_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (body) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) fail_msg("%s %s: %s", method, target, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    free(url);
    if (a->body.len) a->json = json_loadb(a->body.s, a->body.len, 0, NULL);
    return a;
}

static answer *get(const fixture *f, const char *target)
{
    return call(f, "GET", target, NULL, NULL);
}

static void answer_free(answer *a)
{
    json_decref(a->json);
    sb_free(&a->body);
    free(a);
}

/* The answer is a problem of this status; returns its detail. */
static const char *assert_problem(const answer *a, long status)
{
    if (a->status != status)
        fail_msg("status %ld, not %ld: %.*s", a->status, status, (int)a->body.len,
                 a->body.s ? a->body.s : "");
    assert_string_equal(a->type, "application/problem+json");
    assert_non_null(a->json);
    assert_int_equal(json_integer_value(json_object_get(a->json, "status")), status);
    assert_non_null(json_string_value(json_object_get(a->json, "type")));
    return member(a->json, "detail");
}

static void test_query_accessors(void **state)
{
    fixture *f = *state;
    const char *hdr[] = {"X-Test: yes", NULL};
    answer *a = call(f, "GET", "/q?a=1&b=two%20words&c=", hdr, NULL);
    assert_int_equal(a->status, 200);
    assert_string_equal(a->type, "application/json");
    assert_string_equal(member(a->json, "a"), "1");
    assert_string_equal(member(a->json, "x_test"), "yes");
    json_t *args = json_object_get(a->json, "args");
    assert_int_equal(json_object_size(args), 3);
    assert_string_equal(member(args, "b"), "two words");
    assert_string_equal(member(args, "c"), "");
    assert_true(json_is_true(json_object_get(a->json, "complete")));
    /* each answer carries a request id, or the one the client gave */
    assert_true(strlen(a->request_id) > 9);
    answer_free(a);
    const char *id[] = {"X-Request-Id: my-id.1", NULL};
    a = call(f, "GET", "/q", id, NULL);
    assert_string_equal(a->request_id, "my-id.1");
    assert_true(json_is_null(json_object_get(a->json, "a")));
    answer_free(a);
    /* the walk stops where its function says */
    a = get(f, "/q?x=1&stop=1&y=2");
    assert_false(json_is_true(json_object_get(a->json, "complete")));
    assert_null(json_object_get(json_object_get(a->json, "args"), "y"));
    answer_free(a);
}

static void test_path_params(void **state)
{
    fixture *f = *state;
    answer *a = get(f, "/items/AB-12/left");
    assert_int_equal(a->status, 200);
    assert_string_equal(member(a->json, "code"), "AB-12");
    assert_string_equal(member(a->json, "part"), "left");
    assert_string_equal(member(a->json, "beyond"), "");
    answer_free(a);
    char *code = repeat('k', ROUTE_PARAM_MAX + 1);
    char *target = xasprintf("/items/%s/x", code);
    a = get(f, target);
    assert_non_null(strstr(assert_problem(a, 400), "a path parameter is longer than"));
    free(target);
    free(code);
    answer_free(a);
}

static void test_paging(void **state)
{
    fixture *f = *state;
    answer *a = get(f, "/page");
    assert_int_equal(a->status, 200);
    assert_int_equal(json_integer_value(json_object_get(a->json, "limit")), 10);
    assert_int_equal(json_integer_value(json_object_get(a->json, "after")), 0);
    answer_free(a);
    a = get(f, "/page?limit=50&after=12345678901");
    assert_int_equal(json_integer_value(json_object_get(a->json, "limit")), 50);
    assert_int_equal(json_integer_value(json_object_get(a->json, "after")), 12345678901LL);
    answer_free(a);
    const char *bad_limit[] = {"/page?limit=0", "/page?limit=51", "/page?limit=x", "/page?limit="};
    for (size_t i = 0; i < ARRAY_LEN(bad_limit); i++) {
        a = get(f, bad_limit[i]);
        assert_string_equal(assert_problem(a, 400), "limit must be an integer from 1 to 50");
        assert_string_equal(member(a->json, "instance"), "/page");
        answer_free(a);
    }
    const char *bad_after[] = {"/page?after=-1", "/page?after=abc", "/page?after=", "/page?after=1.5"};
    for (size_t i = 0; i < ARRAY_LEN(bad_after); i++) {
        a = get(f, bad_after[i]);
        assert_non_null(strstr(assert_problem(a, 400), "after must be the cursor"));
        answer_free(a);
    }
}

static void test_not_found_and_method(void **state)
{
    fixture *f = *state;
    answer *a = get(f, "/nowhere");
    assert_string_equal(assert_problem(a, 404), "no resource at /nowhere");
    assert_string_equal(member(a->json, "type"), "urn:yingpei:problem:not-found");
    assert_string_equal(member(a->json, "title"), "Not Found");
    answer_free(a);
    a = call(f, "DELETE", "/echo", NULL, NULL);
    assert_problem(a, 405);
    assert_string_equal(a->allow, "POST, PATCH");
    answer_free(a);
    /* a handler that sets no answer is a 500, not a hang */
    a = get(f, "/silent");
    assert_string_equal(assert_problem(a, 500), "the handler gave no answer");
    answer_free(a);
}

static void test_heads_too_large(void **state)
{
    fixture *f = *state;
    /* a target over 32768 bytes */
    char *name = repeat('n', 40000);
    char *target = xasprintf("/q?name=%s", name);
    answer *a = get(f, target);
    assert_string_equal(assert_problem(a, 414),
                        "the request target (path and query) is longer than 32768 bytes");
    assert_string_equal(member(a->json, "type"), "urn:yingpei:problem:uri-too-long");
    answer_free(a);
    free(target);
    free(name);
    /* more than 256 parameters */
    sbuf q = {0};
    sb_append(&q, "/q?");
    for (int i = 0; i < 300; i++) sb_appendf(&q, "%sp%d=1", i ? "&" : "", i);
    a = get(f, q.s);
    assert_string_equal(assert_problem(a, 414), "the query has more than 256 parameters");
    answer_free(a);
    sb_free(&q);
    /* 256 are read */
    sb_append(&q, "/q?");
    for (int i = 0; i < 256; i++) sb_appendf(&q, "%sp%d=1", i ? "&" : "", i);
    a = get(f, q.s);
    assert_int_equal(a->status, 200);
    assert_int_equal(json_object_size(json_object_get(a->json, "args")), 256);
    answer_free(a);
    sb_free(&q);
    /* more than 100 header fields */
    char **many = xcalloc(121, sizeof *many);
    for (int i = 0; i < 120; i++) many[i] = xasprintf("X-Field-%d: v", i);
    a = call(f, "GET", "/q", (const char *const *)many, NULL);
    assert_non_null(strstr(assert_problem(a, 431), "at most 100 of 16384 bytes"));
    assert_string_equal(member(a->json, "type"), "urn:yingpei:problem:header-fields-too-large");
    answer_free(a);
    for (int i = 0; i < 120; i++) free(many[i]);
    free(many);
    /* more than 16 KiB of them */
    char *big_value = repeat('c', 20000);
    char *big = xasprintf("X-Big: %s", big_value);
    const char *hdr[] = {big, NULL};
    a = call(f, "GET", "/q", hdr, NULL);
    assert_problem(a, 431);
    answer_free(a);
    free(big);
    free(big_value);
    /* and the server answers as usual afterwards */
    a = get(f, "/q?a=ok");
    assert_int_equal(a->status, 200);
    assert_string_equal(member(a->json, "a"), "ok");
    answer_free(a);
}

static void test_keys(void **state)
{
    fixture *f = *state;
    answer *a = get(f, "/io");
    assert_non_null(strstr(assert_problem(a, 401), "missing Authorization header"));
    assert_string_equal(a->www_auth, "Bearer realm=\"yingpei\"");
    answer_free(a);
    const char *wrong[] = {"Authorization: Bearer not-the-key", NULL};
    a = call(f, "GET", "/io", wrong, NULL);
    assert_string_equal(assert_problem(a, 401), "unknown API key");
    answer_free(a);
    const char *malformed[] = {"Authorization: Basic abc", NULL};
    a = call(f, "GET", "/io", malformed, NULL);
    assert_non_null(strstr(assert_problem(a, 401), "malformed"));
    answer_free(a);
    const char *right[] = {"Authorization: Bearer " KEY, NULL};
    a = call(f, "GET", "/io", right, NULL);
    assert_int_equal(a->status, 200);
    assert_string_equal(member(a->json, "app"), "unit");
    answer_free(a);
}

static void test_bodies(void **state)
{
    fixture *f = *state;
    const char *json_key[] = {"Authorization: Bearer " KEY, "Content-Type: application/json", NULL};
    answer *a = call(f, "POST", "/echo", json_key, "{\"x\": [1, 2]}");
    assert_int_equal(a->status, 201);
    assert_int_equal(json_array_size(json_object_get(a->json, "x")), 2);
    answer_free(a);
    /* not an object */
    a = call(f, "POST", "/echo", json_key, "[1]");
    assert_problem(a, 400);
    answer_free(a);
    /* over the body limit (1024 bytes here): read, thrown away, refused */
    char *pad = repeat('p', 2000);
    char *big = xasprintf("{\"p\": \"%s\"}", pad);
    a = call(f, "POST", "/echo", json_key, big);
    assert_string_equal(assert_problem(a, 413),
                        "request body exceeds the limit of 1024 bytes");
    answer_free(a);
    free(big);
    free(pad);
    /* the wrong type; merge-patch only for PATCH */
    const char *text[] = {"Authorization: Bearer " KEY, "Content-Type: text/plain", NULL};
    a = call(f, "POST", "/echo", text, "{}");
    assert_string_equal(assert_problem(a, 415), "Content-Type must be application/json, not text/plain");
    answer_free(a);
    const char *merge[] = {"Authorization: Bearer " KEY, "Content-Type: application/merge-patch+json",
                           NULL};
    a = call(f, "POST", "/echo", merge, "{}");
    assert_problem(a, 415);
    answer_free(a);
    a = call(f, "PATCH", "/echo", merge, "{\"y\": 1}");
    assert_int_equal(a->status, 201);
    answer_free(a);
}

/* The thread a route's handler ran on, asked with hop (-1: no hop header). */
static char *thread_of(const fixture *f, const char *target, int hop)
{
    char hop_header[64];
    snprintf(hop_header, sizeof hop_header, "%s: %d", PEER_HOP_HEADER, hop);
    const char *h[] = {"Authorization: Bearer " KEY, hop >= 0 ? hop_header : NULL, NULL};
    answer *a = call(f, "GET", target, h, NULL);
    if (a->status != 200) fail_msg("%s (hop %d): status %ld", target, hop, a->status);
    char *t = xstrdup(member(a->json, "thread"));
    answer_free(a);
    return t;
}

static void test_worker_queues(void **state)
{
    fixture *f = *state;
    char *io = thread_of(f, "/io", -1), *local = thread_of(f, "/local", -1),
         *peer0 = thread_of(f, "/peer", -1), *peer1 = thread_of(f, "/peer", 1);
    /* one thread each (threads, local_workers and peer_workers are 1): four threads */
    char *all[] = {io, local, peer0, peer1};
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            if (strcmp(all[i], all[j]) == 0) fail_msg("queues %d and %d ran on one thread", i, j);
    /* and the same queue is the same thread again; hop 0 is the hop header's absence */
    for (int k = 0; k < 3; k++) {
        char *again[] = {thread_of(f, "/io", -1), thread_of(f, "/local", 0),
                         thread_of(f, "/peer", 0), thread_of(f, "/peer", 1)};
        for (int i = 0; i < 4; i++) {
            assert_string_equal(again[i], all[i]);
            free(again[i]);
        }
    }
    /* the hop only picks the queue of routes that wait on the peer */
    char *local1 = thread_of(f, "/local", 1);
    assert_string_equal(local1, local);
    free(local1);
    for (int i = 0; i < 4; i++) free(all[i]);
    /* a third crossing would need a queue there is none of */
    const char *h[] = {"Authorization: Bearer " KEY, PEER_HOP_HEADER ": 2", NULL};
    answer *a = call(f, "GET", "/peer", h, NULL);
    assert_non_null(strstr(assert_problem(a, 508), "crossed between the platforms 2 times"));
    assert_string_equal(member(a->json, "type"), "urn:yingpei:problem:loop-detected");
    answer_free(a);
}

/* Many requests at once on the peer workers: each answered, none lost. */
typedef struct {
    const fixture *f;
    int ok;
} burst_arg;

static void *burst(void *p)
{
    burst_arg *b = p;
    const char *h[] = {"Authorization: Bearer " KEY, NULL};
    for (int i = 0; i < 20; i++) {
        answer *a = call(b->f, "GET", i % 2 ? "/peer" : "/local", h, NULL);
        b->ok += a->status == 200;
        answer_free(a);
    }
    return NULL;
}

static void test_worker_burst(void **state)
{
    fixture *f = *state;
    pthread_t t[6];
    burst_arg args[6];
    for (int i = 0; i < 6; i++) {
        args[i] = (burst_arg){f, 0};
        assert_int_equal(pthread_create(&t[i], NULL, burst, &args[i]), 0);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(args[i].ok, 20);
    }
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    log_init("unit-svc", "error"); /* no line per request in the test's output */
    const struct CMUnitTest served[] = {
        cmocka_unit_test(test_query_accessors),
        cmocka_unit_test(test_path_params),
        cmocka_unit_test(test_paging),
        cmocka_unit_test(test_not_found_and_method),
        cmocka_unit_test(test_heads_too_large),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_bodies),
        cmocka_unit_test(test_worker_queues),
        cmocka_unit_test(test_worker_burst),
    };
    int failed = cmocka_run_group_tests_name("http, served", served, start_server, stop_server);
    curl_global_cleanup();
    return failed ? 1 : 0;
}
