/* outage_list.c -- an outage's customer list, frozen when it is announced
 * (DESIGN §10): who was told, with how to reach them and where they are,
 * as they were then. Later changes to the grid or the customers do not
 * alter it.
 *
 * Taken before the outage's transaction, since it asks grid-svc twice: the
 * outage's impact in the grid as it is now (trace.h), then the transformer
 * area 台区 of each listed customer's meter boxes, supply points and
 * metering points (areas.h). Stored in one statement inside it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonutil.h"
#include "outages.h"
#include "store/pgarray.h"
#include "topology/areas.h"
#include "topology/trace.h"

#define LIST_LIMIT_DEFAULT 100
#define LIST_LIMIT_MAX 1000

/* The customer-side objects of the customers that the grid may feed. */
static const char SQL_OBJECTS[] =
    "SELECT meter_box FROM meter_reach WHERE customer = ANY($1::text[]) "
    "UNION SELECT code FROM supply_points WHERE customer = ANY($1::text[]) AND status <> 'retired' "
    "UNION SELECT code FROM metering_points WHERE customer = ANY($1::text[]) "
    "AND status <> 'retired' "
    "UNION SELECT unnest($1::text[])";

/* Each customer as it is now. Its area: that of its objects the outage cut
 * first (then boxes, supply points, metering points, the customer itself).
 * backup: a generator, or a supply point the outage did not reach that the
 * grid feeds. $3 and $4 are JSON objects keyed by code, looked up by key. */
static const char SQL_STORE[] =
    "WITH p AS MATERIALIZED (SELECT $3::jsonb AS reached, $4::jsonb AS areas) "
    "INSERT INTO outage_customers (outage, customer, name, phone, address, transformer, "
    "transformer_name, backup) "
    "SELECT $1, c.code, c.name, c.phone, "
    "nullif(concat_ws('', a.province, a.city, a.district, a.street, a.community, a.building, "
    "a.unit, a.room, a.detail), ''), tr.transformer, tr.transformer_name, "
    "EXISTS (SELECT 1 FROM backup_generators g WHERE g.customer = c.code "
    "AND g.status <> 'retired') "
    "OR EXISTS (SELECT 1 FROM supply_points s WHERE s.customer = c.code AND s.status <> 'retired' "
    "AND NOT p.reached ? s.code AND p.areas ? s.code) "
    "FROM p CROSS JOIN customers c LEFT JOIN addresses a ON a.code = c.address "
    "LEFT JOIN LATERAL (SELECT p.areas -> o.k ->> 'transformer' AS transformer, "
    "p.areas -> o.k ->> 'transformer_name' AS transformer_name FROM ("
    "SELECT m.meter_box AS k, 1 AS pref FROM meter_reach m WHERE m.customer = c.code "
    "UNION ALL SELECT s.code, 2 FROM supply_points s WHERE s.customer = c.code "
    "AND s.status <> 'retired' "
    "UNION ALL SELECT q.code, 3 FROM metering_points q WHERE q.customer = c.code "
    "AND q.status <> 'retired' "
    "UNION ALL SELECT c.code, 4) o "
    "WHERE p.areas -> o.k ->> 'transformer' IS NOT NULL "
    "ORDER BY p.reached ? o.k DESC, o.pref, o.k LIMIT 1) tr ON true "
    "WHERE c.code = ANY($2::text[])";

static const char SQL_PAGE[] =
    "SELECT l.customer, json_build_object('code', l.customer, 'name', l.name, 'phone', l.phone, "
    "'address', l.address, 'transformer', l.transformer, 'transformer_name', "
    "l.transformer_name, 'backup', l.backup, 'notices', coalesce((SELECT json_agg("
    "json_build_object('code', n.code, 'message', n.message, 'state', n.state, 'detail', "
    "n.detail) ORDER BY n.code) FROM notices n WHERE n.outage = l.outage AND n.customer = "
    "l.customer), '[]'))::text FROM outage_customers l WHERE l.outage = $1 AND ($2::text IS "
    "NULL OR l.customer > $2) ORDER BY l.customer LIMIT $3";
static const char SQL_EXISTS[] = "SELECT 1 FROM outages WHERE code = $1";

void outage_list_free(frozen_list *fl)
{
    json_decref(fl->customers);
    json_decref(fl->reached);
    json_decref(fl->areas);
    *fl = (frozen_list){0};
}

/* The impact's nodes: customers (impact lines) into fl->customers, the
 * customer-side objects it walked through into fl->reached. */
