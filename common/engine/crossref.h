/* crossref.h -- checking the objects a write names before it is stored:
 * those kept here inside the write's transaction, those the peer keeps
 * with the peer, one request per peer collection however many codes. */
#ifndef CROSSREF_H
#define CROSSREF_H

#include "store/db.h"
#include "net/http.h"
#include "engine/outcome.h"
#include "engine/resource.h"

typedef struct service service;

typedef struct xref {
    const char *field;    /* where the code came from, for the error */
    const char *code;     /* canonical */
    const end_rule *rule; /* optional condition on the object */
} xref;

/* Each function here that fails returns ERR (or NULL) with *p, the
 * problem for the caller to answer (outcome.h); req only says who asks the
 * peer, and names the request in a 500. */

/* OK when every code names an object the peer keeps that is not retired
 * and meets its rule. Otherwise ERR with *p: 422 (names nothing), 409
 * (retired or rule not met), or the peer's failure (DESIGN §4: 504 it did
 * not answer in time, 503 it answered 503, 502 unreachable or unusable):
 * nothing may be stored. */
int crossref_confirm(service *svc, request *req, const xref *refs, int n, outcome *p);

/* Bulk form, for imports: many codes of one type looked up at once (the
 * peer's in requests of 400 codes, ours with one query on c). A map from
 * each code found to its object: status, and field for ours (all fields
 * for the peer's). NULL with *p (the peer's failure, a database error). */
json_t *crossref_lookup(service *svc, request *req, db_conn *c, const biz_type *bt,
                        const char *const *codes, int n, const char *field, outcome *p);

/* 0 when x may be used given what the look-up found for it (NULL: nothing);
 * otherwise 422 or 409 with the reason in buf. */
int crossref_problem(const xref *x, const json_t *found, char *buf, size_t len);

/* An object kept here, inside the open transaction: it exists, is not
 * retired and meets rule (FOR SHARE holds it so until commit). Otherwise
 * ERR with *p: 422 (names nothing), 409, or a database error. */
int crossref_local(service *svc, request *req, db_conn *c, const xref *ref, outcome *p);

#endif
