/* test_walk_sql.c -- common/topology's chain and walk statements, built from
 * both services' real declarations (no database): the steps each platform
 * walks up and down, the chain shortcut an outage's walk takes, the nodes a
 * trace and an impact walk describe, the statuses shown ($3, with and
 * without design), what an outage lists, and the plans kept. Every
 * statement is checked for what matters: its parameters are $1, $2 and $3
 * as text arrays and nothing else is a value; every literal in it and every
 * table it reads come from the declarations. */
#include "../unit_helpers.h"

#include <ctype.h>

#include <jansson.h>

#include "cust.h"
#include "grid.h"
#include "topology/walk_sql.h"

typedef struct {
    const service_def *sd;
    chain ch;
} platform;

static platform grid, cust;

static int setup(void **state)
{
    grid.sd = grid_service();
    cust.sd = cust_service();
    chain_build(&grid.ch, grid.sd);
    chain_build(&cust.ch, cust.sd);
    return 0;
}

static int teardown(void **state)
{
    chain_free(&grid.ch);
    chain_free(&cust.ch);
    return 0;
}

/* ---- what a statement may hold ------------------------------------------------- */

static int in_list(const char *const *list, const char *s, size_t n)
{
    for (; list && *list; list++)
        if (strlen(*list) == n && strncmp(*list, s, n) == 0) return 1;
    return 0;
}

static int is_prefix_of(const collection_def *cols, int ncols, const char *s, size_t n)
{
    for (int i = 0; i < ncols; i++)
        if (n == 2 && strncmp(cols[i].prefix, s, 2) == 0) return 1;
    return 0;
}

/* A literal the walk may write: a prefix, a link's kind, a type's name or a
 * field's, all declared; or one of the statement's own words. */
static int literal_allowed(const service_def *sd, const char *s, size_t n)
{
    static const char *const own[] = {"", "code", "type", "name", "status", "true", "\\t", NULL};
    if (in_list(own, s, n)) return 1;
    if (is_prefix_of(sd->collections, sd->ncollections, s, n) ||
        is_prefix_of(sd->peer_collections, sd->peer_ncollections, s, n))
        return 1;
    for (int i = 0; i < sd->nrelations; i++) {
        const relation_def *rd = &sd->relations[i];
        const char *const names[] = {rd->kind, rd->shortcut ? rd->shortcut->table : "",
                                     rd->open_without_switch ? rd->open_without_switch->value
                                                             : "",
                                     NULL};
        if (in_list(names, s, n)) return 1;
    }
    for (int i = 0; i < sd->ncollections; i++) {
        const collection_def *cd = &sd->collections[i];
        const biz_type *bt = biz_type_by_prefix(cd->prefix);
        const char *const names[] = {bt->type, NULL};
        if (in_list(names, s, n)) return 1;
        for (const field_def *f = cd->fields; f->name; f++) {
            char kind[128];
            snprintf(kind, sizeof kind, "%s.%s", bt->type, f->name);
            const char *const fnames[] = {f->name, kind, NULL};
            if (in_list(fnames, s, n)) return 1;
        }
    }
    return 0;
}

static int table_declared(const service_def *sd, const char *s, size_t n)
{
    static const char *const own[] = {"walk", "unnest", NULL};
    if (in_list(own, s, n)) return 1;
    for (int i = 0; i < sd->ncollections; i++) {
        const char *const t[] = {sd->collections[i].table, NULL};
        if (in_list(t, s, n)) return 1;
    }
    for (int i = 0; i < sd->nrelations; i++) {
        const relation_def *rd = &sd->relations[i];
        const char *const t[] = {rd->table, rd->shortcut ? rd->shortcut->table : NULL, NULL};
        if (in_list(t, s, n)) return 1;
    }
    return 0;
}

/* The statement's parameters are $1, $2 and $3, each a text array, all
 * three named; its literals and tables are the declarations'. */
