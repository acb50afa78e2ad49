/* drawings.c -- the drawings of work orders, kept by grid-svc:
 *
 *   POST   /v1/drawings                        the red drawing 红图 of a new connection
 *   GET    /v1/drawings/{work_order}
 *   POST   /v1/drawings/{work_order}/publish   red drawing -> black drawing 黑图
 *   DELETE /v1/drawings/{work_order}           withdrawn with its work order
 *
 * cust-svc asks for these as a work order moves (cust-svc/workorders.c),
 * passing on the caller's identity, and the policy rule of that step
 * (work-orders/designed, /published, /cancelled) decides here as it does
 * there. The work order must be at that step, as cust-svc answers for it:
 * a drawing is made for a planned work order and for the objects it names,
 * published once it is accepted, withdrawn before it is powered, so these
 * routes cannot be used to go round the process. Each is one transaction
 * and idempotent: asking again answers what is there, so a step whose
 * cust-svc half failed after this half was done finishes when retried. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/changes.h"
#include "model/fields.h"
#include "grid.h"
#include "base/jsonutil.h"
#include "net/peer.h"
#include "engine/references.h"
#include "service.h"

static const char *const wo[] = {"WO", NULL};
static const char *const ln[] = {"LN", NULL};
static const char *const sp[] = {"SP", NULL};
static const char *const cu[] = {"CU", NULL};

static const field_def design_fields[] = {
    {.name = "work_order", .type = FT_CODE, .flags = FF_REQUIRED, .refs = wo,
     .doc = "the work order (WO, kept by cust-svc)"},
    {.name = "line", .type = FT_CODE, .flags = FF_REQUIRED, .refs = ln,
     .doc = "the line the transformer hangs on"},
    {.name = "supply_point", .type = FT_CODE, .flags = FF_REQUIRED, .refs = sp,
     .doc = "the customer's supply point it feeds (SP, kept by cust-svc)"},
    {.name = "customer", .type = FT_CODE, .flags = FF_REQUIRED, .refs = cu,
     .doc = "the customer it serves (CU, kept by cust-svc)"},
    {.name = "name", .type = FT_TEXT, .flags = FF_REQUIRED, .doc = "transformer name"},
    {.name = "capacity_kva", .type = FT_NUM, .flags = FF_REQUIRED, .min = 1, .max = 1000000,
     .doc = "transformer capacity, kVA"},
    {.name = "voltage_kv", .type = FT_NUM, .flags = FF_REQUIRED, .min = 0.1, .max = 1000,
     .doc = "primary voltage, kV"},
    {.name = "model", .type = FT_TEXT, .max_len = 60, .doc = "transformer model"},
    FIELDS_END,
};

/* The links a drawing adds, by the drawing's members at their ends. */
static const struct {
    const char *kind, *from, *to;
} drawing_links[] = {
    {"line-transformer", "line", "transformer"},
    {"equipment-supplypoint", "transformer", "supply_point"},
    {"transformer-customer", "transformer", "customer"},
};

#define COLS                                                                                  \
    "work_order, status, transformer, line, supply_point, customer, created_at, created_by, " \
    "changed_at, changed_by"
static const char SQL_LOCK[] = "SELECT " COLS " FROM drawings WHERE work_order = $1 FOR UPDATE";
static const char SQL_GET[] = "SELECT " COLS " FROM drawings WHERE work_order = $1";
static const char SQL_INSERT[] =
    "INSERT INTO drawings (work_order, transformer, line, supply_point, customer, created_by) "
    "VALUES ($1, $2, $3, $4, $5, $6) RETURNING " COLS;
static const char SQL_SET[] = "UPDATE drawings SET status = $2, changed_at = now(), changed_by = $3 "
                              "WHERE work_order = $1 RETURNING " COLS;

