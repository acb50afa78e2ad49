/* trace.h -- the supply chain answered by both platforms together:
 *
 *   GET  /v1/trace/{code}?direction=up|down[&status=design]
 *   GET  /v1/outage-impact?codes=LN-…,TR-…[&limit=&after=]
 *   POST /v1/graph/walk     the peer's leg of a walk
 *
 * The platform asked walks the chain on its own links as far as they go,
 * then hands everything that crosses to the peer in one request; the peer
 * walks on over its links as far as they go and hands back what crosses
 * again. So a walk costs one request per crossing of the boundary, however
 * many objects cross and however many levels each platform walks. */
#ifndef TRACE_H
#define TRACE_H

#include <jansson.h>

typedef struct service service;
typedef struct router router;
struct request;

void trace_routes(service *svc, router *r);
void trace_cleanup(service *svc);

/* For the platform's own processes (an outage's frozen list, a fault's
 * prediction, DESIGN §10); each answers req when it fails (ERR).
 *
 * The objects an outage of named (canonical codes) leaves without supply in
 * the state asked, into nodes: code -> its impact line ("code TAB group TAB
 * item", a string) for a customer, true for the rest of what was walked. */
int trace_impact_nodes(service *svc, struct request *req, json_t *named, int normal,
                       json_t *nodes);
/* How many of the objects an impact lists (customers) an outage of named
 * leaves without supply in the state asked; -1 after answering. Cheaper
 * than the nodes: nothing is described. */
long trace_impact_count(service *svc, struct request *req, json_t *named, int normal);
/* The chain up from roots (canonical codes) as it is now: nodes (code ->
 * node) and edges ({"from", "to", "kind", ...}) appended to the arrays and
 * object given. */
int trace_up_graph(service *svc, struct request *req, json_t *roots, json_t *nodes,
                   json_t *edges);

/* The upstream end of an edge of such a walk, as the declarations of both
 * platforms say (a link's relation, or a code field that feeds); NULL for
 * a tie, which feeds neither way. */
const char *trace_edge_upstream(const service *svc, const json_t *edge);

/* Is code of a type some link of which may close a loop (REL_MESHED: lines
 * and substations)? Above those the grid is no longer radial. */
int trace_meshed(const service *svc, const char *code);

/* A leg asked of us (POST /v1/graph/walk), as its body says. */
typedef struct walk_ask {
    int dir;                     /* 0: up, 1: down */
    int design;                  /* "design": true, red-drawing objects walked too */
    int normal;                  /* "state": "normal", the normal arrangement */
    const char *near;            /* the asker's prefixes, "" when not said; in the body */
    unsigned long long describe; /* the types to describe, a bit per entry of biz_types */
    json_t *codes, *expand;      /* canonical codes (owned) */
} walk_ask;

/* Reads the body of a leg as the leg takes it, before any database work:
 * OK, or ERR after answering req (400 for a bad member, or more codes than
 * one hand-over takes). trace_walk_ask_free frees what it filled. */
struct request;
int trace_walk_ask(struct request *req, const json_t *body, walk_ask *ask);
void trace_walk_ask_free(walk_ask *ask);

#endif
