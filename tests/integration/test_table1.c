/* test_table1.c -- Table 1 (DESIGN §2, §4, §5), tested from the declarations.
 *
 * Every collection and relation declared in grid-svc/collections.c and
 * cust-svc/collections.c, and every rule of the write policy (the file named
 * by $POLICY_FILE), becomes tests of its own here, named after it: declaring
 * a collection, a relation or a rule is enough to have it tested.
 *
 *   per collection   create (all fields / required only, defaults), get,
 *                    list with a filter on every filterable field (and
 *                    code=A,B, limit/after, statuses), patch with If-Match
 *                    (and 412), retire, unique fields, references (unknown
 *                    -> 422, retired peer object -> 409), bad input (400
 *                    naming the field, nothing stored), explicit null for a
 *                    field with a default, the non-owner (proxied reads,
 *                    421 for writes) and, for references the peer keeps,
 *                    the peer being down (502 with Retry-After, nothing
 *                    stored)
 *   per relation     link, read by either end, cardinality (409 with
 *                    `existing`), end rules, retired / unknown / wrong ends
 *                    for every prefix, link statuses, ending a link and
 *                    reading it back with ?at=, the non-owner, and, for a
 *                    cross-domain end, the peer being down (502 with
 *                    Retry-After, nothing stored)
 *   per policy rule  one allowed and one refused write (403 naming a role)
 *   and              each object type declared once, by its owner; numbers
 *                    read back as stored; dispatch writes nothing; the
 *                    history of one transformer through its life;
 *                    /openapi.json lists every declaration.
 *
 * Objects are generated from the field declarations: a value per type that
 * respects ranges, max_len and enums; references are created first on the
 * platform that owns them (recursively), each write with a key the policy
 * allows. Generated text, numbers and codes are unique to the run, so a
 * filter on them is selective. A failure names the collection, relation or
 * rule, the request and what was expected. */
#include "client.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "model/bizcode.h"
#include "cust.h"
#include "grid.h"

/* ---- the declarations ------------------------------------------------------------- */

typedef struct coll {
    const collection_def *def; /* as a client sees it: see client_view */
    int nserver;               /* fields the platform sets, answered too */
    const biz_type *bt; /* NULL when the prefix is not in the registry */
    service_id owner;   /* the service that declares it */
} coll;

typedef struct rel {
    const relation_def *def;
    service_id owner;
} rel;

#define MAX_DECL 128
static coll colls[MAX_DECL];
static int ncolls;
static rel rels[MAX_DECL];
static int nrels;

/* Collections as a client sees them: the fields the platform sets as work
 * proceeds (FF_SERVER, a work order's step) are answered but never sent, so
 * the generated bodies, patches and filters here leave them out; the work
 * order suite covers them. */
#define MAX_FIELDS 64
static collection_def client_defs[MAX_DECL];
static field_def client_fields[MAX_DECL][MAX_FIELDS];

static void add_collection(const collection_def *d, service_id owner)
{
    int i = ncolls++, n = 0, nserver = 0;
    client_defs[i] = *d;
    for (const field_def *f = d->fields; f->name && n < MAX_FIELDS - 1; f++) {
        if (f->flags & FF_SERVER)
            nserver++;
        else
            client_fields[i][n++] = *f;
    }
    client_defs[i].fields = client_fields[i];
    colls[i] = (coll){&client_defs[i], nserver, biz_type_by_prefix(d->prefix), owner};
}

static void load_declarations(void)
{
    for (int i = 0; i < grid_ncollections && ncolls < MAX_DECL; i++)
        add_collection(&grid_collections[i], SVC_GRID);
    for (int i = 0; i < cust_ncollections && ncolls < MAX_DECL; i++)
        add_collection(&cust_collections[i], SVC_CUST);
    for (int i = 0; i < grid_nrelations && nrels < MAX_DECL; i++)
        rels[nrels++] = (rel){&grid_relations[i], SVC_GRID};
    for (int i = 0; i < cust_nrelations && nrels < MAX_DECL; i++)
        rels[nrels++] = (rel){&cust_relations[i], SVC_CUST};
}

static const coll *coll_by_prefix(const char *prefix)
{
    for (int i = 0; i < ncolls; i++)
        if (strncmp(colls[i].def->prefix, prefix, 2) == 0 && colls[i].bt) return &colls[i];
    fail_msg("prefix %.2s is declared by neither grid-svc nor cust-svc", prefix);
    return NULL;
}

static const coll *coll_by_name(const char *collection)
{
    for (int i = 0; i < ncolls; i++)
        if (colls[i].bt && strcmp(colls[i].bt->collection, collection) == 0) return &colls[i];
    return NULL;
}

static const rel *rel_by_kind(const char *kind)
{
    for (int i = 0; i < nrels; i++)
        if (strcmp(rels[i].def->kind, kind) == 0) return &rels[i];
    return NULL;
}

static const char *base_of(service_id id)
{
    return id == SVC_GRID ? grid_url() : cust_url();
}

static const char *peer_base_of(service_id id)
{
    return id == SVC_GRID ? cust_url() : grid_url();
}

static service_id other_svc(service_id id)
{
    return id == SVC_GRID ? SVC_CUST : SVC_GRID;
}

static service_id owner_of_prefix(const char *prefix)
{
    const biz_type *bt = biz_type_by_prefix(prefix);
    if (!bt) fail_msg("prefix %.2s names no object type", prefix);
    return bt->owner;
}

static int in_list(const char *const *list, const char *s)
{
    for (; list && *list; list++)
        if (strcmp(*list, s) == 0) return 1;
    return 0;
}

/* A registered prefix that is none of list (for "code of the wrong type"). */
static const char *prefix_not_in(const char *const *list)
{
    for (int i = 0; i < biz_ntypes; i++)
        if (!in_list(list, biz_types[i].prefix)) return biz_types[i].prefix;
    fail_msg("every registered prefix is allowed here");
    return NULL;
}

static const char *coll_path(const coll *c)
{
    return strf("/v1/%s", c->bt->collection);
}

static const char *obj_path(const coll *c, const char *code)
{
    return strf("/v1/%s/%s", c->bt->collection, code);
}

static const char *rel_path(const rel *r)
{
    return strf("/v1/relations/%s", r->def->kind);
}

static int nfields(const coll *c)
{
    int n = 0;
    for (const field_def *f = c->def->fields; f->name; f++) n++;
    return n;
}

static int has_flag(const coll *c, unsigned flag)
{
    for (const field_def *f = c->def->fields; f->name; f++)
        if (f->flags & flag) return 1;
    return 0;
}

static int has_type(const coll *c, field_type t)
{
    for (const field_def *f = c->def->fields; f->name; f++)
        if (f->type == t) return 1;
    return 0;
}

static int has_dflt(const coll *c)
{
    for (const field_def *f = c->def->fields; f->name; f++)
        if (f->dflt) return 1;
    return 0;
}

/* Does the collection name codes of objects the peer keeps? */
static int has_peer_refs(const coll *c)
{
    for (const field_def *f = c->def->fields; f->name; f++)
        for (const char *const *p = f->refs; f->type == FT_CODE && p && *p; p++)
            if (owner_of_prefix(*p) != c->owner) return 1;
    return 0;
}

static int rel_has_peer_end(const rel *r)
{
    for (const char *const *p = r->def->from; *p; p++)
        if (owner_of_prefix(*p) != r->owner) return 1;
    for (const char *const *p = r->def->to; *p; p++)
        if (owner_of_prefix(*p) != r->owner) return 1;
    return 0;
}

/* ---- keys and the policy ------------------------------------------------------------ */

typedef struct who {
    const char *role, *key, *app;
} who;

static const who WHO[] = {
    {"production", KEY_PRODUCTION, "pms"},
    {"marketing", KEY_MARKETING, "marketing"},
    {"dispatch", KEY_DISPATCH, "dispatch"},
    {"admin", KEY_ADMIN, "admin"},
};
#define NWHO ((int)(sizeof WHO / sizeof *WHO))

static const who *who_by_role(const char *role)
{
    for (int i = 0; i < NWHO; i++)
        if (strcmp(WHO[i].role, role) == 0) return &WHO[i];
    return NULL;
}

static json_t *policy; /* $POLICY_FILE, loaded by main */

static int json_list_has(const json_t *list, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) return 1;
    }
    return 0;
}

static int is_admin_role(const char *role)
{
    return json_list_has(json_object_get(policy, "admin_roles"), role);
}

static int when_matches(const json_t *when, const json_t *obj)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)when, k, v) {
        if (!json_equal(v, json_object_get(obj, k))) return 0;
    }
    return 1;
}

/* The first rule of target whose `when` obj meets, or NULL. */
static const json_t *rule_for(const char *target, const json_t *obj)
{
    size_t i;
    json_t *rule;
    json_array_foreach(json_object_get(policy, "rules"), i, rule) {
        const char *t = json_string_value(json_object_get(rule, "target"));
        if (t && strcmp(t, target) == 0 && when_matches(json_object_get(rule, "when"), obj))
            return rule;
    }
    return NULL;
}

/* A key whose roles include one of the rule's; NULL if none of ours does. */
static const who *holder_of(const json_t *rule)
{
    size_t i;
    json_t *role;
    json_array_foreach(json_object_get(rule, "roles"), i, role) {
        const who *w = who_by_role(json_string_value(role));
        if (w) return w;
    }
    return NULL;
}

/* Who may write obj in target (a collection or "relations/KIND"): a holder of
 * a role of the matching rule, else an administrator. */
static const who *writer_for(const char *target, const json_t *obj)
{
    const json_t *rule = rule_for(target, obj);
    const who *w = rule ? holder_of(rule) : NULL;
    if (w) return w;
    size_t i;
    json_t *role;
    json_array_foreach(json_object_get(policy, "admin_roles"), i, role) {
        if ((w = who_by_role(json_string_value(role)))) return w;
    }
    fail_msg("no dev key may write %s according to the policy", target);
    return NULL;
}

static const who *rel_writer(const rel *r)
{
    json_t *empty = jkeep(json_object());
    return writer_for(strf("relations/%s", r->def->kind), empty);
}

/* Is target/when named by some policy rule (a field the policy splits on)? */
static int policy_splits_on(const coll *c, const char *field)
{
    size_t i;
    json_t *rule;
    json_array_foreach(json_object_get(policy, "rules"), i, rule) {
        const char *t = json_string_value(json_object_get(rule, "target"));
        if (t && strcmp(t, c->bt->collection) == 0 &&
            json_object_get(json_object_get(rule, "when"), field))
            return 1;
    }
    return 0;
}

/* ---- checks ---------------------------------------------------------------------- */

static char *jtext(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s) fail_msg("json_dumps failed");
    return it_track(s, free);
}

/* r answered want; a 4xx/5xx must be an RFC 9457 problem. what says what was tried. */
static void expect(const api_resp *r, long want, const char *what)
{
    if (r->status != want) {
        api_dump(r);
        fail_msg("%s: %s %s answered %ld, want %ld", what, r->method, r->url, r->status, want);
    }
    if (want >= 400 && !it_is_problem(r, (int)want)) {
        api_dump(r);
        fail_msg("%s: %s %s: the %ld is not an application/problem+json answer with type, title, "
                 "status and detail",
                 what, r->method, r->url, want);
    }
}

/* A problem whose errors[] names field. */
static void expect_field(const api_resp *r, long want, const char *field, const char *what)
{
    expect(r, want, what);
    if (!problem_names_field(r, field)) {
        api_dump(r);
        fail_msg("%s: %s %s: errors[] does not name the field '%s'", what, r->method, r->url, field);
    }
}

/* A 409 whose member `existing` is the link {kind, from, to} in the way. */
static void expect_existing(const api_resp *r, const char *kind, const char *from, const char *to,
                            const char *what)
{
    expect(r, 409, what);
    json_t *e = json_object_get(r->json, "existing");
    const char *k = jstr(e, "kind"), *f = jstr(e, "from"), *t = jstr(e, "to");
    if (!k || !f || !t || strcmp(k, kind) || strcmp(f, from) || strcmp(t, to)) {
        api_dump(r);
        fail_msg("%s: the 409 should name the existing link {kind %s, from %s, to %s}", what, kind,
                 from, to);
    }
}

/* Is want (as sent) the value got (as answered)? Numbers compare as numbers. */
static int same_value(const field_def *f, const json_t *want, const json_t *got)
{
    if (!want || json_is_null(want)) return json_is_null(got);
    switch (f->type) {
    case FT_NUM: return json_is_number(got) && json_number_value(got) == json_number_value(want);
    case FT_LOCATION:
        return json_is_object(got) && json_object_size(got) == 2 &&
               json_is_number(json_object_get(got, "lon")) &&
               json_is_number(json_object_get(got, "lat")) &&
               json_number_value(json_object_get(got, "lon")) ==
                   json_number_value(json_object_get(want, "lon")) &&
               json_number_value(json_object_get(got, "lat")) ==
                   json_number_value(json_object_get(want, "lat"));
    default: return json_equal(want, got);
    }
}

static void check_value(const coll *c, const field_def *f, const json_t *want, const json_t *obj,
                         const char *what)
{
    const json_t *got = json_object_get(obj, f->name);
    if (!got || !same_value(f, want, got))
        fail_msg("%s: %s.%s is %s, want %s", what, c->bt->collection, f->name,
                 got ? jtext(got) : "(absent)", want ? jtext(want) : "null");
}

/* The declared default as the API answers it. */
static json_t *dflt_json(const field_def *f)
{
    switch (f->type) {
    case FT_INT: return jkeep(json_integer(strtoll(f->dflt, NULL, 10)));
    case FT_NUM: return jkeep(json_real(strtod(f->dflt, NULL)));
    case FT_BOOL: return jkeep(json_boolean(strcmp(f->dflt, "true") == 0));
    default: return jkeep(json_string(f->dflt));
    }
}

