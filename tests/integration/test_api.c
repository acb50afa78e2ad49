/* test_api.c -- the resource machinery end to end, on both daemons:
 * create, get, list (filters, limit, cursor pagination, retired objects),
 * merge patch with versions and If-Match, retire, Idempotency-Key, unique
 * and reference fields, and the substation-line relation. */
#include "client.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "model/bizcode.h"

/* One collection per daemon, so each machinery test runs on both. */
typedef struct target {
    const char *label;
    int grid;                 /* 1: grid-svc, 0: cust-svc */
    const char *collection;   /* "substations" */
    const char *prefix;       /* "SS" */
    const char *key;          /* a key allowed to write it */
    const char *app;          /* the app name of that key */
    const char *initial;      /* status on create */
    const char *optional;     /* an optional field set by make_body, cleared by null */
} target;

static const target GRID_T = {"grid-svc substations", 1, "substations", "SS", KEY_PRODUCTION,
                              "pms", "operational", "location"};
static const target CUST_T = {"cust-svc customers", 0, "customers", "CU", KEY_MARKETING,
                              "marketing", "active", "phone"};

static const char *base_of(const target *t)
{
    return t->grid ? grid_url() : cust_url();
}

/* A valid body with this name (and the optional field set). */
static json_t *make_body(const target *t, const char *name)
{
    if (t->grid)
        return json_pack("{s:s, s:f, s:{s:f, s:f}}", "name", name, "voltage_kv", 110.0,
                         "location", "lon", 120.15, "lat", 30.28);
    return json_pack("{s:s, s:s, s:s}", "name", name, "category", "lv_resident", "phone",
                     "0571-87654321");
}

static api_resp *create_t(const target *t, const char *name)
{
    return create_ok(base_of(t), t->collection, t->key, jdump(make_body(t, name)));
}

static char *path_one(const target *t, const char *code)
{
    return strf("/v1/%s/%s", t->collection, code);
}

/* ---- create ------------------------------------------------------------------------ */

static void create_answers_the_object(void **state)
{
    const target *t = *state;
    char *name = strf("create %s", uniq());
    api_resp *r = api_post(base_of(t), strf("/v1/%s", t->collection), t->key,
                           jdump(make_body(t, name)));
    assert_status(r, 201);
    assert_str_contains(r->content_type, "application/json");
    assert_true(json_is_object(r->json));

    const char *code = jstr(r->json, "code");
    assert_non_null(code);
    char canon[BIZCODE_LEN + 1];
    assert_int_equal(bizcode_parse(code, canon, NULL), BIZ_OK);
    assert_string_equal(canon, code); /* answered in canonical form */
    assert_int_equal(strncmp(code, t->prefix, 2), 0);
    assert_int_equal(code[2], '-');

    assert_string_equal(r->location, strf("/v1/%s/%s", t->collection, code));
    assert_string_equal(r->etag, "\"1\"");
    assert_string_equal(jstr(r->json, "name"), name);
    assert_string_equal(jstr(r->json, "status"), t->initial);
    assert_int_equal(jint(r->json, "version"), 1);
    assert_true(is_rfc3339_utc(jstr(r->json, "created_at")));
    assert_true(is_rfc3339_utc(jstr(r->json, "updated_at")));
    assert_string_equal(jstr(r->json, "updated_by"), t->app);
    if (t->grid) {
        assert_true(json_number_value(json_object_get(r->json, "voltage_kv")) == 110.0);
        json_t *loc = json_object_get(r->json, "location");
        assert_true(json_is_object(loc));
        assert_true(json_number_value(json_object_get(loc, "lon")) == 120.15);
        assert_true(json_number_value(json_object_get(loc, "lat")) == 30.28);
    } else {
        assert_string_equal(jstr(r->json, "category"), "lv_resident");
        assert_string_equal(jstr(r->json, "phone"), "0571-87654321");
    }
}

static void create_with_client_code(void **state)
{
    const target *t = *state;
    char *code = mint_code(t->prefix);
    json_t *b = make_body(t, strf("own code %s", uniq()));
    json_object_set_new(b, "code", json_string(code));
    api_resp *r = api_post(base_of(t), strf("/v1/%s", t->collection), t->key, jdump(b));
    assert_status(r, 201);
    assert_string_equal(jstr(r->json, "code"), code);
    assert_string_equal(r->location, path_one(t, code));

    api_resp *g = api_get(base_of(t), path_one(t, code), KEY_DISPATCH);
    assert_status(g, 200);
    assert_string_equal(jstr(g->json, "code"), code);

    /* The same code again is a conflict, not a second object. */
    json_t *b2 = make_body(t, strf("own code again %s", uniq()));
    json_object_set_new(b2, "code", json_string(code));
    api_resp *again = api_post(base_of(t), strf("/v1/%s", t->collection), t->key, jdump(b2));
    assert_problem(again, 409);
    assert_int_equal(count_where(base_of(t), t->collection, strf("code=%s", code)), 1);
}

