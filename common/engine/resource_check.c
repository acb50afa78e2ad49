/* resource_check.c -- a collection's object checked against its
 * declaration before anything is stored or asked (resource_rt.h): members,
 * read-only members, code, status, each field; and the same checks offered
 * without a request (resource_check_create, resource_check_patch); and
 * the look-up of a collection kept here, which every other file uses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonutil.h"
#include "engine/resource_rt.h"
#include "model/fields.h"

/* ---- the collections kept here ------------------------------------------ */

coll_rt *coll_find(service *svc, const char *prefix_or_code)
{
    coll_table *t = svc->resources;
    for (int i = 0; i < t->n; i++)
        if (strncmp(t->items[i].def->prefix, prefix_or_code, 2) == 0) return &t->items[i];
    return NULL;
}

coll_rt *coll_named(request *req, service *svc, const char *prefix_or_code)
{
    coll_rt *rt = coll_find(svc, prefix_or_code);
    if (!rt) {
        char what[32];
        snprintf(what, sizeof what, "%.2s objects", prefix_or_code);
        declared_not_kept(req, svc, what);
    }
    return rt;
}

static const char *const read_only[] = {"version", "created_at", "updated_at", "updated_by", NULL};

void col_values_free(col_values *cv)
{
    for (int i = 0; i < cv->n; i++) free(cv->v[i]);
    free(cv->v);
    cv->v = NULL;
    cv->n = 0;
}

int coll_in_list(const char *const *list, const char *s)
{
    for (; list && *list; list++)
        if (strcmp(*list, s) == 0) return 1;
    return 0;
}

static int is_known_member(const coll_rt *rt, const char *key)
{
    return strcmp(key, "code") == 0 || strcmp(key, "status") == 0 || coll_in_list(read_only, key) ||
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
void coll_check(const coll_rt *rt, json_t *obj, const json_t *current, int trusted,
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
        if (!s || !coll_in_list(rt->def->statuses->values, s))
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
            json_add_error(errors, f->name, "is set by the platform, not by a client");
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
    if (json_array_size(errors) > 0) col_values_free(cv);
}

/* coll_check for a request: on failure answers 400 and returns ERR. */
int coll_validate(request *req, const coll_rt *rt, json_t *obj, const json_t *current,
                  int trusted, col_values *cv, const char **status)
{
    json_t *errors = json_array();
    coll_check(rt, obj, current, trusted, cv, status, errors);
    if (json_array_size(errors) > 0) {
        http_problem_errors(req, 400, errors, "%s: the object is not valid", rt->type->collection);
        return ERR;
    }
    json_decref(errors);
    return OK;
}

/* The code a checked object brings, or a fresh one. */
void coll_object_code(const coll_rt *rt, const json_t *obj, char code[BIZCODE_LEN + 1])
{
    const char *given = json_string_value(json_object_get(obj, "code"));
    if (given)
        snprintf(code, BIZCODE_LEN + 1, "%s", given);
    else
        bizcode_mint(rt->def->prefix, code);
}


int coll_allowed(request *req, const coll_rt *rt, const json_t *obj)
{
    return declared_allowed(req, rt->svc, rt->type->collection, obj);
}

/* ---- a client's object checked, without the database (resource.h) ---------- */

static coll_rt *checked_coll(service *svc, const char *prefix, json_t **errors)
{
    coll_rt *rt = coll_find(svc, prefix);
    *errors = json_array();
    if (!rt) json_add_error(*errors, NULL, "%.2s objects are not kept by %s", prefix, svc->name);
    return rt;
}

/* ERR, leaving errors, when coll_check found any. */
static int checked(coll_rt *rt, json_t *obj, const json_t *current, json_t **errors)
{
    col_values cv = {0};
    const char *status;
    coll_check(rt, obj, current, 0, &cv, &status, *errors);
    col_values_free(&cv);
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
