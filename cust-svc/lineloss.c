/* lineloss.c -- line loss 线损 per transformer area 台区, GET /v1/reports/line-loss.
 *
 * An area's loss over a day or a span of days is what its check meter 考核表
 * measured going in, less what its customers' meters billed; its rate is
 * that over the input. Both sides are read on datahub, where the readings
 * (cust-svc's) meet the areas' access points and transformers (grid-svc's):
 * report.area_meters is the recorded 户变关系, report.area_check_meters the
 * check meters (schema/datahub/004_line_loss.sql).
 *
 * A status says whether the figure can be trusted before it says what it
 * shows: no_check_reading (no check meter, or a day it did not read),
 * incomplete_readings (a customer's meter missed a day: the billed side is
 * short and the loss too high), then negative (billed more than went in:
 * a customer recorded here is fed from elsewhere, or a meter is wrong),
 * high (above LINE_LOSS_HIGH), normal. The totals add up only the areas
 * whose readings are whole, so that a line's or a substation's figure is
 * not made of halves. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/day.h"
#include "base/jsonutil.h"
#include "engine/paging.h"
#include "cust.h"
#include "report.h"
#include "service.h"

#define LIMIT_DEFAULT PAGE_LIMIT_DEFAULT_FEED
#define LIMIT_MAX PAGE_LIMIT_MAX

const char *const line_loss_statuses[] = {"normal", "negative", "high", "no_check_reading",
                                          "incomplete_readings", NULL};

/* ---- statements -------------------------------------------------------------- */

/* $1, $2 the first and last day; $3 the last area of the page before (""
 * from the start); $4 the page size + 1; $5 LINE_LOSS_HIGH; scoped
 * statements take the scope's code as $6. a: the areas (live public
 * transformers) of the scope; m, k: their billing and check meters; r: each
 * meter's readings of the span, summed and counted. */
static const char SQL_CITY[] =
    "WITH a AS MATERIALIZED (SELECT DISTINCT transformer FROM report.transformer_up"
    "   WHERE kind = 'public'),"
    " m AS MATERIALIZED (SELECT transformer, meter FROM report.area_meters),"
    " k AS MATERIALIZED (SELECT transformer, meter FROM report.area_check_meters),"
    " r AS MATERIALIZED (SELECT meter, sum(kwh) AS kwh, count(*) AS n FROM report.readings"
    "   WHERE day BETWEEN $1 AND $2 GROUP BY meter),";

/* The scope's areas first, then their meters and readings by index: = ANY
 * (ARRAY(...)) is a plain condition, pushed into the views' joins. */
static const char SQL_SCOPED[] =
    "WITH a AS MATERIALIZED (SELECT DISTINCT transformer FROM report.transformer_up"
    "   WHERE kind = 'public' AND " SCOPE_COL " = $6),"
    " m AS MATERIALIZED (SELECT transformer, meter FROM report.area_meters"
    "   WHERE transformer = ANY (ARRAY(SELECT transformer FROM a))),"
    " k AS MATERIALIZED (SELECT transformer, meter FROM report.area_check_meters"
    "   WHERE transformer = ANY (ARRAY(SELECT transformer FROM a))),"
    " r AS MATERIALIZED (SELECT meter, sum(kwh) AS kwh, count(*) AS n FROM report.readings"
    "   WHERE day BETWEEN $1 AND $2"
    "     AND meter = ANY (ARRAY(SELECT meter FROM m UNION ALL SELECT meter FROM k))"
    "   GROUP BY meter),";

/* x: each area's meters and the readings they have (n) against those a
 * whole span has (meters x days); s: with its status. Columns: scope
 * exists, the totals (JSON), the page (JSON array of objects). */