static void create_with_lowercase_client_code_is_canonical(void **state)
{
    const target *t = *state;
    char *code = mint_code(t->prefix);
    char *lower = it_strdup(code);
    for (char *p = lower; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
    json_t *b = make_body(t, strf("lower code %s", uniq()));
    json_object_set_new(b, "code", json_string(lower));
    api_resp *r = api_post(base_of(t), strf("/v1/%s", t->collection), t->key, jdump(b));
    assert_status(r, 201);
    assert_string_equal(jstr(r->json, "code"), code);
    /* and the object is found by either spelling */
    assert_status(api_get(base_of(t), path_one(t, lower), KEY_DISPATCH), 200);
}

/* ---- get ------------------------------------------------------------------------------ */

static void get_answers_object_and_etag(void **state)
{
    const target *t = *state;
    api_resp *c = create_t(t, strf("get %s", uniq()));
    const char *code = jstr(c->json, "code");
    api_resp *g = api_get(base_of(t), path_one(t, code), KEY_DISPATCH);
    assert_status(g, 200);
    assert_string_equal(g->etag, "\"1\"");
    assert_str_contains(g->content_type, "application/json");
    assert_true(json_equal(g->json, c->json));
}

/* ---- list ------------------------------------------------------------------------------ */

static void list_filters_lines(void **state)
{
    /* A voltage no other test uses, so the filters see only these lines. */
    double kv = 1 + (double)(rand() % 900000) / 1000.0;
    char *a = create_line(KEY_PRODUCTION, strf("pub A %s", uniq()), "public", kv);
    char *b = create_line(KEY_PRODUCTION, strf("pub B %s", uniq()), "public", kv);
    char *d = create_line(KEY_MARKETING, strf("ded %s", uniq()), "dedicated", kv);
    const char *g = grid_url();

    api_resp *all = api_get(g, strf("/v1/lines?voltage_kv=%.17g", kv), KEY_DISPATCH);
    assert_int_equal(json_array_size(list_items(all)), 3);
    assert_true(list_has_code(all, a) && list_has_code(all, b) && list_has_code(all, d));

    api_resp *ded = api_get(g, strf("/v1/lines?voltage_kv=%.17g&kind=dedicated", kv), KEY_DISPATCH);
    json_t *items = list_items(ded);
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(jstr(json_array_get(items, 0), "code"), d);

    /* ?kind=dedicated alone: every item is dedicated, ours among them. */
    api_resp *kind = api_get(g, "/v1/lines?kind=dedicated&limit=1000", KEY_DISPATCH);
    size_t i;
    json_t *it;
    json_array_foreach(list_items(kind), i, it) assert_string_equal(jstr(it, "kind"), "dedicated");
    assert_false(list_has_code(kind, a));

    /* ?code=A,B answers exactly those. */
    api_resp *codes = api_get(g, strf("/v1/lines?code=%s,%s", a, d), KEY_DISPATCH);
    assert_int_equal(json_array_size(list_items(codes)), 2);
    assert_true(list_has_code(codes, a) && list_has_code(codes, d));

    /* ?voltage_kv=10 with a code: the value filter applies. */
    char *ten = create_line(KEY_PRODUCTION, strf("10kV %s", uniq()), "public", 10);
    api_resp *t10 = api_get(g, strf("/v1/lines?voltage_kv=10&code=%s", ten), KEY_DISPATCH);
    assert_int_equal(json_array_size(list_items(t10)), 1);
    api_resp *t35 = api_get(g, strf("/v1/lines?voltage_kv=35&code=%s", ten), KEY_DISPATCH);
    assert_int_equal(json_array_size(list_items(t35)), 0);
    api_resp *all10 = api_get(g, "/v1/lines?voltage_kv=10&limit=1000", KEY_DISPATCH);
    json_array_foreach(list_items(all10), i, it)
        assert_true(json_number_value(json_object_get(it, "voltage_kv")) == 10.0);
}

static void list_filters_by_name(void **state)
{
    const target *t = *state;
    char *name = strf("by name %s", uniq());
    api_resp *c = create_t(t, name);
    create_t(t, strf("other %s", uniq()));
    api_resp *l = api_get(base_of(t), strf("/v1/%s?name=%s", t->collection, urlenc(name)),
                          KEY_DISPATCH);
    json_t *items = list_items(l);
    assert_int_equal(json_array_size(items), 1);
    assert_true(json_equal(json_array_get(items, 0), c->json));
    assert_true(json_is_null(json_object_get(l->json, "next")));
}

static void list_limit_and_next(void **state)
{
    const target *t = *state;
    char *name = strf("limit %s", uniq());
    for (int i = 0; i < 3; i++) create_t(t, name);
    const char *base = base_of(t);
    api_resp *two = api_get(base, strf("/v1/%s?name=%s&limit=2", t->collection, urlenc(name)),
                            KEY_DISPATCH);
    assert_int_equal(json_array_size(list_items(two)), 2);
    assert_true(json_is_string(json_object_get(two->json, "next")));
    api_resp *three = api_get(base, strf("/v1/%s?name=%s&limit=3", t->collection, urlenc(name)),
                              KEY_DISPATCH);
    assert_int_equal(json_array_size(list_items(three)), 3);
    assert_true(json_is_null(json_object_get(three->json, "next")));
}

static int seen_index(char **seen, size_t n, const char *code)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(seen[i], code) == 0) return (int)i;
    return -1;
}

static void pagination_walks_every_row_once(void **state)
{
    const target *t = *state;
    const char *base = base_of(t);
    char *name = strf("pages %s", uniq());
    char *created[32];
    size_t ncreated = 0;
    for (int i = 0; i < 7; i++)
        created[ncreated++] = it_strdup(jstr(create_t(t, name)->json, "code"));

    char *seen[64];
    size_t nseen = 0;
    const char *after = NULL;
    int pages = 0;
    for (;;) {
        char *path = after ? strf("/v1/%s?name=%s&limit=3&after=%s", t->collection, urlenc(name), after)
                           : strf("/v1/%s?name=%s&limit=3", t->collection, urlenc(name));
        api_resp *p = api_get(base, path, KEY_DISPATCH);
        json_t *items = list_items(p);
        assert_true(json_array_size(items) <= 3);
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it) {
            const char *code = jstr(it, "code");
            assert_non_null(code);
            if (seen_index(seen, nseen, code) >= 0) fail_msg("%s seen twice while paging", code);
            if (nseen > 0 && strcmp(seen[nseen - 1], code) >= 0)
                fail_msg("pages are not in code order: %s after %s", code, seen[nseen - 1]);
            assert_true(nseen < 64);
            seen[nseen++] = it_strdup(code);
        }
        pages++;
        /* New rows arrive between pages; their codes sort after every cursor. */
        if (pages <= 2)
            for (int k = 0; k < 2; k++)
                created[ncreated++] = it_strdup(jstr(create_t(t, name)->json, "code"));
        json_t *next = json_object_get(p->json, "next");
        if (json_is_null(next)) break;
        assert_true(json_is_string(next));
        after = it_strdup(json_string_value(next));
        assert_true(pages < 20);
    }
    assert_int_equal(ncreated, 11);
    assert_int_equal(nseen, ncreated);
    for (size_t i = 0; i < ncreated; i++)
        if (seen_index(seen, nseen, created[i]) < 0) fail_msg("%s was never listed", created[i]);
}

