/* test_trace.c -- the supply chain answered by both platforms together
 * (DESIGN §2 "The supply chain", §6): GET /v1/trace/{code}, GET
 * /v1/outage-impact and the batched peer step behind them.
 *
 * Every test builds its own small grid with fresh codes through the API:
 *   - the medium-voltage scenario of the source paper (an hv customer on a
 *     dedicated transformer: SS → LN → TR → SP/MP → CU, TR → CU);
 *   - the low-voltage scenario (SS → LN → public TR ← AP → meter boxes ←
 *     meters → metering points → customers).
 * Node and edge lists are compared as sets (sorted text), so a failure shows
 * the whole difference; a duplicate in an answer also fails the comparison. */
#include "client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* ---- platforms ------------------------------------------------------------------------ */

typedef struct platform {
    const char *label;
    int grid; /* 1: ask grid-svc, 0: ask cust-svc */
} platform;

static const platform GRID_P = {"grid-svc", 1};
static const platform CUST_P = {"cust-svc", 0};

static const char *base_of(const platform *p)
{
    return p->grid ? grid_url() : cust_url();
}

/* ---- string sets ---------------------------------------------------------------------- */

#define SET_MAX 1024

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

#define assert_set_equal(got, want, what)                                                       \
    do {                                                                                        \
        char *g_ = set_text(got), *w_ = set_text(want);                                         \
        if (strcmp(g_, w_) != 0)                                                                \
            fail_msg("%s differ.\n--- got (%d):\n%s--- want (%d):\n%s", (what), (got)->n, g_,     \
                     (want)->n, w_);                                                            \
    } while (0)

/* ---- answers ---------------------------------------------------------------------------- */

/* "FROM > TO (kind)" */
static const char *E(const char *from, const char *to, const char *kind)
{
    return strf("%s > %s (%s)", from, to, kind);
}

static strset *node_codes(const api_resp *r)
{
    strset *s = set_new();
    json_t *nodes = json_object_get(r->json, "nodes");
    assert_true(json_is_array(nodes));
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n) {
        if (json_is_string(n)) { /* an impact walk's line: "code TAB ..." */
            const char *line = json_string_value(n), *tab = strchr(line, '\t');
            assert_non_null(tab);
            set_add(s, strf("%.*s", (int)(tab - line), line));
            continue;
        }
        assert_non_null(jstr(n, "code"));
        set_add(s, jstr(n, "code"));
    }
    return s;
}

static strset *edge_set(const api_resp *r)
{
    strset *s = set_new();
    json_t *edges = json_object_get(r->json, "edges");
    assert_true(json_is_array(edges));
    size_t i;
    json_t *e;
    json_array_foreach(edges, i, e) {
        assert_non_null(jstr(e, "from"));
        assert_non_null(jstr(e, "to"));
        assert_non_null(jstr(e, "kind"));
        set_add(s, E(jstr(e, "from"), jstr(e, "to"), jstr(e, "kind")));
    }
    return s;
}

/* Every node with all its members (sorted keys), to compare two platforms. */
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

static json_t *node_of(const api_resp *r, const char *code)
{
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(r->json, "nodes"), i, n)
        if (strcmp(jstr(n, "code"), code) == 0) return n;
    return NULL;
}

static api_resp *trace_raw(const char *base, const char *code, const char *dir, int design)
{
    return api_get(base,
                   strf("/v1/trace/%s?direction=%s%s", code, dir, design ? "&status=design" : ""),
                   KEY_DISPATCH);
}

/* A 200 trace answer with root and direction echoed and both lists present. */
static api_resp *trace_ok(const char *base, const char *code, const char *dir, int design)
{
    api_resp *r = trace_raw(base, code, dir, design);
    assert_status(r, 200);
    assert_str_contains(r->content_type, "application/json");
    assert_string_equal(jstr(r->json, "root"), code);
    assert_string_equal(jstr(r->json, "direction"), dir);
    assert_true(json_is_array(json_object_get(r->json, "nodes")));
    assert_true(json_is_array(json_object_get(r->json, "edges")));
    return r;
}

/* The trace on both platforms: each with exactly these nodes and edges, and
 * both answers the same as sets (nodes with all their members). Answers the
 * grid-svc one. */
static api_resp *trace_both(const char *code, const char *dir, int design, strset *want_nodes,
                            strset *want_edges)
{
    api_resp *g = trace_ok(grid_url(), code, dir, design);
    api_resp *c = trace_ok(cust_url(), code, dir, design);
    const char *what = strf("trace %s of %s", dir, code);
    if (want_nodes) {
        assert_set_equal(node_codes(g), want_nodes, strf("nodes of the grid-svc %s", what));
        assert_set_equal(node_codes(c), want_nodes, strf("nodes of the cust-svc %s", what));
    }
    if (want_edges) {
        assert_set_equal(edge_set(g), want_edges, strf("edges of the grid-svc %s", what));
        assert_set_equal(edge_set(c), want_edges, strf("edges of the cust-svc %s", what));
    }
    assert_set_equal(node_dumps(c), node_dumps(g), strf("nodes of the two platforms' %s", what));
    assert_set_equal(edge_set(c), edge_set(g), strf("edges of the two platforms' %s", what));
    return g;
}

/* ---- building grids ------------------------------------------------------------------- */

static const char *rel_base(const char *kind)
{
    static const char *const cust_kinds[] = {"supplypoint-meteringpoint", "meter-meterbox",
                                             "meter-meteringpoint", NULL};
    for (const char *const *k = cust_kinds; *k; k++)
        if (strcmp(*k, kind) == 0) return cust_url();
    return grid_url();
}

static void link_st(const char *kind, const char *from, const char *to, const char *status)
{
    json_t *b = json_pack("{s:s, s:s}", "from", from, "to", to);
    if (status) json_object_set_new(b, "status", json_string(status));
    api_resp *r = api_post(rel_base(kind), strf("/v1/relations/%s", kind), KEY_ADMIN, jdump(b));
    assert_status(r, 201);
}

static void link_ok(const char *kind, const char *from, const char *to)
{
    link_st(kind, from, to, NULL);
}

static void unlink_ok(const char *kind, const char *from, const char *to)
{
    api_resp *r = api_delete(rel_base(kind), strf("/v1/relations/%s?from=%s&to=%s", kind, from, to),
                             KEY_ADMIN);
    assert_status(r, 200);
}

static char *new_line(void)
{
    return create_line(KEY_PRODUCTION, strf("10kV trace line %s", uniq()), "public", 10);
}

static char *new_transformer(const char *kind, const char *status)
{
    json_t *b = json_pack("{s:s, s:s, s:f, s:f}", "name", strf("trace TR %s", uniq()), "kind", kind,
                          "capacity_kva", 400.0, "voltage_kv", 10.0);
    if (status) json_object_set_new(b, "status", json_string(status));
    return mk(grid_url(), "transformers", strcmp(kind, "public") == 0 ? KEY_PRODUCTION : KEY_MARKETING,
              b);
}

static char *new_customer(const char *name, const char *category, const char *phone,
                          const char *address)
{
    return mk(cust_url(), "customers", KEY_MARKETING,
              json_pack("{s:s, s:s, s:s, s:s}", "name", name, "category", category, "phone", phone,
                        "address", address));
}

