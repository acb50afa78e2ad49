/* grid-svc -- the grid resource business middle platform 电网资源业务中台. */
#include "grid.h"
#include "service.h"

int main(int argc, char **argv)
{
    return service_main(grid_service(), argc, argv);
}
