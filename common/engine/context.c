/* context.c -- see context.h. */
#include "engine/context.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"


/* Which requests read, and so may read the replica: GET and HEAD, and
 * routes that only read whatever their method (ROUTE_READ_ONLY: a walk's
 * leg, a POST for its body). Writes, and with them the answer to a write,
 * read back in its own transaction, stay on the primary. */
static int is_read(const char *method, const route *rt)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ||
           (rt && (rt->flags & ROUTE_READ_ONLY));
}

int service_reads_replica(const char *method, const route *rt)
{
    return is_read(method, rt) && !(rt && (rt->flags & ROUTE_PRIMARY));
}

/* Reads that must see the primary all the same: routes that follow it
 * (ROUTE_PRIMARY: the event stream starts where the primary's
 * notifications are), and callers that ask (X-Read-Primary): a platform
 * checking what a write names, which may have been written a moment ago. */
static int needs_primary(request *req)
{
    const route *rt = req->match.route;
    return (rt && (rt->flags & ROUTE_PRIMARY)) || http_header_in(req, "X-Read-Primary");
}

db_conn *service_db(service *svc, request *req)
{
    db_acquire_status st;
    db_conn *c = is_read(req->method, req->match.route)
                     ? replica_read(svc->reads, needs_primary(req), &st)
                     : db_acquire(svc->db, &st);
    if (c) return c;
    http_header(req, "Retry-After", "1");
    if (st == DB_ACQ_BUSY)
        http_problem(req, 503, "all %d database connections are busy; retry shortly",
                     svc->cfg.db_pool_size);
    else
        http_problem(req, 503, "the database is unavailable; retry shortly");
    return NULL;
}

peer_caller service_caller(request *req)
{
    return (peer_caller){http_header_in(req, "Authorization"), req->id, NULL, req->hop};
}

const char *service_peer_name(const service *svc)
{
    return service_name(svc->def->id == SVC_GRID ? SVC_CUST : SVC_GRID);
}

int service_path_code(request *req, const char *prefix, char canon[BIZCODE_LEN + 1])
{
    const char *raw = http_param(req, 0);
    biz_status st = bizcode_parse(raw, canon, NULL);
    if (st != BIZ_OK) {
        http_problem(req, 400, "'%s' is not a valid code: %s", raw, bizcode_strerror(st));
        return ERR;
    }
    if (strncmp(canon, prefix, 2) != 0) {
        const biz_type *t = biz_type_by_prefix(canon), *want = biz_type_by_prefix(prefix);
        http_problem(req, 400, "%s is a %s code, not a %s code", canon, t ? t->type : "unknown",
                     want ? want->type : prefix);
        return ERR;
    }
    return OK;
}

int service_step_allowed(request *req, service *svc, const char *step)
{
    char target[64], why[512], roles[128];
    snprintf(target, sizeof target, "work-orders/%s", step);
    if (policy_check(svc->policy, req->app, target, NULL, why, sizeof why) == OK) return 1;
    policy_roles(svc->policy, target, roles, sizeof roles);
    http_problem(req, 403, "the %s step of a work order is taken by the %s role; app %s has "
                           "none of them",
                 step, roles[0] ? roles : "admin", req->app->name);
    return 0;
}

int service_command_allowed(request *req, service *svc, const char *target, const char *what)
{
    char why[512], roles[128];
    if (policy_check(svc->policy, req->app, target, NULL, why, sizeof why) == OK) return 1;
    policy_roles(svc->policy, target, roles, sizeof roles);
    http_problem(req, 403, "%s is for the %s role%s; app %s has none of them", what,
                 roles[0] ? roles : "admin", strchr(roles, ',') ? "s" : "", req->app->name);
    return 0;
}

void service_page(request *req, const PGresult *r, int limit,
                  json_t *(*item)(const void *ctx, const PGresult *r, int row), const void *ctx)
{
    int rows = PQntuples(r), shown = rows > limit ? limit : rows;
    json_t *items = json_array();
    for (int i = 0; i < shown; i++) json_array_append_new(items, item(ctx, r, i));
    json_t *next = rows > limit ? json_string(PQgetvalue(r, shown - 1, 0)) : json_null();
    http_json(req, 200, json_pack("{s:o, s:o}", "items", items, "next", next));
}

