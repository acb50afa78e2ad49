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
 * workers' jobs. */
#include "net/http.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
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
#include "base/waits.h"

#define TRIM_AFTER_BYTES (1u << 20)

/* The request head: libmicrohttpd reads it into a fixed amount of memory
 * per connection (HEAD_POOL_BYTES, which it clears after each request and
 * so keeps resident: 128 KiB a connection), and refuses on its own, with a
 * page of HTML, a head that does not fit. Heads within our limits below fit
 * with room to spare, so any head that breaks them but fits (a target of
 * 100 KB, say) is refused by us, with a problem. */
#define HEAD_POOL_BYTES (128u << 10)
#define TARGET_MAX 32768       /* bytes of the request target: path and query (a peer's
                                  look-up of 400 codes takes 12 KB) */
#define QUERY_PARAMS_MAX 256
#define HEADERS_MAX 100
#define HEADER_BYTES_MAX (16u << 10)

/* A queue of suspended requests and the threads that run them. */
typedef struct job_queue {
    http_server *server;
    const char *name; /* "peer worker": for answers when it is full */
    int may_wait_on_peer;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    request *head, *tail;
    int n;
    int stopping;
    pthread_t *threads;
    int nthreads;
} job_queue;

/* Requests that wait on the peer run from Q_PEER + their hop (waits.h);
 * those that take long without waiting on it, from Q_LOCAL. */
enum { Q_PEER = 0, NQUEUES_PEER = 2, Q_LOCAL = NQUEUES_PEER, NQUEUES };

struct http_server {
    struct MHD_Daemon *d;
    http_config cfg;
    router *router;
    atomic_int active;
    atomic_int draining; /* unready: answers ask clients to close */
    atomic_int closing;  /* stopping: new requests get 503 */
    atomic_int bulk_bodies; /* requests with a bulk body admitted (admit_bulk) */
    atomic_ulong next_id;
    char id_prefix[9];
    int port;

    job_queue queues[NQUEUES];

    /* Hands freed memory back to the system off the I/O threads. */
    pthread_t trimmer;
    pthread_mutex_t trim_mu;
    pthread_cond_t trim_cv;
    int trim_wanted, trim_stopping, trimming;

    /* Waiting streams that MHD holds (http_stream_waiting). */
    pthread_mutex_t streams_mu;
    struct http_stream *streams;
    unsigned long streams_gen; /* bumped by each wake */
    int streams_closing;       /* the server stops: end them */
};

const char *http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 428: return "Precondition Required";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 508: return "Loop Detected";
    }
    return "Error";
}

/* ---- responses ---------------------------------------------------------- */

struct http_stream {
    http_fill_fn fill;
    void (*done)(void *ctx);
    void *ctx;
    int waits; /* may answer HTTP_FILL_WAIT */
    /* Set once MHD holds a waiting stream; the rest under streams_mu. */
    http_server *server;
    struct MHD_Connection *conn;
    int suspended;
    struct http_stream *prev, *next;
};

/* A waiting stream joins its server's list when MHD takes the answer, and
 * leaves it when MHD frees the answer (the client went away, the stream
 * ended, or the server stops): the list never names a freed connection. */
static void stream_link(http_server *s, struct http_stream *st, struct MHD_Connection *conn)
{
    pthread_mutex_lock(&s->streams_mu);
    st->server = s;
    st->conn = conn;
    st->next = s->streams;
    if (s->streams) s->streams->prev = st;
    s->streams = st;
    pthread_mutex_unlock(&s->streams_mu);
}

static void stream_unlink(struct http_stream *st)
{
    http_server *s = st->server;
    pthread_mutex_lock(&s->streams_mu);
    if (st->prev)
        st->prev->next = st->next;
    else
        s->streams = st->next;
    if (st->next) st->next->prev = st->prev;
    pthread_mutex_unlock(&s->streams_mu);
}

static void stream_end(struct http_stream *st)
{
    if (!st) return;
    if (st->server) stream_unlink(st);
    st->done(st->ctx);
    free(st);
}

