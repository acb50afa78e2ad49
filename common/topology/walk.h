/* walk.h -- a walk as the platform asked runs it: legs here and on the
 * peer in turn, one hand-over per crossing of the boundary, until the chain
 * ends. Within common/topology only. */
#ifndef WALK_H
#define WALK_H

#include "topology/leg.h"

typedef struct walk {
    request *req;
    leg l;      /* leg_init it; the walk's nodes and edges gather there */
    int failed; /* answered already (peer or database trouble) */
} walk;

/* Walks from roots (canonical codes, either platform's), and from the codes
 * in also (NULL: none; an outage's cut, which need not be shown), to the
 * end of the chain. OK: every root is shown, and w->l holds what was found;
 * ERR after answering (a failed peer call as peer.h maps it, with what is
 * missing; 503 for our database; 404 for a root not shown). */
int walk_from(walk *w, json_t *roots, json_t *also);

/* The edges whose ends are both shown, each once (new reference). */
json_t *walk_shown_edges(const leg *l);

#endif
