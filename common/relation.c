/* relation.c -- relations served from their declarations (resource.h):
 *
 *   POST   /v1/relations/{kind}            {"from", "to", ...attributes}
 *   GET    /v1/relations/{kind}?from=&to=   current links, paged
 *   DELETE /v1/relations/{kind}?from=&to=   ends the current link
 *
 * Links are effective-dated: a link is current while valid_to is NULL and
 * DELETE sets valid_to rather than erasing the row. Cardinality rules hold
 * for current links, enforced by partial unique indexes and explained here
 * by naming the link already in the way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fields.h"
#include "idempotency.h"
#include "jsonutil.h"
#include "resource.h"
#include "service.h"

#define LIMIT_DEFAULT 50
#define LIMIT_MAX 1000

typedef struct rel_rt {
    service *svc;
    const relation_def *def;
    field_def from_field, to_field; /* the ends, checked like code fields */
    char *select_list;
    char *sql_insert, *sql_end, *sql_blocking;
} rel_rt;

typedef struct {
    rel_rt *items;
    int n;
} rel_table;

static void build_sql(rel_rt *rt)
{
    const relation_def *d = rt->def;
    sbuf b = {0};
    sb_append(&b, "id, from_code, to_code, valid_from, valid_to, created_by");
    fields_append_columns(d->attrs, &b, ", ");
    rt->select_list = sb_steal(&b);

    sb_appendf(&b, "INSERT INTO %s (from_code, to_code, created_by", d->table);
    fields_append_columns(d->attrs, &b, ", ");
    sb_append(&b, ") VALUES ($1, $2, $3");
    int nattr = fields_ncols(d->attrs);
    for (int i = 0; i < nattr; i++) sb_appendf(&b, ", $%d", i + 4);
    sb_appendf(&b, ") RETURNING %s", rt->select_list);
    rt->sql_insert = sb_steal(&b);

    rt->sql_end = xasprintf("UPDATE %s SET valid_to = now(), ended_by = $3 WHERE from_code = $1 "
                            "AND to_code = $2 AND valid_to IS NULL RETURNING %s",
                            d->table, rt->select_list);
    /* The current link that stands in the way of a new one, if any. */
    rt->sql_blocking = xasprintf(
        "SELECT from_code, to_code FROM %s WHERE valid_to IS NULL AND ((from_code = $1 AND "
        "to_code = $2) OR ($3 AND to_code = $2) OR ($4 AND from_code = $1)) LIMIT 1",
        d->table);
}

static json_t *link_json(const rel_rt *rt, const PGresult *r, int row)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "kind", rt->def->kind, "from", PQgetvalue(r, row, 1),
                          "to", PQgetvalue(r, row, 2));
    int col = 6;
    for (const field_def *f = rt->def->attrs; f->name; f++) {
        field_to_json(f, r, row, col, o);
        col += field_ncols(f);
    }
    json_object_set_new(o, "valid_from", pg_time_json(PQgetvalue(r, row, 3)));
    json_object_set_new(o, "valid_to", PQgetisnull(r, row, 4) ? json_null()
                                                              : pg_time_json(PQgetvalue(r, row, 4)));
    json_object_set_new(o, "created_by", json_string(PQgetvalue(r, row, 5)));
    return o;
}

static int allowed(request *req, rel_rt *rt, const json_t *obj)
{
    char target[96], why[512];
    snprintf(target, sizeof target, "relations/%s", rt->def->kind);
    if (policy_check(rt->svc->policy, req->app, target, obj, why, sizeof why) == OK) return 1;
    http_problem(req, 403, "%s", why);
    return 0;
}

