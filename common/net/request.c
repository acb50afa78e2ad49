/* request.c -- what a handler reads of its request: query arguments,
 * headers, path parameters, and the ?limit= and ?after= of a page. */
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "net/server.h"

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

static int declared_arg(void *ctx, const char *key, const char *value)
{
    request *req = ctx;
    (void)value;
    const query_doc *q = req->match.route->query;
    for (const query_doc *d = q; d && d->name; d++)
        if (strcmp(d->name, key) == 0) return OK;
    sbuf names = {0};
    for (const query_doc *d = q; d && d->name; d++)
        sb_appendf(&names, "%s%s", d == q ? "" : ", ", d->name);
    http_problem(req, 400, "unknown query parameter '%s'; use %s", key,
                 names.len ? names.s : "none");
    sb_free(&names);
    return ERR;
}

int http_query_declared(request *req)
{
    return http_query_foreach(req, declared_arg, req);
}
