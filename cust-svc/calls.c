/* calls.c -- trouble calls 故障报修 and the outages they predict (DESIGN §10):
 *
 *   POST /v1/trouble-calls     {"customer" | "account_no" | "phone", "text", "at"?}
 *   GET  /v1/outages/predicted  the unexplained calls, grouped up the supply chain
 *
 * A call from a customer inside an outage announced or started is attached
 * to it when the outage explains it: a planned one that was due when the
 * call was made, a fault that began no more than PREDICT_WINDOW_HOURS
 * after it (the calls that predicted it). The answer says so: the caller is told it is known, and when supply is
 * expected back. The other calls of the last PREDICT_WINDOW_HOURS are
 * grouped up the chain as it is now: each group is the lowest grid element
 * above at least PREDICT_MIN_CALLS of the calls not claimed by a group
 * below it, reported under the highest element above that, short of the
 * lines, which cuts the very same customers (a transformer rather than its
 * only access point). Dispatch confirms one by announcing a fault outage on it, which
 * attaches the open calls it explains. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonutil.h"
#include "engine/declared.h"
#include "model/fields.h"
#include "outages.h"
#include "topology/trace.h"

#define PREDICT_CALLS_MAX 10000 /* the latest, when more are open */

/* The outage a customer's call at $2 is explained by ($3: the window). */
static const char SQL_KNOWN[] =
    "SELECT o.code, o.kind, o.state, o.starts_at, o.ends_at, o.reason FROM outage_customers l "
    "JOIN outages o ON o.code = l.outage WHERE l.customer = $1 AND o.state IN ('announced', "
    "'started') AND $2::timestamptz >= o.starts_at - CASE WHEN o.kind = 'fault' THEN "
    "make_interval(hours => $3::integer) ELSE interval '0' END "
    "ORDER BY o.state = 'started' DESC, o.starts_at DESC, o.code LIMIT 1";
static const char SQL_BY_ACCOUNT[] =
    "SELECT code FROM customers WHERE account_no = $1 AND status <> 'retired'";
static const char SQL_BY_PHONE[] =
    "SELECT code FROM customers WHERE phone = $1 AND status <> 'retired' ORDER BY code LIMIT 6";
static const char SQL_ATTACH[] =
    "WITH attached AS (UPDATE trouble_calls t SET outage = $1, version = t.version + 1, "
    "updated_at = now(), updated_by = $3 FROM outage_customers l JOIN outages o ON o.code = "
    "l.outage WHERE l.outage = $1 AND l.customer = t.customer AND t.outage IS NULL AND "
    "t.status <> 'retired' AND t.at > now() - make_interval(hours => $2::integer) AND "
    "t.at >= o.starts_at - CASE WHEN o.kind = 'fault' THEN make_interval(hours => "
    "$2::integer) ELSE interval '0' END RETURNING t.code), "
    "history AS (INSERT INTO changes (app, type, code, other_code) "
    "SELECT $3, 'trouble_call.attached', code, $1 FROM attached) "
    "INSERT INTO events (type, code, app, data) SELECT 'trouble_call.attached', code, $3, "
    "jsonb_build_object('other', $1::text, 'before', NULL, 'after', NULL) FROM attached";

/* The open calls, as the generic reads show them (%s: the select list), of
 * customers still supplied on our books: a retired one is no longer on the
 * chain to be grouped. */
static const char SQL_OPEN[] =
    "SELECT %s FROM trouble_calls WHERE code IN (SELECT t.code FROM trouble_calls t JOIN "
    "customers c ON c.code = t.customer AND c.status = 'active' WHERE t.outage IS NULL AND "
    "t.status <> 'retired' AND t.at > now() - make_interval(hours => $1::integer) "
    "ORDER BY t.at DESC, t.code LIMIT $2) ORDER BY at DESC, code";

/* A call taken and an outage announced at the same moment: each reads what
 * the other has committed only when its statement starts, so the call
 * could miss the outage and the outage the call. Calls take this lock
 * shared before they look for their outage, an announcement exclusively
 * before it attaches calls; each holds it to its commit, so whichever
 * comes second sees the first. (Migrations lock 7319001, events 7319002.) */
static const char SQL_CALLS_SHARED[] = "SELECT pg_advisory_xact_lock_shared(7319003)";
static const char SQL_CALLS_ALONE[] = "SELECT pg_advisory_xact_lock(7319003)";

static int lock_calls(request *req, db_conn *c, const char *sql)
{
    PGresult *r = db_exec(c, sql, 0, NULL);
    int ok = db_ok(r);
    if (!ok) service_db_error(req, c, r, "trouble calls");
    PQclear(r);
    return ok ? OK : ERR;
}

