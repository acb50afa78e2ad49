/* changes.h -- every write recorded in the transaction that makes it: who,
 * when, what it was before and after. Read back as an object's history. */
#ifndef CHANGES_H
#define CHANGES_H

#include <jansson.h>

#include "engine/outcome.h"
#include "store/db.h"
#include "net/http.h"

typedef struct service service;

/* Records one change inside the open transaction; type is e.g.
 * "substation.created" or "relation.added". other is a link's to end (or
 * NULL); before/after may be NULL. app is who made it; request_id names the
 * request in a 500. ERR with *o on failure. */
int changes_save(db_conn *c, const char *app, const char *request_id, const char *type,
                 const char *code, const char *other, const json_t *before, const json_t *after,
                 outcome *o);
/* The same with the reason its command gave (NULL: none), kept as the
 * change's "reason" in its history and event. */
int changes_save_why(db_conn *c, const char *app, const char *request_id, const char *type,
                     const char *code, const char *other, const json_t *before,
                     const json_t *after, const char *reason, outcome *o);
/* The same for a handler or a step: ERR after answering req with the
 * problem. */
int changes_record(request *req, db_conn *c, const char *type, const char *code,
                   const char *other, const json_t *before, const json_t *after);
int changes_record_why(request *req, db_conn *c, const char *type, const char *code,
                       const char *other, const json_t *before, const json_t *after,
                       const char *reason);

/* GET .../{code}/history: the changes of code, oldest first, paged. */
void changes_history(request *req, service *svc, const char *code);

#endif
