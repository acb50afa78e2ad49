/* about.h -- what a client asks before anything else: who it is to us
 * (GET /v1/me) and which objects each platform keeps (GET /v1/catalogue),
 * so that a client such as the console names and routes objects from data
 * rather than from a copy of DESIGN §2. */
#ifndef ABOUT_H
#define ABOUT_H

#include "net/router.h"

typedef struct service service;

void about_routes(service *svc, router *r);

#endif