/* Checks that an in-domain end exists and is not retired. */
static int end_usable(request *req, rel_rt *rt, db_conn *c, const char *code, const char *end)
{
    char prefix[3] = {code[0], code[1], '\0'};
    const collection_def *cd = service_collection(rt->svc, prefix);
    if (!cd) {
        /* Cross-domain ends are confirmed with the peer; none are declared yet. */
        http_problem(req, 400, "%s: %s objects are not kept by %s", end,
                     biz_type_by_prefix(prefix)->type, rt->svc->name);
        return ERR;
    }
    char *sql = xasprintf("SELECT status FROM %s WHERE code = $1", cd->table);
    const char *params[] = {code};
    PGresult *r = db_exec_once(c, sql, 1, params);
    free(sql);
    int rc = ERR;
    if (!db_ok(r)) {
        service_db_error(req, c, r, rt->def->kind);
    } else if (PQntuples(r) == 0) {
        json_t *errors = json_array();
        json_add_error(errors, end, "no %s with code %s", biz_type_by_prefix(prefix)->type, code);
        http_problem_errors(req, 422, errors, "the %s end of the link does not exist", end);
    } else if (strcmp(PQgetvalue(r, 0, 0), "retired") == 0) {
        http_problem(req, 409, "%s is retired and cannot be linked", code);
    } else {
        rc = OK;
    }
    PQclear(r);
    return rc;
}

static int validate(request *req, rel_rt *rt, json_t *body, char *cols[], char from[], char to[])
{
    json_t *errors = json_array();
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        if (strcmp(key, "from") && strcmp(key, "to") && !field_find(rt->def->attrs, key))
            json_add_error(errors, key, "unknown field");
    }
    char *ends[2] = {NULL, NULL};
    const field_def *end_fields[] = {&rt->from_field, &rt->to_field};
    for (int i = 0; i < 2; i++) {
        json_t *e = json_object_get(body, end_fields[i]->name);
        char *pair[2] = {NULL, NULL};
        if (!e || json_is_null(e))
            json_add_error(errors, end_fields[i]->name, "is required");
        else if (field_check(end_fields[i], e, errors, pair) == OK)
            ends[i] = pair[0];
    }
    int col = 0;
    for (const field_def *f = rt->def->attrs; f->name; col += field_ncols(f), f++) {
        json_t *fv = json_object_get(body, f->name);
        if (!fv || json_is_null(fv)) {
            if (f->dflt)
                cols[col] = xstrdup(f->dflt);
            else if (f->flags & FF_REQUIRED)
                json_add_error(errors, f->name, "is required");
            continue;
        }
        field_check(f, fv, errors, &cols[col]);
    }
    if (ends[0]) snprintf(from, BIZCODE_LEN + 1, "%s", ends[0]);
    if (ends[1]) snprintf(to, BIZCODE_LEN + 1, "%s", ends[1]);
    free(ends[0]);
    free(ends[1]);
    if (json_array_size(errors) > 0) {
        http_problem_errors(req, 400, errors, "relation %s: the link is not valid", rt->def->kind);
        return ERR;
    }
    json_decref(errors);
    return OK;
}

