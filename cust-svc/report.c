/* report.c -- the integration report 营配贯通率, GET /v1/reports/integration.
 *
 * Answered from the data middle platform (数据中台): the datahub database,
 * which follows both platforms by logical replication (scripts/datahub.sh)
 * and holds the chain and broken-link views (schema/datahub). The question
 * needs every customer's whole chain, across both platforms at once; asked
 * of the platforms themselves it would walk the peer for every customer.
 * Here it is a few joins in one database, which is why the report lives
 * there and not in trace.c.
 *
 * The connection is DATAHUB_URL's own small pool, read-only, apart from the
 * service's pool: the report takes seconds on a big city and must not hold
 * connections the platform's own requests need. For the same reason the
 * route runs on the peer workers, not on an I/O thread. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cust.h"
#include "model/breaks.h"
#include "model/fields.h"
#include "base/day.h"
#include "base/jsonutil.h"
#include "base/log.h"
#include "engine/paging.h"
#include "report.h"
#include "service.h"

#define LIMIT_DEFAULT PAGE_LIMIT_DEFAULT_FEED
#define LIMIT_MAX PAGE_LIMIT_MAX
#define CURSOR_MAX 400 /* characters of ?after= */

const report_scope report_scopes[N_SCOPES] = {
    [SCOPE_CITY] = {NULL, NULL},
    [SCOPE_SUBSTATION] = {"substation", "SS"},
    [SCOPE_LINE] = {"line", "LN"},
    [SCOPE_TRANSFORMER] = {"transformer", "TR"},
};

/* ---- statements -------------------------------------------------------------- */

/* Marks in the statements below, replaced per scope (build_statements). */

/* $1 kind (NULL: all), $2-$4 the cursor (kind, code, other; "" from the
 * start), $5 the page size + 1; scoped statements take the code as $6.
 * One statement: one snapshot, while replication keeps applying. The
 * broken links are computed once (MATERIALIZED) for both the counts and
 * the page. Columns: scope exists, active, complete, counts by kind (JSON),
 * the page (JSON array of [kind, code, other]). */
static const char SQL_TAIL[] =
    " SELECT " SCOPE_EXISTS ", c.active, c.complete,"
    " (SELECT coalesce(json_object_agg(kind, n), '{}') FROM"
    "   (SELECT kind, count(*) AS n FROM b GROUP BY kind) k)::text,"
    " (SELECT coalesce(json_agg(json_build_array(kind, code, other)"
    "                           ORDER BY kind, code, coalesce(other, '')), '[]') FROM"
    "   (SELECT kind, code, other FROM b"
    "     WHERE ($1::text IS NULL OR kind = $1) AND (kind, code, coalesce(other, '')) > ($2, $3, $4)"
    "     ORDER BY kind, code, coalesce(other, '') LIMIT $5) p)::text"
    " FROM c";

/* Only the chains that are not complete are kept: every active customer has
 * one at least, so the complete ones are the rest, and the broken links of
 * the chains (report.broken_links's first half) are among them. */
static const char SQL_CITY[] =
    "WITH ch AS MATERIALIZED (SELECT customer, break_kind, break_code, break_other"
    "   FROM report.chains WHERE NOT complete),"
    " b AS MATERIALIZED (SELECT DISTINCT break_kind AS kind, break_code AS code,"
    "   break_other AS other FROM ch WHERE break_kind IS NOT NULL"
    "   UNION ALL SELECT kind, code, other FROM report.grid_breaks),"
    " c AS (SELECT a.n AS active, a.n - (SELECT count(DISTINCT customer) FROM ch) AS complete"
    "   FROM (SELECT count(*) AS n FROM report.active_customers) a)";

/* The scope's column, named twice (a constant of ours), replaces SCOPE_COL. A link is placed
 * by its anchor; the chains' own breaks have none. A customer is placed by
 * any chain through the scope, and is complete when none of its chains, in
 * or out of the scope, is broken: the chains in the scope say so for a
 * customer with one start (report.chain_starts), the others (m, few) are
 * looked up one by one. = ANY (ARRAY(...)) rather than IN: a plain condition
 * is pushed into each branch of the views' UNION ALL, so the scope's rows
 * are read by index instead of the whole city's. */
