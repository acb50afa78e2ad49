/* trace.c -- see trace.h. The chain is read off the declarations: relations
 * flagged REL_UPSTREAM_FROM / REL_UPSTREAM_TO and code fields flagged
 * FF_FEEDS / FF_FED_BY are its links; nodes show name and FF_SUMMARY fields. */
#include "trace.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fields.h"
#include "jsonutil.h"
#include "service.h"

#define MAX_LEVELS 32
#define IMPACT_LIMIT_DEFAULT 1000
#define IMPACT_LIMIT_MAX 10000

enum { UP = 0, DOWN = 1 };

/* One kind of link of the chain that this platform keeps. */
typedef struct {
    const char *kind;              /* relation kind, or "metering_point.customer" */
    const char *const *near[2];    /* prefixes a walk UP / DOWN expands from */
    char *sql[2];                  /* ($1 codes, $2 statuses) -> (from, to) */
    int neighbour[2];              /* column of the far end in the answer */
    const char *holder[2];         /* field steps: {holder prefix, NULL} */
    char *kind_buf;
} step;

typedef struct {
    const collection_def *def;
    const biz_type *type;
    char *sql; /* ($1 codes) -> code, status, name, summary fields */
    const field_def *summary[8];
    int nsummary, has_name;
} describer;

typedef struct {
    step *steps;
    int nsteps;
    describer *desc;
    int ndesc;
    char *near_text[2];          /* our steps' near prefixes, "LN,TR,..." per direction */
    char *shown[2];              /* statuses a walk shows, without / with design */
    pthread_mutex_t mu;
    char *peer_near[2];          /* the peer's, learnt from its first answer; NULL until then */
} trace_state;

static int has_prefix(const char *const *list, const char *code)
{
    for (; list && *list; list++)
        if (strncmp(*list, code, 2) == 0) return 1;
    return 0;
}

/* ---- set-up from the declarations ----------------------------------------- */

static void relation_step(step *st, const relation_def *rd)
{
    int up_is_from = (rd->rules & REL_UPSTREAM_FROM) != 0;
    st->kind = rd->kind;
    /* Walking up from the downstream end finds the upstream end, and down
     * the other way round. Rows are always (from_code, to_code). */
    const char *down_end = up_is_from ? "to_code" : "from_code";
    const char *up_end = up_is_from ? "from_code" : "to_code";
    st->near[UP] = up_is_from ? rd->to : rd->from;
    st->near[DOWN] = up_is_from ? rd->from : rd->to;
    st->neighbour[UP] = up_is_from ? 0 : 1;
    st->neighbour[DOWN] = up_is_from ? 1 : 0;
    const char *near_col[2] = {down_end, up_end};
    for (int d = 0; d < 2; d++)
        st->sql[d] = xasprintf("SELECT from_code, to_code FROM %s WHERE %s = ANY ($1::text[]) AND "
                               "valid_to IS NULL AND status = ANY ($2::text[])",
                               rd->table, near_col[d]);
}

/* A code field as a link: the holder (cd) is upstream of the object it
 * names (FF_FEEDS) or downstream of it (FF_FED_BY). */
static void field_step(step *st, const collection_def *cd, const biz_type *bt, const field_def *f)
{
    int holder_up = (f->flags & FF_FEEDS) != 0;
    int to_holder = holder_up ? UP : DOWN; /* the walk that goes from named to holder */
    int to_named = holder_up ? DOWN : UP;
    st->kind_buf = xasprintf("%s.%s", bt->type, f->name);
    st->kind = st->kind_buf;
    st->holder[0] = cd->prefix;
    st->near[to_holder] = f->refs;
    st->near[to_named] = st->holder;
    st->neighbour[to_holder] = 0;
    st->neighbour[to_named] = 1;
    st->sql[to_holder] = xasprintf("SELECT code, %s FROM %s WHERE %s = ANY ($1::text[]) AND "
                                   "status = ANY ($2::text[])", f->name, cd->table, f->name);
    st->sql[to_named] = xasprintf("SELECT code, %s FROM %s WHERE code = ANY ($1::text[]) AND %s "
                                  "IS NOT NULL AND status = ANY ($2::text[])",
                                  f->name, cd->table, f->name);
}