void service_db_down(request *req, const char *what)
{
    http_header(req, "Retry-After", "1");
    http_problem(req, 503, "the database is unavailable; %s; retry shortly", what);
}

void service_commit_failed(request *req, db_conn *c, const char *what)
{
    http_header(req, "Retry-After", "1");
    if (db_broken(c))
        http_problem(req, 503, "the connection to the database was lost during the commit: the "
                               "change may or may not be stored; read it back, or retry with "
                               "the same Idempotency-Key");
    else
        http_problem(req, 503, "the database did not commit; %s; retry shortly", what);
}

void service_db_outcome(db_conn *c, const PGresult *r, const char *what, const char *request_id,
                        outcome *out)
{
    int status = db_http_status(c, r);
    if (status == 503) {
        outcome_set(out, 503, "the database is unavailable; retry shortly");
        out->retry_after = 1;
        return;
    }
    log_error("%s: SQLSTATE %s: %s", what, db_sqlstate(r), PQresultErrorMessage(r));
    if (status == 409)
        outcome_set(out, 409, "%s: the change conflicts with existing data", what);
    else if (status == 400)
        outcome_set(out, 400, "%s: a value was refused by the database", what);
    else
        outcome_set(out, 500, "%s: internal error (request %s)", what, request_id);
}

void service_db_error(request *req, db_conn *c, const PGresult *r, const char *what)
{
    outcome p = {0};
    service_db_outcome(c, r, what, req->id, &p);
    service_answer_outcome(req, &p);
}

void service_answer_outcome(request *req, outcome *p)
{
    if (p->retry_after > 0) {
        char secs[16];
        snprintf(secs, sizeof secs, "%d", p->retry_after);
        http_header(req, "Retry-After", secs);
    }
    http_problem_extra(req, p->status ? p->status : 500, p->extra, "%s", p->detail);
    p->extra = NULL; /* stolen */
    outcome_clear(p);
}

void service_peer_outcome(const peer_response *pr, outcome *out, const char *what,
                          const char *then)
{
    char why[300];
    if (pr->error != PEER_OK)
        snprintf(why, sizeof why, "%s", pr->detail);
    else
        snprintf(why, sizeof why, "it answered %ld", pr->status);
    outcome_set(out, peer_failure_status(pr), "%s (%s)%s%s", what, why, then ? "; " : "",
                then ? then : "");
    out->retry_after = peer_failure_retry_after(pr);
}

void service_peer_retry_after(request *req, const peer_response *pr)
{
    int secs = peer_failure_retry_after(pr);
    if (secs <= 0) return;
    char text[16];
    snprintf(text, sizeof text, "%d", secs);
    http_header(req, "Retry-After", text);
}

/* The stored answer is an object with its version: its ETag again ("" when
 * it has none). */
static void replay_etag(const char *body, char etag[32])
{
    json_t *o = json_loads(body, 0, NULL);
    json_t *v = json_object_get(o, "version");
    etag[0] = '\0';
    if (json_is_integer(v))
        snprintf(etag, 32, "\"%" JSON_INTEGER_FORMAT "\"", json_integer_value(v));
    json_decref(o);
}

void service_answer_replay(request *req, idem_stored *s)
{
    char etag[32];
    replay_etag(s->body, etag);
    http_raw(req, s->status, "application/json", s->body, strlen(s->body));
    if (s->location) http_header(req, "Location", s->location);
    if (etag[0]) http_header(req, "ETag", etag);
    http_header(req, "Idempotent-Replayed", "true");
    free(s->location);
    *s = (idem_stored){0}; /* the body went with the answer */
}

void service_answer_idem(request *req, idem_stored *replay, outcome *o)
{
    if (replay->body)
        service_answer_replay(req, replay);
    else
        service_answer_outcome(req, o);
}

void service_answer_page(service *svc, request *req, const page_query *q)
{
    db_conn *c = service_db(svc, req);
    if (!c) return;
    PGresult *r = q->once ? db_exec_once(c, q->sql, q->nparams, q->params)
                          : db_exec(c, q->sql, q->nparams, q->params);
    if (db_ok(r))
        service_page(req, r, q->limit, q->item, q->ctx);
    else if (q->bad_value && strncmp(db_sqlstate(r), "22", 2) == 0)
        http_problem(req, 400, "%s", q->bad_value);
    else
        service_db_error(req, c, r, q->what);
    PQclear(r);
    db_release(svc->db, c);
}
