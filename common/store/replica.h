/* replica.h -- reads on a streaming replica of the service's database.
 *
 * Which requests read is service_db's rule (service.c); this module gives
 * those reads a connection: the replica's while it answers, the primary's
 * while it does not (a warning once per outage, a counter per read sent
 * back), and tells /metrics and /readyz how that goes. Without a replica
 * every read is the primary's, and counted so. */
#ifndef REPLICA_H
#define REPLICA_H

#include "base/core.h"
#include "store/db.h"

typedef struct replica replica;

/* cfg NULL: no replica. primary must outlive the result. */
replica *replica_new(const db_config *cfg, db_pool *primary);
void replica_free(replica *r);

/* A connection for a read, the primary's when primary_only. NULL with *st
 * as from db_acquire. A busy replica is not left for the primary: the read
 * has waited its turn once already. */
db_conn *replica_read(replica *r, int primary_only, db_acquire_status *st);

/* For the readiness check (health.c): "ok", "busy", "down", or "none"
 * without a replica. Never waits for a replica already known to be down. */
const char *replica_readiness(replica *r);
/* What checked (replica_readiness, a while ago) means now: "down" as soon
 * as a read has found the replica down since, "ok" once one got through. */
const char *replica_state_now(replica *r, const char *checked);

/* Appends db_reads_total and replica_fallbacks_total, and with a replica
 * db_replica_up and, when both servers answer, the replica's lag. */
void replica_metrics(replica *r, sbuf *out);

#endif