/* Statuses a walk shows: operational (and design when asked) for the grid,
 * anything not retired for the customer side. */
static char *statuses(service *svc, int design)
{
    sbuf b = {0};
    sb_append(&b, "{");
    int n = 0;
    for (const char *const *s = svc->def->statuses->values; *s; s++) {
        if (strcmp(*s, "retired") == 0 || (strcmp(*s, "design") == 0 && !design)) continue;
        sb_appendf(&b, "%s%s", n++ ? "," : "", *s);
    }
    sb_append(&b, "}");
    return sb_steal(&b);
}

static void build(service *svc, trace_state *ts)
{
    const service_def *sd = svc->def;
    int cap = sd->nrelations + 16;
    ts->steps = xcalloc((size_t)cap, sizeof *ts->steps);
    for (int i = 0; i < sd->nrelations; i++)
        if (sd->relations[i].rules & (REL_UPSTREAM_FROM | REL_UPSTREAM_TO))
            relation_step(&ts->steps[ts->nsteps++], &sd->relations[i]);
    ts->desc = xcalloc((size_t)sd->ncollections, sizeof *ts->desc);
    for (int i = 0; i < sd->ncollections; i++) {
        const collection_def *cd = &sd->collections[i];
        describer *d = &ts->desc[ts->ndesc++];
        d->def = cd;
        d->type = biz_type_by_prefix(cd->prefix);
        sbuf b = {0};
        sb_append(&b, "SELECT code, status, ");
        sb_append(&b, field_find(cd->fields, "name") ? "name" : "NULL");
        d->has_name = field_find(cd->fields, "name") != NULL;
        for (const field_def *f = cd->fields; f->name; f++) {
            if ((f->flags & (FF_FEEDS | FF_FED_BY)) && ts->nsteps < cap)
                field_step(&ts->steps[ts->nsteps++], cd, d->type, f);
            if ((f->flags & FF_SUMMARY) && f->type != FT_LOCATION && d->nsummary < 8) {
                d->summary[d->nsummary++] = f;
                sb_appendf(&b, ", %s", f->name);
            }
        }
        sb_appendf(&b, " FROM %s WHERE code = ANY ($1::text[])", cd->table);
        d->sql = sb_steal(&b);
    }
    for (int dir = 0; dir < 2; dir++) {
        sbuf b = {0};
        sb_append(&b, "");
        for (int i = 0; i < ts->nsteps; i++)
            for (const char *const *p = ts->steps[i].near[dir]; p && *p; p++)
                if (!b.s || !strstr(b.s, *p)) sb_appendf(&b, "%s,", *p);
        ts->near_text[dir] = sb_steal(&b);
    }
    ts->shown[0] = statuses(svc, 0);
    ts->shown[1] = statuses(svc, 1);
    pthread_mutex_init(&ts->mu, NULL);
}

/* Could the peer expand any of these codes? Unknown until it has told us. */
static int peer_may_expand(trace_state *ts, json_t *codes, int dir)
{
    pthread_mutex_lock(&ts->mu);
    const char *near = ts->peer_near[dir];
    int may = near == NULL;
    size_t i;
    json_t *v;
    json_array_foreach(codes, i, v) {
        char prefix[4] = {0};
        memcpy(prefix, json_string_value(v), 2);
        prefix[2] = ',';
        if (may || strstr(near, prefix)) {
            may = 1;
            break;
        }
    }
    pthread_mutex_unlock(&ts->mu);
    return may;
}

