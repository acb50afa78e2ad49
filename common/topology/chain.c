/* chain.c -- the supply chain read off the declarations (chain.h): each
 * relation flagged REL_UPSTREAM_FROM / REL_UPSTREAM_TO and each code field
 * flagged FF_FEEDS / FF_FED_BY becomes a step, written once as the member
 * of a walk statement's UNION ALL that follows it; a relation's shortcut is
 * a step of its own. */
#include "topology/chain.h"

#include <stdlib.h>
#include <string.h>

#include "base/core.h"
#include "store/pgarray.h"

/* ---- sets of types ------------------------------------------------------------ */

tmask type_bit(const char *prefix_or_code)
{
    const biz_type *bt = prefix_or_code ? biz_type_by_prefix(prefix_or_code) : NULL;
    return bt ? (tmask)1 << (bt - biz_types) : 0;
}

static tmask mask_of(const char *const *prefixes)
{
    tmask m = 0;
    for (; prefixes && *prefixes; prefixes++) m |= type_bit(*prefixes);
    return m;
}

tmask mask_of_text(const char *text)
{
    tmask m = 0;
    for (const char *p = text; p[0] && p[1]; p += p[2] ? 3 : 2) {
        char prefix[3] = {p[0], p[1], 0};
        m |= type_bit(prefix);
    }
    return m;
}

char *text_of_mask(tmask m)
{
    sbuf b = {0};
    sb_append(&b, "");
    for (int i = 0; i < biz_ntypes; i++)
        if (m & ((tmask)1 << i)) sb_appendf(&b, "%s,", biz_types[i].prefix);
    return sb_steal(&b);
}

tmask mask_of_codes(json_t *codes)
{
    tmask m = 0;
    size_t i;
    json_t *v;
    json_array_foreach(codes, i, v) m |= type_bit(json_string_value(v));
    return m;
}

/* ---- steps -------------------------------------------------------------------- */

/* "left(w.code, 2) IN ('AP','MB')": a condition on the outer row only, so
 * PostgreSQL checks it before touching the table (a one-time filter). The
 * prefixes are the declarations' own. */
static void near_filter(sbuf *b, const char *const *near)
{
    sb_append(b, "left(w.code, 2) IN (");
    for (int i = 0; near[i]; i++) sb_appendf(b, "%s'%s'", i ? ", " : "", near[i]);
    sb_append(b, ")");
}

/* The links of kind from w.code: rows (far, from_code, to_code, kind, sw,
 * sw_open), from table t. extra: the table's own conditions (" AND t...."),
 * its shown statuses among them when it has statuses. sw: the columns
 * naming the link's switch and its position now, and the join that reads
 * them (switch_cols). */
typedef struct switch_cols {
    const char *cols, *join, *closed;
} switch_cols;

static const switch_cols no_switch = {"NULL::text AS sw, NULL::boolean AS sw_open", "", ""};

static char *member(const char *kind, const char *table, const char *near_col, const char *far_col,
                    const char *from_col, const char *to_col, const char *extra,
                    const switch_cols *sw, const char *const *near)
{
    sbuf b = {0};
    sb_appendf(&b, "SELECT t.%s AS far, t.%s AS from_code, t.%s AS to_code, '%s'::text AS kind, "
                   "%s FROM %s t%s WHERE t.%s = w.code%s%s AND ",
               far_col, from_col, to_col, kind, sw->cols, table, sw->join, near_col, extra,
               sw->closed);
    near_filter(&b, near);
    return sb_steal(&b);
}

/* The switch a relation's links may name (FF_SWITCH), as member() reads
 * it: a link is walked while its switch is closed in the state asked ($4:
 * the normal arrangement, else now), or, with none, unless it matches the
 * relation's open_without_switch. Strings kept in bufs (freed with the
 * step). */
static switch_cols link_switch(const service_def *sd, const relation_def *rd, char **bufs)
{
    const field_def *f = rd->attrs;
    while (f && f->name && !(f->flags & FF_SWITCH)) f++;
    const collection_def *sc = f && f->name ? catalogue_collection(sd, f->refs[0]) : NULL;
    if (!sc) return no_switch;
    bufs[0] = xasprintf("t.%s AS sw, s.current_open AS sw_open", f->name);
    bufs[1] = xasprintf(" LEFT JOIN %s s ON s.code = t.%s", sc->table, f->name);
    const end_rule *open = rd->open_without_switch;
    if (open)
        bufs[2] = xasprintf(" AND NOT coalesce(CASE WHEN $4 THEN s.normal_open ELSE "
                            "s.current_open END, t.%s = '%s')", open->field, open->value);
    else
        bufs[2] = xasprintf(" AND NOT coalesce(CASE WHEN $4 THEN s.normal_open ELSE "
                            "s.current_open END, false)");
    return (switch_cols){bufs[0], bufs[1], bufs[2]};
}

