/* crossref.c -- see crossref.h. */
#include "engine/crossref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonutil.h"
#include "engine/context.h"
#include "store/pgarray.h"

/* Codes per peer request: a URL of 400 codes stays well inside the
 * request-line limits of both servers. */
#define CODES_PER_REQUEST 400

/* Adds the items of one peer answer to found; ERR with *p. */
static int fetch_chunk(service *svc, request *req, const biz_type *bt, const char *const *codes,
                       int n, json_t *found, outcome *p)
{
    sbuf path = {0};
    sb_appendf(&path, "/v1/%s?status=all&limit=%d&code=", bt->collection, CODES_PER_REQUEST);
    for (int i = 0; i < n; i++) sb_appendf(&path, "%s%s", i ? "," : "", codes[i]);
    peer_response pr;
    peer_caller who = service_caller(req);
    peer_call_primary(svc->peer, "GET", path.s, &who, NULL, 0, &pr);
    sb_free(&path);
    const char *owner = service_name(bt->owner);
    int rc = ERR;
    if (pr.error != PEER_OK || pr.status != 200) {
        char what[160];
        snprintf(what, sizeof what, "%s, which keeps %s, cannot confirm the codes", owner,
                 bt->collection);
        service_peer_outcome(&pr, p, what, "nothing was stored");
    } else {
        json_t *body = json_loads(pr.body, 0, NULL);
        json_t *items = json_object_get(body, "items");
        if (!json_is_array(items)) {
            outcome_set(p, 502, "%s gave an unreadable answer; nothing was stored", owner);
        } else {
            size_t i;
            json_t *it;
            json_array_foreach(items, i, it) {
                const char *code = json_string_value(json_object_get(it, "code"));
                if (code) json_object_set(found, code, it);
            }
            rc = OK;
        }
        json_decref(body);
    }
    peer_response_free(&pr);
    return rc;
}

static json_t *peer_lookup(service *svc, request *req, const biz_type *bt,
                           const char *const *codes, int n, outcome *p)
{
    json_t *found = json_object();
    for (int i = 0; i < n; i += CODES_PER_REQUEST) {
        int k = n - i < CODES_PER_REQUEST ? n - i : CODES_PER_REQUEST;
        if (fetch_chunk(svc, req, bt, codes + i, k, found, p) != OK) {
            json_decref(found);
            return NULL;
        }
    }
    return found;
}

/* Objects kept here: their status and the field a rule reads. */
static json_t *local_lookup(service *svc, request *req, db_conn *c, const biz_type *bt,
                            const char *const *codes, int n, const char *field, outcome *p)
{
    const collection_def *cd = catalogue_collection(svc->def, bt->prefix);
    pg_array arr = {0};
    for (int i = 0; i < n; i++) pg_array_add(&arr, codes[i]);
    char *array = pg_array_steal(&arr);
    /* FOR SHARE, as a single write's check: nobody retires them before we
     * commit. In code order, so two imports naming the same codes queue
     * rather than deadlock. */
    char *sql = xasprintf("SELECT code, status, %s FROM %s WHERE code = ANY($1::text[]) ORDER BY "
                          "code FOR SHARE", field ? field : "NULL", cd->table);
    const char *params[] = {array};
    PGresult *r = db_exec_once(c, sql, 1, params);
    free(sql);
    free(array);
    json_t *found = NULL;
    if (!db_ok(r)) {
        service_db_outcome(c, r, bt->collection, req->id, p);
    } else {
        found = json_object();
        for (int i = 0; i < PQntuples(r); i++) {
            json_t *o = json_pack("{s:s}", "status", PQgetvalue(r, i, 1));
            if (field && !PQgetisnull(r, i, 2))
                json_object_set_new(o, field, json_string(PQgetvalue(r, i, 2)));
            json_object_set_new(found, PQgetvalue(r, i, 0), o);
        }
    }
    PQclear(r);
    return found;
}