int calls_attach(request *req, db_conn *c, const char *outage, int window_hours)
{
    if (lock_calls(req, c, SQL_CALLS_ALONE) != OK) return ERR;
    char hours[16];
    snprintf(hours, sizeof hours, "%d", window_hours);
    const char *params[] = {outage, hours, req->app->name};
    PGresult *r = db_exec(c, SQL_ATTACH, 3, params);
    int ok = db_ok(r);
    if (!ok) service_db_error(req, c, r, "trouble calls");
    PQclear(r);
    return ok ? OK : ERR;
}

/* ---- POST /v1/trouble-calls ------------------------------------------------------- */

/* The customer the caller is, by account number or phone; 422 when none
 * or (by phone) several are. OK with code filled, or ERR after answering. */
static int find_caller(request *req, db_conn *c, const char *by, const char *value,
                       char code[BIZCODE_LEN + 1])
{
    const char *params[] = {value};
    PGresult *r = db_exec(c, strcmp(by, "account_no") ? SQL_BY_PHONE : SQL_BY_ACCOUNT, 1, params);
    int rc = ERR;
    if (!db_ok(r)) {
        service_db_error(req, c, r, "customers");
    } else if (PQntuples(r) == 0) {
        http_problem_extra(req, 422, json_pack("{s:s}", "field", by),
                           "no customer has %s %s; give the customer's code", by, value);
    } else if (PQntuples(r) > 1) {
        json_t *some = json_array();
        for (int i = 0; i < PQntuples(r); i++) json_array_append_new(some, json_string(PQgetvalue(r, i, 0)));
        http_problem_extra(req, 422, json_pack("{s:s, s:o}", "field", by, "customers", some),
                           "%d or more customers have %s %s; give the customer's code or account "
                           "number", PQntuples(r), by, value);
    } else {
        snprintf(code, BIZCODE_LEN + 1, "%s", PQgetvalue(r, 0, 0));
        rc = OK;
    }
    PQclear(r);
    return rc;
}

/* The call as stored: the customer found, "at" now when not given. NULL
 * after answering 400/422. */
static json_t *call_asked(service *svc, request *req, db_conn *c)
{
    json_t *obj = json_deep_copy(req->json), *errors = NULL;
    const char *account = json_str(obj, "account_no"), *phone = json_str(obj, "phone");
    char code[BIZCODE_LEN + 1];
    int found = OK;
    if (!json_object_get(obj, "customer") && (account || phone))
        found = find_caller(req, c, account ? "account_no" : "phone", account ? account : phone,
                            code);
    if (found != OK) {
        json_decref(obj);
        return NULL;
    }
    if (!json_object_get(obj, "customer") && (account || phone))
        json_object_set_new(obj, "customer", json_string(code));
    json_object_del(obj, "account_no");
    if (!json_object_get(obj, "at")) {
        char now[32];
        outage_iso_time(time(NULL), now);
        json_object_set_new(obj, "at", json_string(now));
    }
    if (resource_check_create(svc, "TC", obj, &errors) == OK) return obj;
    http_problem_errors(req, 400, errors, "the call is not valid; nothing was stored");
    json_decref(obj);
    return NULL;
}

/* The outage the call is explained by (known, owned) or NULL, with the
 * call's "outage" set; ERR after answering. */
static int explained(service *svc, request *req, db_conn *c, json_t *call, json_t **known)
{
    char hours[16];
    snprintf(hours, sizeof hours, "%d", svc->cfg.predict_window_hours);
    const char *params[] = {json_str(call, "customer"), json_str(call, "at"), hours};
    PGresult *r = db_exec(c, SQL_KNOWN, 3, params);
    *known = NULL;
    if (!db_ok(r)) {
        service_db_error(req, c, r, "outages");
        PQclear(r);
        return ERR;
    }
    if (PQntuples(r) == 1) {
        *known = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "outage", PQgetvalue(r, 0, 0),
                           "kind", PQgetvalue(r, 0, 1), "state", PQgetvalue(r, 0, 2), "starts_at",
                           pg_time_json(PQgetvalue(r, 0, 3)), "ends_at",
                           PQgetisnull(r, 0, 4) ? json_null() : pg_time_json(PQgetvalue(r, 0, 4)),
                           "reason",
                           PQgetisnull(r, 0, 5) ? json_null() : json_string(PQgetvalue(r, 0, 5)));
        json_object_set_new(call, "outage", json_string(PQgetvalue(r, 0, 0)));
    }
    PQclear(r);
    return OK;
}

