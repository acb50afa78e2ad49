/* openapi_schemas.h -- the schemas of /openapi.json (openapi.c). */
#ifndef OPENAPI_SCHEMAS_H
#define OPENAPI_SCHEMAS_H

#include <jansson.h>

#include "model/catalogue.h"

/* components/schemas: each declaration's (ours and the peer's, whose reads
 * are relayed as it answers them) by type or "KIND-link", and change, trace
 * and problem. A new reference. */
json_t *openapi_schemas(const service_def *d);
/* A page of item (stolen), as paged routes answer: {items, next}. */
json_t *openapi_page_schema(json_t *item);

#endif
