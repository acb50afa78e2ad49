/* test_events.c -- change events (消息通知): GET /v1/events and
 * GET /v1/events/stream on both platforms. Every write records its event in
 * its own transaction; a refused write records none; readers page by
 * sequence number and filter by type; events that have been pruned are
 * answered 410 with where to resume. The stream delivers each event as it
 * commits, once and in seq order, resumes after Last-Event-ID, sends
 * heartbeats, and neither holds up writers nor the daemon's stop.
 *
 * Each test reads from the newest sequence number it saw before writing, so
 * other suites' events do not disturb it. */
#include "client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <strings.h>
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

/* ---- reading a stream ------------------------------------------------------------ */

/* A GET /v1/events/stream read by a thread of its own (curl multi, woken
 * every 50 ms to see whether to stop), its body kept for the test to look
 * at. Tracked: the test's teardown stops and frees it. */
typedef struct {
    pthread_t thread;
    CURL *easy;
    CURLM *multi;
    struct curl_slist *headers;
    char url[600];
    pthread_mutex_t mu;
    char *body; /* NUL-terminated */
    size_t len, cap;
    long status;        /* of the answer, once its headers arrived */
    char content_type[128], cache_control[128];
    int done;           /* the transfer ended */
    CURLcode result;    /* how, once done */
    atomic_int stop;
    int running;        /* the thread was started and not yet joined */
} sse;

static size_t sse_body(char *data, size_t size, size_t nmemb, void *ud)
{
    sse *s = ud;
    size_t n = size * nmemb;
    pthread_mutex_lock(&s->mu);
    if (s->len + n + 1 > s->cap) {
        s->cap = (s->len + n + 1) * 2;
        s->body = realloc(s->body, s->cap);
        if (!s->body) abort();
    }
    memcpy(s->body + s->len, data, n);
    s->len += n;
    s->body[s->len] = '\0';
    pthread_mutex_unlock(&s->mu);
    return n;
}

static void header_value(const char *data, size_t n, const char *name, char *dst, size_t cap)
{
    size_t nl = strlen(name);
    if (n <= nl || strncasecmp(data, name, nl) != 0 || data[nl] != ':') return;
    const char *v = data + nl + 1;
    size_t vl = n - nl - 1;
    while (vl && *v == ' ') v++, vl--;
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n')) vl--;
    snprintf(dst, cap, "%.*s", (int)vl, v);
}

static size_t sse_header(char *data, size_t size, size_t nmemb, void *ud)
{
    sse *s = ud;
    size_t n = size * nmemb;
    pthread_mutex_lock(&s->mu);
    if (n > 9 && strncmp(data, "HTTP/", 5) == 0) {
        const char *sp = memchr(data, ' ', n);
        if (sp) s->status = strtol(sp + 1, NULL, 10);
    }
    header_value(data, n, "Content-Type", s->content_type, sizeof s->content_type);
    header_value(data, n, "Cache-Control", s->cache_control, sizeof s->cache_control);
    pthread_mutex_unlock(&s->mu);
    return n;
}

static void *sse_run(void *arg)
{
    sse *s = arg;
    int running = 1;
    while (running && !atomic_load(&s->stop)) {
        curl_multi_perform(s->multi, &running);
        if (running) curl_multi_poll(s->multi, NULL, 0, 50, NULL);
    }
    CURLMsg *m;
    int left;
    pthread_mutex_lock(&s->mu);
    while ((m = curl_multi_info_read(s->multi, &left)))
        if (m->msg == CURLMSG_DONE) {
            s->done = 1;
            s->result = m->data.result;
        }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Stops reading; the connection is closed, as by a client that goes away. */
static void sse_close(sse *s)
{
    if (!s->running) return;
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
    s->running = 0;
    curl_multi_remove_handle(s->multi, s->easy);
    curl_easy_cleanup(s->easy);
    curl_multi_cleanup(s->multi);
    curl_slist_free_all(s->headers);
    s->easy = NULL;
    s->multi = NULL;
    s->headers = NULL;
}

static void sse_free(void *p)
{
    sse *s = p;
    sse_close(s);
    pthread_mutex_destroy(&s->mu);
    free(s->body);
    free(s);
}

/* Opens base/v1/events/stream?query (query may be "") with key and, when
 * not NULL, a Last-Event-ID. */
static sse *sse_open(const char *base, const char *query, const char *key,
                     const char *last_event_id)
{
    sse *s = calloc(1, sizeof *s);
    if (!s) abort();
    pthread_mutex_init(&s->mu, NULL);
    it_track(s, sse_free);
    snprintf(s->url, sizeof s->url, "%s/v1/events/stream%s%s", base, *query ? "?" : "", query);
    s->headers = curl_slist_append(s->headers, strf("Authorization: Bearer %s", key));
    if (last_event_id)
        s->headers = curl_slist_append(s->headers, strf("Last-Event-ID: %s", last_event_id));
    s->easy = curl_easy_init();
    s->multi = curl_multi_init();
    curl_easy_setopt(s->easy, CURLOPT_URL, s->url);
    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->headers);
    curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, sse_body);
    curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, sse_header);
    curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->easy, CURLOPT_FORBID_REUSE, 1L);
    curl_multi_add_handle(s->multi, s->easy);
    if (pthread_create(&s->thread, NULL, sse_run, s) != 0) abort();
    s->running = 1;
    return s;
}

