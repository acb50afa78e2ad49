/* health.h -- what /readyz reports, found by a thread of the daemon's own.
 *
 * A readiness probe must answer at once, whatever the database pool or the
 * peer are doing: checking them in the probe's request held an I/O thread
 * for as long as the pool made it wait and the peer took to answer. So a
 * thread checks the database (SELECT 1 through the pool), the replica and
 * the peer (GET /healthz) once a second, and the probe reads the last
 * results. A connection the pool saw fail since the last good check counts
 * as the database being down at once, without waiting for the next one. */
#ifndef HEALTH_H
#define HEALTH_H

typedef struct service service;
typedef struct health health;

typedef struct health_report {
    const char *database; /* "ok", "busy" (no connection free: up), "down" */
    const char *replica;  /* "ok", "busy", "down", "none" */
    const char *peer;     /* "ok", "unreachable" */
} health_report;

/* Checks once before returning, then every second until health_stop. */
health *health_start(service *svc);
void health_stop(health *h); /* and frees it; NULL is fine */
void health_read(health *h, health_report *out);

#endif