static const char *const BASE_MEMBERS[] = {"code",       "status",     "version",
                                           "created_at", "updated_at", "updated_by", NULL};

/* Every declared field (null when unset), the base members, nothing else. */
static void expect_shape(const coll *c, const json_t *o, const char *what)
{
    if (!json_is_object(o)) fail_msg("%s: the answer is not a JSON object", what);
    for (const field_def *f = c->def->fields; f->name; f++)
        if (!json_object_get(o, f->name))
            fail_msg("%s: %s has no member '%s' (declared fields are answered, null when unset): %s",
                     what, c->bt->collection, f->name, jtext(o));
    for (const char *const *m = BASE_MEMBERS; *m; m++)
        if (!json_object_get(o, *m)) fail_msg("%s: no member '%s' in %s", what, *m, jtext(o));
    if ((int)json_object_size(o) != nfields(c) + c->nserver + 6)
        fail_msg("%s: %s answers members beyond its declared fields and the base members: %s",
                 what, c->bt->collection, jtext(o));
    const char *code = jstr(o, "code");
    char canon[BIZCODE_LEN + 1];
    if (!code || bizcode_parse(code, canon, NULL) != BIZ_OK || strcmp(canon, code) ||
        strncmp(code, c->def->prefix, 2))
        fail_msg("%s: code %s is not a canonical %s code", what, code ? code : "(none)",
                 c->def->prefix);
    if (!jstr(o, "status") || !in_list(c->def->statuses->values, jstr(o, "status")))
        fail_msg("%s: status %s is not one of %s's", what, jtext(json_object_get(o, "status")),
                 c->bt->collection);
    if (jint(o, "version") < 1) fail_msg("%s: version is not a positive integer", what);
    if (!is_rfc3339_utc(jstr(o, "created_at")) || !is_rfc3339_utc(jstr(o, "updated_at")))
        fail_msg("%s: created_at / updated_at are not RFC 3339 UTC timestamps", what);
    if (!jstr(o, "updated_by")) fail_msg("%s: updated_by is not a string", what);
}

/* ---- generated values and objects -------------------------------------------------------- */

enum { ALL_FIELDS, REQUIRED_ONLY };

static double unit_rand(void)
{
    return (double)rand() / ((double)RAND_MAX + 1.0);
}

static int has_range(const field_def *f)
{
    return f->min < f->max;
}

static int text_max(const field_def *f)
{
    return f->max_len ? f->max_len : 200;
}

/* Text unique to the run within max_len (with some UTF-8 when it fits). */
static char *text_value(const field_def *f)
{
    int max = text_max(f);
    char *s = strf("%s 测试 %s", f->name, uniq());
    if ((int)strlen(s) > max) s = uniq();
    if ((int)strlen(s) > max) s[max] = '\0';
    return s;
}

typedef struct obj {
    const coll *c;
    const char *code;
    const who *by;  /* the key that created it */
    json_t *body;   /* what was sent */
    json_t *answer; /* the 201 answer */
    api_resp *resp;
} obj;

static obj *create_object(const coll *c, int mode, const json_t *overrides);
static obj *make_end(const char *prefix, const end_rule *rule, int violate);

static json_t *gen_value(const field_def *f)
{
    switch (f->type) {
    case FT_TEXT: return json_string(text_value(f));
    case FT_INT: {
        long long lo = has_range(f) ? (long long)ceil(f->min) : 1;
        long long hi = has_range(f) ? (long long)floor(f->max) : 1000000;
        long long v = lo + (long long)(unit_rand() * (double)(hi - lo + 1));
        return json_integer(v > hi ? hi : v);
    }
    case FT_NUM: {
        /* four decimals: at most 13 significant digits in every declared range
         * (full precision is the business of numbers_keep_their_precision) */
        double lo = has_range(f) ? f->min : 0, hi = has_range(f) ? f->max : 100000;
        return json_real(round((lo + (hi - lo) * (0.05 + 0.9 * unit_rand())) * 1e4) / 1e4);
    }
    case FT_BOOL: return json_true();
    case FT_ENUM:
        /* not the default, so that a given value and the default differ */
        for (const char *const *v = f->values; *v; v++)
            if (!f->dflt || strcmp(*v, f->dflt) != 0) return json_string(*v);
        return json_string(f->values[0]);
    case FT_CODE: return json_string(make_end(f->refs[0], f->rule, 0)->code);
    case FT_LOCATION:
        return json_pack("{s:f, s:f}", "lon", round((-179 + 358 * unit_rand()) * 1e6) / 1e6, "lat",
                         round((-89 + 178 * unit_rand()) * 1e6) / 1e6);
    case FT_TIME: return json_string("2030-01-01T08:00:00Z");
    case FT_CODES: return json_pack("[s]", make_end(f->refs[0], f->rule, 0)->code);
    }
    fail_msg("field %s has an unknown type %d", f->name, (int)f->type);
    return NULL;
}

/* A field a declared CHECK may ask for (a billing metering point's
 * customer): the least valid body carries it, as the usual case does. */
static int named_by_check(const collection_def *def, const char *field)
{
    for (const check_def *k = def->checks; k && k->constraint; k++)
        if (strcmp(k->field, field) == 0) return 1;
    return 0;
}

/* A valid body: every field (ALL_FIELDS) or the required ones, overrides first. */
static json_t *gen_body(const coll *c, int mode, const json_t *overrides)
{
    json_t *b = jkeep(json_object());
    for (const field_def *f = c->def->fields; f->name; f++) {
        json_t *o = overrides ? json_object_get(overrides, f->name) : NULL;
        if (o)
            json_object_set(b, f->name, o);
        else if (mode == ALL_FIELDS || (f->flags & FF_REQUIRED) ||
                 named_by_check(c->def, f->name))
            json_object_set_new(b, f->name, gen_value(f));
    }
    return b;
}

static json_t *copy_of(const json_t *v)
{
    return jkeep(json_deep_copy(v));
}

static api_resp *post_as(const coll *c, const char *base, const char *key, const json_t *body)
{
    return api_post(base, coll_path(c), key, jtext(body));
}

static obj *create_with(const coll *c, json_t *body)
{
    obj *o = it_track(calloc(1, sizeof *o), free);
    if (!o) fail_msg("out of memory");
    o->c = c;
    o->body = body;
    o->by = writer_for(c->bt->collection, body);
    api_resp *r = post_as(c, base_of(c->owner), o->by->key, body);
    expect(r, 201, strf("%s: create %s as %s", c->bt->collection, jtext(body), o->by->app));
    o->resp = r;
    o->answer = r->json;
    o->code = jstr(r->json, "code");
    if (!o->code) fail_msg("%s: the 201 answer has no code", c->bt->collection);
    return o;
}

static obj *create_object(const coll *c, int mode, const json_t *overrides)
{
    return create_with(c, gen_body(c, mode, overrides));
}

static api_resp *get_obj(const coll *c, const char *base, const char *code)
{
    return api_get(base, obj_path(c, code), KEY_DISPATCH);
}

static void retire_obj(const obj *o)
{
    api_resp *r = api_delete(base_of(o->c->owner), obj_path(o->c, o->code), o->by->key);
    expect(r, 200, strf("%s: retire %s", o->c->bt->collection, o->code));
}

static api_resp *patch_as(const coll *c, const char *base, const char *code, const char *key,
                          const char *if_match, const json_t *patch)
{
    api_opts opt = {.key = key, .if_match = if_match};
    const char *body = jtext(patch);
    return api_call("PATCH", strf("%s%s", base, obj_path(c, code)), &opt, body, strlen(body));
}

/* The text of a value as a query filter. */
static char *filter_text(const field_def *f, const json_t *v)
{
    switch (f->type) {
    case FT_INT: return strf("%lld", (long long)json_integer_value(v));
    case FT_NUM: return strf("%.17g", json_number_value(v));
    case FT_BOOL: return it_strdup(json_is_true(v) ? "true" : "false");
    default: return it_strdup(json_string_value(v));
    }
}

static char *filter_of(const field_def *f, const json_t *v)
{
    return strf("%s=%s", f->name, urlenc(filter_text(f, v)));
}

/* A text field: its generated values are unique, so it finds one object. */
static const field_def *marker_field(const coll *c)
{
    for (const field_def *f = c->def->fields; f->name; f++)
        if (f->type == FT_TEXT) return f;
    for (const field_def *f = c->def->fields; f->name; f++)
        if (f->type == FT_CODE) return f;
    return NULL;
}

/* How many objects (any status) carry the body's marker value; -1 without one. */
static long count_marked(const coll *c, const json_t *body)
{
    const field_def *m = marker_field(c);
    const json_t *v = m ? json_object_get(body, m->name) : NULL;
    if (!json_is_string(v)) return -1;
    return (long)count_where(base_of(c->owner), c->bt->collection,
                             strf("status=all&%s", filter_of(m, v)));
}

static void expect_nothing_stored(const coll *c, const json_t *body, const char *what)
{
    long n = count_marked(c, body);
    if (n > 0)
        fail_msg("%s: the refused write stored %ld %s object(s) anyway", what, n, c->bt->collection);
}

/* Walks every page of base/v1/collection?query, 1000 at a time. Each item
 * must have f == want (when f); *found tells whether code is among them. */
static size_t walk_list(const coll *c, const char *base, const char *query, const field_def *f,
                        const json_t *want, const char *code, int *found)
{
    size_t n = 0;
    const char *after = NULL;
    *found = 0;
    for (int page = 0; page < 1000; page++) {
        api_resp *r = api_get(base,
                              strf("%s?%s%slimit=1000%s%s", coll_path(c), query, *query ? "&" : "",
                                   after ? "&after=" : "", after ? after : ""),
                              KEY_DISPATCH);
        json_t *items = list_items(r);
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it) {
            n++;
            if (code && jstr(it, "code") && strcmp(jstr(it, "code"), code) == 0) *found = 1;
            if (f && !same_value(f, want, json_object_get(it, f->name)))
                fail_msg("%s?%s: item %s has %s = %s, not the value filtered on (%s)", coll_path(c),
                         query, jstr(it, "code"), f->name, jtext(json_object_get(it, f->name)),
                         jtext(want));
        }
        json_t *next = json_object_get(r->json, "next");
        if (!json_is_string(next)) return n;
        after = it_strdup(json_string_value(next));
    }
    fail_msg("%s?%s: more than 1000 pages", coll_path(c), query);
    return n;
}

/* The field PATCH changes: text first; never one the policy splits on. */
static const field_def *patch_field(const coll *c)
{
    static const field_type order[] = {FT_TEXT, FT_NUM, FT_INT, FT_ENUM, FT_BOOL, FT_LOCATION};
    for (size_t i = 0; i < sizeof order / sizeof *order; i++)
        for (const field_def *f = c->def->fields; f->name; f++) {
            if (f->type != order[i] || policy_splits_on(c, f->name)) continue;
            if (f->type == FT_ENUM && (!f->values[0] || !f->values[1])) continue;
            return f;
        }
    fail_msg("%s declares no field a PATCH can change", c->bt->collection);
    return NULL;
}

/* A valid value of f different from old. */
static json_t *other_value(const field_def *f, const json_t *old)
{
    if (f->type == FT_ENUM) {
        for (const char *const *v = f->values; *v; v++)
            if (!json_is_string(old) || strcmp(*v, json_string_value(old)) != 0)
                return jkeep(json_string(*v));
    }
    if (f->type == FT_BOOL) return jkeep(json_boolean(!json_is_true(old)));
    for (int i = 0; i < 100; i++) {
        json_t *v = jkeep(gen_value(f));
        if (!same_value(f, old, v)) return v;
    }
    fail_msg("cannot find another value for %s", f->name);
    return NULL;
}

/* An object of prefix meeting rule (or, with violate, breaking it). */
static obj *make_end(const char *prefix, const end_rule *rule, int violate)
{
    const coll *c = coll_by_prefix(prefix);
    json_t *ov = NULL;
    if (rule) {
        const char *value = rule->value;
        if (violate) {
            value = NULL;
            for (const field_def *f = c->def->fields; f->name; f++) {
                if (strcmp(f->name, rule->field) != 0 || f->type != FT_ENUM) continue;
                for (const char *const *v = f->values; *v && !value; v++)
                    if (strcmp(*v, rule->value) != 0) value = *v;
            }
            if (!value)
                fail_msg("%s.%s: no enum value other than %s to break the end rule",
                         c->bt->collection, rule->field, rule->value);
        }
        ov = jkeep(json_pack("{s:s}", rule->field, value));
    }
    return create_object(c, REQUIRED_ONLY, ov);
}

/* ---- relations ----------------------------------------------------------------------- */

static api_resp *link_as(const rel *r, const char *base, const char *key, const char *from,
                         const char *to, const json_t *more)
{
    json_t *b = jkeep(json_pack("{s:s, s:s}", "from", from, "to", to));
    if (more) json_object_update(b, (json_t *)more);
    /* a required attribute (a tie's switch) is given unless the test gave it */
    for (const field_def *f = r->def->attrs; f && f->name; f++)
        if ((f->flags & FF_REQUIRED) && !json_object_get(b, f->name))
            json_object_set_new(b, f->name, gen_value(f));
    return api_post(base, rel_path(r), key, jtext(b));
}

static json_t *links_where(const rel *r, const char *base, const char *query)
{
    api_resp *l = api_get(base, strf("%s?%s", rel_path(r), query), KEY_DISPATCH);
    return list_items(l);
}

static void expect_no_link(const rel *r, const char *from, const char *to, const char *what)
{
    json_t *items = links_where(r, base_of(r->owner), strf("status=all&from=%s&to=%s", from, to));
    if (json_array_size(items) != 0)
        fail_msg("%s: a %s link %s -> %s was stored anyway: %s", what, r->def->kind, from, to,
                 jtext(items));
}