static void list_hides_retired_unless_asked(void **state)
{
    const target *t = *state;
    const char *base = base_of(t);
    char *name = strf("retired list %s", uniq());
    char *live = it_strdup(jstr(create_t(t, name)->json, "code"));
    char *gone = it_strdup(jstr(create_t(t, name)->json, "code"));
    assert_status(api_delete(base, path_one(t, gone), t->key), 200);
    char *q = urlenc(name);

    api_resp *dflt = api_get(base, strf("/v1/%s?name=%s", t->collection, q), KEY_DISPATCH);
    assert_int_equal(json_array_size(list_items(dflt)), 1);
    assert_true(list_has_code(dflt, live));

    api_resp *ret = api_get(base, strf("/v1/%s?name=%s&status=retired", t->collection, q),
                            KEY_DISPATCH);
    assert_int_equal(json_array_size(list_items(ret)), 1);
    assert_true(list_has_code(ret, gone));
    assert_string_equal(jstr(json_array_get(list_items(ret), 0), "status"), "retired");

    api_resp *all = api_get(base, strf("/v1/%s?name=%s&status=all", t->collection, q), KEY_DISPATCH);
    assert_int_equal(json_array_size(list_items(all)), 2);
    assert_true(list_has_code(all, live) && list_has_code(all, gone));
}

/* ---- patch ------------------------------------------------------------------------------ */

static void patch_merges_and_counts_versions(void **state)
{
    const target *t = *state;
    const char *base = base_of(t);
    api_resp *c = create_t(t, strf("patch %s", uniq()));
    const char *code = jstr(c->json, "code");
    char *url = strf("%s%s", base, path_one(t, code));

    char *n2 = strf("patched by merge-patch %s", uniq());
    api_opts mp = {.key = t->key, .content_type = "application/merge-patch+json"};
    char *body = jdump(json_pack("{s:s}", "name", n2));
    api_resp *p1 = api_call("PATCH", url, &mp, body, strlen(body));
    assert_status(p1, 200);
    assert_string_equal(jstr(p1->json, "name"), n2);
    assert_int_equal(jint(p1->json, "version"), 2);
    assert_string_equal(p1->etag, "\"2\"");
    assert_string_equal(jstr(p1->json, "code"), code);
    assert_string_equal(jstr(p1->json, "created_at"), jstr(c->json, "created_at"));
    assert_true(is_rfc3339_utc(jstr(p1->json, "updated_at")));
    assert_true(rfc3339_seconds(jstr(p1->json, "updated_at")) >=
                rfc3339_seconds(jstr(c->json, "updated_at")));
    /* members the patch does not name stay as they were */
    assert_true(json_equal(json_object_get(p1->json, t->optional),
                           json_object_get(c->json, t->optional)));

    char *n3 = strf("patched by json %s", uniq());
    api_resp *p2 = api_patch(base, path_one(t, code), t->key, jdump(json_pack("{s:s}", "name", n3)));
    assert_status(p2, 200);
    assert_string_equal(jstr(p2->json, "name"), n3);
    assert_int_equal(jint(p2->json, "version"), 3);

    api_resp *g = api_get(base, path_one(t, code), KEY_DISPATCH);
    assert_status(g, 200);
    assert_string_equal(g->etag, "\"3\"");
    assert_true(json_equal(g->json, p2->json));
}

static void patch_null_clears_optional_field(void **state)
{
    const target *t = *state;
    const char *base = base_of(t);
    api_resp *c = create_t(t, strf("clear %s", uniq()));
    const char *code = jstr(c->json, "code");
    assert_false(json_is_null(json_object_get(c->json, t->optional)));
    json_t *patch = json_object();
    json_object_set_new(patch, t->optional, json_null());
    api_resp *p = api_patch(base, path_one(t, code), t->key, jdump(patch));
    assert_status(p, 200);
    assert_int_equal(jint(p->json, "version"), 2);
    json_t *v = json_object_get(p->json, t->optional);
    assert_true(v == NULL || json_is_null(v));
    api_resp *g = api_get(base, path_one(t, code), KEY_DISPATCH);
    v = json_object_get(g->json, t->optional);
    assert_true(v == NULL || json_is_null(v));
    assert_string_equal(jstr(g->json, "name"), jstr(c->json, "name"));
}

static void patch_if_match(void **state)
{
    const target *t = *state;
    const char *base = base_of(t);
    const char *code = jstr(create_t(t, strf("if-match %s", uniq()))->json, "code");
    char *url = strf("%s%s", base, path_one(t, code));

    char *b1 = jdump(json_pack("{s:s}", "name", strf("v2 %s", uniq())));
    api_opts cur = {.key = t->key, .if_match = "\"1\""};
    api_resp *ok = api_call("PATCH", url, &cur, b1, strlen(b1));
    assert_status(ok, 200);
    assert_int_equal(jint(ok->json, "version"), 2);

    char *b2 = jdump(json_pack("{s:s}", "name", strf("stale %s", uniq())));
    api_opts stale = {.key = t->key, .if_match = "\"1\""};
    api_resp *st = api_call("PATCH", url, &stale, b2, strlen(b2));
    assert_problem(st, 412);

    api_resp *g = api_get(base, path_one(t, code), KEY_DISPATCH);
    assert_int_equal(jint(g->json, "version"), 2);
    assert_string_equal(jstr(g->json, "name"), jstr(ok->json, "name"));
}

