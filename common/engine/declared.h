/* declared.h -- what the collections (resource.c) and the relations
 * (relation.c) served from their declarations share: the one serialiser of
 * a stored row, the policy check of an object, the SQL both build the same
 * way, and the answer to a caller naming one this service does not keep. */
#ifndef DECLARED_H
#define DECLARED_H

#include <jansson.h>
#include <libpq-fe.h>

#include "base/core.h"
#include "model/catalogue.h"

struct request;
typedef struct service service;

/* A member of a served row other than its declared fields. */
typedef enum {
    RM_TEXT,         /* the column as a string */
    RM_INT,          /* the column as an integer */
    RM_TIME,         /* a timestamptz column as an RFC 3339 string */
    RM_TIME_OR_NULL, /* the same, null when NULL */
    RM_CONST,        /* value, not a column: a link's kind */
} row_member_kind;

typedef struct row_member {
    const char *name;
    row_member_kind kind;
    int col;
    const char *value; /* RM_CONST */
} row_member;

#define ROW_MEMBERS_MAX 6

/* How a row of a select list reads as an object: the head members, the
 * declared fields from column fields_col on, the tail members. */
typedef struct row_shape {
    row_member head[ROW_MEMBERS_MAX], tail[ROW_MEMBERS_MAX];
    int nhead, ntail;
    const field_def *fields;
    int fields_col;
} row_shape;

/* The row as a JSON object (owned), or written straight to out as the same
 * object's text, byte for byte what dumping the object gives: a point read
 * needs no JSON tree (building one, only to write it out and free it, took
 * about a tenth of the daemon's CPU for that read). One walk over the shape
 * writes both, so the two cannot drift apart. */
json_t *row_json(const row_shape *s, const PGresult *r, int row);
void row_text(const row_shape *s, const PGresult *r, int row, sbuf *out);
/* row_json for the shared page and export code: ctx is the row_shape. */
json_t *row_item(const void *shape, const PGresult *r, int row);

/* "<base>, <the fields' columns>": a select list or a column list. */
char *declared_columns(const char *base, const field_def *fields);
/* INSERT INTO table (base, fields...) VALUES ($1.. one per column)
 * RETURNING returning; nbase is the number of columns in base. */
char *declared_insert(const char *table, const char *base, int nbase, const field_def *fields,
                      const char *returning);
/* COPY table (base, fields...) FROM STDIN. */
char *declared_copy(const char *table, const char *base, const field_def *fields);

/* May the caller maintain obj (declared fields in their stored form) of
 * the policy's target ("customers", "relations/<kind>")? Otherwise answers
 * 403 with the reason and returns 0. */
int declared_allowed(struct request *req, service *svc, const char *target, const json_t *obj);

/* For a caller (a step's code) that named a collection or relation this
 * service does not keep (another platform's): answers 500. */
void declared_not_kept(struct request *req, service *svc, const char *what);

#endif
