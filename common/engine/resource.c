/* resource.c -- collections served from their declarations (resource.h):
 *
 *   GET    /v1/{collection}          list, filters, cursor pagination
 *   POST   /v1/{collection}          create (Idempotency-Key honoured)
 *   GET    /v1/{collection}/{code}   one object, ETag: "<version>"
 *   PATCH  /v1/{collection}/{code}   JSON merge patch, If-Match
 *   DELETE /v1/{collection}/{code}   retire (kept for history)
 *
 * Every write runs in one transaction. SQL text is built once at start-up
 * from the declarations; values are always parameters. */
#include "engine/resource.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/bulk.h"
#include "engine/changes.h"
#include "engine/crossref.h"
#include "model/fields.h"
#include "engine/idempotency.h"
#include "base/jsonutil.h"
#include "base/log.h"
#include "engine/references.h"
#include "engine/context.h"

#define LIMIT_DEFAULT 50
#define LIMIT_MAX 1000
#define BASE_COLS 6 /* code, status, version, created_at, updated_at, updated_by */

static const char *const grid_status_values[] = {"design", "operational", "retired", NULL};
static const char *const grid_status_listed[] = {"operational", NULL};
const status_set grid_statuses = {grid_status_values, "operational", grid_status_listed};

static const char *const cust_status_values[] = {"pending", "active", "retired", NULL};
static const char *const cust_status_listed[] = {"pending", "active", NULL};
const status_set cust_statuses = {cust_status_values, "active", cust_status_listed};

static const char *const read_only[] = {"version", "created_at", "updated_at", "updated_by", NULL};

typedef struct coll_rt {
    service *svc;
    const collection_def *def;
    const biz_type *type;
    int ndata;     /* data columns after the base ones */
    int peer_refs; /* has code fields naming objects the peer keeps */
    ref_watch peer_names; /* what the peer's declarations name of it, and read */
    char *select_list;
    char *sql_get, *sql_lock, *sql_insert, *sql_update, *sql_retire, *sql_export, *sql_copy;
    char *change_imported; /* "customer.imported" */
    bulk_spec bulk;
} coll_rt;

typedef struct {
    coll_rt *items;
    int n;
    void *references; /* GET /v1/references (references.c) */
} coll_table;


/* ---- SQL built once ----------------------------------------------------- */

static void build_sql(coll_rt *rt)
{
    const collection_def *d = rt->def;
    sbuf b = {0};
    sb_append(&b, "code, status, version, created_at, updated_at, updated_by");
    fields_append_columns(d->fields, &b, ", ");
    rt->select_list = sb_steal(&b);
    rt->ndata = fields_ncols(d->fields);

    rt->sql_get = xasprintf("SELECT %s FROM %s WHERE code = $1", rt->select_list, d->table);
    rt->sql_lock = xasprintf("SELECT %s FROM %s WHERE code = $1 FOR UPDATE", rt->select_list,
                             d->table);

    sb_appendf(&b, "INSERT INTO %s (code, status, updated_by", d->table);
    fields_append_columns(d->fields, &b, ", ");
    sb_append(&b, ") VALUES ($1, $2, $3");
    for (int i = 0; i < rt->ndata; i++) sb_appendf(&b, ", $%d", i + 4);
    sb_appendf(&b, ") RETURNING %s", rt->select_list);
    rt->sql_insert = sb_steal(&b);

    sb_appendf(&b, "UPDATE %s SET status = $2, updated_by = $3", d->table);
    int p = 4;
    for (const field_def *f = d->fields; f->name; f++) {
        if (f->type == FT_LOCATION) {
            sb_appendf(&b, ", %s_lon = $%d, %s_lat = $%d", f->name, p, f->name, p + 1);
            p += 2;
        } else {
            sb_appendf(&b, ", %s = $%d", f->name, p++);
        }
    }
    sb_appendf(&b, ", version = version + 1, updated_at = now() WHERE code = $1 RETURNING %s",
               rt->select_list);
    rt->sql_update = sb_steal(&b);

    sb_appendf(&b, "COPY %s (code, status, updated_by", d->table);
    fields_append_columns(d->fields, &b, ", ");
    sb_append(&b, ") FROM STDIN");
    rt->bulk.copy_sql = rt->sql_copy = sb_steal(&b);
    rt->sql_export = xasprintf("SELECT %s FROM %s WHERE $1::text[] IS NULL OR status = ANY($1) "
                               "ORDER BY code", rt->select_list, d->table);

    rt->sql_retire = xasprintf("UPDATE %s SET status = 'retired', updated_by = $2, version = "
                               "version + 1, updated_at = now() WHERE code = $1 RETURNING %s",
                               d->table, rt->select_list);
}

static void free_sql(coll_rt *rt)
{
    free(rt->select_list);
    free(rt->sql_get);
    free(rt->sql_lock);
    free(rt->sql_insert);
    free(rt->sql_update);
    free(rt->sql_retire);
    free(rt->sql_export);
    free(rt->sql_copy);
    free(rt->change_imported);
}

/* ---- rows and values ---------------------------------------------------- */

static json_t *row_json(const coll_rt *rt, const PGresult *r, int row)
{
    json_t *o = json_object();
    json_object_set_new(o, "code", json_string(PQgetvalue(r, row, 0)));
    int col = BASE_COLS;
    for (const field_def *f = rt->def->fields; f->name; f++) {
        field_to_json(f, r, row, col, o);
        col += field_ncols(f);
    }
    json_object_set_new(o, "status", json_string(PQgetvalue(r, row, 1)));
    json_object_set_new(o, "version", json_integer(strtoll(PQgetvalue(r, row, 2), NULL, 10)));
    json_object_set_new(o, "created_at", pg_time_json(PQgetvalue(r, row, 3)));
    json_object_set_new(o, "updated_at", pg_time_json(PQgetvalue(r, row, 4)));
    json_object_set_new(o, "updated_by", json_string(PQgetvalue(r, row, 5)));
    return o;
}

/* The same object written straight to text. A point read needs no JSON
 * tree: building one, only to write it out and free it, took about a
 * tenth of the daemon's CPU for that read. */
