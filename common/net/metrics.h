/* metrics.h -- Prometheus counters for requests by route and status, and a
 * latency histogram per route. Lock-free: workers only add atomically. */
#ifndef METRICS_H
#define METRICS_H

#include "base/core.h"
#include "net/router.h"

typedef struct metrics metrics;

metrics *metrics_new(const router *r); /* r must outlive the metrics */
void metrics_free(metrics *m);
void metrics_request(metrics *m, int route_index, int status, double seconds);
/* Appends the request families in Prometheus text format. */
void metrics_render(const metrics *m, sbuf *out);

#endif
