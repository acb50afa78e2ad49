/* test_resource.c -- the collection and relation engine (common/engine/
 * resource*.c, relation*.c, declared.c) without a database: both services
 * are built as main() builds them (service_routes), then
 *   - each collection's and relation's row written as text is, byte for
 *     byte, the JSON object dumped (the point read and the lists share one
 *     serialiser): rows made with libpq's own PGresult builders, once with
 *     every column set and once with every data column NULL;
 *   - a list's query is read from a source of (key, value) pairs: the
 *     statuses lists show by default, filters on declared fields, ?code=
 *     as one array parameter, the page size and its bound, and the 400 for
 *     what a list does not take;
 *   - a client's object is checked as a create and as a patch takes it
 *     (resource_check_create, resource_check_patch). */
#include "../unit_helpers.h"
#include "../bare_request.h"

#include <jansson.h>
#include <libpq-fe.h>

#include "base/jsonutil.h"
#include "cust.h"
#include "engine/relation_rt.h"
#include "engine/resource_rt.h"
#include "grid.h"
#include "model/fields.h"
#include "service.h"

static int build(void **state)
{
    service *svc = xcalloc(1, sizeof *svc);
    svc->def = *state;
    svc->name = service_name(svc->def->id);
    service_routes(svc);
    *state = svc;
    return 0;
}

static int unbuild(void **state)
{
    service *svc = *state;
    service_routes_free(svc);
    free(svc);
    return 0;
}

/* ---- one serialiser ----------------------------------------------------------------------- */

/* A result of ncols text columns and one row, as libpq would hand it. */
static PGresult *one_row(int ncols)
{
    PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc *attrs = xcalloc((size_t)ncols, sizeof *attrs);
    for (int i = 0; i < ncols; i++) {
        attrs[i].name = (char *)"c";
        attrs[i].typid = 25; /* text */
        attrs[i].typlen = -1;
        attrs[i].atttypmod = -1;
    }
    assert_true(PQsetResultAttrs(r, ncols, attrs));
    free(attrs);
    return r;
}

static void set(PGresult *r, int col, const char *v)
{
    assert_true(PQsetvalue(r, 0, col, (char *)v, v ? (int)strlen(v) : -1));
}

/* The declared fields' columns from col on: values that read back as
 * something of each type, or NULL. */
static void set_fields(PGresult *r, const field_def *fields, int col, int null)
{
    for (const field_def *f = fields; f->name; col += field_ncols(f), f++) {
        const char *v = "a \"quoted\" name, \xe5\x8f\x98\xe7\x94\xb5\xe7\xab\x99\n";
        switch (f->type) {
        case FT_INT: v = "42"; break;
        case FT_NUM: v = "110.25"; break;
        case FT_BOOL: v = "t"; break;
        case FT_ENUM: v = f->values[0]; break;
        case FT_CODE: v = "TR-01M97STXC654QWXDZQS4EE5PX3F"; break;
        case FT_LOCATION: set(r, col + 1, null ? NULL : "31.2304"); v = "121.4737"; break;
        default: break;
        }
        set(r, col, null ? NULL : v);
    }
}

static void text_is_the_json(const row_shape *s, const PGresult *r, const char *what)
{
    json_t *j = row_json(s, r, 0);
    char *dumped = json_text(j);
    sbuf text = {0};
    row_text(s, r, 0, &text);
    if (strcmp(dumped, text.s) != 0)
        fail_msg("%s: the row as text and as JSON differ:\n  text %s\n  json %s", what, text.s,
                 dumped);
    /* and it is the whole object: every member once */
    json_t *back = json_loads(text.s, 0, NULL);
    assert_non_null(back);
    assert_true(json_equal(back, j));
    json_decref(back);
    sb_free(&text);
    free(dumped);
    json_decref(j);
}

