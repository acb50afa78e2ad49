/* areas.h -- the transformer area 台区 of customer-side objects (DESIGN §10),
 * as the platform that keeps the grid says it: its own SQL function
 * (service_def.transformer_areas), asked directly there and over
 *
 *   POST /v1/graph/areas   {"codes": [MB, SP, MP or CU codes]}
 *
 * by the other platform, one request for any number of codes. */
#ifndef AREAS_H
#define AREAS_H

#include <jansson.h>

typedef struct service service;
struct request;
struct router;

/* For each of codes (canonical) that the grid feeds now: code ->
 * {"feeder", "transformer", "transformer_name"} (the last two null outside
 * a transformer's area), into *areas (owned). OK, or ERR after answering
 * req (503 for our database, a failed peer call as peer.h maps it). */
int areas_of(service *svc, struct request *req, json_t *codes, json_t **areas);

/* POST /v1/graph/areas, on the platform that keeps the grid. */
void areas_routes(service *svc, struct router *r);

#endif
