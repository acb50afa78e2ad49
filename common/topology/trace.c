/* trace.c -- see trace.h. The chain is read off the declarations: relations
 * flagged REL_UPSTREAM_FROM / REL_UPSTREAM_TO and code fields flagged
 * FF_FEEDS / FF_FED_BY are its links; nodes show name and FF_SUMMARY fields. */
#include "topology/trace.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/fields.h"
#include "base/jsonutil.h"
#include "engine/context.h"

#define MAX_LEVELS 32
#define IMPACT_LIMIT_DEFAULT 1000
#define IMPACT_LIMIT_MAX 10000
/* A hand-over to the peer: at most this many codes, in a body of at most
 * this many bytes (a code and its quotes and comma take 33). A whole
 * million-customer city's meter boxes cross in one. */
#define WALK_CODES_MAX 200000
#define WALK_BODY_LIMIT ((size_t)8 << 20)

enum { UP = 0, DOWN = 1 };

/* A set of object types, a bit per entry of biz_types. Walks are planned
 * per set: a statement that names only the tables the walk can reach
 * starts several times faster than one naming every table. */
typedef unsigned long long tmask;
_Static_assert(sizeof(tmask) * 8 >= BIZ_TYPES_MAX, "a tmask holds a bit per type");
#define ALL_TYPES (~(tmask)0)
#define MAX_STMTS 64

static tmask type_bit(const char *code)
{
    const biz_type *bt = biz_type_by_prefix(code);
    return bt ? (tmask)1 << (bt - biz_types) : 0;
}

static tmask mask_of(const char *const *prefixes)
{
    tmask m = 0;
    for (; prefixes && *prefixes; prefixes++) m |= type_bit(*prefixes);
    return m;
}

/* "CU,MB,": types as the peer is told them. */
static tmask mask_of_text(const char *text)
{
    tmask m = 0;
    for (const char *p = text; p[0] && p[1]; p += p[2] ? 3 : 2) {
        char prefix[3] = {p[0], p[1], 0};
        m |= type_bit(prefix);
    }
    return m;
}

static char *text_of_mask(tmask m)
{
    sbuf b = {0};
    sb_append(&b, "");
    for (int i = 0; i < biz_ntypes; i++)
        if (m & ((tmask)1 << i)) sb_appendf(&b, "%s,", biz_types[i].prefix);
    return sb_steal(&b);
}

static tmask mask_of_codes(json_t *codes)
{
    tmask m = 0;
    size_t i;
    json_t *v;
    json_array_foreach(codes, i, v) m |= type_bit(json_string_value(v));
    return m;
}

/* One kind of link of the chain that this platform keeps: per direction, a
 * member of the UNION ALL that finds the links from the object w.code, the
 * types it walks from (near) and those it reaches (far). */
typedef struct {
    char *member[2];
    tmask near[2], far[2];
    char *kind_buf;
    /* A chain shortcut (only_without) is walked, and the relation it stands
     * in for (replaced_without) is not, when the walk describes none of these
     * types: the objects the shortcut skips. */
    tmask only_without, replaced_without;
} step;

/* A walk statement for one plan: direction, the types of the objects it
 * starts from (vet: kept here, described; reach: every type it can meet),
 * and the types it describes in full (the others only as shown or not). */
typedef struct {
    int dir;
    tmask vet, reach, describe;
    char *sql;
} walk_stmt;

typedef struct {
    step *steps;
    int nsteps;
    char *near_text[2]; /* our steps' near prefixes, "LN,TR,..." per direction */
    char *shown[2];     /* statuses a walk shows, without / with design */
    pthread_mutex_t mu;
    char *peer_near[2]; /* the peer's, learnt from its first answer; NULL until then */
    walk_stmt stmts[MAX_STMTS]; /* built on first use, kept for the daemon's life
                                   (connections keep them prepared) */
    int nstmts;
} trace_state;

/* ---- set-up from the declarations ----------------------------------------- */

/* "left(w.code, 2) IN ('AP','MB')": a condition on the outer row only, so
 * PostgreSQL checks it before touching the table (a one-time filter). */
static void near_filter(sbuf *b, const char *const *near)
{
    sb_append(b, "left(w.code, 2) IN (");
    for (int i = 0; near[i]; i++) sb_appendf(b, "%s'%s'", i ? ", " : "", near[i]);
    sb_append(b, ")");
}

/* The links of kind from w.code: rows (far, from_code, to_code, kind).
 * extra: the table's own conditions (" AND ..."), its shown statuses
 * among them when it has statuses. */
static char *member(const char *kind, const char *table, const char *near_col, const char *far_col,
                    const char *from_col, const char *to_col, const char *extra,
                    const char *const *near)
{
    sbuf b = {0};
    sb_appendf(&b, "SELECT %s AS far, %s AS from_code, %s AS to_code, '%s'::text AS kind FROM %s "
                   "WHERE %s = w.code%s AND ",
               far_col, from_col, to_col, kind, table, near_col, extra);
    near_filter(&b, near);
    return sb_steal(&b);
}

