/* dispatch.c -- from a routed request to its handler's answer: the caller's
 * key, the body's type and parsing, and the handler itself. Runs on the I/O
 * thread or on a worker (workers.c). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/jsonutil.h"
#include "net/server.h"

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

int http_method_has_body(const char *m)
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
int http_authenticate(http_server *s, request *req)
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
const route *http_prepare(http_server *s, request *req)
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
    if (http_authenticate(s, req) != OK) return NULL;
    if ((rt->flags & (ROUTE_BODY_JSON | ROUTE_BODY_BULK)) && prepare_body(req) != OK) return NULL;
    return rt;
}

void http_run_handler(request *req)
{
    const route *rt = req->match.route;
    rt->fn(req, rt->ctx);
    if (req->status == 0) http_problem(req, 500, "the handler gave no answer");
}