/* The medium-voltage scenario: an hv customer on a dedicated transformer. */
typedef struct mv_grid {
    char *ss, *ln, *tr, *cu, *ad, *sp, *mp;
    char *cu_name, *phone;
} mv_grid;

static mv_grid *build_mv(void)
{
    mv_grid *m = it_track(calloc(1, sizeof *m), free);
    m->ss = create_substation(strf("110kV trace SS %s", uniq()));
    m->ln = new_line();
    m->tr = new_transformer("dedicated", NULL);
    m->ad = create_address();
    m->cu_name = strf("hv customer %s", uniq());
    m->phone = strf("0571-%04d%04d", rand() % 10000, rand() % 10000);
    m->cu = new_customer(m->cu_name, "hv", m->phone, m->ad);
    m->sp = mk(cust_url(), "supply-points", KEY_MARKETING,
               json_pack("{s:s, s:s, s:f, s:s}", "name", "main supply", "customer", m->cu,
                         "voltage_kv", 10.0, "mode", "main"));
    m->mp = mk(cust_url(), "metering-points", KEY_MARKETING,
               json_pack("{s:s, s:s, s:s, s:f}", "name", "billing MP", "customer", m->cu,
                         "purpose", "billing", "voltage_kv", 10.0));
    link_ok("substation-line", m->ss, m->ln);
    link_ok("line-transformer", m->ln, m->tr);
    link_ok("equipment-supplypoint", m->tr, m->sp);
    link_ok("transformer-customer", m->tr, m->cu);
    link_ok("supplypoint-meteringpoint", m->sp, m->mp);
    link_ok("equipment-meteringpoint", m->tr, m->mp);
    return m;
}

/* The low-voltage scenario: nbox meter boxes of per meters each on one access point. */
#define LV_MAX 64

typedef struct lv_grid {
    char *ss, *ln, *tr, *pl, *ap;
    int nbox, per, n;
    char *mb[8];
    char *mt[LV_MAX], *mp[LV_MAX], *cu[LV_MAX], *ad[LV_MAX];
    const char *name[LV_MAX], *phone[LV_MAX], *cat[LV_MAX];
} lv_grid;

static lv_grid *build_lv(int nbox, int per)
{
    assert_true(nbox <= 8 && nbox * per <= LV_MAX);
    lv_grid *g = it_track(calloc(1, sizeof *g), free);
    g->nbox = nbox;
    g->per = per;
    g->ss = create_substation(strf("110kV LV SS %s", uniq()));
    g->ln = new_line();
    g->tr = new_transformer("public", NULL);
    g->pl = mk(grid_url(), "poles", KEY_PRODUCTION,
               json_pack("{s:s, s:s, s:s}", "name", strf("pole %s", uniq()), "kind", "pole", "line",
                         g->ln));
    g->ap = mk(grid_url(), "access-points", KEY_PRODUCTION,
               json_pack("{s:s, s:s}", "name", strf("AP %s", uniq()), "pole", g->pl));
    link_ok("substation-line", g->ss, g->ln);
    link_ok("line-transformer", g->ln, g->tr);
    link_ok("accesspoint-transformer", g->ap, g->tr);
    for (int b = 0; b < nbox; b++) {
        g->mb[b] = mk(cust_url(), "meter-boxes", KEY_MARKETING,
                      json_pack("{s:s, s:i, s:i}", "name", strf("box %d %s", b, uniq()), "rows", 2,
                                "cols", 4));
        link_ok("accesspoint-meterbox", g->ap, g->mb[b]);
        for (int k = 0; k < per; k++) {
            int i = g->n++;
            g->ad[i] = create_address();
            /* one name that JSON must escape, in every place it is written */
            g->name[i] = strf(i == 1 ? "LV \"customer\" \\ %d\t客户\n%s" : "LV customer %d %s", i,
                              uniq());
            g->phone[i] = strf("138%08d", rand() % 100000000);
            g->cat[i] = i % 3 == 2 ? "lv_nonresident" : "lv_resident";
            g->cu[i] = new_customer(g->name[i], g->cat[i], g->phone[i], g->ad[i]);
            g->mp[i] = mk(cust_url(), "metering-points", KEY_MARKETING,
                          json_pack("{s:s, s:s}", "name", strf("MP %d", i), "customer", g->cu[i]));
            g->mt[i] = mk(cust_url(), "meters", KEY_MARKETING,
                          json_pack("{s:s, s:s}", "asset_no", strf("A%s", uniq()), "phase",
                                    "single"));
            link_ok("meter-meterbox", g->mt[i], g->mb[b]);
            link_ok("meter-meteringpoint", g->mt[i], g->mp[i]);
        }
    }
    return g;
}

/* Everything below the access point, for a trace down from it (boxes in use). */
static void lv_below_ap(const lv_grid *g, const int *boxes_on, strset *nodes, strset *edges)
{
    for (int b = 0; b < g->nbox; b++) {
        if (boxes_on && !boxes_on[b]) continue;
        set_add(nodes, g->mb[b]);
        set_add(edges, E(g->ap, g->mb[b], "accesspoint-meterbox"));
        for (int k = 0; k < g->per; k++) {
            int i = b * g->per + k;
            set_add(nodes, g->mt[i]);
            set_add(nodes, g->mp[i]);
            set_add(nodes, g->cu[i]);
            set_add(edges, E(g->mt[i], g->mb[b], "meter-meterbox"));
            set_add(edges, E(g->mt[i], g->mp[i], "meter-meteringpoint"));
            set_add(edges, E(g->mp[i], g->cu[i], "metering_point.customer"));
        }
    }
}

/* ---- 1. the medium-voltage scenario ------------------------------------------------------ */

static void mv_up_from_customer(void **state)
{
    (void)state;
    mv_grid *m = build_mv();
    api_resp *r = trace_both(
        m->cu, "up", 0, set_of(m->cu, m->sp, m->mp, m->tr, m->ln, m->ss, NULL),
        set_of(E(m->sp, m->cu, "supply_point.customer"), E(m->mp, m->cu, "metering_point.customer"),
               E(m->tr, m->cu, "transformer-customer"), E(m->tr, m->sp, "equipment-supplypoint"),
               E(m->sp, m->mp, "supplypoint-meteringpoint"),
               E(m->tr, m->mp, "equipment-meteringpoint"), E(m->ln, m->tr, "line-transformer"),
               E(m->ss, m->ln, "substation-line"), NULL));

    /* nodes: code, type, name, status and the summary fields */
    json_t *cu = node_of(r, m->cu);
    assert_string_equal(jstr(cu, "type"), "customer");
    assert_string_equal(jstr(cu, "name"), m->cu_name);
    assert_string_equal(jstr(cu, "status"), "active");
    assert_string_equal(jstr(cu, "category"), "hv");
    assert_string_equal(jstr(cu, "phone"), m->phone);
    assert_string_equal(jstr(cu, "address"), m->ad);
    struct {
        const char *code, *type, *status;
    } want[] = {{m->sp, "supply_point", "active"},  {m->mp, "metering_point", "active"},
                {m->tr, "transformer", "operational"}, {m->ln, "line", "operational"},
                {m->ss, "substation", "operational"}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        json_t *n = node_of(r, want[i].code);
        assert_non_null(n);
        assert_string_equal(jstr(n, "type"), want[i].type);
        assert_string_equal(jstr(n, "status"), want[i].status);
        assert_true(json_object_get(n, "name") != NULL);
    }
}

