/* trace.c -- see trace.h: the two endpoints a client asks (a trace, an
 * outage's impact) and the routes. A walk is walk.c's; its legs leg.c's;
 * the statements they run walk_sql.c's, from the chain chain.c reads off
 * the declarations. */
#include "topology/trace.h"

#include <stdlib.h>
#include <string.h>

#include "base/jsonutil.h"
#include "topology/energise.h"
#include "topology/walk.h"

#define IMPACT_LIMIT_DEFAULT 1000
#define IMPACT_LIMIT_MAX 10000
#define IMPACT_CODES_MAX 1000

static int parse_code(request *req, const char *raw, char canon[BIZCODE_LEN + 1])
{
    biz_status st = bizcode_parse(raw, canon, NULL);
    if (st == BIZ_OK) return OK;
    http_problem(req, 400, "'%.40s' is not a valid code: %s", raw, bizcode_strerror(st));
    return ERR;
}

static int design_of(request *req, int *design)
{
    const char *s = http_query(req, "status");
    *design = s && strcmp(s, "design") == 0;
    if (s && !*design && strcmp(s, "operational") != 0) {
        http_problem(req, 400, "status must be operational (the default) or design");
        return ERR;
    }
    return OK;
}

/* ---- GET /v1/trace/{code} ----------------------------------------------------- */

static void trace(request *req, void *ctx)
{
    service *svc = ctx;
    char code[BIZCODE_LEN + 1];
    int design, dir, normal;
    if (parse_code(req, http_param(req, 0), code) != OK || design_of(req, &design) != OK ||
        leg_state(req, http_query(req, "state"), &normal) != OK)
        return;
    const char *d = http_query(req, "direction");
    if ((dir = leg_direction(req, d ? d : "up")) < 0) return;
    walk w = {.req = req};
    leg_init(&w.l, svc, NULL, dir, design, ALL_TYPES);
    w.l.normal = normal;
    json_t *roots = json_pack("[s]", code);
    if (walk_from(&w, roots, NULL) == OK) {
        json_t *list = json_array();
        const char *k;
        json_t *n;
        json_object_foreach(w.l.nodes, k, n) json_array_append(list, n);
        http_json(req, 200, json_pack("{s:s, s:s, s:s, s:o, s:o}", "root", code, "direction",
                                      dir == UP ? "up" : "down", "state",
                                      normal ? "normal" : "current", "nodes", list, "edges",
                                      walk_shown_edges(&w.l)));
    }
    json_decref(roots);
    leg_free(&w.l);
}

/* ---- GET /v1/outage-impact ---------------------------------------------------- */

/* A customer of an impact list: its line, split. */
typedef struct {
    const char *code; /* the nodes' key */
    const char *group, *item;
    size_t group_len, item_len;
} listed;

static int cmp_listed(const void *a, const void *b)
{
    return strcmp(((const listed *)a)->code, ((const listed *)b)->code);
}

/* "code TAB group TAB item" into c; 0 when it is not such a line. */
static int split_line(const char *code, const json_t *node, listed *c)
{
    const char *line = json_string_value(node);
    const char *t1 = line ? strchr(line, '\t') : NULL, *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
    if (!t2) return 0;
    *c = (listed){code, t1 + 1, t2 + 1, (size_t)(t2 - t1 - 1),
                  json_string_length(node) - (size_t)(t2 + 1 - line)};
    return 1;
}

static void count_in(json_t *by_group, const listed *cu)
{
    const char *group = cu->group_len ? cu->group : "unknown";
    size_t len = cu->group_len ? cu->group_len : strlen("unknown");
    json_t *count = json_object_getn(by_group, group, len);
    if (count)
        json_integer_set(count, json_integer_value(count) + 1);
    else
        json_object_setn_new(by_group, group, len, json_integer(1));
}

/* An impact's question: the objects out, the page, the state, whether to
 * say which switches would restore supply, and the types its walks
 * describe (those listed, or none when only a count is wanted). */
