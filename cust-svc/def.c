/* def.c -- cust-svc as service_main runs it: its declarations and its own
 * routes. Apart from main() so that tests build the same service. */
#include "cust.h"
#include "outages.h"
#include "service.h"

/* cust-svc's own routes: work orders, outages and their notices and calls,
 * the report read from datahub, meter readings, and webhooks (with their delivery thread). */
static void cust_routes(service *svc, router *r)
{
    workorder_routes(svc, r);
    outage_routes(svc, r);
    notice_routes(svc, r);
    call_routes(svc, r);
    report_routes(svc, r);
    readings_routes(svc, r);
    webhook_routes(svc, r);
}

static void cust_routes_free(service *svc)
{
    webhook_free(svc);
    report_free(svc);
}

/* Filled when asked: the counts of the declarations are not constants here. */
const service_def *cust_service(void)
{
    static service_def def;
    def = (service_def){
        .id = SVC_CUST,
        .default_port = 8082,
        .default_schema_dir = "schema/cust",
        .collections = cust_collections,
        .ncollections = cust_ncollections,
        .relations = cust_relations,
        .nrelations = cust_nrelations,
        .peer_collections = cust_peer_collections,
        .peer_ncollections = cust_peer_ncollections,
        .peer_relations = cust_peer_relations,
        .peer_nrelations = cust_peer_nrelations,
        .statuses = &cust_statuses,
        .title = "cust-svc: customer service platform 用户服务业务中台",
        .routes = cust_routes,
        .routes_free = cust_routes_free,
    };
    return &def;
}