static void set_ends(step *st, const char *const *near_out[2])
{
    for (int dir = 0; dir < 2; dir++) {
        st->near[dir] = mask_of(near_out[dir]);
        st->far[1 - dir] = st->near[dir]; /* a link's near end one way is its far end the other */
    }
}

static void relation_step(step *st, const service_def *sd, const relation_def *rd,
                          const char *const *near_out[2])
{
    int up_is_from = (rd->rules & REL_UPSTREAM_FROM) != 0;
    /* Walking up from the downstream end finds the upstream end, and down
     * the other way round. Edges are always (from_code, to_code). */
    const char *down_end = up_is_from ? "to_code" : "from_code";
    const char *up_end = up_is_from ? "from_code" : "to_code";
    near_out[UP] = up_is_from ? rd->to : rd->from;
    near_out[DOWN] = up_is_from ? rd->from : rd->to;
    const char *live = " AND t.status = ANY ($3::text[]) AND t.valid_to IS NULL";
    char *bufs[3] = {NULL, NULL, NULL};
    switch_cols sw = link_switch(sd, rd, bufs);
    st->member[UP] = member(rd->kind, rd->table, down_end, up_end, "from_code", "to_code", live,
                            &sw, near_out[UP]);
    st->member[DOWN] = member(rd->kind, rd->table, up_end, down_end, "from_code", "to_code", live,
                              &sw, near_out[DOWN]);
    for (int i = 0; i < 3; i++) free(bufs[i]);
    st->meshed = (rd->rules & REL_MESHED) != 0;
    set_ends(st, near_out);
}

/* A tie (REL_TIE) from one end (near: from_code, or to_code when reverse)
 * to the other, walked the same way up and down. */
static void tie_step(step *st, const service_def *sd, const relation_def *rd, int reverse)
{
    const char *near_col = reverse ? "to_code" : "from_code";
    const char *far_col = reverse ? "from_code" : "to_code";
    const char *const *near = reverse ? rd->to : rd->from, *const *far = reverse ? rd->from : rd->to;
    const char *live = " AND t.status = ANY ($3::text[]) AND t.valid_to IS NULL";
    char *bufs[3] = {NULL, NULL, NULL};
    switch_cols sw = link_switch(sd, rd, bufs);
    for (int dir = 0; dir < 2; dir++) {
        st->member[dir] = member(rd->kind, rd->table, near_col, far_col, "from_code", "to_code",
                                 live, &sw, near);
        st->near[dir] = mask_of(near);
        st->far[dir] = mask_of(far);
    }
    for (int i = 0; i < 3; i++) free(bufs[i]);
    st->meshed = (rd->rules & REL_MESHED) != 0;
}

/* The shortcut declared on rd, from rd's upstream end down (sc: the step
 * it is; st: rd's own step, which it stands in for). The table holds only
 * live chains, so it has no statuses of its own. */
static void shortcut_step(step *sc, step *st, const relation_def *rd, const char *const *up_end)
{
    const chain_shortcut *cs = rd->shortcut;
    sc->member[DOWN] = member(cs->table, cs->table, cs->near_col, cs->far_col, cs->near_col,
                              cs->far_col, "", &no_switch, up_end);
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
    const char *shown = " AND t.status = ANY ($3::text[])";
    char *not_null = xasprintf("%s AND t.%s IS NOT NULL", shown, f->name);
    st->member[to_holder] = member(st->kind_buf, cd->table, f->name, "code", "code", f->name, shown,
                                   &no_switch, f->refs);
    st->member[to_named] = member(st->kind_buf, cd->table, "code", f->name, "code", f->name,
                                  not_null, &no_switch, holder);
    free(not_null);
    set_ends(st, near_out);
}

static void add_near(sbuf *b, const char *const *near)
{
    for (; near && *near; near++)
        if (!b->s || !strstr(b->s, *near)) sb_appendf(b, "%s,", *near);
}