static int has_link(const json_t *items, const char *from, const char *to)
{
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        if (jstr(it, "from") && jstr(it, "to") && strcmp(jstr(it, "from"), from) == 0 &&
            strcmp(jstr(it, "to"), to) == 0)
            return 1;
    }
    return 0;
}

static const status_set *link_statuses(const rel *r)
{
    return r->owner == SVC_GRID ? &grid_statuses : &cust_statuses;
}

/* ---- extra daemons -------------------------------------------------------------------- */

static pid_t extra_pid = -1;
static char extra_log[600];

static int stop_extra(void **state)
{
    daemon_kill(extra_pid);
    extra_pid = -1;
    return it_teardown(state);
}

/* Another instance of owner's daemon on its database, whose peer is a closed port. */
static const char *start_without_peer(service_id owner, const char *label)
{
    int port = free_port(), dead = free_port();
    for (int i = 0; i < 20 && dead == port; i++) dead = free_port();
    if (port <= 0 || dead <= 0 || dead == port) fail_msg("no free ports");
    const char *db = it_env(owner == SVC_GRID ? "GRID_DATABASE_URL" : "CUST_DATABASE_URL");
    const char *log_name = strf("table1-nopeer-%s-%d", label, port);
    snprintf(extra_log, sizeof extra_log, "%s/%s.log", it_env("RUN_DIR"), log_name);
    extra_pid = start_daemon(owner == SVC_GRID ? "grid" : "cust", port, db,
                             strf("http://127.0.0.1:%d", dead), log_name);
    if (extra_pid <= 0) fail_msg("an extra %s did not start", service_name(owner));
    return strf("http://127.0.0.1:%d", port);
}

static void stop_extra_expect_zero(void)
{
    int st = daemon_stop(extra_pid, 15);
    extra_pid = -1;
    if (st != 0) fail_msg("the extra daemon did not exit 0 on SIGTERM (status %d)", st);
    /* and, under the sanitizers, it reported nothing */
    FILE *f = fopen(extra_log, "r");
    if (!f) return;
    char line[4096];
    int bad = 0;
    while (!bad && fgets(line, sizeof line, f))
        bad = strstr(line, "runtime error:") || strstr(line, "ERROR: AddressSanitizer") ||
              strstr(line, "ERROR: LeakSanitizer");
    fclose(f);
    if (bad) fail_msg("the extra daemon's log %s holds a sanitizer report: %s", extra_log, line);
}

/* ===== per collection ======================================================================= */

/* create with all fields and with only the required ones; get. */
static void collection_create_get(void **state)
{
    const coll *c = *state;
    const char *name = c->bt->collection;
    const char *base = base_of(c->owner);

    obj *o = create_object(c, ALL_FIELDS, NULL);
    const char *what = strf("%s: create with every field", name);
    const json_t *a = o->answer;
    expect_shape(c, a, what);
    api_resp *g = get_obj(c, base, o->code);
    for (const field_def *f = c->def->fields; f->name; f++)
        check_value(c, f, json_object_get(o->body, f->name), a, what);
    if (strcmp(jstr(a, "status"), c->def->statuses->initial) != 0)
        fail_msg("%s: status %s, want the initial %s", what, jstr(a, "status"),
                 c->def->statuses->initial);
    if (jint(a, "version") != 1) fail_msg("%s: version %lld, want 1", what, jint(a, "version"));
    if (strcmp(jstr(a, "updated_by"), o->by->app) != 0)
        fail_msg("%s: updated_by %s, want %s", what, jstr(a, "updated_by"), o->by->app);
    if (strcmp(jstr(a, "created_at"), jstr(a, "updated_at")) != 0)
        fail_msg("%s: a new object's updated_at differs from its created_at", what);

    api_resp *r = o->resp;
    if (strcmp(r->location, obj_path(c, jstr(r->json, "code"))) != 0)
        fail_msg("%s: Location '%s', want %s", what, r->location, obj_path(c, jstr(r->json, "code")));
    if (strcmp(r->etag, "\"1\"") != 0) fail_msg("%s: ETag '%s', want \"1\"", what, r->etag);

    /* get: the same object, ETag "1" */
    expect(g, 200, strf("%s: get", name));
    if (strcmp(g->etag, "\"1\"") != 0) fail_msg("%s: get: ETag '%s', want \"1\"", name, g->etag);
    if (!json_equal(g->json, a))
        fail_msg("%s: get answers %s, the create answered %s", name, jtext(g->json), jtext(a));

    /* only the required fields (and those a declared CHECK asks for): the
     * rest null, defaults filled in */
    obj *m = create_object(c, REQUIRED_ONLY, NULL);
    what = strf("%s: create with only the required fields %s", name, jtext(m->body));
    expect_shape(c, m->answer, what);
    for (const field_def *f = c->def->fields; f->name; f++) {
        if ((f->flags & FF_REQUIRED) || named_by_check(c->def, f->name))
            check_value(c, f, json_object_get(m->body, f->name), m->answer, what);
        else if (f->dflt)
            check_value(c, f, dflt_json(f), m->answer, strf("%s (declared default)", what));
        else
            check_value(c, f, NULL, m->answer, strf("%s (unset optional field)", what));
    }
    api_resp *gm = get_obj(c, base, m->code);
    expect(gm, 200, strf("%s: get", name));
    if (!json_equal(gm->json, m->answer))
        fail_msg("%s: get answers %s, the create answered %s", name, jtext(gm->json),
                 jtext(m->answer));
}

/* list: a filter on every filterable field finds the object; code=A,B. */
static void collection_list_filters(void **state)
{
    const coll *c = *state;
    const char *name = c->bt->collection;
    const char *base = base_of(c->owner);
    obj *o = create_object(c, ALL_FIELDS, NULL);
    obj *o2 = create_object(c, ALL_FIELDS, NULL);

    char *all = it_strdup("");
    int selective = 0, found;
    for (const field_def *f = c->def->fields; f->name; f++) {
        if (f->type == FT_LOCATION) {
            api_resp *bad = api_get(base, strf("%s?%s=1", coll_path(c), f->name), KEY_DISPATCH);
            expect(bad, 400, strf("%s: a filter on the location field %s", name, f->name));
            continue;
        }
        const json_t *v = json_object_get(o->body, f->name);
        const char *q = filter_of(f, v);
        walk_list(c, base, q, f, v, o->code, &found);
        if (!found) fail_msg("%s?%s does not list %s, which has that value", coll_path(c), q, o->code);
        all = strf("%s%s%s", all, *all ? "&" : "", q);
        selective |= f->type == FT_TEXT || f->type == FT_NUM || f->type == FT_CODE;
    }
    /* every filter at once, and updated_by */
    all = strf("%s%supdated_by=%s", all, *all ? "&" : "", urlenc(o->by->app));
    size_t n = walk_list(c, base, all, NULL, NULL, o->code, &found);
    if (!found) fail_msg("%s?%s does not list %s", coll_path(c), all, o->code);
    if (selective && n != 1)
        fail_msg("%s?%s lists %zu objects; the values are unique to this object", coll_path(c), all,
                 n);

    /* code=A,B answers exactly those */
    api_resp *codes = api_get(base, strf("%s?code=%s,%s", coll_path(c), o->code, o2->code),
                              KEY_DISPATCH);
    json_t *items = list_items(codes);
    if (json_array_size(items) != 2 || !list_has_code(codes, o->code) ||
        !list_has_code(codes, o2->code))
        fail_msg("%s?code=A,B: want exactly A and B, got %s", name, jtext(items));

    /* limit and after walk the two one at a time */
    const char *q2 = strf("status=all&updated_by=%s&code=%s,%s", urlenc(o->by->app), o->code,
                          o2->code);
    api_resp *p1 = api_get(base, strf("%s?%s&limit=1", coll_path(c), q2), KEY_DISPATCH);
    json_t *i1 = list_items(p1);
    const char *next = jstr(p1->json, "next");
    if (json_array_size(i1) != 1 || !next)
        fail_msg("%s?%s&limit=1: want one item and a next cursor, got %s", name, q2, p1->body);
    api_resp *p2 = api_get(base, strf("%s?%s&limit=1&after=%s", coll_path(c), q2, next),
                           KEY_DISPATCH);
    json_t *i2 = list_items(p2);
    if (json_array_size(i2) != 1 ||
        strcmp(jstr(json_array_get(i1, 0), "code"), jstr(json_array_get(i2, 0), "code")) == 0)
        fail_msg("%s: the second page (after=%s) should hold the other object: %s", name, next,
                 p2->body);

    /* an object made with another status is listed only when asked for */
    const status_set *st = c->def->statuses;
    for (const char *const *sv = st->values; *sv; sv++) {
        if (strcmp(*sv, "retired") == 0 || strcmp(*sv, st->initial) == 0) continue;
        json_t *b = gen_body(c, REQUIRED_ONLY, NULL);
        json_object_set_new(b, "status", json_string(*sv));
        obj *s2 = create_with(c, b);
        const char *what = strf("%s: created with status %s", name, *sv);
        if (!jstr(s2->answer, "status") || strcmp(jstr(s2->answer, "status"), *sv) != 0)
            fail_msg("%s: answered status %s", what, jtext(json_object_get(s2->answer, "status")));
        int listed = in_list(st->listed, *sv);
        if ((count_where(base, name, strf("code=%s", s2->code)) == 1) != listed)
            fail_msg("%s: the default list %s it (listed by default: %s)", what,
                     listed ? "does not show" : "shows", st->listed[0]);
        if (count_where(base, name, strf("code=%s&status=%s", s2->code, *sv)) != 1)
            fail_msg("%s: ?status=%s does not list it", what, *sv);
        if (count_where(base, name, strf("code=%s&status=%s,%s", s2->code, st->initial, *sv)) != 1)
            fail_msg("%s: ?status=%s,%s does not list it", what, st->initial, *sv);
    }

    /* an undeclared filter is refused */
    expect(api_get(base, strf("%s?no_such_field=1", coll_path(c)), KEY_DISPATCH), 400,
           strf("%s: an unknown filter", name));
}

/* patch one field with If-Match; a stale If-Match is 412. */
static void collection_patch_if_match(void **state)
{
    const coll *c = *state;
    const char *name = c->bt->collection;
    const char *base = base_of(c->owner);
    obj *o = create_object(c, ALL_FIELDS, NULL);
    const field_def *f = patch_field(c);
    json_t *v1 = other_value(f, json_object_get(o->body, f->name));
    const char *what = strf("%s: PATCH {%s: %s} with If-Match \"1\"", name, f->name, jtext(v1));

    json_t *patch = jkeep(json_object());
    json_object_set(patch, f->name, v1);
    api_resp *p = patch_as(c, base, o->code, o->by->key, "\"1\"", patch);
    expect(p, 200, what);
    expect_shape(c, p->json, what);
    if (jint(p->json, "version") != 2) fail_msg("%s: version %lld, want 2", what, jint(p->json, "version"));
    if (strcmp(p->etag, "\"2\"") != 0) fail_msg("%s: ETag '%s', want \"2\"", what, p->etag);
    check_value(c, f, v1, p->json, what);
    for (const field_def *g = c->def->fields; g->name; g++)
        if (g != f) check_value(c, g, json_object_get(o->answer, g->name), p->json,
                                 strf("%s (a field not in the patch)", what));
    if (strcmp(jstr(p->json, "created_at"), jstr(o->answer, "created_at")) != 0)
        fail_msg("%s: created_at changed", what);
    if (rfc3339_seconds(jstr(p->json, "updated_at")) < rfc3339_seconds(jstr(o->answer, "updated_at")))
        fail_msg("%s: updated_at went back in time", what);
    if (strcmp(jstr(p->json, "updated_by"), o->by->app) != 0)
        fail_msg("%s: updated_by %s, want %s", what, jstr(p->json, "updated_by"), o->by->app);
    api_resp *g = get_obj(c, base, o->code);
    expect(g, 200, what);
    if (!json_equal(g->json, p->json) || strcmp(g->etag, "\"2\"") != 0)
        fail_msg("%s: get answers %s (ETag %s), the patch answered %s", what, g->body, g->etag, p->body);

    /* stale: version 1 is gone */
    json_t *v2 = other_value(f, v1);
    json_t *stale = jkeep(json_object());
    json_object_set(stale, f->name, v2);
    what = strf("%s: PATCH with the stale If-Match \"1\"", name);
    api_resp *s = patch_as(c, base, o->code, o->by->key, "\"1\"", stale);
    expect(s, 412, what);
    g = get_obj(c, base, o->code);
    if (jint(g->json, "version") != 2) fail_msg("%s: the object changed anyway: %s", what, g->body);
    check_value(c, f, v1, g->json, strf("%s: the object changed anyway", what));

    /* the current version is accepted */
    api_resp *ok = patch_as(c, base, o->code, o->by->key, "\"2\"", stale);
    expect(ok, 200, strf("%s: PATCH with If-Match \"2\"", name));
    if (jint(ok->json, "version") != 3) fail_msg("%s: version %lld after the second patch, want 3",
                                                 name, jint(ok->json, "version"));
    check_value(c, f, v2, ok->json, name);
}

