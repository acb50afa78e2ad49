/* notices.c -- the notices of outages to their customers 停电通知 (DESIGN §10):
 *
 *   GET  /v1/notices?state=pending&limit=N   (the generic list) what a notifier sends
 *   POST /v1/notices:ack   {"items": [{"code", "state": "sent"|"failed", "detail"}]}
 *
 * An outage makes one notice per customer of its frozen list and message
 * (announced, rescheduled, restored, cancelled), in its own transaction; a
 * customer with no phone gets it failed at once, saying why. A notifier (an
 * SMS gateway, an app's push service) pulls the pending ones and reports
 * what became of each. A report repeated changes nothing; a notice already
 * reported otherwise is a conflict. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonutil.h"
#include "engine/declared.h"
#include "outages.h"
#include "store/pgarray.h"

#define ACK_MAX 1000
#define DETAIL_MAX 500

static const char SQL_COUNT[] =
    "SELECT count(*), (SELECT coalesce(max(round), 0) + 1 FROM notices WHERE outage = $1 AND "
    "message = $2) FROM outage_customers WHERE outage = $1";
/* The codes, minted here in order, are matched to the customers by code. */
static const char SQL_MAKE[] =
    "INSERT INTO notices (code, updated_by, outage, customer, phone, message, state, detail, "
    "sent_at, round) "
    "SELECT k.code, $2, $1, l.customer, l.phone, $3, "
    "CASE WHEN coalesce(l.phone, '') = '' THEN 'failed' ELSE 'pending' END, "
    "CASE WHEN coalesce(l.phone, '') = '' THEN 'the customer has no phone on record' END, "
    "CASE WHEN coalesce(l.phone, '') = '' THEN now() END, $5::integer "
    "FROM (SELECT customer, phone, row_number() OVER (ORDER BY customer) AS i "
    "FROM outage_customers WHERE outage = $1) l "
    "JOIN unnest($4::text[]) WITH ORDINALITY AS k(code, i) ON k.i = l.i "
    "ON CONFLICT DO NOTHING";

int notices_make(request *req, db_conn *c, const char *outage, const char *message)
{
    const char *p1[] = {outage, message};
    PGresult *r = db_exec(c, SQL_COUNT, 2, p1);
    if (!db_ok(r)) {
        service_db_error(req, c, r, "notices");
        PQclear(r);
        return ERR;
    }
    long n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    char round[16];
    snprintf(round, sizeof round, "%s", PQgetvalue(r, 0, 1));
    PQclear(r);
    if (n == 0) return OK;
    pg_array a = {0};
    for (long i = 0; i < n; i++) {
        char code[BIZCODE_LEN + 1];
        bizcode_mint("NT", code);
        pg_array_add(&a, code);
    }
    char *codes = pg_array_steal(&a);
    const char *params[] = {outage, req->app->name, message, codes, round};
    r = db_exec(c, SQL_MAKE, 5, params);
    free(codes);
    int ok = db_ok(r);
    if (!ok) service_db_error(req, c, r, "notices");
    PQclear(r);
    return ok ? OK : ERR;
}

/* ---- POST /v1/notices:ack --------------------------------------------------------- */

/* The notices reported, locked in code order (so two notifiers reporting
 * overlapping pages wait for each other rather than deadlock), as they
 * were; then those still pending take their report. */
static const char SQL_LOCK_REPORTED[] =
    "SELECT code, state FROM notices WHERE code = ANY($1::text[]) ORDER BY code FOR UPDATE";
static const char SQL_REPORT[] =
    "UPDATE notices n SET state = x.state, detail = x.detail, sent_at = now(), "
    "version = n.version + 1, updated_at = now(), updated_by = $2 "
    "FROM json_to_recordset($1::json) AS x(code text, state text, detail text) "
    "WHERE n.code = x.code AND n.state = 'pending'";

/* The body's items, checked: codes canonical, states sent or failed, at
 * most ACK_MAX, each code once. NULL after answering 400. */
static json_t *reports_of(request *req)
{
    json_t *items = json_object_get(req->json, "items"), *errors = json_array();
    const char *key;
    json_t *v;
    json_object_foreach(req->json, key, v) {
        if (strcmp(key, "items")) json_add_error(errors, key, "unknown field");
    }
    if (!json_is_array(items) || json_array_size(items) == 0 || json_array_size(items) > ACK_MAX)
        json_add_error(errors, "items", "must be an array of 1 to %d reports", ACK_MAX);
    json_t *out = json_array(), *seen = json_object();
    size_t i;
    json_array_foreach(json_is_array(items) ? items : NULL, i, v) {
        char canon[BIZCODE_LEN + 1], where[32];
        snprintf(where, sizeof where, "items[%zu]", i);
        const char *code = json_str(v, "code"), *state = json_str(v, "state");
        json_t *detail = json_object_get(v, "detail");
        size_t members = json_object_size(v) - (detail != NULL);
        if (!json_is_object(v) || members != 2 || !code || !state) {
            json_add_error(errors, where, "must be {\"code\", \"state\", \"detail\"?} and "
                                          "nothing else");
        } else if (bizcode_parse(code, canon, NULL) != BIZ_OK || strncmp(canon, "NT", 2)) {
            json_add_error(errors, where, "code must be a notice's code (NT)");
        } else if (strcmp(state, "sent") && strcmp(state, "failed")) {
            json_add_error(errors, where, "state must be sent or failed");
        } else if (detail && !json_is_null(detail) &&
                   (!json_is_string(detail) || json_string_length(detail) > DETAIL_MAX)) {
            json_add_error(errors, where, "detail must be a text of at most %d bytes",
                           DETAIL_MAX);
        } else if (json_object_get(seen, canon)) {
            json_add_error(errors, where, "%s is reported twice", canon);
        } else {
            json_object_set_new(seen, canon, json_true());
            json_array_append_new(out, json_pack("{s:s, s:s, s:O}", "code", canon, "state", state,
                                                 "detail", detail ? detail : json_null()));
        }
    }
    json_decref(seen);
    if (json_array_size(errors)) {
        http_problem_errors(req, 400, errors, "the reports are not valid; nothing was changed");
        json_decref(out);
        return NULL;
    }
    json_decref(errors);
    return out;
}

