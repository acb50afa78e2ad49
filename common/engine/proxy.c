/* proxy.c -- see proxy.h. */
#include "engine/proxy.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/context.h"

/* What a proxied route stands for: a peer collection or relation kind, or
 * one of the peer's own reads. */
typedef struct {
    service *svc;
    const char *base; /* "/v1/customers", "/v1/relations/meter-meterbox", a peer read's path */
    const char *what; /* "customers", "meter-meterbox relations", "the predicted outages" */
    service_id owner;
} proxy_target;

typedef struct {
    proxy_target *items;
    int n;
    char **strings;
    int nstrings;
} proxy_table;

static int append_arg(void *ctx, const char *key, const char *value)
{
    sbuf *q = ctx;
    char *k = curl_easy_escape(NULL, key, 0), *v = curl_easy_escape(NULL, value, 0);
    sb_appendf(q, "%c%s=%s", q->len ? '&' : '?', k, v);
    curl_free(k);
    curl_free(v);
    return OK;
}

static void forward(request *req, void *ctx)
{
    proxy_target *t = ctx;
    service *svc = t->svc;
    if (http_header_in(req, "X-Peer-Platform")) {
        /* Each platform forwards only what the other owns, so a forwarded
         * request for a forwarded route means PEER_URL points back at us. */
        http_problem(req, 508, "%s does not keep %s and the request was already forwarded; check "
                               "PEER_URL (%s)", svc->name, t->what, peer_base_url(svc->peer));
        return;
    }
    sbuf path = {0};
    sb_append(&path, t->base);
    if (req->match.nparams > 0) {
        char *code = curl_easy_escape(NULL, http_param(req, 0), 0);
        sb_appendf(&path, "/%s", code);
        curl_free(code);
        /* what follows {code} in the pattern, e.g. "/history" */
        const char *tail = strstr(req->match.route->pattern, "{code}") + strlen("{code}");
        sb_append(&path, tail);
    }
    sbuf query = {0};
    http_query_foreach(req, append_arg, &query);
    if (query.len) sb_append(&path, query.s);
    sb_free(&query);

    peer_response pr;
    peer_caller who = service_caller(req);
    who.if_none_match = http_header_in(req, "If-None-Match");
    if (http_header_in(req, "X-Read-Primary")) /* passed on, as the caller's */
        peer_call_primary(svc->peer, "GET", path.s, &who, NULL, 0, &pr);
    else
        peer_call(svc->peer, "GET", path.s, &who, NULL, 0, &pr);
    sb_free(&path);
    const char *owner = service_name(t->owner);
    if (pr.error != PEER_OK) {
        char what[192];
        snprintf(what, sizeof what, "%s, which keeps %s, %s", owner, t->what,
                 pr.error == PEER_TIMEOUT ? "did not answer in time" : "cannot be reached");
        outcome o = {0};
        service_peer_outcome(&pr, &o, what, NULL);
        service_answer_outcome(req, &o);
    } else {
        /* The peer's answer, passed back unchanged. */
        if (pr.etag[0]) http_header(req, "ETag", pr.etag);
        if (pr.location[0]) http_header(req, "Location", pr.location);
        http_header(req, "X-Served-By", owner);
        const char *type = strstr(pr.content_type, "problem+json") ? "application/problem+json"
                                                                   : "application/json";
        http_raw(req, (int)pr.status, type, pr.body, pr.len);
        pr.body = NULL;
    }
    peer_response_free(&pr);
}

static void misdirected(request *req, void *ctx)
{
    proxy_target *t = ctx;
    const char *owner = service_name(t->owner);
    http_problem_extra(req, 421, json_pack("{s:s}", "owner", owner),
                       "%s are maintained on %s, not %s; send %s %s there", t->what, owner,
                       t->svc->name, req->method, req->path);
}

static void bulk_misdirected(router *r, proxy_target *t)
{
    char *imp = xasprintf("%s:import", t->base), *exp = xasprintf("%s:export", t->base);
    router_add(r, "POST", imp, misdirected, t, 0, "Refused: owned by the peer (421)");
    /* relaying a whole export would hold the stream in memory here */
    router_add(r, "GET", exp, misdirected, t, 0, "Refused: exported by the peer (421)");
    free(imp);
    free(exp);
}

static const char *keep(proxy_table *pt, char *s)
{
    pt->strings = xrealloc(pt->strings, (size_t)(pt->nstrings + 1) * sizeof *pt->strings);
    pt->strings[pt->nstrings++] = s;
    return s;
}

/* The peer's hand-written routes on its collection: its commands on one
 * object (a switch's operate) and actions on all (notices' ack) refused
 * here, as its other writes are; its views of one object (an outage's
 * customers) read from it. */
