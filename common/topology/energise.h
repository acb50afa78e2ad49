/* energise.h -- what an outage cuts of the meshed part of the grid
 * (DESIGN §9), as the platform that keeps the grid says it: its own SQL
 * function (service_def.outage_cut), asked directly there and over
 *
 *   POST /v1/graph/outage-cut   {"codes": [...], "state": "current"|"normal"}
 *
 * by the other platform. Below what it names the grid is radial, and the
 * walk (walk.h) takes over. Within common/topology only. */
#ifndef ENERGISE_H
#define ENERGISE_H

#include "topology/walk.h"

typedef struct outage_cut {
    json_t *alone;      /* codes cut that close no switch restores (array) */
    json_t *components; /* component -> the lines cut together, restored together (object) */
    json_t *restore;    /* [{"switch", "component"}]: open switches that would restore one */
} outage_cut;

/* The cut of the outage of named (canonical codes, either platform's) in
 * the state asked. OK with *oc filled (outage_cut_free), or ERR after
 * answering req (503 for our database, a failed peer call as peer.h maps
 * it). */
int outage_cut_of(service *svc, request *req, json_t *named, int normal, outage_cut *oc);
void outage_cut_free(outage_cut *oc);

/* POST /v1/graph/outage-cut (ctx: the service), on the platform that keeps
 * the grid: the rows of its function, answered. */
void outage_cut_serve(request *req, void *ctx);

#endif
