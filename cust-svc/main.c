/* cust-svc -- the customer service business middle platform 用户服务业务中台. */
#include "cust.h"
#include "service.h"

int main(int argc, char **argv)
{
    return service_main(cust_service(), argc, argv);
}
