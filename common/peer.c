/* peer.c -- see peer.h. A fixed set of curl easy handles, each reused so its
 * connection stays open between calls. */
#include "peer.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core.h"

typedef struct {
    CURL *curl;
    int in_use;
} handle;

struct peer {
    peer_config cfg;
    char *base_url, *self;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    handle *handles;
    unsigned long requests, failures;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    sbuf *b = userdata;
    sb_appendn(b, data, size * nmemb);
    return size * nmemb;
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
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->handles = xcalloc((size_t)p->cfg.handles, sizeof *p->handles);
    for (int i = 0; i < p->cfg.handles; i++) p->handles[i].curl = handle_new(&p->cfg);
    return p;
}

void peer_free(peer *p)
{
    if (!p) return;
    for (int i = 0; i < p->cfg.handles; i++) curl_easy_cleanup(p->handles[i].curl);
    free(p->handles);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->base_url);
    free(p->self);
    free(p);
}

const char *peer_base_url(const peer *p)
{
    return p->base_url;
}

static handle *take(peer *p)
{
    pthread_mutex_lock(&p->mu);
    for (;;) {
        for (int i = 0; i < p->cfg.handles; i++) {
            if (!p->handles[i].in_use) {
                p->handles[i].in_use = 1;
                pthread_mutex_unlock(&p->mu);
                return &p->handles[i];
            }
        }
        pthread_cond_wait(&p->cv, &p->mu);
    }
}

static void give_back(peer *p, handle *h)
{
    pthread_mutex_lock(&p->mu);
    h->in_use = 0;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void call(peer *p, const char *method, const char *path_query, const peer_caller *caller,
                 const char *body, size_t body_len, int primary, peer_response *out)
{
    memset(out, 0, sizeof *out);
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
    if (primary) hdrs = curl_slist_append(hdrs, "X-Read-Primary: 1");
    if (body) hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");

    sbuf resp = {0};
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
    } else {
        __atomic_fetch_add(&p->failures, 1, __ATOMIC_RELAXED);
        out->error = rc == CURLE_OPERATION_TIMEDOUT ? PEER_TIMEOUT : PEER_UNREACHABLE;
        snprintf(out->detail, sizeof out->detail, "%s: %s", p->base_url, curl_easy_strerror(rc));
    }
    out->len = resp.len;
    out->body = sb_steal(&resp);
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
}