static void mv_supply_point_up_and_down(void **state)
{
    (void)state;
    mv_grid *m = build_mv();
    /* Up means toward the substation: the SP's feeder (equipment-supplypoint
     * gives the transformer), not its customer. */
    api_resp *up = trace_both(m->sp, "up", 0, set_of(m->sp, m->tr, m->ln, m->ss, NULL),
                              set_of(E(m->tr, m->sp, "equipment-supplypoint"),
                                     E(m->ln, m->tr, "line-transformer"),
                                     E(m->ss, m->ln, "substation-line"), NULL));
    assert_false(set_has(node_codes(up), m->cu));
    assert_false(set_has(node_codes(up), m->mp));
    /* Down from the SP: its metering point and its customer. */
    api_resp *down = trace_both(m->sp, "down", 0, set_of(m->sp, m->mp, m->cu, NULL),
                                set_of(E(m->sp, m->cu, "supply_point.customer"),
                                       E(m->sp, m->mp, "supplypoint-meteringpoint"),
                                       E(m->mp, m->cu, "metering_point.customer"), NULL));
    assert_true(set_has(node_codes(down), m->cu));
    assert_false(set_has(node_codes(down), m->tr));
}

static void mv_up_from_metering_point(void **state)
{
    (void)state;
    mv_grid *m = build_mv();
    api_resp *up = trace_both(m->mp, "up", 0, set_of(m->mp, m->sp, m->tr, m->ln, m->ss, NULL),
                              set_of(E(m->sp, m->mp, "supplypoint-meteringpoint"),
                                     E(m->tr, m->mp, "equipment-meteringpoint"),
                                     E(m->tr, m->sp, "equipment-supplypoint"),
                                     E(m->ln, m->tr, "line-transformer"),
                                     E(m->ss, m->ln, "substation-line"), NULL));
    assert_false(set_has(node_codes(up), m->cu));
}

static void mv_down_from_line(void **state)
{
    (void)state;
    mv_grid *m = build_mv();
    trace_both(m->ln, "down", 0, set_of(m->ln, m->tr, m->sp, m->mp, m->cu, NULL),
               set_of(E(m->ln, m->tr, "line-transformer"), E(m->tr, m->sp, "equipment-supplypoint"),
                      E(m->tr, m->cu, "transformer-customer"),
                      E(m->tr, m->mp, "equipment-meteringpoint"),
                      E(m->sp, m->cu, "supply_point.customer"),
                      E(m->sp, m->mp, "supplypoint-meteringpoint"),
                      E(m->mp, m->cu, "metering_point.customer"), NULL));
    /* and down from the substation: the same plus the substation-line link */
    trace_both(m->ss, "down", 0, set_of(m->ss, m->ln, m->tr, m->sp, m->mp, m->cu, NULL), NULL);
}

/* ---- 2. the low-voltage scenario -------------------------------------------------------- */

static void lv_down_from_access_point(void **state)
{
    (void)state;
    lv_grid *g = build_lv(2, 4);
    strset *nodes = set_of(g->ap, NULL), *edges = set_new();
    lv_below_ap(g, NULL, nodes, edges);
    assert_int_equal(nodes->n, 1 + 2 + 3 * 8);
    api_resp *r = trace_both(g->ap, "down", 0, nodes, edges);
    /* the customers carry their summary fields */
    for (int i = 0; i < g->n; i++) {
        json_t *cu = node_of(r, g->cu[i]);
        assert_string_equal(jstr(cu, "type"), "customer");
        assert_string_equal(jstr(cu, "name"), g->name[i]);
        assert_string_equal(jstr(cu, "category"), g->cat[i]);
        assert_string_equal(jstr(cu, "phone"), g->phone[i]);
        assert_string_equal(jstr(cu, "address"), g->ad[i]);
    }
    assert_string_equal(jstr(node_of(r, g->mb[0]), "type"), "meter_box");
    assert_string_equal(jstr(node_of(r, g->mt[0]), "type"), "meter");
}

/* Up from a meter box: its access point, the transformer whose area it is
 * in, the line, the substation. The pole the access point hangs on is where
 * it is, not what feeds it (DESIGN §9): no node, no edge. */
static void lv_up_from_meter_box(void **state)
{
    (void)state;
    lv_grid *g = build_lv(2, 4);
    for (int b = 0; b < 2; b++) {
        api_resp *r = trace_both(g->mb[b], "up", 0, set_of(g->mb[b], g->ap, g->tr, g->ln, g->ss, NULL),
                                 set_of(E(g->ap, g->mb[b], "accesspoint-meterbox"),
                                        E(g->ap, g->tr, "accesspoint-transformer"),
                                        E(g->ln, g->tr, "line-transformer"),
                                        E(g->ss, g->ln, "substation-line"), NULL));
        /* nothing below the box, nor its sibling */
        assert_false(set_has(node_codes(r), g->mb[1 - b]));
        assert_false(set_has(node_codes(r), g->mt[b * 4]));
    }
}

/* Positions are not feeds: access-points.pole and poles.line say where
 * things hang, and no walk follows them, from either end. */
static void positions_are_not_feeds(void **state)
{
    (void)state;
    lv_grid *g = build_lv(1, 1);
    trace_both(g->pl, "up", 0, set_of(g->pl, NULL), set_new());
    trace_both(g->pl, "down", 0, set_of(g->pl, NULL), set_new());
    trace_both(g->ap, "up", 0, set_of(g->ap, g->tr, g->ln, g->ss, NULL),
               set_of(E(g->ap, g->tr, "accesspoint-transformer"), E(g->ln, g->tr, "line-transformer"),
                      E(g->ss, g->ln, "substation-line"), NULL));
    /* down from the line: through its transformer to the access point */
    strset *nodes = set_of(g->ln, g->tr, g->ap, NULL);
    strset *edges = set_of(E(g->ln, g->tr, "line-transformer"),
                           E(g->ap, g->tr, "accesspoint-transformer"), NULL);
    lv_below_ap(g, NULL, nodes, edges);
    trace_both(g->ln, "down", 0, nodes, edges);
    /* an access point on the line's pole but in no transformer's area: off the chain */
    char *stray = mk(grid_url(), "access-points", KEY_PRODUCTION,
                     json_pack("{s:s, s:s}", "name", strf("stray AP %s", uniq()), "pole", g->pl));
    trace_both(stray, "up", 0, set_of(stray, NULL), set_new());
    trace_both(g->ln, "down", 0, nodes, edges);
}

static void lv_up_from_customer(void **state)
{
    (void)state;
    lv_grid *g = build_lv(1, 2);
    trace_both(g->cu[1], "up", 0,
               set_of(g->cu[1], g->mp[1], g->mt[1], g->mb[0], g->ap, g->tr, g->ln, g->ss, NULL),
               set_of(E(g->mp[1], g->cu[1], "metering_point.customer"),
                      E(g->mt[1], g->mp[1], "meter-meteringpoint"),
                      E(g->mt[1], g->mb[0], "meter-meterbox"),
                      E(g->ap, g->mb[0], "accesspoint-meterbox"),
                      E(g->ap, g->tr, "accesspoint-transformer"),
                      E(g->ln, g->tr, "line-transformer"), E(g->ss, g->ln, "substation-line"), NULL));
}