static const char SQL_SCOPED[] =
    "WITH b AS MATERIALIZED (SELECT kind, code, other FROM report.grid_breaks"
    "   WHERE anchor = ANY (ARRAY(SELECT code FROM report.grid_place WHERE " SCOPE_COL " = $6))),"
    " s AS MATERIALIZED (SELECT customer, bool_and(complete) AS complete FROM report.chains"
    "   WHERE " SCOPE_COL " = $6 GROUP BY customer),"
    " m AS (SELECT customer FROM s WHERE complete AND"
    "   (SELECT count(*) FROM report.chain_starts cs WHERE cs.customer = s.customer) > 1),"
    " c AS (SELECT (SELECT count(*) FROM s) AS active,"
    "   (SELECT count(*) FROM s WHERE complete) - (SELECT count(*) FROM m CROSS JOIN LATERAL"
    "     (SELECT 1 FROM report.chains x WHERE x.customer = m.customer AND NOT x.complete"
    "       LIMIT 1) broken) AS complete)";

/* Subscriptions and the oldest "sent at" of them all, when every one is
 * streaming with its first copy done (else NULL: the data is not whole). */
static const char SQL_FRESHNESS[] =
    "SELECT subscription, streaming, last_message_sent_at, last_message_received_at,"
    " latest_end_at, tables_copying, CASE WHEN bool_and(streaming AND tables_copying = 0) OVER ()"
    " THEN min(last_message_sent_at) OVER () END FROM report.freshness ORDER BY subscription";

static report_state *the_report; /* one cust-svc per process */

/* The statements are SQL, which may hold a %: they are not printf formats. */
char *report_replaced(const char *text, const char *mark, const char *with)
{
    sbuf b = {0};
    size_t n = strlen(mark);
    for (const char *at; (at = strstr(text, mark)); text = at + n) {
        sb_appendn(&b, text, (size_t)(at - text));
        sb_append(&b, with);
    }
    sb_append(&b, text);
    return sb_steal(&b);
}

char *report_statement(const char *city_head, const char *scoped_head, const char *tail,
                       scope_id s, int code_param)
{
    char *head, *exists;
    if (s == SCOPE_CITY) {
        head = xstrdup(city_head);
        exists = xstrdup("true");
    } else {
        head = report_replaced(scoped_head, SCOPE_COL, report_scopes[s].param);
        exists = xasprintf("EXISTS (SELECT 1 FROM report.scopes WHERE code = $%d AND level = '%s')",
                           code_param, report_scopes[s].param);
    }
    char *with = report_replaced(tail, SCOPE_EXISTS, exists);
    char *sql = xasprintf("%s%s", head, with);
    free(head);
    free(exists);
    free(with);
    return sql;
}

static void build_statements(report_state *st)
{
    for (int s = 0; s < N_SCOPES; s++)
        st->sql[s] = report_statement(SQL_CITY, SQL_SCOPED, SQL_TAIL, (scope_id)s, 6);
}

/* ---- the cursor -------------------------------------------------------------- */

/* "next" is base64url of "kind\x1fcode\x1fother": opaque, safe in a URL,
 * whatever a code that names nothing may hold. */
static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *cursor_encode(const char *kind, const char *code, const char *other)
{
    char *raw = xasprintf("%s\x1f%s\x1f%s", kind, code, other);
    size_t n = strlen(raw);
    char *out = xmalloc(n / 3 * 4 + 5), *o = out;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)raw[i] << 16;
        if (i + 1 < n) v |= (unsigned char)raw[i + 1] << 8;
        if (i + 2 < n) v |= (unsigned char)raw[i + 2];
        *o++ = b64[v >> 18 & 63];
        *o++ = b64[v >> 12 & 63];
        if (i + 1 < n) *o++ = b64[v >> 6 & 63];
        if (i + 2 < n) *o++ = b64[v & 63];
    }
    *o = '\0';
    free(raw);
    return out;
}

