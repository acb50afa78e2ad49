/* changes.c -- see changes.h. */
#include "engine/changes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/fields.h"
#include "base/jsonutil.h"
#include "engine/context.h"
#include "engine/paging.h"


/* The history row and the change event, in one statement. */
static const char SQL_RECORD[] =
    "WITH c AS (INSERT INTO changes (app, type, code, other_code, before, after, reason)"
    " VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7))"
    " INSERT INTO events (type, code, app, data) VALUES ($2, $3, $1,"
    " jsonb_build_object('other', $4::text, 'before', $5::jsonb, 'after', $6::jsonb)"
    " || CASE WHEN $7::text IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('reason', $7) END)";

static const char SQL_HISTORY[] =
    "SELECT seq, at, app, type, code, other_code, before::text, after::text, reason FROM changes"
    " WHERE (code = $1 OR other_code = $1) AND seq > $2 ORDER BY seq LIMIT $3";

int changes_save(db_conn *c, const char *app, const char *request_id, const char *type,
                 const char *code, const char *other, const json_t *before, const json_t *after,
                 outcome *o)
{
    return changes_save_why(c, app, request_id, type, code, other, before, after, NULL, o);
}

int changes_save_why(db_conn *c, const char *app, const char *request_id, const char *type,
                     const char *code, const char *other, const json_t *before,
                     const json_t *after, const char *reason, outcome *o)
{
    char *b = before ? json_text(before) : NULL, *a = after ? json_text(after) : NULL;
    const char *params[] = {app, type, code, other, b, a, reason};
    PGresult *r = db_exec(c, SQL_RECORD, 7, params);
    free(b);
    free(a);
    int ok = db_ok(r);
    if (!ok) service_db_outcome(c, r, "history", request_id, o);
    PQclear(r);
    return ok ? OK : ERR;
}

int changes_record(request *req, db_conn *c, const char *type, const char *code,
                   const char *other, const json_t *before, const json_t *after)
{
    return changes_record_why(req, c, type, code, other, before, after, NULL);
}

int changes_record_why(request *req, db_conn *c, const char *type, const char *code,
                       const char *other, const json_t *before, const json_t *after,
                       const char *reason)
{
    outcome o = {0};
    if (changes_save_why(c, req->app->name, req->id, type, code, other, before, after, reason,
                         &o) == OK)
        return OK;
    service_answer_outcome(req, &o);
    return ERR;
}

static json_t *json_or_null(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col)) return json_null();
    json_t *v = json_loads(PQgetvalue(r, row, col), JSON_DECODE_ANY, NULL);
    return v ? v : json_null();
}

static json_t *change_json(const void *ctx, const PGresult *r, int row)
{
    json_t *o = json_pack("{s:I, s:o, s:s, s:s, s:s}", "seq",
                          (json_int_t)strtoll(PQgetvalue(r, row, 0), NULL, 10), "at",
                          pg_time_json(PQgetvalue(r, row, 1)), "app", PQgetvalue(r, row, 2),
                          "type", PQgetvalue(r, row, 3), "code", PQgetvalue(r, row, 4));
    if (!PQgetisnull(r, row, 5))
        json_object_set_new(o, "other_code", json_string(PQgetvalue(r, row, 5)));
    json_object_set_new(o, "before", json_or_null(r, row, 6));
    json_object_set_new(o, "after", json_or_null(r, row, 7));
    if (!PQgetisnull(r, row, 8)) json_object_set_new(o, "reason", json_string(PQgetvalue(r, row, 8)));
    return o;
}

void changes_history(request *req, service *svc, const char *code)
{
    long long after;
    int limit;
    if (http_paging(req, PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX, &limit, &after) != OK) return;
    char after_s[24], limit_s[16];
    snprintf(after_s, sizeof after_s, "%lld", after);
    snprintf(limit_s, sizeof limit_s, "%d", limit + 1);
    const char *params[] = {code, after_s, limit_s};
    page_query pq = {.sql = SQL_HISTORY, .nparams = 3, .params = params, .limit = limit,
                     .item = change_json, .what = "history"};
    service_answer_page(svc, req, &pq);
}