static json_t *drawing_json(const PGresult *r)
{
    json_t *d = json_object();
    static const char *const text[] = {"work_order", "status", "transformer", "line",
                                       "supply_point", "customer"};
    for (int i = 0; i < 6; i++) json_object_set_new(d, text[i], json_string(PQgetvalue(r, 0, i)));
    json_object_set_new(d, "created_at", pg_time_json(PQgetvalue(r, 0, 6)));
    json_object_set_new(d, "created_by", json_string(PQgetvalue(r, 0, 7)));
    json_object_set_new(d, "changed_at",
                        PQgetisnull(r, 0, 8) ? json_null() : pg_time_json(PQgetvalue(r, 0, 8)));
    json_object_set_new(d, "changed_by",
                        PQgetisnull(r, 0, 9) ? json_null() : json_string(PQgetvalue(r, 0, 9)));
    return d;
}



/* The drawing of a work order (no rows when there is none), locked for the
 * transaction; NULL after answering a database error. */
static PGresult *lock_drawing(request *req, db_conn *c, const char *order)
{
    const char *params[] = {order};
    PGresult *r = db_exec(c, SQL_LOCK, 1, params);
    if (db_ok(r)) return r;
    service_db_error(req, c, r, "drawings");
    PQclear(r);
    return NULL;
}

/* The work order, as cust-svc keeps it, is at one of the steps `at` (and
 * not retired); with `ends`, it also names the line, supply point and
 * customer of the request. ERR after answering 409, 422, or the status of
 * a failed peer call (peer_failure_status). */
static int order_at(request *req, service *svc, const char *order, const char *const *at,
                    const json_t *ends)
{
    char *path = xasprintf("/v1/work-orders/%s", order);
    peer_caller who = service_caller(req);
    peer_response pr;
    peer_call_primary(svc->peer, "GET", path, &who, NULL, 0, &pr);
    free(path);
    json_t *got = pr.error == PEER_OK && pr.status == 200 ? json_loads(pr.body, 0, NULL) : NULL;
    const char *step = json_str(got, "step"), *status = json_str(got, "status");
    int rc = ERR;
    if (pr.error != PEER_OK) {
        service_peer_retry_after(req, &pr);
        http_problem(req, peer_failure_status(&pr), "cust-svc cannot be reached to confirm work "
                     "order %s (%s); nothing was changed", order, pr.detail);
    } else if (pr.status == 404) {
        http_problem(req, 422, "cust-svc keeps no work order %s", order);
    } else if (!step || !status) {
        service_peer_retry_after(req, &pr);
        http_problem(req, peer_failure_status(&pr), "cust-svc answered %ld for work order %s; "
                     "nothing was changed", pr.status, order);
    } else if (strcmp(status, "retired") == 0) {
        http_problem(req, 409, "work order %s is retired", order);
    } else {
        for (const char *const *a = at; *a && rc != OK; a++)
            if (strcmp(*a, step) == 0) rc = OK;
        if (rc != OK)
            http_problem(req, 409, "work order %s is %s: its drawing cannot be changed now", order,
                         step);
        static const char *const named[] = {"line", "supply_point", "customer", NULL};
        for (const char *const *n = named; ends && *n && rc == OK; n++) {
            const char *theirs = json_str(got, *n);
            if (theirs && strcmp(theirs, json_str(ends, *n)) == 0) continue;
            http_problem(req, 409, "work order %s names %s %s, not %s", order, *n,
                         theirs ? theirs : "none", json_str(ends, *n));
            rc = ERR;
        }
    }
    json_decref(got);
    peer_response_free(&pr);
    return rc;
}

/* The request's codes in canonical form (validation accepted any case). */
static void canonical_codes(json_t *body)
{
    for (const field_def *f = design_fields; f->name; f++) {
        char code[BIZCODE_LEN + 1];
        if (f->type == FT_CODE && bizcode_parse(json_str(body, f->name), code, NULL) == BIZ_OK)
            json_object_set_new(body, f->name, json_string(code));
    }
}

