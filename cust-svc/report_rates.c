/* report_rates.c -- the integration rates by level, GET /v1/reports/integration/rates.
 *
 * One request per chart: the customers and complete customers under every
 * substation, line or transformer area of the city, or of those under one
 * substation or line (the drill-down: the city's substations, a
 * substation's lines, a line's transformer areas). The figures are
 * report.rates's: a customer counts under every object its chains reach,
 * complete when every one of its chains is (report.customer_status). A
 * scope keeps the chains through it, as the scoped report does (report.c),
 * and the objects of the level those chains reach. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonutil.h"
#include "engine/paging.h"
#include "cust.h"
#include "report.h"
#include "service.h"

#define LIMIT_DEFAULT PAGE_LIMIT_DEFAULT_FEED
#define LIMIT_MAX PAGE_LIMIT_MAX

/* ---- statements -------------------------------------------------------------- */

/* Marks replaced per level and scope (rates_build). The columns are
 * report_scopes' params, constants of ours. */
#define LEVEL_COL "<level column>"

/* $1 the last code of the page before ("" from the start), $2 the page size
 * + 1; scoped statements take the scope's code as $3. ch: a row per chain
 * and the object of the level it reaches (NULL: none); s: each customer of
 * those chains, complete or not. */
static const char SQL_CITY[] =
    "WITH ch AS MATERIALIZED (SELECT customer, " LEVEL_COL " AS code, complete"
    "   FROM report.chains),"
    " s AS MATERIALIZED (SELECT customer, bool_and(complete) AS complete FROM ch"
    "   GROUP BY customer),";

/* Within a scope, a customer's chains outside it say whether it is complete
 * too: those in the scope settle it for a customer with one start
 * (report.chain_starts: its rows are all complete or none is); the others,
 * few, are looked up one by one, by customer, as the scoped report does.
 * The scope's condition is a plain one on report.chains, so that it reaches
 * each branch of the views' UNION ALL and the scope's rows are read by
 * index rather than the whole city's. */
static const char SQL_SCOPED[] =
    "WITH ch AS MATERIALIZED (SELECT customer, " LEVEL_COL " AS code, complete"
    "   FROM report.chains WHERE " SCOPE_COL " = $3),"
    " s0 AS MATERIALIZED (SELECT customer, bool_and(complete) AS complete FROM ch"
    "   GROUP BY customer),"
    " s AS (SELECT customer, CASE WHEN complete AND (SELECT count(*) FROM report.chain_starts cs"
    "     WHERE cs.customer = s0.customer) > 1"
    "   THEN NOT EXISTS (SELECT 1 FROM report.chains x WHERE x.customer = s0.customer"
    "     AND NOT x.complete) ELSE complete END AS complete FROM s0),";

/* Each customer once per object (it may reach one by two chains), counted
 * by object; the page in code order, as a JSON array of [code, customers,
 * complete]. A NULL code is never > $1. Columns: scope exists, the page. */
static const char SQL_TAIL[] =
    " d AS (SELECT DISTINCT customer, code FROM ch WHERE code > $1),"
    " r AS (SELECT d.code, count(*) AS customers, count(*) FILTER (WHERE s.complete) AS complete"
    "   FROM d JOIN s USING (customer) GROUP BY d.code)"
    " SELECT " SCOPE_EXISTS ","
    " (SELECT coalesce(json_agg(json_build_array(code, customers, complete) ORDER BY code), '[]')"
    "   FROM (SELECT code, customers, complete FROM r ORDER BY code LIMIT $2) p)::text";

static char *statement(scope_id level, scope_id scope)
{
    char *both = report_statement(SQL_CITY, SQL_SCOPED, SQL_TAIL, scope, 3);
    char *sql = report_replaced(both, LEVEL_COL, report_scopes[level].param);
    free(both);
    return sql;
}

/* A statement for each level and each scope above it (the city's too). */
void rates_build(report_state *st)
{
    for (int level = SCOPE_SUBSTATION; level < N_SCOPES; level++)
        for (int scope = SCOPE_CITY; scope < level; scope++)
            st->rates[level][scope] = statement((scope_id)level, (scope_id)scope);
}

void rates_free(report_state *st)
{
    for (int level = 0; level < N_SCOPES; level++)
        for (int scope = 0; scope < N_SCOPES; scope++) free(st->rates[level][scope]);
}

/* ---- the request --------------------------------------------------------------- */

typedef struct {
    request *req;
    scope_id level; /* SCOPE_CITY: not given */
    scope_id scope;
    char code[BIZCODE_LEN + 1];  /* the scope's */
    char after[BIZCODE_LEN + 1]; /* "" from the start */
    const char *after_given;     /* checked once the level is known */
    int limit;
    unsigned seen; /* parameters given, a bit each: each at most once */
} rates_args;

static const char *const params[] = {"substation", "line",  "transformer",
                                     "level",      "limit", "after"};

static int level_arg(rates_args *a, const char *value)
{
    for (int s = SCOPE_SUBSTATION; s < N_SCOPES; s++) {
        if (strcmp(report_scopes[s].param, value) == 0) {
            a->level = (scope_id)s;
            return OK;
        }
    }
    http_problem(a->req, 400, "level '%.40s' is none: use substation, line or transformer", value);
    return ERR;
}