/* retire: status retired, hidden from default lists, kept and listed when asked. */
static void collection_retire(void **state)
{
    const coll *c = *state;
    const char *name = c->bt->collection;
    const char *base = base_of(c->owner);
    obj *o = create_object(c, ALL_FIELDS, NULL);
    const char *what = strf("%s: DELETE (retire) %s", name, o->code);
    api_resp *d = api_delete(base, obj_path(c, o->code), o->by->key);
    expect(d, 200, what);
    expect_shape(c, d->json, what);
    if (!jstr(d->json, "status") || strcmp(jstr(d->json, "status"), "retired") != 0)
        fail_msg("%s: status %s, want retired", what, jtext(json_object_get(d->json, "status")));
    if (jint(d->json, "version") != 2) fail_msg("%s: version %lld, want 2", what, jint(d->json, "version"));
    for (const field_def *f = c->def->fields; f->name; f++)
        check_value(c, f, json_object_get(o->answer, f->name), d->json,
                     strf("%s: a retired object keeps its fields", what));
    api_resp *g = get_obj(c, base, o->code);
    expect(g, 200, strf("%s: get after retiring", name));
    if (strcmp(jstr(g->json, "status"), "retired") != 0) fail_msg("%s: get says %s", what, g->body);

    if (count_where(base, name, strf("code=%s", o->code)) != 0)
        fail_msg("%s: the default list still shows the retired %s", what, o->code);
    if (count_where(base, name, strf("code=%s&status=retired", o->code)) != 1)
        fail_msg("%s: ?status=retired does not list %s", what, o->code);
    if (count_where(base, name, strf("code=%s&status=all", o->code)) != 1)
        fail_msg("%s: ?status=all does not list %s", what, o->code);
    const field_def *m = marker_field(c);
    if (m) {
        const char *q = filter_of(m, json_object_get(o->body, m->name));
        if (count_where(base, name, q) != 0)
            fail_msg("%s: ?%s still lists the retired object", what, q);
        if (count_where(base, name, strf("%s&status=retired", q)) != 1)
            fail_msg("%s: ?%s&status=retired does not list it", what, q);
    }

    /* retiring twice changes nothing; a retired object cannot be patched */
    api_resp *d2 = api_delete(base, obj_path(c, o->code), o->by->key);
    expect(d2, 200, strf("%s (twice)", what));
    if (jint(d2->json, "version") != 2) fail_msg("%s: retiring twice made version %lld", what,
                                                 jint(d2->json, "version"));
    const field_def *f = patch_field(c);
    json_t *patch = jkeep(json_object());
    json_object_set(patch, f->name, other_value(f, json_object_get(o->body, f->name)));
    expect(patch_as(c, base, o->code, o->by->key, NULL, patch), 409,
           strf("%s: PATCH of a retired object", name));
}

/* FF_UNIQUE: a second object with the value is 409 naming the field. */
static void collection_unique_fields(void **state)
{
    const coll *c = *state;
    const char *name = c->bt->collection;
    const char *base = base_of(c->owner);
    for (const field_def *f = c->def->fields; f->name; f++) {
        if (!(f->flags & FF_UNIQUE)) continue;
        obj *o = create_object(c, ALL_FIELDS, NULL);
        const json_t *v = json_object_get(o->body, f->name);
        json_t *ov = jkeep(json_object());
        json_object_set(ov, f->name, (json_t *)v);
        json_t *dup = gen_body(c, REQUIRED_ONLY, ov);
        const char *what = strf("%s: a second object with %s %s", name, f->name, jtext(v));
        expect_field(post_as(c, base, o->by->key, dup), 409, f->name, what);
        if (count_where(base, name, strf("status=all&%s", filter_of(f, v))) != 1)
            fail_msg("%s: now there are two", what);

        /* the same through PATCH of another object */
        obj *other = create_object(c, REQUIRED_ONLY, NULL);
        what = strf("%s: PATCH another object to %s %s", name, f->name, jtext(v));
        expect_field(patch_as(c, base, other->code, other->by->key, NULL, ov), 409, f->name, what);
        if (version_of(base, name, other->code) != 1) fail_msg("%s: it changed anyway", what);

        /* a retired object keeps its value: still taken */
        retire_obj(o);
        expect_field(post_as(c, base, o->by->key, gen_body(c, REQUIRED_ONLY, ov)), 409, f->name,
                     strf("%s: a new object with the value of a retired one", name));
    }
}

/* FT_CODE: a code that names nothing is 422 naming the field; a retired
 * object the peer keeps is 409; every allowed prefix is accepted. */
static void collection_references(void **state)
{
    const coll *c = *state;
    const char *name = c->bt->collection;
    const char *base = base_of(c->owner);
    obj *target = create_object(c, ALL_FIELDS, NULL);
    for (const field_def *f = c->def->fields; f->name; f++) {
        if (f->type != FT_CODE) continue;
        for (const char *const *p = f->refs; *p; p++) {
            int peer = owner_of_prefix(*p) != c->owner;
            const char *where = peer ? strf("kept by %s", service_name(owner_of_prefix(*p)))
                                     : "kept here";
            /* names nothing */
            json_t *b = copy_of(gen_body(c, ALL_FIELDS, NULL));
            json_object_set_new(b, f->name, json_string(mint_code(*p)));
            const char *what = strf("%s: %s = a %s code (%s) that names nothing", name, f->name, *p,
                                    where);
            expect_field(post_as(c, base, writer_for(name, b)->key, b), 422, f->name, what);
            expect_nothing_stored(c, b, what);
            json_t *patch = jkeep(json_pack("{s:s}", f->name, mint_code(*p)));
            what = strf("%s: PATCH %s to a %s code (%s) that names nothing", name, f->name, *p, where);
            expect_field(patch_as(c, base, target->code, target->by->key, NULL, patch), 422,
                         f->name, what);
            if (version_of(base, name, target->code) != 1) fail_msg("%s: it changed anyway", what);

            /* an existing object of this prefix is accepted */
            obj *ref = make_end(*p, f->rule, 0);
            json_t *good = copy_of(gen_body(c, ALL_FIELDS, NULL));
            json_object_set_new(good, f->name, json_string(ref->code));
            obj *made = create_with(c, good);
            check_value(c, f, json_object_get(good, f->name), made->answer,
                         strf("%s: %s = an existing %s", name, f->name, *p));
            obj *ref2 = make_end(*p, f->rule, 0);
            json_t *to2 = jkeep(json_pack("{s:s}", f->name, ref2->code));
            api_resp *pr = patch_as(c, base, made->code, made->by->key, NULL, to2);
            expect(pr, 200, strf("%s: PATCH %s to another existing %s (%s)", name, f->name, *p, where));
            check_value(c, f, json_object_get(to2, f->name), pr->json,
                         strf("%s: PATCH %s to another existing %s", name, f->name, *p));

            /* a retired object, here or on the peer, is a conflict */
            retire_obj(ref);
            json_t *b2 = copy_of(gen_body(c, ALL_FIELDS, NULL));
            json_object_set_new(b2, f->name, json_string(ref->code));
            what = strf("%s: %s = the retired %s %s (%s)", name, f->name, *p, ref->code, where);
            expect(post_as(c, base, writer_for(name, b2)->key, b2), 409, what);
            expect_nothing_stored(c, b2, what);
            json_t *p2 = jkeep(json_pack("{s:s}", f->name, ref->code));
            what = strf("%s: PATCH %s to the retired %s %s (%s)", name, f->name, *p, ref->code, where);
            expect(patch_as(c, base, target->code, target->by->key, NULL, p2), 409, what);
            if (version_of(base, name, target->code) != 1) fail_msg("%s: it changed anyway", what);
        }
    }
}

/* A copy of body with member set to value. */
static json_t *with_member(const json_t *body, const char *member, json_t *value)
{
    json_t *b = copy_of(body);
    json_object_set(b, member, value);
    return b;
}

/* A refused create: status want, errors[] naming field (when given), nothing stored. */
static void refused_create(const coll *c, const char *key, const json_t *body, long want,
                           const char *field, const char *what)
{
    api_resp *r = post_as(c, base_of(c->owner), key, body);
    if (field)
        expect_field(r, want, field, what);
    else
        expect(r, want, what);
    expect_nothing_stored(c, body, what);
}

static json_t *wrong_type(const field_def *f)
{
    switch (f->type) {
    case FT_TEXT: return jkeep(json_integer(12345));
    case FT_INT: return jkeep(json_string("7"));
    case FT_NUM: return jkeep(json_string("1.5"));
    case FT_BOOL: return jkeep(json_string("true"));
    case FT_ENUM: return jkeep(json_integer(1));
    case FT_CODE: return jkeep(json_integer(42));
    case FT_LOCATION: return jkeep(json_string("120.1,30.2"));
    case FT_TIME: return jkeep(json_integer(20300101));
    case FT_CODES: return jkeep(json_integer(42));
    }
    return jkeep(json_null());
}

/* bad input: 400 naming the field, nothing created. */
static void collection_bad_input(void **state)
{
    const coll *c = *state;
    const char *name = c->bt->collection;
    json_t *valid = gen_body(c, ALL_FIELDS, NULL);
    const char *key = writer_for(name, valid)->key;
    if (count_marked(c, valid) != 0) fail_msg("%s: the marker value is not new", name);
#define WITH(member, value) with_member(valid, (member), (value))

    refused_create(c, key, WITH("no_such_field", jkeep(json_integer(1))), 400, "no_such_field",
                   strf("%s: an unknown field", name));
    refused_create(c, key, WITH("version", jkeep(json_integer(7))), 400, "version",
                   strf("%s: a read-only member (version)", name));
    refused_create(c, key, WITH("status", jkeep(json_string("retired"))), 400, "status",
                   strf("%s: created retired", name));
    refused_create(c, key, WITH("status", jkeep(json_string("no-such-status"))), 400, "status",
                   strf("%s: an unknown status", name));
    refused_create(c, key, WITH("code", jkeep(json_string(mint_code(prefix_not_in(
                                            (const char *const[]){c->def->prefix, NULL}))))),
                   400, "code", strf("%s: a client code of another type", name));

    for (const field_def *f = c->def->fields; f->name; f++) {
        refused_create(c, key, WITH(f->name, wrong_type(f)), 400, f->name,
                       strf("%s: %s of the wrong JSON type (%s)", name, f->name, jtext(wrong_type(f))));
        refused_create(c, key, WITH(f->name, jkeep(json_pack("[i]", 1))), 400, f->name,
                       strf("%s: %s given an array", name, f->name));
        if (f->flags & FF_REQUIRED) {
            json_t *b = copy_of(valid);
            json_object_del(b, f->name);
            refused_create(c, key, b, 400, f->name, strf("%s: the required %s missing", name, f->name));
            refused_create(c, key, WITH(f->name, jkeep(json_null())), 400, f->name,
                           strf("%s: the required %s null", name, f->name));
        }
        switch (f->type) {
        case FT_ENUM:
            refused_create(c, key, WITH(f->name, jkeep(json_string("not-one-of-them"))), 400,
                           f->name, strf("%s: %s outside its set", name, f->name));
            break;
        case FT_CODE:
            refused_create(c, key, WITH(f->name, jkeep(json_string(mint_code(prefix_not_in(f->refs))))),
                           400, f->name, strf("%s: %s a code of the wrong prefix", name, f->name));
            refused_create(c, key,
                           WITH(f->name, jkeep(json_string(spoil_check(mint_code(f->refs[0]))))),
                           400, f->name, strf("%s: %s a code with a wrong check symbol", name, f->name));
            break;
        case FT_TEXT: {
            int max = text_max(f);
            char *longer = it_track(malloc((size_t)max + 2), free);
            memset(longer, 'x', (size_t)max + 1);
            longer[max + 1] = '\0';
            refused_create(c, key, WITH(f->name, jkeep(json_string(longer))), 400, f->name,
                           strf("%s: %s of %d bytes (max_len %d)", name, f->name, max + 1, max));
            break;
        }
        case FT_INT:
            if (has_range(f)) {
                refused_create(c, key, WITH(f->name, jkeep(json_integer((json_int_t)f->max + 1))),
                               400, f->name, strf("%s: %s above its maximum", name, f->name));
                refused_create(c, key, WITH(f->name, jkeep(json_integer((json_int_t)f->min - 1))),
                               400, f->name, strf("%s: %s below its minimum", name, f->name));
            }
            refused_create(c, key, WITH(f->name, jkeep(json_real(1.5))), 400, f->name,
                           strf("%s: %s a fraction", name, f->name));
            break;
        case FT_NUM:
            if (has_range(f)) {
                double span = f->max - f->min;
                refused_create(c, key, WITH(f->name, jkeep(json_real(f->max + span / 10 + 1))), 400,
                               f->name, strf("%s: %s above its maximum", name, f->name));
                refused_create(c, key, WITH(f->name, jkeep(json_real(f->min - span / 10 - 1))), 400,
                               f->name, strf("%s: %s below its minimum", name, f->name));
            }
            break;
        case FT_LOCATION:
            refused_create(c, key, WITH(f->name, jkeep(json_pack("{s:f, s:f}", "lon", 120.0, "lat", 91.0))),
                           400, f->name, strf("%s: %s with lat 91", name, f->name));
            refused_create(c, key,
                           WITH(f->name, jkeep(json_pack("{s:f, s:f, s:f}", "lon", 120.0, "lat", 30.0,
                                                         "alt", 5.0))),
                           400, f->name, strf("%s: %s with a third member", name, f->name));
            break;
        case FT_BOOL:
        case FT_TIME:
        case FT_CODES: break; /* only the collections written by their own routes have them */
        }
    }
#undef WITH
    /* and the valid body is stored, once: the count above did see the marker */
    api_resp *ok = post_as(c, base_of(c->owner), key, valid);
    expect(ok, 201, strf("%s: the valid body after the refused ones", name));
    long n = count_marked(c, valid);
    if (n >= 0 && n != 1) fail_msg("%s: %ld objects carry the marker, want 1", name, n);
}

/* A field with a declared default given as null: the default applies, or
 * 400 names the field; on PATCH the same. Never a server error. */