static void patch_retired_is_conflict(void **state)
{
    const target *t = *state;
    const char *base = base_of(t);
    const char *code = jstr(create_t(t, strf("patch retired %s", uniq()))->json, "code");
    assert_status(api_delete(base, path_one(t, code), t->key), 200);
    api_resp *p = api_patch(base, path_one(t, code), t->key,
                            jdump(json_pack("{s:s}", "name", "too late")));
    assert_problem(p, 409);
    api_resp *g = api_get(base, path_one(t, code), KEY_DISPATCH);
    assert_string_equal(jstr(g->json, "status"), "retired");
    assert_int_equal(jint(g->json, "version"), 2);
}

static void empty_patch_changes_nothing(void **state)
{
    const target *t = *state;
    api_resp *c = create_t(t, strf("no-op %s", uniq()));
    const char *path = path_one(t, jstr(c->json, "code"));
    api_resp *p = api_patch(base_of(t), path, t->key, "{}");
    assert_status(p, 200);
    assert_true(json_equal(p->json, c->json));
    /* the same values again are no change either */
    api_resp *same = api_patch(base_of(t), path, t->key,
                               jdump(json_pack("{s:s}", "name", jstr(c->json, "name"))));
    assert_status(same, 200);
    assert_int_equal(jint(same->json, "version"), 1);
    assert_string_equal(same->etag, "\"1\"");
    assert_int_equal(version_of(base_of(t), t->collection, jstr(c->json, "code")), 1);
}

static void if_none_match_answers_not_modified(void **state)
{
    const target *t = *state;
    api_resp *c = create_t(t, strf("conditional get %s", uniq()));
    char *url = strf("%s%s", base_of(t), path_one(t, jstr(c->json, "code")));
    const char *hdr[] = {"If-None-Match: \"1\"", NULL};
    api_opts o = {.key = KEY_DISPATCH, .headers = hdr};
    api_resp *r = api_call("GET", url, &o, NULL, 0);
    assert_status(r, 304);
    assert_string_equal(r->etag, "\"1\"");
    assert_int_equal(r->len, 0);
    const char *old[] = {"If-None-Match: \"0\"", NULL};
    api_opts o2 = {.key = KEY_DISPATCH, .headers = old};
    assert_status(api_call("GET", url, &o2, NULL, 0), 200);
}

static void design_objects_are_listed_only_when_asked(void **state)
{
    /* A grid object drawn in red (design) is not yet part of the operational grid. */
    char *name = strf("red drawing %s", uniq());
    api_resp *d = create_ok(grid_url(), "substations", KEY_PRODUCTION,
                            jdump(json_pack("{s:s, s:f, s:s}", "name", name, "voltage_kv", 110.0,
                                            "status", "design")));
    assert_string_equal(jstr(d->json, "status"), "design");
    const char *code = jstr(d->json, "code");
    char *q = urlenc(name);
    assert_int_equal(count_where(grid_url(), "substations", strf("name=%s", q)), 0);
    assert_int_equal(count_where(grid_url(), "substations", strf("name=%s&status=design", q)), 1);
    assert_int_equal(count_where(grid_url(), "substations", strf("name=%s&status=design,operational", q)), 1);
    /* publishing it (design -> operational) makes it listed */
    api_resp *p = api_patch(grid_url(), strf("/v1/substations/%s", code), KEY_PRODUCTION,
                            "{\"status\": \"operational\"}");
    assert_status(p, 200);
    assert_string_equal(jstr(p->json, "status"), "operational");
    assert_int_equal(count_where(grid_url(), "substations", strf("name=%s", q)), 1);

    /* customer side: pending objects are listed by default, retired ones not */
    char *cname = strf("pending %s", uniq());
    api_resp *c = create_ok(cust_url(), "customers", KEY_MARKETING,
                            jdump(json_pack("{s:s, s:s, s:s}", "name", cname, "category", "hv",
                                            "status", "pending")));
    assert_string_equal(jstr(c->json, "status"), "pending");
    assert_int_equal(count_where(cust_url(), "customers", strf("name=%s", urlenc(cname))), 1);
}

/* ---- delete ------------------------------------------------------------------------------ */

static void delete_retires_and_keeps(void **state)
{
    const target *t = *state;
    const char *base = base_of(t);
    api_resp *c = create_t(t, strf("delete %s", uniq()));
    const char *code = jstr(c->json, "code");
    api_resp *d = api_delete(base, path_one(t, code), t->key);
    assert_status(d, 200);
    assert_string_equal(jstr(d->json, "status"), "retired");
    assert_int_equal(jint(d->json, "version"), 2);
    assert_string_equal(jstr(d->json, "code"), code);

    api_resp *g = api_get(base, path_one(t, code), KEY_DISPATCH);
    assert_status(g, 200);
    assert_string_equal(jstr(g->json, "status"), "retired");
    assert_string_equal(jstr(g->json, "name"), jstr(c->json, "name"));
    assert_string_equal(g->etag, "\"2\"");
}

/* ---- idempotency ------------------------------------------------------------------------------ */

static void idempotency_key_replays(void **state)
{
    const target *t = *state;
    const char *base = base_of(t);
    char *name = strf("idem %s", uniq());
    char *key = strf("itest-%s", uniq());
    char *url = strf("%s/v1/%s", base, t->collection);
    char *body = jdump(make_body(t, name));
    api_opts o = {.key = t->key, .idempotency_key = key};

    api_resp *first = api_call("POST", url, &o, body, strlen(body));
    assert_status(first, 201);
    api_resp *again = api_call("POST", url, &o, body, strlen(body));
    assert_status(again, 201);
    assert_true(json_equal(again->json, first->json));
    assert_string_equal(jstr(again->json, "code"), jstr(first->json, "code"));
    assert_string_equal(again->location, first->location);

    assert_int_equal(count_where(base, t->collection, strf("name=%s", urlenc(name))), 1);

    char *other_name = strf("idem other %s", uniq());
    char *other = jdump(make_body(t, other_name));
    api_resp *diff = api_call("POST", url, &o, other, strlen(other));
    assert_problem(diff, 422);
    assert_int_equal(count_where(base, t->collection, strf("name=%s", urlenc(name))), 1);
    assert_int_equal(count_where(base, t->collection, strf("name=%s", urlenc(other_name))), 0);
}