static void learn_peer_near(trace_state *ts, json_t *answer)
{
    json_t *near = json_object_get(answer, "near");
    pthread_mutex_lock(&ts->mu);
    for (int dir = 0; dir < 2; dir++) {
        const char *v = json_string_value(json_object_get(near, dir == 0 ? "up" : "down"));
        if (v && !ts->peer_near[dir]) ts->peer_near[dir] = xstrdup(v);
    }
    pthread_mutex_unlock(&ts->mu);
}

/* ---- local work ------------------------------------------------------------- */

/* "{A,B,C}": codes are canonical, so they need no quoting. */
static char *pg_array(json_t *codes)
{
    sbuf b = {0};
    sb_append(&b, "{");
    size_t i;
    json_t *v;
    json_array_foreach(codes, i, v) sb_appendf(&b, "%s%s", i ? "," : "", json_string_value(v));
    sb_append(&b, "}");
    return sb_steal(&b);
}

/* Adds the nodes of the codes this platform keeps to nodes (by code). */
static int describe(service *svc, db_conn *c, json_t *codes, int design, json_t *nodes)
{
    trace_state *ts = svc->trace;
    const char *allowed = ts->shown[design != 0];
    int rc = OK;
    for (int i = 0; i < ts->ndesc && rc == OK; i++) {
        describer *d = &ts->desc[i];
        json_t *mine = json_array();
        size_t k;
        json_t *v;
        json_array_foreach(codes, k, v)
            if (strncmp(json_string_value(v), d->def->prefix, 2) == 0) json_array_append(mine, v);
        if (json_array_size(mine)) {
            char *arr = pg_array(mine);
            const char *params[] = {arr};
            PGresult *r = db_exec(c, d->sql, 1, params);
            if (!db_ok(r)) rc = ERR;
            for (int row = 0; rc == OK && row < PQntuples(r); row++) {
                const char *st = PQgetvalue(r, row, 1);
                if (!strstr(allowed, st)) continue; /* retired, or design when not asked */
                json_t *node = json_pack("{s:s, s:s}", "code", PQgetvalue(r, row, 0), "type",
                                         d->type->type);
                if (d->has_name) field_to_json(&(field_def){.name = "name", .type = FT_TEXT}, r,
                                               row, 2, node);
                json_object_set_new(node, "status", json_string(st));
                for (int s = 0; s < d->nsummary; s++) field_to_json(d->summary[s], r, row, 3 + s, node);
                json_object_set_new(nodes, PQgetvalue(r, row, 0), node);
            }
            PQclear(r);
            free(arr);
        }
        json_decref(mine);
    }
    return rc;
}

/* One step from codes in direction dir over this platform's links: edges
 * appended to edges, far ends to far (may repeat). */
static int expand(service *svc, db_conn *c, json_t *codes, int dir, int design, json_t *edges,
                  json_t *far)
{
    trace_state *ts = svc->trace;
    const char *link_st = ts->shown[design != 0];
    int rc = OK;
    for (int i = 0; i < ts->nsteps && rc == OK; i++) {
        step *st = &ts->steps[i];
        json_t *near = json_array();
        size_t k;
        json_t *v;
        json_array_foreach(codes, k, v)
            if (has_prefix(st->near[dir], json_string_value(v))) json_array_append(near, v);
        if (json_array_size(near)) {
            char *arr = pg_array(near);
            const char *params[] = {arr, link_st};
            PGresult *r = db_exec(c, st->sql[dir], 2, params);
            if (!db_ok(r)) rc = ERR;
            for (int row = 0; rc == OK && row < PQntuples(r); row++) {
                json_array_append_new(edges, json_pack("{s:s, s:s, s:s}", "from",
                                                       PQgetvalue(r, row, 0), "to",
                                                       PQgetvalue(r, row, 1), "kind", st->kind));
                json_array_append_new(far, json_string(PQgetvalue(r, row, st->neighbour[dir])));
            }
            PQclear(r);
            free(arr);
        }
        json_decref(near);
    }
    return rc;
}

/* Codes of list that this platform keeps (keep = 1) or not (keep = 0). */
static json_t *owned(service *svc, json_t *list, int keep)
{
    json_t *out = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
        if ((service_collection(svc, json_string_value(v)) != NULL) == keep)
            json_array_append(out, v);
    return out;
}

