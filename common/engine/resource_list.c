/* resource_list.c -- a collection read many at a time (resource_rt.h): the
 * list's query (filters on the declared fields, status, code, cursor and
 * page size) read from any source of pairs, the list itself, and the glue
 * to the NDJSON import and export of bulk.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/paging.h"
#include "engine/resource_rt.h"
#include "model/fields.h"
#include "store/pgarray.h"

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
    pg_array arr = {0};
    char *copy = xstrdup(value), *save = NULL;
    int count = 0, rc = OK;
    for (char *s = strtok_r(copy, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
        char canon[BIZCODE_LEN + 1];
        biz_status st = bizcode_parse(s, canon, NULL);
        if (st != BIZ_OK || strncmp(canon, q->rt->def->prefix, 2) != 0 ||
            ++count > PAGE_LIMIT_MAX) {
            http_problem(q->req, 400, "code filter: '%.40s' is not a %s code%s", s,
                         q->rt->type->type,
                         count > PAGE_LIMIT_MAX ? " (or more than 1000 codes)" : "");
            rc = ERR;
            break;
        }
        pg_array_add(&arr, canon);
    }
    free(copy);
    if (rc == OK && count == 0) {
        http_problem(q->req, 400, "code filter needs at least one code");
        rc = ERR;
    }
    if (rc != OK) {
        pg_array_free(&arr);
        return ERR;
    }
    add_param(q, pg_array_steal(&arr));
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
    if (strcmp(key, "limit") == 0) return http_limit(req, value, PAGE_LIMIT_MAX, &q->limit);
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
            if (!coll_in_list(q->rt->def->statuses->values, s) ||
                q->n >= (int)ARRAY_LEN(q->params) - 2) {
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
    if (f && f->type == FT_CODES)
        sb_appendf(&q->where, " AND $%d = ANY(%s)", q->n, f->name);
    else
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
    *q = (list_query){.req = req, .rt = rt, .limit = PAGE_LIMIT_DEFAULT};
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
    coll_rt *rt = coll_named(req, svc, prefix);
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

void coll_list(request *req, void *ctx)
{
    coll_rt *rt = ctx;
    list_query *q = list_read(req, rt, request_pairs, req);
    if (!q) return;
    char *sql = xasprintf("SELECT %s FROM %s WHERE %s ORDER BY code LIMIT %d", rt->select_list,
                          rt->def->table, q->where.s, q->limit + 1);
    page_query pq = {.sql = sql, .once = 1, .nparams = q->n,
                     .params = (const char *const *)q->params, .limit = q->limit,
                     .item = row_item, .ctx = &rt->shape, .what = rt->type->collection};
    service_answer_page(rt->svc, req, &pq);
    free(sql);
    resource_list_query_free(q);
}

/* ---- bulk ----------------------------------------------------------------- */

void coll_import_check(void *ctx, bulk_line *ln, json_t *obj, char **cols, json_t *errors)
{
    const coll_rt *rt = ctx;
    col_values cv = {0};
    const char *status;
    coll_check(rt, obj, NULL, 0, &cv, &status, errors);
    if (json_array_size(errors) > 0) return;
    char code[BIZCODE_LEN + 1];
    coll_object_code(rt, obj, code);
    cols[0] = xstrdup(code);
    cols[1] = xstrdup(status);
    cols[2] = xstrdup(bulk_app(ln));
    int col = 0;
    for (const field_def *f = rt->def->fields; f->name; col += field_ncols(f), f++)
        if (f->type == FT_CODE && cv.v[col]) bulk_refer(ln, f->name, cv.v[col], f->rule);
    for (int i = 0; i < cv.n; i++) cols[3 + i] = cv.v[i]; /* the columns move to cols */
    free(cv.v);
}

void coll_import(request *req, void *ctx)
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
void coll_export(request *req, void *ctx)
{
    coll_rt *rt = ctx;
    if (http_query_foreach(req, export_arg, req) != OK) return;
    const char *given = http_query(req, "status");
    pg_array arr = {0};
    if (!given) {
        for (const char *const *st = rt->def->statuses->listed; *st; st++) pg_array_add(&arr, *st);
    } else if (strcmp(given, "all") != 0) {
        if (strspn(given, ",") == strlen(given)) {
            http_problem(req, 400, "status must name at least one status (or all)");
            return;
        }
        char *copy = xstrdup(given), *save = NULL;
        for (char *st = strtok_r(copy, ",", &save); st; st = strtok_r(NULL, ",", &save)) {
            if (!coll_in_list(rt->def->statuses->values, st)) {
                http_problem(req, 400, "status '%s' is not a status of %s (or use status=all)",
                             st, rt->type->collection);
                free(copy);
                pg_array_free(&arr);
                return;
            }
            pg_array_add(&arr, st);
        }
        free(copy);
    }
    char *statuses = pg_array_steal(&arr);
    const char *params[] = {given && strcmp(given, "all") == 0 ? NULL : statuses};
    bulk_export(req, rt->svc, rt->sql_export, 1, params, row_item, &rt->shape);
    free(statuses);
}

const bulk_spec *resource_bulk_spec(service *svc, const char *prefix)
{
    coll_rt *rt = coll_find(svc, prefix);
    return rt ? &rt->bulk : NULL;
}