static int rates_arg(void *ctx, const char *key, const char *value)
{
    rates_args *a = ctx;
    int i = report_param(a->req, params, ARRAY_LEN(params), "level, substation, line, limit, after",
                         key, &a->seen);
    if (i < 0) return ERR;
    if (i < 3) {
        if (a->scope != SCOPE_CITY) {
            http_problem(a->req, 400, "give one scope at most: substation or line");
            return ERR;
        }
        a->scope = (scope_id)(SCOPE_SUBSTATION + i);
        return report_code_arg(a->req, a->scope, value, a->code);
    }
    if (strcmp(key, "level") == 0) return level_arg(a, value);
    if (strcmp(key, "limit") == 0) return http_limit(a->req, value, LIMIT_MAX, &a->limit);
    a->after_given = value;
    return OK;
}

/* What can only be checked once every parameter is read: the level, the
 * scope above it, the cursor a code of the level. */
static int rates_check(rates_args *a)
{
    if (a->level == SCOPE_CITY) {
        http_problem(a->req, 400, "level is required: substation, line or transformer");
        return ERR;
    }
    if (a->scope >= a->level) {
        http_problem(a->req, 400, "a scope lies above the level: %s is not above %s (level=line "
                                  "takes substation=, level=transformer substation= or line=)",
                     report_scopes[a->scope].param, report_scopes[a->level].param);
        return ERR;
    }
    if (!a->after_given) return OK;
    const char *prefix = report_scopes[a->level].prefix;
    if (bizcode_parse(a->after_given, a->after, NULL) != BIZ_OK ||
        strncmp(a->after, prefix, 2) != 0) {
        http_problem(a->req, 400, "after must be a %s code: the \"next\" of an earlier page",
                     prefix);
        return ERR;
    }
    return OK;
}

/* ---- the answer -------------------------------------------------------------- */

/* Items of the page and, when there is more, the last one's code. */
static json_t *page_items(const char *page_json, int limit, json_t **next)
{
    json_t *rows = json_loads(page_json, 0, NULL), *items = json_array();
    size_t n = json_array_size(rows), shown = n > (size_t)limit ? (size_t)limit : n;
    for (size_t i = 0; i < shown; i++) {
        json_t *row = json_array_get(rows, i);
        json_int_t customers = json_integer_value(json_array_get(row, 1));
        json_int_t complete = json_integer_value(json_array_get(row, 2));
        /* Every object listed has a customer at least: no division by 0. */
        json_array_append_new(items, json_pack("{s:O, s:I, s:I, s:f}", "code",
                                               json_array_get(row, 0), "customers", customers,
                                               "complete", complete, "rate",
                                               (double)complete / (double)customers));
    }
    *next = n > shown ? json_incref(json_object_get(json_array_get(items, shown - 1), "code"))
                      : json_null();
    json_decref(rows);
    return items;
}

static json_t *answer(const rates_args *a, const PGresult *r, db_conn *c)
{
    json_t *next, *items = page_items(PQgetvalue(r, 0, 1), a->limit, &next);
    json_t *scope = a->scope == SCOPE_CITY
                        ? json_object()
                        : json_pack("{s:s}", report_scopes[a->scope].param, a->code);
    json_t *fresh = datahub_freshness(c);
    return json_pack("{s:s, s:o, s:o, s:o, s:o}", "level", report_scopes[a->level].param,
                     "scope", scope, "items", items, "next", next, "freshness",
                     fresh ? fresh : json_null());
}

static void run_rates(request *req, report_state *st, const rates_args *a, db_conn *c)
{
    char limit[16];
    snprintf(limit, sizeof limit, "%d", a->limit + 1);
    const char *p[] = {a->after, limit, a->code};
    /* The city's levels read every chain, as the city's report does. */
    const char *sql = st->rates[a->level][a->scope];
    PGresult *r = datahub_report_rows(req, c, sql, a->scope, a->code, 3, p, NULL);
    if (r) {
        http_json(req, 200, answer(a, r, c));
        PQclear(r);
    }
    db_rollback(c); /* the city's transaction, if any: it only read */
}

static void integration_rates(request *req, void *ctx)
{
    report_state *st = ctx;
    rates_args a = {.req = req, .limit = LIMIT_DEFAULT};
    if (http_query_foreach(req, rates_arg, &a) != OK || rates_check(&a) != OK) return;
    db_conn *c = datahub_conn(req, st);
    if (!c) return;
    run_rates(req, st, &a, c);
    db_release(st->pool, c);
}

void rates_route(router *r, report_state *st)
{
    /* Long, on datahub's own pool, never on the peer: the local workers. */
    router_add(r, "GET", "/v1/reports/integration/rates", integration_rates, st, ROUTE_SLOW,
               "The integration rates 贯通率 by level from the data middle platform (datahub): "
               "?level=substation|line|transformer, each object's customers, complete ones and "
               "rate, in code order; within ?substation= or ?line= above the level; "
               "?limit=&after=")
        ->query = catalogue_read_query(cust_reads, cust_nreads, "/v1/reports/integration/rates");
}