/* The transformer and its three links, in design status. */
static json_t *draw(request *req, service *svc, db_conn *c, const json_t *body)
{
    json_t *tr = json_pack("{s:O, s:s, s:O, s:O, s:s}", "name", json_object_get(body, "name"),
                           "kind", "dedicated", "capacity_kva",
                           json_object_get(body, "capacity_kva"), "voltage_kv",
                           json_object_get(body, "voltage_kv"), "status", "design");
    if (json_str(body, "model")) json_object_set(tr, "model", json_object_get(body, "model"));
    json_t *made = resource_create_in(svc, req, c, "TR", tr);
    json_decref(tr);
    if (!made) return NULL;
    json_t *ends = json_deep_copy(body);
    json_object_set(ends, "transformer", json_object_get(made, "code"));
    json_decref(made);
    for (size_t i = 0; i < ARRAY_LEN(drawing_links); i++) {
        json_t *link = json_pack("{s:s, s:s, s:s}", "from", json_str(ends, drawing_links[i].from),
                                 "to", json_str(ends, drawing_links[i].to), "status", "design");
        json_t *added = relation_add_in(svc, req, c, drawing_links[i].kind, link);
        json_decref(link);
        if (!added) {
            json_decref(ends);
            return NULL;
        }
        json_decref(added);
    }
    return ends;
}

/* The links' ends cust-svc keeps (the supply point, the customer), asked
 * before the transaction: no connection is held while the peer answers
 * (waits.h), and relation_add_in does not ask. The transformer is not made
 * yet: NULL, one of ours. */
static int peer_ends_usable(request *req, service *svc)
{
    for (size_t i = 0; i < ARRAY_LEN(drawing_links); i++) {
        const char *from = strcmp(drawing_links[i].from, "transformer") == 0
                               ? NULL
                               : json_str(req->json, drawing_links[i].from);
        const char *to = strcmp(drawing_links[i].to, "transformer") == 0
                             ? NULL
                             : json_str(req->json, drawing_links[i].to);
        if (relation_confirm_peer_ends(svc, req, drawing_links[i].kind, from, to) != OK)
            return ERR;
    }
    return OK;
}

static void drawing_create(request *req, void *ctx)
{
    service *svc = ctx;
    if (!service_step_allowed(req, svc, "designed")) return;
    json_t *errors = json_array();
    if (fields_check_members(design_fields, req->json, NULL, errors) != OK) {
        http_problem_errors(req, 400, errors, "drawing: the request is not valid");
        return;
    }
    json_decref(errors);
    canonical_codes(req->json);
    const char *order = json_str(req->json, "work_order");
    static const char *const at[] = {"planned", "designed", NULL};
    if (order_at(req, svc, order, at, req->json) != OK || peer_ends_usable(req, svc) != OK) return;
    db_conn *c = service_db(svc, req);
    if (!c) return;
    PGresult *r = NULL;
    json_t *ends = NULL;
    if (db_begin(c) != OK) {
        service_db_down(req, "nothing was drawn");
        goto done;
    }
    if (!(r = lock_drawing(req, c, order))) goto done;
    if (PQntuples(r) == 1) {
        json_t *d = drawing_json(r);
        int same = strcmp(json_str(d, "line"), json_str(req->json, "line")) == 0 &&
                   strcmp(json_str(d, "supply_point"), json_str(req->json, "supply_point")) == 0 &&
                   strcmp(json_str(d, "customer"), json_str(req->json, "customer")) == 0;
        if (same) {
            http_json(req, 200, d); /* drawn before: a retry */
        } else {
            http_problem_extra(req, 409, json_pack("{s:o}", "drawing", d),
                               "work order %s already has a drawing, for other objects", order);
        }
        goto done;
    }
    if (!(ends = draw(req, svc, c, req->json))) goto done;
    PQclear(r);
    const char *params[] = {order,
                            json_str(ends, "transformer"),
                            json_str(ends, "line"),
                            json_str(ends, "supply_point"),
                            json_str(ends, "customer"),
                            req->app->name};
    r = db_exec(c, SQL_INSERT, 6, params);
    if (!db_ok(r)) {
        if (strcmp(db_sqlstate(r), "23505") == 0)
            http_problem(req, 409, "the drawing of %s was made at the same time; retry", order);
        else
            service_db_error(req, c, r, "drawings");
        goto done;
    }
    json_t *d = drawing_json(r);
    if (changes_record(req, c, "drawing.created", order, json_str(d, "transformer"), NULL, d) !=
        OK) {
        json_decref(d);
        goto done;
    }
    char *loc = xasprintf("/v1/drawings/%s", order);
    http_header(req, "Location", loc);
    free(loc);
    http_json(req, 201, d);
    if (db_commit(c) != OK) service_commit_failed(req, c, "nothing was drawn");
done:
    db_rollback(c);
    json_decref(ends);
    PQclear(r);
    db_release(svc->db, c);
}