static void row_text(const coll_rt *rt, const PGresult *r, int row, sbuf *out)
{
    sb_append(out, "{\"code\":");
    sb_json_string(out, PQgetvalue(r, row, 0));
    int col = BASE_COLS;
    for (const field_def *f = rt->def->fields; f->name; f++) {
        sb_append(out, ",");
        field_to_text(f, r, row, col, out);
        col += field_ncols(f);
    }
    sb_append(out, ",\"status\":");
    sb_json_string(out, PQgetvalue(r, row, 1));
    sb_append(out, ",\"version\":");
    sb_json_int(out, strtoll(PQgetvalue(r, row, 2), NULL, 10));
    sb_append(out, ",\"created_at\":");
    pg_time_text(PQgetvalue(r, row, 3), out);
    sb_append(out, ",\"updated_at\":");
    pg_time_text(PQgetvalue(r, row, 4), out);
    sb_append(out, ",\"updated_by\":");
    sb_json_string(out, PQgetvalue(r, row, 5));
    sb_append(out, "}");
}

/* The same, for the shared page and export code, which know no coll_rt. */
static json_t *item_json(const void *ctx, const PGresult *r, int row)
{
    return row_json(ctx, r, row);
}

/* Column values of a validated object, in declaration order (NULL = SQL NULL). */
typedef struct {
    char **v;
    int n;
} col_values;

static void values_free(col_values *cv)
{
    for (int i = 0; i < cv->n; i++) free(cv->v[i]);
    free(cv->v);
    cv->v = NULL;
    cv->n = 0;
}

static int in_list(const char *const *list, const char *s)
{
    for (; list && *list; list++)
        if (strcmp(*list, s) == 0) return 1;
    return 0;
}

static int is_known_member(const coll_rt *rt, const char *key)
{
    return strcmp(key, "code") == 0 || strcmp(key, "status") == 0 || in_list(read_only, key) ||
           field_find(rt->def->fields, key);
}

/* Absent and null are the same: no value. */
static int same_value(const json_t *a, const json_t *b)
{
    if (!a || json_is_null(a)) return !b || json_is_null(b);
    return b && json_equal(a, b);
}

/* Checks obj as the whole object to store. current is the stored object
 * for an update (NULL on create): read-only members must then be unchanged.
 * Fills cv and *status, or adds to errors (and leaves cv empty). */
static void check_object(const coll_rt *rt, json_t *obj, const json_t *current, int trusted,
                         col_values *cv, const char **status, json_t *errors)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        if (!is_known_member(rt, key)) json_add_error(errors, key, "unknown field");
    }
    /* Read-only members: absent on create; unchanged on update. */
    for (const char *const *ro = read_only; *ro; ro++) {
        json_t *given = json_object_get(obj, *ro);
        if (given && (!current || !json_equal(given, json_object_get(current, *ro))))
            json_add_error(errors, *ro, "is read-only");
    }
    json_t *code = json_object_get(obj, "code");
    if (current) {
        if (!json_equal(code, json_object_get(current, "code")))
            json_add_error(errors, "code", "is read-only");
    } else if (code) {
        char canon[BIZCODE_LEN + 1];
        biz_status st = json_is_string(code) ? bizcode_parse(json_string_value(code), canon, NULL)
                                             : BIZ_BAD_LENGTH;
        if (st != BIZ_OK)
            json_add_error(errors, "code", "not a valid code: %s", bizcode_strerror(st));
        else if (strncmp(canon, rt->def->prefix, 2) != 0)
            json_add_error(errors, "code", "must be a %s code (prefix %s)", rt->type->type,
                           rt->def->prefix);
        else
            json_object_set_new(obj, "code", json_string(canon));
    }
    json_t *st = json_object_get(obj, "status");
    /* Absent (or nulled by a patch) keeps what the object has. */
    *status = current ? json_string_value(json_object_get(current, "status"))
                      : rt->def->statuses->initial;
    if (st) {
        const char *s = json_string_value(st);
        int unchanged = current && json_equal(st, json_object_get(current, "status"));
        if (!s || !in_list(rt->def->statuses->values, s))
            json_add_error(errors, "status", "is not a status of %s", rt->type->collection);
        else if (strcmp(s, "retired") == 0 && !unchanged)
            json_add_error(errors, "status", "retire an object with DELETE");
        else
            *status = s;
    }

    cv->n = rt->ndata;
    cv->v = xcalloc((size_t)cv->n, sizeof *cv->v);
    int col = 0;
    for (const field_def *f = rt->def->fields; f->name; col += field_ncols(f), f++) {
        json_t *fv = json_object_get(obj, f->name);
        if ((f->flags & FF_SERVER) && !trusted &&
            !same_value(fv, current ? json_object_get(current, f->name) : NULL)) {
            json_add_error(errors, f->name, "is set by the platform as the work proceeds");
            continue;
        }
        /* Absent on create, or null: the default, where the field has one. */
        if ((!fv || json_is_null(fv)) && f->dflt) {
            cv->v[col] = xstrdup(f->dflt);
            continue;
        }
        if (!fv || json_is_null(fv)) {
            if (f->flags & FF_REQUIRED) json_add_error(errors, f->name, "is required");
            continue;
        }
        field_check(f, fv, errors, &cv->v[col]);
    }
    if (json_array_size(errors) > 0) values_free(cv);
}

/* check_object for a request: on failure answers 400 and returns ERR. */
static int validate_as(request *req, const coll_rt *rt, json_t *obj, const json_t *current,
                       int trusted, col_values *cv, const char **status)
{
    json_t *errors = json_array();
    check_object(rt, obj, current, trusted, cv, status, errors);
    if (json_array_size(errors) > 0) {
        http_problem_errors(req, 400, errors, "%s: the object is not valid", rt->type->collection);
        return ERR;
    }
    json_decref(errors);
    return OK;
}

/* A client's object. */
static int validate(request *req, const coll_rt *rt, json_t *obj, const json_t *current,
                    col_values *cv, const char **status)
{
    return validate_as(req, rt, obj, current, 0, cv, status);
}

