/* test_switching.c -- the grid as it is operated (DESIGN §9): switches and
 * their normal and current positions, ties between lines, operating a
 * switch, and what traces and outage impact answer in each state.
 *
 * Every test builds its own small grid with fresh codes through the API and
 * asks both platforms the same questions: each answer must hold exactly the
 * customers (or nodes and edges) expected, and the two platforms' answers
 * must be the same. Customers hang on a line in two ways: an hv customer on
 * a dedicated transformer (TR -> CU), and low-voltage customers behind a
 * public transformer's access point (AP -> meter box <- meter -> metering
 * point -> CU), so every walk crosses between the platforms.
 *
 * Longer than 600 lines: one file per contract section, as the other suites
 * are; each scenario builds its own grid and reads on its own. */
#include "client.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* ---- string sets ------------------------------------------------------------------------- */

#define SET_MAX 256

typedef struct strset {
    const char *v[SET_MAX];
    int n;
} strset;

static strset *set_new(void)
{
    return it_track(calloc(1, sizeof(strset)), free);
}

static void set_add(strset *s, const char *x)
{
    assert_true(s->n < SET_MAX);
    s->v[s->n++] = it_strdup(x);
}

static int set_has(const strset *s, const char *x)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->v[i], x) == 0) return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted, one item per line (duplicates kept, so they show). */
static char *set_text(strset *s)
{
    qsort(s->v, (size_t)s->n, sizeof s->v[0], cmp_str);
    size_t len = 1;
    for (int i = 0; i < s->n; i++) len += strlen(s->v[i]) + 1;
    char *out = it_track(calloc(1, len), free);
    for (int i = 0; i < s->n; i++) {
        strcat(out, s->v[i]);
        strcat(out, "\n");
    }
    return out;
}

/* NULL-terminated list of items. */
static strset *set_of(const char *first, ...)
{
    strset *s = set_new();
    va_list ap;
    va_start(ap, first);
    for (const char *x = first; x; x = va_arg(ap, const char *)) set_add(s, x);
    va_end(ap);
    return s;
}

/* The items of every set given, NULL-terminated. */
static strset *set_union(const strset *first, ...)
{
    strset *s = set_new();
    va_list ap;
    va_start(ap, first);
    for (const strset *x = first; x; x = va_arg(ap, const strset *))
        for (int i = 0; i < x->n; i++) set_add(s, x->v[i]);
    va_end(ap);
    return s;
}

#define assert_set_equal(got, want, what)                                                       \
    do {                                                                                        \
        char *g_ = set_text(got), *w_ = set_text(want);                                         \
        if (strcmp(g_, w_) != 0)                                                                \
            fail_msg("%s differ.\n--- got (%d):\n%s--- want (%d):\n%s", (what), (got)->n, g_,     \
                     (want)->n, w_);                                                            \
    } while (0)

/* ---- building grids ---------------------------------------------------------------------- */

static const char *rel_base(const char *kind)
{
    static const char *const cust_kinds[] = {"supplypoint-meteringpoint", "meter-meterbox",
                                             "meter-meteringpoint", NULL};
    for (const char *const *k = cust_kinds; *k; k++)
        if (strcmp(*k, kind) == 0) return cust_url();
    return grid_url();
}

/* POST /v1/relations/kind {from, to} plus the members of more (stolen; may be NULL). */
static api_resp *link_raw(const char *key, const char *kind, const char *from, const char *to,
                          json_t *more)
{
    json_t *b = json_pack("{s:s, s:s}", "from", from, "to", to);
    if (more) {
        json_object_update(b, more);
        json_decref(more);
    }
    return api_post(rel_base(kind), strf("/v1/relations/%s", kind), key, jdump(b));
}

static void link_ok(const char *kind, const char *from, const char *to)
{
    assert_status(link_raw(KEY_ADMIN, kind, from, to, NULL), 201);
}

/* A link that names its switch (sw may be NULL: none). */
static void link_sw(const char *kind, const char *from, const char *to, const char *sw)
{
    json_t *more = json_object();
    if (sw) json_object_set_new(more, "switch", json_string(sw));
    api_resp *r = link_raw(KEY_ADMIN, kind, from, to, more);
    assert_status(r, 201);
    if (sw) assert_string_equal(jstr(r->json, "switch"), sw);
}

/* substation-line with a role ("source" or "tie") and a switch (or NULL). */
static void feed(const char *ss, const char *ln, const char *role, const char *sw)
{
    json_t *more = json_pack("{s:s}", "role", role);
    if (sw) json_object_set_new(more, "switch", json_string(sw));
    api_resp *r = link_raw(KEY_ADMIN, "substation-line", ss, ln, more);
    assert_status(r, 201);
    assert_string_equal(jstr(r->json, "role"), role);
}

/* A tie between two lines, made by sw (role production). */
static void tie(const char *a, const char *b, const char *sw)
{
    api_resp *r = link_raw(KEY_PRODUCTION, "line-line", a, b, json_pack("{s:s}", "switch", sw));
    assert_status(r, 201);
    assert_string_equal(jstr(r->json, "switch"), sw);
}

static char *new_ss(void)
{
    return create_substation(strf("110kV switching SS %s", uniq()));
}

static char *new_line(void)
{
    return create_line(KEY_PRODUCTION, strf("10kV switching line %s", uniq()), "public", 10);
}

static char *new_room(void)
{
    return mk(grid_url(), "station-rooms", KEY_PRODUCTION,
              json_pack("{s:s, s:s}", "name", strf("room %s", uniq()), "kind",
                        "distribution_room"));
}

/* A switch (role production): current_open starts as normal_open. */
static char *new_switch(const char *kind, int normal_open, const char *room)
{
    json_t *b = json_pack("{s:s, s:s, s:b}", "name", strf("SW %s", uniq()), "kind", kind,
                          "normal_open", normal_open);
    if (room) json_object_set_new(b, "station_room", json_string(room));
    api_resp *r = create_ok(grid_url(), "switches", KEY_PRODUCTION, jdump(b));
    assert_true(json_is_boolean(json_object_get(r->json, "current_open")));
    assert_int_equal(json_is_true(json_object_get(r->json, "current_open")), normal_open);
    return it_strdup(jstr(r->json, "code"));
}

/* A dedicated transformer on ln (through sw, standing in room; either may
 * be NULL) serving one hv customer, whose code is added to out. */
static char *hv_tr(const char *ln, const char *sw, const char *room, strset *out, char **cu_out)
{
    json_t *b = json_pack("{s:s, s:s, s:f, s:f}", "name", strf("hv TR %s", uniq()), "kind",
                          "dedicated", "capacity_kva", 630.0, "voltage_kv", 10.0);
    if (room) json_object_set_new(b, "station_room", json_string(room));
    char *tr = mk(grid_url(), "transformers", KEY_MARKETING, b);
    char *cu = mk(cust_url(), "customers", KEY_MARKETING,
                  json_pack("{s:s, s:s, s:s}", "name", strf("hv customer %s", uniq()), "category",
                            "hv", "phone", strf("0571-%08d", rand() % 100000000)));
    link_sw("line-transformer", ln, tr, sw);
    link_ok("transformer-customer", tr, cu);
    if (out) set_add(out, cu);
    if (cu_out) *cu_out = cu;
    return tr;
}

/* The low-voltage part behind one public transformer. */
typedef struct lv_area {
    char *tr, *ap, *mb;
    int n;
    char *cu[4], *mp[4], *mt[4];
} lv_area;

/* A public transformer on ln (through sw, or none), an access point (hung
 * on pole, when not NULL) in its area, a meter box, and n customers, whose
 * codes are added to out. */
static lv_area *lv_tr(const char *ln, const char *sw, const char *pole, int n, strset *out)
{
    assert_true(n <= 4);
    lv_area *a = it_track(calloc(1, sizeof *a), free);
    a->n = n;
    a->tr = mk(grid_url(), "transformers", KEY_PRODUCTION,
               json_pack("{s:s, s:s, s:f, s:f}", "name", strf("lv TR %s", uniq()), "kind", "public",
                         "capacity_kva", 400.0, "voltage_kv", 10.0));
    json_t *ap = json_pack("{s:s}", "name", strf("AP %s", uniq()));
    if (pole) json_object_set_new(ap, "pole", json_string(pole));
    a->ap = mk(grid_url(), "access-points", KEY_PRODUCTION, ap);
    a->mb = mk(cust_url(), "meter-boxes", KEY_MARKETING,
               json_pack("{s:s, s:i, s:i}", "name", strf("box %s", uniq()), "rows", 2, "cols", 2));
    link_sw("line-transformer", ln, a->tr, sw);
    link_ok("accesspoint-transformer", a->ap, a->tr);
    link_ok("accesspoint-meterbox", a->ap, a->mb);
    for (int i = 0; i < n; i++) {
        a->cu[i] = create_customer(strf("lv customer %d %s", i, uniq()), NULL);
        a->mp[i] = mk(cust_url(), "metering-points", KEY_MARKETING,
                      json_pack("{s:s, s:s}", "name", strf("MP %d", i), "customer", a->cu[i]));
        a->mt[i] = mk(cust_url(), "meters", KEY_MARKETING,
                      json_pack("{s:s, s:s}", "asset_no", strf("A%s", uniq()), "phase", "single"));
        link_ok("meter-meterbox", a->mt[i], a->mb);
        link_ok("meter-meteringpoint", a->mt[i], a->mp[i]);
        if (out) set_add(out, a->cu[i]);
    }
    return a;
}

/* A line's customers: one hv customer and nlv low-voltage ones (its
 * transformers hang on the line with no switch). */
typedef struct feeder {
    char *ln, *hv_tr, *hv_cu;
    lv_area *lv;
    strset *cust;
} feeder;

static feeder *new_feeder(int nlv)
{
    feeder *f = it_track(calloc(1, sizeof *f), free);
    f->ln = new_line();
    f->cust = set_new();
    f->hv_tr = hv_tr(f->ln, NULL, NULL, f->cust, &f->hv_cu);
    if (nlv) f->lv = lv_tr(f->ln, NULL, NULL, nlv, f->cust);
    return f;
}

/* Every node of a trace down from the feeder's line, the line included. */
static strset *below(const feeder *f)
{
    strset *s = set_of(f->ln, f->hv_tr, f->hv_cu, NULL);
    if (f->lv) {
        set_add(s, f->lv->tr);
        set_add(s, f->lv->ap);
        set_add(s, f->lv->mb);
        for (int i = 0; i < f->lv->n; i++) {
            set_add(s, f->lv->cu[i]);
            set_add(s, f->lv->mp[i]);
            set_add(s, f->lv->mt[i]);
        }
    }
    return s;
}

/* ---- reading answers --------------------------------------------------------------------- */

static const char *state_q(const char *state)
{
    return state ? strf("&state=%s", state) : "";
}

