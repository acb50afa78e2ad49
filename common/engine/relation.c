/* relation.c -- relations served from their declarations (resource.h):
 *
 *   POST   /v1/relations/{kind}                 {"from", "to", "status", ...attributes}
 *   GET    /v1/relations/{kind}?from=&to=&at=    links, current or as of `at`, paged
 *   DELETE /v1/relations/{kind}?from=&to=        ends the current link
 *
 * Links are effective-dated, as IEC 61968-9 links are: a link is current
 * while valid_to is NULL, DELETE sets valid_to rather than erasing the row,
 * and ?at= answers as of a past moment. Cardinality rules hold for current
 * links, enforced by partial unique indexes and explained here by naming the
 * link already in the way. An end kept here must exist (foreign keys, and a
 * check that also reads its status and any end rule such as kind = public);
 * an end kept by the peer is confirmed with the peer before anything is
 * stored. The writes made inside a larger step are in relation_step.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonutil.h"
#include "engine/changes.h"
#include "engine/crossref.h"
#include "engine/idempotency.h"
#include "engine/paging.h"
#include "engine/relation_rt.h"
#include "model/fields.h"
#include "store/pgarray.h"

static void build_sql(rel_rt *rt)
{
    const relation_def *d = rt->def;
    static const char written[] = "from_code, to_code, status, created_by";
    rt->select_list = declared_columns(
        "id, from_code, to_code, status, valid_from, valid_to, created_by", rt->attrs);
    rt->sql_insert = declared_insert(d->table, written, 4, rt->attrs, rt->select_list);
    rt->sql_copy = declared_copy(d->table, written, rt->attrs);
    rt->sql_export = xasprintf("SELECT %s FROM %s WHERE valid_to IS NULL ORDER BY id",
                               rt->select_list, d->table);

    rt->sql_end = xasprintf("UPDATE %s SET valid_to = now(), ended_by = $3 WHERE from_code = $1 "
                            "AND to_code = $2 AND valid_to IS NULL RETURNING %s",
                            d->table, rt->select_list);
    rt->sql_status = xasprintf("UPDATE %s SET status = $3 WHERE from_code = $1 AND to_code = $2 "
                               "AND valid_to IS NULL RETURNING %s",
                               d->table, rt->select_list);
    /* The current link that stands in the way of a new one, if any. */
    rt->sql_blocking = xasprintf(
        "SELECT from_code, to_code FROM %s WHERE valid_to IS NULL AND ((from_code = $1 AND "
        "to_code = $2) OR ($3 AND to_code = $2) OR ($4 AND from_code = $1)) LIMIT 1",
        d->table);
    /* Current links, or those valid at $4; $5 the statuses shown (NULL: all).
     * One statement per shape (which ends are given, current or ?at=), so
     * each can use its index under a generic plan: the indexes cover
     * current links. A parameter not used by a shape is NULL. */
    static const char *const ends[4] = {
        "$1::text IS NULL AND $2::text IS NULL",
        "from_code = $1 AND $2::text IS NULL",
        "$1::text IS NULL AND to_code = $2",
        "from_code = $1 AND to_code = $2",
    };
    static const char *const when[2] = {
        "$4::timestamptz IS NULL AND valid_to IS NULL",
        "valid_from <= $4 AND (valid_to IS NULL OR valid_to > $4)",
    };
    for (int i = 0; i < 8; i++)
        rt->sql_list[i] = xasprintf("SELECT %s FROM %s WHERE %s AND %s AND id > $3 AND ($5::text[] "
                                    "IS NULL OR status = ANY ($5)) ORDER BY id LIMIT $6",
                                    rt->select_list, d->table, ends[i % 4], when[i / 4]);
}

