/* resource.h -- collections and relations declared as data.
 *
 * A service describes each collection once (its fields, their types and
 * rules) and each relation kind once (its ends, attributes and cardinality);
 * the generic code in resource.c and relation.c serves list, filter, cursor
 * pagination, create, get, merge-patch and retire from those declarations,
 * and openapi.c documents them. Table and column names come only from these
 * static declarations; every value travels as a query parameter. */
#ifndef RESOURCE_H
#define RESOURCE_H

#include <jansson.h>

#include "bizcode.h"

typedef enum {
    FT_TEXT,     /* string */
    FT_INT,      /* integer */
    FT_NUM,      /* number (double precision) */
    FT_BOOL,     /* true / false */
    FT_ENUM,     /* one string of values[] */
    FT_CODE,     /* business code of one of the prefixes in refs[] */
    FT_LOCATION, /* {"lon", "lat"} in WGS-84 degrees; columns <name>_lon, <name>_lat */
} field_type;

enum {
    FF_REQUIRED = 1u << 0, /* must be given on create */
    FF_UNIQUE = 1u << 1,   /* unique when present (a UNIQUE constraint <table>_<name>_key) */
    FF_FEEDS = 1u << 2,    /* FT_CODE: this object is upstream of the one it names in the
                              supply chain (a metering point feeds its customer) */
    FF_FED_BY = 1u << 3,   /* FT_CODE: this object is downstream of the one it names (an
                              access point hangs on its pole, a pole carries its line) */
    FF_SUMMARY = 1u << 4,  /* shown on the object's node in traces and outage lists */
    FF_SERVER = 1u << 5,   /* set by the platform's own processes (a work order's steps),
                              never by a client's create, patch or import */
};

/* A condition on the object a code names, e.g. kind = dedicated. */
typedef struct end_rule {
    const char *field;
    const char *value;
} end_rule;

typedef struct field_def {
    const char *name; /* JSON member and column name */
    field_type type;
    unsigned flags;
    const char *const *values; /* FT_ENUM: NULL-terminated */
    const char *const *refs;   /* FT_CODE: NULL-terminated prefixes */
    const end_rule *rule;      /* FT_CODE: optional condition on the object named */
    double min, max;           /* FT_INT, FT_NUM: inclusive range, when min < max */
    int max_len;               /* FT_TEXT: bytes; 0 means 200 */
    const char *dflt;          /* value used when absent on create (text form) */
    const char *doc;           /* one line for the OpenAPI document */
} field_def;

#define FIELDS_END {0}

/* Statuses of an object's life. Grid objects: design (red drawing),
 * operational (black drawing), retired. Customer-side objects: pending,
 * active, retired. */
typedef struct status_set {
    const char *const *values;      /* NULL-terminated; includes "retired" */
    const char *initial;            /* on create when not given */
    const char *const *listed;      /* shown by lists unless ?status= says otherwise */
} status_set;

extern const status_set grid_statuses;
extern const status_set cust_statuses;

typedef struct collection_def {
    const char *prefix; /* the biz_type names the collection path */
    const char *table;
    const field_def *fields; /* ends with FIELDS_END */
    const status_set *statuses;
    const char *doc;
} collection_def;

enum {
    REL_ONE_FROM_PER_TO = 1u << 0, /* each `to` has at most one current `from` */
    REL_ONE_TO_PER_FROM = 1u << 1, /* each `from` has at most one current `to` */
    /* Supply chain (DESIGN §2): which end is upstream, nearer the substation.
     * Relations with neither are not followed by traces. */
    REL_UPSTREAM_FROM = 1u << 2,
    REL_UPSTREAM_TO = 1u << 3,
};

/* A chain of links kept ready in a table, which a migration maintains: a
 * walk down that describes none of the objects in between (an outage's
 * list) takes it in one step from its relation's upstream end, instead of
 * that relation's links and those after them. */
typedef struct chain_shortcut {
    const char *table;             /* rows (near, far) */
    const char *near_col, *far_col;
    const char *const *far;        /* prefixes it reaches */
    const char *const *skips;      /* prefixes of the objects in between */
} chain_shortcut;

typedef struct relation_def {
    const char *kind;  /* "substation-line": /v1/relations/substation-line */
    const char *table; /* with from_code, to_code, attributes, valid_from, valid_to */
    const char *const *from; /* NULL-terminated prefixes */
    const char *const *to;
    const field_def *attrs; /* ends with FIELDS_END */
    unsigned rules;
    const end_rule *from_rule, *to_rule; /* optional */
    const chain_shortcut *shortcut;      /* optional, for walks down (REL_UPSTREAM_*) */
    const char *doc;
} relation_def;

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

/* The collection of a prefix (or of a code's prefix) if this service keeps
 * it, else NULL. */
const collection_def *service_collection(const service *svc, const char *prefix_or_code);

#endif
