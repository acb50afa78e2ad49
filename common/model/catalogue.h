/* catalogue.h -- collections and relations declared as data.
 *
 * A service describes each collection once (its fields, their types and
 * rules) and each relation kind once (its ends, attributes and cardinality);
 * the generic code in resource.c and relation.c serves list, filter, cursor
 * pagination, create, get, merge-patch and retire from those declarations,
 * and openapi.c documents them. Table and column names come only from these
 * static declarations; every value travels as a query parameter. */
#ifndef CATALOGUE_H
#define CATALOGUE_H

#include <jansson.h>

#include "model/bizcode.h"
#include "net/router.h"

typedef enum {
    FT_TEXT,     /* string */
    FT_INT,      /* integer */
    FT_NUM,      /* number (double precision) */
    FT_BOOL,     /* true / false */
    FT_ENUM,     /* one string of values[] */
    FT_CODE,     /* business code of one of the prefixes in refs[] */
    FT_LOCATION, /* {"lon", "lat"} in WGS-84 degrees; columns <name>_lon, <name>_lat */
    FT_TIME,     /* an RFC 3339 instant, "2026-12-14T08:00:00Z"; column timestamptz */
    FT_CODES,    /* an array of distinct codes of the prefixes in refs[], at most max_len
                    (0: 100); column text[]; a filter names one of them */
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
    FF_IMPACT_GROUP = 1u << 6, /* an outage's impact page lists the objects of a collection
                              with such a field (code, name and FF_SUMMARY fields, this one
                              last) and counts them by it (counts.by_<name>): customers */
    FF_SWITCH = 1u << 7,   /* FT_CODE, a relation's attribute: the switch that makes or breaks
                              the link (DESIGN §9); walks follow the link only while that
                              switch is closed in the state asked */
    FF_SEARCH = 1u << 8,   /* FT_TEXT: GET /v1/search finds the object by it: exactly when it
                              is FF_UNIQUE too (an account or asset number, found through its
                              unique index), else as a case-insensitive substring (a name) */
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
    int max_len;               /* FT_TEXT: bytes; 0 means 200. FT_CODES: codes; 0 means 100 */
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

/* A CHECK constraint of a collection's table told in the words of its
 * field: a write it refuses is a 400 naming field with message, not the
 * database's own words. */
typedef struct check_def {
    const char *constraint; /* its name in the schema */
    const char *field;
    const char *message;
} check_def;

typedef struct collection_def {
    const char *prefix; /* the biz_type names the collection path */
    const char *table;
    const field_def *fields; /* ends with FIELDS_END */
    const status_set *statuses;
    const char *doc;
    /* Commands a hand-written route takes (POST .../{code}/<command>, a
     * switch's operate): each is a policy target <collection>/<command>. */
    const char *const *commands;
    /* Written only by the platform's own routes (an outage, whose create
     * freezes its customer list): the generic code serves its reads (list,
     * get, history, export) and no write. */
    int own_writes;
    /* Hand-written reads of one object (GET .../{code}/<view>, an outage's
     * customers), which the peer passes on as it does the object; and
     * actions on the collection (POST /v1/<collection>:<action>, notices'
     * ack), which the peer refuses (421) as it does the other writes. */
    const char *const *views;
    const char *const *actions;
    /* Each view's query parameters, in the order of views (NULL: none), so
     * that both platforms document them alike. */
    const query_doc *const *view_query;
    const check_def *checks; /* ends with {0}; NULL: none */
} collection_def;

enum {
    REL_ONE_FROM_PER_TO = 1u << 0, /* each `to` has at most one current `from` */
    REL_ONE_TO_PER_FROM = 1u << 1, /* each `from` has at most one current `to` */
    /* Supply chain (DESIGN §2): which end is upstream, nearer the substation.
     * Relations with neither are not followed by traces. */
    REL_UPSTREAM_FROM = 1u << 2,
    REL_UPSTREAM_TO = 1u << 3,
    /* A tie between peers (line-line): neither end is upstream, and walks
     * follow it both ways, up and down, while it is closed. */
    REL_TIE = 1u << 4,
    /* Its links may close loops (sources, ties): which of them carry power
     * in an outage is energisation's to say (service_def.outage_cut), so an
     * outage's walk does not follow them. */
    REL_MESHED = 1u << 5,
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
    /* A link that matches this and names no switch is open in every state
     * (a substation-line tie); any other link without a switch is closed. */
    const end_rule *open_without_switch;
    const char *doc;
} relation_def;

/* A read a platform answers with a hand-written route of its own, on no
 * collection's path (the integration report, the predicted outages): the
 * peer passes GETs of it on as it does the collections' reads. */
typedef struct read_def {
    const char *path; /* "/v1/reports/integration", literal segments only */
    const char *what; /* "the integration report": what the peer's problems name */
    const query_doc *query; /* its query parameters, documented alike on both platforms */
} read_def;

/* Everything a daemon declares: its collections and relations, and the
 * peer's, compiled in as well. */
typedef struct service service;
struct router;
typedef struct service_def {
    service_id id;
    int default_port;
    const char *default_schema_dir;
    const collection_def *collections;
    int ncollections;
    const relation_def *relations;
    int nrelations;
    const status_set *statuses; /* of links; objects carry their own */
    /* The peer's declarations, compiled in as well: which of our objects
     * the peer names, and which of their fields its rules read, are read
     * from them (references.h). NULL / 0: the peer names nothing of ours. */
    const collection_def *peer_collections;
    int peer_ncollections;
    const relation_def *peer_relations;
    int peer_nrelations;
    /* The peer's reads of that kind (read_def), passed on to it. */
    const read_def *peer_reads;
    int peer_nreads;
    const char *title;          /* for the OpenAPI document */
    /* The SQL function (named objects text[], normal boolean) that says what
     * an outage cuts of the meshed part of the grid and which switches would
     * restore it (schema/grid, outage_cut); NULL: the peer keeps the grid
     * and is asked. */
    const char *outage_cut;
    /* The SQL function (codes text[]) giving, for customer-side objects, the
     * grid object feeding each and its transformer area 台区
     * (schema/grid/011_transformer_areas.sql); NULL: the peer is asked. */
    const char *transformer_areas;
    /* Hand-written routes for what really differs (work orders, drawings). */
    void (*routes)(struct service *svc, struct router *r);
    /* Frees what those routes keep (NULL: nothing), from service_routes_free. */
    void (*routes_free)(struct service *svc);
} service_def;

/* The collection of a prefix (or of a code's prefix) if def keeps it, else
 * NULL. */
const collection_def *catalogue_collection(const service_def *def, const char *prefix_or_code);
/* The same among the peer's declarations, compiled in (peer_collections). */
const collection_def *catalogue_peer_collection(const service_def *def, const char *prefix_or_code);
/* Ours, else the peer's. */
const collection_def *catalogue_any_collection(const service_def *def, const char *prefix_or_code);
/* The query parameters declared for path among reads; NULL when none are. */
const query_doc *catalogue_read_query(const read_def *reads, int n, const char *path);
/* Is the prefix of prefix_or_code one of prefixes (NULL-terminated; NULL:
 * none)? */
int catalogue_lists(const char *const *prefixes, const char *prefix_or_code);

#endif
