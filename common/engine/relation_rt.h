/* relation_rt.h -- the state of one served relation, shared by
 * relation.c (SQL built once, the HTTP routes) and relation_step.c (the
 * writes made inside a larger step, and the end rules a changed object
 * must keep). Not for use outside them: resource.h is the interface. */
#ifndef RELATION_RT_H
#define RELATION_RT_H

#include "engine/bulk.h"
#include "engine/context.h"
#include "engine/declared.h"
#include "engine/resource.h"

typedef struct rel_rt {
    service *svc;
    const relation_def *def;
    field_def from_field, to_field; /* the ends, checked like code fields */
    const field_def *attrs;         /* never NULL: a relation may declare none */
    int peer_end;                   /* an end kept by the peer */
    row_shape shape;                /* how its rows read as links */
    char *select_list;
    char *sql_insert, *sql_end, *sql_status, *sql_blocking, *sql_copy, *sql_export;
    char *sql_list[8]; /* by shape: ends given (none, from, to, both), + 4 with ?at= */
    char *target; /* "relations/<kind>": the policy's name for it */
    bulk_spec bulk;
} rel_rt;

#define ATTR_COL 7 /* id, from_code, to_code, status, valid_from, valid_to, created_by */

typedef struct {
    rel_rt *items;
    int n;
} rel_table;

/* The ends the peer keeps, confirmed in one request per collection. Ends
 * given as NULL are not known yet: made in the same step, here. */
int rel_confirm_peer_ends(request *req, rel_rt *rt, const char *from, const char *to);
/* Checks a link's members for a request: 400 and ERR when they are not
 * valid. cols takes the attributes, from and to the canonical ends. */
int rel_validate(request *req, rel_rt *rt, json_t *body, char *cols[], char from[], char to[]);
/* Ends kept here checked, the cardinality rules, the insert and its record,
 * in the open transaction: the new link, or NULL after answering. */
json_t *rel_insert_link(request *req, rel_rt *rt, db_conn *c, const char *from, const char *to,
                        const char *status, char **cols);
/* Ends the current link from -> to and records it, in the open
 * transaction: the ended link, JSON null when there is none, or NULL after
 * answering. */
json_t *rel_end_link(request *req, rel_rt *rt, db_conn *c, const char *from, const char *to);

#endif
