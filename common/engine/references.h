/* references.h -- what names an object, on either platform.
 *
 *   GET /v1/references?codes=A,B,...
 *
 * answers the live objects (not retired) whose code fields name those codes
 * and the current links (valid_to IS NULL) that have them at an end, read
 * from the platform's own declarations, with the end rule each is held to:
 *
 *   {"items": [{"code", "by", "collection", "field", "status", "rule"?},
 *              {"code", "relation", "from", "to", "end", "status", "rule"?}],
 *    "truncated": false}
 *
 * The platform that keeps an object asks its peer that question, in one
 * request, before a change that would break what the peer holds: a retire,
 * or a change of a field one of the peer's end rules reads (a transformer
 * billing's transformer must stay dedicated). Which of its collections the
 * peer names, and which fields its rules read, it learns from the peer's
 * declarations (service_def.peer_collections, peer_relations). */
#ifndef REFERENCES_H
#define REFERENCES_H

#include <jansson.h>

#include "net/http.h"

typedef struct service service;
typedef struct router router;

#define REF_MAX_READS 8

/* What the peer's declarations say of one of our collections. */
typedef struct ref_watch {
    int named;                        /* a code field or a link end of the peer's names it */
    const char *reads[REF_MAX_READS]; /* its fields that the peer's end rules read ("kind") */
    int nreads;
} ref_watch;

void references_watch(const service *svc, const char *prefix, ref_watch *out);

/* Does merged give a field that w reads another value than current? */
int references_reads_changed(const ref_watch *w, const json_t *current, const json_t *merged);

/* Asks the peer what names codes (of ours; at most 400), reading its
 * primary. Call it with no transaction open and no connection held: the
 * peer may need a connection of ours to answer a question of its own.
 *
 * OK when nothing there would break: for a retire (merged NULL) nothing may
 * name them; for a change of the object current into merged, nothing may
 * name it under an end rule on a field that changes and that merged no
 * longer meets. What the object `except` names does not count (NULL: all
 * does). Otherwise ERR after answering: 409 naming what refers to them
 * (and "references": the items), 503 with Retry-After when the peer cannot
 * be reached or its answer cannot be read, 502 when it answers otherwise
 * than 200. `then`, the end of the detail, says what became of the change
 * ("nothing was changed").
 *
 * The peer naming it after answering and before the change is a race we accept. */
int references_confirm(service *svc, request *req, const char *const *codes, int n,
                       const json_t *current, const json_t *merged, const char *except,
                       const char *then);

/* Adds GET /v1/references; returns what it keeps, for references_free. */
void *references_routes(service *svc, router *r);
void references_free(void *kept);

#endif
