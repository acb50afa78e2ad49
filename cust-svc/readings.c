/* readings.c -- meter readings 采集 (DESIGN §11): each meter's energy of a
 * day, imported as NDJSON and read back one meter at a time.
 *
 *   POST /v1/readings:import           {"meter": MT, "day": "YYYY-MM-DD", "kwh": n} per line
 *   GET  /v1/meters/{code}/readings    ?from=&to=, a span of at most 366 days
 *
 * The import is bulk.c's, as every other: batches, line errors, a batch
 * with a bad line loads nothing. A day imported again replaces the stored
 * value (a corrected reading is re-sent), so a batch is copied into a
 * staging table and merged from it, after the months it brings have their
 * partitions (schema/cust/014_readings.sql). Every check a line needs is
 * made here, in C: the merge is one statement per batch, never one per
 * line, as a city brings a million lines a day. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/day.h"
#include "base/jsonutil.h"
#include "cust.h"
#include "engine/bulk.h"
#include "engine/context.h"

#define KWH_MAX 1000000.0
#define SPAN_MAX 366 /* days a read may cover, a leap year */
#define SPAN_DEFAULT 31
#define FIRST_DAY "2000-01-01"
#define DAY_TEXT 16 /* "YYYY-MM-DD" and room */

static const char SQL_COPY[] = "COPY readings_in (meter, day, kwh, imported_by) FROM STDIN";
/* kwh numeric(12,3) here as in readings: a value with more decimals is
 * rounded to the watt-hour as it is copied. */
static const char *const before[] = {
    "CREATE TEMP TABLE readings_in (meter text, day date, kwh numeric(12,3), imported_by text) "
    "ON COMMIT DROP",
    NULL};
static const char *const after[] = {
    "SELECT readings_months(min(day), max(day)) FROM readings_in",
    /* Both parts see the rows as they were before the statement: old
     * counts the days already stored. (A partitioned table gives RETURNING
     * no xmax to tell them apart by.) */
    "WITH up AS (INSERT INTO readings (meter, day, kwh, imported_by) "
    "SELECT meter, day, kwh, imported_by FROM readings_in "
    "ON CONFLICT (meter, day) DO UPDATE SET kwh = EXCLUDED.kwh, "
    "imported_at = EXCLUDED.imported_at, imported_by = EXCLUDED.imported_by RETURNING 1), "
    "old AS (SELECT count(*) AS n FROM readings_in i WHERE EXISTS (SELECT 1 FROM readings r "
    "WHERE r.meter = i.meter AND r.day = i.day)) "
    "SELECT (SELECT count(*) FROM up) - old.n, old.n FROM old",
    NULL};
static const char *const counts[] = {"new", "replaced", NULL};

/* One meter's readings: no row for an unknown meter, one with a NULL day
 * for a meter without readings in the span. */
static const char SQL_READ[] =
    "SELECT r.day::text, r.kwh::text FROM meters m LEFT JOIN readings r ON r.meter = m.code "
    "AND r.day BETWEEN $2::date AND $3::date WHERE m.code = $1 ORDER BY r.day";

/* ---- the import ------------------------------------------------------------ */

static void check_meter(bulk_line *ln, const json_t *v, char **cols, uint8_t value[16],
                        json_t *errors)
{
    char code[BIZCODE_LEN + 1];
    const char *s = json_string_value(v);
    biz_status st = s ? bizcode_parse(s, code, value) : BIZ_OK;
    if (!v)
        json_add_error(errors, "meter", "required: the meter's code (MT-...)");
    else if (!s)
        json_add_error(errors, "meter", "must be a string, the meter's code (MT-...)");
    else if (st != BIZ_OK)
        json_add_error(errors, "meter", "not a valid code: %s", bizcode_strerror(st));
    else if (strncmp(code, "MT", 2) != 0)
        json_add_error(errors, "meter", "%s is not a meter's code (MT-...)", code);
    else {
        cols[0] = xstrdup(code);
        bulk_refer(ln, "meter", code, NULL);
    }
}

static void check_day(const json_t *v, char **cols, long *day, json_t *errors)
{
    const char *s = json_string_value(v);
    long first;
    day_parse(FIRST_DAY, &first);
    if (!v)
        json_add_error(errors, "day", "required: the day read, YYYY-MM-DD");
    else if (!s || day_parse(s, day) != OK)
        json_add_error(errors, "day", "must be a date of the calendar, YYYY-MM-DD");
    else if (*day < first)
        json_add_error(errors, "day", "%s is before %s, the first day kept", s, FIRST_DAY);
    else if (*day > day_today())
        json_add_error(errors, "day", "%s is after today (UTC): a day is read once it is over",
                       s);
    else
        cols[1] = xstrdup(s);
}

/* Kept to the watt-hour: the text given to COPY has the digits the client
 * most likely wrote (15 significant), which numeric(12,3) rounds. */
static void check_kwh(const json_t *v, char **cols, json_t *errors)
{
    double x = json_number_value(v);
    char text[40];
    if (!v)
        json_add_error(errors, "kwh", "required: the day's energy, kWh");
    else if (!json_is_number(v))
        json_add_error(errors, "kwh", "must be a number, the day's energy in kWh");
    else if (x < 0)
        json_add_error(errors, "kwh", "must not be negative (%.15g)", x);
    else if (x > KWH_MAX)
        json_add_error(errors, "kwh", "%.15g is more than a meter reads in a day (at most %.0f)",
                       x, KWH_MAX);
    else if (json_is_integer(v)) {
        snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        cols[2] = xstrdup(text);
    } else {
        snprintf(text, sizeof text, "%.15g", x);
        cols[2] = xstrdup(text);
    }
}