/* ---- POST /v1/graph/expand -------------------------------------------------- */

static int codes_of(request *req, json_t *arr, const char *member, json_t **out)
{
    *out = json_array();
    if (!arr) return OK;
    if (!json_is_array(arr) || json_array_size(arr) > 100000) {
        http_problem(req, 400, "%s must be an array of codes", member);
        return ERR;
    }
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        char canon[BIZCODE_LEN + 1];
        if (!json_is_string(v) || bizcode_parse(json_string_value(v), canon, NULL) != BIZ_OK) {
            http_problem(req, 400, "%s[%zu] is not a valid code", member, i);
            return ERR;
        }
        json_array_append_new(*out, json_string(canon));
    }
    return OK;
}

static int direction_of(request *req, const char *d)
{
    if (d && strcmp(d, "up") == 0) return UP;
    if (d && strcmp(d, "down") == 0) return DOWN;
    http_problem(req, 400, "direction must be up or down");
    return -1;
}

/* Body {"codes": [...], "direction", "design": bool, "describe": [...]}:
 * this platform's edges from codes, and the nodes it keeps among their far
 * ends and among describe. */
static void graph_expand(request *req, void *ctx)
{
    service *svc = ctx;
    json_t *codes = NULL, *more = NULL;
    int dir = direction_of(req, json_string_value(json_object_get(req->json, "direction")));
    if (dir < 0 || codes_of(req, json_object_get(req->json, "codes"), "codes", &codes) != OK ||
        codes_of(req, json_object_get(req->json, "describe"), "describe", &more) != OK) {
        json_decref(codes);
        json_decref(more);
        return;
    }
    int design = json_is_true(json_object_get(req->json, "design"));
    db_conn *c = service_db(svc, req);
    if (c) {
        json_t *edges = json_array(), *far = json_array(), *nodes = json_object();
        json_t *mine = NULL;
        if (expand(svc, c, codes, dir, design, edges, far) == OK) {
            json_t *wanted = json_copy(far);
            json_array_extend(wanted, more);
            mine = owned(svc, wanted, 1);
            json_decref(wanted);
        }
        if (mine && describe(svc, c, mine, design, nodes) == OK) {
            json_t *list = json_array();
            const char *k;
            json_t *n;
            json_object_foreach(nodes, k, n) json_array_append(list, n);
            /* far[i] is the end of edges[i] away from the codes asked about */
            trace_state *ts = svc->trace;
            http_json(req, 200, json_pack("{s:o, s:O, s:o, s:{s:s, s:s}}", "edges", edges, "far",
                                          far, "nodes", list, "near", "up", ts->near_text[UP],
                                          "down", ts->near_text[DOWN]));
            edges = NULL;
        } else {
            http_problem(req, 503, "the database is unavailable; retry shortly");
        }
        json_decref(mine);
        json_decref(edges);
        json_decref(far);
        json_decref(nodes);
        db_release(svc->db, c);
    }
    json_decref(codes);
    json_decref(more);
}

/* ---- the walk ----------------------------------------------------------------- */

typedef struct {
    service *svc;
    request *req;
    int dir, design;
    json_t *nodes;  /* code -> node, everything reached */
    json_t *edges;  /* kept edges */
    int failed;     /* answered already (peer or database trouble) */
} walk;

