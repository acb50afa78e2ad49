/* leg.h -- a leg of a walk: the part one platform walks on its own links,
 * in one statement, and the peer protocol that carries legs between the
 * platforms (POST /v1/graph/walk, trace.h). Within common/topology only. */
#ifndef LEG_H
#define LEG_H

#include <pthread.h>

#include "engine/context.h"
#include "topology/chain.h"
#include "topology/walk_sql.h"

/* A hand-over to the peer: at most this many codes, in a body of at most
 * this many bytes (a code and its quotes and comma take 33). A whole
 * million-customer city's meter boxes cross in one. */
#define WALK_CODES_MAX 200000
#define WALK_BODY_LIMIT ((size_t)8 << 20)

/* What a daemon keeps for its walks (svc->trace), from trace_routes to
 * trace_cleanup. */
typedef struct trace_state {
    chain ch;
    walk_plans plans;
    pthread_mutex_t mu; /* over peer_near */
    char *peer_near[2]; /* the peer's near prefixes per direction, learnt from its first
                           answer; NULL until then */
} trace_state;

typedef struct leg {
    service *svc;
    db_conn *c;            /* while it walks here; never held while the peer walks (waits.h) */
    int dir, design;
    int normal;            /* walks the normal arrangement 常态, not the grid as it is now */
    tmask describe;        /* types described in full; the others are only vetted, and
                              no edges are kept (an impact query needs customers only) */
    const char *peer_near; /* prefixes the other platform expands from; NULL: not known yet */
    int raw;               /* nodes kept as the JSON text PostgreSQL wrote (a peer's leg,
                              which only passes them on), not parsed */
    json_t *nodes;         /* code -> node: shown objects described so far (raw: a
                              string holding the node's JSON text; an impact walk: a string
                              holding its line); true: shown, not described */
    json_t *edges;         /* every edge found; the root's platform filters them at the end */
    json_t *seen;          /* codes handed over to be vetted, or given as roots */
    json_t *out_codes;     /* reached objects the other platform keeps: it vets them */
    json_t *out_expand;    /* shown objects kept here that the other platform may expand */
} leg;

void leg_init(leg *l, service *svc, db_conn *c, int dir, int design, tmask describe);

/* ?state=current|normal (absent: current) into *normal; ERR after 400. */
int leg_state(request *req, const char *s, int *normal);
void leg_free(leg *l);

/* Walks on this platform's links as far as they go, on l->c, in one
 * statement: vets (describes) the objects of to_vet and those it reaches
 * that it keeps, and walks on from the shown ones only, so a retired (or,
 * unless asked, design) object ends the chain there; to_expand: the peer's
 * shown objects our links may continue from. Objects the other platform
 * keeps, and shown ones it may walk on from, are left in out_codes and
 * out_expand for it. ERR on a database failure, not answered. */
int leg_walk_here(leg *l, json_t *to_vet, json_t *to_expand);

/* The canonical codes of a body's member arr (NULL: none) into *out (the
 * caller's, even on ERR); ERR after answering 400 for one that is not a
 * code. */
int leg_codes_of(request *req, json_t *arr, const char *member, json_t **out);

/* "up" or "down" as UP or DOWN; -1 after answering 400. */
int leg_direction(request *req, const char *d);

/* A question of the grid asked of the peer (an outage's cut, transformer
 * areas): body (stolen) POSTed to path as the request's caller, the answer
 * in *pr (peer_response_free it). OK when it answered 200. */
int leg_ask_peer(service *svc, request *req, const char *path, json_t *body, peer_response *pr);
/* After such a question failed: answers req as a walk that stops at the
 * boundary does, naming the peer as missing (extra: more members of the
 * answer, "missing" among them or not, stolen; NULL: none), with what it
 * could not say and what did not happen. */
void leg_peer_failed(service *svc, request *req, peer_response *pr, json_t *extra,
                     const char *what, const char *then);

/* POST /v1/graph/walk (ctx: the service): the peer's leg, answered. */
void leg_serve(request *req, void *ctx);

#endif