/* The object as the policy sees it: declared fields in their stored form. */
static int allowed(request *req, const coll_rt *rt, const json_t *obj)
{
    char why[512];
    if (policy_check(rt->svc->policy, req->app, rt->type->collection, obj, why, sizeof why) == OK)
        return 1;
    http_problem(req, 403, "%s", why);
    return 0;
}

/* Answers obj (stolen) with its ETag, and its Location when created. */
static void answer_json(request *req, const coll_rt *rt, json_t *obj, int status)
{
    char etag[32];
    snprintf(etag, sizeof etag, "\"%lld\"",
             (long long)json_integer_value(json_object_get(obj, "version")));
    http_header(req, "ETag", etag);
    if (status == 201) {
        char *loc = xasprintf("/v1/%s/%s", rt->type->collection,
                              json_string_value(json_object_get(obj, "code")));
        http_header(req, "Location", loc);
        free(loc);
    }
    http_json(req, status, obj);
}

/* Answers a unique or foreign-key violation in the words of the fields. */
static void write_error(request *req, const coll_rt *rt, db_conn *c, const PGresult *r)
{
    const char *state = db_sqlstate(r);
    const char *cons = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
    if (cons && (strcmp(state, "23505") == 0 || strcmp(state, "23503") == 0)) {
        size_t tl = strlen(rt->def->table);
        for (const field_def *f = rt->def->fields; f->name; f++) {
            /* PostgreSQL's default names: <table>_<column>_key / _fkey. */
            size_t fl = strlen(f->name);
            if (strncmp(cons, rt->def->table, tl) || cons[tl] != '_' ||
                strncmp(cons + tl + 1, f->name, fl) || cons[tl + 1 + fl] != '_')
                continue;
            json_t *errors = json_array();
            if (state[4] == '5') {
                json_add_error(errors, f->name, "another %s already has this value", rt->type->type);
                http_problem_errors(req, 409, errors, "%s must be unique", f->name);
            } else {
                json_add_error(errors, f->name, "names no existing object");
                http_problem_errors(req, 422, errors, "%s refers to an object that does not exist",
                                    f->name);
            }
            return;
        }
        if (strcmp(state, "23505") == 0 && strstr(cons, "_pkey")) {
            http_problem(req, 409, "a %s with this code already exists", rt->type->type);
            return;
        }
    }
    service_db_error(req, c, r, rt->type->collection);
}

/* The code a checked object brings, or a fresh one. */
static void object_code(const coll_rt *rt, const json_t *obj, char code[BIZCODE_LEN + 1])
{
    const char *given = json_string_value(json_object_get(obj, "code"));
    if (given)
        snprintf(code, BIZCODE_LEN + 1, "%s", given);
    else
        bizcode_mint(rt->def->prefix, code);
}

static int path_code(request *req, const coll_rt *rt, char canon[BIZCODE_LEN + 1])
{
    return service_path_code(req, rt->def->prefix, canon);
}

/* ---- handlers ------------------------------------------------------------ */

static void get_one(request *req, void *ctx)
{
    coll_rt *rt = ctx;
    char code[BIZCODE_LEN + 1];
    if (path_code(req, rt, code) != OK) return;
    db_conn *c = service_db(rt->svc, req);
    if (!c) return;
    const char *params[] = {code};
    PGresult *r = db_exec(c, rt->sql_get, 1, params);
    if (!db_ok(r))
        service_db_error(req, c, r, rt->type->collection);
    else if (PQntuples(r) == 0)
        http_problem(req, 404, "no %s with code %s", rt->type->type, code);
    else {
        const char *inm = http_header_in(req, "If-None-Match");
        char etag[32];
        snprintf(etag, sizeof etag, "\"%s\"", PQgetvalue(r, 0, 2));
        http_header(req, "ETag", etag);
        if (inm && strcmp(inm, etag) == 0) {
            http_raw(req, 304, "application/json", xstrdup(""), 0);
        } else {
            sbuf body = {0};
            row_text(rt, r, 0, &body);
            size_t len = body.len;
            http_raw(req, 200, "application/json", sb_steal(&body), len);
        }
    }
    PQclear(r);
    db_release(rt->svc->db, c);
}

/* $1 code, $2 status, $3 app, then the data columns: the parameters of the
 * INSERT and UPDATE built in build_sql. Borrowed pointers; free the array. */
static const char **write_params(const col_values *cv, const char *code, const char *status,
                                 const char *app)
{
    const char **params = xcalloc((size_t)cv->n + 3, sizeof *params);
    params[0] = code;
    params[1] = status;
    params[2] = app;
    for (int i = 0; i < cv->n; i++) params[i + 3] = cv->v[i];
    return params;
}

/* The codes of obj's FT_CODE fields that changed from current (all of them
 * on create), split into those kept here and those the peer keeps: as many
 * as the collection declares code fields (named_free frees them). */
typedef struct {
    xref *local, *peer;
    char (*codes)[BIZCODE_LEN + 1]; /* canonical, for the xrefs above */
    int nlocal, npeer;
} named_refs;

static void named(const coll_rt *rt, const json_t *obj, const json_t *current, named_refs *out)
{
    size_t nfields = 0;
    for (const field_def *f = rt->def->fields; f->name; f++) nfields += f->type == FT_CODE;
    *out = (named_refs){xcalloc(nfields + 1, sizeof *out->local),
                        xcalloc(nfields + 1, sizeof *out->peer),
                        xcalloc(nfields + 1, sizeof *out->codes), 0, 0};
    int ncodes = 0;
    for (const field_def *f = rt->def->fields; f->name; f++) {
        if (f->type != FT_CODE) continue;
        const json_t *v = json_object_get(obj, f->name);
        const char *raw = json_string_value(v);
        if (!raw || (current && json_equal(v, json_object_get(current, f->name)))) continue;
        /* Invalid codes are validate()'s to report; here only canonical ones. */
        char *code = out->codes[ncodes];
        if (bizcode_parse(raw, code, NULL) != BIZ_OK) continue;
        ncodes++;
        xref x = {f->name, code, f->rule};
        if (catalogue_collection(rt->svc->def, code))
            out->local[out->nlocal++] = x;
        else
            out->peer[out->npeer++] = x;
    }
}