/* The text a cursor holds, or NULL when it is not base64url. */
static char *cursor_text(const char *s)
{
    size_t n = strlen(s);
    if (n % 4 == 1) return NULL;
    char *out = xmalloc(n / 4 * 3 + 3), *o = out;
    unsigned v = 0;
    int bits = 0;
    for (const char *p = s; *p; p++) {
        const char *at = strchr(b64, *p);
        if (!at) {
            free(out);
            return NULL;
        }
        v = (v << 6 | (unsigned)(at - b64)) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            *o++ = (char)(v >> bits & 0xff);
        }
    }
    *o = '\0';
    return out;
}


/* Splits a decoded cursor into its three parts (pointers into text). A
 * cursor we did not make may hold anything: the database would refuse
 * bytes that are not UTF-8, so they are refused here, as a bad cursor. */
static int cursor_parts(char *text, char *parts[3])
{
    char *clean = xstrdup(text);
    utf8_clean(clean);
    int utf8 = strcmp(clean, text) == 0;
    free(clean);
    if (!utf8) return ERR;
    parts[0] = text;
    for (int i = 1; i < 3; i++) {
        char *sep = strchr(parts[i - 1], '\x1f');
        if (!sep) return ERR;
        *sep = '\0';
        parts[i] = sep + 1;
    }
    if (strchr(parts[2], '\x1f') || !break_kind_known(parts[0]) || !parts[1][0]) return ERR;
    return OK;
}

/* ---- the request --------------------------------------------------------------- */

typedef struct {
    request *req;
    scope_id scope;
    char code[BIZCODE_LEN + 1];
    const char *kind;     /* NULL: every kind */
    int limit;
    char *after;          /* decoded cursor; parts point into it */
    const char *parts[3]; /* kind, code, other: "" from the start */
    unsigned seen;        /* parameters given, a bit each: each at most once */
} report_args;

static const char *const params[] = {"substation", "line", "transformer", "kind", "limit", "after"};

int report_code_arg(request *req, scope_id s, const char *value, char code[BIZCODE_LEN + 1])
{
    const report_scope *sc = &report_scopes[s];
    biz_status st = bizcode_parse(value, code, NULL);
    if (st != BIZ_OK) {
        http_problem(req, 400, "%s: '%.40s' is not a valid code: %s", sc->param, value,
                     bizcode_strerror(st));
        return ERR;
    }
    if (strncmp(code, sc->prefix, 2) != 0) {
        http_problem(req, 400, "%s takes a %s code, not %s", sc->param, sc->prefix, code);
        return ERR;
    }
    return OK;
}

static int scope_arg(report_args *a, scope_id s, const char *value)
{
    if (a->scope != SCOPE_CITY) {
        http_problem(a->req, 400, "give one scope at most: substation, line or transformer");
        return ERR;
    }
    a->scope = s;
    return report_code_arg(a->req, s, value, a->code);
}

static int after_arg(report_args *a, const char *value)
{
    char *parts[3];
    a->after = strlen(value) <= CURSOR_MAX ? cursor_text(value) : NULL;
    if (!a->after || cursor_parts(a->after, parts) != OK) {
        http_problem(a->req, 400, "after must be the cursor given as \"next\" by an earlier page");
        return ERR;
    }
    for (int i = 0; i < 3; i++) a->parts[i] = parts[i];
    return OK;
}

int report_param(request *req, const char *const *names, size_t n, const char *use,
                 const char *key, unsigned *seen)
{
    size_t i = 0;
    while (i < n && strcmp(names[i], key) != 0) i++;
    if (i == n) {
        http_problem(req, 400, "unknown query parameter '%s'; use %s", key, use);
        return -1;
    }
    if (*seen & 1u << i) {
        http_problem(req, 400, "%s is given more than once", key);
        return -1;
    }
    *seen |= 1u << i;
    return (int)i;
}

static int report_arg(void *ctx, const char *key, const char *value)
{
    report_args *a = ctx;
    int i = report_param(a->req, params, ARRAY_LEN(params),
                         "substation, line, transformer, kind, limit, after", key, &a->seen);
    if (i < 0) return ERR;
    if (i < 3) return scope_arg(a, (scope_id)(SCOPE_SUBSTATION + i), value);
    if (strcmp(key, "limit") == 0) return http_limit(a->req, value, LIMIT_MAX, &a->limit);
    if (strcmp(key, "after") == 0) return after_arg(a, value);
    if (!break_kind_known(value)) {
        http_problem(a->req, 400, "kind '%.60s' is not a kind of broken link; see broken_links."
                                  "by_kind of an answer", value);
        return ERR;
    }
    a->kind = value;
    return OK;
}