static void set_ends(step *st, const char *const *near_out[2])
{
    for (int dir = 0; dir < 2; dir++) {
        st->near[dir] = mask_of(near_out[dir]);
        st->far[1 - dir] = st->near[dir]; /* a link's near end one way is its far end the other */
    }
}

static void relation_step(step *st, const relation_def *rd, const char *const *near_out[2])
{
    int up_is_from = (rd->rules & REL_UPSTREAM_FROM) != 0;
    /* Walking up from the downstream end finds the upstream end, and down
     * the other way round. Edges are always (from_code, to_code). */
    const char *down_end = up_is_from ? "to_code" : "from_code";
    const char *up_end = up_is_from ? "from_code" : "to_code";
    near_out[UP] = up_is_from ? rd->to : rd->from;
    near_out[DOWN] = up_is_from ? rd->from : rd->to;
    const char *live = " AND status = ANY ($3::text[]) AND valid_to IS NULL";
    st->member[UP] = member(rd->kind, rd->table, down_end, up_end, "from_code", "to_code", live,
                            near_out[UP]);
    st->member[DOWN] = member(rd->kind, rd->table, up_end, down_end, "from_code", "to_code", live,
                              near_out[DOWN]);
    set_ends(st, near_out);
}

/* The shortcut declared on rd, from rd's upstream end down (sc: the step
 * it is; st: rd's own step, which it stands in for). The table holds only
 * live chains, so it has no statuses of its own. */
static void shortcut_step(step *sc, step *st, const relation_def *rd, const char *const *up_end)
{
    const chain_shortcut *cs = rd->shortcut;
    sc->member[DOWN] = member(cs->table, cs->table, cs->near_col, cs->far_col, cs->near_col,
                              cs->far_col, "", up_end);
    sc->near[DOWN] = mask_of(up_end);
    sc->far[DOWN] = mask_of(cs->far);
    sc->only_without = st->replaced_without = mask_of(cs->skips);
}

/* A code field as a link (holder, named): the holder is upstream of the
 * object it names (FF_FEEDS) or downstream of it (FF_FED_BY). */
static void field_step(step *st, const collection_def *cd, const biz_type *bt, const field_def *f,
                       const char *const *holder, const char *const *near_out[2])
{
    int to_holder = (f->flags & FF_FEEDS) ? UP : DOWN; /* the walk from named to holder */
    int to_named = 1 - to_holder;
    st->kind_buf = xasprintf("%s.%s", bt->type, f->name);
    near_out[to_holder] = f->refs;
    near_out[to_named] = holder;
    const char *shown = " AND status = ANY ($3::text[])";
    char *not_null = xasprintf("%s AND %s IS NOT NULL", shown, f->name);
    st->member[to_holder] = member(st->kind_buf, cd->table, f->name, "code", "code", f->name, shown,
                                   f->refs);
    st->member[to_named] = member(st->kind_buf, cd->table, "code", f->name, "code", f->name,
                                  not_null, holder);
    free(not_null);
    set_ends(st, near_out);
}

/* What an impact walk lists of each customer: its page item's members, in
 * order, and the one its counts group by. */
static const char *const impact_members[] = {"code", "name", "phone", "address", "category"};
#define IMPACT_GROUP "category"

/* An impact walk's node, "code TAB group TAB item": the item is the page's
 * JSON text, written once by PostgreSQL, and the daemons split the line
 * rather than parse ten thousand objects only to write them out again. A
 * member the type lacks is null. */
static void impact_line_expr(sbuf *b, const collection_def *cd, const char *x)
{
    int has_group = field_find(cd->fields, IMPACT_GROUP) != NULL;
    sb_appendf(b, "(SELECT t.code || E'\\t' || %s || E'\\t' || row_to_json(p)::text "
                  "FROM %s t CROSS JOIN LATERAL (SELECT ",
               has_group ? "coalesce(t." IMPACT_GROUP "::text, '')" : "''", cd->table);
    for (size_t m = 0; m < ARRAY_LEN(impact_members); m++) {
        const char *name = impact_members[m];
        int has = strcmp(name, "code") == 0 || field_find(cd->fields, name);
        sb_appendf(b, "%s%s%s AS %s", m ? ", " : "", has ? "t." : "NULL::text", has ? name : "",
                   name);
    }
    sb_appendf(b, ") p WHERE t.code = %s AND t.status = ANY ($3::text[]))", x);
}

/* The node of an object kept here, if shown: CASE on the prefix, so only
 * its own table is read. Types in only: those that can occur (every branch
 * costs its part of starting the statement). Types in describe: described,
 * as JSON with the same members as GET shows (every type described: a
 * trace) or as an impact line (only some: an impact walk); others: true
 * (shown, not described). */