static void named_free(named_refs *nr)
{
    free(nr->local);
    free(nr->peer);
    free(nr->codes);
}

/* Objects named here: inside the transaction. */
static int local_refs_usable(request *req, const coll_rt *rt, db_conn *c, const json_t *obj,
                             const json_t *current)
{
    named_refs nr;
    named(rt, obj, current, &nr);
    int rc = OK;
    for (int i = 0; i < nr.nlocal && rc == OK; i++)
        rc = crossref_local(rt->svc, req, c, &nr.local[i]);
    named_free(&nr);
    return rc;
}

/* Objects the peer keeps: confirmed before any transaction starts, with no
 * connection held (waits.h). */
static int peer_refs_usable(request *req, const coll_rt *rt, const json_t *obj,
                            const json_t *current)
{
    if (!rt->peer_refs) return OK;
    named_refs nr;
    named(rt, obj, current, &nr);
    int rc = crossref_confirm(rt->svc, req, nr.peer, nr.npeer);
    named_free(&nr);
    return rc;
}

/* Records the change of the object in r (row 0) in the open transaction:
 * type is the whole change type, or NULL for <type>.<action>. */
static int record_as(request *req, const coll_rt *rt, db_conn *c, const char *type,
                     const char *action, const json_t *before, const PGresult *r)
{
    char own[64];
    if (!type) {
        snprintf(own, sizeof own, "%s.%s", rt->type->type, action);
        type = own;
    }
    json_t *after = row_json(rt, r, 0);
    int rc = changes_record(req, c, type, PQgetvalue(r, 0, 0), NULL, before, after);
    json_decref(after);
    return rc;
}

/* After a write's statement r (cleared here): its row recorded and
 * returned as the object, or NULL after answering. */
static json_t *written(request *req, const coll_rt *rt, db_conn *c, PGresult *r, const char *type,
                       const char *action, const json_t *before)
{
    json_t *out = NULL;
    if (!db_ok(r))
        write_error(req, rt, c, r);
    else if (record_as(req, rt, c, type, action, before, r) == OK)
        out = row_json(rt, r, 0);
    PQclear(r);
    return out;
}

/* A checked object (cv, status) stored and recorded in the open
 * transaction: the object as stored, or NULL after answering. */
static json_t *insert_checked(request *req, coll_rt *rt, db_conn *c, const json_t *obj,
                              const col_values *cv, const char *status)
{
    if (local_refs_usable(req, rt, c, obj, NULL) != OK) return NULL;
    char code[BIZCODE_LEN + 1];
    object_code(rt, obj, code);
    const char **params = write_params(cv, code, status, req->app->name);
    json_t *out = written(req, rt, c, db_exec(c, rt->sql_insert, cv->n + 3, params), NULL,
                          "created", NULL);
    free(params);
    return out;
}

static void create(request *req, void *ctx)
{
    coll_rt *rt = ctx;
    col_values cv = {0};
    const char *status;
    if (validate(req, rt, req->json, NULL, &cv, &status) != OK) return;
    db_conn *c = NULL;
    if (!allowed(req, rt, req->json) || peer_refs_usable(req, rt, req->json, NULL) != OK) goto done;
    if (!(c = service_db(rt->svc, req))) goto done;
    if (db_begin(c) != OK) {
        service_db_down(req, "nothing was stored");
        goto done;
    }
    idem_state idem = idem_check(req, c);
    if (idem == IDEM_DONE) goto done;
    json_t *made = insert_checked(req, rt, c, req->json, &cv, status);
    if (!made) goto done;
    answer_json(req, rt, made, 201);
    if (idem == IDEM_FRESH && idem_save(req, c) != OK) goto done;
    if (db_commit(c) != OK) service_commit_failed(req, c, "nothing was stored");
done:
    if (c) {
        db_rollback(c);
        db_release(rt->svc->db, c);
    }
    values_free(&cv);
}

/* If-Match: absent, "*", or the current version ("3", W/"3" or 3). */
static int if_match_ok(request *req, const char *version)
{
    const char *im = http_header_in(req, "If-Match");
    if (!im || strcmp(im, "*") == 0) return 1;
    if (strncmp(im, "W/", 2) == 0) im += 2;
    char want[32];
    snprintf(want, sizeof want, "\"%s\"", version);
    return strcmp(im, want) == 0 || strcmp(im, version) == 0;
}

/* Locks the object for a change: answers 404 and returns NULL when there
 * is none. */
static PGresult *lock_row(request *req, coll_rt *rt, db_conn *c, const char *code)
{
    const char *params[] = {code};
    PGresult *r = db_exec(c, rt->sql_lock, 1, params);
    if (!db_ok(r))
        service_db_error(req, c, r, rt->type->collection);
    else if (PQntuples(r) == 0)
        http_problem(req, 404, "no %s with code %s", rt->type->type, code);
    else
        return r;
    PQclear(r);
    return NULL;
}

/* lock_row, and the request's If-Match: 412 when it names another version. */
static PGresult *lock_for_change(request *req, coll_rt *rt, db_conn *c, const char *code)
{
    PGresult *r = lock_row(req, rt, c, code);
    if (!r) return NULL;
    if (if_match_ok(req, PQgetvalue(r, 0, 2))) return r;
    http_problem_extra(req, 412, json_pack("{s:i}", "current_version", atoi(PQgetvalue(r, 0, 2))),
                       "If-Match %s does not match the current version %s of %s",
                       http_header_in(req, "If-Match"), PQgetvalue(r, 0, 2), code);
    PQclear(r);
    return NULL;
}

/* Would storing cv and status leave the object as it is? Compared in the
 * columns' text form, so 110 and 110.0 are the same voltage. */
static int unchanged(request *req, const coll_rt *rt, const json_t *current, const col_values *cv,
                     const char *status)
{
    json_t *copy = json_deep_copy(current);
    col_values now = {0};
    const char *now_status;
    int same = validate(req, rt, copy, current, &now, &now_status) == OK &&
               strcmp(now_status, status) == 0;
    for (int i = 0; same && i < cv->n; i++)
        same = (!cv->v[i] && !now.v[i]) ||
               (cv->v[i] && now.v[i] && strcmp(cv->v[i], now.v[i]) == 0);
    values_free(&now);
    json_decref(copy);
    return same;
}