static void own_routes_of_peer(service *svc, router *r, proxy_target *t, const char *prefix)
{
    const service_def *d = svc->def;
    for (int k = 0; k < d->peer_ncollections; k++) {
        const collection_def *c = &d->peer_collections[k];
        if (strcmp(c->prefix, prefix) != 0) continue;
        for (const char *const *cmd = c->commands; cmd && *cmd; cmd++) {
            char *path = xasprintf("%s/{code}/%s", t->base, *cmd);
            router_add(r, "POST", path, misdirected, t, 0, "Refused: owned by the peer (421)");
            free(path);
        }
        for (const char *const *act = c->actions; act && *act; act++) {
            char *path = xasprintf("%s:%s", t->base, *act);
            router_add(r, "POST", path, misdirected, t, 0, "Refused: owned by the peer (421)");
            free(path);
        }
        for (const char *const *view = c->views; view && *view; view++) {
            char *path = xasprintf("%s/{code}/%s", t->base, *view);
            router_add(r, "GET", path, forward, t, ROUTE_PEER, "Read from the owning platform")
                ->query = c->view_query ? c->view_query[view - c->views] : NULL;
            free(path);
        }
    }
}

/* The peer's own reads (service_def.peer_reads), passed on as its
 * collections' are: a literal path wins over a collection's {code}, so
 * /v1/outages/predicted is not taken for an outage's code. */
static void peer_reads(service *svc, router *r, proxy_table *pt)
{
    const service_def *d = svc->def;
    for (int i = 0; i < d->peer_nreads; i++) {
        proxy_target *t = &pt->items[pt->n++];
        *t = (proxy_target){svc, d->peer_reads[i].path, d->peer_reads[i].what,
                            d->id == SVC_GRID ? SVC_CUST : SVC_GRID};
        router_add(r, "GET", t->base, forward, t, ROUTE_PEER, "Read from the owning platform")
            ->query = d->peer_reads[i].query;
    }
}

void proxy_routes(service *svc, router *r)
{
    proxy_table *pt = xcalloc(1, sizeof *pt);
    pt->items = xcalloc((size_t)(biz_ntypes + biz_nrelations + svc->def->peer_nreads),
                        sizeof *pt->items);
    svc->proxies = pt;
    peer_reads(svc, r, pt);
    for (int i = 0; i < biz_ntypes; i++) {
        const biz_type *bt = &biz_types[i];
        if (bt->owner == svc->def->id) continue;
        proxy_target *t = &pt->items[pt->n++];
        *t = (proxy_target){svc, keep(pt, xasprintf("/v1/%s", bt->collection)), bt->collection,
                            bt->owner};
        char *one = xasprintf("%s/{code}", t->base);
        char *hist = xasprintf("%s/{code}/history", t->base);
        router_add(r, "GET", t->base, forward, t, ROUTE_PEER, "Read from the owning platform");
        router_add(r, "POST", t->base, misdirected, t, 0, "Refused: owned by the peer (421)");
        router_add(r, "GET", one, forward, t, ROUTE_PEER, "Read from the owning platform");
        router_add(r, "PATCH", one, misdirected, t, 0, "Refused: owned by the peer (421)");
        router_add(r, "DELETE", one, misdirected, t, 0, "Refused: owned by the peer (421)");
        router_add(r, "GET", hist, forward, t, ROUTE_PEER, "Read from the owning platform");
        own_routes_of_peer(svc, r, t, bt->prefix);
        bulk_misdirected(r, t);
        free(one);
        free(hist);
    }
    for (int i = 0; i < biz_nrelations; i++) {
        const biz_relation *br = &biz_relations[i];
        if (br->owner == svc->def->id) continue;
        proxy_target *t = &pt->items[pt->n++];
        *t = (proxy_target){svc, keep(pt, xasprintf("/v1/relations/%s", br->kind)),
                            keep(pt, xasprintf("%s relations", br->kind)), br->owner};
        router_add(r, "GET", t->base, forward, t, ROUTE_PEER, "Read from the owning platform");
        router_add(r, "POST", t->base, misdirected, t, 0, "Refused: owned by the peer (421)");
        router_add(r, "DELETE", t->base, misdirected, t, 0, "Refused: owned by the peer (421)");
        bulk_misdirected(r, t);
    }
}

void proxy_cleanup(service *svc)
{
    proxy_table *pt = svc->proxies;
    if (!pt) return;
    for (int i = 0; i < pt->nstrings; i++) free(pt->strings[i]);
    free(pt->strings);
    free(pt->items);
    free(pt);
    svc->proxies = NULL;
}