static void drawing_get(request *req, void *ctx)
{
    service *svc = ctx;
    char order[BIZCODE_LEN + 1];
    if (service_path_code(req, "WO", order) != OK) return;
    db_conn *c = service_db(svc, req);
    if (!c) return;
    const char *params[] = {order};
    PGresult *r = db_exec(c, SQL_GET, 1, params);
    if (!db_ok(r))
        service_db_error(req, c, r, "drawings");
    else if (PQntuples(r) == 0)
        http_problem(req, 404, "work order %s has no drawing", order);
    else
        http_json(req, 200, drawing_json(r));
    PQclear(r);
    db_release(svc->db, c);
}

/* Publishing turns every object of the drawing operational; withdrawing
 * ends its links and retires its transformer. Either way one transaction,
 * one drawing.<what> event, and asking twice answers the same. */
typedef struct {
    const char *step;        /* the work order's step that asks for it */
    const char *const *at;   /* the steps the work order may be at */
    const char *status;      /* of the drawing afterwards */
    const char *event;       /* drawing.published */
} change_kind;

static int publish_objects(request *req, service *svc, db_conn *c, const json_t *d)
{
    json_t *tr = json_pack("{s:s}", "status", "operational");
    json_t *done = resource_change_in(svc, req, c, json_str(d, "transformer"), tr, NULL);
    json_decref(tr);
    if (!done) return ERR;
    json_decref(done);
    for (size_t i = 0; i < ARRAY_LEN(drawing_links); i++) {
        json_t *link = relation_status_in(svc, req, c, drawing_links[i].kind,
                                          json_str(d, drawing_links[i].from),
                                          json_str(d, drawing_links[i].to), "operational");
        if (!link) return ERR;
        json_decref(link);
    }
    return OK;
}

static int withdraw_objects(request *req, service *svc, db_conn *c, const json_t *d)
{
    for (size_t i = 0; i < ARRAY_LEN(drawing_links); i++) {
        json_t *link = relation_end_in(svc, req, c, drawing_links[i].kind,
                                       json_str(d, drawing_links[i].from),
                                       json_str(d, drawing_links[i].to));
        if (!link) return ERR;
        json_decref(link);
    }
    json_t *tr = resource_retire_in(svc, req, c, json_str(d, "transformer"));
    json_decref(tr);
    return tr ? OK : ERR;
}

/* Withdrawing retires the drawing's transformer inside the transaction,
 * where cust-svc cannot be asked (resource.h): so it is asked before, with
 * no connection held, whether anything names the transformer -- a billing
 * may, even while it is in design. The work order names it too, and is
 * the one being cancelled: that does not count. No drawing, or one
 * withdrawn already: the transaction answers. */
static int transformer_unnamed(request *req, service *svc, const char *order)
{
    db_conn *c = service_db(svc, req);
    if (!c) return ERR;
    const char *params[] = {order};
    PGresult *r = db_exec(c, SQL_GET, 1, params);
    int ok = db_ok(r);
    if (!ok) service_db_error(req, c, r, "drawings");
    json_t *d = ok && PQntuples(r) == 1 ? drawing_json(r) : NULL;
    PQclear(r);
    db_release(svc->db, c);
    int rc = ok ? OK : ERR;
    if (d && strcmp(json_str(d, "status"), "withdrawn") != 0) {
        const char *tr[] = {json_str(d, "transformer")};
        rc = references_confirm(svc, req, tr, 1, NULL, NULL, order, "nothing was changed");
    }
    json_decref(d);
    return rc;
}

