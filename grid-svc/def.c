/* def.c -- grid-svc as service_main runs it: its declarations and its own
 * routes. Apart from main() so that tests build the same service. */
#include "grid.h"
#include "service.h"

/* Filled when asked: the counts of the declarations are not constants here. */
const service_def *grid_service(void)
{
    static service_def def;
    def = (service_def){
        .id = SVC_GRID,
        .default_port = 8081,
        .default_schema_dir = "schema/grid",
        .collections = grid_collections,
        .ncollections = grid_ncollections,
        .relations = grid_relations,
        .nrelations = grid_nrelations,
        .peer_collections = grid_peer_collections,
        .peer_ncollections = grid_peer_ncollections,
        .peer_relations = grid_peer_relations,
        .peer_nrelations = grid_peer_nrelations,
        .peer_reads = grid_peer_reads,
        .peer_nreads = grid_peer_nreads,
        .statuses = &grid_statuses,
        .title = "grid-svc: grid resource platform 电网资源业务中台",
        .outage_cut = "outage_cut",
        .transformer_areas = "transformer_areas",
        .routes = grid_routes,
    };
    return &def;
}