static const char SQL_TAIL[] =
    " x AS MATERIALIZED (SELECT a.transformer, coalesce(b.meters, 0) AS meters,"
    "   coalesce(b.kwh, 0) AS billed, coalesce(b.n, 0) AS billed_n,"
    "   coalesce(i.meters, 0) AS checks, i.kwh AS input, coalesce(i.n, 0) AS input_n,"
    "   $2::date - $1::date + 1 AS days FROM a"
    "   LEFT JOIN (SELECT m.transformer, count(*) AS meters, sum(r.kwh) AS kwh, sum(r.n) AS n"
    "     FROM m LEFT JOIN r USING (meter) GROUP BY m.transformer) b USING (transformer)"
    "   LEFT JOIN (SELECT k.transformer, count(*) AS meters, sum(r.kwh) AS kwh, sum(r.n) AS n"
    "     FROM k LEFT JOIN r USING (meter) GROUP BY k.transformer) i USING (transformer)),"
    " s AS MATERIALIZED (SELECT x.*,"
    "   CASE WHEN checks = 0 OR input_n < checks * days THEN 'no_check_reading'"
    "        WHEN billed_n < meters * days THEN 'incomplete_readings'"
    "        WHEN input < billed THEN 'negative'"
    "        WHEN input > 0 AND (input - billed) / input > $5::numeric THEN 'high'"
    "        ELSE 'normal' END AS status FROM x),"
    " w AS (SELECT * FROM s WHERE status IN ('normal', 'negative', 'high'))"
    " SELECT " SCOPE_EXISTS ","
    " json_build_object('areas', (SELECT count(*) FROM s), 'counted', (SELECT count(*) FROM w),"
    "   'input_kwh', (SELECT coalesce(sum(input), 0) FROM w),"
    "   'billed_kwh', (SELECT coalesce(sum(billed), 0) FROM w),"
    "   'by_status', (SELECT coalesce(json_object_agg(status, n), '{}')"
    "     FROM (SELECT status, count(*) AS n FROM s GROUP BY status) q))::text,"
    " (SELECT coalesce(json_agg(json_build_object('transformer', transformer,"
    "     'meters', meters, 'days', days,"
    "     'input_kwh', CASE WHEN status <> 'no_check_reading' THEN input END,"
    "     'billed_kwh', billed,"
    "     'missing_readings', meters * days - billed_n + checks * days - input_n,"
    "     'status', status) ORDER BY transformer), '[]')"
    "   FROM (SELECT * FROM s WHERE transformer > $3 ORDER BY transformer LIMIT $4) p)::text";


void lineloss_build(report_state *st)
{
    for (int s = 0; s < N_SCOPES; s++)
        st->lineloss[s] = report_statement(SQL_CITY, SQL_SCOPED, SQL_TAIL, (scope_id)s, 6);
}

void lineloss_free(report_state *st)
{
    for (int s = 0; s < N_SCOPES; s++) free(st->lineloss[s]);
}

/* ---- the request --------------------------------------------------------------- */

typedef struct {
    request *req;
    report_period period;
    scope_id scope;
    char code[BIZCODE_LEN + 1];
    char after[BIZCODE_LEN + 1];
    int limit;
    unsigned seen;
} loss_args;

static const char *const params[] = {"substation", "line", "transformer", "day",
                                     "from",       "to",   "limit",       "after"};

static int loss_arg(void *ctx, const char *key, const char *value)
{
    loss_args *a = ctx;
    int i = report_param(a->req, params, ARRAY_LEN(params),
                         "day or from and to, substation, line or transformer, limit, after", key,
                         &a->seen);
    if (i < 0) return ERR;
    if (i < 3) {
        if (a->scope != SCOPE_CITY) {
            http_problem(a->req, 400, "give one scope at most: substation, line or transformer");
            return ERR;
        }
        a->scope = (scope_id)(SCOPE_SUBSTATION + i);
        return report_code_arg(a->req, a->scope, value, a->code);
    }
    if (i < 6) return report_period_arg(a->req, &a->period, key, value);
    if (strcmp(key, "limit") == 0) return http_limit(a->req, value, LIMIT_MAX, &a->limit);
    if (bizcode_parse(value, a->after, NULL) != BIZ_OK || strncmp(a->after, "TR", 2) != 0) {
        http_problem(a->req, 400, "after must be a TR code: the \"next\" of an earlier page");
        return ERR;
    }
    return OK;
}

/* ---- the answer -------------------------------------------------------------- */

/* loss and rate from input and billed: JSON null where there is no input. */
static void add_loss(json_t *o)
{
    json_t *in = json_object_get(o, "input_kwh");
    double billed = json_number_value(json_object_get(o, "billed_kwh"));
    if (!json_is_number(in)) {
        json_object_set_new(o, "input_kwh", json_null());
        json_object_set_new(o, "loss_kwh", json_null());
        json_object_set_new(o, "loss_rate", json_null());
        return;
    }
    double input = json_number_value(in);
    /* To the watt-hour, as the readings are kept: no float dust. */
    double loss = report_kwh(input - billed);
    json_object_set_new(o, "loss_kwh", json_real(loss));
    json_object_set_new(o, "loss_rate", input > 0 ? json_real(report_rate(loss / input))
                                                  : json_null());
}