static void link_add(request *req, void *ctx)
{
    rel_rt *rt = ctx;
    int nattr = fields_ncols(rt->def->attrs);
    char **cols = xcalloc((size_t)nattr + 1, sizeof *cols);
    const char **params = xcalloc((size_t)nattr + 4, sizeof *params);
    char from[BIZCODE_LEN + 1] = "", to[BIZCODE_LEN + 1] = "";
    db_conn *c = NULL;
    PGresult *r = NULL;
    if (validate(req, rt, req->json, cols, from, to) != OK) goto out;
    json_object_set_new(req->json, "from", json_string(from));
    json_object_set_new(req->json, "to", json_string(to));
    if (!allowed(req, rt, req->json)) goto out;
    if (!(c = service_db(rt->svc, req))) goto out;
    if (db_begin(c) != OK) {
        http_problem(req, 503, "database unavailable");
        goto out;
    }
    idem_state idem = idem_check(req, c);
    if (idem == IDEM_DONE) goto out;
    if (end_usable(req, rt, c, from, "from") != OK || end_usable(req, rt, c, to, "to") != OK)
        goto out;
    const char *bparams[] = {from, to, (rt->def->rules & REL_ONE_FROM_PER_TO) ? "t" : "f",
                             (rt->def->rules & REL_ONE_TO_PER_FROM) ? "t" : "f"};
    r = db_exec(c, rt->sql_blocking, 4, bparams);
    if (!db_ok(r)) {
        service_db_error(req, c, r, rt->def->kind);
        goto out;
    }
    if (PQntuples(r) > 0) {
        const char *bf = PQgetvalue(r, 0, 0), *bt = PQgetvalue(r, 0, 1);
        json_t *existing = json_pack("{s:{s:s, s:s, s:s}}", "existing", "kind", rt->def->kind,
                                     "from", bf, "to", bt);
        if (strcmp(bf, from) == 0 && strcmp(bt, to) == 0)
            http_problem_extra(req, 409, existing, "%s is already linked to %s", from, to);
        else if (strcmp(bt, to) == 0)
            http_problem_extra(req, 409, existing,
                               "%s already has a current %s link from %s; end it first", to,
                               rt->def->kind, bf);
        else
            http_problem_extra(req, 409, existing,
                               "%s already has a current %s link to %s; end it first", from,
                               rt->def->kind, bt);
        goto out;
    }
    PQclear(r);
    params[0] = from;
    params[1] = to;
    params[2] = req->app->name;
    for (int i = 0; i < nattr; i++) params[i + 3] = cols[i];
    r = db_exec(c, rt->sql_insert, nattr + 3, params);
    if (!db_ok(r)) {
        if (strcmp(db_sqlstate(r), "23505") == 0)
            http_problem(req, 409, "a concurrent change created a conflicting %s link; retry",
                         rt->def->kind);
        else
            service_db_error(req, c, r, rt->def->kind);
        goto out;
    }
    char *loc = xasprintf("/v1/relations/%s?from=%s&to=%s", rt->def->kind, from, to);
    http_header(req, "Location", loc);
    free(loc);
    http_json(req, 201, link_json(rt, r, 0));
    if (idem == IDEM_FRESH && idem_save(req, c) != OK) goto out;
    if (db_commit(c) != OK) http_problem(req, 503, "database unavailable; nothing was stored");
out:
    if (c) {
        db_rollback(c);
        db_release(rt->svc->db, c);
    }
    PQclear(r);
    for (int i = 0; i < nattr; i++) free(cols[i]);
    free(cols);
    free(params);
}

/* Parses ?from= / ?to= into canonical codes; "" when absent. */
static int end_params(request *req, rel_rt *rt, char from[], char to[], int required)
{
    const field_def *end_fields[] = {&rt->from_field, &rt->to_field};
    char *outs[] = {from, to};
    for (int i = 0; i < 2; i++) {
        const char *v = http_query(req, end_fields[i]->name);
        outs[i][0] = '\0';
        if (!v) {
            if (required) {
                http_problem(req, 400, "both from and to are required to end a link");
                return ERR;
            }
            continue;
        }
        char *canon = NULL, err[300];
        if (field_parse_filter(end_fields[i], v, &canon, err, sizeof err) != OK) {
            http_problem(req, 400, "%s", err);
            return ERR;
        }
        snprintf(outs[i], BIZCODE_LEN + 1, "%s", canon);
        free(canon);
    }
    return OK;
}

static int known_arg(void *ctx, const char *key, const char *value)
{
    static const char *const known[] = {"from", "to", "limit", "after", NULL};
    request *req = ctx;
    for (const char *const *k = known; *k; k++)
        if (strcmp(*k, key) == 0) return OK;
    http_problem(req, 400, "unknown query parameter '%s'; use from, to, limit, after", key);
    return ERR;
}