void http_raw(request *req, int status, const char *type, char *body, size_t len)
{
    stream_end(req->stream);
    req->stream = NULL;
    free(req->resp_body);
    req->status = status;
    req->resp_type = type;
    req->resp_body = body;
    req->resp_len = len;
}

void http_stream(request *req, int status, const char *type, http_fill_fn fill,
                 void (*done)(void *ctx), void *ctx)
{
    http_raw(req, status, type, NULL, 0);
    req->stream = xcalloc(1, sizeof *req->stream);
    *req->stream = (struct http_stream){.fill = fill, .done = done, .ctx = ctx};
}

void http_stream_waiting(request *req, int status, const char *type, http_fill_fn fill,
                         void (*done)(void *ctx), void *ctx)
{
    http_stream(req, status, type, fill, done, ctx);
    req->stream->waits = 1;
}

/* Resumes the suspended ones; with streams_mu held. Resuming only what is
 * marked suspended keeps each MHD_resume_connection paired with one
 * MHD_suspend_connection, as MHD requires. */
static void resume_streams(http_server *s)
{
    s->streams_gen++;
    for (struct http_stream *st = s->streams; st; st = st->next) {
        if (!st->suspended) continue;
        st->suspended = 0;
        MHD_resume_connection(st->conn);
    }
}

void http_wake_streams(http_server *s)
{
    pthread_mutex_lock(&s->streams_mu);
    resume_streams(s);
    pthread_mutex_unlock(&s->streams_mu);
}

/* From now on waiting streams end instead of waiting (see waiting_read). */
static void end_streams(http_server *s)
{
    pthread_mutex_lock(&s->streams_mu);
    s->streams_closing = 1;
    resume_streams(s);
    pthread_mutex_unlock(&s->streams_mu);
}

void http_json(request *req, int status, json_t *body)
{
    char *text = json_text(body);
    json_decref(body);
    http_raw(req, status, "application/json", text, strlen(text));
}

void http_header(request *req, const char *name, const char *value)
{
    for (int i = 0; i < req->nheaders; i++) {
        if (strcasecmp(req->headers[i].name, name) == 0) {
            free(req->headers[i].value);
            req->headers[i].value = xstrdup(value);
            return;
        }
    }
    if (req->nheaders == HTTP_MAX_RESP_HEADERS) {
        log_error("too many response headers; dropped %s", name);
        return;
    }
    req->headers[req->nheaders].name = xstrdup(name);
    req->headers[req->nheaders].value = xstrdup(value);
    req->nheaders++;
}

static void http_header_remove(request *req, const char *name)
{
    for (int i = 0; i < req->nheaders; i++) {
        if (strcasecmp(req->headers[i].name, name) != 0) continue;
        free(req->headers[i].name);
        free(req->headers[i].value);
        req->headers[i] = req->headers[--req->nheaders];
        return;
    }
}

static const char *problem_slug(int status)
{
    switch (status) {
    case 400: return "bad-request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not-found";
    case 405: return "method-not-allowed";
    case 409: return "conflict";
    case 410: return "gone";
    case 412: return "precondition-failed";
    case 413: return "content-too-large";
    case 414: return "uri-too-long";
    case 415: return "unsupported-media-type";
    case 421: return "wrong-platform";
    case 422: return "unprocessable";
    case 428: return "precondition-required";
    case 431: return "header-fields-too-large";
    case 502: return "peer-unavailable";
    case 503: return "unavailable";
    case 504: return "peer-timeout";
    case 508: return "loop-detected";
    }
    return status >= 500 ? "internal" : "error";
}

static void problem_v(request *req, int status, json_t *extra, const char *fmt, va_list ap)
{
    char detail[1024];
    vsnprintf(detail, sizeof detail, fmt, ap);
    utf8_clean(detail); /* it may quote headers, paths or a value cut short */
    /* What a success answer had set does not belong on an error. */
    http_header_remove(req, "ETag");
    http_header_remove(req, "Location");
    char type[64];
    snprintf(type, sizeof type, "urn:yingpei:problem:%s", problem_slug(status));
    json_t *p = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", type, "title", http_reason(status),
                          "status", status, "detail", detail, "instance", req->path);
    if (extra) {
        if (p) json_object_update(p, extra);
        json_decref(extra);
    }
    if (!p) p = json_pack("{s:s, s:i}", "title", http_reason(status), "status", status);
    char *text = json_text(p);
    json_decref(p);
    http_raw(req, status, "application/problem+json", text, strlen(text));
}