static void idempotent_replay_keeps_the_headers(void **state)
{
    const target *t = *state;
    char *url = strf("%s/v1/%s", base_of(t), t->collection);
    char *body = jdump(make_body(t, strf("idem headers %s", uniq())));
    api_opts o = {.key = t->key, .idempotency_key = strf("itest-h-%s", uniq())};
    api_resp *first = api_call("POST", url, &o, body, strlen(body));
    assert_status(first, 201);
    api_resp *again = api_call("POST", url, &o, body, strlen(body));
    assert_status(again, 201);
    assert_string_equal(again->body, first->body);
    assert_string_equal(again->location, first->location);
    assert_str_contains(again->content_type, "application/json");
    if (strcmp(again->etag, first->etag) != 0)
        fail_msg("the replayed answer has ETag '%s', the first answer had '%s'", again->etag,
                 first->etag);
}

/* ---- at the same moment ---------------------------------------------------------------------- */

#define NPAR 8

static void concurrent_idempotent_creates(void **state)
{
    const target *t = *state;
    char *name = strf("idem race %s", uniq());
    char *body = jdump(make_body(t, name));
    char *url = strf("%s/v1/%s", base_of(t), t->collection);
    char *key = strf("itest-race-%s", uniq());
    api_job jobs[NPAR];
    for (int i = 0; i < NPAR; i++)
        jobs[i] = (api_job){"POST", url, body, {.key = t->key, .idempotency_key = key}, NULL};
    api_parallel(jobs, NPAR);
    for (int i = 0; i < NPAR; i++) {
        assert_status(jobs[i].resp, 201);
        assert_string_equal(jstr(jobs[i].resp->json, "code"), jstr(jobs[0].resp->json, "code"));
    }
    assert_int_equal(count_where(base_of(t), t->collection, strf("name=%s", urlenc(name))), 1);
}

static void concurrent_if_match_patches(void **state)
{
    const target *t = *state;
    const char *code = jstr(create_t(t, strf("race %s", uniq()))->json, "code");
    char *url = strf("%s%s", base_of(t), path_one(t, code));
    api_job jobs[NPAR];
    for (int i = 0; i < NPAR; i++)
        jobs[i] = (api_job){"PATCH", url, jdump(json_pack("{s:s}", "name", strf("winner %d", i))),
                            {.key = t->key, .if_match = "\"1\""}, NULL};
    api_parallel(jobs, NPAR);
    int won = -1;
    for (int i = 0; i < NPAR; i++) {
        if (jobs[i].resp->status == 200) {
            if (won >= 0) fail_msg("two PATCHes with If-Match \"1\" both succeeded");
            won = i;
        } else {
            assert_problem(jobs[i].resp, 412);
        }
    }
    assert_true(won >= 0);
    api_resp *g = api_get(base_of(t), path_one(t, code), KEY_DISPATCH);
    assert_int_equal(jint(g->json, "version"), 2);
    assert_string_equal(jstr(g->json, "name"), strf("winner %d", won));
}

static void concurrent_unique_account_no(void **state)
{
    char *acct = strf("RACE%s", uniq());
    char *url = strf("%s/v1/customers", cust_url());
    api_job jobs[NPAR];
    for (int i = 0; i < NPAR; i++)
        jobs[i] = (api_job){"POST", url,
                            jdump(json_pack("{s:s, s:s, s:s}", "name", strf("race %d %s", i, acct),
                                            "category", "hv", "account_no", acct)),
                            {.key = KEY_MARKETING}, NULL};
    api_parallel(jobs, NPAR);
    int created = 0;
    for (int i = 0; i < NPAR; i++) {
        if (jobs[i].resp->status == 201)
            created++;
        else
            assert_problem(jobs[i].resp, 409);
    }
    assert_int_equal(created, 1);
    assert_int_equal(count_where(cust_url(), "customers", strf("account_no=%s", acct)), 1);
}

static void concurrent_relation_creates(void **state)
{
    char *ss = create_substation(strf("race rel %s", uniq()));
    char *ln = create_line(KEY_PRODUCTION, strf("race rel %s", uniq()), "public", 10);
    char *url = strf("%s/v1/relations/substation-line", grid_url());
    char *body = jdump(json_pack("{s:s, s:s}", "from", ss, "to", ln));
    api_job jobs[NPAR];
    for (int i = 0; i < NPAR; i++) jobs[i] = (api_job){"POST", url, body, {.key = KEY_PRODUCTION}, NULL};
    api_parallel(jobs, NPAR);
    int created = 0;
    for (int i = 0; i < NPAR; i++) {
        if (jobs[i].resp->status == 201)
            created++;
        else
            assert_problem(jobs[i].resp, 409);
    }
    assert_int_equal(created, 1);
    api_resp *l = api_get(grid_url(), strf("/v1/relations/substation-line?from=%s", ss), KEY_DISPATCH);
    assert_int_equal(json_array_size(list_items(l)), 1);
}

/* ---- switches (DESIGN §9): the collection as declared ---------------------------------- */