/* A link's members in the order of the select list's columns. */
static void set_shape(rel_rt *rt)
{
    rt->shape = (row_shape){
        .head = {{"kind", RM_CONST, 0, rt->def->kind}, {"from", RM_TEXT, 1, NULL},
                 {"to", RM_TEXT, 2, NULL}},
        .nhead = 3,
        .fields = rt->attrs,
        .fields_col = ATTR_COL,
        .tail = {{"status", RM_TEXT, 3, NULL},
                 {"valid_from", RM_TIME, 4, NULL},
                 {"valid_to", RM_TIME_OR_NULL, 5, NULL},
                 {"created_by", RM_TEXT, 6, NULL}},
        .ntail = 4,
    };
}

static int allowed(request *req, rel_rt *rt, const json_t *obj)
{
    return declared_allowed(req, rt->svc, rt->target, obj);
}

static int is_ours(const rel_rt *rt, const char *code)
{
    return catalogue_collection(rt->svc->def, code) != NULL;
}

/* The ends the peer keeps, confirmed in one request per collection. Ends
 * given as NULL are not known yet: made in the same step, here. */
int rel_confirm_peer_ends(request *req, rel_rt *rt, const char *from, const char *to)
{
    xref refs[2];
    int n = 0;
    if (from && !is_ours(rt, from)) refs[n++] = (xref){"from", from, rt->def->from_rule};
    if (to && !is_ours(rt, to)) refs[n++] = (xref){"to", to, rt->def->to_rule};
    outcome p = {0};
    if (crossref_confirm(rt->svc, req, refs, n, &p) == OK) return OK;
    service_answer_outcome(req, &p);
    return ERR;
}

static int status_ok(const rel_rt *rt, const char *s)
{
    for (const char *const *v = rt->svc->def->statuses->values; *v; v++)
        if (strcmp(*v, s) == 0 && strcmp(s, "retired") != 0) return 1;
    return 0;
}

/* Checks a link's members; fills cols (attributes) and the canonical ends,
 * or adds to errors. */
static void check_link(const rel_rt *rt, json_t *body, char *cols[], char from[], char to[],
                       json_t *errors)
{
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        if (strcmp(key, "from") && strcmp(key, "to") && strcmp(key, "status") &&
            !field_find(rt->attrs, key))
            json_add_error(errors, key, "unknown field");
    }
    json_t *st = json_object_get(body, "status");
    if (st && (!json_is_string(st) || !status_ok(rt, json_string_value(st))))
        json_add_error(errors, "status", "a link is %s or %s",
                       rt->svc->def->statuses->values[0], rt->svc->def->statuses->values[1]);
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
    for (const field_def *f = rt->attrs; f->name; col += field_ncols(f), f++) {
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
    if ((rt->def->rules & REL_TIE) && ends[0] && ends[1] && strcmp(ends[0], ends[1]) == 0)
        json_add_error(errors, "to", "a tie joins two different objects, not %s to itself", ends[0]);
    if (ends[0]) snprintf(from, BIZCODE_LEN + 1, "%s", ends[0]);
    if (ends[1]) snprintf(to, BIZCODE_LEN + 1, "%s", ends[1]);
    free(ends[0]);
    free(ends[1]);
}

int rel_validate(request *req, rel_rt *rt, json_t *body, char *cols[], char from[], char to[])
{
    json_t *errors = json_array();
    check_link(rt, body, cols, from, to, errors);
    if (json_array_size(errors) > 0) {
        http_problem_errors(req, 400, errors, "relation %s: the link is not valid", rt->def->kind);
        return ERR;
    }
    json_decref(errors);
    return OK;
}

/* Ends kept here checked, the cardinality rules, the insert and its record,
 * in the open transaction: the new link, or NULL after answering. */