static void take_call(request *req, void *ctx)
{
    service *svc = ctx;
    db_conn *c = service_db(svc, req);
    if (!c) return;
    json_t *call = NULL, *known = NULL, *made = NULL;
    /* who may take calls, before anything is looked up for the caller */
    if (!declared_allowed(req, svc, "trouble-calls", req->json) ||
        !(call = call_asked(svc, req, c)))
        goto done;
    if (db_begin(c) != OK) {
        service_db_down(req, "nothing was stored");
        goto done;
    }
    if (lock_calls(req, c, SQL_CALLS_SHARED) != OK || explained(svc, req, c, call, &known) != OK ||
        !(made = resource_create_in(svc, req, c, "TC", call)))
        goto done;
    char location[64];
    snprintf(location, sizeof location, "/v1/trouble-calls/%s", json_str(made, "code"));
    http_header(req, "Location", location);
    json_object_set(made, "known", known ? known : json_null());
    http_json(req, 201, json_incref(made));
    if (db_commit(c) != OK) service_commit_failed(req, c, "nothing was stored");
done:
    db_rollback(c);
    db_release(svc->db, c);
    json_decref(call);
    json_decref(known);
    json_decref(made);
}

/* ---- GET /v1/outages/predicted ------------------------------------------------------ */

/* Every grid element above code in the graph (parents: code -> [codes]),
 * into above (code -> true). */
static void elements_above(const json_t *parents, const char *code, json_t *above)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(parents, code), i, p) {
        const char *up = json_string_value(p);
        if (json_object_get(above, up)) continue;
        const biz_type *t = biz_type_by_prefix(up);
        if (t && t->owner == SVC_GRID) json_object_set_new(above, up, json_true());
        else json_object_set_new(above, up, json_false()); /* walked, not an element */
        elements_above(parents, up, above);
    }
}

/* A grid element and what is known of it for the grouping. */
typedef struct element {
    const char *code;
    size_t above;  /* elements above it: the more, the lower it stands */
    json_t *calls; /* indexes of the calls below it */
} element;

static int lower_first(const void *a, const void *b)
{
    const element *x = a, *y = b;
    if (x->above != y->above) return x->above < y->above ? 1 : -1;
    return strcmp(x->code, y->code);
}

/* The edges as child -> [parents], ties left out. */
static json_t *parents_of(service *svc, json_t *edges)
{
    json_t *parents = json_object();
    size_t i;
    json_t *e;
    json_array_foreach(edges, i, e) {
        const char *up = trace_edge_upstream(svc, e);
        if (!up) continue;
        const char *down = strcmp(up, json_str(e, "from")) == 0 ? json_str(e, "to")
                                                                : json_str(e, "from");
        json_t *list = json_object_get(parents, down);
        if (!list) json_object_set_new(parents, down, list = json_array());
        json_array_append_new(list, json_string(up));
    }
    return parents;
}

/* The elements above the calls' customers, lowest first (*n of them; the
 * codes are keys of index, which must outlive them). */
static element *elements_of(const json_t *parents, json_t *calls, json_t *index, size_t *n)
{
    json_t *per_customer = json_object();
    size_t i;
    json_t *call;
    json_array_foreach(calls, i, call) {
        const char *cu = json_str(call, "customer");
        json_t *above = json_object_get(per_customer, cu);
        if (!above) {
            json_object_set_new(per_customer, cu, above = json_object());
            elements_above(parents, cu, above);
        }
        const char *code;
        json_t *is;
        json_object_foreach(above, code, is) {
            if (!json_is_true(is)) continue;
            json_t *list = json_object_get(index, code);
            if (!list) json_object_set_new(index, code, list = json_array());
            json_array_append_new(list, json_integer((json_int_t)i));
        }
    }
    *n = json_object_size(index);
    element *els = xcalloc(*n + 1, sizeof *els);
    size_t k = 0;
    const char *code;
    json_t *list;
    json_object_foreach(index, code, list) {
        json_t *above = json_object();
        elements_above(parents, code, above);
        els[k++] = (element){code, json_object_size(above), list};
        json_decref(above);
    }
    qsort(els, *n, sizeof *els, lower_first);
    json_decref(per_customer);
    return els;
}

/* The customers an outage of code would cut now; -1 after answering. */
static long cut_by(service *svc, request *req, const char *code)
{
    json_t *named = json_pack("[s]", code);
    long n = trace_impact_count(svc, req, named, 0);
    json_decref(named);
    return n;
}

/* The one grid element directly above code, or NULL when there is none or
 * more than one. */
static const char *grid_parent(const json_t *parents, const char *code)
{
    const char *found = NULL;
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(parents, code), i, p) {
        const biz_type *t = biz_type_by_prefix(json_string_value(p));
        if (!t || t->owner != SVC_GRID) continue;
        if (found) return NULL;
        found = json_string_value(p);
    }
    return found;
}

