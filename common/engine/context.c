/* context.c -- see context.h. */
#include "engine/context.h"

#include <stdio.h>
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

void service_db_error(request *req, db_conn *c, const PGresult *r, const char *what)
{
    int status = db_http_status(c, r);
    const char *msg = PQresultErrorMessage(r);
    if (status == 503) {
        http_header(req, "Retry-After", "1");
        http_problem(req, 503, "the database is unavailable; retry shortly");
        return;
    }
    log_error("%s: SQLSTATE %s: %s", what, db_sqlstate(r), msg);
    if (status == 409)
        http_problem(req, 409, "%s: the change conflicts with existing data", what);
    else if (status == 400)
        http_problem(req, 400, "%s: a value was refused by the database", what);
    else
        http_problem(req, 500, "%s: internal error (request %s)", what, req->id);
}