/* ---- the answer -------------------------------------------------------------- */

static json_t *pg_time_or_null(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? json_null() : pg_time_json(PQgetvalue(r, row, col));
}

/* How far behind the platforms the figures may be. */
json_t *datahub_freshness(db_conn *c)
{
    PGresult *r = db_exec(c, SQL_FRESHNESS, 0, NULL);
    if (!db_ok(r)) {
        log_warn("datahub freshness: %s", PQresultErrorMessage(r));
        PQclear(r);
        return NULL;
    }
    json_t *subs = json_array(), *as_of = PQntuples(r) ? pg_time_or_null(r, 0, 6) : json_null();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(
            subs, json_pack("{s:s, s:b, s:o, s:o, s:o, s:I}", "name", PQgetvalue(r, i, 0),
                            "streaming", strcmp(PQgetvalue(r, i, 1), "t") == 0,
                            "last_message_sent_at", pg_time_or_null(r, i, 2),
                            "last_message_received_at", pg_time_or_null(r, i, 3),
                            "latest_end_at", pg_time_or_null(r, i, 4), "tables_copying",
                            (json_int_t)strtoll(PQgetvalue(r, i, 5), NULL, 10)));
    PQclear(r);
    return json_pack("{s:o, s:o}", "as_of", as_of, "subscriptions", subs);
}

/* Every kind, zero where there is none. */
static json_t *by_kind(const char *counts_json, long long *total)
{
    json_t *counts = json_loads(counts_json, 0, NULL), *out = json_object();
    *total = 0;
    for (int i = 0; i < N_BREAK_KINDS; i++) {
        json_int_t n = json_integer_value(json_object_get(counts, break_kinds[i]));
        json_object_set_new(out, break_kinds[i], json_integer(n));
        *total += n;
    }
    json_decref(counts);
    return out;
}

/* Items of the page and, when there is more, the cursor after the last one. */
static json_t *page_items(const char *page_json, int limit, json_t **next)
{
    json_t *rows = json_loads(page_json, 0, NULL), *items = json_array();
    size_t n = json_array_size(rows), shown = n > (size_t)limit ? (size_t)limit : n;
    const char *last[3] = {"", "", ""};
    for (size_t i = 0; i < shown; i++) {
        json_t *row = json_array_get(rows, i);
        for (int k = 0; k < 3; k++) {
            const char *v = json_string_value(json_array_get(row, (size_t)k));
            last[k] = v ? v : "";
        }
        json_array_append_new(items, json_pack("{s:O, s:O, s:O}", "kind", json_array_get(row, 0),
                                               "code", json_array_get(row, 1), "other",
                                               json_array_get(row, 2)));
    }
    *next = json_null(); /* a singleton: nothing to free when replaced */
    if (n > shown) {
        char *cursor = cursor_encode(last[0], last[1], last[2]);
        *next = json_string(cursor);
        free(cursor);
    }
    json_decref(rows);
    return items;
}

static json_t *scope_json(const report_args *a)
{
    return a->scope == SCOPE_CITY ? json_object()
                                  : json_pack("{s:s}", report_scopes[a->scope].param, a->code);
}

/* The answer from the report's one row (columns as SQL_TAIL says). */
static json_t *answer(const report_args *a, const PGresult *r)
{
    long long active = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    long long complete = strtoll(PQgetvalue(r, 0, 2), NULL, 10), total;
    json_t *kinds_json = by_kind(PQgetvalue(r, 0, 3), &total), *next;
    json_t *items = page_items(PQgetvalue(r, 0, 4), a->limit, &next);
    json_t *rate = active ? json_real((double)complete / (double)active) : json_null();
    return json_pack("{s:o, s:{s:I, s:I, s:I}, s:o, s:{s:I, s:o}, s:o, s:o}", "scope",
                     scope_json(a), "customers", "active", (json_int_t)active, "complete",
                     (json_int_t)complete, "incomplete", (json_int_t)(active - complete), "rate",
                     rate, "broken_links", "total", (json_int_t)total, "by_kind", kinds_json,
                     "items", items, "next", next);
}