static void assert_well_formed(const service_def *sd, const char *sql)
{
    int seen[5] = {0};
    for (const char *p = strchr(sql, '$'); p; p = strchr(p + 1, '$')) {
        /* $4, the state (normal or now), is a boolean, read where a switch is */
        int state = p[1] == '4' && !isdigit((unsigned char)p[2]);
        if (!state && (p[1] < '1' || p[1] > '3' || isdigit((unsigned char)p[2]) ||
                       strncmp(p + 2, "::text[]", 8) != 0))
            fail_msg("a parameter other than $1..$3 as text[] and $4 at '%.20s' in: %s", p, sql);
        seen[p[1] - '0'] = 1;
    }
    if (!seen[1] || !seen[2] || !seen[3] || !seen[4])
        fail_msg("not all of $1, $2, $3, $4 are named: %s", sql);
    for (const char *p = strchr(sql, '\''); p; p = strchr(p + 1, '\'')) {
        const char *end = strchr(p + 1, '\'');
        if (!end) fail_msg("an unclosed literal: %s", sql);
        if (!literal_allowed(sd, p + 1, (size_t)(end - p - 1)))
            fail_msg("the literal '%.*s' is not from the declarations: %s", (int)(end - p - 1),
                     p + 1, sql);
        p = end;
    }
    for (const char *p = strstr(sql, "FROM "); p; p = strstr(p + 1, "FROM ")) {
        const char *t = p + 5;
        size_t n = strspn(t, "abcdefghijklmnopqrstuvwxyz_");
        if (!table_declared(sd, t, n))
            fail_msg("reads '%.*s', which is no declared table: %s", (int)n, t, sql);
    }
}

/* ---- building a statement ------------------------------------------------------ */

/* The statement for a walk in dir from objects of the types in vet (kept
 * here) and grow (the peer's), "TR,LN,", describing describe: checked for
 * form, owned by the caller. */
static char *sql_for(const platform *p, int dir, const char *vet, const char *grow,
                     tmask describe)
{
    tmask v = mask_of_text(vet), g = mask_of_text(grow);
    char *sql = walk_sql(p->sd, &p->ch, dir, v, chain_reach(&p->ch, dir, v | g), describe);
    assert_non_null(sql);
    assert_well_formed(p->sd, sql);
    return sql;
}

static void has(const char *sql, const char *what)
{
    if (!strstr(sql, what)) fail_msg("no '%s' in: %s", what, sql);
}

static void lacks(const char *sql, const char *what)
{
    if (strstr(sql, what)) fail_msg("'%s' in: %s", what, sql);
}

/* Whether the statement walks any link (or only vets its starting objects). */
static int walks_on(const char *sql)
{
    return strstr(sql, "WHERE $3::text[] IS NULL AND false") == NULL;
}

/* ---- the tests ------------------------------------------------------------------- */

/* Up from a transformer: its line, then the line's substation, and no link
 * that leads down or off the chain. */
static void grid_up_from_a_transformer(void **state)
{
    char *sql = sql_for(&grid, UP, "TR,", "", ALL_TYPES);
    has(sql, "FROM rel_line_transformer t LEFT JOIN switches s ON s.code = t.switch WHERE "
             "t.to_code = w.code AND t.status = ANY ($3::text[]) AND t.valid_to IS NULL AND NOT "
             "coalesce(CASE WHEN $4 THEN s.normal_open ELSE s.current_open END, false) AND "
             "left(w.code, 2) IN ('TR')");
    /* a substation's tie without a switch carries nothing */
    has(sql, "FROM rel_substation_line t LEFT JOIN switches s ON s.code = t.switch WHERE "
             "t.to_code = w.code AND t.status = ANY ($3::text[]) AND t.valid_to IS NULL AND NOT "
             "coalesce(CASE WHEN $4 THEN s.normal_open ELSE s.current_open END, t.role = 'tie')");
    /* a line's ties, both ways */
    has(sql, "FROM rel_line_line t LEFT JOIN switches s ON s.code = t.switch WHERE "
             "t.from_code = w.code");
    has(sql, "FROM rel_line_line t LEFT JOIN switches s ON s.code = t.switch WHERE "
             "t.to_code = w.code");
    lacks(sql, "rel_accesspoint_transformer"); /* the transformer is upstream of its APs */
    lacks(sql, "rel_meterboxresource_meterbox"); /* no link of the chain */
    lacks(sql, "FROM poles");
    /* the transformer is vetted and described as GET shows it */
    has(sql, "WHEN 'TR' THEN (SELECT json_build_object('code', code, 'type', 'transformer'");
    has(sql, "FROM transformers WHERE code = x AND status = ANY ($3::text[])");
    free(sql);
}