/* The outcome of each report against the notices as they were (was: code
 * -> state): unknown codes and conflicting reports are gathered apart. */
static json_t *outcomes(json_t *reports, const json_t *was, json_t *unknown, json_t *conflicts)
{
    json_t *items = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(reports, i, v) {
        const char *code = json_str(v, "code"), *state = json_str(v, "state");
        const char *before = json_string_value(json_object_get(was, code));
        if (!before)
            json_array_append_new(unknown, json_string(code));
        else if (strcmp(before, "pending") && strcmp(before, state))
            json_array_append_new(conflicts, json_pack("{s:s, s:s}", "code", code, "state", before));
        json_array_append_new(items, json_pack("{s:s, s:s, s:b}", "code", code, "state", state,
                                               "changed", before && !strcmp(before, "pending")));
    }
    return items;
}

/* The reported notices as they are, locked: code -> state, or NULL after
 * answering. */
static json_t *lock_reported(request *req, db_conn *c, json_t *reports)
{
    pg_array a = {0};
    size_t i;
    json_t *v;
    json_array_foreach(reports, i, v) pg_array_add(&a, json_str(v, "code"));
    char *codes = pg_array_steal(&a);
    const char *params[] = {codes};
    PGresult *r = db_exec(c, SQL_LOCK_REPORTED, 1, params);
    free(codes);
    json_t *was = NULL;
    if (!db_ok(r)) {
        service_db_error(req, c, r, "notices");
    } else {
        was = json_object();
        for (int row = 0; row < PQntuples(r); row++)
            json_object_set_new(was, PQgetvalue(r, row, 0), json_string(PQgetvalue(r, row, 1)));
    }
    PQclear(r);
    return was;
}

/* The reports taken, in the open transaction: 200 and the commit, or a
 * problem (422 unknown, 409 conflicts) with nothing changed. */
static void take_reports(request *req, db_conn *c, json_t *reports)
{
    json_t *was = lock_reported(req, c, reports);
    if (!was) return;
    json_t *unknown = json_array(), *conflicts = json_array();
    json_t *items = outcomes(reports, was, unknown, conflicts);
    if (json_array_size(unknown)) {
        http_problem_extra(req, 422, json_pack("{s:O}", "unknown", unknown),
                           "%zu of the notices reported do not exist; nothing was changed",
                           json_array_size(unknown));
    } else if (json_array_size(conflicts)) {
        http_problem_extra(req, 409, json_pack("{s:O}", "conflicts", conflicts),
                           "%zu of the notices were reported otherwise before; nothing was "
                           "changed", json_array_size(conflicts));
    } else {
        char *text = json_text(reports);
        const char *params[] = {text, req->app->name};
        PGresult *r = db_exec(c, SQL_REPORT, 2, params);
        free(text);
        if (!db_ok(r)) {
            service_db_error(req, c, r, "notices");
        } else {
            http_json(req, 200, json_pack("{s:O}", "items", items));
            if (db_commit(c) != OK) service_commit_failed(req, c, "nothing was changed");
        }
        PQclear(r);
    }
    json_decref(items);
    json_decref(unknown);
    json_decref(conflicts);
    json_decref(was);
}

static void ack(request *req, void *ctx)
{
    service *svc = ctx;
    json_t *reports = reports_of(req);
    if (!reports) return;
    db_conn *c = NULL;
    if (!declared_allowed(req, svc, "notices", NULL) || !(c = service_db(svc, req))) goto done;
    if (db_begin(c) != OK) {
        service_db_down(req, "nothing was changed");
        goto done;
    }
    take_reports(req, c, reports);
done:
    if (c) {
        db_rollback(c);
        db_release(svc->db, c);
    }
    json_decref(reports);
}

void notice_routes(service *svc, router *r)
{
    router_add(r, "POST", "/v1/notices:ack", ack, svc, ROUTE_BODY_JSON,
               "Report notices sent or failed (the notifier): {\"items\": [{\"code\", \"state\", "
               "\"detail\"}]}; a repeated report changes nothing");
}