/* Down or too slow is 503, like our own database; missing views mean it was
 * never set up. */
void datahub_error(request *req, db_conn *c, const PGresult *r)
{
    const char *state = db_sqlstate(r);
    if (strcmp(state, "42P01") == 0 || strcmp(state, "3F000") == 0) {
        http_problem(req, 503, "the data middle platform (datahub) has no report views: it has "
                               "not been set up (scripts/datahub.sh setup)");
    } else if (db_http_status(c, r) == 503) {
        http_header(req, "Retry-After", "5");
        http_problem(req, 503, "the data middle platform (datahub) is unavailable or the report "
                               "took longer than DATAHUB_STATEMENT_TIMEOUT_MS; retry shortly");
    } else {
        service_db_error(req, c, r, "integration report");
    }
}

db_conn *datahub_conn(request *req, report_state *st)
{
    if (!st->pool) {
        http_problem(req, 503, "the integration report is read from the data middle platform "
                               "(datahub), and this cust-svc has no DATAHUB_URL");
        return NULL;
    }
    db_acquire_status as;
    db_conn *c = db_acquire(st->pool, &as);
    if (c) return c;
    http_header(req, "Retry-After", "5");
    if (as == DB_ACQ_BUSY) {
        http_problem(req, 503, "all %d connections to the data middle platform (datahub) are "
                               "busy with reports; retry shortly", st->svc->cfg.datahub_pool_size);
    } else {
        char why[256];
        db_pool_error(st->pool, why, sizeof why);
        http_problem(req, 503, "the data middle platform (datahub) cannot be reached: %s",
                     why[0] ? why : "no connection");
    }
    return NULL;
}

/* The whole city's report reads every row: hash joins only, whatever
 * statistics a bulk load has just left stale may suggest, so that its time
 * follows the city's size. No JIT: compiling these statements costs
 * seconds and saves less. In a transaction of its own, which the settings
 * end with; tune adds a statement's own (SET LOCAL ..., NULL-terminated). */
static int set_local(db_conn *c, const char *setting)
{
    PGresult *r = db_exec_once(c, setting, 0, NULL);
    int rc = db_ok(r) ? OK : ERR;
    PQclear(r);
    return rc;
}

static int tuned(db_conn *c, scope_id s, const char *const *tune)
{
    if (db_begin(c) != OK || set_local(c, "SET LOCAL jit = off") != OK) return ERR;
    if (s == SCOPE_CITY && set_local(c, "SET LOCAL enable_nestloop = off") != OK) return ERR;
    for (; tune && *tune; tune++)
        if (set_local(c, *tune) != OK) return ERR;
    return OK;
}

PGresult *datahub_report_rows(request *req, db_conn *c, const char *sql, scope_id s,
                              const char *code, int n, const char *const *p,
                              const char *const *tune)
{
    /* The city's statements leave the scope's code out: it is the last. */
    PGresult *r = tuned(c, s, tune) == OK ? db_exec(c, sql, s == SCOPE_CITY ? n - 1 : n, p)
                                          : db_exec(c, "SELECT", 0, NULL);
    if (!db_ok(r)) {
        datahub_error(req, c, r);
    } else if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
        http_problem(req, 404, "no %s %s in the data middle platform (datahub)",
                     report_scopes[s].param, code);
    } else {
        return r;
    }
    PQclear(r);
    return NULL;
}

static void run_report(request *req, report_state *st, const report_args *a, db_conn *c)
{
    char limit[16];
    snprintf(limit, sizeof limit, "%d", a->limit + 1);
    const char *p[] = {a->kind, a->parts[0], a->parts[1], a->parts[2], limit, a->code};
    PGresult *r = datahub_report_rows(req, c, st->sql[a->scope], a->scope, a->code, 6, p, NULL);
    if (r) {
        json_t *body = answer(a, r), *fresh = datahub_freshness(c);
        json_object_set_new(body, "freshness", fresh ? fresh : json_null());
        http_json(req, 200, body);
        PQclear(r);
    }
    db_rollback(c); /* the city's transaction, if any: it only read */
}

