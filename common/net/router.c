/* router.c -- linear route table. A few hundred routes are matched in well
 * under a microsecond each, so a trie would add code for no measurable gain. */
#include "net/router.h"

#include <stdlib.h>
#include <string.h>

#include "base/core.h"

struct router {
    route **routes;
    int n, cap;
};

router *router_new(void)
{
    return xcalloc(1, sizeof(router));
}

void router_free(router *r)
{
    if (!r) return;
    for (int i = 0; i < r->n; i++) {
        route *rt = r->routes[i];
        for (int s = 0; s < rt->nsegs; s++) free(rt->segs[s]);
        free(rt->method);
        free(rt->pattern);
        free(rt);
    }
    free(r->routes);
    free(r);
}

static int is_param(const char *seg)
{
    return seg[0] == '{';
}

static int is_rest(const char *seg)
{
    size_t n = strlen(seg);
    return n > 3 && seg[0] == '{' && seg[n - 2] == '*' && seg[n - 1] == '}';
}

route *router_add(router *r, const char *method, const char *pattern, route_handler fn, void *ctx,
                  unsigned flags, const char *summary)
{
    route *rt = xcalloc(1, sizeof *rt);
    rt->method = xstrdup(method);
    rt->pattern = xstrdup(pattern);
    rt->fn = fn;
    rt->ctx = ctx;
    rt->flags = flags;
    rt->summary = summary;
    const char *p = pattern + 1; /* patterns start with '/' */
    while (*p && rt->nsegs < ROUTE_MAX_SEGS) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        rt->segs[rt->nsegs] = xstrndup(p, len);
        rt->nparams += is_param(rt->segs[rt->nsegs++]);
        p += len + (slash ? 1 : 0);
    }
    rt->rest = rt->nsegs > 0 && is_rest(rt->segs[rt->nsegs - 1]);
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 32;
        r->routes = xrealloc(r->routes, (size_t)r->cap * sizeof *r->routes);
    }
    rt->index = r->n;
    r->routes[r->n++] = rt;
    return rt;
}

int router_count(const router *r)
{
    return r->n;
}

const route *router_at(const router *r, int i)
{
    return r->routes[i];
}

typedef struct {
    const char *start[ROUTE_MAX_SEGS];
    size_t len[ROUTE_MAX_SEGS];
    int n;
} path_segs;

/* Splits "/a/b/c" without copying; ERR when there are too many segments. */
static int split_path(const char *path, path_segs *ps)
{
    ps->n = 0;
    if (path[0] != '/') return ERR;
    const char *p = path + 1;
    for (;;) {
        if (ps->n == ROUTE_MAX_SEGS) return ERR;
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        ps->start[ps->n] = p;
        ps->len[ps->n++] = len;
        if (!slash) return OK;
        p = slash + 1;
    }
}

static void add_allow(route_match *m, const char *method)
{
    if (strstr(m->allow, method)) return;
    size_t used = strlen(m->allow);
    size_t need = strlen(method) + (used ? 2 : 0);
    if (used + need + 1 > sizeof m->allow) return;
    if (used) strcat(m->allow, ", ");
    strcat(m->allow, method);
}

/* 1 if the route's shape fits the path; sets *too_long for an oversized
 * parameter, and fills params when capture is set. */
static int shape_matches(const route *rt, const path_segs *ps, int *too_long, route_match *capture)
{
    if (rt->rest ? ps->n < rt->nsegs : rt->nsegs != ps->n) return 0;
    int np = 0;
    for (int i = 0; i < rt->nsegs; i++) {
        const char *seg = rt->segs[i];
        size_t len = ps->len[i];
        if (rt->rest && i == rt->nsegs - 1) /* to the end of the path */
            len = (size_t)(ps->start[ps->n - 1] + ps->len[ps->n - 1] - ps->start[i]);
        else if (is_param(seg) && len == 0)
            return 0;
        if (is_param(seg)) {
            if (len > ROUTE_PARAM_MAX) {
                *too_long = 1;
                continue;
            }
            if (capture && np < ROUTE_MAX_PARAMS) {
                memcpy(capture->params[np], ps->start[i], len);
                capture->params[np][len] = '\0';
            }
            np++;
        } else if (strlen(seg) != ps->len[i] || memcmp(seg, ps->start[i], ps->len[i]) != 0) {
            return 0;
        }
    }
    if (capture) capture->nparams = np < ROUTE_MAX_PARAMS ? np : ROUTE_MAX_PARAMS;
    return 1;
}

match_result router_match(const router *r, const char *method, const char *path, route_match *m)
{
    memset(m, 0, sizeof *m);
    path_segs ps;
    if (split_path(path, &ps) != OK) return MATCH_NOT_FOUND;
    int shape_seen = 0, too_long = 0, best_params = ROUTE_MAX_SEGS + 1;
    const route *best = NULL;
    /* Of the routes that fit, the one with the fewest parameters: a literal
     * segment (/v1/outages/predicted) wins over a parameter (/v1/outages/{code}). */
    for (int i = 0; i < r->n; i++) {
        const route *rt = r->routes[i];
        int long_here = 0;
        if (!shape_matches(rt, &ps, &long_here, NULL)) continue;
        shape_seen = 1;
        too_long |= long_here;
        if (strcmp(rt->method, method) == 0 && !long_here) {
            if (rt->nparams < best_params) {
                best = rt;
                best_params = rt->nparams;
            }
            continue;
        }
        add_allow(m, rt->method);
    }
    if (best) {
        int long_here = 0;
        memset(m, 0, sizeof *m);
        shape_matches(best, &ps, &long_here, m);
        m->route = best;
        return MATCH_OK;
    }
    if (too_long) return MATCH_PARAM_TOO_LONG;
    return shape_seen ? MATCH_BAD_METHOD : MATCH_NOT_FOUND;
}