json_t *rel_insert_link(request *req, rel_rt *rt, db_conn *c, const char *from, const char *to,
                           const char *status, char **cols)
{
    xref ends[] = {{"from", from, rt->def->from_rule}, {"to", to, rt->def->to_rule}};
    outcome p = {0};
    for (int i = 0; i < 2; i++)
        if (is_ours(rt, ends[i].code) && crossref_local(rt->svc, req, c, &ends[i], &p) != OK) {
            service_answer_outcome(req, &p);
            return NULL;
        }
    /* An attribute naming an object of ours (a link's switch) is held to
     * the same: it exists and is not retired. */
    int col = 0;
    for (const field_def *f = rt->attrs; f->name; col += field_ncols(f), f++) {
        if (f->type != FT_CODE || !cols[col] || !is_ours(rt, cols[col])) continue;
        xref x = {f->name, cols[col], f->rule};
        if (crossref_local(rt->svc, req, c, &x, &p) != OK) {
            service_answer_outcome(req, &p);
            return NULL;
        }
    }
    const char *bparams[] = {from, to, (rt->def->rules & REL_ONE_FROM_PER_TO) ? "t" : "f",
                             (rt->def->rules & REL_ONE_TO_PER_FROM) ? "t" : "f"};
    PGresult *r = db_exec(c, rt->sql_blocking, 4, bparams);
    json_t *link = NULL;
    if (!db_ok(r)) {
        service_db_error(req, c, r, rt->def->kind);
    } else if (PQntuples(r) > 0) {
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
    } else {
        int nattr = fields_ncols(rt->attrs);
        const char **params = xcalloc((size_t)nattr + 4, sizeof *params);
        params[0] = from;
        params[1] = to;
        params[2] = status ? status : rt->svc->def->statuses->initial;
        params[3] = req->app->name;
        for (int i = 0; i < nattr; i++) params[i + 4] = cols[i];
        PQclear(r);
        r = db_exec(c, rt->sql_insert, nattr + 4, params);
        free(params);
        if (!db_ok(r)) {
            if (strcmp(db_sqlstate(r), "23505") == 0)
                http_problem(req, 409, "a concurrent change created a conflicting %s link; retry",
                             rt->def->kind);
            else
                service_db_error(req, c, r, rt->def->kind);
        } else {
            link = row_json(&rt->shape, r, 0);
            if (changes_record(req, c, "relation.added", from, to, NULL, link) != OK) {
                json_decref(link);
                link = NULL;
            }
        }
    }
    PQclear(r);
    return link;
}

static void link_add(request *req, void *ctx)
{
    rel_rt *rt = ctx;
    int nattr = fields_ncols(rt->attrs);
    char **cols = xcalloc((size_t)nattr + 1, sizeof *cols);
    char from[BIZCODE_LEN + 1] = "", to[BIZCODE_LEN + 1] = "";
    db_conn *c = NULL;
    if (rel_validate(req, rt, req->json, cols, from, to) != OK) goto out;
    json_object_set_new(req->json, "from", json_string(from));
    json_object_set_new(req->json, "to", json_string(to));
    if (!allowed(req, rt, req->json)) goto out;
    /* Before any transaction: the peer's answer may take a while. */
    if (rel_confirm_peer_ends(req, rt, from, to) != OK) goto out;
    if (!(c = service_db(rt->svc, req))) goto out;
    if (db_begin(c) != OK) {
        service_db_down(req, "nothing was stored");
        goto out;
    }
    idem_stored replay;
    outcome why = {0};
    idem_state idem = idem_check(req, c, &replay, &why);
    if (idem == IDEM_DONE) {
        service_answer_idem(req, &replay, &why);
        goto out;
    }
    json_t *link = rel_insert_link(req, rt, c, from, to,
                               json_string_value(json_object_get(req->json, "status")), cols);
    if (!link) goto out;
    char *loc = xasprintf("/v1/relations/%s?from=%s&to=%s", rt->def->kind, from, to);
    http_header(req, "Location", loc);
    free(loc);
    http_json(req, 201, link);
    if (idem == IDEM_FRESH && idem_save(req, c, &why) != OK) {
        service_answer_outcome(req, &why);
        goto out;
    }
    if (db_commit(c) != OK) service_commit_failed(req, c, "nothing was stored");
out:
    if (c) {
        db_rollback(c);
        db_release(rt->svc->db, c);
    }
    for (int i = 0; i < nattr; i++) free(cols[i]);
    free(cols);
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
    static const char *const known[] = {"from", "to", "at", "status", "limit", "after", NULL};
    request *req = ctx;
    for (const char *const *k = known; *k; k++)
        if (strcmp(*k, key) == 0) return OK;
    http_problem(req, 400, "unknown query parameter '%s'; use from, to, at, status, limit, after",
                 key);
    return ERR;
}

