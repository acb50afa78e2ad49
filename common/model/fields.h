/* fields.h -- validating JSON values against field declarations and turning
 * rows back into JSON; shared by collections and relations. */
#ifndef FIELDS_H
#define FIELDS_H

#include <jansson.h>
#include <libpq-fe.h>

#include "base/core.h"
#include "model/catalogue.h"

/* Columns a field occupies: 2 for FT_LOCATION, else 1. */
int field_ncols(const field_def *f);
int fields_ncols(const field_def *fields);

/* Appends ", col..." for each field's columns to a SQL fragment. */
void fields_append_columns(const field_def *fields, sbuf *sql, const char *sep_first);

/* Checks v (not null) against f. On success writes the text form of each
 * column into out (owned by the caller) and returns OK; otherwise adds an
 * error to errors and returns ERR. */
int field_check(const field_def *f, const json_t *v, json_t *errors, char *out[2]);

/* Reads the field's columns starting at col into obj (null when unset). */
void field_to_json(const field_def *f, const PGresult *r, int row, int col, json_t *obj);

/* The same member as field_to_json, written as "name":value to out. */
void field_to_text(const field_def *f, const PGresult *r, int row, int col, sbuf *out);

/* A query-string filter value in the column's text form (ERR, message). */
int field_parse_filter(const field_def *f, const char *text, char **out, char *err, size_t errlen);

/* "2026-11-27 02:50:00.123+00" (TimeZone=UTC) -> "2026-11-27T02:50:00.123Z". */
json_t *pg_time_json(const char *pg);
void pg_time_text(const char *pg, sbuf *out); /* the same, as a JSON string */

const field_def *field_find(const field_def *fields, const char *name);

/* Checks a JSON object that is not stored as one row (a step's data, a
 * drawing's request) against fields: unknown members, types, ranges and
 * required ones. Members named in skip are left alone. Adds to errors;
 * OK when it added none. */
int fields_check_members(const field_def *fields, const json_t *obj, const char *const *skip,
                         json_t *errors);

#endif