static void collection_null_default(void **state)
{
    const coll *c = *state;
    const char *name = c->bt->collection;
    const char *base = base_of(c->owner);
    const char *problems = "";
    for (const field_def *f = c->def->fields; f->name; f++) {
        if (!f->dflt) continue;
        json_t *ov = jkeep(json_object());
        json_object_set_new(ov, f->name, json_null());
        json_t *b = gen_body(c, REQUIRED_ONLY, ov);
        const char *what = strf("%s: POST %s (%s null; declared default %s)", name, jtext(b),
                                f->name, f->dflt);
        api_resp *r = post_as(c, base, writer_for(name, b)->key, b);
        if (r->status == 201)
            check_value(c, f, dflt_json(f), r->json, what);
        else if (r->status == 400)
            expect_field(r, 400, f->name, what);
        else {
            api_dump(r);
            problems = strf("%s\n  %s answered %ld; want 201 with %s = %s (null taken as absent, as "
                            "relation attributes do) or 400 naming %s",
                            problems, what, r->status, f->name, f->dflt, f->name);
        }

        obj *o = create_object(c, REQUIRED_ONLY, NULL);
        what = strf("%s: PATCH %s {%s: null} (declared default %s)", name, o->code, f->name, f->dflt);
        api_resp *p = patch_as(c, base, o->code, o->by->key, NULL, ov);
        if (p->status == 200)
            check_value(c, f, dflt_json(f), p->json, what);
        else if (p->status == 400)
            expect_field(p, 400, f->name, what);
        else {
            api_dump(p);
            problems = strf("%s\n  %s answered %ld; want 200 with %s = %s or 400 naming %s",
                            problems, what, p->status, f->name, f->dflt, f->name);
        }
        if (version_of(base, name, o->code) > 1 && p->status != 200)
            fail_msg("%s: the refused PATCH changed the object", what);
    }
    if (*problems) fail_msg("a field with a default given as null:%s", problems);
}

/* The non-owner: reads proxied, identical to the owner's; writes 421 naming the owner. */
static void collection_non_owner(void **state)
{
    const coll *c = *state;
    const char *name = c->bt->collection;
    const char *own = base_of(c->owner), *other = peer_base_of(c->owner);
    const char *owner = service_name(c->owner);
    obj *o = create_object(c, ALL_FIELDS, NULL);

    const field_def *m = marker_field(c);
    const char *paths[] = {obj_path(c, o->code), strf("%s?code=%s", coll_path(c), o->code),
                           strf("%s/history", obj_path(c, o->code)),
                           m ? strf("%s?%s", coll_path(c), filter_of(m, json_object_get(o->body, m->name)))
                             : NULL};
    for (size_t i = 0; i < sizeof paths / sizeof *paths && paths[i]; i++) {
        api_resp *a = api_get(own, paths[i], KEY_DISPATCH);
        api_resp *b = api_get(other, paths[i], KEY_DISPATCH);
        const char *what = strf("%s: GET %s through %s", name, paths[i], service_name(other_svc(c->owner)));
        expect(a, 200, strf("%s: GET %s on the owner", name, paths[i]));
        expect(b, 200, what);
        if (!json_equal(a->json, b->json))
            fail_msg("%s: answers %s; the owner answers %s", what, b->body, a->body);
        if (strcmp(a->etag, b->etag) != 0)
            fail_msg("%s: ETag '%s'; the owner's is '%s'", what, b->etag, a->etag);
        if (strcmp(b->served_by, owner) != 0)
            fail_msg("%s: X-Served-By '%s', want %s", what, b->served_by, owner);
    }
    /* a 404 passes through too */
    expect(api_get(other, obj_path(c, mint_code(c->def->prefix)), KEY_DISPATCH), 404,
           strf("%s: GET of an unknown code through the non-owner", name));

    /* writes: 421 naming the owner, nothing done */
    json_t *b = gen_body(c, ALL_FIELDS, NULL);
    const who *w = writer_for(name, b);
    api_resp *r = post_as(c, other, w->key, b);
    const char *what = strf("%s: POST to %s", name, service_name(other_svc(c->owner)));
    expect(r, 421, what);
    if (!jstr(r->json, "owner") || strcmp(jstr(r->json, "owner"), owner) != 0)
        fail_msg("%s: the 421 names owner %s, want %s", what, jtext(json_object_get(r->json, "owner")),
                 owner);
    expect_nothing_stored(c, b, what);
    const field_def *f = patch_field(c);
    json_t *patch = jkeep(json_object());
    json_object_set(patch, f->name, other_value(f, json_object_get(o->body, f->name)));
    r = patch_as(c, other, o->code, o->by->key, NULL, patch);
    expect(r, 421, strf("%s: PATCH to the non-owner", name));
    if (!jstr(r->json, "owner") || strcmp(jstr(r->json, "owner"), owner) != 0)
        fail_msg("%s: PATCH to the non-owner: the 421 names no owner %s", name, owner);
    r = api_delete(other, obj_path(c, o->code), o->by->key);
    expect(r, 421, strf("%s: DELETE to the non-owner", name));
    if (version_of(own, name, o->code) != 1)
        fail_msg("%s: writes sent to the non-owner changed the object", name);
}

/* A PATCH naming codes the peer keeps is answered in the order a create is:
 * who may write it (403) and whether the object exists (404) come before
 * the peer is asked about the codes (422 / 409 / 502). */
static void collection_patch_rights_before_peer(void **state)
{
    const coll *c = *state;
    const char *name = c->bt->collection;
    const char *base = base_of(c->owner);
    const who *d = who_by_role("dispatch");
    obj *o = create_object(c, ALL_FIELDS, NULL);
    const char *problems = "";
    for (const field_def *f = c->def->fields; f->name; f++) {
        if (f->type != FT_CODE) continue;
        for (const char *const *p = f->refs; *p; p++) {
            if (owner_of_prefix(*p) == c->owner) continue;
            json_t *patch = jkeep(json_pack("{s:s}", f->name, mint_code(*p)));
            api_resp *r = patch_as(c, base, o->code, d->key, NULL, patch);
            if (r->status != 403) {
                api_dump(r);
                problems = strf("%s\n  PATCH %s %s as %s (no write role) answered %ld, want 403 (the "
                                "create of the same body as %s answers 403)",
                                problems, obj_path(c, o->code), jtext(patch), d->app, r->status,
                                d->app);
            }
            const char *unknown = mint_code(c->def->prefix);
            r = patch_as(c, base, unknown, o->by->key, NULL, patch);
            if (r->status != 404) {
                api_dump(r);
                problems = strf("%s\n  PATCH %s (no such object) %s answered %ld, want 404", problems,
                                obj_path(c, unknown), jtext(patch), r->status);
            }
        }
    }
    if (version_of(base, name, o->code) != 1) fail_msg("%s: a refused PATCH changed %s", name, o->code);
    if (*problems) fail_msg("%s: the peer is asked before rights and existence are checked:%s", name,
                            problems);
}

/* A peer that cannot be reached (nothing listens where it should): 502 with
 * Retry-After (DESIGN §4). */
static void expect_peer_unreachable(const api_resp *r, const char *what)
{
    expect(r, 502, what);
    if (!r->retry_after[0]) {
        api_dump(r);
        fail_msg("%s: the 502 of an unreachable peer has no Retry-After", what);
    }
}

/* References the peer keeps, with the peer down: 502, nothing stored. */
static void collection_peer_down(void **state)
{
    const coll *c = *state;
    const char *name = c->bt->collection;
    json_t *b = gen_body(c, ALL_FIELDS, NULL); /* its references made through the main stack */
    obj *o = create_object(c, ALL_FIELDS, NULL);
    const char *extra = start_without_peer(c->owner, name);

    const who *w = writer_for(name, b);
    const char *what = strf("%s: create naming codes the peer keeps, peer down", name);
    api_resp *r = post_as(c, extra, w->key, b);
    expect_peer_unreachable(r, what);
    expect_nothing_stored(c, b, what);

    for (const field_def *f = c->def->fields; f->name; f++) {
        if (f->type != FT_CODE) continue;
        for (const char *const *p = f->refs; *p; p++) {
            if (owner_of_prefix(*p) == c->owner) continue;
            obj *ref = create_object(coll_by_prefix(*p), REQUIRED_ONLY, NULL);
            json_t *patch = jkeep(json_pack("{s:s}", f->name, ref->code));
            what = strf("%s: PATCH %s to a %s, peer down", name, f->name, *p);
            expect_peer_unreachable(patch_as(c, extra, o->code, o->by->key, NULL, patch), what);
            api_resp *g = get_obj(c, base_of(c->owner), o->code);
            if (jint(g->json, "version") != 1) fail_msg("%s: it changed anyway: %s", what, g->body);
        }
    }
    /* its own objects are still served */
    expect(get_obj(c, extra, o->code), 200, strf("%s: GET through the instance without its peer", name));
    stop_extra_expect_zero();
    /* the same body is fine once the peer answers */
    expect(post_as(c, base_of(c->owner), w->key, b), 201, strf("%s: the same create, peer up", name));
}

/* A number is answered as it was stored, to the last bit, so that the value
 * read back also finds the object in a filter: a client that stores
 * 169.98275531098247 must not read 169.982755310982. One test over every
 * FT_NUM field of every collection. */
static void numbers_keep_their_precision(void **state)
{
    const char *problems = "";
    int nbad = 0, nfields_seen = 0;
    for (int i = 0; i < ncolls; i++) {
        const coll *c = &colls[i];
        if (!c->bt || c->def->own_writes || !has_type(c, FT_NUM)) continue;
        const char *name = c->bt->collection, *base = base_of(c->owner);
        json_t *ov = jkeep(json_object());
        for (const field_def *f = c->def->fields; f->name; f++) {
            if (f->type != FT_NUM) continue;
            double lo = has_range(f) ? f->min : 0, hi = has_range(f) ? f->max : 100000;
            /* a double that needs 16-17 significant digits */
            json_object_set_new(ov, f->name, json_real(lo + (hi - lo) * 0.12345678901234567));
        }
        obj *o = create_object(c, REQUIRED_ONLY, ov);
        for (const field_def *f = c->def->fields; f->name; f++) {
            if (f->type != FT_NUM) continue;
            nfields_seen++;
            const json_t *sent = json_object_get(ov, f->name);
            const json_t *got = json_object_get(o->answer, f->name);
            /* the value answered must be the value stored, and find the object as a filter */
            int found = 0;
            if (json_is_number(got))
                walk_list(c, base, strf("code=%s&%s", o->code, filter_of(f, got)), NULL, NULL,
                          o->code, &found);
            if (same_value(f, sent, got) && found) continue;
            if (nbad++ < 4)
                problems = strf("%s\n  %s.%s: sent %.17g, read back %s%s", problems, name, f->name,
                                json_number_value(sent), jtext(got),
                                found ? "" : ", and ?" "filter by the answered value finds nothing");
        }
    }
    if (nbad)
        fail_msg("%d of %d number fields do not read back the number stored (answers should "
                 "carry the shortest text that parses back to the same double):%s%s",
                 nbad, nfields_seen, problems, nbad > 4 ? "\n  ..." : "");
}

/* ===== per relation ======================================================================= */