/* The element a group is reported under: its own, or, in the radial part
 * below the lines, the one above it while that cuts the very same customers
 * (*cut): an access point that is its transformer's only one is no suspect
 * apart from the transformer. NULL after answering. */
static const char *suspect(service *svc, request *req, const json_t *parents, const char *code,
                           long *cut)
{
    if ((*cut = cut_by(svc, req, code)) < 0) return NULL;
    for (const char *up = grid_parent(parents, code); up && !trace_meshed(svc, up);
         up = grid_parent(parents, up)) {
        long above = cut_by(svc, req, up);
        if (above < 0) return NULL;
        if (above != *cut) break;
        code = up;
    }
    return code;
}

/* Lowest first, each element whose calls not claimed below number at least
 * min claims them. */
static json_t *groups_of(service *svc, request *req, const element *els, size_t n,
                         json_t *calls, const json_t *nodes, const json_t *parents)
{
    int min = svc->cfg.predict_min_calls;
    char *claimed = xcalloc(json_array_size(calls) + 1, 1);
    json_t *items = json_array();
    for (size_t k = 0; k < n && items; k++) {
        json_t *mine = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(els[k].calls, i, v) {
            json_int_t c = json_integer_value(v);
            if (!claimed[c]) json_array_append(mine, json_array_get(calls, (size_t)c));
        }
        if (json_array_size(mine) >= (size_t)min) {
            json_array_foreach(els[k].calls, i, v) claimed[json_integer_value(v)] = 1;
            long cut;
            const char *code = suspect(svc, req, parents, els[k].code, &cut);
            json_t *name = code ? json_object_get(json_object_get(nodes, code), "name") : NULL;
            if (!code) {
                json_decref(items);
                items = NULL;
            } else {
                json_array_append_new(
                    items, json_pack("{s:s, s:s, s:O, s:O, s:I}", "element", code, "type",
                                     biz_type_by_prefix(code)->type, "name",
                                     name ? name : json_null(), "calls", mine, "customers",
                                     (json_int_t)cut));
            }
        }
        json_decref(mine);
    }
    free(claimed);
    return items;
}

static void predicted(request *req, void *ctx)
{
    service *svc = ctx;
    db_conn *c = service_db(svc, req);
    if (!c) return;
    char hours[16], max[16];
    snprintf(hours, sizeof hours, "%d", svc->cfg.predict_window_hours);
    snprintf(max, sizeof max, "%d", PREDICT_CALLS_MAX);
    const char *params[] = {hours, max};
    char *sql = xasprintf(SQL_OPEN, resource_select_list(svc, "TC"));
    PGresult *r = db_exec(c, sql, 2, params);
    free(sql);
    json_t *calls = json_array(), *customers = json_object();
    int ok = db_ok(r);
    if (!ok) service_db_error(req, c, r, "trouble calls");
    for (int row = 0; ok && row < PQntuples(r); row++) {
        json_t *call = resource_row_json(svc, "TC", r, row);
        json_object_set_new(customers, json_str(call, "customer"), json_true());
        json_array_append_new(calls, call);
    }
    PQclear(r);
    db_release(svc->db, c); /* the walks ask grid-svc: nothing of ours held (waits.h) */
    json_t *roots = json_array(), *nodes = json_object(), *edges = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(customers, k, v) json_array_append_new(roots, json_string(k));
    if (ok && (json_array_size(roots) == 0 || trace_up_graph(svc, req, roots, nodes, edges) == OK)) {
        json_t *parents = parents_of(svc, edges), *index = json_object();
        size_t n;
        element *els = elements_of(parents, calls, index, &n);
        json_t *items = groups_of(svc, req, els, n, calls, nodes, parents);
        if (items)
            http_json(req, 200, json_pack("{s:o, s:i, s:i}", "items", items, "min_calls",
                                          svc->cfg.predict_min_calls, "window_hours",
                                          svc->cfg.predict_window_hours));
        free(els);
        json_decref(index);
        json_decref(parents);
    }
    json_decref(roots);
    json_decref(nodes);
    json_decref(edges);
    json_decref(calls);
    json_decref(customers);
}

void call_routes(service *svc, router *r)
{
    router_add(r, "POST", "/v1/trouble-calls", take_call, svc, ROUTE_BODY_JSON,
               "Take a trouble call 报修: {customer | account_no | phone, text, at?}; the answer's "
               "known names the outage that explains it");
    /* The grouping walks up across both platforms: a peer route. */
    router_add(r, "GET", "/v1/outages/predicted", predicted, svc, ROUTE_PEER,
               "Outages the unexplained trouble calls predict: per group the lowest grid element "
               "above them, its calls, and the customers it would cut");
}