static void node_expr(sbuf *b, const service_def *sd, const char *x, tmask only, tmask describe)
{
    /* lines are text, not JSON: every branch of the CASE has one type */
    const char *type = describe == ALL_TYPES ? "json" : "text";
    sb_appendf(b, "CASE left(%s, 2)", x);
    int branches = 0;
    for (int i = 0; i < sd->ncollections; i++) {
        const collection_def *cd = &sd->collections[i];
        const biz_type *bt = biz_type_by_prefix(cd->prefix);
        tmask bit = type_bit(cd->prefix);
        if (!(only & bit)) continue;
        branches++;
        if (!(describe & bit)) {
            sb_appendf(b, " WHEN '%s' THEN (SELECT 'true'::%s FROM %s WHERE code = %s "
                          "AND status = ANY ($3::text[]))", cd->prefix, type, cd->table, x);
            continue;
        }
        sb_appendf(b, " WHEN '%s' THEN ", cd->prefix);
        if (describe != ALL_TYPES) {
            impact_line_expr(b, cd, x);
            continue;
        }
        sb_appendf(b, "(SELECT json_build_object('code', code, 'type', '%s'", bt->type);
        if (field_find(cd->fields, "name")) sb_append(b, ", 'name', name");
        sb_append(b, ", 'status', status");
        for (const field_def *f = cd->fields; f->name; f++)
            if ((f->flags & FF_SUMMARY) && f->type != FT_LOCATION)
                sb_appendf(b, ", '%s', %s", f->name, f->name);
        sb_appendf(b, ") FROM %s WHERE code = %s AND status = ANY ($3::text[]))", cd->table, x);
    }
    if (!branches) sb_appendf(b, " WHEN NULL THEN NULL::%s", type);
    sb_append(b, " END");
}

/* The types a walk in dir can meet, starting from those in start. */
static tmask reach_from(const trace_state *ts, int dir, tmask start)
{
    tmask reach = start, before;
    do {
        before = reach;
        for (int i = 0; i < ts->nsteps; i++)
            if (ts->steps[i].member[dir] && (ts->steps[i].near[dir] & reach))
                reach |= ts->steps[i].far[dir];
    } while (reach != before);
    return reach;
}

/* One statement walks our links as far as they go. $1: objects kept here
 * that were reached (to be vetted: described, and walked on from only if
 * shown); $2: objects the peer has vetted that our links may continue from;
 * $3: the statuses shown. Rows: every object reached with its node (NULL
 * when not kept here or not shown) and the link it was reached by. */
static char *walk_sql(const service_def *sd, const trace_state *ts, const walk_stmt *ws)
{
    int dir = ws->dir;
    sbuf b = {0};
    sb_append(&b, "WITH RECURSIVE walk (code, node, grow, from_code, to_code, kind, depth) AS ("
                  "SELECT x, n.node, n.node IS NOT NULL, NULL::text, NULL::text, NULL::text, 0 "
                  "FROM unnest ($1::text[]) x CROSS JOIN LATERAL (SELECT ");
    node_expr(&b, sd, "x", ws->vet, ws->describe);
    /* OFFSET 0 keeps the subquery whole, so the node is looked up once */
    sb_append(&b, " AS node OFFSET 0) n UNION ALL SELECT x, NULL, true, NULL, NULL, NULL, 0 "
                  "FROM unnest ($2::text[]) x UNION ALL "
                  "SELECT e.far, n.node, n.node IS NOT NULL, e.from_code, e.to_code, e.kind, "
                  "w.depth + 1 FROM walk w CROSS JOIN LATERAL (");
    int first = 1;
    tmask far = 0;
    for (int i = 0; i < ts->nsteps; i++) {
        const step *st = &ts->steps[i];
        if (!st->member[dir] || !(st->near[dir] & ws->reach)) continue;
        if (st->only_without && (ws->describe & st->only_without)) continue;
        if (dir == DOWN && st->replaced_without && !(ws->describe & st->replaced_without)) continue;
        sb_appendf(&b, "%s%s", first ? "" : " UNION ALL ", st->member[dir]);
        far |= st->far[dir];
        first = 0;
    }
    /* Nothing to walk from here; $3 is named all the same, as the statement
     * is prepared and run with three parameters. */
    if (first)
        sb_append(&b, "SELECT NULL::text AS far, NULL::text AS from_code, NULL::text AS to_code, "
                      "NULL::text AS kind WHERE $3::text[] IS NULL AND false");
    sb_append(&b, ") e CROSS JOIN LATERAL (SELECT ");
    node_expr(&b, sd, "e.far", far, ws->describe);
    sb_appendf(&b, " AS node OFFSET 0) n WHERE w.grow AND w.depth < %d) "
                   "SELECT code, node::text, grow, from_code, to_code, kind FROM walk",
               MAX_LEVELS);
    return sb_steal(&b);
}

static const walk_stmt *find_stmt(const trace_state *ts, const walk_stmt *key)
{
    for (int i = 0; i < ts->nstmts; i++) {
        const walk_stmt *ws = &ts->stmts[i];
        if (ws->dir == key->dir && ws->vet == key->vet && ws->reach == key->reach &&
            ws->describe == key->describe)
            return ws;
    }
    return NULL;
}

