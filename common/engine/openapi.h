/* openapi.h -- the OpenAPI 3.1 document, generated from the route table and
 * the declarations the service runs on, so it cannot drift from them.
 *
 * Each operation has:
 * - an operationId, from its method and pattern alone (openapi_operation_id),
 *   so it stays when other routes come and go;
 * - security: [] on ROUTE_PUBLIC routes, the bearer scheme on the others;
 * - its answers: the success one, typed where the answer is known (a
 *   declaration's object, a page of them, its history, a trace), and the
 *   problem+json answers it can give, each a shared components/responses
 *   entry: 400 where a path parameter, a body or (under /v1, reads) a query
 *   is read; 401 and 403 when authenticated; 404 with a path parameter; 409,
 *   412 and 422 on writes; 413 and 415 with a body; 421 on the writes (and
 *   exports) of what the peer keeps; 502 and 504 when it asks the peer
 *   (ROUTE_PEER); 503 when authenticated; 500 always; "default" for the
 *   statuses only odd requests meet (405, 410, 414, 431, 508);
 * - X-Read-Primary on the reads that may go to a replica, Idempotency-Key
 *   on ROUTE_IDEMPOTENT routes. */
#ifndef OPENAPI_H
#define OPENAPI_H

#include <stddef.h>

#include <jansson.h>

#include "net/router.h"

typedef struct service service;

json_t *openapi_document(service *svc); /* a new reference */

/* The operationId of a route: a verb, then the nouns of its path, in
 * camelCase (listCustomers, getCustomer, getCustomerHistory, getTrace,
 * operateSwitch, importCustomers, listSubstationLineLinks).
 * - Nouns: the literal segments after /v1 (all, on unversioned paths), split
 *   at '-', '.' and '_'; a segment followed by a {parameter} names one object
 *   and is made singular; /v1/relations/KIND is "KIND links".
 * - Verb: a ":name" suffix is the verb (importCustomers, ackNotices); a POST
 *   whose last segment follows a {parameter} and is not plural does that word
 *   (POST /v1/switches/{code}/operate: operateSwitch); else by method: GET is
 *   "list" under /v1 when the last segment is a plural word, else "get"; a
 *   ROUTE_READ_ONLY POST is "query"; POST "create" and DELETE "delete", of
 *   one (the last noun singular); PATCH "update"; PUT "replace".
 * The rule alone does not make ids unique: test_openapi holds both daemons'
 * route tables to it, so a route that would share one is seen at once. */
void openapi_operation_id(const route *rt, char *out, size_t len);

#endif