static void import_check(void *ctx, bulk_line *ln, json_t *obj, char **cols, json_t *errors)
{
    (void)ctx;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        if (strcmp(key, "meter") && strcmp(key, "day") && strcmp(key, "kwh"))
            json_add_error(errors, key, "unknown field");
    }
    uint8_t value[16];
    long day = 0;
    check_meter(ln, json_object_get(obj, "meter"), cols, value, errors);
    check_day(json_object_get(obj, "day"), cols, &day, errors);
    check_kwh(json_object_get(obj, "kwh"), cols, errors);
    if (json_array_size(errors) > 0) return;
    cols[3] = xstrdup(bulk_app(ln));
    /* The meter's 128 bits and the day: a second reading of both in one
     * file is an error, not a silent replacement of the first. */
    unsigned char k[20];
    int32_t d = (int32_t)day;
    memcpy(k, value, 16);
    memcpy(k + 16, &d, 4);
    bulk_key(ln, k, sizeof k, "day");
}

static const bulk_spec readings_spec = {
    .target = "meters/readings",
    .copy_sql = SQL_COPY,
    .ncols = 4,
    .change_type = "reading.imported",
    .check = import_check,
    .before = before,
    .after = after,
    .counts = counts,
    .direct_sql = "COPY readings (meter, day, kwh, imported_by) FROM STDIN",
};

/* Who may import is one rule with no condition on the line, so it is
 * answered once, before any line is read. */
static void import(request *req, void *ctx)
{
    if (http_query_declared(req) != OK ||
        !service_command_allowed(req, ctx, readings_spec.target, "importing meter readings"))
        return;
    bulk_import(req, ctx, &readings_spec);
}

/* ---- GET /v1/meters/{code}/readings ------------------------------------------ */

/* from and to (inclusive) from the query: to defaults to today, from to
 * SPAN_DEFAULT days up to to. ERR after answering 400. */
static int read_span(request *req, long *from, long *to)
{
    const char *f = http_query(req, "from"), *t = http_query(req, "to");
    if (f && day_parse(f, from) != OK) {
        http_problem(req, 400, "from must be a date of the calendar, YYYY-MM-DD");
        return ERR;
    }
    if (t && day_parse(t, to) != OK) {
        http_problem(req, 400, "to must be a date of the calendar, YYYY-MM-DD");
        return ERR;
    }
    if (!t) *to = day_today();
    if (!f) *from = *to - (SPAN_DEFAULT - 1);
    if (*from > *to) {
        http_problem(req, 400, "from must not be after to");
        return ERR;
    }
    if (*to - *from + 1 > SPAN_MAX) {
        http_problem(req, 400, "from %s to %s is %ld days; a read covers at most %d",
                     f ? f : "(30 days before to)", t ? t : "today", *to - *from + 1, SPAN_MAX);
        return ERR;
    }
    return OK;
}

static void answer(request *req, const char *code, const PGresult *r)
{
    json_t *items = json_array();
    for (int row = 0; row < PQntuples(r); row++) {
        if (PQgetisnull(r, row, 0)) continue;
        json_array_append_new(items, json_pack("{s:s, s:f}", "day", PQgetvalue(r, row, 0), "kwh",
                                               strtod(PQgetvalue(r, row, 1), NULL)));
    }
    http_json(req, 200, json_pack("{s:s, s:o}", "meter", code, "items", items));
}

static void read_meter(request *req, void *ctx)
{
    service *svc = ctx;
    char code[BIZCODE_LEN + 1], from_s[DAY_TEXT], to_s[DAY_TEXT];
    long from, to;
    if (service_path_code(req, "MT", code) != OK || http_query_declared(req) != OK ||
        read_span(req, &from, &to) != OK)
        return;
    day_format(from, from_s);
    day_format(to, to_s);
    db_conn *c = service_db(svc, req);
    if (!c) return;
    const char *params[] = {code, from_s, to_s};
    PGresult *r = db_exec(c, SQL_READ, 3, params);
    if (!db_ok(r))
        service_db_error(req, c, r, "readings");
    else if (PQntuples(r) == 0)
        http_problem(req, 404, "no meter with code %s", code);
    else
        answer(req, code, r);
    PQclear(r);
    db_release(svc->db, c);
}

/* ---- routes ------------------------------------------------------------------- */

static const query_doc import_query[] = {
    {"batch", "integer", NULL, 0, "lines per transaction (1-50000, default 5000)"},
    {0}};

void readings_routes(service *svc, router *r)
{
    /* Imports run long: off the I/O threads, as the other imports. */
    router_add(r, "POST", "/v1/readings:import", import, svc, ROUTE_BODY_BULK | ROUTE_PEER,
               "Import meter readings: NDJSON {\"meter\", \"day\", \"kwh\"} per line, in batches; "
               "a day imported again replaces the stored value")
        ->query = import_query;
    /* Its query parameters are declared with the view (collections.c),
     * which grid-svc documents alike as it passes the read on. */
    const collection_def *meters = catalogue_collection(svc->def, "MT");
    router_add(r, "GET", "/v1/meters/{code}/readings", read_meter, svc, 0,
               "A meter's daily readings, in day order")
        ->query = meters->view_query[0];
}