/* An item in the order people read it, from the statement's object. */
static json_t *item(const json_t *row)
{
    json_t *o = json_pack("{s:O, s:I, s:I, s:O, s:O}", "transformer",
                          json_object_get(row, "transformer"), "meters",
                          (json_int_t)json_number_value(json_object_get(row, "meters")), "days",
                          (json_int_t)json_number_value(json_object_get(row, "days")),
                          "input_kwh", json_object_get(row, "input_kwh"), "billed_kwh",
                          json_object_get(row, "billed_kwh"));
    add_loss(o);
    json_object_set(o, "status", json_object_get(row, "status"));
    json_object_set_new(o, "missing_readings",
                        json_integer((json_int_t)json_number_value(
                            json_object_get(row, "missing_readings"))));
    return o;
}

static json_t *page_items(const char *page_json, int limit, json_t **next)
{
    json_t *rows = json_loads(page_json, JSON_DECODE_INT_AS_REAL, NULL), *items = json_array();
    size_t n = json_array_size(rows), shown = n > (size_t)limit ? (size_t)limit : n;
    for (size_t i = 0; i < shown; i++) json_array_append_new(items, item(json_array_get(rows, i)));
    *next = n > shown ? json_incref(json_object_get(json_array_get(items, shown - 1),
                                                    "transformer"))
                      : json_null();
    json_decref(rows);
    return items;
}

static json_t *totals(const char *totals_json)
{
    json_t *t = json_loads(totals_json, JSON_DECODE_INT_AS_REAL, NULL), *counts = json_object();
    json_t *given = json_object_get(t, "by_status");
    for (int i = 0; line_loss_statuses[i]; i++)
        json_object_set_new(counts, line_loss_statuses[i],
                            json_integer((json_int_t)json_number_value(
                                json_object_get(given, line_loss_statuses[i]))));
    json_t *out = json_pack("{s:I, s:I, s:f, s:f}", "areas",
                            (json_int_t)json_number_value(json_object_get(t, "areas")), "counted",
                            (json_int_t)json_number_value(json_object_get(t, "counted")),
                            "input_kwh", json_number_value(json_object_get(t, "input_kwh")),
                            "billed_kwh", json_number_value(json_object_get(t, "billed_kwh")));
    add_loss(out);
    json_object_set_new(out, "by_status", counts);
    json_decref(t);
    return out;
}

static json_t *answer(const loss_args *a, const PGresult *r, db_conn *c)
{
    json_t *next, *items = page_items(PQgetvalue(r, 0, 2), a->limit, &next);
    json_t *scope = a->scope == SCOPE_CITY
                        ? json_object()
                        : json_pack("{s:s}", report_scopes[a->scope].param, a->code);
    json_t *fresh = datahub_freshness(c);
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "period", report_period_json(&a->period),
                     "scope", scope, "totals", totals(PQgetvalue(r, 0, 1)), "items", items,
                     "next", next, "freshness", fresh ? fresh : json_null());
}

static void line_loss(request *req, void *ctx)
{
    report_state *st = ctx;
    loss_args a = {.req = req, .limit = LIMIT_DEFAULT};
    if (http_query_foreach(req, loss_arg, &a) != OK || report_period_check(req, &a.period) != OK)
        return;
    db_conn *c = datahub_conn(req, st);
    if (!c) return;
    char limit[16], high[32];
    snprintf(limit, sizeof limit, "%d", a.limit + 1);
    snprintf(high, sizeof high, "%.6f", st->svc->cfg.line_loss_high);
    const char *p[] = {a.period.first, a.period.last, a.after, limit, high, a.code};
    PGresult *r =
        datahub_report_rows(req, c, st->lineloss[a.scope], a.scope, a.code, 6, p, NULL);
    if (r) {
        http_json(req, 200, answer(&a, r, c));
        PQclear(r);
    }
    db_rollback(c);
    db_release(st->pool, c);
}

void lineloss_route(router *r, report_state *st)
{
    router_add(r, "GET", "/v1/reports/line-loss", line_loss, st, ROUTE_SLOW,
               "Line loss 线损 per transformer area 台区 from the data middle platform "
               "(datahub): ?day= or ?from=&to=, each area's check-meter input, billed energy, "
               "loss, loss rate and status, in code order, with the totals of the areas whose "
               "readings are whole; within ?substation=, ?line= or ?transformer=; ?limit=&after=")
        ->query = catalogue_read_query(cust_reads, cust_nreads, "/v1/reports/line-loss");
}