static void take_nodes(json_t *nodes, frozen_list *fl)
{
    static const char *const objects[] = {"SP", "MB", "MP", NULL};
    const char *code;
    json_t *node;
    json_object_foreach(nodes, code, node) {
        if (json_is_string(node) && strncmp(code, "CU", 2) == 0)
            json_array_append_new(fl->customers, json_string(code));
        else if (catalogue_lists(objects, code))
            json_object_set_new(fl->reached, code, json_true());
    }
}

static int cmp_codes(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

static void sort_codes(json_t *codes)
{
    size_t n = json_array_size(codes);
    json_t **items = xcalloc(n + 1, sizeof *items);
    for (size_t i = 0; i < n; i++) items[i] = json_incref(json_array_get(codes, i));
    qsort(items, n, sizeof *items, cmp_codes);
    json_array_clear(codes);
    for (size_t i = 0; i < n; i++) json_array_append_new(codes, items[i]);
    free(items);
}

/* The objects of the customers whose areas grid-svc is asked; NULL after
 * answering. */
static json_t *objects_of(service *svc, request *req, json_t *customers)
{
    db_conn *c = service_db(svc, req);
    if (!c) return NULL;
    char *arr = pg_array_of_strings(customers);
    const char *params[] = {arr};
    PGresult *r = db_exec(c, SQL_OBJECTS, 1, params);
    free(arr);
    json_t *codes = NULL;
    if (!db_ok(r)) {
        service_db_error(req, c, r, "outages");
    } else {
        codes = json_array();
        for (int row = 0; row < PQntuples(r); row++)
            json_array_append_new(codes, json_string(PQgetvalue(r, row, 0)));
    }
    PQclear(r);
    db_release(svc->db, c);
    return codes;
}

int outage_list_take(service *svc, request *req, json_t *elements, frozen_list *fl)
{
    *fl = (frozen_list){json_array(), json_object(), NULL};
    json_t *nodes = json_object();
    int rc = trace_impact_nodes(svc, req, elements, 0, nodes);
    if (rc == OK) take_nodes(nodes, fl);
    json_decref(nodes);
    if (rc != OK) return ERR;
    sort_codes(fl->customers);
    json_t *objects = objects_of(svc, req, fl->customers);
    if (!objects) return ERR;
    rc = areas_of(svc, req, objects, &fl->areas);
    json_decref(objects);
    return rc;
}

int outage_list_store(request *req, db_conn *c, const char *outage, const frozen_list *fl,
                      long *n)
{
    char *customers = pg_array_of_strings(fl->customers);
    char *reached = json_text(fl->reached), *areas = json_text(fl->areas);
    const char *params[] = {outage, customers, reached, areas};
    PGresult *r = db_exec(c, SQL_STORE, 4, params);
    free(customers);
    free(reached);
    free(areas);
    int ok = db_ok(r);
    if (!ok)
        service_db_error(req, c, r, "outages");
    else
        *n = strtol(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return ok ? OK : ERR;
}

/* ---- GET /v1/outages/{code}/customers -------------------------------------------- */

static json_t *list_item(const void *ctx, const PGresult *r, int row)
{
    (void)ctx;
    return json_loads(PQgetvalue(r, row, 1), 0, NULL);
}

void outage_list_page(request *req, void *ctx)
{
    service *svc = ctx;
    char code[BIZCODE_LEN + 1], after[BIZCODE_LEN + 1];
    const char *a = http_query(req, "after"), *ls = http_query(req, "limit");
    int limit = LIST_LIMIT_DEFAULT;
    if (service_path_code(req, "OG", code) != OK) return;
    if (ls && http_limit(req, ls, LIST_LIMIT_MAX, &limit) != OK) return;
    if (a && bizcode_parse(a, after, NULL) != BIZ_OK) {
        http_problem(req, 400, "after must be a customer code, the next of the page before");
        return;
    }
    db_conn *c = service_db(svc, req);
    if (!c) return;
    const char *p1[] = {code};
    PGresult *r = db_exec(c, SQL_EXISTS, 1, p1);
    if (!db_ok(r)) {
        service_db_error(req, c, r, "outages");
    } else if (PQntuples(r) == 0) {
        http_problem(req, 404, "no outage with code %s", code);
    } else {
        PQclear(r);
        char lim[16];
        snprintf(lim, sizeof lim, "%d", limit + 1);
        const char *p[] = {code, a ? after : NULL, lim};
        r = db_exec(c, SQL_PAGE, 3, p);
        if (db_ok(r))
            service_page(req, r, limit, list_item, NULL);
        else
            service_db_error(req, c, r, "outages");
    }
    PQclear(r);
    db_release(svc->db, c);
}
