/* crossref.c -- see crossref.h. */
#include "crossref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "service.h"

/* Looks the codes of one peer collection up: the items by code, or NULL
 * after answering. */
static json_t *fetch(service *svc, request *req, const biz_type *bt, const xref *refs, int n)
{
    sbuf path = {0};
    sb_appendf(&path, "/v1/%s?status=all&limit=1000&code=", bt->collection);
    int first = 1;
    for (int i = 0; i < n; i++) {
        if (strncmp(refs[i].code, bt->prefix, 2) != 0) continue;
        sb_appendf(&path, "%s%s", first ? "" : ",", refs[i].code);
        first = 0;
    }
    peer_response pr;
    peer_caller who = {http_header_in(req, "Authorization"), req->id, NULL};
    peer_call(svc->peer, "GET", path.s, &who, NULL, 0, &pr);
    sb_free(&path);
    const char *owner = service_name(bt->owner);
    json_t *found = NULL;
    if (pr.error != PEER_OK) {
        http_header(req, "Retry-After", "5");
        http_problem(req, 503, "%s, which keeps %s, cannot confirm the codes (%s); nothing was "
                               "stored", owner, bt->collection, pr.detail);
    } else if (pr.status != 200) {
        http_problem(req, 502, "%s answered %ld when asked to confirm %s codes; nothing was stored",
                     owner, pr.status, bt->type);
    } else {
        json_t *body = json_loads(pr.body, 0, NULL);
        json_t *items = json_object_get(body, "items");
        if (!json_is_array(items)) {
            http_problem(req, 502, "%s gave an unreadable answer; nothing was stored", owner);
        } else {
            found = json_object();
            size_t i;
            json_t *it;
            json_array_foreach(items, i, it) {
                const char *code = json_string_value(json_object_get(it, "code"));
                if (code) json_object_set(found, code, it);
            }
        }
        json_decref(body);
    }
    peer_response_free(&pr);
    return found;
}

static int check_one(request *req, const xref *x, json_t *obj, const biz_type *bt)
{
    if (!obj) {
        json_t *errors = json_array();
        json_add_error(errors, x->field, "no %s with code %s on %s", bt->type, x->code,
                       service_name(bt->owner));
        http_problem_errors(req, 422, errors, "%s names no existing %s", x->field, bt->type);
        return ERR;
    }
    const char *status = json_string_value(json_object_get(obj, "status"));
    if (status && strcmp(status, "retired") == 0) {
        http_problem(req, 409, "%s %s is retired", bt->type, x->code);
        return ERR;
    }
    if (x->rule) {
        const char *v = json_string_value(json_object_get(obj, x->rule->field));
        if (!v || strcmp(v, x->rule->value) != 0) {
            http_problem(req, 409, "%s must be a %s with %s %s; %s has %s %s", x->field, bt->type,
                         x->rule->field, x->rule->value, x->code, x->rule->field, v ? v : "none");
            return ERR;
        }
    }
    return OK;
}

int crossref_confirm(service *svc, request *req, const xref *refs, int n)
{
    /* One request per peer collection named. */
    for (int i = 0; i < n; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++) seen |= strncmp(refs[j].code, refs[i].code, 2) == 0;
        if (seen) continue;
        const biz_type *bt = biz_type_by_prefix(refs[i].code);
        json_t *found = fetch(svc, req, bt, refs, n);
        if (!found) return ERR;
        int rc = OK;
        for (int j = i; j < n && rc == OK; j++) {
            if (strncmp(refs[j].code, bt->prefix, 2) != 0) continue;
            rc = check_one(req, &refs[j], json_object_get(found, refs[j].code), bt);
        }
        json_decref(found);
        if (rc != OK) return ERR;
    }
    return OK;
}

int crossref_local(service *svc, request *req, db_conn *c, const xref *ref)
{
    const collection_def *cd = service_collection(svc, ref->code);
    const biz_type *bt = biz_type_by_prefix(ref->code);
    char *sql = xasprintf("SELECT status, %s FROM %s WHERE code = $1 FOR SHARE",
                          ref->rule ? ref->rule->field : "NULL", cd->table);
    const char *params[] = {ref->code};
    PGresult *r = db_exec_once(c, sql, 1, params);
    free(sql);
    int rc = ERR;
    if (!db_ok(r)) {
        service_db_error(req, c, r, ref->field);
    } else if (PQntuples(r) == 0) {
        json_t *errors = json_array();
        json_add_error(errors, ref->field, "no %s with code %s", bt->type, ref->code);
        http_problem_errors(req, 422, errors, "%s names no existing %s", ref->field, bt->type);
    } else if (strcmp(PQgetvalue(r, 0, 0), "retired") == 0) {
        http_problem(req, 409, "%s %s is retired", bt->type, ref->code);
    } else if (ref->rule && strcmp(PQgetvalue(r, 0, 1), ref->rule->value) != 0) {
        http_problem(req, 409, "%s must be a %s with %s %s; %s has %s %s", ref->field, bt->type,
                     ref->rule->field, ref->rule->value, ref->code, ref->rule->field,
                     PQgetvalue(r, 0, 1));
    } else {
        rc = OK;
    }
    PQclear(r);
    return rc;
}