/* Asks the peer for its step from frontier, with nodes for describe. */
static int peer_step(walk *w, json_t *frontier, json_t *describe_codes, json_t *edges, json_t *far,
                     json_t *nodes)
{
    service *svc = w->svc;
    /* Nothing for the peer to expand or describe: spare the round trip. */
    if (json_array_size(describe_codes) == 0 && !peer_may_expand(svc->trace, frontier, w->dir))
        return OK;
    json_t *body = json_pack("{s:O, s:s, s:b, s:O}", "codes", frontier, "direction",
                             w->dir == UP ? "up" : "down", "design", w->design, "describe",
                             describe_codes);
    char *text = json_text(body);
    json_decref(body);
    peer_response pr;
    peer_caller who = {http_header_in(w->req, "Authorization"), w->req->id, NULL};
    peer_call(svc->peer, "POST", "/v1/graph/expand", &who, text, strlen(text), &pr);
    free(text);
    const char *peer_name = service_name(svc->def->id == SVC_GRID ? SVC_CUST : SVC_GRID);
    int rc = ERR;
    json_t *answer = pr.error == PEER_OK && pr.status == 200 ? json_loads(pr.body, 0, NULL) : NULL;
    json_t *pe = json_object_get(answer, "edges"), *pf = json_object_get(answer, "far");
    json_t *pn = json_object_get(answer, "nodes");
    if (json_is_array(pe) && json_is_array(pn) && json_is_array(pf) &&
        json_array_size(pe) == json_array_size(pf)) {
        size_t i;
        json_t *v;
        json_array_extend(edges, pe);
        json_array_extend(far, pf);
        learn_peer_near(svc->trace, answer);
        json_array_foreach(pn, i, v) {
            const char *code = json_string_value(json_object_get(v, "code"));
            if (code) json_object_set(nodes, code, v);
        }
        rc = OK;
    } else {
        json_t *missing = json_pack("{s:{s:s, s:O}}", "missing", "platform", peer_name, "frontier",
                                    frontier);
        json_object_set_new(missing, "reached", json_integer((json_int_t)json_object_size(w->nodes)));
        if (pr.error == PEER_TIMEOUT)
            http_problem_extra(w->req, 504, missing,
                               "%s did not answer in time; the walk stopped with %zu objects found "
                               "and the rest of the chain unknown", peer_name,
                               json_object_size(w->nodes));
        else
            http_problem_extra(w->req, 502, missing,
                               "%s cannot be reached (%s); the walk stopped with %zu objects found "
                               "and the rest of the chain unknown", peer_name,
                               pr.error ? pr.detail : "unexpected answer", json_object_size(w->nodes));
        w->failed = 1;
    }
    json_decref(answer);
    peer_response_free(&pr);
    return rc;
}

/* Walks from roots (already in w->nodes) to the end of the chain. */
static int walk_from(walk *w, json_t *roots, db_conn *c)
{
    json_t *frontier = json_deep_copy(roots);
    for (int level = 0; level < MAX_LEVELS && json_array_size(frontier); level++) {
        json_t *edges = json_array(), *far = json_array(), *found = json_object();
        int rc = expand(w->svc, c, frontier, w->dir, w->design, edges, far);
        /* far ends kept here get described locally, the peer's by the peer */
        json_t *theirs = owned(w->svc, far, 0);
        if (rc == OK) rc = peer_step(w, frontier, theirs, edges, far, found);
        json_t *ours = rc == OK ? owned(w->svc, far, 1) : NULL;
        if (rc == OK && describe(w->svc, c, ours, w->design, found) != OK) {
            http_problem(w->req, 503, "the database is unavailable; retry shortly");
            w->failed = 1;
            rc = ERR;
        }
        json_t *next = json_array();
        size_t i;
        json_t *e;
        json_array_foreach(rc == OK ? edges : NULL, i, e) {
            const char *from = json_string_value(json_object_get(e, "from"));
            const char *to = json_string_value(json_object_get(e, "to"));
            /* keep an edge when both ends are shown (not retired, not design unless asked) */
            int from_known = json_object_get(w->nodes, from) || json_object_get(found, from);
            int to_known = json_object_get(w->nodes, to) || json_object_get(found, to);
            if (!from_known || !to_known) continue;
            json_array_append(w->edges, e);
            const char *fresh = json_object_get(w->nodes, from) ? to : from;
            if (json_object_get(w->nodes, fresh)) continue;
            json_object_set(w->nodes, fresh, json_object_get(found, fresh));
            json_array_append_new(next, json_string(fresh));
        }
        json_decref(edges);
        json_decref(far);
        json_decref(found);
        json_decref(theirs);
        json_decref(ours);
        json_decref(frontier);
        frontier = next;
        if (rc != OK) {
            json_decref(frontier);
            if (!w->failed) http_problem(w->req, 503, "the database is unavailable; retry shortly");
            return ERR;
        }
    }
    json_decref(frontier);
    return OK;
}