void http_problem(request *req, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    problem_v(req, status, NULL, fmt, ap);
    va_end(ap);
}

void http_problem_errors(request *req, int status, json_t *errors, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *extra = json_object();
    json_object_set_new(extra, "errors", errors);
    problem_v(req, status, extra, fmt, ap);
    va_end(ap);
}

void http_problem_extra(request *req, int status, json_t *extra, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    problem_v(req, status, extra, fmt, ap);
    va_end(ap);
}

/* ---- request accessors -------------------------------------------------- */

const char *http_query(request *req, const char *key)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *http_header_in(request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_param(request *req, int i)
{
    return i < req->match.nparams ? req->match.params[i] : "";
}

int http_limit(request *req, const char *value, int max, int *limit)
{
    char *end;
    long v = strtol(value, &end, 10);
    if (!*value || *end || v < 1 || v > max) {
        http_problem(req, 400, "limit must be an integer from 1 to %d", max);
        return ERR;
    }
    *limit = (int)v;
    return OK;
}

int http_paging(request *req, int dflt, int max, int *limit, long long *after)
{
    const char *ls = http_query(req, "limit"), *as = http_query(req, "after");
    char *end;
    *limit = dflt;
    *after = 0;
    if (ls && http_limit(req, ls, max, limit) != OK) return ERR;
    if (as) {
        *after = strtoll(as, &end, 10);
        if (!*as || *end || *after < 0) {
            http_problem(req, 400, "after must be the cursor given as \"next\" by an earlier page");
            return ERR;
        }
    }
    return OK;
}

typedef struct {
    int (*fn)(void *, const char *, const char *);
    void *ctx;
    int rc;
} query_iter;

static enum MHD_Result query_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    query_iter *it = cls;
    if (it->fn(it->ctx, key, value ? value : "") != OK) {
        it->rc = ERR;
        return MHD_NO;
    }
    return MHD_YES;
}

int http_query_foreach(request *req, int (*fn)(void *, const char *, const char *), void *ctx)
{
    query_iter it = {fn, ctx, OK};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, query_cb, &it);
    return it.rc;
}

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

/* ---- heads too large ---------------------------------------------------------- */

/* Markers given to on_request as its context by target_seen. */
static char target_too_long, too_many_params;

static int is_marker(const void *p)
{
    return p == &target_too_long || p == &too_many_params;
}

/* libmicrohttpd calls this with the request target as soon as it has read
 * it, and only then records each query parameter, in the connection's own
 * memory: thousands of them (a 17 KB query of short ones) would not fit, and
 * it would close the connection without an answer. So a target over our
 * limits loses its parameters here, in libmicrohttpd's buffer, where it
 * reads them from next (the text after the '?'), and is answered 414. */
static void *target_seen(void *cls, const char *uri, struct MHD_Connection *c)
{
    char *query = strchr(uri, '?');
    size_t params = 0;
    for (const char *p = query; p && *p; p++) params += *p == '?' || *p == '&';
    void *marker = strlen(uri) > TARGET_MAX     ? &target_too_long
                   : params > QUERY_PARAMS_MAX ? &too_many_params
                                               : NULL;
    if (marker && query) query[1] = '\0';
    return marker;
}

typedef struct {
    size_t count, bytes;
} head_size;

static enum MHD_Result add_header_size(void *cls, enum MHD_ValueKind kind, const char *key,
                                       const char *value)
{
    head_size *h = cls;
    h->count++;
    h->bytes += strlen(key) + (value ? strlen(value) : 0) + 4; /* ": " and CRLF */
    return MHD_YES;
}

