/* http.c -- the server on libmicrohttpd.
 *
 * Threading: a fixed pool of HTTP_THREADS I/O threads, each with its own
 * epoll set (MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL with
 * MHD_OPTION_THREAD_POOL_SIZE), so each holds thousands of idle keep-alive
 * sockets without a thread per connection. Handlers that only touch our own
 * database briefly run right on the I/O thread: the statement timeout bounds
 * them. The others would stall every other connection of their I/O thread,
 * so their connection is suspended and the handler (and the parsing of its
 * body) runs on a worker; the connection resumes when the answer is ready:
 *   - handlers that wait on the peer (ROUTE_PEER) on the peer workers, one
 *     queue per hop, so that no wait ever needs a worker that waits on it
 *     (waits.h);
 *   - handlers that take long on our own database (ROUTE_SLOW: a walk's
 *     leg, a report) on the local workers, which never wait on the peer.
 *
 * Each request answers on the second call of the access handler, never the
 * first: queuing on the first call makes MHD close keep-alive connections.
 * The exceptions are heads over our limits (414, 431) and a declared
 * Content-Length far over the limit (or with Expect: 100-continue), which
 * is refused at once with 413 so the body is never read; a body a little
 * over it is read and thrown away first (drains).
 *
 * Waiting streams (server-sent events) suspend their connection from
 * within MHD's content reader when they have nothing to send, and are
 * resumed by http_wake_streams. MHD must not be stopped with a connection
 * suspended, so the shutdown ends them first, as it answers the peer
 * workers' jobs.
 *
 * This file holds the request's lifecycle (libmicrohttpd's callbacks), the
 * answer handed to libmicrohttpd, and the server's start and stop; the
 * rest of the server is in: answer.c and problem.c (what handlers answer
 * with), request.c (what they read), heads.c (heads over our limits),
 * dispatch.c (key, body, handler), workers.c (the worker queues) and
 * stream.c (streamed and waiting answers); server.h holds what they share. */
#include "net/http.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "base/jsonutil.h"
#include "base/log.h"
#include "net/metrics.h"
#include "net/peer.h"
#include "net/server.h"

#define TRIM_AFTER_BYTES (1u << 20)

/* ---- request lifecycle -------------------------------------------------- */

static int safe_request_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

static request *request_new(http_server *s, struct MHD_Connection *c, const char *url,
                            const char *method)
{
    request *req = xcalloc(1, sizeof *req);
    req->server = s;
    req->conn = c;
    req->method = method;
    req->path = xstrdup(url);
    utf8_clean(req->path); /* MHD has percent-decoded it: any bytes may come */
    req->started = now_monotonic();
    const char *hop = MHD_lookup_connection_value(c, MHD_HEADER_KIND, PEER_HOP_HEADER);
    if (hop && hop[0] >= '0' && hop[0] <= '9' && !hop[1]) req->hop = hop[0] - '0';
    const char *given = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
    if (given && safe_request_id(given))
        snprintf(req->id, sizeof req->id, "%s", given);
    else
        snprintf(req->id, sizeof req->id, "%s-%06lx", s->id_prefix,
                 atomic_fetch_add(&s->next_id, 1));
    atomic_fetch_add(&s->active, 1);
    return req;
}

static void request_free(request *req)
{
    http_stream_end(req->stream);
    sb_free(&req->body);
    json_decref(req->json);
    free(req->resp_body);
    for (int i = 0; i < req->nheaders; i++) {
        free(req->headers[i].name);
        free(req->headers[i].value);
    }
    free(req->path);
    free(req);
}