/* Describes the roots; 404 when one names nothing shown. */
static int roots_of(walk *w, json_t *roots, db_conn *c)
{
    json_t *ours = owned(w->svc, roots, 1), *theirs = owned(w->svc, roots, 0);
    int rc = describe(w->svc, c, ours, w->design, w->nodes);
    if (rc != OK) {
        http_problem(w->req, 503, "the database is unavailable; retry shortly");
        w->failed = 1;
    } else if (json_array_size(theirs)) {
        json_t *edges = json_array(), *far = json_array(), *none = json_array();
        rc = peer_step(w, none, theirs, edges, far, w->nodes);
        json_decref(edges);
        json_decref(far);
        json_decref(none);
    }
    size_t i;
    json_t *v;
    json_array_foreach(rc == OK ? roots : NULL, i, v) {
        if (json_object_get(w->nodes, json_string_value(v))) continue;
        http_problem(w->req, 404, "no %s object with code %s%s",
                     w->design ? "design or operational" : "current", json_string_value(v),
                     w->design ? "" : " (add status=design for red-drawing objects)");
        rc = ERR;
        break;
    }
    json_decref(ours);
    json_decref(theirs);
    return rc;
}

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

static void trace(request *req, void *ctx)
{
    service *svc = ctx;
    char code[BIZCODE_LEN + 1];
    walk w = {.svc = svc, .req = req};
    if (parse_code(req, http_param(req, 0), code) != OK || design_of(req, &w.design) != OK) return;
    const char *d = http_query(req, "direction");
    if ((w.dir = direction_of(req, d ? d : "up")) < 0) return;
    db_conn *c = service_db(svc, req);
    if (!c) return;
    w.nodes = json_object();
    w.edges = json_array();
    json_t *roots = json_pack("[s]", code);
    if (roots_of(&w, roots, c) == OK && walk_from(&w, roots, c) == OK) {
        json_t *list = json_array();
        const char *k;
        json_t *n;
        json_object_foreach(w.nodes, k, n) json_array_append(list, n);
        http_json(req, 200, json_pack("{s:s, s:s, s:o, s:O}", "root", code, "direction",
                                      w.dir == UP ? "up" : "down", "nodes", list, "edges", w.edges));
    }
    json_decref(roots);
    json_decref(w.nodes);
    json_decref(w.edges);
    db_release(svc->db, c);
}

static int cmp_code(const void *a, const void *b)
{
    return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "code")),
                  json_string_value(json_object_get(*(json_t *const *)b, "code")));
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
    if (ls) {
        char *end;
        long v = strtol(ls, &end, 10);
        if (!*ls || *end || v < 1 || v > IMPACT_LIMIT_MAX) {
            http_problem(req, 400, "limit must be an integer from 1 to %d", IMPACT_LIMIT_MAX);
            return ERR;
        }
        *limit = (int)v;
    }
    *roots = json_array();
    char *copy = xstrdup(codes), *save = NULL;
    int rc = OK;
    for (char *t = strtok_r(copy, ",", &save); t && rc == OK; t = strtok_r(NULL, ",", &save)) {
        char canon[BIZCODE_LEN + 1];
        rc = parse_code(req, t, canon);
        if (rc == OK && json_array_size(*roots) == 1000) {
            http_problem(req, 400, "codes names more than 1000 objects; ask in parts");
            rc = ERR;
        }
        if (rc == OK) json_array_append_new(*roots, json_string(canon));
    }
    free(copy);
    return rc;
}