/* "FROM > TO (kind)", and " [SW open|closed]" where the link names a switch. */
static const char *E(const char *from, const char *to, const char *kind)
{
    return strf("%s > %s (%s)", from, to, kind);
}

static const char *ES(const char *from, const char *to, const char *kind, const char *sw, int open)
{
    return strf("%s > %s (%s) [%s %s]", from, to, kind, sw, open ? "open" : "closed");
}

static strset *node_codes(const api_resp *r)
{
    strset *s = set_new();
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(r->json, "nodes"), i, n) {
        assert_non_null(jstr(n, "code"));
        set_add(s, jstr(n, "code"));
    }
    return s;
}

static strset *edge_set(const api_resp *r)
{
    strset *s = set_new();
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r->json, "edges"), i, e) {
        const char *from = jstr(e, "from"), *to = jstr(e, "to"), *kind = jstr(e, "kind");
        if (!from || !to || !kind) fail_msg("an edge without from, to or kind: %s", r->body);
        json_t *sw = json_object_get(e, "switch"), *open = json_object_get(e, "open");
        if (sw && !json_is_null(sw)) {
            if (!json_is_string(sw) || !json_is_boolean(open))
                fail_msg("an edge with a switch wants \"switch\": code and \"open\": boolean: %s",
                         jdump(json_incref(e)));
            set_add(s, ES(from, to, kind, json_string_value(sw), json_is_true(open)));
        } else {
            if (open && !json_is_null(open))
                fail_msg("an edge with no switch says open: %s", jdump(json_incref(e)));
            set_add(s, E(from, to, kind));
        }
    }
    return s;
}

static strset *node_dumps(const api_resp *r)
{
    strset *s = set_new();
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(r->json, "nodes"), i, n) {
        char *d = json_dumps(n, JSON_COMPACT | JSON_SORT_KEYS);
        set_add(s, d);
        free(d);
    }
    return s;
}

static api_resp *trace_ok(const char *base, const char *code, const char *dir, const char *state)
{
    api_resp *r = api_get(base, strf("/v1/trace/%s?direction=%s%s", code, dir, state_q(state)),
                          KEY_DISPATCH);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "root"), code);
    assert_string_equal(jstr(r->json, "direction"), dir);
    assert_true(json_is_array(json_object_get(r->json, "nodes")));
    assert_true(json_is_array(json_object_get(r->json, "edges")));
    return r;
}

/* The trace on both platforms: exactly these nodes and edges (either may be
 * NULL: not checked), and the same answer from both. */
static api_resp *trace_both(const char *code, const char *dir, const char *state, strset *nodes,
                            strset *edges)
{
    api_resp *g = trace_ok(grid_url(), code, dir, state);
    api_resp *c = trace_ok(cust_url(), code, dir, state);
    const char *what = strf("trace %s of %s (state %s)", dir, code, state ? state : "default");
    if (nodes) {
        assert_set_equal(node_codes(g), nodes, strf("nodes of the grid-svc %s", what));
        assert_set_equal(node_codes(c), nodes, strf("nodes of the cust-svc %s", what));
    }
    if (edges) {
        assert_set_equal(edge_set(g), edges, strf("edges of the grid-svc %s", what));
        assert_set_equal(edge_set(c), edges, strf("edges of the cust-svc %s", what));
    }
    assert_set_equal(node_dumps(c), node_dumps(g), strf("nodes of the two platforms' %s", what));
    assert_set_equal(edge_set(c), edge_set(g), strf("edges of the two platforms' %s", what));
    return g;
}

/* "SW=N,SW=N" in the answer's order. */
static char *restorable_text(const api_resp *r)
{
    json_t *rs = json_object_get(r->json, "restorable");
    if (!json_is_array(rs)) fail_msg("no restorable array in %s", r->body);
    char *out = "";
    size_t i;
    json_t *x;
    json_array_foreach(rs, i, x) {
        if (!jstr(x, "switch") || !json_is_integer(json_object_get(x, "customers")))
            fail_msg("a restorable item wants switch and customers: %s", r->body);
        out = strf("%s%s%s=%lld", out, i ? "," : "", jstr(x, "switch"), jint(x, "customers"));
    }
    return out;
}

/* Restorable items in the contract's order: largest first, then by switch code. */
typedef struct rest {
    const char *sw;
    int n;
} rest_item;

static int cmp_rest(const void *a, const void *b)
{
    const rest_item *x = a, *y = b;
    if (x->n != y->n) return y->n - x->n;
    return strcmp(x->sw, y->sw);
}

/* The text of restorable_text for n items of {sw, count}, in the contract's order. */
static char *want_rest(int n, ...)
{
    rest_item r[8];
    assert_true(n <= 8);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        r[i].sw = va_arg(ap, const char *);
        r[i].n = va_arg(ap, int);
    }
    va_end(ap);
    qsort(r, (size_t)n, sizeof r[0], cmp_rest);
    char *out = "";
    for (int i = 0; i < n; i++) out = strf("%s%s%s=%d", out, i ? "," : "", r[i].sw, r[i].n);
    return out;
}

static api_resp *impact_on(const char *base, const char *codes, const char *state, const char *more)
{
    return api_get(base,
                   strf("/v1/outage-impact?codes=%s&limit=1000%s%s", codes, state_q(state),
                        more ? more : ""),
                   KEY_DISPATCH);
}

/* Outage impact of codes in state (NULL: the default) on both platforms:
 * exactly the customers want, counted, in code order, the state echoed, the
 * restorable switches exactly rest (when not NULL), and the same answer from
 * both. */
static api_resp *impact_both(const char *codes, const char *state, strset *want, const char *rest)
{
    api_resp *r[2] = {impact_on(grid_url(), codes, state, NULL),
                      impact_on(cust_url(), codes, state, NULL)};
    const char *what = strf("outage-impact of %s (state %s)", codes, state ? state : "default");
    for (int p = 0; p < 2; p++) {
        const char *label = p ? "cust-svc" : "grid-svc";
        assert_status(r[p], 200);
        json_t *list = json_object_get(r[p]->json, "customers");
        if (!json_is_array(list)) fail_msg("%s %s: no customers array", label, what);
        strset *got = set_new();
        const char *prev = "";
        size_t i;
        json_t *c;
        json_array_foreach(list, i, c) {
            const char *code = jstr(c, "code");
            assert_non_null(code);
            if (strcmp(prev, code) >= 0)
                fail_msg("%s %s: customers not in code order: %s then %s", label, what, prev, code);
            prev = code;
            set_add(got, code);
        }
        assert_set_equal(got, want, strf("customers of the %s %s", label, what));
        assert_int_equal(jint(json_object_get(r[p]->json, "counts"), "total"), want->n);
        assert_true(json_is_null(json_object_get(r[p]->json, "next")));
        const char *st = jstr(r[p]->json, "state");
        if (!st || strcmp(st, state ? state : "current") != 0)
            fail_msg("%s %s: state %s, want %s", label, what, st ? st : "(absent)",
                     state ? state : "current");
        if (rest && strcmp(restorable_text(r[p]), rest) != 0)
            fail_msg("%s %s: restorable [%s], want [%s]", label, what, restorable_text(r[p]), rest);
    }
    if (!json_equal(r[0]->json, r[1]->json))
        fail_msg("the two platforms answer %s differently:\ngrid-svc %s\ncust-svc %s", what,
                 r[0]->body, r[1]->body);
    return r[0];
}

/* The same customers (and restorable) in both states. */
static void impact_states(const char *codes, strset *want, const char *rest)
{
    impact_both(codes, "current", want, rest);
    impact_both(codes, "normal", want, rest);
}

/* ---- operating --------------------------------------------------------------------------- */

static api_resp *operate_as(const char *base, const char *key, const char *sw, const char *body,
                            const char *if_match)
{
    api_opts o = {.key = key, .if_match = if_match};
    return api_call("POST", strf("%s/v1/switches/%s/operate", base, sw), &o, body,
                    body ? strlen(body) : 0);
}

static const char *op_body(int open, const char *reason)
{
    return jdump(json_pack("{s:b, s:s}", "open", open, "reason", reason));
}

/* Operated by dispatch with the current ETag: 200, the new position, version + 1. */
static json_t *operate_ok(const char *sw, int open, const char *reason)
{
    long long v = version_of(grid_url(), "switches", sw);
    api_resp *r =
        operate_as(grid_url(), KEY_DISPATCH, sw, op_body(open, reason), strf("\"%lld\"", v));
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "code"), sw);
    assert_int_equal(json_is_true(json_object_get(r->json, "current_open")), open);
    assert_true(json_is_boolean(json_object_get(r->json, "current_open")));
    assert_int_equal(jint(r->json, "version"), v + 1);
    assert_string_equal(r->etag, strf("\"%lld\"", v + 1));
    return r->json;
}

/* A switch as stored, and how much history it has. */
typedef struct sw_seen {
    long long version;
    int current_open, normal_open;
    size_t history;
    char etag[128];
} sw_seen;

static json_t *history_of(const char *sw)
{
    api_resp *r = api_get(grid_url(), strf("/v1/switches/%s/history?limit=1000", sw), KEY_DISPATCH);
    assert_status(r, 200);
    return list_items(r);
}

static sw_seen seen(const char *sw)
{
    sw_seen s = {0};
    api_resp *r = api_get(grid_url(), strf("/v1/switches/%s", sw), KEY_DISPATCH);
    assert_status(r, 200);
    s.version = jint(r->json, "version");
    s.current_open = json_is_true(json_object_get(r->json, "current_open"));
    s.normal_open = json_is_true(json_object_get(r->json, "normal_open"));
    snprintf(s.etag, sizeof s.etag, "%s", r->etag);
    s.history = json_array_size(history_of(sw));
    return s;
}

static void assert_unchanged(const char *sw, const sw_seen *before, const char *what)
{
    sw_seen now = seen(sw);
    if (now.version != before->version || now.current_open != before->current_open ||
        now.normal_open != before->normal_open || strcmp(now.etag, before->etag) != 0 ||
        now.history != before->history)
        fail_msg("after %s the switch changed: version %lld -> %lld, current_open %d -> %d, "
                 "normal_open %d -> %d, ETag %s -> %s, history %zu -> %zu items",
                 what, before->version, now.version, before->current_open, now.current_open,
                 before->normal_open, now.normal_open, before->etag, now.etag, before->history,
                 now.history);
}

/* History items of type switch.operated. */
static json_t *operations_in(json_t *history)
{
    json_t *out = jkeep(json_array());
    size_t i;
    json_t *h;
    json_array_foreach(history, i, h)
        if (jstr(h, "type") && strcmp(jstr(h, "type"), "switch.operated") == 0)
            json_array_append(out, h);
    return out;
}