static enum MHD_Result queue(http_server *s, request *req)
{
    struct MHD_Response *resp;
    if (req->stream) {
        struct http_stream *st = req->stream;
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1 << 16, http_stream_read, st,
                                                 http_stream_free);
        req->stream = NULL; /* MHD owns it now */
        if (st->waits) http_stream_link(s, st, req->conn);
    } else {
        resp = MHD_create_response_from_buffer(req->resp_len, req->resp_body,
                                               MHD_RESPMEM_MUST_FREE);
        req->resp_body = NULL;
    }
    MHD_add_response_header(resp, "Content-Type", req->resp_type);
    MHD_add_response_header(resp, "X-Request-Id", req->id);
    for (int i = 0; i < req->nheaders; i++)
        MHD_add_response_header(resp, req->headers[i].name, req->headers[i].value);
    /* While draining, tell keep-alive clients to reconnect elsewhere. */
    if (atomic_load(&s->draining)) MHD_add_response_header(resp, "Connection", "close");
    enum MHD_Result r = MHD_queue_response(req->conn, (unsigned)req->status, resp);
    MHD_destroy_response(resp);
    req->queued = 1;
    return r;
}

/* A body over the limit is read and thrown away, and then refused, when it
 * is not much larger: answered at once, the connection is closed with the
 * body still arriving, and the client may get a reset instead of the 413.
 * A client that waits for 100 Continue, or a body that would take long to
 * read, is answered at once. */
#define DRAIN_MAX ((unsigned long long)16 << 20)

static int drains(struct MHD_Connection *c, unsigned long long declared)
{
    const char *expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Expect");
    return declared <= DRAIN_MAX && !(expect && strcasecmp(expect, "100-continue") == 0);
}

/* A bulk body is read only for a known caller, and only a few large ones
 * at a time: each may hold up to the bulk limit in memory. */
#define BULK_BODIES_MAX 4

