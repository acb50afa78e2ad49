/* peer.c -- see peer.h. Curl easy handles are reused, so each keeps its
 * connection open between calls; a call takes an idle one or makes a new
 * one, and never waits for another call to end (waits.h). */
#include "net/peer.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/core.h"
#include "base/waits.h"

#define ANSWER_LIMIT_DEFAULT ((size_t)64 << 20)

typedef struct handle {
    CURL *curl;
    struct handle *next; /* in the idle list */
} handle;

struct peer {
    peer_config cfg;
    char *base_url, *self;
    pthread_mutex_t mu;
    handle *idle; /* at most cfg.handles of them */
    int nidle, made;
    unsigned long requests, failures;
};

/* The answer so far, and where it stops. */
typedef struct {
    sbuf body;
    size_t limit;
    int too_large;
} answer_buf;

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    answer_buf *a = userdata;
    size_t n = size * nmemb;
    if (a->body.len + n > a->limit) {
        a->too_large = 1;
        return 0; /* curl stops the transfer */
    }
    sb_appendn(&a->body, data, n);
    return n;
}

/* Keeps the few response headers we pass back. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
    peer_response *r = userdata;
    size_t n = size * nmemb;
    struct {
        const char *name;
        char *dst;
        size_t cap;
    } keep[] = {{"Content-Type:", r->content_type, sizeof r->content_type},
                {"ETag:", r->etag, sizeof r->etag},
                {"Location:", r->location, sizeof r->location}};
    for (size_t i = 0; i < ARRAY_LEN(keep); i++) {
        size_t kl = strlen(keep[i].name);
        if (n <= kl || strncasecmp(data, keep[i].name, kl) != 0) continue;
        const char *v = data + kl;
        size_t vl = n - kl;
        while (vl && (*v == ' ' || *v == '\t')) v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ')) vl--;
        if (vl >= keep[i].cap) vl = keep[i].cap - 1;
        memcpy(keep[i].dst, v, vl);
        keep[i].dst[vl] = '\0';
    }
    return n;
}

/* A handle with the options every call shares, set once: resetting and
 * setting them again on each call cost a proxied read a measurable part
 * of its CPU. A call sets only what is its own. */
static CURL *handle_new(const peer_config *cfg)
{
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    return c;
}

peer *peer_new(const peer_config *cfg)
{
    peer *p = xcalloc(1, sizeof *p);
    p->cfg = *cfg;
    p->base_url = xstrdup(cfg->base_url);
    size_t n = strlen(p->base_url);
    while (n && p->base_url[n - 1] == '/') p->base_url[--n] = '\0';
    p->self = xstrdup(cfg->self);
    if (p->cfg.handles < 1) p->cfg.handles = 1;
    if (p->cfg.answer_limit == 0) p->cfg.answer_limit = ANSWER_LIMIT_DEFAULT;
    pthread_mutex_init(&p->mu, NULL);
    return p;
}

static void handle_free(handle *h)
{
    curl_easy_cleanup(h->curl);
    free(h);
}

/* Every call has returned its handle by now. */
void peer_free(peer *p)
{
    if (!p) return;
    while (p->idle) {
        handle *h = p->idle;
        p->idle = h->next;
        handle_free(h);
    }
    pthread_mutex_destroy(&p->mu);
    free(p->base_url);
    free(p->self);
    free(p);
}

const char *peer_base_url(const peer *p)
{
    return p->base_url;
}

/* An idle handle, or a new one: a call never waits for another. There are
 * never more than the threads that call at once. */
static handle *take(peer *p)
{
    pthread_mutex_lock(&p->mu);
    handle *h = p->idle;
    if (h) {
        p->idle = h->next;
        p->nidle--;
    } else {
        p->made++;
    }
    pthread_mutex_unlock(&p->mu);
    if (h) return h;
    h = xcalloc(1, sizeof *h);
    h->curl = handle_new(&p->cfg);
    return h;
}

/* Kept for the next call with its open connection, up to cfg.handles idle. */
static void give_back(peer *p, handle *h)
{
    pthread_mutex_lock(&p->mu);
    int keep = p->nidle < p->cfg.handles;
    if (keep) {
        h->next = p->idle;
        p->idle = h;
        p->nidle++;
    } else {
        p->made--;
    }
    pthread_mutex_unlock(&p->mu);
    if (!keep) handle_free(h);
}