/* ---- 3. outage impact -------------------------------------------------------------------- */

static api_resp *impact(const char *base, const char *query)
{
    return api_get(base, strf("/v1/outage-impact?%s", query), KEY_DISPATCH);
}

/* The customers of g with an index in the set (all when on is NULL). */
static strset *lv_customers(const lv_grid *g, const int *on)
{
    strset *s = set_new();
    for (int i = 0; i < g->n; i++)
        if (!on || on[i]) set_add(s, g->cu[i]);
    return s;
}

/* The index of customer code in g; -1 when it is not one of g's. */
static int lv_index(const lv_grid *g, const char *code)
{
    for (int i = 0; i < g->n; i++)
        if (strcmp(g->cu[i], code) == 0) return i;
    return -1;
}

/* An impact answer: exactly these customers, in code order, each with the
 * five members and g's values; counts by category; next null (one page). */
static void check_impact(const api_resp *r, const lv_grid *g, const int *on)
{
    assert_status(r, 200);
    json_t *list = json_object_get(r->json, "customers");
    assert_true(json_is_array(list));
    strset *got = set_new();
    const char *prev = "";
    int res = 0, nonres = 0;
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c) {
        const char *code = jstr(c, "code");
        assert_non_null(code);
        if (strcmp(prev, code) >= 0) fail_msg("customers not in code order: %s then %s", prev, code);
        prev = code;
        set_add(got, code);
        assert_int_equal(json_object_size(c), 5);
        int k = lv_index(g, code);
        if (k < 0) fail_msg("outage impact lists %s, not a customer of this grid", code);
        assert_string_equal(jstr(c, "name"), g->name[k]);
        assert_string_equal(jstr(c, "phone"), g->phone[k]);
        assert_string_equal(jstr(c, "address"), g->ad[k]);
        assert_string_equal(jstr(c, "category"), g->cat[k]);
        if (strcmp(g->cat[k], "lv_resident") == 0) res++;
        else nonres++;
    }
    assert_set_equal(got, lv_customers(g, on), "outage-impact customers");
    json_t *counts = json_object_get(r->json, "counts");
    assert_int_equal(jint(counts, "total"), (long long)json_array_size(list));
    json_t *by = json_object_get(counts, "by_category");
    assert_true(json_is_object(by));
    assert_int_equal(json_object_size(by), (size_t)((res > 0) + (nonres > 0)));
    if (res) assert_int_equal(jint(by, "lv_resident"), res);
    if (nonres) assert_int_equal(jint(by, "lv_nonresident"), nonres);
    assert_true(json_is_null(json_object_get(r->json, "next")));
}

static void impact_of_line_lists_its_customers(void **state)
{
    const platform *p = *state;
    lv_grid *g = build_lv(2, 4);
    api_resp *r = impact(base_of(p), strf("codes=%s", g->ln));
    check_impact(r, g, NULL);
    /* 8 customers, indexes 2 and 5 lv_nonresident */
    assert_int_equal(jint(json_object_get(r->json, "counts"), "total"), 8);
    assert_int_equal(jint(json_object_get(json_object_get(r->json, "counts"), "by_category"),
                          "lv_nonresident"), 2);
    assert_int_equal(jint(json_object_get(json_object_get(r->json, "counts"), "by_category"),
                          "lv_resident"), 6);
    /* the substation above it: the same customers */
    check_impact(impact(base_of(p), strf("codes=%s", g->ss)), g, NULL);
}

static void impact_overlapping_codes_deduplicate(void **state)
{
    const platform *p = *state;
    lv_grid *g = build_lv(2, 4);
    check_impact(impact(base_of(p), strf("codes=%s,%s", g->ln, g->tr)), g, NULL);
    check_impact(impact(base_of(p), strf("codes=%s,%s,%s,%s", g->tr, g->ap, g->mb[1], g->cu[0])),
                 g, NULL);
    /* the same code twice */
    check_impact(impact(base_of(p), strf("codes=%s,%s", g->ap, g->ap)), g, NULL);
    /* one box: its own 4 customers */
    int on[LV_MAX] = {0};
    for (int i = 4; i < 8; i++) on[i] = 1;
    check_impact(impact(base_of(p), strf("codes=%s", g->mb[1])), g, on);
}

static void impact_pages_walk_every_customer_once(void **state)
{
    const platform *p = *state;
    lv_grid *g = build_lv(2, 4);
    strset *seen = set_new();
    const char *after = NULL, *prev = "";
    int pages = 0;
    for (;;) {
        api_resp *r = impact(base_of(p), strf("codes=%s&limit=3%s%s", g->ln, after ? "&after=" : "",
                                              after ? after : ""));
        assert_status(r, 200);
        json_t *list = json_object_get(r->json, "customers");
        pages++;
        assert_true(pages <= 3);
        assert_int_equal(json_array_size(list), pages < 3 ? 3 : 2);
        /* counts cover every customer, not only the page */
        assert_int_equal(jint(json_object_get(r->json, "counts"), "total"), 8);
        size_t i;
        json_t *c;
        json_array_foreach(list, i, c) {
            const char *code = jstr(c, "code");
            if (strcmp(prev, code) >= 0) fail_msg("pages not in code order: %s then %s", prev, code);
            prev = it_strdup(code);
            set_add(seen, code);
        }
        json_t *next = json_object_get(r->json, "next");
        if (pages < 3) {
            assert_true(json_is_string(next));
            assert_string_equal(json_string_value(next), prev); /* the last code of the page */
            after = it_strdup(json_string_value(next));
        } else {
            assert_true(json_is_null(next));
            break;
        }
    }
    assert_set_equal(seen, lv_customers(g, NULL), "customers over all pages");
    /* limit 8 and 4: one page / two full pages, the last with next null */
    api_resp *all = impact(base_of(p), strf("codes=%s&limit=8", g->ln));
    assert_int_equal(json_array_size(json_object_get(all->json, "customers")), 8);
    assert_true(json_is_null(json_object_get(all->json, "next")));
    api_resp *h1 = impact(base_of(p), strf("codes=%s&limit=4", g->ln));
    assert_int_equal(json_array_size(json_object_get(h1->json, "customers")), 4);
    api_resp *h2 = impact(base_of(p), strf("codes=%s&limit=4&after=%s", g->ln,
                                           jstr(h1->json, "next")));
    assert_int_equal(json_array_size(json_object_get(h2->json, "customers")), 4);
    assert_true(json_is_null(json_object_get(h2->json, "next")));
}