/* Down from a line: its transformers, the lines it is tied to, the supply
 * and metering points it feeds; never back up to the substation, and never
 * through poles: a pole is a position, not a feed (DESIGN §9). A trace
 * may meet a loop of ties, so its rows are kept once each (UNION). */
static void grid_down_from_a_line(void **state)
{
    char *sql = sql_for(&grid, DOWN, "LN,", "", ALL_TYPES);
    has(sql, "FROM rel_line_transformer t LEFT JOIN switches s ON s.code = t.switch WHERE "
             "t.from_code = w.code");
    has(sql, "FROM rel_line_line t LEFT JOIN switches s ON s.code = t.switch WHERE "
             "t.to_code = w.code");
    has(sql, "FROM rel_accesspoint_transformer t WHERE t.to_code = w.code");
    has(sql, "FROM rel_equipment_supplypoint t WHERE t.from_code = w.code");
    has(sql, "FROM rel_transformer_customer t WHERE t.from_code = w.code");
    has(sql, " UNION SELECT e.far");
    lacks(sql, "rel_substation_line");
    lacks(sql, "FROM poles");
    lacks(sql, "FROM access_points t");
    free(sql);
}

/* An outage's walk down from a line follows its transformers but leaves
 * sources and ties to energisation (outage_cut), and keeps every row. */
static void an_outage_walk_leaves_meshed_links(void **state)
{
    char *sql = sql_for(&grid, DOWN, "LN,SS,", "", type_bit("CU"));
    has(sql, "FROM rel_line_transformer t");
    has(sql, "FROM rel_equipment_supplypoint t WHERE t.from_code = w.code");
    lacks(sql, "rel_line_line");
    lacks(sql, "rel_substation_line");
    has(sql, " UNION ALL SELECT e.far");
    has(sql, "w.depth < ");
    free(sql);
}

/* Up from a customer on cust-svc: a customer is named by the supply and
 * metering points that feed it (FF_FEEDS), so it is walked from them. */
static void cust_up_from_a_customer(void **state)
{
    char *sql = sql_for(&cust, UP, "CU,", "", ALL_TYPES);
    has(sql, "FROM supply_points t WHERE t.customer = w.code AND t.status = ANY ($3::text[]) "
             "AND left(w.code, 2) IN ('CU')");
    has(sql, "FROM metering_points t WHERE t.customer = w.code");
    has(sql, "FROM rel_supplypoint_meteringpoint");
    lacks(sql, "switches"); /* cust-svc keeps no switch */
    /* a customer's node shows its summary fields */
    has(sql, "'category', category, 'phone', phone, 'address', address)::text FROM customers");
    lacks(sql, "meter_reach"); /* a shortcut leads down only */
    free(sql);
}

/* A walk starting from the peer's objects only ($2) walks our links from
 * them and vets nothing of its own at the start. */
static void a_walk_from_the_peers_objects(void **state)
{
    char *sql = sql_for(&grid, DOWN, "", "SP,", ALL_TYPES);
    assert_false(walks_on(sql)); /* grid-svc has no link down from a supply point */
    free(sql);
    sql = sql_for(&cust, DOWN, "", "TR,", ALL_TYPES);
    assert_false(walks_on(sql));
    free(sql);
    /* up from a meter box cust-svc has vetted: its access point, then on up */
    sql = sql_for(&grid, UP, "", "MB,", ALL_TYPES);
    has(sql, "FROM rel_accesspoint_meterbox t WHERE t.to_code = w.code AND t.status = ANY "
             "($3::text[]) AND t.valid_to IS NULL AND left(w.code, 2) IN ('MB')");
    has(sql, "FROM rel_accesspoint_transformer t WHERE t.from_code = w.code");
    has(sql, "(SELECT CASE left(x, 2) WHEN NULL THEN NULL::text END AS node OFFSET 0)");
    free(sql);
}