static void add_stmt(service *svc, walk_stmt key)
{
    trace_state *ts = svc->trace;
    key.sql = walk_sql(svc->def, ts, &key);
    ts->stmts[ts->nstmts++] = key;
}

/* The statement for a walk in dir from objects of the types in vet (kept
 * here) and grow (the peer's), describing the types in describe: built on
 * first use and kept, for connections to prepare. Past MAX_STMTS plans, it
 * is built for this walk only: *once holds it, to run unprepared and free.
 * (No other plan can stand in: what it describes, and how, is the walk's.) */
static const char *walk_stmt_for(service *svc, int dir, tmask vet, tmask grow, tmask describe,
                                 char **once)
{
    trace_state *ts = svc->trace;
    walk_stmt key = {dir, vet, reach_from(ts, dir, vet | grow), describe, NULL};
    *once = NULL;
    pthread_mutex_lock(&ts->mu);
    const walk_stmt *ws = find_stmt(ts, &key);
    if (!ws && ts->nstmts < MAX_STMTS) {
        add_stmt(svc, key);
        ws = &ts->stmts[ts->nstmts - 1];
    }
    pthread_mutex_unlock(&ts->mu);
    if (ws) return ws->sql; /* kept for the daemon's life: safe to use unlocked */
    *once = walk_sql(svc->def, ts, &key);
    return *once;
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

static void add_near(sbuf *b, const char *const *near)
{
    for (; near && *near; near++)
        if (!b->s || !strstr(b->s, *near)) sb_appendf(b, "%s,", *near);
}

static void build(service *svc, trace_state *ts)
{
    const service_def *sd = svc->def;
    int cap = 2 * sd->nrelations + 16;
    ts->steps = xcalloc((size_t)cap, sizeof *ts->steps);
    sbuf near[2] = {{0}, {0}};
    const char *const *n2[2];
    for (int i = 0; i < sd->nrelations; i++) {
        const relation_def *rd = &sd->relations[i];
        if (!(rd->rules & (REL_UPSTREAM_FROM | REL_UPSTREAM_TO))) continue;
        step *st = &ts->steps[ts->nsteps++];
        relation_step(st, rd, n2);
        add_near(&near[UP], n2[UP]);
        add_near(&near[DOWN], n2[DOWN]);
        if (rd->shortcut) shortcut_step(&ts->steps[ts->nsteps++], st, rd, n2[DOWN]);
    }
    for (int i = 0; i < sd->ncollections; i++) {
        const collection_def *cd = &sd->collections[i];
        const biz_type *bt = biz_type_by_prefix(cd->prefix);
        for (const field_def *f = cd->fields; f->name && ts->nsteps < cap; f++) {
            if (!(f->flags & (FF_FEEDS | FF_FED_BY))) continue;
            const char *const holder[] = {cd->prefix, NULL};
            field_step(&ts->steps[ts->nsteps++], cd, bt, f, holder, n2);
            add_near(&near[UP], n2[UP]);
            add_near(&near[DOWN], n2[DOWN]);
        }
    }
    for (int dir = 0; dir < 2; dir++) {
        sb_append(&near[dir], "");
        ts->near_text[dir] = sb_steal(&near[dir]);
    }
    ts->shown[0] = statuses(svc, 0);
    ts->shown[1] = statuses(svc, 1);
    pthread_mutex_init(&ts->mu, NULL);
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

/* Codes of list that this platform keeps (keep = 1) or not (keep = 0). */
static json_t *owned(service *svc, json_t *list, int keep)
{
    json_t *out = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
        if ((catalogue_collection(svc->def, json_string_value(v)) != NULL) == keep)
            json_array_append(out, v);
    return out;
}

/* ---- a leg of a walk: the part one platform does -------------------------------- */

typedef struct {
    service *svc;
    db_conn *c;            /* while it walks here; never held while the peer walks (waits.h) */
    int dir, design;
    tmask describe;        /* types described in full; the others are only vetted, and
                              no edges are kept (an impact query needs customers only) */
    const char *peer_near; /* prefixes the other platform expands from; NULL: not known yet */
    int raw;               /* nodes kept as the JSON text PostgreSQL wrote (a peer's leg,
                              which only passes them on), not parsed */
    json_t *nodes;         /* code -> node: shown objects described so far (raw: a
                              string holding the node's JSON text; an impact walk: a string
                              holding its line); true: shown, not described */
    json_t *edges;         /* every edge found; the root's platform filters them at the end */
    json_t *seen;          /* codes handed over to be vetted, or given as roots */
    json_t *out_codes;     /* reached objects the other platform keeps: it vets them */
    json_t *out_expand;    /* shown objects kept here that the other platform may expand */
} leg;

static int peer_may_expand(const leg *l, const char *code)
{
    if (!l->peer_near) return 1;
    char prefix[4] = {code[0], code[1], ',', 0};
    return strstr(l->peer_near, prefix) != NULL;
}

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

/* Walks on this platform's links as far as they go, in one statement: vets
 * (describes) the objects it keeps as they are reached and walks on from
 * the shown ones only, so a retired (or, unless asked, design) object ends
 * the chain there. Objects the other platform keeps, and shown ones it may
 * walk on from, are left in out_codes and out_expand for it. */
static int walk_here(leg *l, json_t *to_vet, json_t *to_expand)
{
    if (!json_array_size(to_vet) && !json_array_size(to_expand)) return OK;
    trace_state *ts = l->svc->trace;
    size_t i;
    json_t *v;
    /* vetted by the peer already: never handed back to it */
    json_array_foreach(to_expand, i, v) json_object_set(l->seen, json_string_value(v), json_true());
    char *once;
    const char *sql = walk_stmt_for(l->svc, l->dir, mask_of_codes(to_vet),
                                    mask_of_codes(to_expand), l->describe, &once);
    char *vet = pg_array(to_vet), *grow = pg_array(to_expand);
    const char *params[] = {vet, grow, ts->shown[l->design != 0]};
    PGresult *r = once ? db_exec_once(l->c, sql, 3, params) : db_exec(l->c, sql, 3, params);
    free(once);
    free(vet);
    free(grow);
    if (!db_ok(r)) {
        PQclear(r);
        return ERR;
    }
    /* a peer's leg passes its nodes on, and an impact walk's are lines */
    int as_text = l->raw || l->describe != ALL_TYPES;
    for (int row = 0; row < PQntuples(r); row++) {
        const char *code = PQgetvalue(r, row, 0);
        if (!PQgetisnull(r, row, 5) && l->describe == ALL_TYPES)
            json_array_append_new(l->edges, json_pack("{s:s, s:s, s:s}", "from",
                                                      PQgetvalue(r, row, 3), "to",
                                                      PQgetvalue(r, row, 4), "kind",
                                                      PQgetvalue(r, row, 5)));
        if (!PQgetisnull(r, row, 1)) {
            if (json_object_get(l->nodes, code)) continue;
            const char *text = PQgetvalue(r, row, 1);
            json_t *node = strcmp(text, "true") == 0 ? json_true()
                           : as_text ? json_stringn_nocheck(text, (size_t)PQgetlength(r, row, 1))
                                     : json_loads(text, 0, NULL);
            json_object_set_new(l->nodes, code, node);
            if (peer_may_expand(l, code)) json_array_append_new(l->out_expand, json_string(code));
        } else if (!catalogue_collection(l->svc->def, code) && !json_object_get(l->seen, code) &&
                   !json_object_get(l->nodes, code)) {
            json_object_set_new(l->seen, code, json_true());
            json_array_append_new(l->out_codes, json_string(code));
        }
    }
    PQclear(r);
    return OK;
}

static void leg_init(leg *l, service *svc, db_conn *c, int dir, int design, tmask describe)
{
    *l = (leg){.svc = svc, .c = c, .dir = dir, .design = design, .describe = describe,
               .nodes = json_object(),
               .edges = json_array(), .seen = json_object(), .out_codes = json_array(),
               .out_expand = json_array()};
}

static void leg_free(leg *l)
{
    json_decref(l->nodes);
    json_decref(l->edges);
    json_decref(l->seen);
    json_decref(l->out_codes);
    json_decref(l->out_expand);
}

/* ---- POST /v1/graph/walk: the peer's leg -------------------------------------------- */

static int codes_of(request *req, json_t *arr, const char *member, json_t **out)
{
    *out = json_array();
    if (!arr) return OK;
    if (!json_is_array(arr)) {
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

/* The objects one hand-over may carry (codes and expand together), so that
 * a leg's body stays under WALK_BODY_LIMIT: a walk that would cross with
 * more is refused (422) rather than sent. */
static int handover_fits(request *req, size_t n)
{
    if (n <= WALK_CODES_MAX) return OK;
    http_problem(req, 422, "the walk would hand %zu objects over at once, more than the %d one "
                           "hand-over between the platforms takes; ask about fewer objects",
                 n, WALK_CODES_MAX);
    return ERR;
}

/* A raw leg's answer: "nodes", those described, as PostgreSQL wrote them
 * (a whole substation's customers are not parsed only to be written out
 * again; an impact walk's lines as JSON strings), and the objects it was
 * handed to vet ({"code"} only when not described, so the asker knows them
 * found); then the members of rest. */
static char *leg_answer(const leg *l, json_t *rest, size_t *len)
{
    sbuf b = {0};
    sb_append(&b, "{\"nodes\":[");
    const char *sep = "", *k;
    json_t *v;
    json_object_foreach(l->nodes, k, v) {
        if (json_is_string(v)) {
            sb_append(&b, sep);
            if (l->describe != ALL_TYPES)
                sb_json_string(&b, json_string_value(v));
            else
                sb_appendn(&b, json_string_value(v), json_string_length(v));
        } else if (json_object_get(l->seen, k)) {
            sb_appendf(&b, "%s{\"code\":\"%s\"}", sep, k); /* a canonical code: no escapes */
        } else {
            continue;
        }
        sep = ",";
    }
    char *tail = json_text(rest); /* "{...}": its members follow the nodes */
    sb_append(&b, json_object_size(rest) ? "]," : "]");
    sb_append(&b, tail + 1);
    free(tail);
    *len = b.len;
    return sb_steal(&b);
}

/* Body {"codes": reached objects kept here, to vet and walk on from,
 * "expand": shown objects kept by the asker that our links may continue
 * from, "direction", "design": bool, "near": the asker's prefixes,
 * "describe": the types to describe, as impact lines ("CU,"; absent: all,
 * as nodes, with edges)}, read (trace.h). */
int trace_walk_ask(request *req, const json_t *body, walk_ask *ask)
{
    json_t *codes = NULL, *grow = NULL;
    int dir = direction_of(req, json_string_value(json_object_get(body, "direction")));
    const char *near = json_string_value(json_object_get(body, "near"));
    json_t *describe = json_object_get(body, "describe");
    *ask = (walk_ask){0};
    if (describe && !json_is_string(describe)) {
        http_problem(req, 400, "describe must be a string of type prefixes, e.g. \"CU,\"");
        return ERR;
    }
    /* Counted before any code is read: too many is refused at once. */
    json_t *given = json_object_get(body, "codes"), *more = json_object_get(body, "expand");
    size_t n = json_array_size(given) + json_array_size(more);
    if (dir < 0 || n > WALK_CODES_MAX) {
        if (dir >= 0)
            http_problem(req, 400, "a leg takes at most %d codes (codes and expand together), not "
                                   "%zu", WALK_CODES_MAX, n);
        return ERR;
    }
    if (codes_of(req, given, "codes", &codes) != OK || codes_of(req, more, "expand", &grow) != OK) {
        json_decref(codes);
        json_decref(grow);
        return ERR;
    }
    *ask = (walk_ask){.dir = dir, .design = json_is_true(json_object_get(body, "design")),
                      .near = near ? near : "",
                      .describe = describe ? mask_of_text(json_string_value(describe)) : ALL_TYPES,
                      .codes = codes, .expand = grow};
    return OK;
}

void trace_walk_ask_free(walk_ask *ask)
{
    json_decref(ask->codes);
    json_decref(ask->expand);
    *ask = (walk_ask){0};
}

/* Walks here as far as our links go and answers the nodes and edges found,
 * with what is left for the asker: "codes" it keeps and "expand" it may
 * walk on. */
static void graph_walk(request *req, void *ctx)
{
    service *svc = ctx;
    walk_ask ask;
    if (trace_walk_ask(req, req->json, &ask) != OK) return;
    /* The whole leg on one connection: it never waits on the peer. */
    db_conn *c = service_db(svc, req);
    if (c) {
        leg l;
        leg_init(&l, svc, c, ask.dir, ask.design, ask.describe);
        l.peer_near = ask.near;
        l.raw = 1;
        json_t *mine = owned(svc, ask.codes, 1);
        size_t i;
        json_t *v;
        json_array_foreach(mine, i, v) json_object_set_new(l.seen, json_string_value(v), json_true());
        if (walk_here(&l, mine, ask.expand) == OK) {
            trace_state *ts = svc->trace;
            json_t *rest = json_pack("{s:O, s:O, s:O, s:{s:s, s:s}}", "edges", l.edges, "codes",
                                     l.out_codes, "expand", l.out_expand, "near", "up",
                                     ts->near_text[UP], "down", ts->near_text[DOWN]);
            size_t len;
            char *text = leg_answer(&l, rest, &len);
            json_decref(rest);
            http_raw(req, 200, "application/json", text, len);
        } else {
            service_db_down(req, "the walk stopped");
        }
        json_decref(mine);
        leg_free(&l);
        db_release(svc->db, c);
    }
    trace_walk_ask_free(&ask);
}

/* ---- the walk, from the platform asked ---------------------------------------------- */

typedef struct {
    request *req;
    leg l;
    int failed; /* answered already (peer or database trouble) */
} walk;

/* Hands what is left to the peer for its leg; takes back what it leaves us
 * in back_codes (ours to vet) and back_expand (its shown objects our links
 * may continue from). */
static int peer_leg(walk *w, json_t *back_codes, json_t *back_expand)
{
    service *svc = w->l.svc;
    trace_state *ts = svc->trace;
    if (handover_fits(w->req, json_array_size(w->l.out_codes) + json_array_size(w->l.out_expand)) !=
        OK) {
        w->failed = 1;
        return ERR;
    }
    json_t *body = json_pack("{s:O, s:O, s:s, s:b, s:s}", "codes", w->l.out_codes, "expand",
                             w->l.out_expand, "direction", w->l.dir == UP ? "up" : "down",
                             "design", w->l.design, "near", ts->near_text[w->l.dir]);
    if (w->l.describe != ALL_TYPES) {
        char *types = text_of_mask(w->l.describe);
        json_object_set_new(body, "describe", json_string(types));
        free(types);
    }
    char *text = json_text(body);
    json_decref(body);
    peer_response pr;
    peer_caller who = service_caller(w->req);
    peer_call(svc->peer, "POST", "/v1/graph/walk", &who, text, strlen(text), &pr);
    free(text);
    const char *peer_name = service_name(svc->def->id == SVC_GRID ? SVC_CUST : SVC_GRID);
    int rc = ERR;
    json_t *answer = pr.error == PEER_OK && pr.status == 200 ? json_loads(pr.body, 0, NULL) : NULL;
    json_t *pn = json_object_get(answer, "nodes"), *pe = json_object_get(answer, "edges");
    json_t *pc = json_object_get(answer, "codes"), *px = json_object_get(answer, "expand");
    if (json_is_array(pn) && json_is_array(pe) && json_is_array(pc) && json_is_array(px)) {
        size_t i;
        json_t *v;
        json_array_foreach(pn, i, v) {
            if (json_is_string(v)) { /* an impact line: "code TAB ..." */
                const char *line = json_string_value(v), *tab = strchr(line, '\t');
                if (tab) json_object_setn(w->l.nodes, line, (size_t)(tab - line), v);
                continue;
            }
            const char *code = json_string_value(json_object_get(v, "code"));
            if (code) json_object_set(w->l.nodes, code, v);
        }
        json_array_extend(w->l.edges, pe);
        json_array_foreach(pc, i, v) {
            const char *code = json_string_value(v);
            if (!code || !catalogue_collection(svc->def, code) || json_object_get(w->l.seen, code)) continue;
            json_object_set_new(w->l.seen, code, json_true());
            json_array_append(back_codes, v);
        }
        json_array_foreach(px, i, v) if (json_is_string(v)) json_array_append(back_expand, v);
        learn_peer_near(ts, answer);
        json_array_clear(w->l.out_codes);
        json_array_clear(w->l.out_expand);
        rc = OK;
    } else {
        json_t *frontier = json_copy(w->l.out_codes);
        json_array_extend(frontier, w->l.out_expand);
        json_t *missing = json_pack("{s:{s:s, s:o}}", "missing", "platform", peer_name, "frontier",
                                    frontier);
        size_t reached = json_object_size(w->l.nodes);
        json_object_set_new(missing, "reached", json_integer((json_int_t)reached));
        if (pr.error == PEER_TIMEOUT)
            http_problem_extra(w->req, 504, missing,
                               "%s did not answer in time; the walk stopped with %zu objects found "
                               "and the rest of the chain unknown", peer_name, reached);
        else
            http_problem_extra(w->req, 502, missing,
                               "%s cannot be reached (%s); the walk stopped with %zu objects found "
                               "and the rest of the chain unknown", peer_name,
                               pr.error ? pr.detail : "unexpected answer", reached);
        w->failed = 1;
    }
    json_decref(answer);
    peer_response_free(&pr);
    return rc;
}

/* Our part of the walk, on a connection taken for it alone: none is held
 * while the peer walks its part (waits.h). ERR after answering. */
static int walk_here_alone(walk *w, json_t *vet, json_t *grow)
{
    if (!json_array_size(vet) && !json_array_size(grow)) return OK;
    service *svc = w->l.svc;
    db_conn *c = service_db(svc, w->req);
    if (!c) {
        w->failed = 1;
        return ERR;
    }
    w->l.c = c;
    int rc = walk_here(&w->l, vet, grow);
    w->l.c = NULL;
    db_release(svc->db, c);
    return rc;
}

/* Walks from roots to the end of the chain, handing over to the peer
 * whenever the chain crosses: one request per crossing, however many
 * objects cross. Then keeps the edges whose ends are both shown and
 * answers 404 if a root is not. */
static int walk_from(walk *w, json_t *roots)
{
    leg *l = &w->l;
    trace_state *ts = l->svc->trace;
    pthread_mutex_lock(&ts->mu);
    l->peer_near = ts->peer_near[l->dir];
    pthread_mutex_unlock(&ts->mu);
    json_t *vet = json_array(), *grow = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(roots, i, v) {
        json_object_set_new(l->seen, json_string_value(v), json_true());
        json_array_append(catalogue_collection(l->svc->def, json_string_value(v)) ? vet : l->out_codes, v);
    }
    int rc = walk_here_alone(w, vet, grow);
    for (int round = 0; rc == OK && round < MAX_LEVELS &&
                        (json_array_size(l->out_codes) || json_array_size(l->out_expand));
         round++) {
        json_array_clear(vet);
        json_array_clear(grow);
        rc = peer_leg(w, vet, grow);
        /* the peer's answer taught us its prefixes: later hand-overs carry only those */
        pthread_mutex_lock(&ts->mu);
        l->peer_near = ts->peer_near[l->dir];
        pthread_mutex_unlock(&ts->mu);
        if (rc == OK) rc = walk_here_alone(w, vet, grow);
    }
    json_decref(vet);
    json_decref(grow);
    if (rc != OK) {
        if (!w->failed) service_db_down(w->req, "the walk stopped");
        return ERR;
    }
    json_array_foreach(roots, i, v) {
        if (json_object_get(l->nodes, json_string_value(v))) continue;
        http_problem(w->req, 404, "no %s object with code %s%s",
                     l->design ? "design or operational" : "current", json_string_value(v),
                     l->design ? "" : " (add status=design for red-drawing objects)");
        return ERR;
    }
    return OK;
}

/* The edges whose ends are both shown, each once. */
static json_t *shown_edges(const leg *l)
{
    json_t *out = json_array(), *once = json_object();
    size_t i;
    json_t *e;
    json_array_foreach(l->edges, i, e) {
        const char *from = json_string_value(json_object_get(e, "from"));
        const char *to = json_string_value(json_object_get(e, "to"));
        const char *kind = json_string_value(json_object_get(e, "kind"));
        if (!from || !to || !kind || !json_object_get(l->nodes, from) ||
            !json_object_get(l->nodes, to))
            continue;
        char key[2 * BIZCODE_LEN + 80];
        snprintf(key, sizeof key, "%s %s %s", from, to, kind);
        if (json_object_get(once, key)) continue;
        json_object_set_new(once, key, json_true());
        json_array_append(out, e);
    }
    json_decref(once);
    return out;
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
    int design, dir;
    if (parse_code(req, http_param(req, 0), code) != OK || design_of(req, &design) != OK) return;
    const char *d = http_query(req, "direction");
    if ((dir = direction_of(req, d ? d : "up")) < 0) return;
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
                                      shown_edges(&w.l)));
    }
    json_decref(roots);
    leg_free(&w.l);
}

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

/* The answer: customers[start, end) and the counts of all n. The items are
 * the texts PostgreSQL wrote (impact_line_expr). */
static char *impact_answer(const listed *customers, size_t n, size_t start, size_t end,
                           const json_t *by_group, size_t *len)
{
    sbuf b = {0};
    sb_append(&b, "{\"customers\":[");
    for (size_t i = start; i < end; i++) {
        if (i > start) sb_append(&b, ",");
        sb_appendn(&b, customers[i].item, customers[i].item_len);
    }
    sb_append(&b, "],\"counts\":{\"total\":");
    sb_json_int(&b, (long long)n);
    sb_append(&b, ",\"by_" IMPACT_GROUP "\":");
    char *counts = json_text(by_group);
    sb_append(&b, counts);
    free(counts);
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
    walk w = {.req = req};
    json_t *roots = NULL;
    int limit;
    const char *after;
    if (impact_params(req, &roots, &limit, &after) != OK) {
        json_decref(roots);
        return;
    }
    /* only the customers are listed: the rest of the chain is only vetted */
    leg_init(&w.l, svc, NULL, DOWN, 0, type_bit("CU"));
    if (walk_from(&w, roots) == OK) {
        size_t n = 0, cap = json_object_size(w.l.nodes) + 1;
        listed *customers = xcalloc(cap, sizeof *customers);
        json_t *by_group = json_object();
        const char *k;
        json_t *node;
        json_object_foreach(w.l.nodes, k, node) {
            if (split_line(k, node, &customers[n])) count_in(by_group, &customers[n++]);
        }
        qsort(customers, n, sizeof *customers, cmp_listed);
        size_t start = 0;
        while (after && start < n && strcmp(after, customers[start].code) >= 0) start++;
        size_t end = n - start > (size_t)limit ? start + (size_t)limit : n;
        size_t len;
        char *text = impact_answer(customers, n, start, end, by_group, &len);
        json_decref(by_group);
        http_raw(req, 200, "application/json", text, len);
        free(customers);
    }
    json_decref(roots);
    leg_free(&w.l);
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
    /* A leg may hand over many codes at once and take a while, but never
     * waits on the peer: off the I/O threads, on the local workers, so the
     * peer's waiting traces never hold what it needs (waits.h). */
    route *leg_route = router_add(r, "POST", "/v1/graph/walk", graph_walk, svc,
                                  ROUTE_BODY_JSON | ROUTE_BODY_BULK | ROUTE_SLOW | ROUTE_READ_ONLY,
                                  "This platform's leg of a walk (used by the peer): at most "
                                  "200,000 codes in a body of at most 8 MiB");
    leg_route->body_limit = WALK_BODY_LIMIT;
}

void trace_cleanup(service *svc)
{
    trace_state *ts = svc->trace;
    if (!ts) return;
    for (int i = 0; i < ts->nsteps; i++) {
        free(ts->steps[i].member[UP]);
        free(ts->steps[i].member[DOWN]);
        free(ts->steps[i].kind_buf);
    }
    for (int i = 0; i < 2; i++) {
        free(ts->near_text[i]);
        free(ts->peer_near[i]);
        free(ts->shown[i]);
    }
    for (int i = 0; i < ts->nstmts; i++) free(ts->stmts[i].sql);
    pthread_mutex_destroy(&ts->mu);
    free(ts->steps);
    free(ts);
    svc->trace = NULL;
}
