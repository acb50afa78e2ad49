/* pgarray.h -- a PostgreSQL array literal ("{A,B,C}"), the one form in which
 * a list of values travels as a single statement parameter ($1::text[]). */
#ifndef PGARRAY_H
#define PGARRAY_H

#include <jansson.h>

#include "base/core.h"

typedef struct pg_array {
    sbuf b;
    int n;
} pg_array;

/* Appends one element. Elements that are not plain words (codes, statuses
 * and kinds are) are quoted, so any text reads back as itself. */
void pg_array_add(pg_array *a, const char *item);
/* The literal, owned by the caller ("{}" when nothing was added); a is
 * empty again. */
char *pg_array_steal(pg_array *a);
void pg_array_free(pg_array *a);
/* The strings of a JSON array (codes) as one literal, owned. */
char *pg_array_of_strings(const json_t *strings);

#endif