static void impact_ended_link_removes_box(void **state)
{
    (void)state;
    lv_grid *g = build_lv(2, 4);
    unlink_ok("accesspoint-meterbox", g->ap, g->mb[0]);
    int on[LV_MAX] = {0};
    for (int i = 4; i < 8; i++) on[i] = 1;
    check_impact(impact(grid_url(), strf("codes=%s", g->ln)), g, on);
    check_impact(impact(cust_url(), strf("codes=%s", g->ln)), g, on);
    /* and the trace down from the access point no longer has that box */
    int boxes[2] = {0, 1};
    strset *nodes = set_of(g->ap, NULL), *edges = set_new();
    lv_below_ap(g, boxes, nodes, edges);
    trace_both(g->ap, "down", 0, nodes, edges);
    /* up from that box stops at the box */
    trace_both(g->mb[0], "up", 0, set_of(g->mb[0], NULL), set_new());
}

static void impact_skips_retired_customer(void **state)
{
    (void)state;
    lv_grid *g = build_lv(2, 4);
    api_resp *d = api_delete(cust_url(), strf("/v1/customers/%s", g->cu[3]), KEY_MARKETING);
    assert_status(d, 200);
    assert_string_equal(jstr(d->json, "status"), "retired");
    int on[LV_MAX] = {0};
    for (int i = 0; i < 8; i++) on[i] = i != 3;
    check_impact(impact(grid_url(), strf("codes=%s", g->ln)), g, on);
    check_impact(impact(cust_url(), strf("codes=%s", g->ln)), g, on);
    /* nor in a trace: the metering point is, its customer is not */
    api_resp *r = trace_both(g->mb[0], "down", 0, NULL, NULL);
    assert_true(set_has(node_codes(r), g->mp[3]));
    assert_false(set_has(node_codes(r), g->cu[3]));
    assert_false(strstr(r->body, g->cu[3]) != NULL); /* no edge to it either */
    /* a retired root is unknown to the trace */
    assert_problem(trace_raw(grid_url(), g->cu[3], "up", 0), 404);
}

/* The customers in a trace down from code (every link walked, nothing skipped). */
static strset *traced_customers(const char *code)
{
    strset *all = node_codes(trace_both(code, "down", 0, NULL, NULL)), *out = set_new();
    for (int i = 0; i < all->n; i++)
        if (strncmp(all->v[i], "CU-", 3) == 0) set_add(out, all->v[i]);
    return out;
}

/* Impact on both platforms: the customers of g in on, and the same as a
 * trace down finds (an outage's list may take cust-svc's meter_reach
 * shortcut; a trace walks every meter and metering point). */
static void check_impact_both(const lv_grid *g, const char *code, const int *on)
{
    check_impact(impact(grid_url(), strf("codes=%s", code)), g, on);
    check_impact(impact(cust_url(), strf("codes=%s", code)), g, on);
    assert_set_equal(traced_customers(code), lv_customers(g, on),
                     strf("customers of a trace down from %s", code));
}

static void impact_follows_meter_and_point_changes(void **state)
{
    (void)state;
    lv_grid *g = build_lv(2, 4);
    int on[LV_MAX] = {0};
    for (int i = 0; i < 8; i++) on[i] = 1;
    /* a retired meter, a meter taken off its metering point, a retired
     * metering point: their customers are no longer supplied through them */
    assert_status(api_delete(cust_url(), strf("/v1/meters/%s", g->mt[0]), KEY_MARKETING), 200);
    unlink_ok("meter-meteringpoint", g->mt[1], g->mp[1]);
    assert_status(api_delete(cust_url(), strf("/v1/metering-points/%s", g->mp[2]), KEY_MARKETING),
                  200);
    on[0] = on[1] = on[2] = 0;
    check_impact_both(g, g->ln, on);
    /* a metering point given to another customer (who has one of their own) */
    assert_status(api_patch(cust_url(), strf("/v1/metering-points/%s", g->mp[4]), KEY_MARKETING,
                            jdump(json_pack("{s:s}", "customer", g->cu[5]))),
                  200);
    on[4] = 0;
    check_impact_both(g, g->ln, on);
    /* the meter put back on its metering point */
    link_ok("meter-meteringpoint", g->mt[1], g->mp[1]);
    on[1] = 1;
    check_impact_both(g, g->ln, on);
    /* a meter moved from box 1 to box 0: under box 0 now, not box 1 */
    unlink_ok("meter-meterbox", g->mt[6], g->mb[1]);
    link_ok("meter-meterbox", g->mt[6], g->mb[0]);
    check_impact_both(g, g->ln, on);
    int box0[LV_MAX] = {0}, box1[LV_MAX] = {0};
    for (int i = 0; i < 8; i++) {
        box0[i] = on[i] && (i < 4 || i == 6);
        box1[i] = on[i] && i >= 4 && i != 6;
    }
    check_impact_both(g, g->mb[0], box0);
    check_impact_both(g, g->mb[1], box1);
}

/* Returns once b's statement has run or waits for a lock. The watcher is
 * a connection of its own, outside any transaction: within one, PostgreSQL
 * shows the same pg_stat_activity each time it is asked. */
static void settled(PGconn *watcher, PGconn *b)
{
    for (int i = 0; i < 100; i++) {
        if (!PQconsumeInput(b)) fail_msg("second writer: %s", PQerrorMessage(b));
        if (!PQisBusy(b)) return;
        PGresult *r = pg_ok(watcher, strf("SELECT 1 FROM pg_stat_activity WHERE pid = %d "
                                          "AND wait_event_type = 'Lock'", PQbackendPID(b)));
        if (PQntuples(r) == 1) return;
        usleep(50000);
    }
    fail_msg("the second writer neither finished nor waited within 5 s");
}

/* Two writers on one chain at once, straight on cust-svc's database: one
 * links a meter to a metering point while the other gives that point to
 * another customer. Neither sees the other's row before it commits; the
 * list of a box must still end up with both changes. */
static void meter_reach_sees_concurrent_writers(void **state)
{
    (void)state;
    lv_grid *g = build_lv(1, 2);
    unlink_ok("meter-meteringpoint", g->mt[0], g->mp[0]);
    PGconn *a = pg_admin(db_name_of("CUST_DATABASE_URL"));
    PGconn *b = pg_admin(db_name_of("CUST_DATABASE_URL"));
    pg_ok(a, "BEGIN");
    pg_ok(a, strf("INSERT INTO rel_meter_meteringpoint (from_code, to_code, created_by) "
                  "VALUES ('%s', '%s', 'test')", g->mt[0], g->mp[0]));
    pg_ok(b, "BEGIN");
    const char *update = strf("UPDATE metering_points SET customer = '%s' WHERE code = '%s'",
                              g->cu[1], g->mp[0]);
    if (!PQsendQuery(b, update)) fail_msg("second writer: %s", PQerrorMessage(b));
    settled(pg_admin(db_name_of("CUST_DATABASE_URL")), b); /* it has met a's uncommitted link */
    pg_ok(a, "COMMIT");
    pg_sent_ok(b, update);
    pg_ok(b, "COMMIT");
    /* both meters of the box now serve customer 1 */
    int on[LV_MAX] = {0, 1};
    check_impact_both(g, g->mb[0], on);
}

/* ---- 4. batching ------------------------------------------------------------------------------ */


/* Levels of a walk from root: 1 + the largest number of hops from root to a
 * node over the answer's edges (the walk expands each level once, the last
 * one finding nothing new). */