typedef struct impact_ask {
    json_t *named;
    int limit, normal, restorable;
    const char *after;
    tmask describe;
} impact_ask;

/* The answer: customers[start, end) and the counts of all n, by the
 * declared group (counts.by_<group>, when one is declared), the state, and
 * restorable when asked. The items are the texts PostgreSQL wrote
 * (walk_sql.c). */
static char *impact_answer(const chain *ch, const impact_ask *ask, const listed *customers,
                           size_t n, size_t start, size_t end, const json_t *by_group,
                           const json_t *restorable, size_t *len)
{
    sbuf b = {0};
    sb_append(&b, "{\"customers\":[");
    for (size_t i = start; i < end; i++) {
        if (i > start) sb_append(&b, ",");
        sb_appendn(&b, customers[i].item, customers[i].item_len);
    }
    sb_append(&b, "],\"counts\":{\"total\":");
    sb_json_int(&b, (long long)n);
    if (ch->group) {
        sb_appendf(&b, ",\"by_%s\":", ch->group); /* a declared column name: no escapes */
        char *counts = json_text(by_group);
        sb_append(&b, counts);
        free(counts);
    }
    sb_appendf(&b, "},\"state\":\"%s\"", ask->normal ? "normal" : "current");
    if (restorable) {
        char *text = json_text(restorable);
        sb_appendf(&b, ",\"restorable\":%s", text);
        free(text);
    }
    sb_append(&b, ",\"next\":");
    if (end < n)
        sb_json_string(&b, customers[end - 1].code);
    else
        sb_append(&b, "null");
    sb_append(&b, "}");
    *len = b.len;
    return sb_steal(&b);
}

static int impact_params(request *req, impact_ask *ask)
{
    const char *codes = http_query(req, "codes"), *ls = http_query(req, "limit");
    const char *rs = http_query(req, "restorable");
    *ask = (impact_ask){.named = json_array(), .limit = IMPACT_LIMIT_DEFAULT,
                        .after = http_query(req, "after"), .restorable = 1};
    if (!codes || !*codes) {
        http_problem(req, 400, "codes is required: the objects that are out, e.g. codes=LN-…,TR-…");
        return ERR;
    }
    if (ls && http_limit(req, ls, IMPACT_LIMIT_MAX, &ask->limit) != OK) return ERR;
    if (leg_state(req, http_query(req, "state"), &ask->normal) != OK) return ERR;
    if (rs && strcmp(rs, "true") && strcmp(rs, "false")) {
        http_problem(req, 400, "restorable must be true (the default) or false");
        return ERR;
    }
    ask->restorable = !rs || strcmp(rs, "true") == 0;
    char *copy = xstrdup(codes), *save = NULL;
    int rc = OK;
    for (char *t = strtok_r(copy, ",", &save); t && rc == OK; t = strtok_r(NULL, ",", &save)) {
        char canon[BIZCODE_LEN + 1];
        rc = parse_code(req, t, canon);
        if (rc == OK && json_array_size(ask->named) == IMPACT_CODES_MAX) {
            http_problem(req, 400, "codes names more than %d objects; ask in parts",
                         IMPACT_CODES_MAX);
            rc = ERR;
        }
        if (rc == OK) json_array_append_new(ask->named, json_string(canon));
    }
    free(copy);
    return rc;
}

/* The page of the customers in nodes (code -> impact line, among other
 * nodes): split, sorted by code, from after on; counts cover them all. */
static void impact_page(request *req, const chain *ch, const impact_ask *ask, json_t *nodes,
                        const json_t *restorable)
{
    size_t n = 0, cap = json_object_size(nodes) + 1;
    listed *customers = xcalloc(cap, sizeof *customers);
    json_t *by_group = json_object();
    const char *k;
    json_t *node;
    json_object_foreach(nodes, k, node) {
        if (split_line(k, node, &customers[n])) count_in(by_group, &customers[n++]);
    }
    qsort(customers, n, sizeof *customers, cmp_listed);
    size_t start = 0;
    while (ask->after && start < n && strcmp(ask->after, customers[start].code) >= 0) start++;
    size_t end = n - start > (size_t)ask->limit ? start + (size_t)ask->limit : n;
    size_t len;
    char *text = impact_answer(ch, ask, customers, n, start, end, by_group, restorable, &len);
    json_decref(by_group);
    http_raw(req, 200, "application/json", text, len);
    free(customers);
}