static void integration_report(request *req, void *ctx)
{
    report_state *st = ctx;
    report_args a = {.req = req, .limit = LIMIT_DEFAULT, .parts = {"", "", ""}};
    if (http_query_foreach(req, report_arg, &a) == OK) {
        db_conn *c = datahub_conn(req, st);
        if (c) {
            run_report(req, st, &a, c);
            db_release(st->pool, c);
        }
    }
    free(a.after);
}

/* ---- spans of days (the line loss, the suspect links) --------------------------- */

int report_period_arg(request *req, report_period *p, const char *key, const char *value)
{
    static const char *const keys[] = {"day", "from", "to"};
    unsigned k = 0;
    while (strcmp(keys[k], key) != 0) k++;
    long d;
    if (day_parse(value, &d) != OK) {
        http_problem(req, 400, "%s: '%.40s' is not a date YYYY-MM-DD", key, value);
        return ERR;
    }
    p->given |= 1u << k;
    if (k != 2) {
        p->first_day = d;
        day_format(d, p->first);
    }
    if (k != 1) {
        p->last_day = d;
        day_format(d, p->last);
    }
    return OK;
}

int report_period_check(request *req, report_period *p)
{
    if (p->given == 0 || ((p->given & 1u) && p->given != 1u)) {
        http_problem(req, 400, "give day=YYYY-MM-DD, or from= and to= (a span of days)");
        return ERR;
    }
    if (p->given != 1u && p->given != 6u) {
        http_problem(req, 400, "from and to go together: give both");
        return ERR;
    }
    if (p->first_day > p->last_day) {
        http_problem(req, 400, "from (%s) is after to (%s)", p->first, p->last);
        return ERR;
    }
    if (p->last_day - p->first_day + 1 > REPORT_PERIOD_MAX_DAYS) {
        http_problem(req, 400, "a span of %ld days is too long: %d at most",
                     p->last_day - p->first_day + 1, REPORT_PERIOD_MAX_DAYS);
        return ERR;
    }
    return OK;
}

json_t *report_period_json(const report_period *p)
{
    return json_pack("{s:s, s:s, s:I}", "from", p->first, "to", p->last, "days",
                     (json_int_t)(p->last_day - p->first_day + 1));
}

double report_kwh(double kwh)
{
    return round(kwh * 1000) / 1000;
}

double report_rate(double rate)
{
    return round(rate * 10000) / 10000;
}

void report_routes(service *svc, router *r)
{
    the_report = xcalloc(1, sizeof *the_report);
    the_report->svc = svc;
    build_statements(the_report);
    rates_build(the_report);
    lineloss_build(the_report);
    suspects_build(the_report);
    /* Connections open lazily: the route answers 503 while datahub is down. */
    if (svc->cfg.datahub_url) {
        db_config dc = {.url = svc->cfg.datahub_url,
                        .app_name = "cust-svc report",
                        .size = svc->cfg.datahub_pool_size,
                        .statement_timeout_ms = svc->cfg.datahub_statement_timeout_ms,
                        .acquire_timeout_ms = svc->cfg.db_acquire_timeout_ms,
                        .connect_timeout_s = 2,
                        .read_only = 1,
                        .quiet = 1};
        the_report->pool = db_pool_new(&dc);
    }
    /* Long, on datahub's own pool, never on the peer: the local workers. */
    router_add(r, "GET", "/v1/reports/integration", integration_report, the_report, ROUTE_SLOW,
               "The integration report 营配贯通率 from the data middle platform (datahub): "
               "active customers and the share whose chain is complete, broken links by kind, "
               "a page of them (kind, code, other), and how fresh the data is; scope with "
               "?substation=, ?line= or ?transformer=; ?kind= pages one kind; ?limit=&after=")
        ->query = catalogue_read_query(cust_reads, cust_nreads, "/v1/reports/integration");
    rates_route(r, the_report);
    lineloss_route(r, the_report);
    suspects_route(r, the_report);
}

void report_free(service *svc)
{
    if (!the_report) return;
    db_pool_free(the_report->pool);
    for (int s = 0; s < N_SCOPES; s++) free(the_report->sql[s]);
    rates_free(the_report);
    lineloss_free(the_report);
    suspects_free(the_report);
    free(the_report);
    the_report = NULL;
}
