/* suspects.c -- customers probably recorded under the wrong transformer area
 * (户变关系异常), found from the readings alone: GET /v1/reports/suspect-links.
 *
 * The method (README, "Suspect customer–transformer links"). An area's
 * daily loss y(d) = input − billed is, when its customers are recorded
 * right, its technical loss: near a straight line in its input x(d)
 * (y ≈ α + r·x), with small scatter. A customer c whose meter is recorded
 * in area A but who is fed from area B is billed in A and not measured
 * there: A's loss is short of c's energy every day (y_A = α + r·x_A − c)
 * and B's is over by it (y_B = α + r·x_B + c). Each customer has a series
 * of its own, which nothing else in the area follows, so the test is:
 * how much of the scatter of A's loss about its line does adding c back
 * take away? score_A(c) = (RSS(y_A) − RSS(y_A + c)) / RSS(y_A), with
 * RSS the residual sum of squares of a least-squares line in x. A
 * customer who belongs in A scores below zero (adding it back adds its
 * own ups and downs); one who does not scores near one.
 *
 * In two passes:
 *   1. datahub (one statement, one snapshot): each area's x and y on the
 *      days every one of its meters read; each customer's score_A from
 *      sums over those days (one pass over the readings); the daily
 *      series of the customers scoring above a loose bar, and of every
 *      area, for the second pass;
 *   2. here: per area, the customers above the bar are taken greedily,
 *      best first, each scored again on A's loss with those before it
 *      added back (two customers misplaced in one area each explain half
 *      of it until the other is removed); each one kept is tried against
 *      every other area of its substation, y_B − c, and the area it fits
 *      best is named, when it fits at all.
 * A customer is listed when it explains enough of A's loss and fits an
 * area as well; the score given is the lesser of the two. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonutil.h"
#include "base/log.h"
#include "engine/paging.h"
#include "cust.h"
#include "report.h"
#include "service.h"

#define LIMIT_DEFAULT PAGE_LIMIT_DEFAULT_FEED
#define LIMIT_MAX PAGE_LIMIT_MAX
#define MIN_DAYS 7        /* an area's whole days below this say nothing */
#define CANDIDATE 1.0 /* pass 1's loose bar on the evidence in A: kept for pass 2 */
#define LISTED 12.0   /* pass 2: A's and B's together, e^12: about 160,000 to 1 */
#define MAX_CANDIDATES 200000
/* kWh², the least daily scatter a loss is taken to have: readings are
 * kept to the watt-hour, and a loss that fits its line closer than this
 * is not evidence of anything finer. */
#define NOISE_FLOOR 1e-4
/* The readings are joined to meters, then to their area's days, in that
 * order (the OFFSET 0 keeps it): joined on the day first, they multiply.
 * Hash joins and aggregates throughout, with the memory a city's million
 * customers' sums take. */
static const char *const tune[] = {"SET LOCAL enable_mergejoin = off",
                                   "SET LOCAL work_mem = '256MB'", NULL};

/* ---- statements -------------------------------------------------------------- */

/* $1, $2 the first and last day; scoped statements take the scope's code
 * as $3. a: the areas, each under one substation: the neighbours a
 * customer may belong to are that substation's, so a scope is a
 * substation, and the city is all of them; m, k: their billing and check
 * meters. */
static const char SQL_CITY[] =
    "WITH a AS MATERIALIZED (SELECT transformer, min(substation) AS substation"
    "   FROM report.transformer_up WHERE kind = 'public' GROUP BY transformer),"
    " m AS MATERIALIZED (SELECT transformer, customer, meter FROM report.area_meters),"
    " k AS MATERIALIZED (SELECT transformer, meter FROM report.area_check_meters),";
static const char SQL_SCOPED[] =
    "WITH a AS MATERIALIZED (SELECT transformer, min(substation) AS substation"
    "   FROM report.transformer_up WHERE kind = 'public' AND " SCOPE_COL " = $3"
    "   GROUP BY transformer),"
    " m AS MATERIALIZED (SELECT transformer, customer, meter FROM report.area_meters"
    "   WHERE transformer = ANY (ARRAY(SELECT transformer FROM a))),"
    " k AS MATERIALIZED (SELECT transformer, meter FROM report.area_check_meters"
    "   WHERE transformer = ANY (ARRAY(SELECT transformer FROM a))),";