/* Down from a meter box, an outage's walk that lists customers only takes
 * the chain kept ready (meter_reach) instead of meters and metering points;
 * a trace, which shows those, walks the links. */
static void the_chain_shortcut(void **state)
{
    tmask customers = type_bit("CU");
    char *sql = sql_for(&cust, DOWN, "MB,", "", customers);
    has(sql, "SELECT t.customer AS far, t.meter_box AS from_code, t.customer AS to_code, "
             "'meter_reach'::text AS kind, NULL::text AS sw, NULL::boolean AS sw_open FROM "
             "meter_reach t WHERE t.meter_box = w.code AND left(w.code, 2) IN ('MB')");
    lacks(sql, "rel_meter_meterbox");
    free(sql);

    sql = sql_for(&cust, DOWN, "MB,", "", ALL_TYPES);
    has(sql, "FROM rel_meter_meterbox t WHERE t.to_code = w.code");
    lacks(sql, "meter_reach");
    free(sql);

    /* a walk that describes meters needs them: no shortcut */
    sql = sql_for(&cust, DOWN, "MB,", "", customers | type_bit("MT"));
    has(sql, "rel_meter_meterbox");
    lacks(sql, "meter_reach");
    free(sql);
}

/* An impact walk describes the listed types as lines "code TAB group TAB
 * item", the item's members as declared (code, name, the summary fields,
 * the group last); others only as shown (true) or not. */
static void an_impact_walk_writes_lines(void **state)
{
    /* the supply points and meter boxes grid-svc hands over, to vet */
    char *sql = sql_for(&cust, DOWN, "SP,MB,", "", cust.ch.listed);
    has(sql, "WHEN 'CU' THEN (SELECT t.code || E'\\t' || coalesce(t.category::text, '') || "
             "E'\\t' || row_to_json(p)::text FROM customers t CROSS JOIN LATERAL (SELECT t.code "
             "AS code, t.name AS name, t.phone AS phone, t.address AS address, t.category AS "
             "category) p WHERE t.code = e.far AND t.status = ANY ($3::text[]))");
    has(sql, "WHEN 'SP' THEN (SELECT 'true'::text FROM supply_points WHERE code = x");
    has(sql, "WHEN 'MP' THEN (SELECT 'true'::text FROM metering_points WHERE code = e.far");
    lacks(sql, "json_build_object"); /* nothing described as a trace's node */
    lacks(sql, "::json"); /* every node is text */
    free(sql);
}

/* What an outage lists is declared (FF_IMPACT_GROUP), on either platform:
 * grid-svc reads it off the peer's declarations. */
static void an_outage_lists_the_declared_customers(void **state)
{
    assert_int_equal(grid.ch.listed, type_bit("CU"));
    assert_int_equal(cust.ch.listed, type_bit("CU"));
    assert_non_null(grid.ch.group);
    assert_non_null(cust.ch.group);
    assert_string_equal(grid.ch.group, "category");
    assert_string_equal(cust.ch.group, "category");
}

/* $3: the statuses lists show by default, and design objects when asked;
 * never retired ones. The statement is the same either way: design is a
 * parameter, not a plan. */
static void statuses_are_the_third_parameter(void **state)
{
    assert_string_equal(grid.ch.shown[0], "{operational}");
    assert_string_equal(grid.ch.shown[1], "{design,operational}");
    assert_string_equal(cust.ch.shown[0], "{pending,active}");
    assert_string_equal(cust.ch.shown[1], "{pending,active}");
    char *sql = sql_for(&grid, DOWN, "LN,", "", ALL_TYPES);
    lacks(sql, "operational");
    lacks(sql, "design");
    lacks(sql, "retired");
    free(sql);
}

/* The prefixes a platform tells the peer it walks on from (near) are those
 * it has a link from: a hand-over of anything else would be a wasted leg. */