/* The object as stored, outside any transaction; NULL after answering
 * (404, 503). */
static json_t *fetch_current(request *req, coll_rt *rt, const char *code)
{
    db_conn *c = service_db(rt->svc, req);
    if (!c) return NULL;
    const char *params[] = {code};
    PGresult *r = db_exec(c, rt->sql_get, 1, params);
    json_t *current = NULL;
    if (!db_ok(r))
        service_db_error(req, c, r, rt->type->collection);
    else if (PQntuples(r) == 0)
        http_problem(req, 404, "no %s with code %s", rt->type->type, code);
    else
        current = row_json(rt, r, 0);
    PQclear(r);
    db_release(rt->svc->db, c);
    return current;
}

static const char NOTHING_CHANGED[] = "nothing was changed";

/* Before asking the peer about a patch: the object exists and the caller
 * may change it, so those answers come first, and the peer is asked with
 * no transaction open and no connection held (it may need one of ours to
 * answer). The codes the patch names that the peer keeps are confirmed;
 * and if it changes a field one of the peer's end rules reads (a billed
 * transformer's kind), the peer is asked whether it names the object under
 * such a rule. The transaction checks the rest again. */
static int patch_peer_checks(request *req, coll_rt *rt, const char *code)
{
    if (!rt->peer_refs && rt->peer_names.nreads == 0) return OK;
    json_t *current = fetch_current(req, rt, code), *merged = NULL;
    int rc = ERR;
    if (current) {
        merged = json_merge_patch(current, req->json);
        col_values cv = {0};
        const char *status;
        if (validate(req, rt, merged, current, &cv, &status) == OK && allowed(req, rt, current) &&
            allowed(req, rt, merged))
            rc = peer_refs_usable(req, rt, merged, current);
        values_free(&cv);
        /* A retired object is refused in the transaction: nothing to ask. */
        if (rc == OK && strcmp(json_str(current, "status"), "retired") != 0 &&
            references_reads_changed(&rt->peer_names, current, merged)) {
            const char *codes[] = {code};
            rc = references_confirm(rt->svc, req, codes, 1, current, merged, NULL,
                                    NOTHING_CHANGED);
        }
    }
    json_decref(current);
    json_decref(merged);
    return rc;
}

/* Before a retire, the same way: when the peer may name the object, it is
 * asked whether it does, by a live object or a current link. */
static int retire_peer_checks(request *req, coll_rt *rt, const char *code)
{
    if (!rt->peer_names.named) return OK;
    json_t *current = fetch_current(req, rt, code);
    int rc = current && allowed(req, rt, current) ? OK : ERR;
    if (rc == OK && strcmp(json_str(current, "status"), "retired") != 0) { /* twice: as it is */
        const char *codes[] = {code};
        rc = references_confirm(rt->svc, req, codes, 1, NULL, NULL, NULL, NOTHING_CHANGED);
    }
    json_decref(current);
    return rc;
}

/* The change of a locked object (cur) by a merge patch, checked, stored
 * and recorded (as `change`, or <type>.updated): the object as it is now,
 * or NULL after answering. A client's patch is held to the policy -- the
 * object as it is and as it will be must both be the caller's to maintain,
 * so a production app may not turn a public transformer into a dedicated
 * one, nor marketing the other way round -- and to the fields clients may
 * set. The codes it names that the peer keeps were confirmed before the
 * transaction, with no connection held (waits.h): by patch_peer_refs for a
 * client, by the step's caller for a step (resource_confirm_peer_refs). */
static json_t *change_locked(request *req, coll_rt *rt, db_conn *c, const PGresult *cur,
                             const json_t *patch_doc, const char *change, int client)
{
    const char *code = PQgetvalue(cur, 0, 0);
    json_t *current = row_json(rt, cur, 0), *merged = NULL, *out = NULL;
    col_values cv = {0};
    const char *status;
    const char **params = NULL;
    if (strcmp(PQgetvalue(cur, 0, 1), "retired") == 0) {
        http_problem(req, 409, "%s is retired and can no longer be changed", code);
        goto done;
    }
    merged = json_merge_patch(current, patch_doc);
    if (validate_as(req, rt, merged, current, !client, &cv, &status) != OK ||
        (client && (!allowed(req, rt, current) || !allowed(req, rt, merged))) ||
        relation_rules_hold(rt->svc, req, c, code, merged) != OK ||
        local_refs_usable(req, rt, c, merged, current) != OK)
        goto done;
    if (unchanged(req, rt, current, &cv, status)) {
        out = json_incref(current); /* nothing changes: no new version */
        goto done;
    }
    params = write_params(&cv, code, status, req->app->name);
    out = written(req, rt, c, db_exec(c, rt->sql_update, cv.n + 3, params), change, "updated",
                  current);
done:
    free(params);
    values_free(&cv);
    json_decref(current);
    json_decref(merged);
    return out;
}

/* A locked object (cur) retired and recorded; one already retired is as it
 * is. A client must be allowed to maintain it. NULL after answering. */
static json_t *retire_locked(request *req, coll_rt *rt, db_conn *c, const PGresult *cur,
                             int client)
{
    json_t *current = row_json(rt, cur, 0);
    if (client && !allowed(req, rt, current)) {
        json_decref(current);
        return NULL;
    }
    if (strcmp(PQgetvalue(cur, 0, 1), "retired") == 0) return current; /* twice changes nothing */
    const char *params[] = {PQgetvalue(cur, 0, 0), req->app->name};
    json_t *out = written(req, rt, c, db_exec(c, rt->sql_retire, 2, params), NULL, "retired",
                          current);
    json_decref(current);
    return out;
}

/* PATCH and DELETE: the object locked (If-Match honoured), changed, answered. */
typedef json_t *(*locked_change)(request *req, coll_rt *rt, db_conn *c, const PGresult *cur);