/* One radial walk down from roots (shown, or 404) and also (the cut):
 * the customers' lines it found gathered into nodes. ERR after answering. */
static int impact_walk(request *req, service *svc, const impact_ask *ask, json_t *roots,
                       json_t *also, json_t *nodes)
{
    walk w = {.req = req};
    /* only the listed types are described: the rest of the chain is only vetted */
    leg_init(&w.l, svc, NULL, DOWN, 0, ask->describe);
    w.l.normal = ask->normal;
    int rc = walk_from(&w, roots, also);
    if (rc == OK) json_object_update(nodes, w.l.nodes);
    leg_free(&w.l);
    return rc;
}

/* The customers of found (impact lines) that are not in already. */
static json_int_t newly(json_t *found, json_t *already)
{
    json_int_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(found, k, v) n += json_is_string(v) && !json_object_get(already, k);
    return n;
}

static int by_customers(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t nx = json_integer_value(json_object_get(x, "customers"));
    json_int_t ny = json_integer_value(json_object_get(y, "customers"));
    if (nx != ny) return nx < ny ? 1 : -1;
    return strcmp(json_string_value(json_object_get(x, "switch")),
                  json_string_value(json_object_get(y, "switch")));
}

/* The transfer plan 转供方案: each switch of oc->restore with the listed
 * customers closing it restores (those of its component not also cut by a
 * named object, in out), more than none, largest first. */
static json_t *restorable_of(const outage_cut *oc, json_t *per_component, json_t *out)
{
    size_t n = json_array_size(oc->restore), k = 0;
    json_t **items = xcalloc(n + 1, sizeof *items);
    size_t i;
    json_t *v;
    json_array_foreach(oc->restore, i, v) {
        json_t *found = json_object_get(per_component, json_str(v, "component"));
        json_int_t restored = found ? newly(found, out) : 0;
        if (restored > 0)
            items[k++] = json_pack("{s:O, s:I}", "switch", json_object_get(v, "switch"),
                                   "customers", restored);
    }
    qsort(items, k, sizeof *items, by_customers);
    json_t *list = json_array();
    for (size_t j = 0; j < k; j++) json_array_append_new(list, items[j]);
    free(items);
    return list;
}

/* The walks of an outage: from the named objects and what the cut leaves
 * no switch to restore, then from each component of the cut on its own,
 * so that what closing a switch restores can be counted. */
static int impact_walks(request *req, service *svc, const impact_ask *ask, const outage_cut *oc,
                        json_t *nodes, json_t **restorable)
{
    if (!ask->restorable) {
        json_t *all = json_copy(oc->alone);
        const char *comp;
        json_t *lines;
        json_object_foreach(oc->components, comp, lines) json_array_extend(all, lines);
        int rc = impact_walk(req, svc, ask, ask->named, all, nodes);
        json_decref(all);
        return rc;
    }
    json_t *out = json_object(), *per = json_object();
    int rc = impact_walk(req, svc, ask, ask->named, oc->alone, out);
    const char *comp;
    json_t *lines;
    json_object_foreach(oc->components, comp, lines) {
        if (rc != OK) break;
        json_t *found = json_object();
        json_t *none = json_array();
        rc = impact_walk(req, svc, ask, none, lines, found);
        json_decref(none);
        json_object_update(nodes, found);
        json_object_set_new(per, comp, found);
    }
    if (rc == OK) {
        json_object_update(nodes, out);
        *restorable = restorable_of(oc, per, out);
    }
    json_decref(out);
    json_decref(per);
    return rc;
}