/* Notes the first query parameter given. */
static int first_arg(void *ctx, const char *key, const char *value)
{
    *(const char **)ctx = key;
    return ERR;
}

/* ?status=design,operational -> "{design,operational}"; all -> NULL. */
static int status_filter(request *req, rel_rt *rt, char **out)
{
    const char *v = http_query(req, "status");
    *out = NULL;
    if (v && strcmp(v, "all") == 0) return OK;
    pg_array arr = {0};
    if (v) {
        char *copy = xstrdup(v), *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (!status_ok(rt, t)) {
                http_problem(req, 400, "status '%s' is not a link status (or use status=all)", t);
                free(copy);
                pg_array_free(&arr);
                return ERR;
            }
            pg_array_add(&arr, t);
        }
        free(copy);
    } else {
        for (const char *const *l = rt->svc->def->statuses->listed; *l; l++) pg_array_add(&arr, *l);
    }
    *out = pg_array_steal(&arr);
    return OK;
}

static void link_list(request *req, void *ctx)
{
    rel_rt *rt = ctx;
    char from[BIZCODE_LEN + 1], to[BIZCODE_LEN + 1];
    if (http_query_foreach(req, known_arg, req) != OK) return;
    if (end_params(req, rt, from, to, 0) != OK) return;
    int limit;
    long long after;
    if (http_paging(req, PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX, &limit, &after) != OK) return;
    const char *at = http_query(req, "at");
    if (at && (!*at || strlen(at) > 40 || strspn(at, "0123456789-:T.Z+ ") != strlen(at))) {
        http_problem(req, 400, "at must be a timestamp such as 2026-11-01T00:00:00Z");
        return;
    }
    char *statuses = NULL;
    if (status_filter(req, rt, &statuses) != OK) return;
    char after_s[24], limit_s[16];
    snprintf(after_s, sizeof after_s, "%lld", after);
    snprintf(limit_s, sizeof limit_s, "%d", limit + 1);
    const char *params[] = {from[0] ? from : NULL, to[0] ? to : NULL, after_s, at, statuses,
                            limit_s};
    int shape = (from[0] ? 1 : 0) | (to[0] ? 2 : 0) | (at ? 4 : 0);
    page_query pq = {.sql = rt->sql_list[shape], .nparams = 6, .params = params,
                     .limit = limit, .item = row_item, .ctx = &rt->shape,
                     .what = rt->def->kind,
                     .bad_value = "at must be a timestamp such as 2026-11-01T00:00:00Z"};
    service_answer_page(rt->svc, req, &pq);
    free(statuses);
}

/* Ends the current link from -> to and records it, in the open
 * transaction: the ended link, JSON null when there is none, or NULL after
 * answering. */
json_t *rel_end_link(request *req, rel_rt *rt, db_conn *c, const char *from, const char *to)
{
    const char *params[] = {from, to, req->app->name};
    PGresult *r = db_exec(c, rt->sql_end, 3, params);
    json_t *link = NULL;
    if (!db_ok(r)) {
        service_db_error(req, c, r, rt->def->kind);
    } else if (PQntuples(r) == 0) {
        link = json_null();
    } else {
        link = row_json(&rt->shape, r, 0);
        if (changes_record(req, c, "relation.ended", from, to, NULL, link) != OK) {
            json_decref(link);
            link = NULL;
        }
    }
    PQclear(r);
    return link;
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
    if (db_begin(c) != OK) {
        service_db_down(req, "nothing was changed");
    } else {
        json_t *link = rel_end_link(req, rt, c, from, to);
        if (json_is_null(link)) {
            http_problem(req, 404, "no current %s link from %s to %s", rt->def->kind, from, to);
            json_decref(link);
        } else if (link) {
            http_json(req, 200, link);
            if (db_commit(c) != OK) service_commit_failed(req, c, "nothing was changed");
        }
    }
    db_rollback(c);
    db_release(rt->svc->db, c);
}