static int levels_of(const api_resp *r, const char *root)
{
    strset *seen = set_of(root, NULL);
    json_t *edges = json_object_get(r->json, "edges");
    int depth = 0, start = 0;
    for (;;) {
        int end = seen->n;
        for (int i = start; i < end; i++) {
            size_t k;
            json_t *e;
            json_array_foreach(edges, k, e) {
                const char *from = jstr(e, "from"), *to = jstr(e, "to"), *other = NULL;
                if (strcmp(from, seen->v[i]) == 0) other = to;
                else if (strcmp(to, seen->v[i]) == 0) other = from;
                if (other && !set_has(seen, other)) set_add(seen, other);
            }
        }
        if (seen->n == end) break;
        start = end;
        depth++;
    }
    return depth + 1;
}

typedef struct batch_cost {
    double trace_up, impact;
    int trace_levels, impact_levels;
} batch_cost;

static batch_cost measure(const platform *p, const lv_grid *g)
{
    const char *base = base_of(p);
    batch_cost c;
    double m0 = peer_requests_total(base);
    api_resp *t = trace_ok(base, g->cu[g->n - 1], "up", 0);
    double m1 = peer_requests_total(base);
    /* CU → MP → MT → MB → AP → TR → LN → SS: 8 levels */
    strset *chain = set_of(g->cu[g->n - 1], g->mp[g->n - 1], g->mt[g->n - 1],
                           g->mb[g->nbox - 1], g->ap, g->tr, g->ln, g->ss, NULL);
    assert_set_equal(node_codes(t), chain, "nodes up from the LV customer");
    c.trace_levels = levels_of(t, g->cu[g->n - 1]);
    assert_int_equal(c.trace_levels, 8);
    api_resp *i = impact(base, strf("codes=%s&limit=10000", g->ln));
    double m2 = peer_requests_total(base);
    assert_status(i, 200);
    assert_int_equal(jint(json_object_get(i->json, "counts"), "total"), g->n);
    /* LN, TR, AP, MB, MT, MP, CU: 7 levels */
    c.impact_levels = levels_of(trace_ok(base, g->ln, "down", 0), g->ln);
    assert_int_equal(c.impact_levels, 7);
    c.trace_up = m1 - m0;
    c.impact = m2 - m1;
    return c;
}

static void walks_ask_the_peer_once_per_crossing(void **state)
{
    const platform *p = *state;
    lv_grid *small = build_lv(1, 2);
    lv_grid *big = build_lv(3, 8); /* 24 customers */
    batch_cost s = measure(p, small), b = measure(p, big);
    print_message("%s: peer requests: trace up %g / %g, outage impact %g / %g (2 / 24 customers)\n",
                  p->label, s.trace_up, b.trace_up, s.impact, b.impact);
    /* never more than one per level, + 1 to describe roots kept by the peer */
    if (b.trace_up < 1 || b.trace_up > b.trace_levels + 1)
        fail_msg("trace up: %g peer requests for %d levels", b.trace_up, b.trace_levels);
    if (s.trace_up < 1 || s.trace_up > s.trace_levels + 1)
        fail_msg("trace up: %g peer requests for %d levels", s.trace_up, s.trace_levels);
    if (b.impact < 1 || b.impact > b.impact_levels + 1)
        fail_msg("outage impact: %g peer requests for %d levels", b.impact, b.impact_levels);
    if (s.impact < 1 || s.impact > s.impact_levels + 1)
        fail_msg("outage impact: %g peer requests for %d levels", s.impact, s.impact_levels);
    /* the low-voltage chain crosses between the platforms once (meter box ↔
     * access point): one hand-over, whichever platform is asked; cust-svc
     * asks grid-svc once more, for what the outage cuts (DESIGN §9), which
     * only the platform that keeps the grid can say */
    double cut = p->grid ? 0 : 1;
    if (b.trace_up != 1 || b.impact != 1 + cut)
        fail_msg("one crossing should cost one peer request (outage impact %g more for the "
                 "cut): trace %g, impact %g", cut, b.trace_up, b.impact);
    /* independent of the number of customers */
    if (s.trace_up != b.trace_up || s.impact != b.impact)
        fail_msg("peer requests grow with the grid: trace %g vs %g, impact %g vs %g", s.trace_up,
                 b.trace_up, s.impact, b.impact);
}

/* ---- 5. peer down / slow ---------------------------------------------------------------------- */

static pid_t extra_pid = -1;
static int listener_fd = -1;

static int stop_extra(void **state)
{
    daemon_kill(extra_pid);
    extra_pid = -1;
    if (listener_fd >= 0) close(listener_fd);
    listener_fd = -1;
    return it_teardown(state);
}

/* A problem answer for a walk the peer could not complete. */
static void assert_peer_problem(const api_resp *r, int status, double max_s)
{
    assert_problem(r, status);
    json_t *missing = json_object_get(r->json, "missing");
    if (!json_is_object(missing)) {
        api_dump(r);
        fail_msg("no member 'missing' in the %d problem", status);
    }
    assert_string_equal(jstr(missing, "platform"), "cust-svc");
    assert_true(json_is_array(json_object_get(missing, "frontier")));
    /* never a partial answer */
    assert_null(json_object_get(r->json, "nodes"));
    assert_null(json_object_get(r->json, "customers"));
    /* the peer may be back soon (DESIGN §4) */
    if (!r->retry_after[0]) fail_msg("the %d problem has no Retry-After", status);
    if (r->seconds > max_s) fail_msg("%s answered after %.2f s (limit %.1f s)", r->url, r->seconds, max_s);
}

static void peer_down_answers_502(void **state)
{
    (void)state;
    mv_grid *m = build_mv();
    int port = free_port(), dead = free_port();
    assert_true(port > 0 && dead > 0 && port != dead);
    extra_pid = start_daemon("grid", port, it_env("GRID_DATABASE_URL"),
                             strf("http://127.0.0.1:%d", dead), strf("itest-trace-down-%d", port));
    assert_true(extra_pid > 0);
    const char *base = strf("http://127.0.0.1:%d", port);

    /* the customer is kept by the peer */
    assert_peer_problem(trace_raw(base, m->cu, "up", 0), 502, 5);
    /* a line whose chain crosses to cust-svc (TR → SP, MP, CU) */
    api_resp *r = trace_raw(base, m->ln, "down", 0);
    assert_peer_problem(r, 502, 5);
    /* the walk went as far as grid-svc's links go: what is missing is where
     * the chain crosses, the supply point and the customer */
    strset *frontier = set_new();
    json_t *fr = json_object_get(json_object_get(r->json, "missing"), "frontier");
    for (size_t k = 0; k < json_array_size(fr); k++)
        set_add(frontier, json_string_value(json_array_get(fr, k)));
    if (!set_has(frontier, m->sp) || !set_has(frontier, m->cu))
        fail_msg("the missing frontier does not name the supply point and the customer: %s",
                 jdump(json_incref(fr)));
    assert_peer_problem(impact(base, strf("codes=%s", m->ln)), 502, 5);
    /* the grid-only part of the chain still needs the peer's links: no 200 either */
    assert_peer_problem(trace_raw(base, m->tr, "up", 0), 502, 5);

    int st = daemon_stop(extra_pid, 15);
    extra_pid = -1;
    assert_int_equal(st, 0);
}

