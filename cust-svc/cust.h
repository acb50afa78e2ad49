/* cust.h -- cust-svc's declarations. */
#ifndef CUST_H
#define CUST_H

#include "base/core.h"
#include "engine/resource.h"

extern const collection_def cust_collections[];
extern const int cust_ncollections;
extern const relation_def cust_relations[];
extern const int cust_nrelations;
extern const read_def cust_reads[];
extern const int cust_nreads;

/* grid-svc's declarations, as cust-svc reads them (peer_decls.c). */
extern const collection_def cust_peer_collections[];
extern const int cust_peer_ncollections;
extern const relation_def cust_peer_relations[];
extern const int cust_peer_nrelations;

/* Work orders and their steps across both platforms (workorders.c). */
void workorder_routes(service *svc, router *r);

/* The integration report from the data middle platform (report.c);
 * report_free frees what report_routes keeps. */
void report_routes(service *svc, router *r);
void report_free(service *svc);

/* Meter readings (readings.c): their import and one meter's read. */
void readings_routes(service *svc, router *r);

/* Webhooks (webhooks.c): the routes, and the delivery thread they start
 * when the service has a pool; webhook_free stops it. */
void webhook_routes(service *svc, router *r);
void webhook_free(service *svc);

/* The service main() runs (def.c). */
const struct service_def *cust_service(void);

#endif
