/* grid.h -- grid-svc's declarations. */
#ifndef GRID_H
#define GRID_H

#include "base/core.h"
#include "engine/resource.h"

extern const collection_def grid_collections[];
extern const int grid_ncollections;
extern const relation_def grid_relations[];
extern const int grid_nrelations;

/* cust-svc's declarations, as grid-svc reads them (peer_decls.c). */
extern const collection_def grid_peer_collections[];
extern const int grid_peer_ncollections;
extern const relation_def grid_peer_relations[];
extern const int grid_peer_nrelations;
extern const read_def grid_peer_reads[];
extern const int grid_peer_nreads;

/* The drawings of work orders (drawings.c). */
void drawing_routes(service *svc, router *r);
/* Dispatch operating switches (switching.c). */
void switching_routes(service *svc, router *r);
/* Both, as grid-svc's own routes (switching.c). */
void grid_routes(service *svc, router *r);

/* The service main() runs (def.c). */
const struct service_def *grid_service(void);

#endif