static void relation_rules(void **state)
{
    const rel *r = *state;
    const relation_def *d = r->def;
    const char *kind = d->kind;
    const char *base = base_of(r->owner);
    const who *w = rel_writer(r);
    const status_set *st = link_statuses(r);

    obj *F = make_end(d->from[0], d->from_rule, 0), *T = make_end(d->to[0], d->to_rule, 0);
    const char *what = strf("%s: link %s -> %s", kind, F->code, T->code);
    api_resp *l = link_as(r, base, w->key, F->code, T->code, NULL);
    expect(l, 201, what);
    const json_t *lk = l->json;
    if (!jstr(lk, "kind") || strcmp(jstr(lk, "kind"), kind) || !jstr(lk, "from") ||
        strcmp(jstr(lk, "from"), F->code) || !jstr(lk, "to") || strcmp(jstr(lk, "to"), T->code))
        fail_msg("%s: answered %s", what, l->body);
    if (!jstr(lk, "status") || strcmp(jstr(lk, "status"), st->initial) != 0)
        fail_msg("%s: status %s, want %s", what, jtext(json_object_get(lk, "status")), st->initial);
    if (!is_rfc3339_utc(jstr(lk, "valid_from")) || !json_is_null(json_object_get(lk, "valid_to")))
        fail_msg("%s: want valid_from a timestamp and valid_to null: %s", what, l->body);
    if (!jstr(lk, "created_by") || strcmp(jstr(lk, "created_by"), w->app) != 0)
        fail_msg("%s: created_by %s, want %s", what, jtext(json_object_get(lk, "created_by")), w->app);
    for (const field_def *f = d->attrs; f && f->name; f++) {
        const json_t *got = json_object_get(lk, f->name);
        if (f->flags & FF_REQUIRED) continue; /* given by link_as */
        if (f->dflt ? !same_value(f, dflt_json(f), got) : !json_is_null(got))
            fail_msg("%s: attribute %s is %s, want %s", what, f->name, got ? jtext(got) : "(absent)",
                     f->dflt ? f->dflt : "null");
    }
    const char *loc = strf("%s?from=%s&to=%s", rel_path(r), F->code, T->code);
    if (strcmp(l->location, loc) != 0) fail_msg("%s: Location '%s', want %s", what, l->location, loc);
    const char *valid_from = it_strdup(jstr(lk, "valid_from"));

    /* read by either end */
    if (!has_link(links_where(r, base, strf("from=%s", F->code)), F->code, T->code))
        fail_msg("%s: GET ?from= does not list it", what);
    if (!has_link(links_where(r, base, strf("to=%s", T->code)), F->code, T->code))
        fail_msg("%s: GET ?to= does not list it", what);

    /* the same pair again */
    expect_existing(link_as(r, base, w->key, F->code, T->code, NULL), kind, F->code, T->code,
                    strf("%s: the same pair again", kind));
    if (json_array_size(links_where(r, base, strf("status=all&from=%s&to=%s", F->code, T->code))) != 1)
        fail_msg("%s: the same pair again stored a second link", kind);

    /* cardinality */
    obj *F2 = make_end(d->from[0], d->from_rule, 0);
    api_resp *c1 = link_as(r, base, w->key, F2->code, T->code, NULL);
    what = strf("%s: a second from (%s) for the same to (%s)", kind, F2->code, T->code);
    if (d->rules & REL_ONE_FROM_PER_TO) {
        expect_existing(c1, kind, F->code, T->code, strf("%s (REL_ONE_FROM_PER_TO)", what));
        expect_no_link(r, F2->code, T->code, what);
    } else {
        expect(c1, 201, strf("%s (no REL_ONE_FROM_PER_TO)", what));
    }
    obj *T2 = make_end(d->to[0], d->to_rule, 0);
    api_resp *c2 = link_as(r, base, w->key, F->code, T2->code, NULL);
    what = strf("%s: a second to (%s) for the same from (%s)", kind, T2->code, F->code);
    if (d->rules & REL_ONE_TO_PER_FROM) {
        expect_existing(c2, kind, F->code, T->code, strf("%s (REL_ONE_TO_PER_FROM)", what));
        expect_no_link(r, F->code, T2->code, what);
    } else {
        expect(c2, 201, strf("%s (no REL_ONE_TO_PER_FROM)", what));
    }

    /* every allowed prefix of each end */
    for (int i = 1; d->from[i]; i++) {
        obj *Fi = make_end(d->from[i], d->from_rule, 0), *Ti = make_end(d->to[0], d->to_rule, 0);
        expect(link_as(r, base, w->key, Fi->code, Ti->code, NULL), 201,
               strf("%s: from a %s", kind, d->from[i]));
        if (!has_link(links_where(r, base, strf("from=%s", Fi->code)), Fi->code, Ti->code))
            fail_msg("%s: GET ?from=%s (a %s) does not list its link", kind, Fi->code, d->from[i]);
        if (d->rules & REL_ONE_FROM_PER_TO) {
            /* the rule holds across the prefixes of an end */
            what = strf("%s: a %s as second from for %s, linked from a %s", kind, d->from[i],
                        T->code, d->from[0]);
            expect_existing(link_as(r, base, w->key, Fi->code, T->code, NULL), kind, F->code,
                            T->code, what);
            expect_no_link(r, Fi->code, T->code, what);
        }
    }
    for (int i = 1; d->to[i]; i++) {
        obj *Fi = make_end(d->from[0], d->from_rule, 0), *Ti = make_end(d->to[i], d->to_rule, 0);
        expect(link_as(r, base, w->key, Fi->code, Ti->code, NULL), 201,
               strf("%s: to a %s", kind, d->to[i]));
        if (!has_link(links_where(r, base, strf("to=%s", Ti->code)), Fi->code, Ti->code))
            fail_msg("%s: GET ?to=%s (a %s) does not list its link", kind, Ti->code, d->to[i]);
        if (d->rules & REL_ONE_TO_PER_FROM) {
            what = strf("%s: a %s as second to for %s, linked to a %s", kind, d->to[i], F->code,
                        d->to[0]);
            expect_existing(link_as(r, base, w->key, F->code, Ti->code, NULL), kind, F->code,
                            T->code, what);
            expect_no_link(r, F->code, Ti->code, what);
        }
    }

    /* end rules */
    if (d->from_rule) {
        obj *Fv = make_end(d->from[0], d->from_rule, 1), *Tf = make_end(d->to[0], d->to_rule, 0);
        what = strf("%s: from a %s whose %s is not %s", kind, d->from[0], d->from_rule->field,
                    d->from_rule->value);
        expect(link_as(r, base, w->key, Fv->code, Tf->code, NULL), 409, what);
        expect_no_link(r, Fv->code, Tf->code, what);
    }
    if (d->to_rule) {
        obj *Ff = make_end(d->from[0], d->from_rule, 0), *Tv = make_end(d->to[0], d->to_rule, 1);
        what = strf("%s: to a %s whose %s is not %s", kind, d->to[0], d->to_rule->field,
                    d->to_rule->value);
        expect(link_as(r, base, w->key, Ff->code, Tv->code, NULL), 409, what);
        expect_no_link(r, Ff->code, Tv->code, what);
    }

    /* retired, unknown and wrong ends, for every prefix each end takes */
    for (int end = 0; end < 2; end++) {
        const char *ename = end ? "to" : "from";
        const char *const *prefixes = end ? d->to : d->from;
        for (int k = 0; prefixes[k]; k++) {
            const char *prefix = prefixes[k];
            const char *where =
                owner_of_prefix(prefix) == r->owner
                    ? "in-domain"
                    : strf("cross-domain, kept by %s", service_name(owner_of_prefix(prefix)));
            obj *Fx = make_end(end ? d->from[0] : prefix, d->from_rule, 0);
            obj *Tx = make_end(end ? prefix : d->to[0], d->to_rule, 0);
            retire_obj(end ? Tx : Fx);
            what = strf("%s: a retired %s end (%s, %s)", kind, ename, prefix, where);
            expect(link_as(r, base, w->key, Fx->code, Tx->code, NULL), 409, what);
            expect_no_link(r, Fx->code, Tx->code, what);

            obj *live = end ? make_end(d->from[0], d->from_rule, 0) : make_end(d->to[0], d->to_rule, 0);
            const char *unknown = mint_code(prefix);
            const char *fc = end ? live->code : unknown, *tc = end ? unknown : live->code;
            what = strf("%s: an unknown %s end (%s, %s)", kind, ename, prefix, where);
            expect_field(link_as(r, base, w->key, fc, tc, NULL), 422, ename, what);
            expect_no_link(r, fc, tc, what);
        }
        obj *live = end ? make_end(d->from[0], d->from_rule, 0) : make_end(d->to[0], d->to_rule, 0);
        const char *wrong = mint_code(prefix_not_in(prefixes));
        const char *fc = end ? live->code : wrong, *tc = end ? wrong : live->code;
        what = strf("%s: a %s end of a prefix the relation does not take (%.2s)", kind, ename, wrong);
        expect_field(link_as(r, base, w->key, fc, tc, NULL), 400, ename, what);
        fc = end ? live->code : spoil_check(mint_code(prefixes[0]));
        tc = end ? spoil_check(mint_code(prefixes[0])) : live->code;
        expect_field(link_as(r, base, w->key, fc, tc, NULL), 400, ename,
                     strf("%s: a %s end with a wrong check symbol", kind, ename));

        /* the other end only */
        json_t *missing = jkeep(json_pack("{s:s}", end ? "from" : "to", live->code));
        expect_field(api_post(base, rel_path(r), w->key, jtext(missing)), 400, ename,
                     strf("%s: the %s end missing", kind, ename));
    }

    /* a link made with another status is listed only when asked for */
    for (const char *const *sv = st->values; *sv; sv++) {
        if (strcmp(*sv, "retired") == 0 || strcmp(*sv, st->initial) == 0) continue;
        obj *Fs = make_end(d->from[0], d->from_rule, 0), *Ts = make_end(d->to[0], d->to_rule, 0);
        what = strf("%s: link %s -> %s with status %s", kind, Fs->code, Ts->code, *sv);
        api_resp *ls = link_as(r, base, w->key, Fs->code, Ts->code, jkeep(json_pack("{s:s}", "status", *sv)));
        expect(ls, 201, what);
        if (!jstr(ls->json, "status") || strcmp(jstr(ls->json, "status"), *sv) != 0)
            fail_msg("%s: answered status %s", what, jtext(json_object_get(ls->json, "status")));
        int listed = in_list(st->listed, *sv);
        if (has_link(links_where(r, base, strf("from=%s", Fs->code)), Fs->code, Ts->code) != listed)
            fail_msg("%s: the default GET %s it; the listed statuses are those of the service",
                     what, listed ? "does not list" : "lists");
        if (!has_link(links_where(r, base, strf("from=%s&status=%s", Fs->code, *sv)), Fs->code, Ts->code))
            fail_msg("%s: GET ?status=%s does not list it", what, *sv);
        if (!has_link(links_where(r, base, strf("from=%s&status=all", Fs->code)), Fs->code, Ts->code))
            fail_msg("%s: GET ?status=all does not list it", what);
    }

    obj *Fb = make_end(d->from[0], d->from_rule, 0), *Tb = make_end(d->to[0], d->to_rule, 0);
    expect_field(link_as(r, base, w->key, Fb->code, Tb->code,
                         jkeep(json_pack("{s:s}", "status", "retired"))),
                 400, "status", strf("%s: a link created retired", kind));
    expect_field(link_as(r, base, w->key, Fb->code, Tb->code, jkeep(json_pack("{s:i}", "no_such_attr", 1))),
                 400, "no_such_attr", strf("%s: an unknown member", kind));
    for (const field_def *f = d->attrs; f && f->name; f++) {
        if (f->type != FT_ENUM) continue;
        expect_field(link_as(r, base, w->key, Fb->code, Tb->code,
                             jkeep(json_pack("{s:s}", f->name, "not-one-of-them"))),
                     400, f->name, strf("%s: attribute %s outside its set", kind, f->name));
    }
    expect_no_link(r, Fb->code, Tb->code, strf("%s: the refused links", kind));

    /* end the link: valid_to set; listed only as of a moment before */
    what = strf("%s: DELETE ?from=%s&to=%s", kind, F->code, T->code);
    api_resp *e = api_delete(base, strf("%s?from=%s&to=%s", rel_path(r), F->code, T->code), w->key);
    expect(e, 200, what);
    const char *valid_to = jstr(e->json, "valid_to");
    if (!is_rfc3339_utc(valid_to)) fail_msg("%s: valid_to %s is not a timestamp", what, e->body);
    valid_to = it_strdup(valid_to);
    if (rfc3339_seconds(valid_to) < rfc3339_seconds(valid_from))
        fail_msg("%s: valid_to %s is before valid_from %s", what, valid_to, valid_from);
    if (json_array_size(links_where(r, base, strf("from=%s&to=%s", F->code, T->code))) != 0)
        fail_msg("%s: the default GET still lists the ended link", what);
    json_t *then = links_where(r, base, strf("from=%s&to=%s&at=%s", F->code, T->code, urlenc(valid_from)));
    if (json_array_size(then) != 1 || !jstr(json_array_get(then, 0), "valid_to") ||
        strcmp(jstr(json_array_get(then, 0), "valid_to"), valid_to) != 0)
        fail_msg("%s: GET ?at=%s (when it was current) should list it, ended at %s: %s", what,
                 valid_from, valid_to, jtext(then));
    if (json_array_size(links_where(r, base, strf("from=%s&to=%s&at=%s", F->code, T->code,
                                                  urlenc(valid_to)))) != 0)
        fail_msg("%s: GET ?at=%s (its end) still lists it", what, valid_to);
    expect(api_delete(base, strf("%s?from=%s&to=%s", rel_path(r), F->code, T->code), w->key), 404,
           strf("%s (again)", what));

    /* the pair may be linked again, with every attribute given */
    json_t *attrs = jkeep(json_object());
    for (const field_def *f = d->attrs; f && f->name; f++)
        json_object_set_new(attrs, f->name, gen_value(f));
    what = strf("%s: link %s -> %s again after its end, with %s", kind, F->code, T->code, jtext(attrs));
    api_resp *again = link_as(r, base, w->key, F->code, T->code, attrs);
    expect(again, 201, what);
    for (const field_def *f = d->attrs; f && f->name; f++)
        if (!same_value(f, json_object_get(attrs, f->name), json_object_get(again->json, f->name)))
            fail_msg("%s: attribute %s answered %s", what, f->name,
                     jtext(json_object_get(again->json, f->name)));
    if (json_array_size(links_where(r, base, strf("from=%s&to=%s", F->code, T->code))) != 1)
        fail_msg("%s: want exactly one current link", what);
}

/* The non-owner of a relation: reads proxied and identical (also ?at=); writes 421. */
static void relation_non_owner(void **state)
{
    const rel *r = *state;
    const relation_def *d = r->def;
    const char *own = base_of(r->owner), *other = peer_base_of(r->owner);
    const char *owner = service_name(r->owner);
    const who *w = rel_writer(r);
    obj *F = make_end(d->from[0], d->from_rule, 0), *T = make_end(d->to[0], d->to_rule, 0);
    api_resp *l = link_as(r, own, w->key, F->code, T->code, NULL);
    expect(l, 201, strf("%s: link", d->kind));
    const char *valid_from = it_strdup(jstr(l->json, "valid_from"));

    /* writes through the non-owner: 421 naming the owner, nothing stored or ended */
    obj *F2 = make_end(d->from[0], d->from_rule, 0), *T2 = make_end(d->to[0], d->to_rule, 0);
    const char *what = strf("%s: POST to %s", d->kind, service_name(other_svc(r->owner)));
    api_resp *p = link_as(r, other, w->key, F2->code, T2->code, NULL);
    expect(p, 421, what);
    if (!jstr(p->json, "owner") || strcmp(jstr(p->json, "owner"), owner) != 0)
        fail_msg("%s: the 421 names owner %s, want %s", what, jtext(json_object_get(p->json, "owner")),
                 owner);
    expect_no_link(r, F2->code, T2->code, what);
    const char *endq = strf("%s?from=%s&to=%s", rel_path(r), F->code, T->code);
    expect(api_delete(other, endq, w->key), 421,
           strf("%s: DELETE to %s", d->kind, service_name(other_svc(r->owner))));
    expect(api_delete(own, endq, w->key), 200, strf("%s: end the link on the owner", d->kind));

    const char *paths[] = {
        strf("%s?from=%s", rel_path(r), F->code),
        strf("%s?to=%s&status=all", rel_path(r), T->code),
        strf("%s?from=%s&to=%s&at=%s", rel_path(r), F->code, T->code, urlenc(valid_from)),
    };
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        api_resp *a = api_get(own, paths[i], KEY_DISPATCH), *b = api_get(other, paths[i], KEY_DISPATCH);
        what = strf("%s: GET %s through %s", d->kind, paths[i], service_name(other_svc(r->owner)));
        expect(a, 200, strf("%s: GET %s on the owner", d->kind, paths[i]));
        expect(b, 200, what);
        if (!json_equal(a->json, b->json))
            fail_msg("%s: answers %s; the owner answers %s", what, b->body, a->body);
    }
    /* the ended link, as of its start, through either platform */
    api_resp *at = api_get(other, paths[2], KEY_DISPATCH);
    if (!has_link(list_items(at), F->code, T->code))
        fail_msg("%s: GET %s through the non-owner does not list the link as of its start", d->kind,
                 paths[2]);
}