/* The newest event sequence number on base. */
static long long newest_event(const char *base)
{
    long long after = 0;
    for (;;) {
        api_resp *r = api_get(base, strf("/v1/events?after=%lld&limit=1000", after), KEY_DISPATCH);
        if (r->status == 410) {
            after = jint(r->json, "resume_after");
            continue;
        }
        assert_status(r, 200);
        json_t *items = list_items(r);
        size_t n = json_array_size(items);
        if (n) after = jint(json_array_get(items, n - 1), "seq");
        if (json_is_null(json_object_get(r->json, "next"))) return after;
    }
}

/* Events of type after seq about code. */
static json_t *events_of(const char *base, long long after, const char *type, const char *code)
{
    json_t *out = jkeep(json_array());
    for (;;) {
        api_resp *r = api_get(base, strf("/v1/events?after=%lld&limit=1000&types=%s", after, type),
                              KEY_DISPATCH);
        assert_status(r, 200);
        json_t *items = list_items(r);
        size_t i;
        json_t *e;
        json_array_foreach(items, i, e) {
            after = jint(e, "seq");
            if (jstr(e, "code") && strcmp(jstr(e, "code"), code) == 0) json_array_append(out, e);
        }
        if (json_is_null(json_object_get(r->json, "next")) || json_array_size(items) == 0)
            return out;
    }
}

/* ---- 1. a tie substation ----------------------------------------------------------------- */

/* A line with a source and a tie substation (role tie, no switch: open in
 * both states): the tie's outage cuts none of the line's customers and a
 * trace up reaches the source only. A second tie through a normally-open
 * switch is the transfer dispatch can make: listed as restorable, and
 * followed once it is closed. */
static void tie_substation_cuts_nobody(void **state)
{
    (void)state;
    char *src = new_ss(), *tie_ss = new_ss(), *tie2_ss = new_ss();
    feeder *f = new_feeder(2);
    feed(src, f->ln, "source", NULL);
    feed(tie_ss, f->ln, "tie", NULL);

    impact_states(tie_ss, set_new(), "");
    impact_states(src, f->cust, "");
    impact_states(f->ln, f->cust, "");
    strset *up_nodes = set_of(f->hv_cu, f->hv_tr, f->ln, src, NULL);
    strset *up_edges = set_of(E(f->hv_tr, f->hv_cu, "transformer-customer"),
                              E(f->ln, f->hv_tr, "line-transformer"),
                              E(src, f->ln, "substation-line"), NULL);
    trace_both(f->hv_cu, "up", "current", up_nodes, up_edges);
    trace_both(f->hv_cu, "up", "normal", up_nodes, up_edges);
    trace_both(f->hv_cu, "up", NULL, up_nodes, up_edges);
    trace_both(tie_ss, "down", "current", set_of(tie_ss, NULL), set_new());
    /* nor does a trace up from the line itself reach the tie */
    trace_both(f->ln, "up", "normal", set_of(f->ln, src, NULL),
               set_of(E(src, f->ln, "substation-line"), NULL));

    /* a tie through a switch, normally open */
    char *sw = new_switch("load_switch", 1, NULL);
    feed(tie2_ss, f->ln, "tie", sw);
    int n = f->cust->n;
    impact_states(src, f->cust, want_rest(1, sw, n));
    impact_states(tie2_ss, set_new(), "");
    trace_both(f->hv_cu, "up", "current", up_nodes, up_edges);

    /* closed: the line is fed from both; the source's outage cuts nobody now */
    operate_ok(sw, 0, "transfer to the tie substation");
    impact_both(src, "current", set_new(), "");
    impact_both(src, NULL, set_new(), "");
    impact_both(src, "normal", f->cust, want_rest(1, sw, n));
    impact_both(tie2_ss, "current", set_new(), "");
    impact_both(strf("%s,%s", src, tie2_ss), "current", f->cust, "");
    impact_both(tie_ss, "current", set_new(), "");
    trace_both(f->hv_cu, "up", "current", set_of(f->hv_cu, f->hv_tr, f->ln, src, tie2_ss, NULL),
               set_of(E(f->hv_tr, f->hv_cu, "transformer-customer"),
                      E(f->ln, f->hv_tr, "line-transformer"), E(src, f->ln, "substation-line"),
                      ES(tie2_ss, f->ln, "substation-line", sw, 0), NULL));
    /* in the normal arrangement the switch is open: not walked */
    trace_both(f->hv_cu, "up", "normal", up_nodes, up_edges);
    trace_both(tie2_ss, "down", "normal", set_of(tie2_ss, NULL), set_new());
    trace_both(tie2_ss, "down", "current", set_union(set_of(tie2_ss, NULL), below(f), NULL), NULL);
}

/* ---- 2. a source breaker opened ---------------------------------------------------------- */

/* A line fed through a breaker, and a second line of the same substation
 * with no switch. Opened by dispatch, the breaker takes the line off the
 * substation now: traces stop at the line, and the line's customers are
 * cut by its source's outage still (no tie feeds them). The normal
 * arrangement answers as before. */
static void breaker_opened_cuts_the_line(void **state)
{
    (void)state;
    char *ss = new_ss(), *brk = new_switch("breaker", 0, NULL);
    feeder *l = new_feeder(2), *m = new_feeder(0);
    feed(ss, l->ln, "source", brk);
    feed(ss, m->ln, "source", NULL);
    strset *both = set_union(l->cust, m->cust, NULL);
    impact_states(ss, both, "");
    strset *up_nodes = set_of(l->hv_cu, l->hv_tr, l->ln, ss, NULL);
    trace_both(l->hv_cu, "up", "current", up_nodes,
               set_of(E(l->hv_tr, l->hv_cu, "transformer-customer"),
                      E(l->ln, l->hv_tr, "line-transformer"),
                      ES(ss, l->ln, "substation-line", brk, 0), NULL));

    operate_ok(brk, 1, "breaker opened for maintenance");
    /* now: the line is off; its source's outage still lists it (nothing else feeds it) */
    impact_both(ss, "current", both, "");
    impact_both(ss, NULL, both, "");
    impact_both(m->ln, "current", m->cust, "");
    impact_both(l->ln, "current", l->cust, "");
    impact_both(l->hv_tr, "current", set_of(l->hv_cu, NULL), "");
    trace_both(l->hv_cu, "up", "current", set_of(l->hv_cu, l->hv_tr, l->ln, NULL),
               set_of(E(l->hv_tr, l->hv_cu, "transformer-customer"),
                      E(l->ln, l->hv_tr, "line-transformer"), NULL));
    trace_both(l->hv_cu, "up", NULL, set_of(l->hv_cu, l->hv_tr, l->ln, NULL), NULL);
    trace_both(ss, "down", "current", set_union(set_of(ss, NULL), below(m), NULL), NULL);
    /* normally: as before, the edge telling the breaker is open now */
    impact_both(ss, "normal", both, "");
    impact_both(l->ln, "normal", l->cust, "");
    trace_both(l->hv_cu, "up", "normal", up_nodes,
               set_of(E(l->hv_tr, l->hv_cu, "transformer-customer"),
                      E(l->ln, l->hv_tr, "line-transformer"),
                      ES(ss, l->ln, "substation-line", brk, 1), NULL));
    trace_both(ss, "down", "normal", set_union(set_of(ss, NULL), below(m), below(l), NULL), NULL);

    /* closed again: both states alike */
    operate_ok(brk, 0, "maintenance done");
    impact_states(ss, both, "");
    trace_both(l->hv_cu, "up", "current", up_nodes, NULL);
}

/* ---- 3. a transfer ----------------------------------------------------------------------- */

typedef struct two_lines {
    char *ss1, *ss2, *brk1, *brk2, *tie;
    feeder *a, *b;
} two_lines;

/* Line A from SS1 through breaker 1, line B from SS2 through breaker 2,
 * tied by a normally-open switch. */
static two_lines *build_two_lines(void)
{
    two_lines *t = it_track(calloc(1, sizeof *t), free);
    t->ss1 = new_ss();
    t->ss2 = new_ss();
    t->brk1 = new_switch("breaker", 0, NULL);
    t->brk2 = new_switch("breaker", 0, NULL);
    t->tie = new_switch("load_switch", 1, NULL);
    t->a = new_feeder(2); /* 3 customers */
    t->b = new_feeder(1); /* 2 customers */
    feed(t->ss1, t->a->ln, "source", t->brk1);
    feed(t->ss2, t->b->ln, "source", t->brk2);
    tie(t->a->ln, t->b->ln, t->tie);
    return t;
}

/* Load transfer 转供: close the tie, open A's breaker. A is fed from SS2
 * through B now; the normal arrangement answers the old way. */
static void transfer_through_a_tie(void **state)
{
    (void)state;
    two_lines *t = build_two_lines();
    feeder *a = t->a, *b = t->b;
    strset *ab = set_union(a->cust, b->cust, NULL);
    int na = a->cust->n, nb = b->cust->n, nab = ab->n;
    /* before: each line from its own source, the tie restores either */
    impact_states(t->ss1, a->cust, want_rest(1, t->tie, na));
    impact_states(t->ss2, b->cust, want_rest(1, t->tie, nb));
    strset *old_nodes = set_of(a->hv_cu, a->hv_tr, a->ln, t->ss1, NULL);
    strset *old_edges = set_of(E(a->hv_tr, a->hv_cu, "transformer-customer"),
                               E(a->ln, a->hv_tr, "line-transformer"),
                               ES(t->ss1, a->ln, "substation-line", t->brk1, 0), NULL);
    trace_both(a->hv_cu, "up", "current", old_nodes, old_edges);

    operate_ok(t->tie, 0, "transfer line A to SS2: close the tie");
    /* for a moment both sources feed A and B */
    impact_both(t->ss1, "current", set_new(), "");
    impact_both(t->ss2, "current", set_new(), "");
    operate_ok(t->brk1, 1, "transfer line A to SS2: open A's breaker");

    impact_both(t->ss1, "current", set_new(), "");
    impact_both(t->ss2, "current", ab, want_rest(1, t->brk1, nab));
    impact_both(t->ss2, NULL, ab, want_rest(1, t->brk1, nab));
    /* A's line out cuts A only; B's line out cuts both, A restorable from SS1 */
    impact_both(a->ln, "current", a->cust, "");
    impact_both(b->ln, "current", ab, want_rest(1, t->brk1, na));
    impact_both(t->brk2, "current", ab, want_rest(1, t->brk1, nab));
    /* the normal arrangement: as before */
    impact_both(t->ss1, "normal", a->cust, want_rest(1, t->tie, na));
    impact_both(t->ss2, "normal", b->cust, want_rest(1, t->tie, nb));
    impact_both(b->ln, "normal", b->cust, "");

    /* up from A's customer: through the tie (closed now) to SS2 */
    trace_both(a->hv_cu, "up", "current", set_of(a->hv_cu, a->hv_tr, a->ln, b->ln, t->ss2, NULL),
               set_of(E(a->hv_tr, a->hv_cu, "transformer-customer"),
                      E(a->ln, a->hv_tr, "line-transformer"),
                      ES(a->ln, b->ln, "line-line", t->tie, 0),
                      ES(t->ss2, b->ln, "substation-line", t->brk2, 0), NULL));
    /* normally: to SS1, the breaker shown as it is now */
    trace_both(a->hv_cu, "up", "normal", old_nodes,
               set_of(E(a->hv_tr, a->hv_cu, "transformer-customer"),
                      E(a->ln, a->hv_tr, "line-transformer"),
                      ES(t->ss1, a->ln, "substation-line", t->brk1, 1), NULL));
    /* down from SS2 now: both lines and all their customers */
    api_resp *down = trace_both(t->ss2, "down", "current", NULL, NULL);
    strset *dn = node_codes(down);
    for (int i = 0; i < ab->n; i++)
        if (!set_has(dn, ab->v[i])) fail_msg("trace down from SS2 misses %s", ab->v[i]);
    assert_true(set_has(dn, a->ln));
    assert_false(set_has(dn, t->ss1));
    strset *de = edge_set(down);
    assert_true(set_has(de, ES(a->ln, b->ln, "line-line", t->tie, 0)));
    assert_true(set_has(de, ES(t->ss2, b->ln, "substation-line", t->brk2, 0)));
    assert_false(set_has(de, ES(t->ss1, a->ln, "substation-line", t->brk1, 1)));
    /* down from A's line: the tie is followed down as well */
    api_resp *from_a = trace_both(a->ln, "down", "current", NULL, NULL);
    if (!set_has(node_codes(from_a), b->hv_cu))
        fail_msg("trace down from A's line does not reach B's customer through the closed tie");
    /* down from SS1: nothing below the open breaker */
    trace_both(t->ss1, "down", "current", set_of(t->ss1, NULL), set_new());
}