static void build_steps(chain *ch, const service_def *sd)
{
    int cap = 2 * sd->nrelations + 16;
    ch->steps = xcalloc((size_t)cap, sizeof *ch->steps);
    sbuf near[2] = {{0}, {0}};
    const char *const *n2[2];
    for (int i = 0; i < sd->nrelations; i++) {
        const relation_def *rd = &sd->relations[i];
        if (rd->rules & REL_TIE) {
            for (int reverse = 0; reverse < 2; reverse++)
                tie_step(&ch->steps[ch->nsteps++], sd, rd, reverse);
            add_near(&near[UP], rd->from);
            add_near(&near[UP], rd->to);
            add_near(&near[DOWN], rd->from);
            add_near(&near[DOWN], rd->to);
            continue;
        }
        if (!(rd->rules & (REL_UPSTREAM_FROM | REL_UPSTREAM_TO))) continue;
        step *st = &ch->steps[ch->nsteps++];
        relation_step(st, sd, rd, n2);
        add_near(&near[UP], n2[UP]);
        add_near(&near[DOWN], n2[DOWN]);
        if (rd->shortcut) shortcut_step(&ch->steps[ch->nsteps++], st, rd, n2[DOWN]);
    }
    for (int i = 0; i < sd->ncollections; i++) {
        const collection_def *cd = &sd->collections[i];
        const biz_type *bt = biz_type_by_prefix(cd->prefix);
        for (const field_def *f = cd->fields; f->name && ch->nsteps < cap; f++) {
            if (!(f->flags & (FF_FEEDS | FF_FED_BY))) continue;
            const char *const holder[] = {cd->prefix, NULL};
            field_step(&ch->steps[ch->nsteps++], cd, bt, f, holder, n2);
            add_near(&near[UP], n2[UP]);
            add_near(&near[DOWN], n2[DOWN]);
        }
    }
    for (int dir = 0; dir < 2; dir++) {
        sb_append(&near[dir], "");
        ch->near_text[dir] = sb_steal(&near[dir]);
    }
}

/* ---- what a walk shows, and what an outage lists ------------------------------ */

/* The statuses a walk shows, as $3: those a list shows by default (the
 * declared listed ones: operational grid objects, customer-side objects
 * not retired), and design (red-drawing) objects too when asked, as with
 * ?status=design. In the declared order. */
static char *statuses(const status_set *set, int design)
{
    pg_array a = {0};
    for (const char *const *s = set->values; *s; s++) {
        int listed = 0;
        for (const char *const *l = set->listed; l && *l && !listed; l++) listed = !strcmp(*l, *s);
        if (listed || (design && strcmp(*s, "design") == 0)) pg_array_add(&a, *s);
    }
    return pg_array_steal(&a);
}

static void find_listed(chain *ch, const collection_def *cols, int n)
{
    for (int i = 0; i < n; i++)
        for (const field_def *f = cols[i].fields; f->name; f++) {
            if (!(f->flags & FF_IMPACT_GROUP)) continue;
            ch->listed |= type_bit(cols[i].prefix);
            if (!ch->group) ch->group = f->name;
        }
}

void chain_build(chain *ch, const service_def *sd)
{
    *ch = (chain){0};
    build_steps(ch, sd);
    ch->shown[0] = statuses(sd->statuses, 0);
    ch->shown[1] = statuses(sd->statuses, 1);
    /* the page is asked of either platform: the peer's collections count too */
    find_listed(ch, sd->collections, sd->ncollections);
    find_listed(ch, sd->peer_collections, sd->peer_ncollections);
}

void chain_free(chain *ch)
{
    for (int i = 0; i < ch->nsteps; i++) {
        free(ch->steps[i].member[UP]);
        free(ch->steps[i].member[DOWN]);
        free(ch->steps[i].kind_buf);
    }
    for (int i = 0; i < 2; i++) {
        free(ch->near_text[i]);
        free(ch->shown[i]);
    }
    free(ch->steps);
    *ch = (chain){0};
}

tmask chain_reach(const chain *ch, int dir, tmask start)
{
    tmask reach = start, before;
    do {
        before = reach;
        for (int i = 0; i < ch->nsteps; i++)
            if (ch->steps[i].member[dir] && (ch->steps[i].near[dir] & reach))
                reach |= ch->steps[i].far[dir];
    } while (reach != before);
    return reach;
}