static void peer_slow_answers_504(void **state)
{
    (void)state;
    mv_grid *m = build_mv();
    /* A listener that never answers: the kernel completes the connections
     * (backlog) and nobody ever reads or writes them. */
    listener_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(listener_fd >= 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    assert_int_equal(bind(listener_fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(listener_fd, 128), 0);
    assert_int_equal(getsockname(listener_fd, (struct sockaddr *)&a, &al), 0);
    int slow = ntohs(a.sin_port);

    int port = free_port();
    const char *old = getenv("PEER_TIMEOUT_MS");
    char *saved = old ? it_strdup(old) : NULL;
    setenv("PEER_TIMEOUT_MS", "1000", 1);
    extra_pid = start_daemon("grid", port, it_env("GRID_DATABASE_URL"),
                             strf("http://127.0.0.1:%d", slow), strf("itest-trace-slow-%d", port));
    if (saved) setenv("PEER_TIMEOUT_MS", saved, 1);
    else unsetenv("PEER_TIMEOUT_MS");
    assert_true(extra_pid > 0);
    const char *base = strf("http://127.0.0.1:%d", port);

    assert_peer_problem(trace_raw(base, m->cu, "up", 0), 504, 2.5);
    assert_peer_problem(trace_raw(base, m->ln, "down", 0), 504, 2.5);
    assert_peer_problem(impact(base, strf("codes=%s", m->ln)), 504, 2.5);

    int st = daemon_stop(extra_pid, 15);
    extra_pid = -1;
    assert_int_equal(st, 0);
}

/* ---- 6. status=design ------------------------------------------------------------------------- */

static void design_objects_and_links_only_when_asked(void **state)
{
    (void)state;
    lv_grid *g = build_lv(1, 1);
    /* a transformer drawn in red (design) on the same line, on a design link */
    char *tr_d = new_transformer("public", "design");
    link_st("line-transformer", g->ln, tr_d, "design");
    /* an operational transformer whose link to the line is still a design */
    char *tr_l = new_transformer("public", NULL);
    link_st("line-transformer", g->ln, tr_l, "design");

    strset *op_nodes = set_of(g->ln, g->tr, g->ap, g->mb[0], g->mt[0], g->mp[0], g->cu[0], NULL);
    strset *op_edges = set_of(E(g->ln, g->tr, "line-transformer"),
                              E(g->ap, g->tr, "accesspoint-transformer"),
                              E(g->ap, g->mb[0], "accesspoint-meterbox"),
                              E(g->mt[0], g->mb[0], "meter-meterbox"),
                              E(g->mt[0], g->mp[0], "meter-meteringpoint"),
                              E(g->mp[0], g->cu[0], "metering_point.customer"), NULL);
    trace_both(g->ln, "down", 0, op_nodes, op_edges);
    trace_both(g->ln, "down", 1, set_of(g->ln, g->tr, g->ap, g->mb[0], g->mt[0], g->mp[0], g->cu[0], tr_d, tr_l, NULL),
               set_of(E(g->ln, g->tr, "line-transformer"),
                      E(g->ap, g->tr, "accesspoint-transformer"),
                      E(g->ap, g->mb[0], "accesspoint-meterbox"),
                      E(g->mt[0], g->mb[0], "meter-meterbox"),
                      E(g->mt[0], g->mp[0], "meter-meteringpoint"),
                      E(g->mp[0], g->cu[0], "metering_point.customer"),
                      E(g->ln, tr_d, "line-transformer"), E(g->ln, tr_l, "line-transformer"), NULL));
    api_resp *d = trace_ok(grid_url(), g->ln, "down", 1);
    assert_string_equal(jstr(node_of(d, tr_d), "status"), "design");

    /* up from the operational transformer on a design link: alone, unless asked */
    trace_both(tr_l, "up", 0, set_of(tr_l, NULL), set_new());
    trace_both(tr_l, "up", 1, set_of(tr_l, g->ln, g->ss, NULL),
               set_of(E(g->ln, tr_l, "line-transformer"), E(g->ss, g->ln, "substation-line"), NULL));
    /* the design transformer itself is no current object */
    assert_problem(trace_raw(grid_url(), tr_d, "up", 0), 404);
    assert_problem(trace_raw(cust_url(), tr_d, "up", 0), 404);
    trace_both(tr_d, "up", 1, set_of(tr_d, g->ln, g->ss, NULL), NULL);
    /* outage impact of the design transformer's line is unchanged */
    check_impact(impact(grid_url(), strf("codes=%s", g->ln)), g, NULL);
}

/* ---- 7. bad input ----------------------------------------------------------------------------- */

/* An impact query asks the peer to describe customers only: the boxes it
 * hands over come back as {"code"} (found), the customers in full, and
 * nothing else (no meters, no metering points, no edges). Without describe
 * the same leg answers every node and edge. */
static void peer_leg_describes_only_what_is_asked(void **state)
{
    (void)state;
    lv_grid *g = build_lv(2, 2);
    const char *body = strf("{\"codes\": [\"%s\", \"%s\"], \"direction\": \"down\", "
                            "\"near\": \"SS,LN,TR,AP,PL,\"%%s}", g->mb[0], g->mb[1]);
    api_resp *light = api_post(cust_url(), "/v1/graph/walk", KEY_DISPATCH,
                               strf(body, ", \"describe\": \"CU,\""));
    assert_status(light, 200);
    json_t *nodes = json_object_get(light->json, "nodes");
    assert_int_equal(json_array_size(json_object_get(light->json, "edges")), 0);
    strset *want = set_of(g->mb[0], g->mb[1], g->cu[0], g->cu[1], g->cu[2], g->cu[3], NULL);
    assert_set_equal(node_codes(light), want, "nodes of the leg that describes customers");
    size_t i;
    json_t *n;
    /* boxes are only vetted; customers come as lines, "code TAB category
     * TAB item", the item being the impact page's */
    json_array_foreach(nodes, i, n) {
        if (!json_is_string(n)) {
            assert_true(strncmp(jstr(n, "code"), "MB", 2) == 0);
            assert_int_equal(json_object_size(n), 1);
            continue;
        }
        char code[64], category[32];
        int at = 0;
        if (sscanf(json_string_value(n), "%63[^\t]\t%31[^\t]\t%n", code, category, &at) != 2 || !at)
            fail_msg("not a line of code, category and item: %s", json_string_value(n));
        json_t *item = json_loads(json_string_value(n) + at, 0, NULL);
        assert_non_null(item);
        assert_int_equal(json_object_size(item), 5);
        assert_string_equal(jstr(item, "code"), code);
        assert_string_equal(jstr(item, "category"), category);
        int k = lv_index(g, code);
        if (k < 0) fail_msg("the leg describes %s, not a customer of this grid", code);
        assert_string_equal(category, g->cat[k]);
        assert_string_equal(jstr(item, "name"), g->name[k]);
        json_decref(item);
    }

    api_resp *full = api_post(cust_url(), "/v1/graph/walk", KEY_DISPATCH, strf(body, ""));
    assert_status(full, 200);
    /* 2 boxes, and per customer its meter, metering point and itself */
    assert_int_equal(json_array_size(json_object_get(full->json, "nodes")), 2 + 3 * 4);
    assert_int_equal(json_array_size(json_object_get(full->json, "edges")), 3 * 4);

    assert_problem(api_post(cust_url(), "/v1/graph/walk", KEY_DISPATCH,
                            strf(body, ", \"describe\": 5")), 400);
}

/* Each platform keeps the plans of 64 walk shapes (MAX_STMTS in trace.c);
 * one past them is planned for that walk alone. 70 impact queries from
 * mixes of object types, each with one of the last two types of its list
 * (codes that exist nowhere: each a 404, planned first), take every slot
 * on both platforms; then walks from mixes without those two, so never
 * planned by the fill, must answer as ever: the impact list, the peer's
 * leg of one, and a trace. */
static void walks_past_the_kept_plans_answer_alike(void **state)
{
    (void)state;
    lv_grid *g = build_lv(2, 2);
    static const char *const grid_types[] = {"SS", "LN", "TR", "PL", "AP", "SR", "MR"};
    static const char *const cust_types[] = {"CU", "SP", "MP", "MB", "MT", "BG", "CP"};
    for (int mix = 1, asked = 0; asked < 70; mix++) {
        if (!(mix & 0x60)) continue; /* neither of the last two types */
        asked++;
        const char *on_grid = "", *on_cust = "";
        for (int t = 0; t < 7; t++) {
            if (!(mix & (1 << t))) continue;
            on_grid = strf("%s%s%s", on_grid, *on_grid ? "," : "", mint_code(grid_types[t]));
            on_cust = strf("%s%s%s", on_cust, *on_cust ? "," : "", mint_code(cust_types[t]));
        }
        assert_problem(impact(grid_url(), strf("codes=%s", on_grid)), 404);
        assert_problem(impact(cust_url(), strf("codes=%s", on_cust)), 404);
    }
    check_impact(impact(cust_url(), strf("codes=%s,%s,%s,%s,%s", g->mb[0], g->mb[1], g->mt[0],
                                         g->mp[0], g->cu[0])),
                 g, NULL);
    check_impact(impact(grid_url(), strf("codes=%s,%s,%s,%s,%s", g->ss, g->ln, g->tr, g->pl,
                                         g->ap)),
                 g, NULL);
    api_resp *leg = api_post(cust_url(), "/v1/graph/walk", KEY_DISPATCH,
                             strf("{\"codes\": [\"%s\", \"%s\", \"%s\"], \"direction\": "
                                  "\"down\", \"near\": \"SS,LN,TR,AP,PL,\", \"describe\": "
                                  "\"CU,\"}", g->mb[0], g->mt[2], g->mp[3]));
    assert_status(leg, 200);
    assert_set_equal(node_codes(leg),
                     set_of(g->mb[0], g->mt[2], g->mp[3], g->cu[0], g->cu[1], g->cu[2], g->cu[3],
                            NULL),
                     "nodes of a leg planned for itself");
    api_resp *up = trace_raw(cust_url(), g->mt[3], "up", 0);
    assert_status(up, 200);
    if (!set_has(node_codes(up), g->ss)) fail_msg("a trace up from %s misses %s", g->mt[3], g->ss);
}

static void bad_input_is_refused(void **state)
{
    const platform *p = *state;
    const char *base = base_of(p);
    char *line = new_line();

    assert_problem(trace_raw(base, mint_code("CU"), "up", 0), 404);
    assert_problem(trace_raw(base, mint_code("LN"), "down", 0), 404);
    assert_problem(trace_raw(base, mint_code("MB"), "down", 1), 404);
    assert_problem(api_get(base, "/v1/trace/not-a-code", KEY_DISPATCH), 400);
    assert_problem(api_get(base, "/v1/trace/XX-123", KEY_DISPATCH), 400);
    assert_problem(trace_raw(base, spoil_check(line), "up", 0), 400);
    assert_problem(api_get(base, strf("/v1/trace/%s?direction=sideways", line), KEY_DISPATCH), 400);
    assert_problem(api_get(base, strf("/v1/trace/%s?direction=", line), KEY_DISPATCH), 400);
    assert_problem(api_get(base, strf("/v1/trace/%s?status=bogus", line), KEY_DISPATCH), 400);
    /* the default direction is up */
    api_resp *dflt = api_get(base, strf("/v1/trace/%s", line), KEY_DISPATCH);
    assert_status(dflt, 200);
    assert_string_equal(jstr(dflt->json, "direction"), "up");

    assert_problem(impact(base, ""), 400);
    assert_problem(impact(base, "codes="), 400);
    assert_problem(impact(base, strf("codes=%s&limit=0", line)), 400);
    assert_problem(impact(base, strf("codes=%s&limit=10001", line)), 400);
    assert_problem(impact(base, strf("codes=%s&limit=abc", line)), 400);
    assert_problem(impact(base, strf("codes=%s&limit=-1", line)), 400);
    assert_problem(impact(base, strf("codes=%s,not-a-code", line)), 400);
    assert_problem(impact(base, strf("codes=%s", mint_code("LN"))), 404);
    /* limit at the bounds is fine */
    assert_status(impact(base, strf("codes=%s&limit=1", line)), 200);
    assert_status(impact(base, strf("codes=%s&limit=10000", line)), 200);
    /* reads need a key */
    assert_status(api_get(base, strf("/v1/trace/%s", line), NULL), 401);
}

int main(void)
{
    it_filter();
    srand((unsigned)(time(NULL) ^ getpid()));
    const struct CMUnitTest tests[] = {
        IT(mv_up_from_customer),
        IT(mv_supply_point_up_and_down),
        IT(mv_up_from_metering_point),
        IT(mv_down_from_line),
        IT(lv_down_from_access_point),
        IT(lv_up_from_meter_box),
        IT(positions_are_not_feeds),
        IT(lv_up_from_customer),
        IT_ON(impact_of_line_lists_its_customers, &GRID_P, "grid"),
        IT_ON(impact_of_line_lists_its_customers, &CUST_P, "cust"),
        IT_ON(impact_overlapping_codes_deduplicate, &GRID_P, "grid"),
        IT_ON(impact_overlapping_codes_deduplicate, &CUST_P, "cust"),
        IT_ON(impact_pages_walk_every_customer_once, &GRID_P, "grid"),
        IT_ON(impact_pages_walk_every_customer_once, &CUST_P, "cust"),
        IT(impact_ended_link_removes_box),
        IT(impact_skips_retired_customer),
        IT(impact_follows_meter_and_point_changes),
        IT(meter_reach_sees_concurrent_writers),
        IT_ON(walks_ask_the_peer_once_per_crossing, &GRID_P, "grid"),
        IT_ON(walks_ask_the_peer_once_per_crossing, &CUST_P, "cust"),
        cmocka_unit_test_teardown(peer_down_answers_502, stop_extra),
        cmocka_unit_test_teardown(peer_slow_answers_504, stop_extra),
        IT(design_objects_and_links_only_when_asked),
        IT(peer_leg_describes_only_what_is_asked),
        IT_ON(bad_input_is_refused, &GRID_P, "grid"),
        IT_ON(bad_input_is_refused, &CUST_P, "cust"),
        /* last: it leaves the daemons with every plan slot taken */
        IT(walks_past_the_kept_plans_answer_alike),
    };
    return cmocka_run_group_tests(tests, it_group_setup, it_group_teardown);
}
