/* trace.h -- the supply chain answered by both platforms together:
 *
 *   GET  /v1/trace/{code}?direction=up|down[&status=design]
 *   GET  /v1/outage-impact?codes=LN-…,TR-…[&limit=&after=]
 *   POST /v1/graph/expand   one step of a walk, for the peer (batched)
 *
 * The platform asked walks the chain level by level. Each level expands the
 * frontier with its own links and asks the peer once for the peer's, so the
 * peer gets one request per level however many objects cross. */
#ifndef TRACE_H
#define TRACE_H

typedef struct service service;
typedef struct router router;

void trace_routes(service *svc, router *r);
void trace_cleanup(service *svc);

#endif
