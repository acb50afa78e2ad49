/* resource_write.c -- a collection's writes (resource_rt.h): create, patch
 * and retire from a client, each in one transaction, and the same writes
 * made as one part of a larger step (resource_create_in, _change_in,
 * _retire_in) on the step's transaction. The codes a write names are
 * checked here inside the transaction, the peer's before it starts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonutil.h"
#include "engine/changes.h"
#include "engine/crossref.h"
#include "engine/idempotency.h"
#include "engine/resource_rt.h"

/* Answers a unique, foreign-key or declared check violation in the words
 * of the fields. */
static void write_error(request *req, const coll_rt *rt, db_conn *c, const PGresult *r)
{
    const char *state = db_sqlstate(r);
    const char *cons = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
    for (const check_def *k = rt->def->checks; cons && k && k->constraint; k++) {
        if (strcmp(state, "23514") != 0 || strcmp(cons, k->constraint) != 0) continue;
        json_t *errors = json_array();
        json_add_error(errors, k->field, "%s", k->message);
        http_problem_errors(req, 400, errors, "%s", k->message);
        return;
    }
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
        /* Invalid codes are coll_check's to report; here only canonical ones. */
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
    outcome p = {0};
    for (int i = 0; i < nr.nlocal && rc == OK; i++)
        rc = crossref_local(rt->svc, req, c, &nr.local[i], &p);
    if (rc != OK) service_answer_outcome(req, &p);
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
    outcome p = {0};
    int rc = crossref_confirm(rt->svc, req, nr.peer, nr.npeer, &p);
    if (rc != OK) service_answer_outcome(req, &p);
    named_free(&nr);
    return rc;
}

/* Records the change of the object in r (row 0) in the open transaction:
 * type is the whole change type, or NULL for <type>.<action>. */
static int record_as(request *req, const coll_rt *rt, db_conn *c, const char *type,
                     const char *action, const json_t *before, const PGresult *r,
                     const char *reason)
{
    char own[64];
    if (!type) {
        snprintf(own, sizeof own, "%s.%s", rt->type->type, action);
        type = own;
    }
    json_t *after = row_json(&rt->shape, r, 0);
    int rc = changes_record_why(req, c, type, PQgetvalue(r, 0, 0), NULL, before, after, reason);
    json_decref(after);
    return rc;
}

/* After a write's statement r (cleared here): its row recorded (with the
 * reason its command gave, if any) and returned as the object, or NULL
 * after answering. */
static json_t *written(request *req, const coll_rt *rt, db_conn *c, PGresult *r, const char *type,
                       const char *action, const json_t *before, const char *reason)
{
    json_t *out = NULL;
    if (!db_ok(r))
        write_error(req, rt, c, r);
    else if (record_as(req, rt, c, type, action, before, r, reason) == OK)
        out = row_json(&rt->shape, r, 0);
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
    coll_object_code(rt, obj, code);
    const char **params = write_params(cv, code, status, req->app->name);
    json_t *out = written(req, rt, c, db_exec(c, rt->sql_insert, cv->n + 3, params), NULL,
                          "created", NULL, NULL);
    free(params);
    return out;
}

void coll_create(request *req, void *ctx)
{
    coll_rt *rt = ctx;
    col_values cv = {0};
    const char *status;
    if (coll_validate(req, rt, req->json, NULL, 0, &cv, &status) != OK) return;
    db_conn *c = NULL;
    if (!coll_allowed(req, rt, req->json) || peer_refs_usable(req, rt, req->json, NULL) != OK)
        goto done;
    if (!(c = service_db(rt->svc, req))) goto done;
    if (db_begin(c) != OK) {
        service_db_down(req, "nothing was stored");
        goto done;
    }
    idem_stored replay;
    outcome why = {0};
    idem_state idem = idem_check(req, c, &replay, &why);
    if (idem == IDEM_DONE) {
        service_answer_idem(req, &replay, &why);
        goto done;
    }
    json_t *made = insert_checked(req, rt, c, req->json, &cv, status);
    if (!made) goto done;
    answer_json(req, rt, made, 201);
    if (idem == IDEM_FRESH && idem_save(req, c, &why) != OK) {
        service_answer_outcome(req, &why);
        goto done;
    }
    if (db_commit(c) != OK) service_commit_failed(req, c, "nothing was stored");
done:
    if (c) {
        db_rollback(c);
        db_release(rt->svc->db, c);
    }
    col_values_free(&cv);
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
    int same = coll_validate(req, rt, copy, current, 0, &now, &now_status) == OK &&
               strcmp(now_status, status) == 0;
    for (int i = 0; same && i < cv->n; i++)
        same = (!cv->v[i] && !now.v[i]) ||
               (cv->v[i] && now.v[i] && strcmp(cv->v[i], now.v[i]) == 0);
    col_values_free(&now);
    json_decref(copy);
    return same;
}