/* OK, or ERR after answering 414 or 431 for a head over our limits. */
static int head_fits(request *req, void *marker)
{
    if (marker == &target_too_long) {
        http_problem(req, 414, "the request target (path and query) is longer than %d bytes",
                     TARGET_MAX);
        return ERR;
    }
    if (marker == &too_many_params) {
        http_problem(req, 414, "the query has more than %d parameters", QUERY_PARAMS_MAX);
        return ERR;
    }
    head_size h = {0, 0};
    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, add_header_size, &h);
    if (h.count <= HEADERS_MAX && h.bytes <= HEADER_BYTES_MAX) return OK;
    http_problem(req, 431, "the request has %zu header fields of %zu bytes; at most %d of %u "
                           "bytes are read", h.count, h.bytes, HEADERS_MAX, HEADER_BYTES_MAX);
    return ERR;
}

static ssize_t fill_result(long n)
{
    if (n > 0) return n;
    return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
}

/* A waiting stream's reader. Returning 0 makes MHD call again at once, so 0
 * goes only with a suspended connection. The wake count is read before
 * fill looks for something to send and checked again, under the lock the
 * waker takes, before suspending: a wake in between means fill may have
 * looked too early, so it looks again instead of sleeping through it. */
static ssize_t waiting_read(struct http_stream *st, char *buf, size_t max)
{
    http_server *s = st->server;
    for (;;) {
        pthread_mutex_lock(&s->streams_mu);
        unsigned long gen = s->streams_gen;
        int closing = s->streams_closing;
        pthread_mutex_unlock(&s->streams_mu);
        if (closing) return MHD_CONTENT_READER_END_OF_STREAM;
        long n = st->fill(st->ctx, buf, max);
        if (n != HTTP_FILL_WAIT) return fill_result(n);
        pthread_mutex_lock(&s->streams_mu);
        int asleep = !s->streams_closing && s->streams_gen == gen;
        if (asleep) {
            /* MHD allows this from within its content reader. */
            MHD_suspend_connection(st->conn);
            st->suspended = 1;
        }
        pthread_mutex_unlock(&s->streams_mu);
        if (asleep) return 0;
    }
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct http_stream *st = cls;
    if (st->waits) return waiting_read(st, buf, max);
    long n = st->fill(st->ctx, buf, max);
    return fill_result(n == HTTP_FILL_WAIT ? -1 : n);
}

static void stream_free(void *cls)
{
    stream_end(cls);
}