/* bd, id: each area's billed and input by day, with the readings counted;
 * ad: the days on which every meter of the area read, x input and y loss;
 * ast: an area's sums over them; cs: each customer's sums against its
 * area's days; sc: its evidence (evidence() below says what it is; the
 * sums here are about the mean). */
static const char SQL_TAIL[] =
    " nm AS (SELECT transformer, count(*) AS meters FROM m GROUP BY transformer),"
    " nk AS (SELECT transformer, count(*) AS checks FROM k GROUP BY transformer),"
    " bd AS (SELECT m.transformer, r.day, sum(r.kwh) AS billed, count(*) AS n"
    "   FROM report.readings r JOIN m USING (meter) WHERE r.day BETWEEN $1 AND $2"
    "   GROUP BY m.transformer, r.day),"
    " id AS (SELECT k.transformer, r.day, sum(r.kwh) AS input, count(*) AS n"
    "   FROM report.readings r JOIN k USING (meter) WHERE r.day BETWEEN $1 AND $2"
    "   GROUP BY k.transformer, r.day),"
    " ad AS MATERIALIZED (SELECT id.transformer, id.day, id.input::float8 AS x,"
    "   (id.input - coalesce(bd.billed, 0))::float8 AS y"
    "   FROM id JOIN nk USING (transformer) LEFT JOIN bd USING (transformer, day)"
    "   LEFT JOIN nm USING (transformer)"
    "   WHERE id.n = nk.checks AND coalesce(bd.n, 0) = coalesce(nm.meters, 0)),"
    " ast AS MATERIALIZED (SELECT transformer, count(*)::float8 AS n, sum(x) AS sx, sum(y) AS sy,"
    "   sum(x * x) - sum(x) ^ 2 / count(*) AS xx, sum(x * y) - sum(x) * sum(y) / count(*) AS xy,"
    "   sum(y * y) - sum(y) ^ 2 / count(*) AS yy FROM ad GROUP BY transformer"
    "   HAVING count(*) >= <min days>),"
    " cs AS (SELECT r.customer, r.meter, r.transformer, sum(r.kwh) AS sc,"
    "   sum(r.kwh ^ 2) AS scc, sum(ad.x * r.kwh) AS sxc, sum(ad.y * r.kwh) AS syc"
    "   FROM (SELECT m.customer, m.meter, m.transformer, r.day, r.kwh::float8 AS kwh"
    "     FROM report.readings r JOIN m USING (meter) WHERE r.day BETWEEN $1 AND $2"
    "     OFFSET 0) r"
    "   JOIN ad ON ad.transformer = r.transformer AND ad.day = r.day"
    "   GROUP BY r.customer, r.meter, r.transformer),"
    " sc AS (SELECT cs.customer, cs.meter, cs.transformer, t.n, t.yy - t.xy ^ 2 / t.xx AS rss0,"
    "   t.yy + 2 * (cs.syc - t.sy * cs.sc / t.n) + (cs.scc - cs.sc ^ 2 / t.n)"
    "   - (t.xy + cs.sxc - t.sx * cs.sc / t.n) ^ 2 / t.xx AS rss1"
    "   FROM cs JOIN ast t USING (transformer) WHERE t.xx > 0),"
    " cand AS MATERIALIZED (SELECT customer, meter, transformer FROM sc"
    "   WHERE (rss0 - rss1) / (2 * greatest(least(rss0, rss1) / (n - 2), <noise floor>))"
    "     >= <candidate> LIMIT <max candidates>)"
    " SELECT " SCOPE_EXISTS ", 'e', NULL, NULL, NULL"
    " UNION ALL"
    " SELECT true, 'a', a.transformer, a.substation,"
    "   json_agg(json_build_array(ad.day - $1::date, ad.x, ad.y))::text"
    "   FROM a JOIN ad USING (transformer) WHERE a.transformer IN (SELECT transformer FROM ast)"
    "   GROUP BY a.transformer, a.substation"
    " UNION ALL"
    " SELECT true, 'c', cand.customer, cand.transformer,"
    "   json_agg(json_build_array(r.day - $1::date, r.kwh::float8))::text"
    "   FROM cand JOIN report.readings r ON r.meter = cand.meter AND r.day BETWEEN $1 AND $2"
    "   GROUP BY cand.customer, cand.transformer";