/* A link with a cross-domain end while the peer is down: 502 with
 * Retry-After, nothing stored. */
static void relation_peer_down(void **state)
{
    const rel *r = *state;
    const relation_def *d = r->def;
    const char *fp = d->from[0], *tp = d->to[0];
    for (const char *const *p = d->from; *p; p++)
        if (owner_of_prefix(*p) != r->owner) {
            fp = *p;
            break;
        }
    for (const char *const *p = d->to; *p; p++)
        if (owner_of_prefix(*p) != r->owner) {
            tp = *p;
            break;
        }
    obj *F = make_end(fp, d->from_rule, 0), *T = make_end(tp, d->to_rule, 0);
    const who *w = rel_writer(r);
    const char *extra = start_without_peer(r->owner, d->kind);

    const char *what = strf("%s: link %s -> %s through a %s whose peer is down", d->kind, F->code,
                            T->code, service_name(r->owner));
    api_resp *l = link_as(r, extra, w->key, F->code, T->code, NULL);
    expect_peer_unreachable(l, what);
    expect_no_link(r, F->code, T->code, what);
    /* its own links are still read */
    expect(api_get(extra, strf("%s?from=%s", rel_path(r), F->code), KEY_DISPATCH), 200,
           strf("%s: GET through the instance without its peer", d->kind));
    stop_extra_expect_zero();
    /* the ends were fine: with the peer up the same link is made */
    expect(link_as(r, base_of(r->owner), w->key, F->code, T->code, NULL), 201,
           strf("%s: the same link, peer up", d->kind));
}

/* ===== per policy rule ====================================================================== */

typedef struct rule_case {
    const json_t *rule;
    int index;
} rule_case;

/* A key holding none of the rule's roles (and no admin role). */
static const who *outsider_of(const json_t *rule)
{
    for (int i = 0; i < NWHO; i++)
        if (!is_admin_role(WHO[i].role) && !json_list_has(json_object_get(rule, "roles"), WHO[i].role))
            return &WHO[i];
    return NULL;
}

/* A 403 whose detail names a role of the rule. */
static void expect_forbidden(const api_resp *r, const json_t *rule, const char *what)
{
    expect(r, 403, what);
    const char *detail = jstr(r->json, "detail");
    size_t i;
    json_t *role;
    json_array_foreach(json_object_get(rule, "roles"), i, role) {
        if (detail && strstr(detail, json_string_value(role))) return;
    }
    api_dump(r);
    fail_msg("%s: the 403's detail does not name a role of the rule (%s)", what,
             jtext(json_object_get(rule, "roles")));
}

static void policy_rule(void **state)
{
    const rule_case *rc = *state;
    const json_t *rule = rc->rule;
    const char *target = jstr(rule, "target");
    const json_t *when = json_object_get(rule, "when");
    if (!target) fail_msg("rules[%d] has no target", rc->index);
    const who *in = holder_of(rule), *out = outsider_of(rule);
    if (!in) fail_msg("rules[%d] (%s): no dev key holds any of its roles %s", rc->index, target,
                      jtext(json_object_get(rule, "roles")));
    if (!out) fail_msg("rules[%d] (%s): every dev key holds one of its roles", rc->index, target);
    const who *dispatch = who_by_role("dispatch");
    const char *label = strf("rules[%d] %s%s%s", rc->index, target, when ? " when " : "",
                             when ? jtext(when) : "");

    if (strncmp(target, "relations/", 10) == 0) {
        const rel *r = rel_by_kind(target + 10);
        if (!r) fail_msg("%s: no relation %s is declared", label, target + 10);
        const char *base = base_of(r->owner);
        obj *F = make_end(r->def->from[0], r->def->from_rule, 0);
        obj *T = make_end(r->def->to[0], r->def->to_rule, 0);
        const char *what = strf("%s: link as %s (no role of the rule)", label, out->app);
        expect_forbidden(link_as(r, base, out->key, F->code, T->code, NULL), rule, what);
        expect_no_link(r, F->code, T->code, what);
        if (dispatch && dispatch != out && !json_list_has(json_object_get(rule, "roles"), "dispatch"))
            expect_forbidden(link_as(r, base, dispatch->key, F->code, T->code, NULL), rule,
                             strf("%s: link as dispatch", label));
        expect(link_as(r, base, in->key, F->code, T->code, NULL), 201,
               strf("%s: link as %s (role %s)", label, in->app, in->role));
        const char *end = strf("%s?from=%s&to=%s", rel_path(r), F->code, T->code);
        expect_forbidden(api_delete(base, end, out->key), rule,
                         strf("%s: end the link as %s", label, out->app));
        if (json_array_size(links_where(r, base, strf("from=%s&to=%s", F->code, T->code))) != 1)
            fail_msg("%s: the refused DELETE ended the link", label);
        expect(api_delete(base, end, in->key), 200, strf("%s: end the link as %s", label, in->app));
        return;
    }

    const coll *c = coll_by_name(target);
    if (!c) fail_msg("%s: no collection %s is declared", label, target);
    const char *base = base_of(c->owner);
    json_t *b = gen_body(c, ALL_FIELDS, when);
    const char *what = strf("%s: create as %s (no role of the rule)", label, out->app);
    expect_forbidden(post_as(c, base, out->key, b), rule, what);
    expect_nothing_stored(c, b, what);
    if (dispatch && dispatch != out && !json_list_has(json_object_get(rule, "roles"), "dispatch")) {
        expect_forbidden(post_as(c, base, dispatch->key, b), rule, strf("%s: create as dispatch", label));
        expect_nothing_stored(c, b, strf("%s: create as dispatch", label));
    }
    api_resp *ok = post_as(c, base, in->key, b);
    expect(ok, 201, strf("%s: create as %s (role %s)", label, in->app, in->role));
    if (!when_matches(when, ok->json))
        fail_msg("%s: the object made does not meet the rule's when: %s", label, ok->body);
    const char *code = jstr(ok->json, "code");

    const field_def *f = patch_field(c);
    json_t *patch = jkeep(json_object());
    json_object_set(patch, f->name, other_value(f, json_object_get(b, f->name)));
    expect_forbidden(patch_as(c, base, code, out->key, NULL, patch), rule,
                     strf("%s: PATCH as %s", label, out->app));
    expect_forbidden(api_delete(base, obj_path(c, code), out->key), rule,
                     strf("%s: DELETE as %s", label, out->app));
    if (version_of(base, target, code) != 1) fail_msg("%s: a refused write changed the object", label);
    expect(patch_as(c, base, code, in->key, NULL, patch), 200, strf("%s: PATCH as %s", label, in->app));
    expect(api_delete(base, obj_path(c, code), in->key), 200, strf("%s: DELETE as %s", label, in->app));
}

/* The admin roles write everything; dispatch writes no declared object
 * (it operates switches, and announces outages: test_switching,
 * test_outages). */
static void dispatch_writes_nothing(void **state)
{
    const who *d = who_by_role("dispatch");
    for (int i = 0; i < ncolls; i++) {
        const coll *c = &colls[i];
        if (!c->bt || c->def->own_writes) continue;
        const char *name = c->bt->collection, *base = base_of(c->owner);
        json_t *b = gen_body(c, ALL_FIELDS, NULL);
        const char *what = strf("%s: create as dispatch", name);
        expect(post_as(c, base, d->key, b), 403, what);
        expect_nothing_stored(c, b, what);
        obj *o = create_object(c, REQUIRED_ONLY, NULL);
        const field_def *f = patch_field(c);
        json_t *patch = jkeep(json_object());
        json_object_set(patch, f->name, other_value(f, json_object_get(o->answer, f->name)));
        expect(patch_as(c, base, o->code, d->key, NULL, patch), 403, strf("%s: PATCH as dispatch", name));
        expect(api_delete(base, obj_path(c, o->code), d->key), 403, strf("%s: DELETE as dispatch", name));
        if (version_of(base, name, o->code) != 1) fail_msg("%s: dispatch changed an object", name);
        /* ... which an admin may */
        const who *admin = NULL;
        for (int k = 0; k < NWHO && !admin; k++)
            if (is_admin_role(WHO[k].role)) admin = &WHO[k];
        if (admin) {
            api_resp *a = patch_as(c, base, o->code, admin->key, NULL, patch);
            expect(a, 200, strf("%s: PATCH as %s", name, admin->app));
            if (strcmp(jstr(a->json, "updated_by"), admin->app) != 0)
                fail_msg("%s: updated_by %s after the admin's patch", name, jstr(a->json, "updated_by"));
        }
    }
    for (int i = 0; i < nrels; i++) {
        const rel *r = &rels[i];
        const char *base = base_of(r->owner);
        obj *F = make_end(r->def->from[0], r->def->from_rule, 0);
        obj *T = make_end(r->def->to[0], r->def->to_rule, 0);
        const char *what = strf("%s: link as dispatch", r->def->kind);
        expect(link_as(r, base, d->key, F->code, T->code, NULL), 403, what);
        expect_no_link(r, F->code, T->code, what);
        expect(link_as(r, base, rel_writer(r)->key, F->code, T->code, NULL), 201,
               strf("%s: link", r->def->kind));
        expect(api_delete(base, strf("%s?from=%s&to=%s", rel_path(r), F->code, T->code), d->key), 403,
               strf("%s: end a link as dispatch", r->def->kind));
    }
}

/* ===== history ============================================================================== */

static json_t *history_items(const char *base, const char *path, const char *what)
{
    api_resp *h = api_get(base, path, KEY_DISPATCH);
    expect(h, 200, what);
    return list_items(h);
}

static void expect_event(const json_t *items, size_t i, const char *type, const char *code,
                         const char *other, const char *app)
{
    json_t *ev = json_array_get(items, i);
    if (!ev) fail_msg("history item %zu (%s) is missing: %s", i, type, jtext(items));
    if (!jstr(ev, "type") || strcmp(jstr(ev, "type"), type) != 0)
        fail_msg("history item %zu is %s, want %s: %s", i, jtext(json_object_get(ev, "type")), type,
                 jtext(items));
    if (!jstr(ev, "code") || strcmp(jstr(ev, "code"), code) != 0)
        fail_msg("history item %zu (%s): code %s, want %s", i, type, jtext(json_object_get(ev, "code")),
                 code);
    const char *oc = jstr(ev, "other_code");
    if (other ? !oc || strcmp(oc, other) != 0 : oc != NULL)
        fail_msg("history item %zu (%s): other_code %s, want %s", i, type, oc ? oc : "(none)",
                 other ? other : "(none)");
    if (!jstr(ev, "app") || strcmp(jstr(ev, "app"), app) != 0)
        fail_msg("history item %zu (%s): app %s, want %s", i, type, jtext(json_object_get(ev, "app")),
                 app);
    if (!is_rfc3339_utc(jstr(ev, "at")))
        fail_msg("history item %zu (%s): at is not a timestamp", i, type);
    if (!json_is_integer(json_object_get(ev, "seq")))
        fail_msg("history item %zu (%s): seq is not an integer", i, type);
    if (!json_object_get(ev, "before") || !json_object_get(ev, "after"))
        fail_msg("history item %zu (%s): before and after must both be present", i, type);
}

