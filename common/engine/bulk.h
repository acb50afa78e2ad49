/* bulk.h -- NDJSON in and out, for every collection and relation:
 *
 *   POST /v1/{collection}:import         one object per line, as a create takes it
 *   POST /v1/relations/{kind}:import     one link per line: {"from", "to", ...}
 *   GET  /v1/{collection}:export         the objects, one per line, streamed
 *   GET  /v1/relations/{kind}:export     the current links, streamed
 *
 * An import is cut into batches (?batch=, default 5000 lines). A batch is
 * one transaction: each line is checked as a create checks it, the codes
 * the lines name are confirmed together (one query per table here, one
 * request per 400 codes with the peer), and the rows go in with one COPY.
 * A bad line rejects its whole batch, which the answer names with the line,
 * field and reason; the other batches load. */
#ifndef BULK_H
#define BULK_H

#include <jansson.h>
#include <libpq-fe.h>

#include "net/http.h"
#include "engine/resource.h"

typedef struct service service;
typedef struct bulk_line bulk_line;

typedef struct bulk_spec {
    const char *target;      /* policy target and wording: "customers", "relations/meter-meterbox" */
    const char *copy_sql;    /* COPY <table> (<columns>) FROM STDIN */
    int ncols;               /* columns of copy_sql */
    const char *change_type; /* recorded once per batch: "customer.imported" */
    /* Checks one line's object as a create would and canonicalises it in
     * place. Writes ncols column values (owned text, NULL for SQL NULL)
     * into cols, the first being the row's code (or a link's from end);
     * adds {field, message} to errors; names each code the object refers
     * to with bulk_refer. */
    void (*check)(void *ctx, bulk_line *ln, json_t *obj, char **cols, json_t *errors);
    void *ctx;
    /* Optional, for a table whose rows an import may replace (readings):
     * statements run in the batch's transaction before the COPY (making
     * the table it copies into, say a staging table ON COMMIT DROP) and
     * after it (moving the rows on), each NULL-terminated. The last after
     * statement's one row gives counts: its columns, in order, are added
     * to the answer's counts named in counts (NULL-terminated, at most
     * BULK_COUNTS_MAX). NULL: COPY straight into the table. */
    const char *const *before;
    const char *const *after;
    const char *const *counts;
    /* Optional with before and after: a COPY straight into the table,
     * tried first, in a savepoint. Most batches bring only new rows, and
     * those skip the staging table and its merge; a batch the table
     * refuses (a row it holds already, a month with no partition yet) is
     * rolled back to the savepoint and goes the staging way. Its rows
     * count as the first of counts (new). */
    const char *direct_sql;
    /* The table's CHECK constraints told in the fields' words (the
     * collection's, model/catalogue.h); NULL: the database's words. */
    const check_def *checks;
} bulk_spec;

#define BULK_COUNTS_MAX 4
#define BULK_KEY_MAX 24

/* The app importing, for created_by / updated_by columns. */
const char *bulk_app(const bulk_line *ln);
/* Notes that the line names code (canonical) in field; the batch loads only
 * if it names an object that exists, is not retired and meets rule. */
void bulk_refer(bulk_line *ln, const char *field, const char *code, const end_rule *rule);

/* Notes that the line holds key (len bytes, at most BULK_KEY_MAX): a key
 * already held by an earlier line of the same import makes this line an
 * error in field, naming both lines. For imports whose rows replace
 * stored ones, where a second row of the same file would silently win. */
void bulk_key(bulk_line *ln, const void *key, size_t len, const char *field);

/* Runs an import of the request's NDJSON body and answers it: 200 with
 * counts, 422 naming the rejected batches and lines, or 503 when the
 * database or the peer gave out (saying how far the import got). */
void bulk_import(request *req, service *svc, const bulk_spec *spec);

/* What bulk_import checks of each line of body (len bytes, no terminator
 * needed) for app, batch by batch, up to where a batch would be loaded:
 * nothing is asked of the database or the peer and nothing is loaded. The
 * counts and errors an import answers with (imported 0), owned. */
json_t *bulk_check(service *svc, const app_entry *app, const bulk_spec *spec, const char *body,
                   size_t len, int batch_size);

/* Answers with the rows of a SELECT as a stream of NDJSON, read through a
 * cursor in one read-only snapshot; to_json turns a row into an object. */
typedef json_t *(*bulk_row_fn)(const void *ctx, const PGresult *r, int row);
void bulk_export(request *req, service *svc, const char *sql, int nparams,
                 const char *const *params, bulk_row_fn to_json, const void *ctx);

#endif