/* ---- 4. restorable ----------------------------------------------------------------------- */

/* Line A (from SS1) tied to B (SS2) by tie 1 and, through a closed
 * sectionaliser to its branch A2, tied to C (SS3) by tie 3. Each open
 * switch whose closing restores supply is listed with how many of the
 * listed customers it restores; named objects restore nobody. */
static void restorable_counts_what_closing_restores(void **state)
{
    (void)state;
    char *ss1 = new_ss(), *ss2 = new_ss(), *ss3 = new_ss();
    char *tie1 = new_switch("load_switch", 1, NULL), *tie3 = new_switch("load_switch", 1, NULL);
    char *sec = new_switch("load_switch", 0, NULL);
    feeder *a = new_feeder(2), *a2 = new_feeder(0), *b = new_feeder(0), *c = new_feeder(1);
    feed(ss1, a->ln, "source", NULL);
    feed(ss2, b->ln, "source", NULL);
    feed(ss3, c->ln, "source", NULL);
    tie(a->ln, b->ln, tie1);
    tie(a->ln, a2->ln, sec);
    tie(a2->ln, c->ln, tie3);
    strset *aa = set_union(a->cust, a2->cust, NULL); /* 3 + 1 */
    int n = aa->n, na = a->cust->n, na2 = a2->cust->n;

    impact_both(ss1, "normal", aa, want_rest(2, tie1, n, tie3, n));
    impact_both(ss1, "current", aa, want_rest(2, tie1, n, tie3, n));
    /* the sectionaliser named too: each tie restores its own side */
    impact_both(strf("%s,%s", ss1, sec), "normal", aa, want_rest(2, tie1, na, tie3, na2));
    /* a transformer named too: its customers are listed, not restorable */
    impact_both(strf("%s,%s", ss1, a->lv->tr), "normal", aa,
                want_rest(2, tie1, n - 2, tie3, n - 2));
    impact_both(strf("%s,%s,%s", ss1, sec, a->lv->tr), "normal", aa,
                want_rest(2, tie1, na - 2, tie3, na2));
    /* the other side named: that tie restores nobody */
    impact_both(strf("%s,%s", ss1, b->ln), "normal", set_union(aa, b->cust, NULL),
                want_rest(1, tie3, n));
    impact_both(strf("%s,%s", ss1, ss3), "normal", set_union(aa, c->cust, NULL),
                want_rest(1, tie1, n));
    /* the line itself named: nothing of it is restorable, its branch is */
    impact_both(a->ln, "normal", aa, want_rest(1, tie3, na2));
    /* nothing cut: nothing restorable */
    impact_both(b->ln, "normal", b->cust, "");

    /* a page of the list: restorable counts every listed customer, not the page's */
    for (int p = 0; p < 2; p++) {
        const char *base = p ? cust_url() : grid_url();
        api_resp *r = api_get(base, strf("/v1/outage-impact?codes=%s,%s&state=normal&limit=1", ss1,
                                         sec),
                              KEY_DISPATCH);
        assert_status(r, 200);
        assert_int_equal(json_array_size(json_object_get(r->json, "customers")), 1);
        assert_int_equal(jint(json_object_get(r->json, "counts"), "total"), n);
        assert_string_equal(restorable_text(r), want_rest(2, tie1, na, tie3, na2));
        const char *q = strf("codes=%s,%s&state=normal&limit=1&after=%s", ss1, sec,
                             jstr(r->json, "next"));
        api_resp *r2 = api_get(base, strf("/v1/outage-impact?%s", q), KEY_DISPATCH);
        assert_status(r2, 200);
        assert_string_equal(restorable_text(r2), want_rest(2, tie1, na, tie3, na2));
    }
    /* ?restorable=true is the default */
    for (int p = 0; p < 2; p++) {
        api_resp *r = impact_on(p ? cust_url() : grid_url(), ss1, "normal", "&restorable=true");
        assert_status(r, 200);
        assert_string_equal(restorable_text(r), want_rest(2, tie1, n, tie3, n));
    }
    /* ?restorable=false leaves it out */
    for (int p = 0; p < 2; p++) {
        api_resp *r = impact_on(p ? cust_url() : grid_url(), ss1, "normal", "&restorable=false");
        assert_status(r, 200);
        assert_null(json_object_get(r->json, "restorable"));
        assert_int_equal(jint(json_object_get(r->json, "counts"), "total"), n);
    }
}

/* Closing a tie to a line that is itself off (its breaker open now)
 * restores nobody: the tie is restorable only where the other side is fed. */
static void restorable_needs_an_energised_source(void **state)
{
    (void)state;
    two_lines *t = build_two_lines();
    operate_ok(t->brk2, 1, "B off");
    impact_both(t->ss1, "current", t->a->cust, "");
    impact_both(t->ss1, "normal", t->a->cust, want_rest(1, t->tie, t->a->cust->n));
    /* B is off already: its substation's outage lists its customers, and
     * the tie would feed them from SS1, but not through B's own breaker */
    impact_both(t->ss2, "current", t->b->cust, want_rest(1, t->tie, t->b->cust->n));
    impact_both(t->brk2, "current", t->b->cust, want_rest(1, t->tie, t->b->cust->n));
}

/* ---- 5. a loop through two ties ---------------------------------------------------------- */

static void loop_closed_through_two_ties(void **state)
{
    (void)state;
    char *ss[3], *brk[3];
    feeder *f[3];
    for (int i = 0; i < 3; i++) {
        ss[i] = new_ss();
        brk[i] = new_switch("breaker", 0, NULL);
        f[i] = new_feeder(i == 1 ? 2 : 0);
        feed(ss[i], f[i]->ln, "source", brk[i]);
    }
    char *t12 = new_switch("load_switch", 1, NULL), *t23 = new_switch("load_switch", 1, NULL);
    tie(f[0]->ln, f[1]->ln, t12);
    tie(f[1]->ln, f[2]->ln, t23);
    operate_ok(t12, 0, "close the loop: tie 1-2");
    operate_ok(t23, 0, "close the loop: tie 2-3");

    for (int i = 0; i < 3; i++) {
        /* a source out: the others feed its line through the ties */
        impact_both(ss[i], "current", set_new(), "");
        impact_both(brk[i], "current", set_new(), "");
        /* a line out: its own customers only */
        impact_both(f[i]->ln, "current", f[i]->cust, "");
    }
    impact_both(strf("%s,%s", ss[0], ss[1]), "current", set_new(), "");
    strset *all = set_union(f[0]->cust, f[1]->cust, f[2]->cust, NULL);
    impact_both(strf("%s,%s,%s", ss[0], ss[1], ss[2]), "current", all, "");
    /* the middle line out: the outer lines still fed from their own sources */
    impact_both(strf("%s,%s", f[1]->ln, ss[0]), "current", set_union(f[1]->cust, f[0]->cust, NULL),
                "");
    /* normally radial: each source's outage cuts its line, the ties restore it */
    impact_both(ss[1], "normal", f[1]->cust, want_rest(2, t12, f[1]->cust->n, t23, f[1]->cust->n));
    impact_both(ss[0], "normal", f[0]->cust, want_rest(1, t12, f[0]->cust->n));

    /* up from the middle line's customer: every source, once */
    trace_both(f[1]->hv_cu, "up", "current",
               set_of(f[1]->hv_cu, f[1]->hv_tr, f[0]->ln, f[1]->ln, f[2]->ln, ss[0], ss[1], ss[2],
                      NULL),
               set_of(E(f[1]->hv_tr, f[1]->hv_cu, "transformer-customer"),
                      E(f[1]->ln, f[1]->hv_tr, "line-transformer"),
                      ES(f[0]->ln, f[1]->ln, "line-line", t12, 0),
                      ES(f[1]->ln, f[2]->ln, "line-line", t23, 0),
                      ES(ss[0], f[0]->ln, "substation-line", brk[0], 0),
                      ES(ss[1], f[1]->ln, "substation-line", brk[1], 0),
                      ES(ss[2], f[2]->ln, "substation-line", brk[2], 0), NULL));
    trace_both(f[1]->hv_cu, "up", "normal", set_of(f[1]->hv_cu, f[1]->hv_tr, f[1]->ln, ss[1], NULL),
               NULL);
    /* down from one source: the whole loop, each customer once */
    trace_both(ss[0], "down", "current",
               set_union(set_of(ss[0], NULL), below(f[0]), below(f[1]), below(f[2]), NULL), NULL);
}

/* ---- 6. a station room ------------------------------------------------------------------- */

/* A room with a transformer of line L in it, the fuse of another of L's
 * transformers and the breaker of line M's source link: its outage takes
 * out those transformers' customers and the whole of M; L's other
 * customers stay on. */