static int admit_bulk(http_server *s, request *req)
{
    if (http_authenticate(s, req) != OK) return ERR;
    /* Only bodies larger than any other route takes count (or of unknown
     * size): a small import, or a walk's hand-over, is like any request. */
    const char *cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Content-Length");
    if (cl && strtoull(cl, NULL, 10) <= s->cfg.body_limit) return OK;
    if (atomic_fetch_add(&s->bulk_bodies, 1) >= BULK_BODIES_MAX) {
        atomic_fetch_sub(&s->bulk_bodies, 1);
        http_header(req, "Retry-After", "5");
        http_problem(req, 503, "%d large uploads are in progress already, the most at once; retry "
                               "shortly", BULK_BODIES_MAX);
        return ERR;
    }
    req->holds_bulk = 1;
    return OK;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
    http_server *s = cls;
    request *req = *con_cls;
    if (!req || http_head_marker(req)) {
        void *marker = req;
        req = request_new(s, c, url, method);
        *con_cls = req;
        if (http_head_fits(req, marker) != OK) return queue(s, req);
        if (atomic_load(&s->closing)) {
            http_header(req, "Retry-After", "1");
            http_problem(req, 503, "the service is shutting down; retry on another instance");
            return queue(s, req);
        }
        /* Routed now, so a bulk import may take a larger body than others. */
        const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;
        req->matched = router_match(s->router, m, req->path, &req->match);
        int bulk = req->matched == MATCH_OK && (req->match.route->flags & ROUTE_BODY_BULK);
        req->body_limit = bulk ? s->cfg.bulk_limit : s->cfg.body_limit;
        if (req->matched == MATCH_OK && req->match.route->body_limit)
            req->body_limit = req->match.route->body_limit;
        if (bulk && admit_bulk(s, req) != OK) return queue(s, req);
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > req->body_limit) {
            req->body_too_large = 1;
            if (!drains(c, strtoull(cl, NULL, 10))) {
                http_problem(req, 413, "request body of %s bytes exceeds the limit of %zu bytes",
                             cl, req->body_limit);
                return queue(s, req);
            }
        }
        return MHD_YES;
    }
    if (*upload_size) {
        /* Chunked bodies have no Content-Length: flag and discard the rest. */
        if (!req->body_too_large) {
            if (req->body.len + *upload_size > req->body_limit) {
                req->body_too_large = 1;
                sb_free(&req->body);
            } else if (http_method_has_body(method)) {
                sb_appendn(&req->body, upload, *upload_size);
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (req->queued) return MHD_YES;               /* answered already (413 above) */
    if (req->offloaded) return queue(s, req);       /* resumed: the worker answered */
    job_queue *q = NULL;
    if (req->matched == MATCH_OK && http_queue_of(s, req, &q) != OK) return queue(s, req);
    if (q) {
        if (http_offload(q, req) == OK) return MHD_YES;
        return queue(s, req);
    }
    if (http_prepare(s, req)) http_run_handler(req);
    return queue(s, req);
}

/* ---- giving memory back ----------------------------------------------------- */

/* A large answer (a whole substation's outage list) took many times its size
 * in JSON objects on some thread; hand those pages back to the system, or
 * each thread's malloc arena keeps its largest request. malloc_trim walks
 * every arena and may take a while: not on an I/O thread, and at most once
 * a second however many large answers there are. */
static void *trim_main(void *arg)
{
    http_server *s = arg;
    pthread_mutex_lock(&s->trim_mu);
    for (;;) {
        while (!s->trim_wanted && !s->trim_stopping) pthread_cond_wait(&s->trim_cv, &s->trim_mu);
        if (s->trim_stopping) break;
        s->trim_wanted = 0;
        pthread_mutex_unlock(&s->trim_mu);
        malloc_trim(0);
        struct timespec pause = {1, 0};
        nanosleep(&pause, NULL);
        pthread_mutex_lock(&s->trim_mu);
    }
    pthread_mutex_unlock(&s->trim_mu);
    return NULL;
}

static void want_trim(http_server *s)
{
    pthread_mutex_lock(&s->trim_mu);
    s->trim_wanted = 1;
    pthread_cond_signal(&s->trim_cv);
    pthread_mutex_unlock(&s->trim_mu);
}

static void start_trimmer(http_server *s)
{
    pthread_mutex_init(&s->trim_mu, NULL);
    pthread_cond_init(&s->trim_cv, NULL);
    s->trimming = pthread_create(&s->trimmer, NULL, trim_main, s) == 0;
}

static void stop_trimmer(http_server *s)
{
    if (s->trimming) {
        pthread_mutex_lock(&s->trim_mu);
        s->trim_stopping = 1;
        pthread_cond_signal(&s->trim_cv);
        pthread_mutex_unlock(&s->trim_mu);
        pthread_join(s->trimmer, NULL);
        s->trimming = 0;
    }
    pthread_mutex_destroy(&s->trim_mu);
    pthread_cond_destroy(&s->trim_cv);
}

static void log_request(http_server *s, request *req, double secs)
{
    if (!log_enabled(LOG_INFO)) return;
    log_line l;
    log_line_begin(&l, req->status >= 500 ? LOG_WARN : LOG_INFO);
    log_line_str(&l, "request_id", req->id);
    log_line_str(&l, "method", req->method);
    log_line_str(&l, "path", req->path);
    log_line_int(&l, "status", req->status);
    log_line_ms(&l, "duration_ms", secs * 1000.0);
    log_line_str(&l, "app", req->app ? req->app->name : "-");
    if (req->match.route) log_line_str(&l, "route", req->match.route->pattern);
    log_line_end(&l);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    http_server *s = cls;
    request *req = *con_cls;
    *con_cls = NULL;
    if (!req || http_head_marker(req)) return; /* the client went before the head was read */
    double secs = now_monotonic() - req->started;
    /* 499: the client went away before the whole answer reached it. */
    if (req->status == 0 || toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) req->status = 499;
    log_request(s, req, secs);
    if (s->cfg.metrics)
        metrics_request(s->cfg.metrics, req->match.route ? req->match.route->index : -1,
                        req->status, secs);
    size_t answered = req->resp_len;
    if (req->holds_bulk) atomic_fetch_sub(&s->bulk_bodies, 1);
    request_free(req);
    atomic_fetch_sub(&s->active, 1);
    if (answered >= TRIM_AFTER_BYTES) want_trim(s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
    log_warn("libmicrohttpd: %s", msg);
}

static void free_server(http_server *s)
{
    http_workers_stop(s);
    stop_trimmer(s);
    pthread_mutex_destroy(&s->streams_mu);
    free(s);
}

/* As many connections as asked, if the process may have the descriptors
 * (a soft limit of 1024, as many systems set, would refuse the 1021st
 * client without a word); fewer, with a warning, if not. */
static int connection_limit(const http_config *cfg)
{
    const rlim_t spare = 256; /* database, peer, log, listening sockets */
    rlim_t want = (rlim_t)cfg->max_connections + spare;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return cfg->max_connections;
    if (rl.rlim_cur < want && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur >= want) return cfg->max_connections;
    int fits = rl.rlim_cur > spare + 64 ? (int)(rl.rlim_cur - spare) : 64;
    log_warn("MAX_CONNECTIONS is %d, but the process may open only %llu files: at most %d "
             "connections (raise the limit, e.g. LimitNOFILE=)", cfg->max_connections,
             (unsigned long long)rl.rlim_cur, fits);
    return fits;
}

http_server *http_start(const http_config *cfg, router *r)
{
    http_server *s = xcalloc(1, sizeof *s);
    s->cfg = *cfg;
    s->router = r;
    uuid_t u;
    uuid_generate_random(u);
    snprintf(s->id_prefix, sizeof s->id_prefix, "%02x%02x%02x%02x", u[0], u[1], u[2], u[3]);
    pthread_mutex_init(&s->streams_mu, NULL);

    start_trimmer(s);
    http_workers_start(s); /* before MHD: requests may come as soon as it listens */
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)cfg->port);
    if (inet_pton(AF_INET, cfg->bind_addr, &addr.sin_addr) != 1) {
        log_error("BIND_ADDR %s is not an IPv4 address", cfg->bind_addr);
        free_server(s);
        return NULL;
    }
    s->d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
            MHD_USE_ERROR_LOG,
        (uint16_t)cfg->port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
        MHD_OPTION_SOCK_ADDR, &addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_LISTEN_BACKLOG_SIZE,
        1024u, MHD_OPTION_URI_LOG_CALLBACK, http_target_seen, s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)HEAD_POOL_BYTES, MHD_OPTION_CONNECTION_LIMIT, (unsigned)connection_limit(cfg),
        MHD_OPTION_END);
    if (!s->d) {
        log_error("cannot listen on %s:%d", cfg->bind_addr, cfg->port);
        free_server(s);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : cfg->port;
    return s;
}