static void drawing_change(request *req, service *svc, const change_kind *k)
{
    char order[BIZCODE_LEN + 1];
    int withdraw = strcmp(k->status, "withdrawn") == 0;
    if (service_path_code(req, "WO", order) != OK || !service_step_allowed(req, svc, k->step) ||
        order_at(req, svc, order, k->at, NULL) != OK ||
        (withdraw && transformer_unnamed(req, svc, order) != OK))
        return;
    db_conn *c = service_db(svc, req);
    if (!c) return;
    PGresult *r = NULL;
    json_t *before = NULL;
    if (db_begin(c) != OK) {
        service_db_down(req, "nothing was changed");
        goto done;
    }
    if (!(r = lock_drawing(req, c, order))) goto done;
    if (PQntuples(r) == 0) {
        http_problem(req, 404, "work order %s has no drawing", order);
        goto done;
    }
    before = drawing_json(r);
    const char *now = json_str(before, "status");
    if (strcmp(now, k->status) == 0) {
        http_json(req, 200, json_incref(before)); /* done before: a retry */
        goto done;
    }
    if (strcmp(now, "design") != 0 && strcmp(k->status, "withdrawn") != 0) {
        http_problem(req, 409, "the drawing of %s is %s", order, now);
        goto done;
    }
    int rc = strcmp(k->status, "published") == 0 ? publish_objects(req, svc, c, before)
                                                  : withdraw_objects(req, svc, c, before);
    if (rc != OK) goto done;
    PQclear(r);
    const char *params[] = {order, k->status, req->app->name};
    r = db_exec(c, SQL_SET, 3, params);
    if (!db_ok(r)) {
        service_db_error(req, c, r, "drawings");
        goto done;
    }
    json_t *after = drawing_json(r);
    if (changes_record(req, c, k->event, order, json_str(after, "transformer"), before, after) !=
        OK) {
        json_decref(after);
        goto done;
    }
    http_json(req, 200, after);
    if (db_commit(c) != OK) service_commit_failed(req, c, "nothing was changed");
done:
    db_rollback(c);
    json_decref(before);
    PQclear(r);
    db_release(svc->db, c);
}

static void drawing_publish(request *req, void *ctx)
{
    static const char *const at[] = {"accepted", "published", NULL};
    static const change_kind k = {"published", at, "published", "drawing.published"};
    drawing_change(req, ctx, &k);
}

static void drawing_withdraw(request *req, void *ctx)
{
    /* Before powered; cancelled when its cust-svc half is being retried. */
    static const char *const at[] = {"applied",  "surveyed",  "planned",   "designed",
                                     "scheduled", "accepted", "published", "cancelled",
                                     NULL};
    static const change_kind k = {"cancelled", at, "withdrawn", "drawing.withdrawn"};
    drawing_change(req, ctx, &k);
}

void drawing_routes(service *svc, router *r)
{
    /* Its links name cust-svc's objects, confirmed with cust-svc: a peer route. */
    router_add(r, "POST", "/v1/drawings", drawing_create, svc, ROUTE_BODY_JSON | ROUTE_PEER,
               "Draw a work order's dedicated transformer and links in design status (red "
               "drawing); idempotent per work order");
    router_add(r, "GET", "/v1/drawings/{code}", drawing_get, svc, 0,
               "The drawing of a work order");
    /* Each confirms the work order's step with cust-svc first: peer routes. */
    router_add(r, "POST", "/v1/drawings/{code}/publish", drawing_publish, svc, ROUTE_PEER,
               "Publish a work order's drawing: every object operational in one transaction "
               "(black drawing), event drawing.published");
    router_add(r, "DELETE", "/v1/drawings/{code}", drawing_withdraw, svc, ROUTE_PEER,
               "Withdraw a cancelled work order's drawing: links ended, transformer retired");
}