static void station_room_takes_out_what_stands_in_it(void **state)
{
    (void)state;
    char *room = new_room(), *ss = new_ss(), *ss_m = new_ss();
    char *brk = new_switch("breaker", 0, room), *fuse = new_switch("fuse", 0, room);
    feeder *l = new_feeder(2), *m = new_feeder(1);
    strset *in_room = set_new();
    char *cu_in = NULL;
    char *tr_in = hv_tr(l->ln, NULL, room, in_room, &cu_in);
    hv_tr(l->ln, fuse, NULL, in_room, NULL); /* standing outside, its fuse in the room */
    feed(ss, l->ln, "source", NULL);
    feed(ss_m, m->ln, "source", brk);
    strset *cut = set_union(in_room, m->cust, NULL);

    impact_states(room, cut, "");
    impact_states(tr_in, set_of(cu_in, NULL), "");
    impact_states(strf("%s,%s", room, l->hv_tr), set_union(cut, set_of(l->hv_cu, NULL), NULL), "");
    /* the line itself: all of its transformers, in the room or not */
    impact_states(l->ln, set_union(l->cust, in_room, NULL), "");
    /* the breaker opened: the normal arrangement answers as before */
    operate_ok(brk, 1, "room work");
    impact_both(room, "normal", cut, "");
    trace_both(m->hv_cu, "up", "current", set_of(m->hv_cu, m->hv_tr, m->ln, NULL), NULL);
}

/* ---- 7. a shared pole -------------------------------------------------------------------- */

/* An access point hangs on a pole that carries line X but is fed by a
 * transformer of line Y: a position is no feed. */
static void shared_pole_is_no_feed(void **state)
{
    (void)state;
    char *ss_x = new_ss(), *ss_y = new_ss();
    feeder *x = new_feeder(0), *y = new_feeder(0);
    feed(ss_x, x->ln, "source", NULL);
    feed(ss_y, y->ln, "source", NULL);
    char *pole = mk(grid_url(), "poles", KEY_PRODUCTION,
                    json_pack("{s:s, s:s, s:s}", "name", strf("shared pole %s", uniq()), "kind",
                              "pole", "line", x->ln));
    lv_area *ap = lv_tr(y->ln, NULL, pole, 2, NULL);
    strset *ap_cust = set_of(ap->cu[0], ap->cu[1], NULL);

    impact_states(x->ln, x->cust, "");
    impact_states(ss_x, x->cust, "");
    impact_states(y->ln, set_union(y->cust, ap_cust, NULL), "");
    impact_states(ss_y, set_union(y->cust, ap_cust, NULL), "");
    /* the pole is where things hang: its outage walks to nobody */
    impact_states(pole, set_new(), "");
    impact_states(strf("%s,%s", pole, x->ln), x->cust, "");
    /* no pole and no access point under X */
    trace_both(x->ln, "down", "current", set_of(x->ln, x->hv_tr, x->hv_cu, NULL),
               set_of(E(x->ln, x->hv_tr, "line-transformer"),
                      E(x->hv_tr, x->hv_cu, "transformer-customer"), NULL));
    /* up from the access point's customer: Y, not the pole nor X */
    strset *up = set_of(ap->cu[1], ap->mp[1], ap->mt[1], ap->mb, ap->ap, ap->tr, y->ln, ss_y, NULL);
    strset *up_edges = set_of(E(ap->mp[1], ap->cu[1], "metering_point.customer"),
                              E(ap->mt[1], ap->mp[1], "meter-meteringpoint"),
                              E(ap->mt[1], ap->mb, "meter-meterbox"),
                              E(ap->ap, ap->mb, "accesspoint-meterbox"),
                              E(ap->ap, ap->tr, "accesspoint-transformer"),
                              E(y->ln, ap->tr, "line-transformer"),
                              E(ss_y, y->ln, "substation-line"), NULL);
    trace_both(ap->cu[1], "up", "current", up, up_edges);
    trace_both(ap->cu[1], "up", "normal", up, up_edges);
    /* nor from the access point itself */
    trace_both(ap->ap, "up", NULL, set_of(ap->ap, ap->tr, y->ln, ss_y, NULL), NULL);
}

/* ---- 8. a named switch ------------------------------------------------------------------- */

/* Named in an outage, a switch opens the links it makes: on a source link,
 * its line; on a transformer's link, that transformer. */
static void named_switch_opens_its_links(void **state)
{
    (void)state;
    char *ss = new_ss(), *brk = new_switch("breaker", 0, NULL), *fuse = new_switch("fuse", 0, NULL);
    feeder *l = new_feeder(1), *m = new_feeder(0);
    feed(ss, l->ln, "source", brk);
    feed(ss, m->ln, "source", NULL);
    strset *behind_fuse = set_new();
    char *tr = hv_tr(l->ln, fuse, NULL, behind_fuse, NULL);
    strset *all_l = set_union(l->cust, behind_fuse, NULL);

    impact_states(brk, all_l, "");
    impact_states(fuse, behind_fuse, "");
    impact_states(strf("%s,%s", brk, fuse), all_l, "");
    impact_states(ss, set_union(all_l, m->cust, NULL), "");
    trace_both(tr, "up", "current", set_of(tr, l->ln, ss, NULL),
               set_of(ES(l->ln, tr, "line-transformer", fuse, 0),
                      ES(ss, l->ln, "substation-line", brk, 0), NULL));

    /* the fuse blown: the transformer is off its line now, normally on it */
    operate_ok(fuse, 1, "fuse blown");
    trace_both(tr, "up", "current", set_of(tr, NULL), set_new());
    trace_both(tr, "up", "normal", set_of(tr, l->ln, ss, NULL),
               set_of(ES(l->ln, tr, "line-transformer", fuse, 1),
                      ES(ss, l->ln, "substation-line", brk, 0), NULL));
    trace_both(l->ln, "down", "current", below(l), NULL);
    trace_both(l->ln, "down", "normal", set_union(below(l), set_of(tr, NULL), behind_fuse, NULL),
               NULL);
}

/* A tie switch standing in a station room: after a transfer through it,
 * the room's outage cuts the transferred line (its own breaker is open,
 * restorable); normally the tie is open and the room cuts nobody. */
static void room_with_a_tie_in_it(void **state)
{
    (void)state;
    char *room = new_room(), *ss1 = new_ss(), *ss2 = new_ss();
    char *brk1 = new_switch("breaker", 0, NULL), *t = new_switch("load_switch", 1, room);
    feeder *a = new_feeder(1), *b = new_feeder(0);
    feed(ss1, a->ln, "source", brk1);
    feed(ss2, b->ln, "source", NULL);
    tie(a->ln, b->ln, t);
    impact_states(room, set_new(), "");
    operate_ok(t, 0, "transfer through the room");
    operate_ok(brk1, 1, "transfer through the room");
    impact_both(room, "current", a->cust, want_rest(1, brk1, a->cust->n));
    impact_both(room, "normal", set_new(), "");
    impact_both(ss2, "current", set_union(a->cust, b->cust, NULL),
                want_rest(1, brk1, a->cust->n + b->cust->n));
}

/* ---- 9. changes to the grid -------------------------------------------------------------- */

/* What feeds a line follows every change of the grid at once: a switch's
 * normal position maintained by production, an operation, a tie ended, a
 * second source linked, a link still in design, a source retired. */
static void changes_to_the_grid_are_seen_at_once(void **state)
{
    (void)state;
    char *ss1 = new_ss(), *ss2 = new_ss(), *ss3 = new_ss(), *ss4 = new_ss();
    char *t = new_switch("load_switch", 1, NULL);
    feeder *a = new_feeder(1), *b = new_feeder(0);
    feed(ss1, a->ln, "source", NULL);
    feed(ss2, b->ln, "source", NULL);
    tie(a->ln, b->ln, t);
    int n = a->cust->n;
    impact_states(ss1, a->cust, want_rest(1, t, n));

    /* production makes the tie normally closed: the normal arrangement
     * changes, the position now does not */
    sw_seen s0 = seen(t);
    api_opts po = {.key = KEY_PRODUCTION, .if_match = s0.etag};
    const char *closed = "{\"normal_open\": false}";
    api_resp *p = api_call("PATCH", strf("%s/v1/switches/%s", grid_url(), t), &po, closed,
                           strlen(closed));
    assert_status(p, 200);
    assert_true(json_is_false(json_object_get(p->json, "normal_open")));
    assert_true(json_is_true(json_object_get(p->json, "current_open")));
    impact_both(ss1, "normal", set_new(), "");
    impact_both(ss1, "current", a->cust, want_rest(1, t, n));
    trace_both(a->hv_cu, "up", "normal",
               set_of(a->hv_cu, a->hv_tr, a->ln, b->ln, ss1, ss2, NULL),
               set_of(E(a->hv_tr, a->hv_cu, "transformer-customer"),
                      E(a->ln, a->hv_tr, "line-transformer"), E(ss1, a->ln, "substation-line"),
                      E(ss2, b->ln, "substation-line"), ES(a->ln, b->ln, "line-line", t, 1),
                      NULL));

    /* closed now too */
    operate_ok(t, 0, "close as normal");
    impact_states(ss1, set_new(), "");

    /* the tie ended: A on its own source again */
    assert_status(api_delete(grid_url(),
                             strf("/v1/relations/line-line?from=%s&to=%s", a->ln, b->ln),
                             KEY_PRODUCTION),
                  200);
    impact_states(ss1, a->cust, "");
    trace_both(a->hv_cu, "up", "current", set_of(a->hv_cu, a->hv_tr, a->ln, ss1, NULL), NULL);

    /* a second source: the first one's outage cuts nobody */
    feed(ss3, a->ln, "source", NULL);
    impact_states(ss1, set_new(), "");
    impact_states(strf("%s,%s", ss1, ss3), a->cust, "");
    /* a source link still in design feeds nothing */
    json_t *design = json_pack("{s:s, s:s}", "role", "source", "status", "design");
    assert_status(link_raw(KEY_ADMIN, "substation-line", ss4, a->ln, design), 201);
    impact_states(strf("%s,%s", ss1, ss3), a->cust, "");
    /* the second source ended: cut again */
    assert_status(api_delete(grid_url(),
                             strf("/v1/relations/substation-line?from=%s&to=%s", ss3, a->ln),
                             KEY_PRODUCTION),
                  200);
    impact_states(ss1, a->cust, "");
    trace_both(a->hv_cu, "up", "normal", set_of(a->hv_cu, a->hv_tr, a->ln, ss1, NULL), NULL);
}

/* A line still in design (a red drawing) on a design link of a substation
 * is not energised, and not cut either: its outage lists operational
 * customers only. A retired line is no part of the grid. */