json_t *coll_fetch_current(request *req, coll_rt *rt, const char *code)
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
        current = row_json(&rt->shape, r, 0);
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
    json_t *current = coll_fetch_current(req, rt, code), *merged = NULL;
    int rc = ERR;
    if (current) {
        merged = json_merge_patch(current, req->json);
        col_values cv = {0};
        const char *status;
        if (coll_validate(req, rt, merged, current, 0, &cv, &status) == OK &&
            coll_allowed(req, rt, current) && coll_allowed(req, rt, merged))
            rc = peer_refs_usable(req, rt, merged, current);
        col_values_free(&cv);
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
    json_t *current = coll_fetch_current(req, rt, code);
    int rc = current && coll_allowed(req, rt, current) ? OK : ERR;
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
                             const json_t *patch_doc, const char *change, const char *reason,
                             int client)
{
    const char *code = PQgetvalue(cur, 0, 0);
    json_t *current = row_json(&rt->shape, cur, 0), *merged = NULL, *out = NULL;
    col_values cv = {0};
    const char *status;
    const char **params = NULL;
    if (strcmp(PQgetvalue(cur, 0, 1), "retired") == 0) {
        http_problem(req, 409, "%s is retired and can no longer be changed", code);
        goto done;
    }
    merged = json_merge_patch(current, patch_doc);
    if (coll_validate(req, rt, merged, current, !client, &cv, &status) != OK ||
        (client && (!coll_allowed(req, rt, current) || !coll_allowed(req, rt, merged))) ||
        relation_rules_hold(rt->svc, req, c, code, merged) != OK ||
        local_refs_usable(req, rt, c, merged, current) != OK)
        goto done;
    if (unchanged(req, rt, current, &cv, status)) {
        out = json_incref(current); /* nothing changes: no new version */
        goto done;
    }
    params = write_params(&cv, code, status, req->app->name);
    out = written(req, rt, c, db_exec(c, rt->sql_update, cv.n + 3, params), change, "updated",
                  current, reason);
done:
    free(params);
    col_values_free(&cv);
    json_decref(current);
    json_decref(merged);
    return out;
}

/* A locked object (cur) retired and recorded; one already retired is as it
 * is. A client must be allowed to maintain it. NULL after answering. */
static json_t *retire_locked(request *req, coll_rt *rt, db_conn *c, const PGresult *cur,
                             int client)
{
    json_t *current = row_json(&rt->shape, cur, 0);
    if (client && !coll_allowed(req, rt, current)) {
        json_decref(current);
        return NULL;
    }
    if (strcmp(PQgetvalue(cur, 0, 1), "retired") == 0) return current; /* twice changes nothing */
    const char *params[] = {PQgetvalue(cur, 0, 0), req->app->name};
    json_t *out = written(req, rt, c, db_exec(c, rt->sql_retire, 2, params), NULL, "retired",
                          current, NULL);
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
    return change_locked(req, rt, c, cur, req->json, NULL, NULL, 1);
}

static json_t *retire_client(request *req, coll_rt *rt, db_conn *c, const PGresult *cur)
{
    return retire_locked(req, rt, c, cur, 1);
}

void coll_patch(request *req, void *ctx)
{
    coll_rt *rt = ctx;
    char code[BIZCODE_LEN + 1];
    if (service_path_code(req, rt->def->prefix, code) != OK ||
        patch_peer_checks(req, rt, code) != OK)
        return;
    change_one(req, rt, code, patch_locked);
}

void coll_retire(request *req, void *ctx)
{
    coll_rt *rt = ctx;
    char code[BIZCODE_LEN + 1];
    if (service_path_code(req, rt->def->prefix, code) != OK ||
        retire_peer_checks(req, rt, code) != OK)
        return;
    change_one(req, rt, code, retire_client);
}

/* ---- writes that are part of a larger step (resource.h) ---------------------- */

json_t *resource_create_in(service *svc, request *req, db_conn *c, const char *prefix, json_t *obj)
{
    coll_rt *rt = coll_named(req, svc, prefix);
    col_values cv = {0};
    const char *status;
    if (!rt || coll_validate(req, rt, obj, NULL, 1, &cv, &status) != OK) return NULL;
    json_t *out = insert_checked(req, rt, c, obj, &cv, status);
    col_values_free(&cv);
    return out;
}

int resource_confirm_peer_refs(service *svc, request *req, const char *prefix, const json_t *obj)
{
    coll_rt *rt = coll_named(req, svc, prefix);
    return rt ? peer_refs_usable(req, rt, obj, NULL) : ERR;
}

json_t *resource_change_in(service *svc, request *req, db_conn *c, const char *code,
                           const json_t *patch_doc, const char *change)
{
    coll_rt *rt = coll_named(req, svc, code);
    PGresult *cur = rt ? lock_row(req, rt, c, code) : NULL;
    json_t *out = cur ? change_locked(req, rt, c, cur, patch_doc, change, NULL, 0) : NULL;
    PQclear(cur);
    return out;
}

json_t *resource_retire_in(service *svc, request *req, db_conn *c, const char *code)
{
    coll_rt *rt = coll_named(req, svc, code);
    PGresult *cur = rt ? lock_row(req, rt, c, code) : NULL;
    json_t *out = cur ? retire_locked(req, rt, c, cur, 0) : NULL;
    PQclear(cur);
    return out;
}

/* ---- commands (resource.h) ------------------------------------------------------ */

void resource_command(service *svc, request *req, const char *code, const json_t *patch_doc,
                      const char *change, const char *reason, resource_check check,
                      resource_then then, void *ctx)
{
    coll_rt *rt = coll_named(req, svc, code);
    db_conn *c = rt ? service_db(svc, req) : NULL;
    if (!c) return;
    PGresult *cur = NULL;
    if (db_begin(c) != OK) {
        service_db_down(req, "nothing was changed");
    } else if ((cur = lock_for_change(req, rt, c, code))) {
        json_t *current = row_json(&rt->shape, cur, 0), *now = NULL;
        if (!check || check(req, current, patch_doc, ctx) == OK)
            now = change_locked(req, rt, c, cur, patch_doc, change, reason, 0);
        if (now && then && then(req, c, current, now, ctx) != OK) {
            json_decref(now);
            now = NULL;
        }
        json_decref(current);
        if (now) {
            answer_json(req, rt, now, 200);
            if (db_commit(c) != OK) service_commit_failed(req, c, "nothing was changed");
        }
    }
    db_rollback(c);
    PQclear(cur);
    db_release(svc->db, c);
}
