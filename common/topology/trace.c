/* trace.c -- see trace.h: the two endpoints a client asks (a trace, an
 * outage's impact) and the routes. A walk is walk.c's; its legs leg.c's;
 * the statements they run walk_sql.c's, from the chain chain.c reads off
 * the declarations. */
#include "topology/trace.h"

#include <stdlib.h>
#include <string.h>

#include "base/jsonutil.h"
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
    int design, dir;
    if (parse_code(req, http_param(req, 0), code) != OK || design_of(req, &design) != OK) return;
    const char *d = http_query(req, "direction");
    if ((dir = leg_direction(req, d ? d : "up")) < 0) return;
    walk w = {.req = req};
    leg_init(&w.l, svc, NULL, dir, design, ALL_TYPES);
    json_t *roots = json_pack("[s]", code);
    if (walk_from(&w, roots) == OK) {
        json_t *list = json_array();
        const char *k;
        json_t *n;
        json_object_foreach(w.l.nodes, k, n) json_array_append(list, n);
        http_json(req, 200, json_pack("{s:s, s:s, s:o, s:o}", "root", code, "direction",
                                      dir == UP ? "up" : "down", "nodes", list, "edges",
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

/* The answer: customers[start, end) and the counts of all n, by the
 * declared group (counts.by_<group>, when one is declared). The items are
 * the texts PostgreSQL wrote (walk_sql.c). */
static char *impact_answer(const chain *ch, const listed *customers, size_t n, size_t start,
                           size_t end, const json_t *by_group, size_t *len)
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
    sb_append(&b, "},\"next\":");
    if (end < n)
        sb_json_string(&b, customers[end - 1].code);
    else
        sb_append(&b, "null");
    sb_append(&b, "}");
    *len = b.len;
    return sb_steal(&b);
}

static int impact_params(request *req, json_t **roots, int *limit, const char **after)
{
    const char *codes = http_query(req, "codes"), *ls = http_query(req, "limit");
    *after = http_query(req, "after");
    *limit = IMPACT_LIMIT_DEFAULT;
    if (!codes || !*codes) {
        http_problem(req, 400, "codes is required: the objects that are out, e.g. codes=LN-…,TR-…");
        return ERR;
    }
    if (ls && http_limit(req, ls, IMPACT_LIMIT_MAX, limit) != OK) return ERR;
    *roots = json_array();
    char *copy = xstrdup(codes), *save = NULL;
    int rc = OK;
    for (char *t = strtok_r(copy, ",", &save); t && rc == OK; t = strtok_r(NULL, ",", &save)) {
        char canon[BIZCODE_LEN + 1];
        rc = parse_code(req, t, canon);
        if (rc == OK && json_array_size(*roots) == IMPACT_CODES_MAX) {
            http_problem(req, 400, "codes names more than %d objects; ask in parts",
                         IMPACT_CODES_MAX);
            rc = ERR;
        }
        if (rc == OK) json_array_append_new(*roots, json_string(canon));
    }
    free(copy);
    return rc;
}

/* The page of a finished impact walk: its lines, split, sorted by code,
 * from after on; counts cover them all. */
static void impact_page(request *req, const walk *w, int limit, const char *after)
{
    const chain *ch = &((const trace_state *)w->l.svc->trace)->ch;
    size_t n = 0, cap = json_object_size(w->l.nodes) + 1;
    listed *customers = xcalloc(cap, sizeof *customers);
    json_t *by_group = json_object();
    const char *k;
    json_t *node;
    json_object_foreach(w->l.nodes, k, node) {
        if (split_line(k, node, &customers[n])) count_in(by_group, &customers[n++]);
    }
    qsort(customers, n, sizeof *customers, cmp_listed);
    size_t start = 0;
    while (after && start < n && strcmp(after, customers[start].code) >= 0) start++;
    size_t end = n - start > (size_t)limit ? start + (size_t)limit : n;
    size_t len;
    char *text = impact_answer(ch, customers, n, start, end, by_group, &len);
    json_decref(by_group);
    http_raw(req, 200, "application/json", text, len);
    free(customers);
}

/* Every customer below the objects that are out, de-duplicated, by code,
 * paged; counts cover them all. */
static void outage_impact(request *req, void *ctx)
{
    service *svc = ctx;
    walk w = {.req = req};
    json_t *roots = NULL;
    int limit;
    const char *after;
    if (impact_params(req, &roots, &limit, &after) != OK) {
        json_decref(roots);
        return;
    }
    /* only the listed types are described: the rest of the chain is only vetted */
    leg_init(&w.l, svc, NULL, DOWN, 0, ((trace_state *)svc->trace)->ch.listed);
    if (walk_from(&w, roots) == OK) impact_page(req, &w, limit, after);
    json_decref(roots);
    leg_free(&w.l);
}

/* ---- routes ------------------------------------------------------------------- */

void trace_routes(service *svc, router *r)
{
    trace_state *ts = xcalloc(1, sizeof *ts);
    chain_build(&ts->ch, svc->def);
    walk_plans_init(&ts->plans);
    pthread_mutex_init(&ts->mu, NULL);
    svc->trace = ts;
    router_add(r, "GET", "/v1/trace/{code}", trace, svc, ROUTE_PEER,
               "The supply chain up or down from any object, across both platforms");
    router_add(r, "GET", "/v1/outage-impact", outage_impact, svc, ROUTE_PEER,
               "Customers who lose supply when the given objects are out");
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