static void design_and_retired_lines_are_not_cut(void **state)
{
    (void)state;
    char *ss = new_ss();
    feeder *op = new_feeder(1);
    feed(ss, op->ln, "source", NULL);
    char *red = mk(grid_url(), "lines", KEY_PRODUCTION,
                   json_pack("{s:s, s:s, s:f, s:s}", "name", strf("red line %s", uniq()), "kind",
                             "public", "voltage_kv", 10.0, "status", "design"));
    json_t *design = json_pack("{s:s, s:s}", "role", "source", "status", "design");
    assert_status(link_raw(KEY_ADMIN, "substation-line", ss, red, design), 201);
    json_t *tb = json_pack("{s:s, s:s, s:f, s:f, s:s}", "name", strf("red TR %s", uniq()), "kind",
                           "dedicated", "capacity_kva", 630.0, "voltage_kv", 10.0, "status",
                           "design");
    char *red_tr = mk(grid_url(), "transformers", KEY_MARKETING, tb);
    assert_status(link_raw(KEY_ADMIN, "line-transformer", red, red_tr,
                           json_pack("{s:s}", "status", "design")),
                  201);
    char *red_cu = create_customer(strf("customer to be %s", uniq()), NULL);
    assert_status(link_raw(KEY_ADMIN, "transformer-customer", red_tr, red_cu,
                           json_pack("{s:s}", "status", "design")),
                  201);
    impact_states(ss, op->cust, "");
    impact_states(op->ln, op->cust, "");

    /* a second operational line, retired (its transformer left on it) */
    feeder *gone = new_feeder(0);
    feed(ss, gone->ln, "source", NULL);
    impact_states(ss, set_union(op->cust, gone->cust, NULL), "");
    assert_status(api_delete(grid_url(), strf("/v1/lines/%s", gone->ln), KEY_PRODUCTION), 200);
    impact_states(ss, op->cust, "");
    trace_both(ss, "down", "current", set_union(set_of(ss, NULL), below(op), NULL), NULL);
}

/* ---- 10. refused operations -------------------------------------------------------------- */

/* A switch on a line's source link, closed; each refused operation leaves
 * it as it was: same version, position and ETag, no history, no event. */
static void refused_operations_change_nothing(void **state)
{
    (void)state;
    char *ss = new_ss(), *sw = new_switch("breaker", 0, NULL);
    feeder *l = new_feeder(0);
    feed(ss, l->ln, "source", sw);
    long long e0 = newest_event(grid_url());
    sw_seen s0 = seen(sw);
    assert_false(s0.current_open);
    const char *open = op_body(1, "refused");
    const char *g = grid_url();

    struct {
        const char *what, *key, *body, *if_match;
        int status;
    } bad[] = {
        {"production may not operate", KEY_PRODUCTION, open, NULL, 403},
        {"marketing may not operate", KEY_MARKETING, open, NULL, 403},
        {"no key", NULL, open, NULL, 401},
        {"a stale If-Match", KEY_DISPATCH, open, strf("\"%lld\"", s0.version + 7), 412},
        {"an older If-Match", KEY_DISPATCH, open, strf("\"%lld\"", s0.version - 1), 412},
        {"no reason", KEY_DISPATCH, "{\"open\": true}", NULL, 400},
        {"a reason that is no text", KEY_DISPATCH, "{\"open\": true, \"reason\": 5}", NULL, 400},
        {"a reason of 201 characters", KEY_DISPATCH,
         jdump(json_pack("{s:b, s:s}", "open", 1, "reason",
                         strf("%0201d", 0))), NULL, 400},
        {"no position", KEY_DISPATCH, "{\"reason\": \"no position\"}", NULL, 400},
        {"open as text", KEY_DISPATCH, "{\"open\": \"true\", \"reason\": \"text\"}", NULL, 400},
        {"open as a number", KEY_DISPATCH, "{\"open\": 1, \"reason\": \"number\"}", NULL, 400},
        {"open null", KEY_DISPATCH, "{\"open\": null, \"reason\": \"null\"}", NULL, 400},
        {"an unknown member", KEY_DISPATCH,
         "{\"open\": true, \"reason\": \"extra\", \"force\": true}", NULL, 400},
        {"a body that is no JSON", KEY_DISPATCH, "{\"open\": true,", NULL, 400},
        {"a body that is no object", KEY_DISPATCH, "[true]", NULL, 400},
        {"closing a closed switch", KEY_DISPATCH, op_body(0, "already closed"), NULL, 409},
        {"closing it with its ETag", KEY_DISPATCH, op_body(0, "already closed"), s0.etag, 409},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        api_resp *r = operate_as(g, bad[i].key, sw, bad[i].body, bad[i].if_match);
        int problem = bad[i].status == 401 || it_is_problem(r, bad[i].status);
        if (r->status != bad[i].status || !problem) {
            api_dump(r);
            fail_msg("%s: status %ld, want a %d problem", bad[i].what, r->status, bad[i].status);
        }
        assert_unchanged(sw, &s0, bad[i].what);
    }
    /* the problems say what is wrong */
    assert_problem_field(operate_as(g, KEY_DISPATCH, sw, "{\"open\": true}", NULL), 400, "reason");
    assert_problem_field(operate_as(g, KEY_DISPATCH, sw, "{\"open\": \"yes\", \"reason\": \"x\"}",
                                    NULL),
                         400, "open");
    assert_problem_field(operate_as(g, KEY_DISPATCH, sw,
                                    "{\"open\": true, \"reason\": \"x\", \"force\": 1}", NULL),
                         400, "force");
    assert_str_contains(jstr(operate_as(g, KEY_PRODUCTION, sw, open, NULL)->json, "detail"),
                        "dispatch");
    /* unknown switches, bad codes, another type's code */
    assert_problem(operate_as(g, KEY_DISPATCH, mint_code("SW"), open, NULL), 404);
    assert_problem(operate_as(g, KEY_DISPATCH, spoil_check(sw), open, NULL), 400);
    assert_problem(operate_as(g, KEY_DISPATCH, l->ln, open, NULL), 400);
    assert_unchanged(sw, &s0, "the refused operations on unknown codes");

    /* the position now is the platform's: no PATCH sets it, whoever asks */
    const char *keys[] = {KEY_PRODUCTION, KEY_ADMIN, KEY_DISPATCH};
    for (size_t k = 0; k < 3; k++) {
        api_resp *p =
            api_patch(g, strf("/v1/switches/%s", sw), keys[k], "{\"current_open\": true}");
        if (k < 2) assert_problem_field(p, 400, "current_open");
        else if (p->status != 400 && p->status != 403) {
            api_dump(p);
            fail_msg("PATCH current_open by dispatch: %ld, want 400 or 403", p->status);
        }
        assert_unchanged(sw, &s0, strf("PATCH current_open with key %zu", k));
    }
    /* the position is unchanged for the walks too */
    impact_states(ss, l->cust, "");
    /* and no event told of an operation */
    assert_int_equal(json_array_size(events_of(g, e0, "switch.operated", sw)), 0);

    /* the same request, done right, is taken */
    operate_ok(sw, 1, "open after all");
    sw_seen s1 = seen(sw);
    assert_int_equal(s1.version, s0.version + 1);
    assert_int_equal(s1.history, s0.history + 1);
    /* production still maintains the switch's other fields */
    api_opts po = {.key = KEY_PRODUCTION, .if_match = s1.etag};
    const char *rename = "{\"name\": \"renamed by production\"}";
    api_resp *pr = api_call("PATCH", strf("%s/v1/switches/%s", g, sw), &po, rename, strlen(rename));
    assert_status(pr, 200);
    assert_true(json_is_true(json_object_get(pr->json, "current_open")));
    /* dispatch does not */
    assert_problem(api_patch(g, strf("/v1/switches/%s", sw), KEY_DISPATCH, "{\"name\": \"x\"}"),
                   403);
}

/* ---- 11. history and events -------------------------------------------------------------- */

static void operation_is_recorded(void **state)
{
    (void)state;
    char *sw = new_switch("load_switch", 1, NULL);
    long long e0 = newest_event(grid_url());
    sw_seen s0 = seen(sw);
    const char *reason = "转供: 湖墅线 to 大关变, \"ticket\" 42";

    json_t *after = operate_ok(sw, 0, reason);
    assert_true(json_is_true(json_object_get(after, "normal_open"))); /* not moved */
    assert_string_equal(jstr(after, "updated_by"), "dispatch");
    api_resp *got = api_get(grid_url(), strf("/v1/switches/%s", sw), KEY_DISPATCH);
    assert_status(got, 200);
    assert_true(json_is_false(json_object_get(got->json, "current_open")));
    assert_string_equal(got->etag, strf("\"%lld\"", s0.version + 1));
    /* read on the other platform alike */
    api_resp *via = api_get(cust_url(), strf("/v1/switches/%s", sw), KEY_DISPATCH);
    assert_status(via, 200);
    assert_true(json_equal(via->json, got->json));

    json_t *h = history_of(sw);
    assert_int_equal(json_array_size(h), s0.history + 1);
    json_t *last = json_array_get(h, json_array_size(h) - 1);
    assert_string_equal(jstr(last, "type"), "switch.operated");
    assert_string_equal(jstr(last, "code"), sw);
    assert_string_equal(jstr(last, "app"), "dispatch");
    assert_string_equal(jstr(last, "reason"), reason);
    assert_true(is_rfc3339_utc(jstr(last, "at")));
    assert_true(json_is_true(json_object_get(json_object_get(last, "before"), "current_open")));
    assert_true(json_is_false(json_object_get(json_object_get(last, "after"), "current_open")));

    json_t *ev = events_of(grid_url(), e0, "switch.operated", sw);
    if (json_array_size(ev) != 1)
        fail_msg("want one switch.operated event for %s, got %s", sw, jdump(json_incref(ev)));
    json_t *e = json_array_get(ev, 0);
    assert_string_equal(jstr(e, "app"), "dispatch");
    assert_true(is_rfc3339_utc(jstr(e, "at")));
    assert_str_contains(jdump(json_incref(e)), jdump(json_string(reason)));

    /* opened again by the admin, without If-Match: a second entry, in order */
    api_resp *r = operate_as(grid_url(), KEY_ADMIN, sw, op_body(1, "back to normal"), NULL);
    assert_status(r, 200);
    assert_true(json_is_true(json_object_get(r->json, "current_open")));
    assert_int_equal(jint(r->json, "version"), s0.version + 2);
    json_t *ops = operations_in(history_of(sw));
    assert_int_equal(json_array_size(ops), 2);
    assert_string_equal(jstr(json_array_get(ops, 0), "reason"), reason);
    assert_string_equal(jstr(json_array_get(ops, 1), "reason"), "back to normal");
    assert_string_equal(jstr(json_array_get(ops, 1), "app"), "admin");
    assert_true(jint(json_array_get(ops, 0), "seq") < jint(json_array_get(ops, 1), "seq"));
    assert_int_equal(json_array_size(events_of(grid_url(), e0, "switch.operated", sw)), 2);
    /* a reason of 200 characters is the longest taken */
    const char *longest = strf("%0200d", 0);
    json_t *third = operate_ok(sw, 0, longest);
    assert_false(json_is_true(json_object_get(third, "current_open")));
    ops = operations_in(history_of(sw));
    assert_int_equal(json_array_size(ops), 3);
    assert_string_equal(jstr(json_array_get(ops, 2), "reason"), longest);
}