static void switch_created_read_listed(void **state)
{
    api_resp *room = create_ok(grid_url(), "station-rooms", KEY_PRODUCTION,
                               jdump(json_pack("{s:s, s:s}", "name", strf("sw room %s", uniq()),
                                               "kind", "switching_station")));
    const char *sr = jstr(room->json, "code");
    char *name = strf("QF1 %s", uniq());
    char *body = jdump(json_pack("{s:s, s:s, s:b, s:s}", "name", name, "kind", "load_switch",
                                 "normal_open", 1, "station_room", sr));
    api_resp *c = create_ok(grid_url(), "switches", KEY_PRODUCTION, body);
    const char *code = jstr(c->json, "code");
    assert_int_equal(strncmp(code, "SW-", 3), 0);
    assert_string_equal(jstr(c->json, "kind"), "load_switch");
    assert_string_equal(jstr(c->json, "station_room"), sr);
    assert_true(json_is_true(json_object_get(c->json, "normal_open")));
    /* its position now starts as its normal one */
    assert_true(json_is_true(json_object_get(c->json, "current_open")));

    api_resp *g = api_get(grid_url(), strf("/v1/switches/%s", code), KEY_DISPATCH);
    assert_status(g, 200);
    assert_true(json_equal(g->json, c->json));
    api_resp *l = api_get(grid_url(), strf("/v1/switches?name=%s", urlenc(name)), KEY_DISPATCH);
    json_t *items = list_items(l);
    assert_int_equal(json_array_size(items), 1);
    assert_true(json_equal(json_array_get(items, 0), c->json));
    /* and from the other platform, which asks its owner */
    api_resp *x = api_get(cust_url(), strf("/v1/switches/%s", code), KEY_DISPATCH);
    assert_status(x, 200);
    assert_string_equal(jstr(x->json, "code"), code);

    /* declared after the publication's migration, published all the same */
    PGconn *db = pg_admin(db_name_of("GRID_DATABASE_URL"));
    PGresult *pub = pg_ok(db, "SELECT 1 FROM pg_publication_tables"
                              " WHERE pubname = 'grid_datahub' AND tablename = 'switches'");
    assert_int_equal(PQntuples(pub), 1);

    /* production maintains switches; nobody sets the position now by a write */
    assert_problem(api_post(grid_url(), "/v1/switches", KEY_MARKETING, body), 403);
    assert_problem(api_post(grid_url(), "/v1/switches", KEY_PRODUCTION,
                            jdump(json_pack("{s:s, s:b, s:b}", "kind", "fuse", "normal_open", 0,
                                            "current_open", 1))),
                   400);
}

/* ---- customers, addresses ---------------------------------------------------------------- */

static void customer_with_address(void **state)
{
    char *ad = create_address();
    assert_int_equal(strncmp(ad, "AD-", 3), 0);
    api_resp *a = api_get(cust_url(), strf("/v1/addresses/%s", ad), KEY_DISPATCH);
    assert_status(a, 200);
    assert_string_equal(jstr(a->json, "province"), "浙江省");
    assert_string_equal(jstr(a->json, "updated_by"), "marketing");
    assert_string_equal(jstr(a->json, "status"), "active");

    char *cu = create_customer(strf("with address %s", uniq()), ad);
    api_resp *g = api_get(cust_url(), strf("/v1/customers/%s", cu), KEY_DISPATCH);
    assert_status(g, 200);
    assert_string_equal(jstr(g->json, "address"), ad);
    assert_int_equal(count_where(cust_url(), "customers", strf("address=%s", ad)), 1);
}

static void unique_account_no(void **state)
{
    char *acct = strf("HH%s", uniq());
    char *n1 = strf("acct one %s", uniq()), *n2 = strf("acct two %s", uniq());
    create_ok(cust_url(), "customers", KEY_MARKETING,
              jdump(json_pack("{s:s, s:s, s:s}", "name", n1, "category", "hv", "account_no", acct)));
    api_resp *dup = api_post(
        cust_url(), "/v1/customers", KEY_MARKETING,
        jdump(json_pack("{s:s, s:s, s:s}", "name", n2, "category", "hv", "account_no", acct)));
    assert_problem(dup, 409);
    if (!problem_names_field(dup, "account_no")) assert_str_contains(jstr(dup->json, "detail"), "account_no");
    assert_int_equal(count_where(cust_url(), "customers", strf("account_no=%s", acct)), 1);
    assert_int_equal(count_where(cust_url(), "customers", strf("name=%s", urlenc(n2))), 0);
}

static void unknown_address_is_unprocessable(void **state)
{
    char *name = strf("ghost address %s", uniq());
    api_resp *r = api_post(cust_url(), "/v1/customers", KEY_MARKETING,
                           jdump(json_pack("{s:s, s:s, s:s}", "name", name, "category", "hv",
                                           "address", mint_code("AD"))));
    assert_problem_field(r, 422, "address");
    assert_int_equal(count_where(cust_url(), "customers", strf("name=%s", urlenc(name))), 0);
}

/* ---- substation-line relation -------------------------------------------------------------- */

static const char REL[] = "/v1/relations/substation-line";

static json_t *find_link(const api_resp *r, const char *from, const char *to)
{
    size_t i;
    json_t *it;
    json_array_foreach(list_items(r), i, it) {
        if (strcmp(jstr(it, "from") ? jstr(it, "from") : "", from) == 0 &&
            strcmp(jstr(it, "to") ? jstr(it, "to") : "", to) == 0)
            return it;
    }
    return NULL;
}

