/* proxy.h -- reads of the peer's objects are forwarded to the peer with the
 * caller's identity; writes are refused with 421 naming the owner. */
#ifndef PROXY_H
#define PROXY_H

#include "net/router.h"

typedef struct service service;

void proxy_routes(service *svc, router *r);
void proxy_cleanup(service *svc);

#endif
