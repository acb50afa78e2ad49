/* cust-svc -- the customer service business middle platform 用户服务业务中台. */
#include "cust.h"
#include "service.h"

int main(int argc, char **argv)
{
    const service_def def = {
        .id = SVC_CUST,
        .default_port = 8082,
        .default_schema_dir = "schema/cust",
        .collections = cust_collections,
        .ncollections = cust_ncollections,
        .relations = cust_relations,
        .nrelations = cust_nrelations,
        .statuses = &cust_statuses,
        .title = "cust-svc: customer service platform 用户服务业务中台",
        .routes = workorder_routes,
    };
    return service_main(&def, argc, argv);
}
