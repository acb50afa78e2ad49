/* resource_rt.h -- the state of one served collection, shared by the files
 * that serve it: resource.c (SQL built once, reads, routes),
 * resource_check.c (a client's object checked), resource_write.c (writes,
 * from a client or inside a larger step), resource_list.c (lists, import
 * and export). Not for use outside them: resource.h is the interface. */
#ifndef RESOURCE_RT_H
#define RESOURCE_RT_H

#include "engine/bulk.h"
#include "engine/context.h"
#include "engine/declared.h"
#include "engine/references.h"
#include "engine/resource.h"

typedef struct coll_rt {
    service *svc;
    const collection_def *def;
    const biz_type *type;
    int ndata;     /* data columns after the base ones */
    int peer_refs; /* has code fields naming objects the peer keeps */
    ref_watch peer_names; /* what the peer's declarations name of it, and read */
    row_shape shape;      /* how its rows read as objects */
    char *select_list;
    char *sql_get, *sql_lock, *sql_insert, *sql_update, *sql_retire, *sql_export, *sql_copy;
    char *change_imported; /* "customer.imported" */
    bulk_spec bulk;
} coll_rt;

/* svc->resources: every collection kept here. */
typedef struct {
    coll_rt *items;
    int n;
    void *references; /* GET /v1/references (references.c) */
} coll_table;

/* The collection kept here of a prefix or code, or NULL. */
coll_rt *coll_find(service *svc, const char *prefix_or_code);
/* The same for a caller that names one: 500 when there is none (it named
 * another platform's). */
coll_rt *coll_named(request *req, service *svc, const char *prefix_or_code);

/* Column values of a validated object, in declaration order (NULL = SQL NULL). */
typedef struct {
    char **v;
    int n;
} col_values;

void col_values_free(col_values *cv);
int coll_in_list(const char *const *list, const char *s);

/* Checks obj as the whole object to store. current is the stored object
 * for an update (NULL on create): read-only members must then be unchanged.
 * trusted: a step's write, which may set the fields the platform sets.
 * Fills cv and *status, or adds to errors (and leaves cv empty). */
void coll_check(const coll_rt *rt, json_t *obj, const json_t *current, int trusted,
                col_values *cv, const char **status, json_t *errors);
/* coll_check for a request: on failure answers 400 and returns ERR. */
int coll_validate(request *req, const coll_rt *rt, json_t *obj, const json_t *current,
                  int trusted, col_values *cv, const char **status);
/* The code a checked object brings, or a fresh one. */
void coll_object_code(const coll_rt *rt, const json_t *obj, char code[BIZCODE_LEN + 1]);
/* The object as the policy sees it: declared fields in their stored form. */
int coll_allowed(request *req, const coll_rt *rt, const json_t *obj);

/* The object as stored, outside any transaction; NULL after answering
 * (404, 503). */
json_t *coll_fetch_current(request *req, coll_rt *rt, const char *code);

/* The handlers of resource_write.c and resource_list.c. */
void coll_create(request *req, void *ctx);
void coll_patch(request *req, void *ctx);
void coll_retire(request *req, void *ctx);
void coll_list(request *req, void *ctx);
void coll_import(request *req, void *ctx);
void coll_export(request *req, void *ctx);
void coll_import_check(void *ctx, bulk_line *ln, json_t *obj, char **cols, json_t *errors);

#endif