static void transformer_history(void **state)
{
    const coll *tc = coll_by_prefix("TR"), *lc = coll_by_prefix("LN");
    const rel *lt = rel_by_kind("line-transformer");
    if (!lt) fail_msg("the line-transformer relation is not declared");
    const char *g = grid_url();
    const char *type = tc->bt->type;
    obj *t = create_object(tc, REQUIRED_ONLY, jkeep(json_pack("{s:s}", "kind", "public")));
    const char *app = t->by->app;

    json_t *n1 = jkeep(json_pack("{s:s}", "name", strf("renamed %s", uniq())));
    expect(patch_as(tc, g, t->code, t->by->key, "\"1\"", n1), 200, "transformer: first patch");
    double cap0 = json_number_value(json_object_get(t->answer, "capacity_kva"));
    double cap1 = cap0 >= 500 ? cap0 / 2 : cap0 * 2;
    json_t *n2 = jkeep(json_pack("{s:f}", "capacity_kva", cap1));
    expect(patch_as(tc, g, t->code, t->by->key, "\"2\"", n2), 200, "transformer: second patch");

    obj *line = create_object(lc, REQUIRED_ONLY, jkeep(json_pack("{s:s}", "kind", "public")));
    const who *lw = rel_writer(lt);
    expect(link_as(lt, g, lw->key, line->code, t->code, NULL), 201, "transformer: link to a line");
    expect(api_delete(g, strf("%s?from=%s&to=%s", rel_path(lt), line->code, t->code), lw->key), 200,
           "transformer: end the link");
    retire_obj(t);

    const char *path = strf("%s/history", obj_path(tc, t->code));
    json_t *items = history_items(g, path, "transformer: history");
    if (json_array_size(items) != 6)
        fail_msg("transformer history: want 6 events (created, updated x2, relation added and "
                 "ended, retired), got %zu: %s",
                 json_array_size(items), jtext(items));
    expect_event(items, 0, strf("%s.created", type), t->code, NULL, app);
    expect_event(items, 1, strf("%s.updated", type), t->code, NULL, app);
    expect_event(items, 2, strf("%s.updated", type), t->code, NULL, app);
    expect_event(items, 3, "relation.added", line->code, t->code, lw->app);
    expect_event(items, 4, "relation.ended", line->code, t->code, lw->app);
    expect_event(items, 5, strf("%s.retired", type), t->code, NULL, app);

    json_t *e0 = json_array_get(items, 0), *e1 = json_array_get(items, 1), *e2 = json_array_get(items, 2);
    json_t *e3 = json_array_get(items, 3), *e4 = json_array_get(items, 4), *e5 = json_array_get(items, 5);
    if (!json_is_null(json_object_get(e0, "before")) ||
        !json_equal(json_object_get(e0, "after"), t->answer))
        fail_msg("transformer history: created should have before null and after the created "
                 "object %s: %s",
                 jtext(t->answer), jtext(e0));
    json_t *b1 = json_object_get(e1, "before"), *a1 = json_object_get(e1, "after");
    if (!jstr(b1, "name") || strcmp(jstr(b1, "name"), jstr(t->answer, "name")) ||
        !jstr(a1, "name") || strcmp(jstr(a1, "name"), jstr(n1, "name")) || jint(b1, "version") != 1 ||
        jint(a1, "version") != 2)
        fail_msg("transformer history: the first update should show name %s -> %s (version 1 -> 2): %s",
                 jstr(t->answer, "name"), jstr(n1, "name"), jtext(e1));
    json_t *b2 = json_object_get(e2, "before"), *a2 = json_object_get(e2, "after");
    if (json_number_value(json_object_get(b2, "capacity_kva")) != cap0 ||
        json_number_value(json_object_get(a2, "capacity_kva")) != cap1 || jint(a2, "version") != 3)
        fail_msg("transformer history: the second update should show capacity_kva %g -> %g: %s",
                 cap0, cap1, jtext(e2));
    json_t *a3 = json_object_get(e3, "after"), *a4 = json_object_get(e4, "after");
    if (!jstr(a3, "kind") || strcmp(jstr(a3, "kind"), lt->def->kind) ||
        !json_is_null(json_object_get(a3, "valid_to")))
        fail_msg("transformer history: relation.added should hold the new link: %s", jtext(e3));
    if (!is_rfc3339_utc(jstr(a4, "valid_to")))
        fail_msg("transformer history: relation.ended should hold the link with valid_to: %s", jtext(e4));
    if (!jstr(json_object_get(e5, "before"), "status") ||
        strcmp(jstr(json_object_get(e5, "before"), "status"), tc->def->statuses->initial) ||
        !jstr(json_object_get(e5, "after"), "status") ||
        strcmp(jstr(json_object_get(e5, "after"), "status"), "retired"))
        fail_msg("transformer history: retired should show status %s -> retired: %s",
                 tc->def->statuses->initial, jtext(e5));
    for (size_t i = 1; i < json_array_size(items); i++) {
        json_t *p = json_array_get(items, i - 1), *c = json_array_get(items, i);
        if (jint(c, "seq") <= jint(p, "seq") ||
            rfc3339_seconds(jstr(c, "at")) < rfc3339_seconds(jstr(p, "at")))
            fail_msg("transformer history: item %zu is not after item %zu: %s", i, i - 1, jtext(items));
    }

    /* the same through cust-svc */
    api_resp *own = api_get(g, path, KEY_DISPATCH), *prox = api_get(cust_url(), path, KEY_DISPATCH);
    expect(prox, 200, "transformer history through cust-svc");
    if (!json_equal(own->json, prox->json))
        fail_msg("transformer history through cust-svc differs: %s\n  owner: %s", prox->body, own->body);

    /* paging with limit=2, on both platforms */
    const char *bases[] = {g, cust_url()};
    for (int b = 0; b < 2; b++) {
        json_t *all = jkeep(json_array());
        const char *after = NULL;
        int pages = 0;
        for (;;) {
            api_resp *p = api_get(bases[b], strf("%s?limit=2%s%s", path, after ? "&after=" : "",
                                                 after ? after : ""),
                                  KEY_DISPATCH);
            json_t *pi = list_items(p);
            if (json_array_size(pi) > 2) fail_msg("history?limit=2 answered %zu items", json_array_size(pi));
            json_array_extend(all, pi);
            pages++;
            json_t *next = json_object_get(p->json, "next");
            if (!json_is_string(next) || pages > 10) break;
            after = it_strdup(json_string_value(next));
        }
        if (!json_equal(all, items))
            fail_msg("history walked with limit=2 on %s (%d pages) differs from the whole: %s",
                     b ? "cust-svc" : "grid-svc", pages, jtext(all));
        if (pages != 3)
            fail_msg("history of 6 events with limit=2 on %s took %d pages, want 3",
                     b ? "cust-svc" : "grid-svc", pages);
    }
}

/* ===== registry and OpenAPI ======================================================================= */

/* Each object type is declared once, by the service that owns it; each relation too. */
static void declarations_match_the_registry(void **state)
{
    for (int i = 0; i < ncolls; i++)
        if (!colls[i].bt)
            fail_msg("%s declares collection %s (prefix %s), which is not in the bizcode registry",
                     service_name(colls[i].owner), colls[i].def->table, colls[i].def->prefix);
    for (int t = 0; t < biz_ntypes; t++) {
        int n = 0;
        for (int i = 0; i < ncolls; i++)
            if (colls[i].bt == &biz_types[t]) {
                n++;
                if (colls[i].owner != biz_types[t].owner)
                    fail_msg("%s (%s) is declared by %s but owned by %s", biz_types[t].collection,
                             biz_types[t].prefix, service_name(colls[i].owner),
                             service_name(biz_types[t].owner));
            }
        if (n != 1)
            fail_msg("%s (%s) is declared %d times; every object type lives in exactly one place",
                     biz_types[t].collection, biz_types[t].prefix, n);
    }
    for (int k = 0; k < biz_nrelations; k++) {
        const rel *r = rel_by_kind(biz_relations[k].kind);
        if (!r) fail_msg("relation %s is registered but not declared", biz_relations[k].kind);
        if (r->owner != biz_relations[k].owner)
            fail_msg("relation %s is declared by %s but owned by %s", r->def->kind,
                     service_name(r->owner), service_name(biz_relations[k].owner));
    }
    for (int i = 0; i < nrels; i++)
        if (!biz_relation_by_kind(rels[i].def->kind))
            fail_msg("relation %s is declared but not registered", rels[i].def->kind);
}

static void expect_methods(const json_t *paths, const char *path, const char *const *methods,
                           const char *what)
{
    json_t *item = json_object_get(paths, path);
    if (!item) fail_msg("%s: /openapi.json has no path %s", what, path);
    for (const char *const *m = methods; *m; m++)
        if (!json_object_get(item, *m)) fail_msg("%s: /openapi.json has no %s %s", what, *m, path);
}

static void openapi_lists_declarations(void **state)
{
    const service_id *id = *state;
    const char *base = base_of(*id);
    api_resp *r = api_get(base, "/openapi.json", NULL);
    expect(r, 200, strf("%s /openapi.json", service_name(*id)));
    json_t *paths = json_object_get(r->json, "paths");
    json_t *schemas = json_object_get(json_object_get(r->json, "components"), "schemas");
    if (!json_is_object(paths) || !json_is_object(schemas))
        fail_msg("%s /openapi.json has no paths or components.schemas", service_name(*id));
    for (int i = 0; i < ncolls; i++) {
        const coll *c = &colls[i];
        if (c->owner != *id || !c->bt) continue;
        const char *what = strf("%s %s", service_name(*id), c->bt->collection);
        /* collections written by their own routes: their reads are generic */
        int own = c->def->own_writes;
        expect_methods(paths, coll_path(c), (const char *const[]){"get", own ? NULL : "post", NULL},
                       what);
        expect_methods(paths, strf("%s/{code}", coll_path(c)),
                       own ? (const char *const[]){"get", NULL}
                           : (const char *const[]){"get", "patch", "delete", NULL},
                       what);
        expect_methods(paths, strf("%s/{code}/history", coll_path(c)),
                       (const char *const[]){"get", NULL}, what);
        json_t *sch = json_object_get(schemas, c->bt->type);
        json_t *props = json_object_get(sch, "properties"), *req = json_object_get(sch, "required");
        if (!json_is_object(props)) fail_msg("%s: no schema %s", what, c->bt->type);
        size_t nreq = 0;
        for (const field_def *f = c->def->fields; f->name; f++) {
            if (!json_object_get(props, f->name))
                fail_msg("%s: schema %s lacks the field %s", what, c->bt->type, f->name);
            if (f->flags & FF_REQUIRED) {
                nreq++;
                if (!json_list_has(req, f->name))
                    fail_msg("%s: schema %s does not list %s as required", what, c->bt->type, f->name);
            }
        }
        if (json_array_size(req) != nreq)
            fail_msg("%s: schema %s requires %s; the declaration requires %zu fields", what,
                     c->bt->type, jtext(req), nreq);
    }
    for (int i = 0; i < nrels; i++) {
        const rel *rr = &rels[i];
        if (rr->owner != *id) continue;
        const char *what = strf("%s relation %s", service_name(*id), rr->def->kind);
        expect_methods(paths, rel_path(rr), (const char *const[]){"get", "post", "delete", NULL}, what);
        json_t *props = json_object_get(json_object_get(schemas, strf("%s-link", rr->def->kind)),
                                        "properties");
        if (!json_is_object(props)) fail_msg("%s: no schema %s-link", what, rr->def->kind);
        for (const field_def *f = rr->def->attrs; f && f->name; f++)
            if (!json_object_get(props, f->name))
                fail_msg("%s: schema %s-link lacks the attribute %s", what, rr->def->kind, f->name);
    }
}

static void policy_file_is_readable(void **state)
{
    fail_msg("cannot read the policy named by POLICY_FILE (%s)",
             getenv("POLICY_FILE") ? getenv("POLICY_FILE") : "unset");
}

/* ===== the test list ======================================================================== */

static struct CMUnitTest *tests;
static char **names;
static size_t ntests, cap;

static void add_test(const char *fn_name, const char *label, CMUnitTestFunction fn,
                     CMFixtureFunction teardown, void *st)
{
    if (ntests == cap) {
        cap = cap ? cap * 2 : 256;
        tests = realloc(tests, cap * sizeof *tests);
        names = realloc(names, cap * sizeof *names);
        if (!tests || !names) abort();
    }
    char *name = NULL;
    if (asprintf(&name, label ? "%s (%s)" : "%s", fn_name, label) < 0) abort();
    names[ntests] = name;
    tests[ntests++] = (struct CMUnitTest){name, fn, NULL, teardown, st};
}

#define ADD(fn, label, st) add_test(#fn, label, fn, it_teardown, (void *)(st))
#define ADD_EXTRA(fn, label, st) add_test(#fn, label, fn, stop_extra, (void *)(st))

int main(void)
{
    it_filter();
    srand((unsigned)(time(NULL) ^ getpid()));
    load_declarations();
    const char *pf = getenv("POLICY_FILE");
    if (pf && *pf) policy = json_load_file(pf, 0, NULL);

    static const service_id ids[] = {SVC_GRID, SVC_CUST};
    static rule_case rule_cases[256];

    ADD(declarations_match_the_registry, NULL, NULL);
    if (!json_is_array(json_object_get(policy, "rules"))) {
        ADD(policy_file_is_readable, NULL, NULL);
    } else {
        for (int i = 0; i < ncolls; i++) {
            const coll *c = &colls[i];
            /* Collections written by their own routes only (outages, notices,
             * trouble calls): test_outages. */
            if (!c->bt || c->def->own_writes) continue;
            const char *n = c->bt->collection;
            ADD(collection_create_get, n, c);
            ADD(collection_list_filters, n, c);
            ADD(collection_patch_if_match, n, c);
            ADD(collection_retire, n, c);
            ADD(collection_bad_input, n, c);
            ADD(collection_non_owner, n, c);
            if (has_flag(c, FF_UNIQUE)) ADD(collection_unique_fields, n, c);
            if (has_type(c, FT_CODE)) ADD(collection_references, n, c);
            if (has_dflt(c)) ADD(collection_null_default, n, c);
            if (has_peer_refs(c)) ADD(collection_patch_rights_before_peer, n, c);
            if (has_peer_refs(c)) ADD_EXTRA(collection_peer_down, n, c);
        }
        for (int i = 0; i < nrels; i++) {
            ADD(relation_rules, rels[i].def->kind, &rels[i]);
            ADD(relation_non_owner, rels[i].def->kind, &rels[i]);
            if (rel_has_peer_end(&rels[i])) ADD_EXTRA(relation_peer_down, rels[i].def->kind, &rels[i]);
        }
        size_t i;
        json_t *rule;
        json_array_foreach(json_object_get(policy, "rules"), i, rule) {
            if (i >= sizeof rule_cases / sizeof *rule_cases) break;
            /* The steps of a work order (work-orders/<step>): test_workorders;
             * commands (switches/operate): test_switching. */
            const char *target = jstr(rule, "target");
            if (target && strchr(target, '/') && strncmp(target, "relations/", 10) != 0) continue;
            const coll *own = target ? coll_by_name(target) : NULL;
            if (own && own->def->own_writes) continue;
            rule_cases[i] = (rule_case){rule, (int)i};
            const json_t *when = json_object_get(rule, "when");
            char *w = when ? json_dumps(when, JSON_COMPACT) : NULL;
            char *label = NULL;
            if (asprintf(&label, "%s%s%s", jstr(rule, "target") ? jstr(rule, "target") : "?",
                         w ? " when " : "", w ? w : "") < 0)
                abort();
            ADD(policy_rule, label, &rule_cases[i]);
            free(w);
            free(label);
        }
        ADD(numbers_keep_their_precision, NULL, NULL);
        ADD(dispatch_writes_nothing, NULL, NULL);
        ADD(transformer_history, NULL, NULL);
    }
    ADD(openapi_lists_declarations, "grid-svc", &ids[0]);
    ADD(openapi_lists_declarations, "cust-svc", &ids[1]);

    int rc = _cmocka_run_group_tests("table1", tests, ntests, it_group_setup, it_group_teardown);
    for (size_t k = 0; k < ntests; k++) free(names[k]);
    free(names);
    free(tests);
    json_decref(policy);
    return rc;
}