static void change_one(request *req, coll_rt *rt, const char *code, locked_change how)
{
    db_conn *c = service_db(rt->svc, req);
    if (!c) return;
    PGresult *cur = NULL;
    if (db_begin(c) != OK) {
        service_db_down(req, "nothing was changed");
    } else if ((cur = lock_for_change(req, rt, c, code))) {
        json_t *now = how(req, rt, c, cur);
        if (now) {
            answer_json(req, rt, now, 200);
            if (db_commit(c) != OK) service_commit_failed(req, c, "nothing was changed");
        }
    }
    db_rollback(c);
    PQclear(cur);
    db_release(rt->svc->db, c);
}

static json_t *patch_locked(request *req, coll_rt *rt, db_conn *c, const PGresult *cur)
{
    return change_locked(req, rt, c, cur, req->json, NULL, 1);
}

static json_t *retire_client(request *req, coll_rt *rt, db_conn *c, const PGresult *cur)
{
    return retire_locked(req, rt, c, cur, 1);
}

static void patch(request *req, void *ctx)
{
    coll_rt *rt = ctx;
    char code[BIZCODE_LEN + 1];
    if (path_code(req, rt, code) != OK || patch_peer_checks(req, rt, code) != OK) return;
    change_one(req, rt, code, patch_locked);
}

static void retire(request *req, void *ctx)
{
    coll_rt *rt = ctx;
    char code[BIZCODE_LEN + 1];
    if (path_code(req, rt, code) != OK || retire_peer_checks(req, rt, code) != OK) return;
    change_one(req, rt, code, retire_client);
}

/* ---- writes that are part of a larger step (resource.h) ---------------------- */

/* The collection kept here of a prefix or code, or NULL. */
static coll_rt *coll_of(service *svc, const char *prefix_or_code)
{
    coll_table *t = svc->resources;
    for (int i = 0; i < t->n; i++)
        if (strncmp(t->items[i].def->prefix, prefix_or_code, 2) == 0) return &t->items[i];
    return NULL;
}

/* The same for a caller that names one: 500 when there is none (it named
 * another platform's). */
static coll_rt *rt_of(request *req, service *svc, const char *prefix_or_code)
{
    coll_rt *rt = coll_of(svc, prefix_or_code);
    if (!rt) http_problem(req, 500, "%.2s objects are not kept by %s", prefix_or_code, svc->name);
    return rt;
}

/* ---- a client's object checked, without the database (resource.h) ---------- */

static coll_rt *checked_coll(service *svc, const char *prefix, json_t **errors)
{
    coll_rt *rt = coll_of(svc, prefix);
    *errors = json_array();
    if (!rt) json_add_error(*errors, NULL, "%.2s objects are not kept by %s", prefix, svc->name);
    return rt;
}

/* ERR, leaving errors, when check_object found any. */
static int checked(coll_rt *rt, json_t *obj, const json_t *current, json_t **errors)
{
    col_values cv = {0};
    const char *status;
    check_object(rt, obj, current, 0, &cv, &status, *errors);
    values_free(&cv);
    if (json_array_size(*errors) > 0) return ERR;
    json_decref(*errors);
    *errors = NULL;
    return OK;
}

int resource_check_create(service *svc, const char *prefix, json_t *obj, json_t **errors)
{
    coll_rt *rt = checked_coll(svc, prefix, errors);
    return rt ? checked(rt, obj, NULL, errors) : ERR;
}

json_t *resource_check_patch(service *svc, const char *prefix, const json_t *current,
                             const json_t *patch_doc, json_t **errors)
{
    coll_rt *rt = checked_coll(svc, prefix, errors);
    if (!rt) return NULL;
    json_t *merged = json_merge_patch(current, patch_doc);
    if (checked(rt, merged, current, errors) == OK) return merged;
    json_decref(merged);
    return NULL;
}

const bulk_spec *resource_bulk_spec(service *svc, const char *prefix)
{
    coll_rt *rt = coll_of(svc, prefix);
    return rt ? &rt->bulk : NULL;
}

json_t *resource_create_in(service *svc, request *req, db_conn *c, const char *prefix, json_t *obj)
{
    coll_rt *rt = rt_of(req, svc, prefix);
    col_values cv = {0};
    const char *status;
    if (!rt || validate_as(req, rt, obj, NULL, 1, &cv, &status) != OK) return NULL;
    json_t *out = insert_checked(req, rt, c, obj, &cv, status);
    values_free(&cv);
    return out;
}

int resource_confirm_peer_refs(service *svc, request *req, const char *prefix, const json_t *obj)
{
    coll_rt *rt = rt_of(req, svc, prefix);
    return rt ? peer_refs_usable(req, rt, obj, NULL) : ERR;
}

json_t *resource_change_in(service *svc, request *req, db_conn *c, const char *code,
                           const json_t *patch_doc, const char *change)
{
    coll_rt *rt = rt_of(req, svc, code);
    PGresult *cur = rt ? lock_row(req, rt, c, code) : NULL;
    json_t *out = cur ? change_locked(req, rt, c, cur, patch_doc, change, 0) : NULL;
    PQclear(cur);
    return out;
}

json_t *resource_retire_in(service *svc, request *req, db_conn *c, const char *code)
{
    coll_rt *rt = rt_of(req, svc, code);
    PGresult *cur = rt ? lock_row(req, rt, c, code) : NULL;
    json_t *out = cur ? retire_locked(req, rt, c, cur, 0) : NULL;
    PQclear(cur);
    return out;
}

static void history(request *req, void *ctx)
{
    coll_rt *rt = ctx;
    char code[BIZCODE_LEN + 1];
    if (path_code(req, rt, code) != OK) return;
    json_t *current = fetch_current(req, rt, code); /* 404 for a code that names nothing */
    if (current) changes_history(req, rt->svc, code);
    json_decref(current);
}

/* ---- list ----------------------------------------------------------------- */

struct list_query {
    request *req;
    coll_rt *rt;
    sbuf where;
    char *params[64];
    int n;
    int limit;
    int has_status;
};

static void add_param(list_query *q, char *value)
{
    q->params[q->n++] = value;
}