/* text with mark replaced by the number n (%g), owned; text is freed. */
static char *with_number(char *text, const char *mark, double n)
{
    char num[32];
    snprintf(num, sizeof num, "%g", n);
    char *out = report_replaced(text, mark, num);
    free(text);
    return out;
}

static char *statement(scope_id scope)
{
    char *sql = report_statement(SQL_CITY, SQL_SCOPED, SQL_TAIL, scope, 3);
    sql = with_number(sql, "<min days>", MIN_DAYS);
    sql = with_number(sql, "<candidate>", CANDIDATE);
    sql = with_number(sql, "<noise floor>", NOISE_FLOOR);
    return with_number(sql, "<max candidates>", MAX_CANDIDATES);
}

void suspects_build(report_state *st)
{
    st->suspects[SCOPE_CITY] = statement(SCOPE_CITY);
    st->suspects[SCOPE_SUBSTATION] = statement(SCOPE_SUBSTATION);
}

void suspects_free(report_state *st)
{
    for (int s = 0; s < N_SCOPES; s++) free(st->suspects[s]);
}

/* ---- pass 2 ------------------------------------------------------------------- */

typedef struct {
    const char *code, *substation; /* in the statement's result */
    unsigned char *ok;             /* days: every meter read (x, y are known) */
    double *x, *y;                 /* y: loss, with the customers kept added back */
} area;

typedef struct {
    const char *customer; /* in the statement's result */
    int area;             /* recorded */
    unsigned char *has;
    double *c;
    double explains, fits; /* evidence in the recorded area, and in the one it fits */
    int fit;               /* that area, or -1 */
    int kept;              /* listed: its books moved */
} candidate;

typedef struct {
    int ndays;
    area *areas;
    int nareas;
    candidate *cands;
    int ncands;
} pass;

static int by_code(const void *a, const void *b)
{
    return strcmp(((const area *)a)->code, ((const area *)b)->code);
}