/* Every customer below the objects that are out, de-duplicated, by code,
 * paged; counts cover them all. */
static void outage_impact(request *req, void *ctx)
{
    service *svc = ctx;
    walk w = {.svc = svc, .req = req, .dir = DOWN};
    json_t *roots = NULL;
    int limit;
    const char *after;
    if (impact_params(req, &roots, &limit, &after) != OK) {
        json_decref(roots);
        return;
    }
    db_conn *c = service_db(svc, req);
    if (!c) {
        json_decref(roots);
        return;
    }
    w.nodes = json_object();
    w.edges = json_array();
    if (roots_of(&w, roots, c) == OK && walk_from(&w, roots, c) == OK) {
        size_t n = 0, cap = json_object_size(w.nodes) + 1;
        json_t **customers = xcalloc(cap, sizeof *customers);
        json_t *by_category = json_object();
        const char *k;
        json_t *node;
        json_object_foreach(w.nodes, k, node) {
            if (strcmp(json_string_value(json_object_get(node, "type")), "customer") != 0) continue;
            customers[n++] = node;
            const char *cat = json_string_value(json_object_get(node, "category"));
            if (!cat) cat = "unknown";
            json_object_set_new(by_category, cat,
                                json_integer(json_integer_value(json_object_get(by_category, cat)) + 1));
        }
        qsort(customers, n, sizeof *customers, cmp_code);
        json_t *page = json_array();
        size_t start = 0;
        while (after && start < n &&
               strcmp(after, json_string_value(json_object_get(customers[start], "code"))) >= 0)
            start++;
        for (size_t i = start; i < n && json_array_size(page) < (size_t)limit; i++) {
            json_t *cu = customers[i];
            json_array_append_new(page, json_pack("{s:O, s:O, s:O, s:O, s:O}", "code",
                                                  json_object_get(cu, "code"), "name",
                                                  json_object_get(cu, "name"), "phone",
                                                  json_object_get(cu, "phone"), "address",
                                                  json_object_get(cu, "address"), "category",
                                                  json_object_get(cu, "category")));
        }
        size_t shown = json_array_size(page);
        json_t *next = start + shown < n
                           ? json_deep_copy(json_object_get(customers[start + shown - 1], "code"))
                           : json_null();
        http_json(req, 200, json_pack("{s:o, s:{s:I, s:o}, s:o}", "customers", page, "counts",
                                      "total", (json_int_t)n, "by_category", by_category, "next",
                                      next));
        free(customers);
    }
    json_decref(roots);
    json_decref(w.nodes);
    json_decref(w.edges);
    db_release(svc->db, c);
}

void trace_routes(service *svc, router *r)
{
    trace_state *ts = xcalloc(1, sizeof *ts);
    svc->trace = ts;
    build(svc, ts);
    router_add(r, "GET", "/v1/trace/{code}", trace, svc, ROUTE_PEER,
               "The supply chain up or down from any object, across both platforms");
    router_add(r, "GET", "/v1/outage-impact", outage_impact, svc, ROUTE_PEER,
               "Customers who lose supply when the given objects are out");
    router_add(r, "POST", "/v1/graph/expand", graph_expand, svc, ROUTE_BODY_JSON,
               "One step of a walk over this platform's links (used by the peer)");
}

void trace_cleanup(service *svc)
{
    trace_state *ts = svc->trace;
    if (!ts) return;
    for (int i = 0; i < ts->nsteps; i++) {
        free(ts->steps[i].sql[UP]);
        free(ts->steps[i].sql[DOWN]);
        free(ts->steps[i].kind_buf);
    }
    for (int i = 0; i < ts->ndesc; i++) free(ts->desc[i].sql);
    for (int i = 0; i < 2; i++) {
        free(ts->near_text[i]);
        free(ts->peer_near[i]);
        free(ts->shown[i]);
    }
    pthread_mutex_destroy(&ts->mu);
    free(ts->steps);
    free(ts->desc);
    free(ts);
    svc->trace = NULL;
}