/* ?code=A,B,... : the batch look-up the peer uses (one request per hop). */
static int code_filter(list_query *q, const char *value)
{
    sbuf arr = {0};
    sb_append(&arr, "{");
    char *copy = xstrdup(value), *save = NULL;
    int count = 0, rc = OK;
    for (char *s = strtok_r(copy, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
        char canon[BIZCODE_LEN + 1];
        biz_status st = bizcode_parse(s, canon, NULL);
        if (st != BIZ_OK || strncmp(canon, q->rt->def->prefix, 2) != 0 || ++count > LIMIT_MAX) {
            http_problem(q->req, 400, "code filter: '%.40s' is not a %s code%s", s,
                         q->rt->type->type, count > LIMIT_MAX ? " (or more than 1000 codes)" : "");
            rc = ERR;
            break;
        }
        sb_appendf(&arr, "%s%s", count > 1 ? "," : "", canon);
    }
    free(copy);
    if (rc == OK && count == 0) {
        http_problem(q->req, 400, "code filter needs at least one code");
        rc = ERR;
    }
    if (rc != OK) {
        sb_free(&arr);
        return ERR;
    }
    sb_append(&arr, "}");
    add_param(q, sb_steal(&arr));
    sb_appendf(&q->where, " AND code = ANY($%d::text[])", q->n);
    if (count > q->limit) q->limit = count;
    return OK;
}

static int list_arg(void *ctx, const char *key, const char *value)
{
    list_query *q = ctx;
    request *req = q->req;
    char err[300];
    if (q->n >= (int)ARRAY_LEN(q->params) - 2) {
        http_problem(req, 400, "too many query parameters");
        return ERR;
    }
    if (strcmp(key, "limit") == 0) return http_limit(req, value, LIMIT_MAX, &q->limit);
    if (strcmp(key, "after") == 0) {
        char canon[BIZCODE_LEN + 1];
        if (bizcode_parse(value, canon, NULL) != BIZ_OK || strncmp(canon, q->rt->def->prefix, 2)) {
            http_problem(req, 400, "after must be the cursor given as \"next\" by an earlier page");
            return ERR;
        }
        add_param(q, xstrdup(canon));
        sb_appendf(&q->where, " AND code > $%d", q->n);
        return OK;
    }
    if (strcmp(key, "code") == 0) return code_filter(q, value);
    if (strcmp(key, "status") == 0) {
        /* ?status=design,operational or ?status=all */
        q->has_status = 1;
        if (strcmp(value, "all") == 0) return OK;
        sb_append(&q->where, " AND status IN (");
        char *copy = xstrdup(value), *save = NULL;
        int first = 1;
        for (char *s = strtok_r(copy, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
            if (!in_list(q->rt->def->statuses->values, s) || q->n >= (int)ARRAY_LEN(q->params) - 2) {
                http_problem(req, 400, "status '%s' is not a status of %s (or use status=all)", s,
                             q->rt->type->collection);
                free(copy);
                return ERR;
            }
            add_param(q, xstrdup(s));
            sb_appendf(&q->where, "%s$%d", first ? "" : ", ", q->n);
            first = 0;
        }
        free(copy);
        if (first) {
            http_problem(req, 400, "status must name at least one status");
            return ERR;
        }
        sb_append(&q->where, ")");
        return OK;
    }
    const field_def *f = field_find(q->rt->def->fields, key);
    if (!f && strcmp(key, "updated_by") != 0) {
        http_problem(req, 400, "unknown filter '%s' for %s", key, q->rt->type->collection);
        return ERR;
    }
    char *v = NULL;
    if (!f) {
        v = xstrdup(value);
    } else if (field_parse_filter(f, value, &v, err, sizeof err) != OK) {
        http_problem(req, 400, "%s", err);
        return ERR;
    }
    add_param(q, v);
    sb_appendf(&q->where, " AND %s = $%d", f ? f->name : "updated_by", q->n);
    return OK;
}

void resource_list_query_free(list_query *q)
{
    if (!q) return;
    for (int i = 0; i < q->n; i++) free(q->params[i]);
    sb_free(&q->where);
    free(q);
}

/* The query of a list of rt, from its (key, value) pairs; NULL after
 * answering 400. */
static list_query *list_read(request *req, coll_rt *rt, query_pairs_fn pairs, void *src)
{
    list_query *q = xcalloc(1, sizeof *q);
    *q = (list_query){.req = req, .rt = rt, .limit = LIMIT_DEFAULT};
    sb_append(&q->where, "TRUE");
    if (pairs(src, list_arg, q) != OK) {
        resource_list_query_free(q);
        return NULL;
    }
    if (!q->has_status) {
        sb_append(&q->where, " AND status IN (");
        int first = 1;
        for (const char *const *s = rt->def->statuses->listed; *s; s++) {
            add_param(q, xstrdup(*s));
            sb_appendf(&q->where, "%s$%d", first ? "" : ", ", q->n);
            first = 0;
        }
        sb_append(&q->where, ")");
    }
    return q;
}

list_query *resource_list_query(service *svc, request *req, const char *prefix,
                                query_pairs_fn pairs, void *src)
{
    coll_rt *rt = rt_of(req, svc, prefix);
    return rt ? list_read(req, rt, pairs, src) : NULL;
}

const char *resource_list_where(const list_query *q, int *nparams, int *limit)
{
    *nparams = q->n;
    *limit = q->limit;
    return q->where.s;
}

static int request_pairs(void *req, int (*fn)(void *ctx, const char *key, const char *value),
                         void *ctx)
{
    return http_query_foreach(req, fn, ctx);
}

static void list(request *req, void *ctx)
{
    coll_rt *rt = ctx;
    list_query *q = list_read(req, rt, request_pairs, req);
    if (!q) return;
    char *sql = xasprintf("SELECT %s FROM %s WHERE %s ORDER BY code LIMIT %d", rt->select_list,
                          rt->def->table, q->where.s, q->limit + 1);
    db_conn *c = service_db(rt->svc, req);
    if (c) {
        PGresult *r = db_exec_once(c, sql, q->n, (const char *const *)q->params);
        if (!db_ok(r)) {
            service_db_error(req, c, r, rt->type->collection);
        } else {
            service_page(req, r, q->limit, item_json, rt);
        }
        PQclear(r);
        db_release(rt->svc->db, c);
    }
    free(sql);
    resource_list_query_free(q);
}

/* ---- bulk ----------------------------------------------------------------- */

static void import_check(void *ctx, bulk_line *ln, json_t *obj, char **cols, json_t *errors)
{
    const coll_rt *rt = ctx;
    col_values cv = {0};
    const char *status;
    check_object(rt, obj, NULL, 0, &cv, &status, errors);
    if (json_array_size(errors) > 0) return;
    char code[BIZCODE_LEN + 1];
    object_code(rt, obj, code);
    cols[0] = xstrdup(code);
    cols[1] = xstrdup(status);
    cols[2] = xstrdup(bulk_app(ln));
    int col = 0;
    for (const field_def *f = rt->def->fields; f->name; col += field_ncols(f), f++)
        if (f->type == FT_CODE && cv.v[col]) bulk_refer(ln, f->name, cv.v[col], f->rule);
    for (int i = 0; i < cv.n; i++) cols[3 + i] = cv.v[i]; /* the columns move to cols */
    free(cv.v);
}

static void import(request *req, void *ctx)
{
    coll_rt *rt = ctx;
    bulk_import(req, rt->svc, &rt->bulk);
}

static int export_arg(void *ctx, const char *key, const char *value)
{
    request *req = ctx;
    if (strcmp(key, "status") == 0) return OK;
    http_problem(req, 400, "unknown parameter '%s' for an export (only status)", key);
    return ERR;
}

/* ?status=a,b or all; by default what lists show. */
static void export(request *req, void *ctx)
{
    coll_rt *rt = ctx;
    if (http_query_foreach(req, export_arg, req) != OK) return;
    const char *given = http_query(req, "status");
    sbuf arr = {0};
    sb_append(&arr, "{");
    if (!given) {
        for (const char *const *st = rt->def->statuses->listed; *st; st++)
            sb_appendf(&arr, "%s%s", arr.len > 1 ? "," : "", *st);
    } else if (strcmp(given, "all") != 0) {
        if (strspn(given, ",") == strlen(given)) {
            http_problem(req, 400, "status must name at least one status (or all)");
            sb_free(&arr);
            return;
        }
        char *copy = xstrdup(given), *save = NULL;
        for (char *st = strtok_r(copy, ",", &save); st; st = strtok_r(NULL, ",", &save)) {
            if (!in_list(rt->def->statuses->values, st)) {
                http_problem(req, 400, "status '%s' is not a status of %s (or use status=all)",
                             st, rt->type->collection);
                free(copy);
                sb_free(&arr);
                return;
            }
            sb_appendf(&arr, "%s%s", arr.len > 1 ? "," : "", st);
        }
        free(copy);
    }
    sb_append(&arr, "}");
    const char *params[] = {given && strcmp(given, "all") == 0 ? NULL : arr.s};
    bulk_export(req, rt->svc, rt->sql_export, 1, params, item_json, rt);
    sb_free(&arr);
}

/* ---- routes --------------------------------------------------------------- */

void resource_routes(service *svc, router *r)
{
    coll_table *t = xcalloc(1, sizeof *t);
    t->n = svc->def->ncollections;
    t->items = xcalloc((size_t)t->n, sizeof *t->items);
    svc->resources = t;
    for (int i = 0; i < t->n; i++) {
        coll_rt *rt = &t->items[i];
        rt->svc = svc;
        rt->def = &svc->def->collections[i];
        rt->type = biz_type_by_prefix(rt->def->prefix);
        build_sql(rt);
        for (const field_def *f = rt->def->fields; f->name; f++)
            for (const char *const *p = f->refs; f->type == FT_CODE && *p; p++)
                rt->peer_refs |= biz_type_by_prefix(*p)->owner != svc->def->id;
        references_watch(svc, rt->def->prefix, &rt->peer_names);
        /* Routes that may wait on the peer run on the peer workers: a
         * create or patch naming its objects, a patch of a field its rules
         * read, a retire of what it may name. Others never ask it. */
        unsigned waits = rt->peer_refs ? ROUTE_PEER : 0;
        unsigned patch_waits = rt->peer_refs || rt->peer_names.nreads ? ROUTE_PEER : 0;
        unsigned retire_waits = rt->peer_names.named ? ROUTE_PEER : 0;
        char *coll = xasprintf("/v1/%s", rt->type->collection);
        char *one = xasprintf("/v1/%s/{code}", rt->type->collection);
        char *hist = xasprintf("/v1/%s/{code}/history", rt->type->collection);
        char *imp = xasprintf("/v1/%s:import", rt->type->collection);
        char *exp = xasprintf("/v1/%s:export", rt->type->collection);
        rt->change_imported = xasprintf("%s.imported", rt->type->type);
        rt->bulk.target = rt->type->collection;
        rt->bulk.ncols = 3 + rt->ndata;
        rt->bulk.change_type = rt->change_imported;
        rt->bulk.check = import_check;
        rt->bulk.ctx = rt;
        router_add(r, "GET", coll, list, rt, 0, "List, filtered and paged");
        router_add(r, "POST", coll, create, rt, ROUTE_BODY_JSON | waits, "Create");
        router_add(r, "GET", one, get_one, rt, 0, "Get one by code");
        router_add(r, "PATCH", one, patch, rt, ROUTE_BODY_JSON | patch_waits,
                   "Change by JSON merge patch");
        router_add(r, "DELETE", one, retire, rt, retire_waits, "Retire (kept for history)");
        router_add(r, "GET", hist, history, rt, 0, "Every change, oldest first");
        /* Imports run long: off the I/O threads, as peer waits do. */
        router_add(r, "POST", imp, import, rt, ROUTE_BODY_BULK | ROUTE_PEER,
                   "Import NDJSON (one object per line), in batches through COPY");
        router_add(r, "GET", exp, export, rt, 0, "Export as a stream of NDJSON");
        free(imp);
        free(exp);
        free(coll);
        free(one);
        free(hist);
    }
    t->references = references_routes(svc, r);
}

void resource_cleanup(service *svc)
{
    coll_table *t = svc->resources;
    if (!t) return;
    for (int i = 0; i < t->n; i++) free_sql(&t->items[i]);
    references_free(t->references);
    free(t->items);
    free(t);
    svc->resources = NULL;
}