static void request_free(request *req)
{
    stream_end(req->stream);
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

/* "application/json; charset=utf-8" -> does the media type match want? */
static int media_type_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    if (strncasecmp(ct, want, n) != 0) return 0;
    return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

static int body_type_ok(request *req)
{
    const char *ct = http_header_in(req, "Content-Type");
    if (!ct) return 0;
    if (media_type_is(ct, "application/json")) return 1;
    return strcmp(req->method, "PATCH") == 0 && media_type_is(ct, "application/merge-patch+json");
}

static int method_has_body(const char *m)
{
    return strcmp(m, "POST") == 0 || strcmp(m, "PATCH") == 0 || strcmp(m, "PUT") == 0;
}

/* Checks and parses the body for routes that take a JSON object. */
static int prepare_body(request *req)
{
    if (req->body_too_large) {
        http_problem(req, 413, "request body exceeds the limit of %zu bytes", req->body_limit);
        return ERR;
    }
    if (!(req->match.route->flags & ROUTE_BODY_JSON)) return OK;
    if (!body_type_ok(req)) {
        const char *ct = http_header_in(req, "Content-Type");
        http_problem(req, 415, "Content-Type must be application/json%s, not %s",
                     strcmp(req->method, "PATCH") == 0 ? " or application/merge-patch+json" : "",
                     ct ? ct : "absent");
        return ERR;
    }
    char err[300];
    req->json = json_parse_object(req->body.s ? req->body.s : "", req->body.len, err, sizeof err);
    if (!req->json) {
        http_problem(req, 400, "%s", err);
        return ERR;
    }
    return OK;
}

/* The caller of a non-public route (once per request: a bulk body's is
 * checked before the body is read); ERR after answering 401. */
static int authenticate(http_server *s, request *req)
{
    if ((req->match.route->flags & ROUTE_PUBLIC) || req->app) return OK;
    const char *why = NULL;
    req->app = auth_check(s->cfg.auth, http_header_in(req, "Authorization"), &why);
    if (req->app) return OK;
    http_header(req, "WWW-Authenticate", "Bearer realm=\"yingpei\"");
    http_problem(req, 401, "%s", why);
    return ERR;
}

/* Routing, authentication and the body: the route to run, or NULL when the
 * request is answered already. */
static const route *prepare(http_server *s, request *req)
{
    /* HEAD is GET without the body; MHD leaves the body out. */
    switch (req->matched) {
    case MATCH_NOT_FOUND:
        http_problem(req, 404, "no resource at %s", req->path);
        return NULL;
    case MATCH_BAD_METHOD:
        http_header(req, "Allow", req->match.allow);
        http_problem(req, 405, "%s is not allowed on %s; allowed: %s", req->method, req->path,
                     req->match.allow);
        return NULL;
    case MATCH_PARAM_TOO_LONG:
        http_problem(req, 400, "a path parameter is longer than %d characters", ROUTE_PARAM_MAX);
        return NULL;
    case MATCH_OK:
        break;
    }
    const route *rt = req->match.route;
    if (authenticate(s, req) != OK) return NULL;
    if ((rt->flags & (ROUTE_BODY_JSON | ROUTE_BODY_BULK)) && prepare_body(req) != OK) return NULL;
    return rt;
}

static void run_handler(request *req)
{
    const route *rt = req->match.route;
    rt->fn(req, rt->ctx);
    if (req->status == 0) http_problem(req, 500, "the handler gave no answer");
}

/* ---- workers ---------------------------------------------------------------- */

/* A job that waited longer than this was given up by its client, or the
 * workers are saturated: answer it at once rather than run it late. */
#define JOB_MAX_WAIT_S 10.0
#define JOB_QUEUE_MAX 4096

static void *worker_main(void *arg)
{
    job_queue *q = arg;
    http_server *s = q->server;
    /* Peer workers hold nothing the peer's answer may need (waits.h). */
    waits_allow_peer(q->may_wait_on_peer);
    for (;;) {
        pthread_mutex_lock(&q->mu);
        while (!q->head && !q->stopping) pthread_cond_wait(&q->cv, &q->mu);
        request *req = q->head;
        if (!req) { /* stopping, and nothing left to do */
            pthread_mutex_unlock(&q->mu);
            return NULL;
        }
        q->head = req->next_job;
        if (!q->head) q->tail = NULL;
        q->n--;
        int stopping = q->stopping;
        pthread_mutex_unlock(&q->mu);
        if (stopping) {
            http_problem(req, 503, "the service is shutting down; retry on another instance");
        } else if (now_monotonic() - req->queued_at > JOB_MAX_WAIT_S) {
            http_header(req, "Retry-After", "1");
            http_problem(req, 503, "too busy: the request waited %.0f s for a %s", JOB_MAX_WAIT_S,
                         q->name);
        } else if (prepare(s, req)) {
            run_handler(req);
        }
        MHD_resume_connection(req->conn); /* MHD calls on_request again to send it */
    }
}

/* The queue a request runs from, NULL for its I/O thread (waits.h says why
 * the hop picks the queue); ERR answered (508) for a request that may not
 * wait on the peer at its hop. */
static int queue_of(http_server *s, request *req, job_queue **q)
{
    unsigned flags = req->match.route->flags;
    *q = NULL;
    if (flags & ROUTE_PEER) {
        if (req->hop >= NQUEUES_PEER) {
            http_problem(req, 508, "the request has crossed between the platforms %d times; "
                                   "%s would have to ask its peer again", req->hop,
                         s->cfg.service);
            return ERR;
        }
        *q = &s->queues[Q_PEER + req->hop];
    } else if (flags & ROUTE_SLOW) {
        *q = &s->queues[Q_LOCAL];
    }
    return OK;
}

/* Hands req to q's workers; ERR (answered) when they cannot take it. The
 * body is parsed there, not on the I/O thread. */
static int offload(job_queue *q, request *req)
{
    pthread_mutex_lock(&q->mu);
    if (q->stopping || q->n >= JOB_QUEUE_MAX) {
        int stopping = q->stopping;
        pthread_mutex_unlock(&q->mu);
        http_header(req, "Retry-After", "1");
        http_problem(req, 503, stopping ? "the service is shutting down; retry on another instance"
                                        : "too many requests are waiting for a %s; retry shortly",
                     q->name);
        return ERR;
    }
    req->offloaded = 1;
    req->queued_at = now_monotonic();
    MHD_suspend_connection(req->conn);
    if (q->tail)
        q->tail->next_job = req;
    else
        q->head = req;
    q->tail = req;
    q->n++;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return OK;
}

static void start_queue(http_server *s, job_queue *q, const char *name, int threads,
                        int may_wait_on_peer)
{
    *q = (job_queue){.server = s, .name = name, .may_wait_on_peer = may_wait_on_peer};
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    q->nthreads = threads > 0 ? threads : 1;
    q->threads = xcalloc((size_t)q->nthreads, sizeof *q->threads);
    for (int i = 0; i < q->nthreads; i++) pthread_create(&q->threads[i], NULL, worker_main, q);
}

static void start_workers(http_server *s)
{
    start_queue(s, &s->queues[Q_PEER], "peer worker", s->cfg.peer_workers, 1);
    start_queue(s, &s->queues[Q_PEER + 1], "peer worker (hop 1)", s->cfg.peer_workers, 1);
    start_queue(s, &s->queues[Q_LOCAL], "local worker", s->cfg.local_workers, 0);
}

/* After this, offload answers 503 itself; queued jobs are answered 503 and
 * resumed, so no connection stays suspended when MHD stops. */
static void stop_queue(job_queue *q)
{
    if (!q->threads) return;
    pthread_mutex_lock(&q->mu);
    q->stopping = 1;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    for (int i = 0; i < q->nthreads; i++) pthread_join(q->threads[i], NULL);
    free(q->threads);
    q->threads = NULL;
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
}

static void stop_workers(http_server *s)
{
    for (int i = 0; i < NQUEUES; i++) stop_queue(&s->queues[i]);
}

static enum MHD_Result queue(http_server *s, request *req)
{
    struct MHD_Response *resp;
    if (req->stream) {
        struct http_stream *st = req->stream;
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1 << 16, stream_read, st,
                                                 stream_free);
        req->stream = NULL; /* MHD owns it now */
        if (st->waits) stream_link(s, st, req->conn);
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
    if (authenticate(s, req) != OK) return ERR;
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
    if (!req || is_marker(req)) {
        void *marker = req;
        req = request_new(s, c, url, method);
        *con_cls = req;
        if (head_fits(req, marker) != OK) return queue(s, req);
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
            } else if (method_has_body(method)) {
                sb_appendn(&req->body, upload, *upload_size);
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (req->queued) return MHD_YES;               /* answered already (413 above) */
    if (req->offloaded) return queue(s, req);       /* resumed: the worker answered */
    job_queue *q = NULL;
    if (req->matched == MATCH_OK && queue_of(s, req, &q) != OK) return queue(s, req);
    if (q) {
        if (offload(q, req) == OK) return MHD_YES;
        return queue(s, req);
    }
    if (prepare(s, req)) run_handler(req);
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
    if (!req || is_marker(req)) return; /* the client went before the head was read */
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
    stop_workers(s);
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
    start_workers(s); /* before MHD: requests may come as soon as it listens */
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
        1024u, MHD_OPTION_URI_LOG_CALLBACK, target_seen, s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
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
    end_streams(s);
    double deadline = now_monotonic() + timeout_s;
    while (atomic_load(&s->active) > 0 && now_monotonic() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    int left = atomic_load(&s->active);
    if (left > 0) log_warn("shutdown deadline passed with %d requests in flight", left);
    /* Workers finish what they hold (bounded by the peer timeout) so no
     * connection is left suspended when MHD stops. */
    stop_workers(s);
    MHD_stop_daemon(s->d);
    free_server(s);
}