/* Every customer fed only from what the outage leaves unenergised
 * (DESIGN §9), de-duplicated, by code, paged; counts cover them all. */
static void outage_impact(request *req, void *ctx)
{
    service *svc = ctx;
    impact_ask ask;
    outage_cut oc = {0};
    int rc = impact_params(req, &ask);
    ask.describe = ((trace_state *)svc->trace)->ch.listed;
    if (rc == OK && outage_cut_of(svc, req, ask.named, ask.normal, &oc) == OK) {
        json_t *nodes = json_object(), *restorable = NULL;
        if (impact_walks(req, svc, &ask, &oc, nodes, &restorable) == OK)
            impact_page(req, &((trace_state *)svc->trace)->ch, &ask, nodes, restorable);
        json_decref(nodes);
        json_decref(restorable);
    }
    outage_cut_free(&oc);
    json_decref(ask.named);
}

/* ---- for the platform's own processes ------------------------------------------ */

int trace_impact_nodes(service *svc, request *req, json_t *named, int normal, json_t *nodes)
{
    impact_ask ask = {.named = named, .normal = normal,
                      .describe = ((trace_state *)svc->trace)->ch.listed};
    outage_cut oc = {0};
    int rc = outage_cut_of(svc, req, named, normal, &oc);
    if (rc == OK) rc = impact_walks(req, svc, &ask, &oc, nodes, NULL);
    outage_cut_free(&oc);
    return rc;
}

long trace_impact_count(service *svc, request *req, json_t *named, int normal)
{
    /* Nothing described: the walk only vets, and takes the chain's
     * shortcuts past what it would otherwise describe. */
    impact_ask ask = {.named = named, .normal = normal, .describe = 0};
    tmask counted = ((trace_state *)svc->trace)->ch.listed;
    outage_cut oc = {0};
    json_t *nodes = json_object();
    int rc = outage_cut_of(svc, req, named, normal, &oc);
    if (rc == OK) rc = impact_walks(req, svc, &ask, &oc, nodes, NULL);
    long n = rc == OK ? 0 : -1;
    const char *k;
    json_t *v;
    json_object_foreach(nodes, k, v) n += rc == OK && (type_bit(k) & counted) != 0;
    json_decref(nodes);
    outage_cut_free(&oc);
    return n;
}

int trace_up_graph(service *svc, request *req, json_t *roots, json_t *nodes, json_t *edges)
{
    walk w = {.req = req};
    leg_init(&w.l, svc, NULL, UP, 0, ALL_TYPES);
    int rc = walk_from(&w, roots, NULL);
    if (rc == OK) {
        json_object_update(nodes, w.l.nodes);
        json_t *shown = walk_shown_edges(&w.l);
        json_array_extend(edges, shown);
        json_decref(shown);
    }
    leg_free(&w.l);
    return rc;
}

/* Which end of a relation's links, or of a code field's, is upstream: 0
 * from, 1 to, -1 neither. */
static int upstream_in(const relation_def *rels, int nrels, const collection_def *colls,
                       int ncolls, const char *kind)
{
    for (int i = 0; i < nrels; i++) {
        if (strcmp(rels[i].kind, kind)) continue;
        if (rels[i].rules & REL_UPSTREAM_FROM) return 0;
        return rels[i].rules & REL_UPSTREAM_TO ? 1 : -1;
    }
    const char *dot = strchr(kind, '.');
    for (int i = 0; dot && i < ncolls; i++) {
        const biz_type *t = biz_type_by_prefix(colls[i].prefix);
        if (!t || strncmp(t->type, kind, (size_t)(dot - kind)) || t->type[dot - kind]) continue;
        for (const field_def *f = colls[i].fields; f->name; f++)
            if (strcmp(f->name, dot + 1) == 0)
                return f->flags & FF_FEEDS ? 0 : f->flags & FF_FED_BY ? 1 : -1;
    }
    return -2;
}