/* A copy of what arrived so far (tracked). */
static char *sse_text(sse *s)
{
    pthread_mutex_lock(&s->mu);
    char *t = it_strdup(s->body ? s->body : "");
    pthread_mutex_unlock(&s->mu);
    return t;
}

/* Waits up to timeout_s for needle in the body; 1 when it came. */
static int sse_wait_for(sse *s, const char *needle, double timeout_s)
{
    double deadline = now_s() + timeout_s;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        int found = s->body && strstr(s->body, needle);
        pthread_mutex_unlock(&s->mu);
        if (found) return 1;
        if (now_s() >= deadline) return 0;
        sleep_ms(20);
    }
}

/* Waits up to timeout_s for the server to end the stream; 1 when it did. */
static int sse_wait_done(sse *s, double timeout_s)
{
    double deadline = now_s() + timeout_s;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        int done = s->done;
        pthread_mutex_unlock(&s->mu);
        if (done) return 1;
        if (now_s() >= deadline) return 0;
        sleep_ms(20);
    }
}

/* Opened: 200, text/event-stream, and the first line in; fails the test otherwise. */
static sse *sse_open_ok(const char *base, const char *query, const char *key,
                        const char *last_event_id)
{
    sse *s = sse_open(base, query, key, last_event_id);
    if (!sse_wait_for(s, "retry: ", 5))
        fail_msg("%s: no first line within 5 s (status %ld): %s", s->url, s->status, sse_text(s));
    assert_int_equal(s->status, 200);
    return s;
}

/* The whole frames received so far, in order: [{"id", "event", "data"}]
 * with data parsed; comments (heartbeats) and retry lines left out. */
static json_t *sse_frames(sse *s)
{
    json_t *frames = jkeep(json_array());
    char *text = sse_text(s), *end;
    for (char *block = text; (end = strstr(block, "\n\n")); block = end + 2) {
        *end = '\0';
        json_t *f = json_object();
        for (char *line = strtok(block, "\n"); line; line = strtok(NULL, "\n")) {
            if (strncmp(line, "id: ", 4) == 0)
                json_object_set_new(f, "id", json_integer(atoll(line + 4)));
            else if (strncmp(line, "event: ", 7) == 0)
                json_object_set_new(f, "event", json_string(line + 7));
            else if (strncmp(line, "data: ", 6) == 0)
                json_object_set_new(f, "data", json_loads(line + 6, 0, NULL));
            else if (line[0] != ':' && strncmp(line, "retry: ", 7) != 0)
                fail_msg("unexpected line in the stream: '%s'", line);
        }
        if (json_object_size(f))
            json_array_append_new(frames, f);
        else
            json_decref(f);
    }
    return frames;
}

/* Checks each frame: id = data.seq, event = data.type, ids increasing. */
static void assert_frames_well_formed(json_t *frames)
{
    long long last = -1;
    size_t i;
    json_t *f;
    json_array_foreach(frames, i, f) {
        json_t *data = json_object_get(f, "data");
        if (!json_is_object(data)) fail_msg("a frame without JSON data: %s", jdump(json_incref(f)));
        long long id = jint(f, "id");
        if (id != jint(data, "seq") || strcmp(jstr(f, "event"), jstr(data, "type")) != 0)
            fail_msg("id/event do not match the data: %s", jdump(json_incref(f)));
        if (id <= last) fail_msg("frame %lld after frame %lld: out of order or repeated", id, last);
        last = id;
    }
}