static void link_list(request *req, void *ctx)
{
    rel_rt *rt = ctx;
    char from[BIZCODE_LEN + 1], to[BIZCODE_LEN + 1];
    if (http_query_foreach(req, known_arg, req) != OK) return;
    if (end_params(req, rt, from, to, 0) != OK) return;
    int limit = LIMIT_DEFAULT;
    long long after = 0;
    const char *ls = http_query(req, "limit"), *as = http_query(req, "after");
    char *end;
    if (ls) {
        long v = strtol(ls, &end, 10);
        if (!*ls || *end || v < 1 || v > LIMIT_MAX) {
            http_problem(req, 400, "limit must be an integer from 1 to %d", LIMIT_MAX);
            return;
        }
        limit = (int)v;
    }
    if (as) {
        after = strtoll(as, &end, 10);
        if (!*as || *end || after < 0) {
            http_problem(req, 400, "after must be the cursor given as \"next\" by an earlier page");
            return;
        }
    }
    char after_s[24];
    snprintf(after_s, sizeof after_s, "%lld", after);
    const char *params[] = {from[0] ? from : NULL, to[0] ? to : NULL, after_s};
    char *sql = xasprintf("SELECT %s FROM %s WHERE valid_to IS NULL AND ($1::text IS NULL OR "
                          "from_code = $1) AND ($2::text IS NULL OR to_code = $2) AND id > $3 "
                          "ORDER BY id LIMIT %d",
                          rt->select_list, rt->def->table, limit + 1);
    db_conn *c = service_db(rt->svc, req);
    if (c) {
        PGresult *r = db_exec_once(c, sql, 3, params);
        if (!db_ok(r)) {
            service_db_error(req, c, r, rt->def->kind);
        } else {
            int rows = PQntuples(r), shown = rows > limit ? limit : rows;
            json_t *items = json_array();
            for (int i = 0; i < shown; i++) json_array_append_new(items, link_json(rt, r, i));
            json_t *next = rows > limit ? json_string(PQgetvalue(r, shown - 1, 0)) : json_null();
            http_json(req, 200, json_pack("{s:o, s:o}", "items", items, "next", next));
        }
        PQclear(r);
        db_release(rt->svc->db, c);
    }
    free(sql);
}

static void link_end(request *req, void *ctx)
{
    rel_rt *rt = ctx;
    char from[BIZCODE_LEN + 1], to[BIZCODE_LEN + 1];
    if (end_params(req, rt, from, to, 1) != OK) return;
    json_t *obj = json_pack("{s:s, s:s}", "from", from, "to", to);
    int ok = allowed(req, rt, obj);
    json_decref(obj);
    if (!ok) return;
    db_conn *c = service_db(rt->svc, req);
    if (!c) return;
    PGresult *r = NULL;
    if (db_begin(c) != OK) {
        http_problem(req, 503, "database unavailable");
        goto out;
    }
    const char *params[] = {from, to, req->app->name};
    r = db_exec(c, rt->sql_end, 3, params);
    if (!db_ok(r)) {
        service_db_error(req, c, r, rt->def->kind);
    } else if (PQntuples(r) == 0) {
        http_problem(req, 404, "no current %s link from %s to %s", rt->def->kind, from, to);
    } else {
        http_json(req, 200, link_json(rt, r, 0));
        if (db_commit(c) != OK) http_problem(req, 503, "database unavailable; nothing was changed");
    }
out:
    db_rollback(c);
    PQclear(r);
    db_release(rt->svc->db, c);
}

void relation_routes(service *svc, router *r)
{
    rel_table *t = xcalloc(1, sizeof *t);
    t->n = svc->def->nrelations;
    t->items = xcalloc((size_t)t->n, sizeof *t->items);
    svc->relations = t;
    for (int i = 0; i < t->n; i++) {
        rel_rt *rt = &t->items[i];
        rt->svc = svc;
        rt->def = &svc->def->relations[i];
        rt->from_field = (field_def){.name = "from", .type = FT_CODE, .refs = rt->def->from};
        rt->to_field = (field_def){.name = "to", .type = FT_CODE, .refs = rt->def->to};
        build_sql(rt);
        char *path = xasprintf("/v1/relations/%s", rt->def->kind);
        router_add(r, "GET", path, link_list, rt, 0, "Current links, by either end");
        router_add(r, "POST", path, link_add, rt, ROUTE_BODY_JSON, "Link two objects");
        router_add(r, "DELETE", path, link_end, rt, 0, "End the current link");
        free(path);
    }
}

void relation_cleanup(service *svc)
{
    rel_table *t = svc->relations;
    if (!t) return;
    for (int i = 0; i < t->n; i++) {
        free(t->items[i].select_list);
        free(t->items[i].sql_insert);
        free(t->items[i].sql_end);
        free(t->items[i].sql_blocking);
    }
    free(t->items);
    free(t);
    svc->relations = NULL;
}
