/* router.h -- the route table: method + path pattern with {parameters}. */
#ifndef ROUTER_H
#define ROUTER_H

#include <stddef.h>

#define ROUTE_MAX_PARAMS 4
#define ROUTE_PARAM_MAX 100 /* longer path parameters are refused with 400 */
#define ROUTE_MAX_SEGS 12

typedef struct request request;
typedef void (*route_handler)(request *req, void *ctx);

enum {
    ROUTE_PUBLIC = 1u << 0,    /* served without authentication */
    ROUTE_BODY_JSON = 1u << 1, /* the handler gets req->json: a parsed JSON object */
    ROUTE_PEER = 1u << 2,      /* waits on the peer: runs on the peer workers (http.c, waits.h) */
    ROUTE_BODY_BULK = 1u << 3, /* a raw body up to the bulk limit (NDJSON imports) */
    /* Which requests may read a replica (service_db): GET and HEAD, unless
     * ROUTE_PRIMARY; other methods only with ROUTE_READ_ONLY. */
    ROUTE_READ_ONLY = 1u << 4, /* only reads, whatever its method */
    ROUTE_PRIMARY = 1u << 5,   /* reads only the primary, even as a GET */
    ROUTE_SLOW = 1u << 6,      /* may take long but never waits on the peer: runs on the local
                                  workers, off the I/O threads (a walk's leg, a report) */
    ROUTE_UNLISTED = 1u << 7,  /* not in /openapi.json: served, but not the API (the console) */
    ROUTE_IDEMPOTENT = 1u << 8, /* honours Idempotency-Key (engine/idempotency.h); read only
                                   by /openapi.json, which documents the header */
};

/* A query parameter a route reads, as /openapi.json describes it
 * (engine/openapi.c); a route's list ends with a NULL name. The route's
 * handler still checks what it is given: this is its description. */
typedef struct query_doc {
    const char *name;
    const char *type;          /* JSON Schema: "string", "integer" or "boolean" */
    const char *const *values; /* the words it takes, NULL-terminated; NULL: any */
    int required;
    const char *doc;
} query_doc;

/* A pattern's last segment may be "{name*}": it takes the rest of the path,
 * slashes and all, possibly empty ("/console/{path*}" fits "/console/" and
 * "/console/vendor/x.js", not "/console"). */
typedef struct route {
    char *method;
    char *pattern; /* "/v1/substations/{code}" */
    route_handler fn;
    void *ctx;
    unsigned flags;
    const char *summary; /* one line for the OpenAPI document */
    const query_doc *query; /* its query parameters, for that document; NULL: none or the
                               collections' own (engine/openapi.c) */
    size_t body_limit;   /* bytes; 0: the server's limit for the route's kind of body */
    int index;           /* position in the table; metrics key on it */
    int nsegs;
    char *segs[ROUTE_MAX_SEGS]; /* "{code}" marks a parameter */
    int nparams;                /* of segs: where several fit, the fewest wins */
    int rest;                   /* the last segment is "{name*}" */
} route;

typedef struct router router;

router *router_new(void);
void router_free(router *r);
/* Copies method and pattern; summary must outlive the router. */
route *router_add(router *r, const char *method, const char *pattern, route_handler fn, void *ctx,
                  unsigned flags, const char *summary);
int router_count(const router *r);
const route *router_at(const router *r, int i);

typedef enum {
    MATCH_OK,
    MATCH_NOT_FOUND,
    MATCH_BAD_METHOD,     /* path known, method not: see allow */
    MATCH_PARAM_TOO_LONG, /* a path parameter over ROUTE_PARAM_MAX */
} match_result;

typedef struct route_match {
    const route *route;
    int nparams;
    char params[ROUTE_MAX_PARAMS][ROUTE_PARAM_MAX + 1];
    char allow[64]; /* "GET, POST" for a 405 */
} route_match;

match_result router_match(const router *r, const char *method, const char *path, route_match *m);

#endif