const char *trace_edge_upstream(const service *svc, const json_t *edge)
{
    const service_def *d = svc->def;
    const char *kind = json_str(edge, "kind");
    if (!kind) return NULL;
    int end = upstream_in(d->relations, d->nrelations, d->collections, d->ncollections, kind);
    if (end == -2)
        end = upstream_in(d->peer_relations, d->peer_nrelations, d->peer_collections,
                          d->peer_ncollections, kind);
    return end == 0 ? json_str(edge, "from") : end == 1 ? json_str(edge, "to") : NULL;
}

int trace_meshed(const service *svc, const char *code)
{
    const service_def *d = svc->def;
    const relation_def *sets[2] = {d->relations, d->peer_relations};
    int counts[2] = {d->nrelations, d->peer_nrelations};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < counts[k]; i++)
            if ((sets[k][i].rules & REL_MESHED) && (catalogue_lists(sets[k][i].from, code) ||
                                                    catalogue_lists(sets[k][i].to, code)))
                return 1;
    return 0;
}

/* ---- routes ------------------------------------------------------------------- */

static const char *const directions[] = {"up", "down", NULL};
static const char *const states[] = {"current", "normal", NULL};
static const char *const walked[] = {"operational", "design", NULL};
#define STATE_DOC "switches as they are now (the default) or in their normal position"

static const query_doc trace_query[] = {
    {"direction", "string", directions, 0, "up to the substation (the default) or down to the "
                                           "customers"},
    {"state", "string", states, 0, STATE_DOC},
    {"status", "string", walked, 0, "design: walk the red drawing's objects too"},
    {0}};

static const query_doc impact_query[] = {
    {"codes", "string", NULL, 1, "the objects out, comma-separated codes of either platform"},
    {"state", "string", states, 0, STATE_DOC},
    {"limit", "integer", NULL, 0, "customers per page"},
    {"after", "string", NULL, 0, "the next of the page before"},
    {"restorable", "boolean", NULL, 0, "list the open switches whose closing would bring "
                                       "customers back (the default: true)"},
    {0}};

void trace_routes(service *svc, router *r)
{
    trace_state *ts = xcalloc(1, sizeof *ts);
    chain_build(&ts->ch, svc->def);
    walk_plans_init(&ts->plans);
    pthread_mutex_init(&ts->mu, NULL);
    svc->trace = ts;
    router_add(r, "GET", "/v1/trace/{code}", trace, svc, ROUTE_PEER,
               "The supply chain up or down from any object, across both platforms")
        ->query = trace_query;
    router_add(r, "GET", "/v1/outage-impact", outage_impact, svc, ROUTE_PEER,
               "Customers who lose supply when the given objects are out, and the open "
               "switches whose closing would restore them")
        ->query = impact_query;
    if (svc->def->outage_cut)
        router_add(r, "POST", "/v1/graph/outage-cut", outage_cut_serve, svc,
                   ROUTE_BODY_JSON | ROUTE_SLOW | ROUTE_READ_ONLY,
                   "What an outage cuts of the meshed grid, and the switches that would restore "
                   "it (used by the peer)");
    /* A leg may hand over many codes at once and take a while, but never
     * waits on the peer: off the I/O threads, on the local workers, so the
     * peer's waiting traces never hold what it needs (waits.h). */
    route *leg_route = router_add(r, "POST", "/v1/graph/walk", leg_serve, svc,
                                  ROUTE_BODY_JSON | ROUTE_BODY_BULK | ROUTE_SLOW | ROUTE_READ_ONLY,
                                  "This platform's leg of a walk (used by the peer): at most "
                                  "200,000 codes in a body of at most 8 MiB");
    leg_route->body_limit = WALK_BODY_LIMIT;
}

void trace_cleanup(service *svc)
{
    trace_state *ts = svc->trace;
    if (!ts) return;
    chain_free(&ts->ch);
    walk_plans_free(&ts->plans);
    for (int i = 0; i < 2; i++) free(ts->peer_near[i]);
    pthread_mutex_destroy(&ts->mu);
    free(ts);
    svc->trace = NULL;
}
