/* workorders.c -- the high-voltage new connection 高压业扩新装 across both
 * platforms, one step at a time:
 *
 *   POST /v1/work-orders/{code}/transitions   {"to": STEP, ...the step's data}
 *   GET  /v1/work-orders/{code}/transitions   the steps taken, and the legal next ones
 *
 * applied -> surveyed -> planned -> designed -> scheduled -> accepted ->
 * published -> powered -> archived, and cancelled from any step before
 * powered. Who takes each step is policy (config/policy.json, targets
 * work-orders/<step>).
 *
 * A step is checked against the work order as it is, then grid-svc's half
 * is done (designed, published, cancelled: one idempotent request, made
 * with no transaction or connection of ours held, since grid-svc confirms
 * with us the codes it is given), then ours in one transaction holding the
 * work order's row, which checks the work order again. When grid-svc
 * refuses or cannot be reached, nothing changes on either side; when it did
 * its half and ours then fails (or its answer was lost), the work order
 * stays where it was and the step retried finds grid-svc's half done and
 * finishes; cancelling withdraws a drawing however far its step got. A step
 * already taken answers what it answered the first time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/changes.h"
#include "cust.h"
#include "model/fields.h"
#include "base/jsonutil.h"
#include "net/peer.h"
#include "engine/references.h"
#include "workorder_steps.h"

/* ---- the transitions --------------------------------------------------------- */

static const char SQL_GET[] = "SELECT row_to_json(w)::text FROM work_orders w WHERE code = $1";
static const char SQL_LOCK[] =
    "SELECT row_to_json(w)::text FROM work_orders w WHERE code = $1 FOR UPDATE";
static const char SQL_TAKEN[] =
    "SELECT data::text, result::text FROM work_order_steps WHERE work_order = $1 AND step = $2";
/* clock_timestamp: steps are listed in the order they were taken, which
 * the transaction's start time need not be. */
static const char SQL_TAKE[] =
    "INSERT INTO work_order_steps (work_order, step, at, app, data, result) "
    "VALUES ($1, $2, clock_timestamp(), $3, $4::jsonb, $5::json)";
static const char SQL_STEPS[] =
    "SELECT w.step, (SELECT coalesce(json_agg(json_build_object('step', s.step, 'at', "
    "to_char(s.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), 'app', s.app, "
    "'data', s.data) ORDER BY s.at), '[]') FROM work_order_steps s WHERE s.work_order = "
    "w.code)::text FROM work_orders w WHERE w.code = $1";

/* YYYY-MM-DD, and a day of the calendar. */
static int is_date(const char *s)
{
    int y, m, d;
    char tail;
    if (!s || strlen(s) != 10 || strspn(s, "0123456789-") != 10 || s[4] != '-' || s[7] != '-' ||
        sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
        return 0;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 12};
    time_t t = timegm(&tm);
    struct tm back;
    return t != (time_t)-1 && gmtime_r(&t, &back) && back.tm_year == y - 1900 &&
           back.tm_mon == m - 1 && back.tm_mday == d;
}

/* The step named by "to" and its data, checked, codes in canonical form;
 * ERR after answering 400. */
static int check_request(request *req, const wo_step **st, json_t **data)
{
    const char *to = json_str(req->json, "to");
    int i = wo_step_index(to);
    if (i <= 0) {
        json_t *errors = json_array();
        json_add_error(errors, "to", "must be one of surveyed, planned, designed, scheduled, "
                                     "accepted, published, powered, archived, cancelled");
        http_problem_errors(req, 400, errors, "which step to take?");
        return ERR;
    }
    *st = &wo_steps[i];
    static const char *const skip[] = {"to", NULL};
    json_t *errors = json_array();
    fields_check_members((*st)->data, req->json, skip, errors);
    const char *date = json_str(req->json, "power_on_date");
    if (date && !is_date(date))
        json_add_error(errors, "power_on_date", "must be a date of the calendar, YYYY-MM-DD");
    if (json_array_size(errors) > 0) {
        http_problem_errors(req, 400, errors, "step %s: the data is not valid", to);
        return ERR;
    }
    json_decref(errors);
    /* As stored and compared on a retry: no "to", no nulls, canonical codes. */
    *data = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(req->json, key, v) {
        char code[BIZCODE_LEN + 1];
        const field_def *f = field_find((*st)->data, key);
        if (!f || json_is_null(v)) continue;
        if (f->type == FT_CODE && bizcode_parse(json_string_value(v), code, NULL) == BIZ_OK)
            json_object_set_new(*data, key, json_string(code));
        else
            json_object_set(*data, key, v);
    }
    return OK;
}

/* The work order as stored, in s->order; locked for the transaction when
 * `lock`. ERR after answering (404, database). */
static int load(step_ctx *s, int lock)
{
    const char *params[] = {s->code};
    PGresult *r = db_exec(s->c, lock ? SQL_LOCK : SQL_GET, 1, params);
    int rc = ERR;
    if (!db_ok(r)) {
        service_db_error(s->req, s->c, r, "work orders");
    } else if (PQntuples(r) == 0) {
        http_problem(s->req, 404, "no work order with code %s", s->code);
    } else {
        json_decref(s->order);
        s->order = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
        rc = s->order ? OK : ERR;
        if (rc != OK) http_problem(s->req, 500, "work order %s cannot be read", s->code);
    }
    PQclear(r);
    return rc;
}

/* May the work order take the step now? A step taken before answers as it
 * did then (with the same data; 409 with other data); a retired work order
 * or a step out of turn is 409, the latter listing the legal ones. DONE
 * after answering. */
