/* metrics.c -- see metrics.h. Counters live in a fixed table indexed by
 * route and by a slot per status code, so recording is two atomic adds. */
#include "net/metrics.h"

#include <stdatomic.h>
#include <stdlib.h>

static const int status_codes[] = {200, 201, 204, 304, 308, 400, 401, 403, 404, 405, 409, 410,
                                   412, 413, 415, 421, 422, 428, 499, 500, 502, 503, 504, 508};
#define NSTATUS ((int)ARRAY_LEN(status_codes) + 1) /* last slot: any other status */

static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                 0.05,   0.1,   0.25,   0.5,   1,    2.5, 5};
#define NBUCKETS ((int)ARRAY_LEN(buckets))

typedef struct {
    atomic_ulong by_status[NSTATUS];
    atomic_ulong bucket[NBUCKETS]; /* non-cumulative; summed when rendered */
    atomic_ulong count;
    atomic_ullong sum_us;
} route_stats;

struct metrics {
    const router *r;
    int nroutes;
    route_stats *stats; /* nroutes + 1: the last is for unmatched paths */
};

metrics *metrics_new(const router *r)
{
    metrics *m = xcalloc(1, sizeof *m);
    m->r = r;
    m->nroutes = router_count(r);
    m->stats = xcalloc((size_t)m->nroutes + 1, sizeof *m->stats);
    return m;
}

void metrics_free(metrics *m)
{
    if (!m) return;
    free(m->stats);
    free(m);
}

static int status_slot(int status)
{
    for (int i = 0; i < NSTATUS - 1; i++)
        if (status_codes[i] == status) return i;
    return NSTATUS - 1;
}

void metrics_request(metrics *m, int route_index, int status, double seconds)
{
    if (route_index < 0 || route_index >= m->nroutes) route_index = m->nroutes;
    route_stats *st = &m->stats[route_index];
    atomic_fetch_add_explicit(&st->by_status[status_slot(status)], 1, memory_order_relaxed);
    int b = 0;
    while (b < NBUCKETS && seconds > buckets[b]) b++;
    if (b < NBUCKETS) atomic_fetch_add_explicit(&st->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&st->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&st->sum_us, (unsigned long long)(seconds * 1e6),
                              memory_order_relaxed);
}

static void route_label(const metrics *m, int i, const char **method, const char **pattern)
{
    if (i == m->nroutes) {
        *method = "";
        *pattern = "unmatched";
        return;
    }
    const route *rt = router_at(m->r, i);
    *method = rt->method;
    *pattern = rt->pattern;
}

void metrics_render(const metrics *m, sbuf *out)
{
    sb_append(out, "# HELP http_requests_total Requests answered, by route and status.\n"
                   "# TYPE http_requests_total counter\n");
    for (int i = 0; i <= m->nroutes; i++) {
        const char *method, *pattern;
        route_label(m, i, &method, &pattern);
        for (int s = 0; s < NSTATUS; s++) {
            unsigned long n = atomic_load(&m->stats[i].by_status[s]);
            if (!n) continue;
            if (s == NSTATUS - 1)
                sb_appendf(out,
                           "http_requests_total{method=\"%s\",route=\"%s\",status=\"other\"} %lu\n",
                           method, pattern, n);
            else
                sb_appendf(out, "http_requests_total{method=\"%s\",route=\"%s\",status=\"%d\"} %lu\n",
                           method, pattern, status_codes[s], n);
        }
    }
    sb_append(out, "# HELP http_request_duration_seconds Time from first byte to answer.\n"
                   "# TYPE http_request_duration_seconds histogram\n");
    for (int i = 0; i <= m->nroutes; i++) {
        unsigned long count = atomic_load(&m->stats[i].count);
        if (!count) continue;
        const char *method, *pattern;
        route_label(m, i, &method, &pattern);
        unsigned long cum = 0;
        for (int b = 0; b < NBUCKETS; b++) {
            cum += atomic_load(&m->stats[i].bucket[b]);
            sb_appendf(out,
                       "http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"%g\"} %lu\n",
                       method, pattern, buckets[b], cum);
        }
        sb_appendf(out,
                   "http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"+Inf\"} %lu\n",
                   method, pattern, count);
        sb_appendf(out, "http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} %.6f\n",
                   method, pattern, (double)atomic_load(&m->stats[i].sum_us) / 1e6);
        sb_appendf(out, "http_request_duration_seconds_count{method=\"%s\",route=\"%s\"} %lu\n",
                   method, pattern, count);
    }
}