static int find_area(const pass *ps, const char *code)
{
    int lo = 0, hi = ps->nareas - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(ps->areas[mid].code, code);
        if (c == 0) return mid;
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

/* A series [[day, v, w], ...] (w when want_w) into the arrays; ERR when it
 * is not one. */
static int read_series(const char *text, int ndays, unsigned char *seen, double *v, double *w)
{
    json_t *rows = json_loads(text, 0, NULL), *row;
    size_t i;
    int rc = json_is_array(rows) ? OK : ERR;
    json_array_foreach(rows, i, row) {
        json_int_t d = json_integer_value(json_array_get(row, 0));
        if (d < 0 || d >= ndays) {
            rc = ERR;
            break;
        }
        seen[d] = 1;
        v[d] = json_number_value(json_array_get(row, 1));
        if (w) w[d] = json_number_value(json_array_get(row, 2));
    }
    json_decref(rows);
    return rc;
}

static void pass_free(pass *ps)
{
    for (int i = 0; i < ps->nareas; i++) {
        free(ps->areas[i].ok);
        free(ps->areas[i].x);
        free(ps->areas[i].y);
    }
    for (int i = 0; i < ps->ncands; i++) {
        free(ps->cands[i].has);
        free(ps->cands[i].c);
    }
    free(ps->areas);
    free(ps->cands);
}

/* The statement's rows into ps: areas first (sorted by code), then the
 * candidates, each placed in its recorded area. */
static int pass_load(pass *ps, const PGresult *r, int ndays)
{
    int n = PQntuples(r);
    ps->ndays = ndays;
    ps->areas = xcalloc((size_t)n + 1, sizeof *ps->areas);
    ps->cands = xcalloc((size_t)n + 1, sizeof *ps->cands);
    for (int i = 0; i < n; i++) {
        if (strcmp(PQgetvalue(r, i, 1), "a") != 0) continue;
        area *a = &ps->areas[ps->nareas++];
        a->code = PQgetvalue(r, i, 2);
        a->substation = PQgetisnull(r, i, 3) ? NULL : PQgetvalue(r, i, 3);
        a->ok = xcalloc((size_t)ndays, 1);
        a->x = xcalloc((size_t)ndays, sizeof *a->x);
        a->y = xcalloc((size_t)ndays, sizeof *a->y);
        if (read_series(PQgetvalue(r, i, 4), ndays, a->ok, a->x, a->y) != OK) return ERR;
    }
    qsort(ps->areas, (size_t)ps->nareas, sizeof *ps->areas, by_code);
    for (int i = 0; i < n; i++) {
        if (strcmp(PQgetvalue(r, i, 1), "c") != 0) continue;
        int at = find_area(ps, PQgetvalue(r, i, 3));
        if (at < 0) continue; /* scored on an area with too few whole days: none */
        candidate *c = &ps->cands[ps->ncands++];
        c->customer = PQgetvalue(r, i, 2);
        c->area = at;
        c->fit = -1;
        c->has = xcalloc((size_t)ndays, 1);
        c->c = xcalloc((size_t)ndays, sizeof *c->c);
        if (read_series(PQgetvalue(r, i, 4), ndays, c->has, c->c, NULL) != OK) return ERR;
    }
    return OK;
}

/* The evidence that c's energy belongs on the other side of area a's
 * books: sign +1, c is billed in a but not fed from it (a's loss is short
 * of c); -1, c is fed from a but billed elsewhere (a's loss is over by
 * c). Over the days both are known, a's loss is fitted to a line in its
 * input, with and without c put right; the evidence is the natural log of
 * the likelihood ratio of the two, taking the scatter as normal:
 * (RSS without − RSS with) / 2σ², σ² the better fit's residual variance.
 * About +|c|²/2σ² for a customer in the wrong books, −|c|²/2σ² for one in
 * the right ones (|c| its series' own variation, about the line).
 * -INFINITY when too few days say anything. */
static double evidence(const pass *ps, const area *a, const candidate *c, double sign)
{
    double n = 0, sx = 0, sy = 0, sz = 0, sxx = 0, sxy = 0, syy = 0, sxz = 0, szz = 0;
    for (int d = 0; d < ps->ndays; d++) {
        if (!a->ok[d] || !c->has[d]) continue;
        double x = a->x[d], y = a->y[d], z = y + sign * c->c[d];
        n++;
        sx += x, sy += y, sz += z;
        sxx += x * x, sxy += x * y, syy += y * y, sxz += x * z, szz += z * z;
    }
    if (n < MIN_DAYS) return -INFINITY;
    double xx = sxx - sx * sx / n, xy = sxy - sx * sy / n, yy = syy - sy * sy / n;
    double xz = sxz - sx * sz / n, zz = szz - sz * sz / n;
    if (xx <= 0) return -INFINITY;
    double before = yy - xy * xy / xx, after = zz - xz * xz / xx;
    double var = fmax(fmin(before, after) / (n - 2), NOISE_FLOOR);
    return (before - after) / (2 * var);
}

static int same_substation(const area *a, const area *b)
{
    return a->substation && b->substation && strcmp(a->substation, b->substation) == 0;
}

/* The area of c's substation whose books c's energy fits best, with the
 * evidence of both: c->explains (its recorded area), c->fits (that one). */
static void weigh(pass *ps, candidate *c)
{
    const area *mine = &ps->areas[c->area];
    c->explains = evidence(ps, mine, c, 1.0);
    c->fits = -INFINITY;
    c->fit = -1;
    if (c->explains <= 0) return;
    for (int b = 0; b < ps->nareas; b++) {
        if (b == c->area || !same_substation(mine, &ps->areas[b])) continue;
        double s = evidence(ps, &ps->areas[b], c, -1.0);
        if (s > 0 && s > c->fits) c->fits = s, c->fit = b;
    }
}

static double total(const candidate *c)
{
    return c->fit >= 0 ? c->explains + c->fits : -INFINITY;
}

static void move_books(pass *ps, const candidate *c)
{
    area *from = &ps->areas[c->area], *to = &ps->areas[c->fit];
    for (int d = 0; d < ps->ndays; d++) {
        if (!c->has[d]) continue;
        from->y[d] += c->c[d];
        to->y[d] -= c->c[d];
    }
}

/* Area a's candidates, strongest first, each weighed again on the books
 * those before it have put right (two customers misplaced in one area each
 * explain half of its loss until the other is moved); kept while the
 * evidence is enough. Each one kept is moved, in both areas' books. */
static void take_greedily(pass *ps, candidate **mine, int n)
{
    for (;;) {
        candidate *best = NULL;
        for (int i = 0; i < n; i++) {
            if (mine[i]->kept) continue;
            weigh(ps, mine[i]);
            if (total(mine[i]) >= LISTED && (!best || total(mine[i]) > total(best)))
                best = mine[i];
        }
        if (!best) return;
        best->kept = 1;
        move_books(ps, best);
    }
}

static int by_area(const void *a, const void *b)
{
    const candidate *x = *(candidate *const *)a, *y = *(candidate *const *)b;
    return x->area - y->area;
}

static void pass_run(pass *ps)
{
    candidate **order = xmalloc(((size_t)ps->ncands + 1) * sizeof *order);
    for (int i = 0; i < ps->ncands; i++) order[i] = &ps->cands[i];
    qsort(order, (size_t)ps->ncands, sizeof *order, by_area);
    for (int i = 0, j; i < ps->ncands; i = j) {
        for (j = i; j < ps->ncands && order[j]->area == order[i]->area; j++) {}
        take_greedily(ps, order + i, j - i);
    }
    free(order);
}

/* ---- the request and the answer ---------------------------------------------- */

typedef struct {
    request *req;
    report_period period;
    scope_id scope;
    char code[BIZCODE_LEN + 1];
    char after[BIZCODE_LEN + 1]; /* "" from the start */
    int limit;
    unsigned seen;
} suspect_args;

static const char *const params[] = {"substation", "from", "to", "limit", "after"};

static int suspect_arg(void *ctx, const char *key, const char *value)
{
    suspect_args *a = ctx;
    int i = report_param(a->req, params, ARRAY_LEN(params), "from and to, substation, limit, after",
                         key, &a->seen);
    if (i < 0) return ERR;
    if (i == 0) {
        a->scope = SCOPE_SUBSTATION;
        return report_code_arg(a->req, a->scope, value, a->code);
    }
    if (i < 3) return report_period_arg(a->req, &a->period, key, value);
    if (strcmp(key, "limit") == 0) return http_limit(a->req, value, LIMIT_MAX, &a->limit);
    if (bizcode_parse(value, a->after, NULL) != BIZ_OK || strncmp(a->after, "CU", 2) != 0) {
        http_problem(a->req, 400, "after must be a CU code: the \"next\" of an earlier page");
        return ERR;
    }
    return OK;
}

static int suspect_check(suspect_args *a)
{
    if (report_period_check(a->req, &a->period) != OK) return ERR;
    if (a->period.given != 6u) {
        http_problem(a->req, 400, "give from= and to=: suspects are found from a span of days");
        return ERR;
    }
    if (a->period.last_day - a->period.first_day + 1 < MIN_DAYS) {
        http_problem(a->req, 400, "a span of %ld days says too little: give %d days at least",
                     a->period.last_day - a->period.first_day + 1, MIN_DAYS);
        return ERR;
    }
    return OK;
}

/* The evidence of both areas, to a hundredth. */
static double score_of(const candidate *c)
{
    return round((c->explains + c->fits) * 100) / 100;
}

/* Highest score first, then by customer: the order pages follow. */
static int by_score(const void *a, const void *b)
{
    const candidate *x = *(candidate *const *)a, *y = *(candidate *const *)b;
    double sx = score_of(x), sy = score_of(y);
    if (sx != sy) return sx > sy ? -1 : 1;
    return strcmp(x->customer, y->customer);
}

/* The listed customers in order, into *out (owned); their count. */
static int listed(const pass *ps, candidate ***out)
{
    candidate **l = xmalloc(((size_t)ps->ncands + 1) * sizeof *l);
    int n = 0;
    for (int i = 0; i < ps->ncands; i++)
        if (ps->cands[i].kept) l[n++] = &ps->cands[i];
    qsort(l, (size_t)n, sizeof *l, by_score);
    *out = l;
    return n;
}

static json_t *items_json(const suspect_args *a, const pass *ps, json_t **next)
{
    candidate **l;
    int n = listed(ps, &l), from = 0;
    if (a->after[0]) {
        while (from < n && strcmp(l[from]->customer, a->after) != 0) from++;
        from = from < n ? from + 1 : -1;
    }
    json_t *items = NULL;
    *next = json_null();
    if (from >= 0) {
        items = json_array();
        int to = from + a->limit < n ? from + a->limit : n;
        for (int i = from; i < to; i++)
            json_array_append_new(
                items, json_pack("{s:s, s:s, s:s, s:f}", "customer", l[i]->customer,
                                 "linked_transformer", ps->areas[l[i]->area].code,
                                 "fits_transformer", ps->areas[l[i]->fit].code, "score",
                                 score_of(l[i])));
        if (to < n) *next = json_string(l[to - 1]->customer);
    }
    free(l);
    return items;
}

static void answer(request *req, const suspect_args *a, const PGresult *r, db_conn *c)
{
    pass ps = {0};
    int ndays = (int)(a->period.last_day - a->period.first_day + 1);
    if (pass_load(&ps, r, ndays) != OK) {
        pass_free(&ps);
        http_problem(req, 500, "the data middle platform (datahub) answered series this "
                               "cust-svc cannot read");
        return;
    }
    pass_run(&ps);
    json_t *next, *items = items_json(a, &ps, &next);
    if (!items) {
        http_problem(req, 400, "after names %s, which is not on this list (the readings or the "
                               "links may have changed since): start again without after",
                     a->after);
    } else {
        json_t *scope = a->scope == SCOPE_CITY ? json_object()
                                               : json_pack("{s:s}", "substation", a->code);
        json_t *fresh = datahub_freshness(c);
        http_json(req, 200,
                  json_pack("{s:o, s:o, s:o, s:o, s:o}", "period", report_period_json(&a->period),
                            "scope", scope, "items", items, "next", next, "freshness",
                            fresh ? fresh : json_null()));
    }
    pass_free(&ps);
}

static void suspect_links(request *req, void *ctx)
{
    report_state *st = ctx;
    suspect_args a = {.req = req, .limit = LIMIT_DEFAULT};
    if (http_query_foreach(req, suspect_arg, &a) != OK || suspect_check(&a) != OK) return;
    db_conn *c = datahub_conn(req, st);
    if (!c) return;
    const char *p[] = {a.period.first, a.period.last, a.code};
    PGresult *r = datahub_report_rows(req, c, st->suspects[a.scope], a.scope, a.code, 3, p,
                                      tune);
    if (r) {
        answer(req, &a, r, c);
        PQclear(r);
    }
    db_rollback(c);
    db_release(st->pool, c);
}

void suspects_route(router *r, report_state *st)
{
    router_add(r, "GET", "/v1/reports/suspect-links", suspect_links, st, ROUTE_SLOW,
               "Customers probably recorded under the wrong transformer area (户变关系异常), "
               "found from the readings of ?from=&to= alone: each with its recorded transformer, "
               "the one its consumption fits and a score, highest first; within ?substation=; "
               "?limit=&after=")
        ->query = catalogue_read_query(cust_reads, cust_nreads, "/v1/reports/suspect-links");
}