static void call(peer *p, const char *method, const char *path_query, const peer_caller *caller,
                 const char *body, size_t body_len, int primary, peer_response *out)
{
    memset(out, 0, sizeof *out);
    if (waits_peer_check(out->detail, sizeof out->detail) != OK) {
        out->error = PEER_REFUSED;
        out->body = xstrdup("");
        return;
    }
    handle *h = take(p);
    CURL *c = h->curl;
    char *url = xasprintf("%s%s", p->base_url, path_query);
    struct curl_slist *hdrs = NULL;
    char line[160];
    const struct {
        const char *name, *value;
    } pass[] = {{"Authorization", caller->authorization},
                {"X-Request-Id", caller->request_id},
                {"If-None-Match", caller->if_none_match}};
    for (size_t i = 0; i < ARRAY_LEN(pass); i++) {
        if (!pass[i].value) continue;
        char *header = xasprintf("%s: %s", pass[i].name, pass[i].value);
        hdrs = curl_slist_append(hdrs, header);
        free(header);
    }
    snprintf(line, sizeof line, "X-Peer-Platform: %s", p->self);
    hdrs = curl_slist_append(hdrs, line);
    snprintf(line, sizeof line, PEER_HOP_HEADER ": %d", caller->hop + 1);
    hdrs = curl_slist_append(hdrs, line);
    if (primary) hdrs = curl_slist_append(hdrs, "X-Read-Primary: 1");
    if (body) hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");

    answer_buf resp = {.limit = p->cfg.answer_limit};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L); /* no body of an earlier call is sent */
    }
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    CURLcode rc = curl_easy_perform(c);
    __atomic_fetch_add(&p->requests, 1, __ATOMIC_RELAXED);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    } else if (resp.too_large) {
        __atomic_fetch_add(&p->failures, 1, __ATOMIC_RELAXED);
        out->error = PEER_TOO_LARGE;
        snprintf(out->detail, sizeof out->detail, "%s: the answer is larger than %zu bytes, the "
                 "most one request may bring back (PEER_ANSWER_LIMIT_MIB)", p->base_url,
                 p->cfg.answer_limit);
        sb_free(&resp.body);
    } else {
        __atomic_fetch_add(&p->failures, 1, __ATOMIC_RELAXED);
        out->error = rc == CURLE_OPERATION_TIMEDOUT ? PEER_TIMEOUT : PEER_UNREACHABLE;
        snprintf(out->detail, sizeof out->detail, "%s: %s", p->base_url, curl_easy_strerror(rc));
    }
    out->len = resp.body.len;
    out->body = sb_steal(&resp.body);
    curl_slist_free_all(hdrs);
    free(url);
    give_back(p, h);
}

void peer_call(peer *p, const char *method, const char *path_query, const peer_caller *caller,
               const char *body, size_t body_len, peer_response *out)
{
    call(p, method, path_query, caller, body, body_len, 0, out);
}

void peer_call_primary(peer *p, const char *method, const char *path_query,
                       const peer_caller *caller, const char *body, size_t body_len,
                       peer_response *out)
{
    call(p, method, path_query, caller, body, body_len, 1, out);
}

void peer_response_free(peer_response *r)
{
    free(r->body);
    r->body = NULL;
}

void peer_get_stats(peer *p, peer_stats *out)
{
    out->requests = __atomic_load_n(&p->requests, __ATOMIC_RELAXED);
    out->failures = __atomic_load_n(&p->failures, __ATOMIC_RELAXED);
    pthread_mutex_lock(&p->mu);
    out->handles = p->made;
    pthread_mutex_unlock(&p->mu);
}

int peer_failure_status(const peer_response *r)
{
    switch (r->error) {
    case PEER_TIMEOUT: return 504;
    case PEER_REFUSED: return 500;
    case PEER_UNREACHABLE:
    case PEER_TOO_LARGE: return 502;
    case PEER_OK: break;
    }
    return r->status == 503 ? 503 : 502;
}

int peer_failure_retry_after(const peer_response *r)
{
    if (r->error == PEER_TIMEOUT || r->error == PEER_UNREACHABLE) return 5;
    return r->error == PEER_OK && r->status == 503 ? 1 : 0;
}