static void rows_read_the_same_as_text_and_json(void **state)
{
    service *svc = *state;
    coll_table *t = svc->resources;
    assert_true(t->n > 0);
    for (int i = 0; i < t->n; i++) {
        const coll_rt *rt = &t->items[i];
        for (int null = 0; null < 2; null++) {
            PGresult *r = one_row(6 + rt->ndata);
            set(r, 0, "SS-01M97STXC654QWXDZQS4EE5PX3F");
            set(r, 1, "operational");
            set(r, 2, "3");
            set(r, 3, "2026-11-27 02:50:00.123+00");
            set(r, 4, "2026-11-28 10:00:00+00");
            set(r, 5, "production");
            set_fields(r, rt->def->fields, 6, null);
            text_is_the_json(&rt->shape, r, rt->type->collection);
            json_t *j = row_json(&rt->shape, r, 0);
            assert_int_equal(json_integer_value(json_object_get(j, "version")), 3);
            assert_string_equal(json_string_value(json_object_get(j, "created_at")),
                                "2026-11-27T02:50:00.123Z");
            json_decref(j);
            PQclear(r);
        }
    }
    rel_table *rt = svc->relations;
    assert_true(rt->n > 0);
    for (int i = 0; i < rt->n; i++) {
        const rel_rt *rel = &rt->items[i];
        for (int null = 0; null < 2; null++) {
            PGresult *r = one_row(ATTR_COL + fields_ncols(rel->attrs));
            set(r, 0, "17");
            set(r, 1, "LN-01M97STXC654QWXDZQS4EE5PX3F");
            set(r, 2, "TR-01M97STXC654QWXDZQS4EE5PX3F");
            set(r, 3, "design");
            set(r, 4, "2026-11-27 02:50:00+00");
            set(r, 5, null ? NULL : "2026-11-29 02:50:00+00"); /* valid_to: current or ended */
            set(r, 6, "production");
            set_fields(r, rel->attrs, ATTR_COL, null);
            text_is_the_json(&rel->shape, r, rel->def->kind);
            json_t *j = row_json(&rel->shape, r, 0);
            assert_string_equal(json_string_value(json_object_get(j, "kind")), rel->def->kind);
            assert_true(null ? json_is_null(json_object_get(j, "valid_to"))
                             : json_is_string(json_object_get(j, "valid_to")));
            json_decref(j);
            PQclear(r);
        }
    }
}

/* ---- a list's query ----------------------------------------------------------------------- */

/* Pairs from a NULL-terminated array of "key", "value", ... */
static int array_pairs(void *src, int (*fn)(void *ctx, const char *key, const char *value),
                       void *ctx)
{
    for (const char *const *p = src; *p; p += 2)
        if (fn(ctx, p[0], p[1]) != OK) return ERR;
    return OK;
}

/* The query of pairs for the collection of prefix: its WHERE clause
 * (owned), parameters and limit; NULL, with req's answer, when refused. */
static char *where_of(service *svc, request *req, const char *prefix, const char *const *pairs,
                      int *nparams, int *limit)
{
    list_query *q = resource_list_query(svc, req, prefix, array_pairs, (void *)pairs);
    if (!q) return NULL;
    char *where = xstrdup(resource_list_where(q, nparams, limit));
    resource_list_query_free(q);
    return where;
}

static void list_query_reads_pairs(void **state)
{
    service *svc = *state;
    const char *prefix = svc->def->collections[0].prefix;
    const status_set *st = svc->def->collections[0].statuses;
    int n, limit, nlisted = 0;
    for (const char *const *s = st->listed; *s; s++) nlisted++;
    request *req = bare_request("/v1/list");

    /* nothing asked: what lists show, 50 a page */
    const char *const none[] = {NULL};
    char *where = where_of(svc, req, prefix, none, &n, &limit);
    assert_non_null(where);
    assert_int_equal(limit, 50);
    assert_int_equal(n, nlisted);
    assert_non_null(strstr(where, "status IN ($1"));
    free(where);

    /* ?status=all lifts it; codes travel as one array; after is a cursor */
    char code[BIZCODE_LEN + 1], other[BIZCODE_LEN + 1];
    bizcode_mint(prefix, code);
    bizcode_mint(prefix, other);
    char *codes = xasprintf("%s,%s", code, other);
    const char *const some[] = {"status", "all", "code", codes, "after", code, "limit", "7", NULL};
    where = where_of(svc, req, prefix, some, &n, &limit);
    assert_non_null(where);
    assert_int_equal(n, 2);
    assert_int_equal(limit, 7);
    assert_string_equal(where, "TRUE AND code = ANY($1::text[]) AND code > $2");
    free(where);
    free(codes);
    assert_int_equal(req->status, 0); /* nothing answered */

    /* refused, each with a 400 */
    char wrong[BIZCODE_LEN + 1];
    bizcode_mint(strcmp(prefix, "CU") == 0 ? "SP" : "CU", wrong);
    const char *const bad[][3] = {
        {"colour", "red", NULL},   {"limit", "1001", NULL}, {"limit", "0", NULL},
        {"status", "gone", NULL}, {"code", wrong, NULL},    {"after", "x", NULL},
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        request *r = bare_request("/v1/list");
        if (where_of(svc, r, prefix, bad[i], &n, &limit))
            fail_msg("%s=%s was taken by a list of %s", bad[i][0], bad[i][1], prefix);
        if (r->status != 400)
            fail_msg("%s=%s answered %d, want 400", bad[i][0], bad[i][1], r->status);
        bare_request_free(r);
    }
    bare_request_free(req);
}

/* A filter on a declared field goes in as a parameter in the column's form. */
static void list_query_filters_declared_fields(void **state)
{
    service *svc = *state;
    int tested = 0;
    for (int i = 0; i < svc->def->ncollections; i++) {
        const collection_def *d = &svc->def->collections[i];
        for (const field_def *f = d->fields; f->name; f++) {
            if (f->type != FT_ENUM) continue;
            const char *const pairs[] = {"status", "all", f->name, f->values[0], NULL};
            request *req = bare_request("/v1/list");
            int n, limit;
            char *where = where_of(svc, req, d->prefix, pairs, &n, &limit);
            char *want = xasprintf("TRUE AND %s = $1", f->name);
            assert_non_null(where);
            assert_string_equal(where, want);
            assert_int_equal(n, 1);
            free(want);
            free(where);
            bare_request_free(req);
            tested++;
            break;
        }
    }
    assert_true(tested > 0);
}