static void relation_lifecycle(void **state)
{
    const char *g = grid_url();
    char *ss = create_substation(strf("rel SS %s", uniq()));
    char *ln = create_line(KEY_PRODUCTION, strf("rel LN %s", uniq()), "public", 10);

    api_resp *c = api_post(g, REL, KEY_PRODUCTION,
                           jdump(json_pack("{s:s, s:s, s:s}", "from", ss, "to", ln, "role", "tie")));
    assert_status(c, 201);
    assert_string_equal(jstr(c->json, "from"), ss);
    assert_string_equal(jstr(c->json, "to"), ln);
    assert_string_equal(jstr(c->json, "role"), "tie");
    assert_true(is_rfc3339_utc(jstr(c->json, "valid_from")));
    assert_true(json_is_null(json_object_get(c->json, "valid_to")));

    api_resp *byfrom = api_get(g, strf("%s?from=%s", REL, ss), KEY_DISPATCH);
    assert_int_equal(json_array_size(list_items(byfrom)), 1);
    json_t *link = find_link(byfrom, ss, ln);
    assert_non_null(link);
    assert_string_equal(jstr(link, "role"), "tie");
    api_resp *byto = api_get(g, strf("%s?to=%s", REL, ln), KEY_DISPATCH);
    assert_int_equal(json_array_size(list_items(byto)), 1);
    assert_non_null(find_link(byto, ss, ln));

    api_resp *dup = api_post(g, REL, KEY_PRODUCTION,
                             jdump(json_pack("{s:s, s:s, s:s}", "from", ss, "to", ln, "role", "source")));
    assert_problem(dup, 409);
    json_t *existing = json_object_get(dup->json, "existing");
    assert_true(json_is_object(existing));
    assert_string_equal(jstr(existing, "from"), ss);
    assert_string_equal(jstr(existing, "to"), ln);
    assert_int_equal(json_array_size(list_items(api_get(g, strf("%s?from=%s", REL, ss), KEY_DISPATCH))), 1);

    api_resp *end = api_delete(g, strf("%s?from=%s&to=%s", REL, ss, ln), KEY_PRODUCTION);
    assert_status(end, 200);
    assert_true(is_rfc3339_utc(jstr(end->json, "valid_to")));

    api_resp *after = api_get(g, strf("%s?from=%s", REL, ss), KEY_DISPATCH);
    assert_int_equal(json_array_size(list_items(after)), 0);
    assert_int_equal(json_array_size(list_items(api_get(g, strf("%s?to=%s", REL, ln), KEY_DISPATCH))), 0);

    api_resp *again = api_delete(g, strf("%s?from=%s&to=%s", REL, ss, ln), KEY_PRODUCTION);
    assert_problem(again, 404);

    /* An ended link may be made again. */
    api_resp *relink = api_post(g, REL, KEY_PRODUCTION,
                                jdump(json_pack("{s:s, s:s}", "from", ss, "to", ln)));
    assert_status(relink, 201);
    assert_string_equal(jstr(relink->json, "role"), "source"); /* the default */
}

static void relation_with_retired_end(void **state)
{
    const char *g = grid_url();
    char *ss = create_substation(strf("rel retired %s", uniq()));
    char *ln = create_line(KEY_PRODUCTION, strf("rel retired LN %s", uniq()), "public", 10);
    assert_status(api_delete(g, strf("/v1/lines/%s", ln), KEY_PRODUCTION), 200);
    api_resp *r = api_post(g, REL, KEY_PRODUCTION,
                           jdump(json_pack("{s:s, s:s, s:s}", "from", ss, "to", ln, "role", "source")));
    assert_problem(r, 409);
    assert_int_equal(json_array_size(list_items(api_get(g, strf("%s?from=%s", REL, ss), KEY_DISPATCH))), 0);

    char *ss2 = create_substation(strf("rel retired SS %s", uniq()));
    char *ln2 = create_line(KEY_PRODUCTION, strf("rel live LN %s", uniq()), "public", 10);
    assert_status(api_delete(g, strf("/v1/substations/%s", ss2), KEY_PRODUCTION), 200);
    api_resp *r2 = api_post(g, REL, KEY_PRODUCTION,
                            jdump(json_pack("{s:s, s:s}", "from", ss2, "to", ln2)));
    assert_problem(r2, 409);
    assert_int_equal(json_array_size(list_items(api_get(g, strf("%s?to=%s", REL, ln2), KEY_DISPATCH))), 0);
}

static void relation_to_unknown_code(void **state)
{
    const char *g = grid_url();
    char *ss = create_substation(strf("rel unknown %s", uniq()));
    char *ghost = mint_code("LN");
    api_resp *r = api_post(g, REL, KEY_PRODUCTION,
                           jdump(json_pack("{s:s, s:s, s:s}", "from", ss, "to", ghost, "role", "source")));
    assert_problem_field(r, 422, "to");
    assert_int_equal(json_array_size(list_items(api_get(g, strf("%s?from=%s", REL, ss), KEY_DISPATCH))), 0);
}


/* A patch that nulls status keeps the object's status; one that repeats
 * stored values (110 for 110.0) is no change and makes no new version. */
static void patch_keeps_status_and_skips_no_change(void **state)
{
    (void)state;
    api_resp *r = api_post(grid_url(), "/v1/substations", KEY_PRODUCTION,
                           "{\"name\": \"red drawing\", \"voltage_kv\": 110, \"status\": \"design\"}");
    assert_status(r, 201);
    const char *code = it_strdup(jstr(r->json, "code"));
    r = api_patch(grid_url(), strf("/v1/substations/%s", code), KEY_PRODUCTION, "{\"status\": null}");
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "status"), "design");
    assert_int_equal(jint(r->json, "version"), 1);
    r = api_patch(grid_url(), strf("/v1/substations/%s", code), KEY_PRODUCTION,
                  "{\"voltage_kv\": 110, \"name\": \"red drawing\"}");
    assert_status(r, 200);
    assert_int_equal(jint(r->json, "version"), 1);
    r = api_patch(grid_url(), strf("/v1/substations/%s", code), KEY_PRODUCTION, "{\"voltage_kv\": 35}");
    assert_status(r, 200);
    assert_int_equal(jint(r->json, "version"), 2);
}

/* GET /v1/me names the caller as its key does, on either daemon; no key is
 * 401. GET /v1/catalogue is the one table of types and relation kinds with
 * their platform, the same from both daemons but for who answers. */
