/* walk_sql.c -- the statement a walk runs here, built from the chain and
 * the declarations (walk_sql.h), and the plans kept for the daemon's life. */
#include "topology/walk_sql.h"

#include <stdlib.h>
#include <string.h>

#include "base/core.h"
#include "model/fields.h"

/* ---- nodes -------------------------------------------------------------------- */

static const field_def *group_of(const collection_def *cd)
{
    for (const field_def *f = cd->fields; f->name; f++)
        if (f->flags & FF_IMPACT_GROUP) return f;
    return NULL;
}

/* Whether f is shown on a node: a summary column (a location is two). */
static int summary(const field_def *f)
{
    return (f->flags & FF_SUMMARY) && f->type != FT_LOCATION;
}

/* An impact walk's node, "code TAB group TAB item": the item is the page's
 * JSON text, written once by PostgreSQL, and the daemons split the line
 * rather than parse ten thousand objects only to write them out again. The
 * item holds the code, the name, the summary fields and the group last
 * (FF_IMPACT_GROUP), as declared. */
static void impact_line_expr(sbuf *b, const collection_def *cd, const char *x)
{
    const field_def *group = group_of(cd);
    sb_append(b, "(SELECT t.code || E'\\t' || ");
    if (group)
        sb_appendf(b, "coalesce(t.%s::text, '')", group->name);
    else
        sb_append(b, "''");
    sb_appendf(b, " || E'\\t' || row_to_json(p)::text FROM %s t CROSS JOIN LATERAL (SELECT "
                  "t.code AS code", cd->table);
    if (field_find(cd->fields, "name")) sb_append(b, ", t.name AS name");
    for (const field_def *f = cd->fields; f->name; f++)
        if (summary(f) && f != group) sb_appendf(b, ", t.%s AS %s", f->name, f->name);
    if (group) sb_appendf(b, ", t.%s AS %s", group->name, group->name);
    sb_appendf(b, ") p WHERE t.code = %s AND t.status = ANY ($3::text[]))", x);
}

/* A trace's node: the members GET shows of the object, in short. */
static void trace_node_expr(sbuf *b, const collection_def *cd, const char *x)
{
    const biz_type *bt = biz_type_by_prefix(cd->prefix);
    sb_appendf(b, "(SELECT json_build_object('code', code, 'type', '%s'", bt->type);
    if (field_find(cd->fields, "name")) sb_append(b, ", 'name', name");
    sb_append(b, ", 'status', status");
    for (const field_def *f = cd->fields; f->name; f++)
        if (summary(f)) sb_appendf(b, ", '%s', %s", f->name, f->name);
    sb_appendf(b, ")::text FROM %s WHERE code = %s AND status = ANY ($3::text[]))", cd->table, x);
}

/* The node of an object kept here, if shown: CASE on the prefix, so only
 * its own table is read. Types in only: those that can occur (every branch
 * costs its part of starting the statement). Types in describe: described,
 * as a trace's node (every type described) or as an impact line (only
 * some: an impact walk); others: true (shown, not described). Text, either
 * way: a trace's rows are told apart (UNION), and json has no equality. */
static void node_expr(sbuf *b, const service_def *sd, const char *x, tmask only, tmask describe)
{
    sb_appendf(b, "CASE left(%s, 2)", x);
    int branches = 0;
    for (int i = 0; i < sd->ncollections; i++) {
        const collection_def *cd = &sd->collections[i];
        tmask bit = type_bit(cd->prefix);
        if (!(only & bit)) continue;
        branches++;
        if (!(describe & bit)) {
            sb_appendf(b, " WHEN '%s' THEN (SELECT 'true'::text FROM %s WHERE code = %s "
                          "AND status = ANY ($3::text[]))", cd->prefix, cd->table, x);
            continue;
        }
        sb_appendf(b, " WHEN '%s' THEN ", cd->prefix);
        if (describe == ALL_TYPES)
            trace_node_expr(b, cd, x);
        else
            impact_line_expr(b, cd, x);
    }
    if (!branches) sb_append(b, " WHEN NULL THEN NULL::text");
    sb_append(b, " END");
}

/* ---- the statement ------------------------------------------------------------ */

/* Whether st is walked in dir by a walk that reaches the types in reach and
 * describes those in describe: a shortcut only when it skips nothing to be
 * described, and the relation it stands in for only when it is not taken.
 * An outage's walk (one that describes only some types) leaves the links
 * that may close loops to energisation, which names what they cut. */
static int walked(const step *st, int dir, tmask reach, tmask describe)
{
    if (!st->member[dir] || !(st->near[dir] & reach)) return 0;
    if (st->meshed && describe != ALL_TYPES) return 0;
    if (st->only_without && (describe & st->only_without)) return 0;
    if (dir == DOWN && st->replaced_without && !(describe & st->replaced_without)) return 0;
    return 1;
}