/* ---- bulk ----------------------------------------------------------------- */

static void import_check(void *ctx, bulk_line *ln, json_t *obj, char **cols, json_t *errors)
{
    const rel_rt *rt = ctx;
    char from[BIZCODE_LEN + 1] = "", to[BIZCODE_LEN + 1] = "";
    int nattr = fields_ncols(rt->attrs);
    check_link(rt, obj, cols + 4, from, to, errors);
    if (json_array_size(errors) > 0) {
        for (int i = 0; i < nattr; i++) free(cols[4 + i]);
        memset(cols + 4, 0, (size_t)nattr * sizeof *cols);
        return;
    }
    json_object_set_new(obj, "from", json_string(from));
    json_object_set_new(obj, "to", json_string(to));
    const char *status = json_string_value(json_object_get(obj, "status"));
    cols[0] = xstrdup(from);
    cols[1] = xstrdup(to);
    cols[2] = xstrdup(status ? status : rt->svc->def->statuses->initial);
    cols[3] = xstrdup(bulk_app(ln));
    bulk_refer(ln, "from", from, rt->def->from_rule);
    bulk_refer(ln, "to", to, rt->def->to_rule);
}

static void link_import(request *req, void *ctx)
{
    rel_rt *rt = ctx;
    bulk_import(req, rt->svc, &rt->bulk);
}

static void link_export(request *req, void *ctx)
{
    rel_rt *rt = ctx;
    const char *first = NULL;
    http_query_foreach(req, first_arg, &first);
    if (first) {
        http_problem(req, 400, "an export of links takes no parameters (it gives the current "
                               "links), not '%s'", first);
        return;
    }
    bulk_export(req, rt->svc, rt->sql_export, 0, NULL, row_item, &rt->shape);
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
        static const field_def no_attrs[] = {FIELDS_END};
        rt->attrs = rt->def->attrs ? rt->def->attrs : no_attrs;
        rt->from_field = (field_def){.name = "from", .type = FT_CODE, .refs = rt->def->from};
        rt->to_field = (field_def){.name = "to", .type = FT_CODE, .refs = rt->def->to};
        build_sql(rt);
        set_shape(rt);
        for (const char *const *p = rt->def->from; *p; p++) rt->peer_end |= !is_ours(rt, *p);
        for (const char *const *p = rt->def->to; *p; p++) rt->peer_end |= !is_ours(rt, *p);
        char *path = xasprintf("/v1/relations/%s", rt->def->kind);
        router_add(r, "GET", path, link_list, rt, 0, "Links by either end, current or ?at=");
        router_add(r, "POST", path, link_add, rt,
                   ROUTE_BODY_JSON | ROUTE_IDEMPOTENT | (rt->peer_end ? ROUTE_PEER : 0),
                   "Link two objects");
        router_add(r, "DELETE", path, link_end, rt, 0, "End the current link");
        char *imp = xasprintf("%s:import", path), *exp = xasprintf("%s:export", path);
        rt->target = xasprintf("relations/%s", rt->def->kind);
        rt->bulk = (bulk_spec){.target = rt->target, .copy_sql = rt->sql_copy,
                               .ncols = 4 + fields_ncols(rt->attrs),
                               .change_type = "relation.imported", .check = import_check,
                               .ctx = rt};
        router_add(r, "POST", imp, link_import, rt, ROUTE_BODY_BULK | ROUTE_PEER,
                   "Import NDJSON (one link per line), in batches through COPY");
        router_add(r, "GET", exp, link_export, rt, 0, "Export the current links as NDJSON");
        free(imp);
        free(exp);
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
        free(t->items[i].sql_status);
        free(t->items[i].sql_blocking);
        for (int k = 0; k < 8; k++) free(t->items[i].sql_list[k]);
        free(t->items[i].sql_copy);
        free(t->items[i].sql_export);
        free(t->items[i].target);
    }
    free(t->items);
    free(t);
    svc->relations = NULL;
}