enum { GO = 0, DONE = 1 };
static int ready(step_ctx *s, const wo_step *st)
{
    const char *params[] = {s->code, st->name};
    PGresult *r = db_exec(s->c, SQL_TAKEN, 2, params);
    int rc = DONE;
    if (!db_ok(r)) {
        service_db_error(s->req, s->c, r, "work orders");
    } else if (PQntuples(r) == 1) {
        json_t *then = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
        if (json_equal(then, s->data))
            http_json(s->req, 200, json_loads(PQgetvalue(r, 0, 1), 0, NULL));
        else
            http_problem(s->req, 409, "work order %s was %s before, with other data", s->code,
                         st->name);
        json_decref(then);
    } else if (strcmp(json_str(s->order, "status"), "retired") == 0) {
        http_problem(s->req, 409, "work order %s is retired", s->code);
    } else {
        int now = wo_step_index(json_str(s->order, "step"));
        if (wo_may_follow(now, (int)(st - wo_steps)))
            rc = GO;
        else
            http_problem_extra(s->req, 409,
                               json_pack("{s:s, s:o}", "step", wo_steps[now].name, "legal",
                                         wo_legal_after(now)),
                               "work order %s is %s; it cannot become %s", s->code,
                               wo_steps[now].name, st->name);
    }
    PQclear(r);
    return rc;
}

static int record_step(step_ctx *s, const char *step, const json_t *result)
{
    char *data = json_dumps(s->data, JSON_COMPACT), *res = json_dumps(result, JSON_COMPACT);
    const char *params[] = {s->code, step, s->req->app->name, data, res};
    PGresult *r = db_exec(s->c, SQL_TAKE, 5, params);
    int ok = db_ok(r);
    if (!ok) service_db_error(s->req, s->c, r, "work orders");
    PQclear(r);
    free(data);
    free(res);
    return ok ? OK : ERR;
}

/* Ours: the work order locked and checked again (it may have moved while
 * grid-svc worked), the step's own writes, the work order moved, the step
 * recorded with its answer, all in one transaction. */
static void take_step(step_ctx *s, const wo_step *st)
{
    request *req = s->req;
    if (db_begin(s->c) != OK) {
        service_db_down(req, "the step was not taken");
        return;
    }
    if (load(s, 1) != OK || ready(s, st) != GO) return;
    const char *was = json_str(s->order, "step");
    s->set = json_pack("{s:s}", "step", st->name);
    if (st->run && st->run(s) != OK) return;
    json_t *after = resource_change_in(s->svc, req, s->c, s->code, s->set, "workorder.advanced");
    if (!after) return;
    if (record_step(s, st->name, after) != OK) {
        json_decref(after);
        return;
    }
    http_json(req, 200, after);
    if (db_commit(s->c) != OK) {
        char what[128];
        snprintf(what, sizeof what, "work order %s stays %s", s->code, was);
        service_commit_failed(req, s->c, what);
    }
}

static void transition(request *req, void *ctx)
{
    service *svc = ctx;
    char code[BIZCODE_LEN + 1];
    const wo_step *st;
    step_ctx s = {.svc = svc, .req = req, .code = code};
    if (service_path_code(req, "WO", code) != OK || check_request(req, &st, &s.data) != OK) return;
    if (!service_step_allowed(req, svc, st->name) || !(s.c = service_db(svc, req))) goto done;
    if (load(&s, 0) != OK || ready(&s, st) != GO) goto done;
    if (st->remote) {
        /* No connection of ours is held while grid-svc works: it asks us
         * to confirm the codes it is given, and that needs one. */
        db_release(svc->db, s.c);
        s.c = NULL;
        if (st->remote(&s) != OK || !(s.c = service_db(svc, req))) goto done;
    }
    take_step(&s, st);
done:
    if (s.c) {
        db_rollback(s.c);
        db_release(svc->db, s.c);
    }
    json_decref(s.order);
    json_decref(s.data);
    json_decref(s.remote);
    json_decref(s.set);
    json_decref(s.outage);
    outage_list_free(&s.list);
}

static void transitions_taken(request *req, void *ctx)
{
    service *svc = ctx;
    char code[BIZCODE_LEN + 1];
    if (service_path_code(req, "WO", code) != OK) return;
    db_conn *c = service_db(svc, req);
    if (!c) return;
    const char *params[] = {code};
    PGresult *r = db_exec(c, SQL_STEPS, 1, params);
    if (!db_ok(r)) {
        service_db_error(req, c, r, "work orders");
    } else if (PQntuples(r) == 0) {
        http_problem(req, 404, "no work order with code %s", code);
    } else {
        const char *now = PQgetvalue(r, 0, 0);
        http_json(req, 200,
                  json_pack("{s:s, s:s, s:o, s:o}", "work_order", code, "step", now, "legal",
                            wo_legal_after(wo_step_index(now)), "items",
                            json_loads(PQgetvalue(r, 0, 1), 0, NULL)));
    }
    PQclear(r);
    db_release(svc->db, c);
}

void workorder_routes(service *svc, router *r)
{
    /* designed, published and cancelled ask grid-svc: a peer route. */
    router_add(r, "POST", "/v1/work-orders/{code}/transitions", transition, svc,
               ROUTE_BODY_JSON | ROUTE_PEER,
               "Take the next step of a work order: {\"to\": STEP, ...data}; 409 lists the "
               "legal ones");
    router_add(r, "GET", "/v1/work-orders/{code}/transitions", transitions_taken, svc, 0,
               "The steps a work order has taken and the legal next ones");
}