char *walk_sql(const service_def *sd, const chain *ch, int dir, tmask vet, tmask reach,
               tmask describe)
{
    /* A trace may meet a loop (closed ties): its rows are told apart and
     * each kept once (UNION), so the walk ends when it finds nothing new.
     * An outage's walk follows no ties, only radial links, and keeps every
     * row (UNION ALL, cheaper on a substation's hundred thousand), bounded
     * by MAX_LEVELS all the same. */
    int trace = describe == ALL_TYPES;
    sbuf b = {0};
    sb_appendf(&b, "WITH RECURSIVE walk (code, node, grow, from_code, to_code, kind, sw, "
                   "sw_open%s) AS (SELECT x, n.node, n.node IS NOT NULL, NULL::text, NULL::text, "
                   "NULL::text, NULL::text, NULL::boolean%s FROM unnest ($1::text[]) x "
                   "CROSS JOIN LATERAL (SELECT ", trace ? "" : ", depth", trace ? "" : ", 0");
    node_expr(&b, sd, "x", vet, describe);
    /* OFFSET 0 keeps the subquery whole, so the node is looked up once */
    sb_appendf(&b, " AS node OFFSET 0) n UNION ALL SELECT x, NULL, true, NULL, NULL, NULL, NULL, "
                   "NULL%s FROM unnest ($2::text[]) x %s "
                   "SELECT e.far, n.node, n.node IS NOT NULL, e.from_code, e.to_code, e.kind, "
                   "e.sw, e.sw_open%s FROM walk w CROSS JOIN LATERAL (",
               trace ? "" : ", 0", trace ? "UNION" : "UNION ALL", trace ? "" : ", w.depth + 1");
    int first = 1;
    tmask far = 0;
    for (int i = 0; i < ch->nsteps; i++) {
        const step *st = &ch->steps[i];
        if (!walked(st, dir, reach, describe)) continue;
        sb_appendf(&b, "%s%s", first ? "" : " UNION ALL ", st->member[dir]);
        far |= st->far[dir];
        first = 0;
    }
    /* Nothing to walk from here; $3 and $4 are named all the same, as the
     * statement is prepared and run with four parameters. */
    if (first)
        sb_append(&b, "SELECT NULL::text AS far, NULL::text AS from_code, NULL::text AS to_code, "
                      "NULL::text AS kind, NULL::text AS sw, NULL::boolean AS sw_open "
                      "WHERE $3::text[] IS NULL AND false");
    sb_append(&b, ") e CROSS JOIN LATERAL (SELECT ");
    node_expr(&b, sd, "e.far", far, describe);
    sb_append(&b, " AS node OFFSET 0) n WHERE w.grow AND $4::boolean IS NOT NULL");
    if (!trace) sb_appendf(&b, " AND w.depth < %d", MAX_LEVELS);
    sb_append(&b, ") SELECT code, node, grow, from_code, to_code, kind, sw, sw_open FROM walk");
    return sb_steal(&b);
}

/* ---- plans -------------------------------------------------------------------- */

void walk_plans_init(walk_plans *p)
{
    p->nstmts = 0;
    pthread_mutex_init(&p->mu, NULL);
}

void walk_plans_free(walk_plans *p)
{
    for (int i = 0; i < p->nstmts; i++) free(p->stmts[i].sql);
    p->nstmts = 0;
    pthread_mutex_destroy(&p->mu);
}

static const walk_stmt *find_stmt(const walk_plans *p, const walk_stmt *key)
{
    for (int i = 0; i < p->nstmts; i++) {
        const walk_stmt *ws = &p->stmts[i];
        if (ws->dir == key->dir && ws->vet == key->vet && ws->reach == key->reach &&
            ws->describe == key->describe)
            return ws;
    }
    return NULL;
}

const char *walk_plans_sql(walk_plans *p, const service_def *sd, const chain *ch, int dir,
                           tmask vet, tmask grow, tmask describe, char **once)
{
    walk_stmt key = {dir, vet, chain_reach(ch, dir, vet | grow), describe, NULL};
    *once = NULL;
    pthread_mutex_lock(&p->mu);
    const walk_stmt *ws = find_stmt(p, &key);
    if (!ws && p->nstmts < MAX_STMTS) {
        key.sql = walk_sql(sd, ch, dir, key.vet, key.reach, key.describe);
        p->stmts[p->nstmts++] = key;
        ws = &p->stmts[p->nstmts - 1];
    }
    pthread_mutex_unlock(&p->mu);
    if (ws) return ws->sql; /* kept for the daemon's life: safe to use unlocked */
    *once = walk_sql(sd, ch, dir, key.vet, key.reach, key.describe);
    return *once;
}