/* ---- a client's object checked -------------------------------------------------------------- */

/* The first collection with a required text field and no required field
 * of another kind, so a valid object can be made from its declaration. */
static const collection_def *simple_collection(service *svc, const field_def **text)
{
    for (int i = 0; i < svc->def->ncollections; i++) {
        const collection_def *d = &svc->def->collections[i];
        const field_def *t = NULL;
        int others = 0;
        for (const field_def *f = d->fields; f->name; f++) {
            if (!(f->flags & FF_REQUIRED) || f->dflt) continue;
            if (f->type == FT_TEXT && !t)
                t = f;
            else
                others++;
        }
        if (t && !others) {
            *text = t;
            return d;
        }
    }
    return NULL;
}

static int has_error_on(const json_t *errors, const char *field)
{
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e) {
        const char *f = json_string_value(json_object_get(e, "field"));
        if (f && strcmp(f, field) == 0) return 1;
    }
    return 0;
}

static void create_and_patch_are_checked(void **state)
{
    service *svc = *state;
    const field_def *name;
    const collection_def *d = simple_collection(svc, &name);
    if (!d) fail_msg("%s declares no collection with only a required text field", svc->name);
    json_t *errors = NULL;

    /* valid; a lower-case code is made canonical */
    char code[BIZCODE_LEN + 1];
    bizcode_mint(d->prefix, code);
    char *lower = xstrdup(code);
    for (char *p = lower + 3; *p; p++) *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    json_t *obj = json_pack("{s:s, s:s}", name->name, "north", "code", lower);
    if (resource_check_create(svc, d->prefix, obj, &errors) != OK)
        fail_msg("%s: a valid object was refused: %s", d->table, json_dumps(errors, 0));
    assert_null(errors);
    assert_string_equal(json_string_value(json_object_get(obj, "code")), code);
    json_decref(obj);
    free(lower);

    /* what a create may not carry, each named */
    obj = json_pack("{s:s, s:i, s:s, s:s}", "colour", "red", "version", 3, "status", "retired",
                    "code", "XX-nonsense");
    assert_int_equal(resource_check_create(svc, d->prefix, obj, &errors), ERR);
    assert_true(has_error_on(errors, "colour"));
    assert_true(has_error_on(errors, "version"));
    assert_true(has_error_on(errors, "status"));
    assert_true(has_error_on(errors, "code"));
    assert_true(has_error_on(errors, name->name)); /* required, absent */
    json_decref(errors);
    json_decref(obj);

    /* a collection this service does not keep */
    obj = json_object();
    const char *theirs = svc->def->id == SVC_GRID ? "CU" : "SS";
    assert_int_equal(resource_check_create(svc, theirs, obj, &errors), ERR);
    assert_int_equal(json_array_size(errors), 1);
    json_decref(errors);
    json_decref(obj);

    /* a patch: merged into the stored object; code and read-only members stay */
    json_t *current = json_pack("{s:s, s:s, s:s, s:i}", "code", code, name->name, "north",
                                "status", d->statuses->initial, "version", 2);
    json_t *patch = json_pack("{s:s}", name->name, "south");
    json_t *merged = resource_check_patch(svc, d->prefix, current, patch, &errors);
    assert_non_null(merged);
    assert_null(errors);
    assert_string_equal(json_string_value(json_object_get(merged, name->name)), "south");
    assert_int_equal(json_integer_value(json_object_get(merged, "version")), 2);
    json_decref(merged);
    json_decref(patch);

    char other[BIZCODE_LEN + 1];
    bizcode_mint(d->prefix, other);
    patch = json_pack("{s:s, s:i, s:n}", "code", other, "version", 9, name->name);
    assert_null(resource_check_patch(svc, d->prefix, current, patch, &errors));
    assert_true(has_error_on(errors, "code"));
    assert_true(has_error_on(errors, "version"));
    assert_true(has_error_on(errors, name->name)); /* nulled, and required */
    json_decref(errors);
    json_decref(patch);
    json_decref(current);
}

#define FOR_BOTH(test)                                                \
    {"grid-svc: " #test, test, build, unbuild, (void *)grid_service()}, \
    {"cust-svc: " #test, test, build, unbuild, (void *)cust_service()}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FOR_BOTH(rows_read_the_same_as_text_and_json),
        FOR_BOTH(list_query_reads_pairs),
        FOR_BOTH(list_query_filters_declared_fields),
        FOR_BOTH(create_and_patch_are_checked),
    };
    return cmocka_run_group_tests_name("resource", tests, NULL, NULL);
}