static void near_prefixes_are_those_walked_from(void **state)
{
    const platform *ps[] = {&grid, &cust};
    for (int k = 0; k < 2; k++) {
        const platform *p = ps[k];
        for (int dir = 0; dir < 2; dir++) {
            for (int i = 0; i < biz_ntypes; i++) {
                char one[4];
                snprintf(one, sizeof one, "%s,", biz_types[i].prefix);
                char *sql = sql_for(p, dir, "", one, ALL_TYPES);
                int near = strstr(p->ch.near_text[dir], one) != NULL;
                if (near != walks_on(sql))
                    fail_msg("%s %s from %s: near says %d, the statement walks %d",
                             service_name(p->sd->id), dir == UP ? "up" : "down", one, near,
                             walks_on(sql));
                free(sql);
            }
        }
    }
    assert_non_null(strstr(grid.ch.near_text[DOWN], "SS,"));
    assert_null(strstr(grid.ch.near_text[UP], "SS,")); /* nothing is above a substation */
}

static void type_sets_as_text(void **state)
{
    tmask m = type_bit("CU") | type_bit("MB");
    char *text = text_of_mask(m);
    assert_non_null(strstr(text, "CU,"));
    assert_non_null(strstr(text, "MB,"));
    assert_int_equal(strlen(text), 6);
    assert_int_equal(mask_of_text(text), m);
    free(text);
    assert_int_equal(mask_of_text("CU"), type_bit("CU")); /* the last comma may be left off */
    assert_int_equal(mask_of_text(""), 0);
    assert_int_equal(type_bit("ZZ"), 0);
    json_t *codes = json_pack("[s, s]", "TR-00000000000000000000000000", "LN-0");
    assert_int_equal(mask_of_codes(codes), type_bit("TR") | type_bit("LN"));
    json_decref(codes);
}

/* A plan is built once and kept; past MAX_STMTS plans a walk gets a
 * statement of its own, the same text, to run once and free. */
static void plans_are_kept(void **state)
{
    walk_plans plans;
    walk_plans_init(&plans);
    char *once;
    const char *a = walk_plans_sql(&plans, cust.sd, &cust.ch, DOWN, type_bit("MB"), 0,
                                   ALL_TYPES, &once);
    assert_null(once);
    const char *b = walk_plans_sql(&plans, cust.sd, &cust.ch, DOWN, type_bit("MB"), 0,
                                   ALL_TYPES, &once);
    assert_null(once);
    assert_ptr_equal(a, b);
    const char *c = walk_plans_sql(&plans, cust.sd, &cust.ch, DOWN, type_bit("MB"), 0,
                                   type_bit("CU"), &once);
    assert_null(once);
    assert_ptr_not_equal(a, c);
    assert_int_equal(plans.nstmts, 2);
    /* plans differ by what they describe: fill the rest with such */
    for (int i = 0; plans.nstmts < MAX_STMTS; i++) {
        walk_plans_sql(&plans, cust.sd, &cust.ch, UP, type_bit("CU"), 0, (tmask)1 << i, &once);
        assert_null(once);
    }
    const char *d = walk_plans_sql(&plans, grid.sd, &grid.ch, UP, type_bit("TR"), 0, ALL_TYPES,
                                   &once);
    assert_non_null(once);
    assert_ptr_equal(d, once);
    char *want = walk_sql(grid.sd, &grid.ch, UP, type_bit("TR"),
                          chain_reach(&grid.ch, UP, type_bit("TR")), ALL_TYPES);
    assert_string_equal(d, want);
    free(want);
    free(once);
    assert_int_equal(plans.nstmts, MAX_STMTS);
    walk_plans_free(&plans);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grid_up_from_a_transformer),
        cmocka_unit_test(grid_down_from_a_line),
        cmocka_unit_test(an_outage_walk_leaves_meshed_links),
        cmocka_unit_test(cust_up_from_a_customer),
        cmocka_unit_test(a_walk_from_the_peers_objects),
        cmocka_unit_test(the_chain_shortcut),
        cmocka_unit_test(an_impact_walk_writes_lines),
        cmocka_unit_test(an_outage_lists_the_declared_customers),
        cmocka_unit_test(statuses_are_the_third_parameter),
        cmocka_unit_test(near_prefixes_are_those_walked_from),
        cmocka_unit_test(type_sets_as_text),
        cmocka_unit_test(plans_are_kept),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