json_t *crossref_lookup(service *svc, request *req, db_conn *c, const biz_type *bt,
                        const char *const *codes, int n, const char *field, outcome *p)
{
    if (bt->owner == svc->def->id) return local_lookup(svc, req, c, bt, codes, n, field, p);
    return peer_lookup(svc, req, bt, codes, n, p);
}

int crossref_problem(const xref *x, const json_t *found, char *buf, size_t len)
{
    const biz_type *bt = biz_type_by_prefix(x->code);
    if (!found) {
        snprintf(buf, len, "no %s with code %s on %s", bt->type, x->code, service_name(bt->owner));
        return 422;
    }
    const char *status = json_string_value(json_object_get(found, "status"));
    if (status && strcmp(status, "retired") == 0) {
        snprintf(buf, len, "%s %s is retired", bt->type, x->code);
        return 409;
    }
    if (x->rule) {
        const char *v = json_string_value(json_object_get(found, x->rule->field));
        if (!v || strcmp(v, x->rule->value) != 0) {
            snprintf(buf, len, "%s must be a %s with %s %s; %s has %s %s", x->field, bt->type,
                     x->rule->field, x->rule->value, x->code, x->rule->field, v ? v : "none");
            return 409;
        }
    }
    return 0;
}

/* crossref_problem's answer as a problem: a 422 names the field. */
static void refused(outcome *p, const xref *x, int status, const char *why)
{
    if (status != 422) {
        outcome_set(p, status, "%s", why);
        return;
    }
    json_t *errors = json_array();
    json_add_error(errors, x->field, "%s", why);
    outcome_set_errors(p, 422, errors, "%s names no existing %s", x->field,
                       biz_type_by_prefix(x->code)->type);
}

int crossref_confirm(service *svc, request *req, const xref *refs, int n, outcome *p)
{
    /* One request per peer collection named. */
    for (int i = 0; i < n; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++) seen |= strncmp(refs[j].code, refs[i].code, 2) == 0;
        if (seen) continue;
        const biz_type *bt = biz_type_by_prefix(refs[i].code);
        const char *codes[16];
        int k = 0;
        for (int j = i; j < n && k < (int)ARRAY_LEN(codes); j++)
            if (strncmp(refs[j].code, bt->prefix, 2) == 0) codes[k++] = refs[j].code;
        json_t *found = peer_lookup(svc, req, bt, codes, k, p);
        if (!found) return ERR;
        int rc = OK;
        for (int j = i; j < n && rc == OK; j++) {
            if (strncmp(refs[j].code, bt->prefix, 2) != 0) continue;
            char why[300];
            int status = crossref_problem(&refs[j], json_object_get(found, refs[j].code), why,
                                          sizeof why);
            if (status) {
                refused(p, &refs[j], status, why);
                rc = ERR;
            }
        }
        json_decref(found);
        if (rc != OK) return ERR;
    }
    return OK;
}

int crossref_local(service *svc, request *req, db_conn *c, const xref *ref, outcome *p)
{
    const collection_def *cd = catalogue_collection(svc->def, ref->code);
    char *sql = xasprintf("SELECT status, %s FROM %s WHERE code = $1 FOR SHARE",
                          ref->rule ? ref->rule->field : "NULL", cd->table);
    const char *params[] = {ref->code};
    PGresult *r = db_exec_once(c, sql, 1, params);
    free(sql);
    if (!db_ok(r)) {
        service_db_outcome(c, r, ref->field, req->id, p);
        PQclear(r);
        return ERR;
    }
    json_t *found = NULL;
    if (PQntuples(r) > 0) {
        found = json_pack("{s:s}", "status", PQgetvalue(r, 0, 0));
        if (ref->rule && !PQgetisnull(r, 0, 1))
            json_object_set_new(found, ref->rule->field, json_string(PQgetvalue(r, 0, 1)));
    }
    PQclear(r);
    char why[300];
    int status = crossref_problem(ref, found, why, sizeof why);
    json_decref(found);
    if (status) refused(p, ref, status, why);
    return status ? ERR : OK;
}