/* The reason is at most 200 characters (not bytes): dispatch writes it in
 * Chinese as often as not. */
static void reason_is_up_to_200_characters(void **state)
{
    (void)state;
    char *sw = new_switch("load_switch", 1, NULL);
    char *cjk = "", *ascii = "";
    for (int i = 0; i < 200; i++) cjk = strf("%s转", cjk);
    for (int i = 0; i < 201; i++) ascii = strf("%sx", ascii);
    sw_seen s0 = seen(sw);
    assert_problem_field(operate_as(grid_url(), KEY_DISPATCH, sw, op_body(0, ascii), NULL), 400,
                         "reason");
    assert_problem_field(operate_as(grid_url(), KEY_DISPATCH, sw, op_body(0, strf("%s转", cjk)),
                                    NULL),
                         400, "reason");
    assert_problem_field(operate_as(grid_url(), KEY_DISPATCH, sw, op_body(0, ""), NULL), 400,
                         "reason");
    assert_unchanged(sw, &s0, "reasons refused");
    operate_ok(sw, 0, cjk);
    json_t *ops = operations_in(history_of(sw));
    assert_int_equal(json_array_size(ops), 1);
    assert_string_equal(jstr(json_array_get(ops, 0), "reason"), cjk);
}

/* ---- 12. concurrent operations ----------------------------------------------------------- */

#define RACERS 8

/* RACERS requests at once on one switch: exactly one is taken. */
static void race(const char *sw, const char *body, const char *if_match, int *ok, int *conflict)
{
    api_job jobs[RACERS];
    memset(jobs, 0, sizeof jobs);
    const char *url = strf("%s/v1/switches/%s/operate", grid_url(), sw);
    for (int i = 0; i < RACERS; i++) {
        jobs[i].method = "POST";
        jobs[i].url = url;
        jobs[i].body = body;
        jobs[i].opts.key = KEY_DISPATCH;
        jobs[i].opts.if_match = if_match;
    }
    api_parallel(jobs, RACERS);
    *ok = *conflict = 0;
    for (int i = 0; i < RACERS; i++) {
        long st = jobs[i].resp->status;
        if (st == 200) (*ok)++;
        else if ((st == 412 && if_match) || st == 409) (*conflict)++;
        else {
            api_dump(jobs[i].resp);
            fail_msg("a concurrent operation answered %ld", st);
        }
    }
}

static void concurrent_operations_one_wins(void **state)
{
    (void)state;
    char *ss = new_ss(), *sw = new_switch("breaker", 0, NULL);
    feeder *l = new_feeder(0);
    feed(ss, l->ln, "source", sw);
    sw_seen s0 = seen(sw);
    int ok, conflict;

    race(sw, op_body(1, "racing, with If-Match"), s0.etag, &ok, &conflict);
    if (ok != 1) fail_msg("%d of %d operations with the same If-Match were taken", ok, RACERS);
    sw_seen s1 = seen(sw);
    assert_int_equal(s1.version, s0.version + 1);
    assert_true(s1.current_open);
    assert_int_equal(json_array_size(operations_in(history_of(sw))), 1);

    /* without If-Match: the position decides, one close and the rest 409 */
    race(sw, op_body(0, "racing, no If-Match"), NULL, &ok, &conflict);
    if (ok != 1) fail_msg("%d of %d closings of an open switch were taken", ok, RACERS);
    sw_seen s2 = seen(sw);
    assert_int_equal(s2.version, s0.version + 2);
    assert_false(s2.current_open);
    assert_int_equal(json_array_size(operations_in(history_of(sw))), 2);
    /* and the walks see the last position */
    impact_states(ss, l->cust, "");

    /* an operation and production's change of the same version at once:
     * one is taken, the other is told the switch changed */
    sw_seen s3 = seen(sw);
    api_job two[2];
    memset(two, 0, sizeof two);
    two[0] = (api_job){.method = "POST", .url = strf("%s/v1/switches/%s/operate", grid_url(), sw),
                       .body = op_body(1, "racing production")};
    two[0].opts.key = KEY_DISPATCH;
    two[0].opts.if_match = s3.etag;
    two[1] = (api_job){.method = "PATCH", .url = strf("%s/v1/switches/%s", grid_url(), sw),
                       .body = "{\"location\": {\"lon\": 120.16, \"lat\": 30.27}}"};
    two[1].opts.key = KEY_PRODUCTION;
    two[1].opts.if_match = s3.etag;
    api_parallel(two, 2);
    int taken = (two[0].resp->status == 200) + (two[1].resp->status == 200);
    int stale = (two[0].resp->status == 412) + (two[1].resp->status == 412);
    if (taken != 1 || stale != 1) {
        api_dump(two[0].resp);
        api_dump(two[1].resp);
        fail_msg("an operation and a change of the same version: %ld and %ld, want one 200 and "
                 "one 412", two[0].resp->status, two[1].resp->status);
    }
    sw_seen s4 = seen(sw);
    assert_int_equal(s4.version, s3.version + 1);
    assert_int_equal(s4.current_open, two[0].resp->status == 200);
}

/* How many (line, substation) rows of table name one of the lines, on
 * grid-svc's database. */
static const char *feeds_of(char *const *lines, const char *table)
{
    PGconn *db = pg_admin(db_name_of("GRID_DATABASE_URL"));
    const char *in = "";
    for (int i = 0; i < RACERS; i++) in = strf("%s%s'%s'", in, i ? "," : "", lines[i]);
    PGresult *r = pg_ok(db, strf("SELECT count(*) FROM %s WHERE line IN (%s)", table, in));
    return it_strdup(PQgetvalue(r, 0, 0));
}

/* Operations on different switches at once, each with its own ETag, while
 * closed ties are made between the lines: every one is taken, and what
 * feeds each line is what all of them together say. */
static void operations_on_many_switches_at_once(void **state)
{
    (void)state;
    char *ss = new_ss(), *sw[RACERS], *ln[RACERS], *ties[RACERS];
    for (int i = 0; i < RACERS; i++) {
        sw[i] = new_switch("breaker", 0, NULL);
        ln[i] = new_line();
        feed(ss, ln[i], "source", sw[i]);
        ties[i] = new_switch("load_switch", 0, NULL); /* normally closed */
    }
    assert_string_equal(feeds_of(ln, "line_feeds"), strf("%d", RACERS));
    /* breakers 1.. opened while the ring of ties is made: line 0 feeds them all */
    enum { NJOBS = 2 * RACERS - 1 };
    api_job jobs[NJOBS];
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < RACERS; i++) {
        api_job *t = &jobs[i];
        t->method = "POST";
        t->url = strf("%s/v1/relations/line-line", grid_url());
        t->body = jdump(json_pack("{s:s, s:s, s:s}", "from", ln[i], "to", ln[(i + 1) % RACERS],
                                  "switch", ties[i]));
        t->opts.key = KEY_PRODUCTION;
        if (i == 0) continue;
        api_job *o = &jobs[RACERS + i - 1];
        o->method = "POST";
        o->url = strf("%s/v1/switches/%s/operate", grid_url(), sw[i]);
        o->body = op_body(1, strf("many at once %d", i));
        o->opts.key = KEY_DISPATCH;
        o->opts.if_match = it_strdup(seen(sw[i]).etag);
    }
    api_parallel(jobs, NJOBS);
    for (int i = 0; i < NJOBS; i++) {
        if (jobs[i].resp->status != (i < RACERS ? 201 : 200)) {
            api_dump(jobs[i].resp);
            fail_msg("request %d of %d at once answered %ld", i, NJOBS, jobs[i].resp->status);
        }
    }
    for (int i = 1; i < RACERS; i++) assert_true(seen(sw[i]).current_open);
    /* what grid-svc keeps of which substation feeds which line (for the
     * integration report) agrees with the grid after the changes at once */
    assert_string_equal(feeds_of(ln, "line_feeds_now()"), strf("%d", RACERS));
    assert_string_equal(feeds_of(ln, "line_feeds"), strf("%d", RACERS));
    strset *all = set_of(ss, NULL);
    for (int i = 0; i < RACERS; i++) set_add(all, ln[i]);
    trace_both(ln[RACERS / 2], "up", "current", all, NULL);
    trace_both(ln[RACERS / 2], "up", "normal", all, NULL);
    /* line 0's breaker opened too: nothing is fed */
    operate_ok(sw[0], 1, "all off");
    assert_string_equal(feeds_of(ln, "line_feeds"), "0");
    impact_states(ss, set_new(), "");
}

/* ---- 13. links naming switches ----------------------------------------------------------- */

static void links_name_their_switch_once(void **state)
{
    (void)state;
    char *a = new_line(), *b = new_line(), *c = new_line();
    char *sw = new_switch("load_switch", 1, NULL);
    const char *p = KEY_PRODUCTION;

    /* a tie needs its switch, and a switch's code */
    assert_problem_field(link_raw(p, "line-line", a, b, NULL), 400, "switch");
    assert_problem_field(link_raw(p, "line-line", a, b, json_pack("{s:n}", "switch")), 400,
                         "switch");
    assert_problem_field(link_raw(p, "line-line", a, b, json_pack("{s:s}", "switch", c)), 400,
                         "switch");
    assert_problem_field(link_raw(p, "line-line", a, b, json_pack("{s:i}", "switch", 7)), 400,
                         "switch");
    assert_problem_field(
        link_raw(p, "line-line", a, b, json_pack("{s:s}", "switch", spoil_check(sw))), 400,
        "switch");
    assert_int_equal(count_where(grid_url(), "relations/line-line", strf("from=%s", a)), 0);
    /* a tie is kept by production */
    assert_problem(link_raw(KEY_MARKETING, "line-line", a, b, json_pack("{s:s}", "switch", sw)),
                   403);
    assert_problem(link_raw(KEY_DISPATCH, "line-line", a, b, json_pack("{s:s}", "switch", sw)),
                   403);
    assert_int_equal(count_where(grid_url(), "relations/line-line", strf("from=%s", a)), 0);

    tie(a, b, sw);
    api_resp *l = api_get(grid_url(), strf("/v1/relations/line-line?from=%s", a), KEY_DISPATCH);
    assert_int_equal(json_array_size(list_items(l)), 1);
    assert_string_equal(jstr(json_array_get(list_items(l), 0), "switch"), sw);

    /* one current link of a relation per switch */
    api_resp *again = link_raw(p, "line-line", b, c, json_pack("{s:s}", "switch", sw));
    assert_problem(again, 409);
    assert_int_equal(count_where(grid_url(), "relations/line-line", strf("from=%s", b)), 0);
    char *ss1 = new_ss(), *ss2 = new_ss(), *brk = new_switch("breaker", 0, NULL);
    feed(ss1, a, "source", brk);
    assert_problem(link_raw(KEY_ADMIN, "substation-line", ss2, b,
                            json_pack("{s:s, s:s}", "role", "source", "switch", brk)),
                   409);
    assert_int_equal(count_where(grid_url(), "relations/substation-line", strf("from=%s", ss2)), 0);
    char *fuse = new_switch("fuse", 0, NULL);
    hv_tr(a, fuse, NULL, NULL, NULL);
    json_t *tb = json_pack("{s:s, s:s, s:f, s:f}", "name", strf("TR %s", uniq()), "kind", "public",
                           "capacity_kva", 200.0, "voltage_kv", 10.0);
    char *tr2 = mk(grid_url(), "transformers", KEY_PRODUCTION, tb);
    assert_problem(
        link_raw(KEY_ADMIN, "line-transformer", b, tr2, json_pack("{s:s}", "switch", fuse)), 409);
    assert_int_equal(count_where(grid_url(), "relations/line-transformer", strf("to=%s", tr2)), 0);
    /* a line tied to itself is no tie */
    char *own = new_switch("load_switch", 1, NULL);
    assert_problem(link_raw(p, "line-line", c, c, json_pack("{s:s}", "switch", own)), 400);
    assert_int_equal(count_where(grid_url(), "relations/line-line", strf("from=%s", c)), 0);

    /* an ended link lets its switch go */
    assert_status(api_delete(grid_url(), strf("/v1/relations/line-line?from=%s&to=%s", a, b), p),
                  200);
    tie(b, c, sw);
}

