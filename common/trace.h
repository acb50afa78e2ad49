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

typedef struct service service;
typedef struct router router;

void trace_routes(service *svc, router *r);
void trace_cleanup(service *svc);

#endif
