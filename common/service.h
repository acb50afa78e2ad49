/* service.h -- one daemon assembled: configuration, start-up, the built-in
 * routes (/healthz, /readyz, /metrics, /openapi.json, the console's files
 * at /console/), every route of its declarations and its own, and a clean
 * stop on SIGTERM. */
#ifndef SERVICE_H
#define SERVICE_H

#include "engine/context.h"

int service_main(const service_def *def, int argc, char **argv);

/* Makes svc->router and fills it with every route the daemon serves: the
 * built-in ones, the declarations', the def's own and the peer's. Needs only
 * svc->def (no database, peer or configuration), so tests build the very
 * table a daemon serves. service_routes_free frees the table and what its
 * handlers keep. */
void service_routes(service *svc);
void service_routes_free(service *svc);

#endif