/* A link naming a switch that does not exist: 422 naming the field, as for
 * any unknown reference (DESIGN §4), and nothing stored. */
static void link_to_unknown_switch_is_refused(void **state)
{
    (void)state;
    char *a = new_line(), *b = new_line(), *ss = new_ss();
    assert_problem_field(link_raw(KEY_PRODUCTION, "line-line", a, b,
                                  json_pack("{s:s}", "switch", mint_code("SW"))),
                         422, "switch");
    assert_problem_field(link_raw(KEY_ADMIN, "substation-line", ss, a,
                                  json_pack("{s:s}", "switch", mint_code("SW"))),
                         422, "switch");
    assert_int_equal(count_where(grid_url(), "relations/line-line", strf("from=%s", a)), 0);
    assert_int_equal(count_where(grid_url(), "relations/substation-line", strf("from=%s", ss)), 0);
}

/* A link naming a retired switch: 409, as any reference to a retired
 * object (DESIGN §4), and nothing stored. */
static void link_to_retired_switch_is_refused(void **state)
{
    (void)state;
    char *a = new_line(), *b = new_line(), *sw = new_switch("load_switch", 1, NULL);
    assert_status(api_delete(grid_url(), strf("/v1/switches/%s", sw), KEY_PRODUCTION), 200);
    assert_problem(link_raw(KEY_PRODUCTION, "line-line", a, b, json_pack("{s:s}", "switch", sw)),
                   409);
    assert_int_equal(count_where(grid_url(), "relations/line-line", strf("from=%s", a)), 0);
}

/* An operation sent to the platform that does not keep switches: 421
 * naming the owner (DESIGN §4), and the switch unchanged. */
static void operation_on_the_other_platform_is_misdirected(void **state)
{
    (void)state;
    char *sw = new_switch("breaker", 0, NULL);
    sw_seen s0 = seen(sw);
    api_resp *other = operate_as(cust_url(), KEY_DISPATCH, sw, op_body(1, "elsewhere"), NULL);
    assert_problem(other, 421);
    assert_string_equal(jstr(other->json, "owner"), "grid-svc");
    assert_unchanged(sw, &s0, "an operation sent to cust-svc");
}

/* The bulk import of links takes the same members: a tie's switch is
 * required there too, and a switch makes one current link of a relation. */
static void bulk_import_names_switches(void **state)
{
    (void)state;
    char *a = new_line(), *b = new_line(), *c = new_line(), *d = new_line(), *ss = new_ss();
    char *s1 = new_switch("load_switch", 1, NULL), *s2 = new_switch("load_switch", 1, NULL);
    char *s3 = new_switch("breaker", 1, NULL);
    const char *lines[] = {
        jdump(json_pack("{s:s, s:s, s:s}", "from", a, "to", b, "switch", s1)),
        jdump(json_pack("{s:s, s:s}", "from", b, "to", c)),
        jdump(json_pack("{s:s, s:s, s:s}", "from", c, "to", d, "switch", s1)),
        jdump(json_pack("{s:s, s:s, s:s}", "from", c, "to", d, "switch", s2)),
    };
    const char *body = strf("%s\n%s\n%s\n%s\n", lines[0], lines[1], lines[2], lines[3]);
    api_opts o = {.key = KEY_PRODUCTION, .content_type = "application/x-ndjson"};
    api_resp *r = api_call("POST", strf("%s/v1/relations/line-line:import?batch=1", grid_url()), &o,
                           body, strlen(body));
    assert_problem(r, 422);
    strset *bad_lines = set_new();
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r->json, "errors"), i, e) {
        set_add(bad_lines, strf("%lld", jint(e, "line")));
        if (jint(e, "line") == 2) assert_string_equal(jstr(e, "field"), "switch");
    }
    assert_set_equal(bad_lines, set_of("2", "3", NULL), "lines of the import refused");
    api_resp *ab = api_get(grid_url(), strf("/v1/relations/line-line?from=%s", a), KEY_DISPATCH);
    assert_int_equal(json_array_size(list_items(ab)), 1);
    assert_string_equal(jstr(json_array_get(list_items(ab), 0), "switch"), s1);
    api_resp *cd = api_get(grid_url(), strf("/v1/relations/line-line?from=%s", c), KEY_DISPATCH);
    assert_int_equal(json_array_size(list_items(cd)), 1);
    assert_string_equal(jstr(json_array_get(list_items(cd), 0), "switch"), s2);
    assert_int_equal(count_where(grid_url(), "relations/line-line", strf("from=%s", b)), 0);

    /* a tie substation through its switch, imported */
    const char *tie_line = strf("%s\n", jdump(json_pack("{s:s, s:s, s:s, s:s}", "from", ss, "to",
                                                        a, "role", "tie", "switch", s3)));
    r = api_call("POST", strf("%s/v1/relations/substation-line:import", grid_url()), &o, tie_line,
                 strlen(tie_line));
    assert_status(r, 200);
    api_resp *sl =
        api_get(grid_url(), strf("/v1/relations/substation-line?from=%s", ss), KEY_DISPATCH);
    assert_int_equal(json_array_size(list_items(sl)), 1);
    assert_string_equal(jstr(json_array_get(list_items(sl), 0), "switch"), s3);
    assert_string_equal(jstr(json_array_get(list_items(sl), 0), "role"), "tie");
}

/* ---- 14. bad state ----------------------------------------------------------------------- */

static void state_is_current_or_normal(void **state)
{
    (void)state;
    char *ln = new_line();
    const char *bad[] = {"bogus", "", "Normal", "current,normal"};
    for (int p = 0; p < 2; p++) {
        const char *base = p ? cust_url() : grid_url();
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            assert_problem(api_get(base, strf("/v1/trace/%s?direction=up&state=%s", ln, bad[i]),
                                   KEY_DISPATCH),
                           400);
            assert_problem(api_get(base, strf("/v1/outage-impact?codes=%s&state=%s", ln, bad[i]),
                                   KEY_DISPATCH),
                           400);
        }
        assert_problem(api_get(base, strf("/v1/outage-impact?codes=%s&restorable=maybe", ln),
                               KEY_DISPATCH),
                       400);
    }
    impact_both(ln, "current", set_new(), "");
    impact_both(ln, "normal", set_new(), "");
    /* a switch named in an outage: known, it opens what it makes (here
     * nothing); unknown, 404 as any code */
    impact_states(new_switch("disconnector", 0, NULL), set_new(), "");
    assert_problem(impact_on(grid_url(), mint_code("SW"), NULL, NULL), 404);
    assert_problem(impact_on(cust_url(), mint_code("SW"), NULL, NULL), 404);
}

/* /openapi.json documents the operation and the tie relation. */
static void openapi_documents_switching(void **state)
{
    (void)state;
    api_resp *r = api_get(grid_url(), "/openapi.json", NULL);
    assert_status(r, 200);
    json_t *paths = json_object_get(r->json, "paths");
    if (!json_object_get(json_object_get(paths, "/v1/switches/{code}/operate"), "post"))
        fail_msg("grid-svc /openapi.json: no POST /v1/switches/{code}/operate");
    if (!json_object_get(json_object_get(paths, "/v1/relations/line-line"), "post"))
        fail_msg("grid-svc /openapi.json: no POST /v1/relations/line-line");
}

/* A retired switch is no longer operated: 409, and it stays as it was. */
static void retired_switch_is_not_operated(void **state)
{
    (void)state;
    char *sw = new_switch("disconnector", 0, NULL);
    assert_status(api_delete(grid_url(), strf("/v1/switches/%s", sw), KEY_PRODUCTION), 200);
    sw_seen s0 = seen(sw);
    assert_problem(operate_as(grid_url(), KEY_DISPATCH, sw, op_body(1, "retired"), NULL), 409);
    assert_unchanged(sw, &s0, "operating a retired switch");
}

int main(void)
{
    it_filter();
    srand((unsigned)(time(NULL) ^ getpid()));
    const struct CMUnitTest tests[] = {
        IT(tie_substation_cuts_nobody),
        IT(breaker_opened_cuts_the_line),
        IT(transfer_through_a_tie),
        IT(restorable_counts_what_closing_restores),
        IT(restorable_needs_an_energised_source),
        IT(loop_closed_through_two_ties),
        IT(station_room_takes_out_what_stands_in_it),
        IT(shared_pole_is_no_feed),
        IT(named_switch_opens_its_links),
        IT(room_with_a_tie_in_it),
        IT(changes_to_the_grid_are_seen_at_once),
        IT(design_and_retired_lines_are_not_cut),
        IT(refused_operations_change_nothing),
        IT(operation_is_recorded),
        IT(reason_is_up_to_200_characters),
        IT(concurrent_operations_one_wins),
        IT(operations_on_many_switches_at_once),
        IT(links_name_their_switch_once),
        IT(link_to_unknown_switch_is_refused),
        IT(link_to_retired_switch_is_refused),
        IT(bulk_import_names_switches),
        IT(operation_on_the_other_platform_is_misdirected),
        IT(state_is_current_or_normal),
        IT(retired_switch_is_not_operated),
        IT(openapi_documents_switching),
    };
    return cmocka_run_group_tests(tests, it_group_setup, it_group_teardown);
}