static json_t *frame_of(json_t *frames, const char *type, const char *code)
{
    size_t i;
    json_t *f;
    json_array_foreach(frames, i, f) {
        json_t *data = json_object_get(f, "data");
        if (strcmp(jstr(f, "event"), type) == 0 && strcmp(jstr(data, "code"), code) == 0) return f;
    }
    return NULL;
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

/* http_requests_total of the stream route with this status on base. */
static double stream_requests(const char *base, int status)
{
    api_resp *r = api_get(base, "/metrics", NULL);
    assert_status(r, 200);
    const char *key = strf("route=\"/v1/events/stream\",status=\"%d\"} ", status);
    const char *at = strstr(r->body, key);
    return at ? atof(at + strlen(key)) : 0;
}

/* A grid-svc of its own with EVENTS_HEARTBEAT_S; its base URL. */
static const char *extra_grid(const char *heartbeat_s, const char *label)
{
    int port = free_port();
    setenv("EVENTS_HEARTBEAT_S", heartbeat_s, 1);
    it_extra[0] = start_daemon("grid", port, it_env("GRID_DATABASE_URL"), cust_url(),
                               strf("itest-events-%s-%d", label, port));
    unsetenv("EVENTS_HEARTBEAT_S");
    assert_true(it_extra[0] > 0);
    return strf("http://127.0.0.1:%d", port);
}

/* ---- the stream -------------------------------------------------------------------- */

/* An event written after the stream opened arrives, as /v1/events has it. */
static void stream_delivers_new_events(void **state)
{
    (void)state;
    sse *s = sse_open_ok(grid_url(), "", KEY_DISPATCH, NULL);
    assert_string_equal(s->content_type, "text/event-stream");
    assert_string_equal(s->cache_control, "no-cache");
    char *ss = create_substation(strf("stream SS %s", uniq()));
    if (!sse_wait_for(s, ss, 5)) fail_msg("no event for %s within 5 s: %s", ss, sse_text(s));
    if (!sse_wait_for(s, "}}\n\n", 1)) fail_msg("the frame of %s is not whole", ss);
    json_t *frames = sse_frames(s);
    assert_frames_well_formed(frames);
    json_t *f = frame_of(frames, "substation.created", ss);
    if (!f) fail_msg("no substation.created frame for %s: %s", ss, sse_text(s));
    long long id = jint(f, "id");
    api_resp *page =
        api_get(grid_url(), strf("/v1/events?after=%lld&limit=1", id - 1), KEY_DISPATCH);
    assert_status(page, 200);
    json_t *item = json_array_get(list_items(page), 0);
    if (!json_equal(item, json_object_get(f, "data")))
        fail_msg("the frame's data %s is not the item of /v1/events %s",
                 jdump(json_incref(json_object_get(f, "data"))), jdump(json_incref(item)));
    /* on cust-svc as well, and documented on both */
    sse *c = sse_open_ok(cust_url(), "", KEY_DISPATCH, NULL);
    char *cu = create_customer(strf("stream CU %s", uniq()), NULL);
    if (!sse_wait_for(c, cu, 5)) fail_msg("no event for %s on cust-svc: %s", cu, sse_text(c));
    for (int i = 0; i < 2; i++) {
        api_resp *doc = api_get(i ? cust_url() : grid_url(), "/openapi.json", NULL);
        assert_status(doc, 200);
        assert_non_null(json_object_get(json_object_get(doc->json, "paths"), "/v1/events/stream"));
    }
}

/* Seqs of the events after `after` up to and including `upto`, as /v1/events has them. */
static json_t *page_ids(const char *base, long long after, long long upto)
{
    json_t *ids = jkeep(json_array());
    size_t i;
    json_t *e;
    json_array_foreach(events_after(base, after, NULL), i, e)
        if (jint(e, "seq") <= upto) json_array_append_new(ids, json_integer(jint(e, "seq")));
    return ids;
}

static json_t *frame_ids(json_t *frames, long long upto)
{
    json_t *ids = jkeep(json_array());
    size_t i;
    json_t *f;
    json_array_foreach(frames, i, f)
        if (jint(f, "id") <= upto) json_array_append_new(ids, json_integer(jint(f, "id")));
    return ids;
}

/* Last-Event-ID resumes after that event: exactly the later ones, in order. */
static void stream_resumes_after_last_event_id(void **state)
{
    (void)state;
    long long g0 = newest(grid_url());
    char *ss[3];
    for (int i = 0; i < 3; i++) ss[i] = create_substation(strf("stream resume %d %s", i, uniq()));
    json_t *written = events_after(grid_url(), g0, "substation.created");
    json_t *first = find(written, "substation.created", ss[0]);
    json_t *last = find(written, "substation.created", ss[2]);
    assert_non_null(first);
    assert_non_null(last);
    long long from = jint(first, "seq"), upto = jint(last, "seq");
    /* the header wins over ?after= */
    sse *s = sse_open_ok(grid_url(), "after=0", KEY_DISPATCH, strf("%lld", from));
    if (!sse_wait_for(s, ss[2], 5)) fail_msg("%s did not arrive: %s", ss[2], sse_text(s));
    sse_wait_for(s, "}}\n\n", 1);
    json_t *frames = sse_frames(s);
    assert_frames_well_formed(frames);
    assert_null(frame_of(frames, "substation.created", ss[0]));
    assert_non_null(frame_of(frames, "substation.created", ss[1]));
    json_t *want = page_ids(grid_url(), from, upto), *got = frame_ids(frames, upto);
    if (!json_equal(want, got))
        fail_msg("after %lld the stream gave %s, /v1/events %s", from, jdump(json_incref(got)),
                 jdump(json_incref(want)));
    /* ?after= alone does the same */
    sse *a = sse_open_ok(grid_url(), strf("after=%lld", from), KEY_DISPATCH, NULL);
    if (!sse_wait_for(a, ss[2], 5)) fail_msg("after=: %s did not arrive: %s", ss[2], sse_text(a));
    sse_wait_for(a, "}}\n\n", 1);
    json_t *again = frame_ids(sse_frames(a), upto);
    if (!json_equal(want, again))
        fail_msg("after=%lld gave %s, /v1/events %s", from, jdump(json_incref(again)),
                 jdump(json_incref(want)));
}

/* ?types= keeps only those types. */
static void stream_types_filter(void **state)
{
    (void)state;
    sse *s = sse_open_ok(cust_url(), "types=customer.created", KEY_DISPATCH, NULL);
    char *ad = create_address();
    char *cu = create_customer(strf("stream types %s", uniq()), NULL);
    if (!sse_wait_for(s, cu, 5)) fail_msg("%s did not arrive: %s", cu, sse_text(s));
    sse_wait_for(s, "}}\n\n", 1);
    json_t *frames = sse_frames(s);
    assert_frames_well_formed(frames);
    assert_non_null(frame_of(frames, "customer.created", cu));
    size_t i;
    json_t *f;
    json_array_foreach(frames, i, f)
        if (strcmp(jstr(f, "event"), "customer.created") != 0)
            fail_msg("types=customer.created gave a %s frame", jstr(f, "event"));
    if (strstr(sse_text(s), ad)) fail_msg("the address.created of %s came through", ad);
}

/* The frames of sse_frames have no "event" and carry their type in the data. */
static void assert_frames_unnamed(sse *s)
{
    char *text = sse_text(s);
    if (strstr(text, "event:")) fail_msg("named=false sent an event line: %s", text);
    json_t *frames = sse_frames(s);
    size_t i;
    json_t *f;
    json_array_foreach(frames, i, f) {
        json_t *data = json_object_get(f, "data");
        if (!json_is_object(data) || !json_is_string(json_object_get(data, "type")) ||
            jint(f, "id") != jint(data, "seq"))
            fail_msg("an unnamed frame without its type and seq: %s", jdump(json_incref(f)));
    }
}

/* ?named=false: frames without an "event:" line, so that a browser's
 * EventSource hands every one to onmessage; the type is in the data. Both
 * from the tail (a new event) and from the table (a resumed stream). */
static void stream_unnamed_frames(void **state)
{
    (void)state;
    long long c0 = newest(cust_url());
    sse *s = sse_open_ok(cust_url(), "named=false&types=customer.created,address.created",
                         KEY_DISPATCH, NULL);
    char *ad = create_address();
    char *cu = create_customer(strf("stream unnamed %s", uniq()), NULL);
    if (!sse_wait_for(s, cu, 5)) fail_msg("%s did not arrive: %s", cu, sse_text(s));
    sse_wait_for(s, "}}\n\n", 1);
    assert_frames_unnamed(s);
    json_t *frames = sse_frames(s);
    int seen_ad = 0, seen_cu = 0;
    size_t i;
    json_t *f;
    json_array_foreach(frames, i, f) {
        json_t *data = json_object_get(f, "data");
        seen_ad |= strcmp(jstr(data, "type"), "address.created") == 0 &&
                   strcmp(jstr(data, "code"), ad) == 0;
        seen_cu |= strcmp(jstr(data, "type"), "customer.created") == 0 &&
                   strcmp(jstr(data, "code"), cu) == 0;
    }
    if (!seen_ad || !seen_cu) fail_msg("both types were asked for: %s", sse_text(s));
    /* resumed from before them: the catch-up read from the table, unnamed too */
    sse *r = sse_open_ok(cust_url(), strf("named=false&after=%lld", c0), KEY_DISPATCH, NULL);
    if (!sse_wait_for(r, cu, 5)) fail_msg("resumed: %s did not arrive: %s", cu, sse_text(r));
    sse_wait_for(r, "}}\n\n", 1);
    assert_frames_unnamed(r);
    /* named=true is the default: an event line in each frame */
    sse *n = sse_open_ok(cust_url(), strf("named=true&after=%lld", c0), KEY_DISPATCH, NULL);
    if (!sse_wait_for(n, cu, 5)) fail_msg("named=true: %s did not arrive: %s", cu, sse_text(n));
    sse_wait_for(n, "}}\n\n", 1);
    json_t *named = sse_frames(n);
    assert_frames_well_formed(named);
    assert_non_null(frame_of(named, "customer.created", cu));
}

/* An idle stream gets ': heartbeat' every EVENTS_HEARTBEAT_S, not more often. */
static void stream_heartbeat(void **state)
{
    (void)state;
    const char *base = extra_grid("1", "heartbeat");
    double opened = now_s(); /* the stream starts after this */
    sse *s = sse_open_ok(base, "", KEY_DISPATCH, NULL);
    if (!sse_wait_for(s, ": heartbeat\n\n", 4))
        fail_msg("no heartbeat within 4 s: %s", sse_text(s));
    if (now_s() - opened < 0.95) fail_msg("a heartbeat after %.2f s", now_s() - opened);
    sleep_ms(3000);
    int n = count_of(sse_text(s), ": heartbeat\n\n");
    if (n < 2 || n > 5) fail_msg("%d heartbeats in about 4 s at one a second", n);
    /* the stack's daemon, at the default 15 s, sends none so soon */
    sse *quiet = sse_open_ok(grid_url(), "", KEY_DISPATCH, NULL);
    sleep_ms(1500);
    assert_null(strstr(sse_text(quiet), "heartbeat"));
    sse_close(s);
    assert_int_equal(daemon_stop(it_extra[0], 10), 0);
    it_extra[0] = -1;
}

static void stream_bad_requests(void **state)
{
    (void)state;
    const char *bad_ids[] = {"abc", "-1", "1.5", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof *bad_ids; i++) {
        const char *h[] = {strf("Last-Event-ID: %s", bad_ids[i]), NULL};
        api_opts o = {.key = KEY_DISPATCH, .headers = h, .timeout_s = 5};
        assert_problem(api_call("GET", strf("%s/v1/events/stream", grid_url()), &o, NULL, 0), 400);
    }
    const char *bad[] = {"after=x", "after=-1", "types=", "types=A.B", "foo=1", "limit=10",
                         "named=", "named=yes", "named=FALSE", "named=0"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        api_opts o = {.key = KEY_DISPATCH, .timeout_s = 5};
        assert_problem(api_call("GET", strf("%s/v1/events/stream?%s", grid_url(), bad[i]), &o,
                                NULL, 0),
                       400);
    }
    /* the parameters named are the route's declared ones, as /openapi.json lists them */
    api_opts o = {.key = KEY_DISPATCH, .timeout_s = 5};
    api_resp *u = api_call("GET", strf("%s/v1/events/stream?foo=1", grid_url()), &o, NULL, 0);
    assert_non_null(strstr(jstr(u->json, "detail"), "'foo'; use after, types, named"));
    u = api_call("GET", strf("%s/v1/events?foo=1", grid_url()), &o, NULL, 0);
    assert_problem(u, 400);
    assert_non_null(strstr(jstr(u->json, "detail"), "'foo'; use after, types, limit"));
    api_opts anon = {.timeout_s = 5};
    api_resp *r = api_call("GET", strf("%s/v1/events/stream", cust_url()), &anon, NULL, 0);
    assert_problem(r, 401);
}

/* Resuming from before the horizon is 410 with resume_after, as for pages;
 * a stream that falls behind it is ended, so its client learns it too. */
static void stream_behind_horizon(void **state)
{
    (void)state;
    create_substation(strf("stream horizon %s", uniq()));
    long long top = newest(grid_url());
    PGconn *db = pg_admin(db_name_of("GRID_DATABASE_URL"));
    long long before = atoll(PQgetvalue(pg_ok(db, "SELECT pruned_upto FROM events_horizon"), 0, 0));
    pg_ok(db, strf("UPDATE events_horizon SET pruned_upto = %lld", top));
    const char *h[] = {strf("Last-Event-ID: %lld", top - 1), NULL};
    api_opts o = {.key = KEY_DISPATCH, .headers = h, .timeout_s = 5};
    api_resp *by_id = api_call("GET", strf("%s/v1/events/stream", grid_url()), &o, NULL, 0);
    api_opts q = {.key = KEY_DISPATCH, .timeout_s = 5};
    api_resp *by_after =
        api_call("GET", strf("%s/v1/events/stream?after=%lld", grid_url(), top - 1), &q, NULL, 0);
    sse *ok = sse_open(grid_url(), "", KEY_DISPATCH, strf("%lld", top));
    int opened = sse_wait_for(ok, "retry: ", 5);
    /* an open stream at top, then everything up to far beyond it "pruned" */
    pg_ok(db, strf("UPDATE events_horizon SET pruned_upto = %lld", top + 1000000));
    char *ss = create_substation(strf("stream horizon after %s", uniq()));
    int ended = sse_wait_done(ok, 5);
    pg_ok(db, strf("UPDATE events_horizon SET pruned_upto = %lld", before));
    assert_problem(by_id, 410);
    assert_int_equal(jint(by_id->json, "resume_after"), top);
    assert_problem(by_after, 410);
    assert_int_equal(jint(by_after->json, "resume_after"), top);
    if (!opened) fail_msg("Last-Event-ID at the horizon was not served: %s", sse_text(ok));
    if (!ended) fail_msg("a stream behind the horizon was not ended: %s", sse_text(ok));
    if (strstr(sse_text(ok), ss)) fail_msg("an event after pruned ones was sent: %s", sse_text(ok));
}

#define WRITERS 4
#define WRITES 50

typedef struct {
    int index;
    char *codes[WRITES];
    long status[WRITES];
} writer;

static void *write_many(void *arg)
{
    writer *w = arg;
    for (int i = 0; i < WRITES; i++) {
        api_resp *r = api_post(grid_url(), "/v1/substations", KEY_PRODUCTION,
                               strf("{\"name\": \"stream writer %d.%d\", \"voltage_kv\": 35}",
                                    w->index, i));
        w->status[i] = r->status;
        w->codes[i] = r->json ? (char *)jstr(r->json, "code") : "";
    }
    return NULL;
}

typedef struct {
    const char *base;
    const char *code;
    long status;
} blocked_read;

/* A trace runs on a worker, not on an I/O thread: blocked, it holds the
 * pool's connection and no thread a stream may be served by. (A plain read
 * runs on its connection's I/O thread, and blocked there it would hold up
 * whatever else that thread serves, streams included.) */
static void *trace_substation(void *arg)
{
    blocked_read *b = arg;
    api_opts o = {.key = KEY_DISPATCH, .timeout_s = 30};
    long status = api_call("GET", strf("%s/v1/trace/%s?direction=down", b->base, b->code), &o,
                           NULL, 0)->status;
    __atomic_store_n(&b->status, status, __ATOMIC_SEQ_CST);
    return NULL;
}

/* Streams take no connection of the pool and do no database work on their
 * I/O thread: with the daemon's only connection held by a read that waits
 * on a lock, its stream still gets what commits elsewhere. (Each stream
 * read the table through the pool, on its I/O thread, at each
 * notification: it waited for the pool instead.) */
static void streams_need_no_pooled_connection(void **state)
{
    (void)state;
    int port = free_port();
    const char *const more[] = {"DB_POOL_SIZE=1", "DB_STATEMENT_TIMEOUT_MS=15000",
                                "DB_ACQUIRE_TIMEOUT_MS=15000", NULL};
    it_extra[0] = start_daemon_env("grid", port, it_env("GRID_DATABASE_URL"), cust_url(),
                                   strf("itest-events-pool-%d", port), more);
    assert_true(it_extra[0] > 0);
    const char *base = strf("http://127.0.0.1:%d", port);
    sse *s = sse_open_ok(base, "", KEY_DISPATCH, NULL);
    /* The stream carries what commits before anything is held: its daemon
     * follows the commits (a fresh daemon may still be connecting to
     * listen, under the sanitizers above all). */
    api_resp *ss = create_ok(grid_url(), "substations", KEY_PRODUCTION,
                             strf("{\"name\": \"stream pool %s\", \"voltage_kv\": 35}", uniq()));
    if (!sse_wait_for(s, jstr(ss->json, "code"), 10))
        fail_msg("a stream of a fresh daemon did not carry its first event: %s", sse_text(s));
    PGconn *db = pg_admin(db_name_of("GRID_DATABASE_URL"));
    pg_ok(db, "BEGIN");
    pg_ok(db, "LOCK TABLE substations IN ACCESS EXCLUSIVE MODE");
    blocked_read b = {base, jstr(ss->json, "code"), 0};
    pthread_t t;
    if (pthread_create(&t, NULL, trace_substation, &b) != 0) abort();
    sleep_ms(500); /* the trace holds the pool's connection, waiting on the lock */
    api_resp *made = create_ok(grid_url(), "poles", KEY_PRODUCTION,
                               strf("{\"name\": \"stream pool %s\", \"kind\": \"pole\"}", uniq()));
    const char *pole = jstr(made->json, "code");
    int arrived = pole && sse_wait_for(s, pole, 3);
    long early = __atomic_load_n(&b.status, __ATOMIC_SEQ_CST);
    pg_ok(db, "COMMIT");
    pthread_join(t, NULL);
    if (early) fail_msg("the trace was answered %ld while the lock was held: it held nothing", early);
    assert_int_equal(b.status, 200);
    if (!arrived)
        fail_msg("with the pool's only connection busy, %s did not arrive within 3 s: %s", pole,
                 sse_text(s));
    assert_int_equal(daemon_stop(it_extra[0], 10), 0);
    it_extra[0] = -1;
}

/* Concurrent writers: every event on the stream exactly once, seq rising,
 * none skipped (the stream holds what /v1/events holds, in the same order). */
static void stream_concurrent_writers(void **state)
{
    (void)state;
    sse *s = sse_open_ok(grid_url(), "", KEY_DISPATCH, NULL);
    writer w[WRITERS];
    pthread_t t[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        w[i].index = i;
        if (pthread_create(&t[i], NULL, write_many, &w[i]) != 0) abort();
    }
    for (int i = 0; i < WRITERS; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < WRITERS; i++)
        for (int k = 0; k < WRITES; k++)
            if (w[i].status[k] != 201) fail_msg("write %d.%d: status %ld", i, k, w[i].status[k]);
    long long top = newest(grid_url());
    if (!sse_wait_for(s, strf("id: %lld\n", top), 10))
        fail_msg("the stream did not reach seq %lld within 10 s: %.3000s", top, sse_text(s));
    sse_wait_for(s, "}}\n\n", 1);
    json_t *frames = sse_frames(s);
    assert_frames_well_formed(frames);
    for (int i = 0; i < WRITERS; i++)
        for (int k = 0; k < WRITES; k++)
            if (!frame_of(frames, "substation.created", w[i].codes[k]))
                fail_msg("no frame for write %d.%d (%s)", i, k, w[i].codes[k]);
    long long first = jint(json_array_get(frames, 0), "id");
    json_t *want = page_ids(grid_url(), first - 1, top), *got = frame_ids(frames, top);
    if (!json_equal(want, got))
        fail_msg("the stream gave %zu events, /v1/events %zu between %lld and %lld",
                 json_array_size(got), json_array_size(want), first, top);
}

/* The listener's own connection is lost: it reconnects, and the streams
 * catch up from the table with what committed meanwhile. */
static void stream_survives_a_lost_listener(void **state)
{
    (void)state;
    const char *base = extra_grid("1", "relisten");
    sse *s = sse_open_ok(base, "", KEY_DISPATCH, NULL);
    PGconn *db = pg_admin(db_name_of("GRID_DATABASE_URL"));
    /* its connection's last statement may be its read of the newest events */
    const char *listeners = "SELECT pid FROM pg_stat_activity WHERE application_name = "
                            "'grid-svc events' ORDER BY backend_start";
    PGresult *was = pg_ok(db, listeners);
    int n = PQntuples(was);
    assert_true(n >= 1);
    /* the newest listener is the one of the daemon just started */
    const char *pid = PQgetvalue(was, n - 1, 0);
    assert_string_equal(PQgetvalue(pg_ok(db, strf("SELECT pg_terminate_backend(%s)", pid)), 0, 0),
                        "t");
    char *ss = create_substation(strf("stream relisten %s", uniq()));
    if (!sse_wait_for(s, ss, 5))
        fail_msg("%s did not arrive after the listener was lost: %s", ss, sse_text(s));
    int back = 0;
    for (double deadline = now_s() + 5; now_s() < deadline && !back; sleep_ms(100)) {
        PGresult *now = pg_ok(db, listeners);
        back = PQntuples(now) == n;
        for (int i = 0; i < PQntuples(now); i++) back &= strcmp(PQgetvalue(now, i, 0), pid) != 0;
    }
    if (!back) fail_msg("the daemon did not listen again within 5 s");
    assert_int_equal(daemon_stop(it_extra[0], 10), 0);
    it_extra[0] = -1;
}

static int pg_stopped;

/* Teardown: PostgreSQL runs again, extra daemons are gone. */
static int pg_back(void **state)
{
    if (pg_stopped) {
        if (pg_script("start") != 0) fprintf(stderr, "# could not start PostgreSQL again!\n");
        pg_stopped = 0;
        sleep_ms(500); /* the stack's daemons notice before the next test */
    }
    return it_stop_extras(state);
}

/* While the database is down a stream still gets heartbeats; once it is
 * back, the stream goes on with what commits from then on. */
static void stream_survives_a_database_restart(void **state)
{
    (void)state;
    const char *base = extra_grid("1", "pgrestart");
    sse *s = sse_open_ok(base, "", KEY_DISPATCH, NULL);
    pg_stopped = 1;
    assert_int_equal(pg_script("stop"), 0);
    int beats = count_of(sse_text(s), ": heartbeat");
    sleep_ms(2500);
    int later = count_of(sse_text(s), ": heartbeat");
    if (later < beats + 1) fail_msg("no heartbeat while the database was down: %s", sse_text(s));
    assert_int_equal(pg_script("start"), 0);
    pg_stopped = 0;
    api_resp *r = NULL;
    for (double deadline = now_s() + 10; now_s() < deadline; sleep_ms(200)) {
        r = api_post(grid_url(), "/v1/substations", KEY_PRODUCTION,
                     "{\"name\": \"stream after restart\", \"voltage_kv\": 35}");
        if (r->status == 201) break;
    }
    assert_status(r, 201);
    const char *code = jstr(r->json, "code");
    if (!sse_wait_for(s, code, 15))
        fail_msg("%s did not arrive within 15 s of the restart: %s", code, sse_text(s));
    assert_int_equal(daemon_stop(it_extra[0], 10), 0);
    it_extra[0] = -1;
}

/* Streams whose clients went away hold nothing up and are freed. */
static void abandoned_streams_are_released(void **state)
{
    (void)state;
    const char *base = extra_grid("1", "abandoned");
    double ended0 = stream_requests(base, 499);
    sse *s[20];
    for (int i = 0; i < 20; i++) s[i] = sse_open_ok(base, "", KEY_DISPATCH, NULL);
    for (int i = 0; i < 20; i++) sse_close(s[i]);
    double started = now_s();
    for (int i = 0; i < 20; i++) {
        api_resp *r = api_post(base, "/v1/substations", KEY_PRODUCTION,
                               strf("{\"name\": \"abandoned %d\", \"voltage_kv\": 35}", i));
        assert_status(r, 201);
        if (r->seconds > 1) fail_msg("a write took %.2f s with abandoned streams", r->seconds);
    }
    if (now_s() - started > 5) fail_msg("20 writes took %.1f s", now_s() - started);
    double ended = 0;
    for (double deadline = now_s() + 8; now_s() < deadline; sleep_ms(100))
        if ((ended = stream_requests(base, 499) - ended0) >= 20) break;
    if (ended < 20) fail_msg("%.0f of 20 abandoned streams were released within 8 s", ended);
    double t0 = now_s();
    assert_int_equal(daemon_stop(it_extra[0], 10), 0);
    it_extra[0] = -1;
    if (now_s() - t0 > 3) fail_msg("the stop took %.1f s", now_s() - t0);
}

/* SIGTERM with streams open: they end cleanly and the daemon stops at once. */
static void sigterm_ends_open_streams(void **state)
{
    (void)state;
    const char *base = extra_grid("15", "sigterm");
    sse *s[5];
    for (int i = 0; i < 5; i++) s[i] = sse_open_ok(base, "", KEY_DISPATCH, NULL);
    double t0 = now_s();
    assert_int_equal(kill(it_extra[0], SIGTERM), 0);
    int st = daemon_wait_exit(it_extra[0], 10);
    it_extra[0] = -1;
    double took = now_s() - t0;
    assert_int_equal(st, 0);
    if (took > 3) fail_msg("the daemon took %.1f s to stop with open streams", took);
    for (int i = 0; i < 5; i++) {
        if (!sse_wait_done(s[i], 2)) fail_msg("stream %d is still open", i);
        if (s[i]->result != CURLE_OK)
            fail_msg("stream %d was cut off: %s", i, curl_easy_strerror(s[i]->result));
    }
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
        IT(stream_delivers_new_events),
        IT(stream_resumes_after_last_event_id),
        IT(stream_types_filter),
        IT(stream_unnamed_frames),
        cmocka_unit_test_teardown(stream_heartbeat, it_stop_extras),
        IT(stream_bad_requests),
        IT(stream_behind_horizon),
        IT(stream_concurrent_writers),
        cmocka_unit_test_teardown(stream_survives_a_lost_listener, it_stop_extras),
        cmocka_unit_test_teardown(stream_survives_a_database_restart, pg_back),
        cmocka_unit_test_teardown(streams_need_no_pooled_connection, it_stop_extras),
        cmocka_unit_test_teardown(abandoned_streams_are_released, it_stop_extras),
        cmocka_unit_test_teardown(sigterm_ends_open_streams, it_stop_extras),
        cmocka_unit_test_teardown(old_events_are_pruned, it_stop_extras),
    };
    return cmocka_run_group_tests(tests, it_group_setup, it_group_teardown);
}
