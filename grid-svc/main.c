/* grid-svc -- the grid resource business middle platform 电网资源业务中台. */
#include "grid.h"
#include "service.h"

int main(int argc, char **argv)
{
    const service_def def = {
        .id = SVC_GRID,
        .default_port = 8081,
        .default_schema_dir = "schema/grid",
        .collections = grid_collections,
        .ncollections = grid_ncollections,
        .relations = grid_relations,
        .nrelations = grid_nrelations,
        .statuses = &grid_statuses,
        .title = "grid-svc: grid resource platform 电网资源业务中台",
        .routes = drawing_routes,
    };
    return service_main(&def, argc, argv);
}