static void me_and_the_catalogue(void **state)
{
    static const struct {
        const char *key, *app, *role;
    } keys[] = {{KEY_PRODUCTION, "pms", "production"},
                {KEY_MARKETING, "marketing", "marketing"},
                {KEY_DISPATCH, "dispatch", "dispatch"},
                {KEY_NOTIFIER, "notifier", "notifier"}};
    const char *bases[] = {grid_url(), cust_url()}, *names[] = {"grid-svc", "cust-svc"};
    json_t *cat[2];
    for (int b = 0; b < 2; b++) {
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            api_resp *r = api_get(bases[b], "/v1/me", keys[k].key);
            assert_status(r, 200);
            assert_string_equal(jstr(r->json, "app"), keys[k].app);
            assert_string_equal(jstr(r->json, "platform"), names[b]);
            json_t *roles = json_object_get(r->json, "roles");
            assert_int_equal(json_array_size(roles), 1);
            assert_string_equal(json_string_value(json_array_get(roles, 0)), keys[k].role);
            assert_null(strstr(r->body, keys[k].key));
        }
        assert_problem(api_get(bases[b], "/v1/me", NULL), 401);
        assert_problem(api_get(bases[b], "/v1/me", "not-a-key"), 401);
        api_resp *r = api_get(bases[b], "/v1/catalogue", KEY_DISPATCH);
        assert_status(r, 200);
        assert_string_equal(jstr(r->json, "platform"), names[b]);
        assert_string_equal(jstr(r->json, "peer"), names[1 - b]);
        json_t *types = json_object_get(r->json, "types");
        assert_int_equal(json_array_size(types), biz_ntypes);
        for (int i = 0; i < biz_ntypes; i++) {
            json_t *t = json_array_get(types, (size_t)i);
            assert_string_equal(jstr(t, "prefix"), biz_types[i].prefix);
            assert_string_equal(jstr(t, "collection"), biz_types[i].collection);
            assert_string_equal(jstr(t, "platform"), service_name(biz_types[i].owner));
        }
        assert_int_equal(json_array_size(json_object_get(r->json, "relations")), biz_nrelations);
        cat[b] = json_object_get(r->json, "types");
    }
    assert_true(json_equal(cat[0], cat[1]));
    (void)state;
}

int main(void)
{
    it_filter();
    srand((unsigned)(time(NULL) ^ getpid()));
    const struct CMUnitTest tests[] = {
        IT_ON(create_answers_the_object, &GRID_T, "grid"),
        IT_ON(create_answers_the_object, &CUST_T, "cust"),
        IT_ON(create_with_client_code, &GRID_T, "grid"),
        IT_ON(create_with_client_code, &CUST_T, "cust"),
        IT_ON(create_with_lowercase_client_code_is_canonical, &GRID_T, "grid"),
        IT_ON(get_answers_object_and_etag, &GRID_T, "grid"),
        IT_ON(get_answers_object_and_etag, &CUST_T, "cust"),
        IT(list_filters_lines),
        IT_ON(list_filters_by_name, &GRID_T, "grid"),
        IT_ON(list_filters_by_name, &CUST_T, "cust"),
        IT_ON(list_limit_and_next, &GRID_T, "grid"),
        IT_ON(list_limit_and_next, &CUST_T, "cust"),
        IT_ON(pagination_walks_every_row_once, &GRID_T, "grid"),
        IT_ON(pagination_walks_every_row_once, &CUST_T, "cust"),
        IT_ON(list_hides_retired_unless_asked, &GRID_T, "grid"),
        IT_ON(list_hides_retired_unless_asked, &CUST_T, "cust"),
        IT_ON(patch_merges_and_counts_versions, &GRID_T, "grid"),
        IT_ON(patch_merges_and_counts_versions, &CUST_T, "cust"),
        IT_ON(patch_null_clears_optional_field, &GRID_T, "grid"),
        IT_ON(patch_null_clears_optional_field, &CUST_T, "cust"),
        IT_ON(patch_if_match, &GRID_T, "grid"),
        IT_ON(patch_if_match, &CUST_T, "cust"),
        IT_ON(patch_retired_is_conflict, &GRID_T, "grid"),
        IT_ON(patch_retired_is_conflict, &CUST_T, "cust"),
        IT_ON(empty_patch_changes_nothing, &GRID_T, "grid"),
        IT_ON(empty_patch_changes_nothing, &CUST_T, "cust"),
        IT_ON(if_none_match_answers_not_modified, &GRID_T, "grid"),
        IT_ON(if_none_match_answers_not_modified, &CUST_T, "cust"),
        IT(design_objects_are_listed_only_when_asked),
        IT_ON(delete_retires_and_keeps, &GRID_T, "grid"),
        IT_ON(delete_retires_and_keeps, &CUST_T, "cust"),
        IT_ON(idempotency_key_replays, &GRID_T, "grid"),
        IT_ON(idempotency_key_replays, &CUST_T, "cust"),
        IT_ON(idempotent_replay_keeps_the_headers, &GRID_T, "grid"),
        IT_ON(concurrent_idempotent_creates, &GRID_T, "grid"),
        IT_ON(concurrent_idempotent_creates, &CUST_T, "cust"),
        IT_ON(concurrent_if_match_patches, &GRID_T, "grid"),
        IT_ON(concurrent_if_match_patches, &CUST_T, "cust"),
        IT(concurrent_unique_account_no),
        IT(concurrent_relation_creates),
        IT(switch_created_read_listed),
        IT(me_and_the_catalogue),
        IT(customer_with_address),
        IT(unique_account_no),
        IT(unknown_address_is_unprocessable),
        IT(relation_lifecycle),
        IT(relation_with_retired_end),
        IT(relation_to_unknown_code),
        IT(patch_keeps_status_and_skips_no_change),
    };
    return cmocka_run_group_tests_name("api", tests, it_group_setup, it_group_teardown);
}
