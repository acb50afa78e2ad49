/* resource.h -- the generic machinery that serves the declared collections
 * and relations (model/catalogue.h): routes, writes inside a larger step,
 * list queries, the checks of a client's object. */
#ifndef RESOURCE_H
#define RESOURCE_H

#include <jansson.h>
#include <libpq-fe.h>

#include "model/catalogue.h"

typedef struct service service;
typedef struct router router;

/* Adds the routes of every declared collection and relation. */
void resource_routes(service *svc, router *r);
void relation_routes(service *svc, router *r);
void resource_cleanup(service *svc);
void relation_cleanup(service *svc);

struct request;
struct db_conn;
/* OK when the changed object (merged) still meets the end rules of the
 * current links it is part of; otherwise answers 409 and returns ERR. */
int relation_rules_hold(service *svc, struct request *req, struct db_conn *c, const char *code,
                        const json_t *merged);

/* Writes that are one part of a larger step (a work order's), on the
 * caller's open transaction c: the same checks, the same history and events
 * as the HTTP writes, but no role policy (the caller authorised the step)
 * and server-set fields allowed. Each returns the object or link as stored
 * (owned by the caller), or NULL after answering req with the problem.
 *
 * Nothing here waits on the peer: the caller holds a transaction and a
 * connection, and one waiting on the peer while the peer waits on us would
 * deadlock the two (waits.h). So the caller asks first, with nothing held:
 *   - the codes the peer keeps that the step will name
 *     (resource_confirm_peer_refs, relation_confirm_peer_ends);
 *   - whether the peer names what the step retires, or reads a field the
 *     step changes, with references_confirm (references.h): a drawing
 *     withdrawn retires its dedicated transformer, which a billing may name
 *     even in design (grid-svc/drawings.c); a work order cancelled retires
 *     its customer and supply point, which grid links may name
 *     (cust-svc/workorders.c). The other steps retire nothing the peer
 *     names and change no field its rules read (a status, a work order's
 *     fields). */
json_t *resource_create_in(service *svc, struct request *req, struct db_conn *c,
                           const char *prefix, json_t *obj);
/* A merge patch; `change` names the history entry ("work_order.updated"
 * when NULL). An object already as asked is returned unchanged. */
json_t *resource_change_in(service *svc, struct request *req, struct db_conn *c,
                           const char *code, const json_t *patch, const char *change);
json_t *resource_retire_in(service *svc, struct request *req, struct db_conn *c,
                           const char *code);
json_t *relation_add_in(service *svc, struct request *req, struct db_conn *c, const char *kind,
                        json_t *link);
/* A command on one object (a switch's operation, DESIGN §9), in a
 * transaction of its own: the object locked, the request's If-Match
 * honoured (412), check (NULL: none) shown the object as it is and patch,
 * which it may refuse (answering: ERR), then changed by patch (fields only
 * the platform sets allowed), recorded as `change` with reason, and answered
 * 200 with its ETag. The caller checked who may give the command. */
typedef int (*resource_check)(struct request *req, const json_t *current, const json_t *patch,
                              void *ctx);
/* Then (NULL: nothing) does the command's other writes in its transaction,
 * shown the object before and after; ERR after answering undoes it all.
 * Both are given ctx. */
typedef int (*resource_then)(struct request *req, struct db_conn *c, const json_t *before,
                             const json_t *after, void *ctx);
void resource_command(service *svc, struct request *req, const char *code, const json_t *patch,
                      const char *change, const char *reason, resource_check check,
                      resource_then then, void *ctx);
/* The codes the peer keeps that obj (of the collection of prefix) names, or
 * that a link of kind from -> to names at its ends (NULL: not known yet,
 * one of ours), confirmed with the peer: OK, or ERR after answering. */
int resource_confirm_peer_refs(service *svc, struct request *req, const char *prefix,
                               const json_t *obj);
int relation_confirm_peer_ends(service *svc, struct request *req, const char *kind,
                               const char *from, const char *to);
/* Sets the status of the current link (design -> operational); a link
 * already so is returned as it is. */
json_t *relation_status_in(service *svc, struct request *req, struct db_conn *c,
                           const char *kind, const char *from, const char *to,
                           const char *status);
/* Ends the current link; JSON null when there is none. */
json_t *relation_end_in(service *svc, struct request *req, struct db_conn *c, const char *kind,
                        const char *from, const char *to);

/* A hand-written read of a collection's rows (the calls a predicted outage
 * groups), shown as the generic reads show them: the select list of
 * prefix's collection, its columns unqualified in the order
 * resource_row_json reads them (NULL when not kept here), and one row of a
 * statement selecting it, as the object (owned). */
const char *resource_select_list(service *svc, const char *prefix);
json_t *resource_row_json(service *svc, const char *prefix, const PGresult *r, int row);

/* The (key, value) pairs of a query string, each given to fn in turn until
 * fn returns ERR (then ERR): http_query_foreach over a request, or any other
 * source of pairs. */
typedef int (*query_pairs_fn)(void *src,
                              int (*fn)(void *ctx, const char *key, const char *value),
                              void *ctx);

/* The query of GET /v1/{collection} for the collection of prefix, read from
 * the pairs src gives, as the list reads its query string: filters on the
 * declared fields and updated_by, status, code, after, limit. NULL after
 * answering req (400 for a parameter the list does not take or a bad
 * value). resource_list_where gives the WHERE clause it makes, whose
 * values are all parameters $1..$nparams, and the page size. */
typedef struct list_query list_query;
list_query *resource_list_query(service *svc, struct request *req, const char *prefix,
                                query_pairs_fn pairs, void *src);
const char *resource_list_where(const list_query *q, int *nparams, int *limit);
void resource_list_query_free(list_query *q);

/* The checks a client's object meets before anything else is asked (no
 * database, peer or policy): obj as a create of the collection of prefix
 * takes it (canonicalised in place), or patch merged into current, the
 * object as stored, as a PATCH takes it (the merged object, owned, or
 * NULL). When it fails, *errors is [{field, message}] (owned), else NULL. */
int resource_check_create(service *svc, const char *prefix, json_t *obj, json_t **errors);
json_t *resource_check_patch(service *svc, const char *prefix, const json_t *current,
                             const json_t *patch, json_t **errors);

/* What an import of the collection of prefix, or of links of kind, checks
 * each line with (bulk.h); NULL when this service keeps none. */
struct bulk_spec;
const struct bulk_spec *resource_bulk_spec(service *svc, const char *prefix);
const struct bulk_spec *relation_bulk_spec(service *svc, const char *kind);


#endif