int http_port(const http_server *s)
{
    return s->port;
}

int http_draining(const http_server *s)
{
    return atomic_load(&s->draining);
}

void http_begin_drain(http_server *s)
{
    atomic_store(&s->draining, 1);
}

void http_shutdown(http_server *s, double timeout_s)
{
    if (!s) return;
    atomic_store(&s->draining, 1);
    /* New requests are answered 503 at once (and their connections closed)
     * while those in flight finish. MHD_quiesce_daemon is not used: with a
     * thread pool and epoll, libmicrohttpd 0.9.75 can race its own workers
     * taking the listening socket out of their epoll sets, and abort. */
    atomic_store(&s->closing, 1);
    /* Waiting streams never finish by themselves: end them now (their
     * clients reconnect elsewhere and resume), so the wait below is for the
     * other requests and no connection is left suspended when MHD stops. */
    http_streams_end(s);
    double deadline = now_monotonic() + timeout_s;
    while (atomic_load(&s->active) > 0 && now_monotonic() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    int left = atomic_load(&s->active);
    if (left > 0) log_warn("shutdown deadline passed with %d requests in flight", left);
    /* Workers finish what they hold (bounded by the peer timeout) so no
     * connection is left suspended when MHD stops. */
    http_workers_stop(s);
    MHD_stop_daemon(s->d);
    free_server(s);
}
