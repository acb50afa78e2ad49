/* resource.c -- collections served from their declarations (resource.h):
 *
 *   GET    /v1/{collection}          list, filters, cursor pagination
 *   POST   /v1/{collection}          create (Idempotency-Key honoured)
 *   GET    /v1/{collection}/{code}   one object, ETag: "<version>"
 *   PATCH  /v1/{collection}/{code}   JSON merge patch, If-Match
 *   DELETE /v1/{collection}/{code}   retire (kept for history)
 *
 * Every write runs in one transaction. SQL text is built once at start-up
 * from the declarations; values are always parameters. This file holds the
 * SQL, the reads of one object and the routes; the checks, writes and lists
 * are in resource_check.c, resource_write.c and resource_list.c. */
#include "engine/resource.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/changes.h"
#include "engine/resource_rt.h"
#include "model/fields.h"

#define BASE_COLS 6 /* code, status, version, created_at, updated_at, updated_by */

static const char *const grid_status_values[] = {"design", "operational", "retired", NULL};
static const char *const grid_status_listed[] = {"operational", NULL};
const status_set grid_statuses = {grid_status_values, "operational", grid_status_listed};

static const char *const cust_status_values[] = {"pending", "active", "retired", NULL};
static const char *const cust_status_listed[] = {"pending", "active", NULL};
const status_set cust_statuses = {cust_status_values, "active", cust_status_listed};

/* ---- SQL built once ----------------------------------------------------- */

static void build_sql(coll_rt *rt)
{
    const collection_def *d = rt->def;
    rt->select_list =
        declared_columns("code, status, version, created_at, updated_at, updated_by", d->fields);
    rt->ndata = fields_ncols(d->fields);

    rt->sql_get = xasprintf("SELECT %s FROM %s WHERE code = $1", rt->select_list, d->table);
    rt->sql_lock = xasprintf("SELECT %s FROM %s WHERE code = $1 FOR UPDATE", rt->select_list,
                             d->table);
    rt->sql_insert = declared_insert(d->table, "code, status, updated_by", 3, d->fields,
                                     rt->select_list);

    sbuf b = {0};
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

    rt->bulk.copy_sql = rt->sql_copy =
        declared_copy(d->table, "code, status, updated_by", d->fields);
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

/* The object's members in the order of the select list's columns. */
static void set_shape(coll_rt *rt)
{
    rt->shape = (row_shape){
        .head = {{"code", RM_TEXT, 0, NULL}},
        .nhead = 1,
        .fields = rt->def->fields,
        .fields_col = BASE_COLS,
        .tail = {{"status", RM_TEXT, 1, NULL},
                 {"version", RM_INT, 2, NULL},
                 {"created_at", RM_TIME, 3, NULL},
                 {"updated_at", RM_TIME, 4, NULL},
                 {"updated_by", RM_TEXT, 5, NULL}},
        .ntail = 5,
    };
}

/* ---- reads of one object --------------------------------------------------- */

const char *resource_select_list(service *svc, const char *prefix)
{
    coll_rt *rt = coll_find(svc, prefix);
    return rt ? rt->select_list : NULL;
}

json_t *resource_row_json(service *svc, const char *prefix, const PGresult *r, int row)
{
    coll_rt *rt = coll_find(svc, prefix);
    return rt ? row_json(&rt->shape, r, row) : NULL;
}

static void get_one(request *req, void *ctx)
{
    coll_rt *rt = ctx;
    char code[BIZCODE_LEN + 1];
    if (service_path_code(req, rt->def->prefix, code) != OK) return;
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
            row_text(&rt->shape, r, 0, &body);
            size_t len = body.len;
            http_raw(req, 200, "application/json", sb_steal(&body), len);
        }
    }
    PQclear(r);
    db_release(rt->svc->db, c);
}

static void history(request *req, void *ctx)
{
    coll_rt *rt = ctx;
    char code[BIZCODE_LEN + 1];
    if (service_path_code(req, rt->def->prefix, code) != OK) return;
    json_t *current = coll_fetch_current(req, rt, code); /* 404 for a code that names nothing */
    if (current) changes_history(req, rt->svc, code);
    json_decref(current);
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
        set_shape(rt);
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
        rt->bulk.check = coll_import_check;
        rt->bulk.ctx = rt;
        rt->bulk.checks = rt->def->checks;
        router_add(r, "GET", coll, coll_list, rt, 0, "List, filtered and paged");
        router_add(r, "GET", one, get_one, rt, 0, "Get one by code");
        router_add(r, "GET", hist, history, rt, 0, "Every change, oldest first");
        router_add(r, "GET", exp, coll_export, rt, 0, "Export as a stream of NDJSON");
        if (!rt->def->own_writes) {
            router_add(r, "POST", coll, coll_create, rt, ROUTE_BODY_JSON | ROUTE_IDEMPOTENT | waits,
                       "Create");
            router_add(r, "PATCH", one, coll_patch, rt, ROUTE_BODY_JSON | patch_waits,
                       "Change by JSON merge patch");
            router_add(r, "DELETE", one, coll_retire, rt, retire_waits,
                       "Retire (kept for history)");
            /* Imports run long: off the I/O threads, as peer waits do. */
            router_add(r, "POST", imp, coll_import, rt, ROUTE_BODY_BULK | ROUTE_PEER,
                       "Import NDJSON (one object per line), in batches through COPY");
        }
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
