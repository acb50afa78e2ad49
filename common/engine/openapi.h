/* openapi.h -- the OpenAPI 3.1 document, generated from the route table and
 * the declarations the service runs on, so it cannot drift from them. */
#ifndef OPENAPI_H
#define OPENAPI_H

#include <jansson.h>

typedef struct service service;

json_t *openapi_document(service *svc); /* a new reference */

#endif
