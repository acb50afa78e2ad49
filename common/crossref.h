/* crossref.h -- confirming codes that the peer keeps, before a write that
 * names them is stored: one request per peer collection, however many codes. */
#ifndef CROSSREF_H
#define CROSSREF_H

#include "http.h"
#include "resource.h"

typedef struct service service;

typedef struct xref {
    const char *field;    /* where the code came from, for the error */
    const char *code;     /* canonical */
    const end_rule *rule; /* optional condition on the object */
} xref;

/* OK when every code names an object the peer keeps that is not retired
 * and meets its rule. Otherwise answers: 422 (names nothing), 409 (retired
 * or rule not met), 503 (peer unreachable: nothing may be stored), 502. */
int crossref_confirm(service *svc, request *req, const xref *refs, int n);

#endif
