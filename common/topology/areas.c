/* areas.c -- see areas.h: transformer areas from the function of the
 * platform that keeps the grid, asked here or of the peer. */
#include "topology/areas.h"

#include <stdlib.h>
#include <string.h>

#include "base/jsonutil.h"
#include "store/pgarray.h"
#include "topology/leg.h"

/* One row, [code, feeder, transformer, transformer_name], into areas. */
static void take_area(json_t *areas, json_t *row)
{
    const char *code = json_string_value(json_array_get(row, 0));
    if (!code || json_object_get(areas, code)) return; /* one feeder each; the first kept */
    json_object_set_new(areas, code,
                        json_pack("{s:O, s:O, s:O}", "feeder", json_array_get(row, 1),
                                  "transformer", json_array_get(row, 2), "transformer_name",
                                  json_array_get(row, 3)));
}

static json_t *cell(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? json_null() : json_string(PQgetvalue(r, row, col));
}

/* The function's rows for codes as [[code, feeder, transformer, name]];
 * NULL when the database failed (not answered). */
static json_t *rows_here(service *svc, db_conn *c, json_t *codes)
{
    char *arr = pg_array_of_strings(codes);
    char *sql = xasprintf("SELECT code, feeder, transformer, transformer_name FROM %s($1::text[]) "
                          "ORDER BY code, feeder",
                          svc->def->transformer_areas);
    const char *params[] = {arr};
    PGresult *r = db_exec(c, sql, 1, params);
    free(sql);
    free(arr);
    json_t *rows = NULL;
    if (db_ok(r)) {
        rows = json_array();
        for (int row = 0; row < PQntuples(r); row++)
            json_array_append_new(rows, json_pack("[o, o, o, o]", cell(r, row, 0), cell(r, row, 1),
                                                  cell(r, row, 2), cell(r, row, 3)));
    }
    PQclear(r);
    return rows;
}

static int areas_of_peer_part(service *svc, request *req, json_t *codes, json_t *areas)
{
    peer_response pr;
    json_t *answer = leg_ask_peer(svc, req, "/v1/graph/areas", json_pack("{s:O}", "codes", codes),
                                  &pr) == OK ? json_loads(pr.body, 0, NULL) : NULL;
    json_t *rows = json_object_get(answer, "rows");
    int rc = json_is_array(rows) ? OK : ERR;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) take_area(areas, row);
    if (rc != OK)
        leg_peer_failed(svc, req, &pr, NULL, "which transformer areas the customers are in",
                        "nothing was stored");
    json_decref(answer);
    peer_response_free(&pr);
    return rc;
}

/* Codes asked of the peer in one request: a city substation's customers
 * bring three or four codes each, more than a body takes at once. */
#define AREAS_CHUNK 50000

static int areas_of_peer(service *svc, request *req, json_t *codes, json_t *areas)
{
    size_t n = json_array_size(codes);
    for (size_t from = 0; from < n; from += AREAS_CHUNK) {
        json_t *part = json_array();
        for (size_t i = from; i < n && i < from + AREAS_CHUNK; i++)
            json_array_append(part, json_array_get(codes, i));
        int rc = areas_of_peer_part(svc, req, part, areas);
        json_decref(part);
        if (rc != OK) return ERR;
    }
    return OK;
}

int areas_of(service *svc, request *req, json_t *codes, json_t **areas)
{
    *areas = json_object();
    if (json_array_size(codes) == 0) return OK;
    if (!svc->def->transformer_areas) return areas_of_peer(svc, req, codes, *areas);
    db_conn *c = service_db(svc, req);
    if (!c) return ERR;
    json_t *rows = rows_here(svc, c, codes);
    db_release(svc->db, c);
    if (!rows) {
        service_db_down(req, "nothing was stored");
        return ERR;
    }
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) take_area(*areas, row);
    json_decref(rows);
    return OK;
}

/* ---- POST /v1/graph/areas ------------------------------------------------------- */

static void areas_serve(request *req, void *ctx)
{
    service *svc = ctx;
    json_t *given = json_object_get(req->json, "codes"), *codes = NULL;
    if (!json_is_array(given) || json_array_size(given) > WALK_CODES_MAX) {
        http_problem(req, 400, "codes must be an array of at most %d codes", WALK_CODES_MAX);
        return;
    }
    if (leg_codes_of(req, given, "codes", &codes) == OK) {
        db_conn *c = service_db(svc, req);
        json_t *rows = c ? rows_here(svc, c, codes) : NULL;
        if (c) db_release(svc->db, c);
        if (rows)
            http_json(req, 200, json_pack("{s:o}", "rows", rows));
        else if (c)
            service_db_down(req, "nothing was read");
    }
    json_decref(codes);
}

void areas_routes(service *svc, router *r)
{
    if (!svc->def->transformer_areas) return;
    route *rt = router_add(r, "POST", "/v1/graph/areas", areas_serve, svc,
                           ROUTE_BODY_JSON | ROUTE_BODY_BULK | ROUTE_SLOW | ROUTE_READ_ONLY,
                           "The grid object feeding each customer-side object and its "
                           "transformer area 台区 (used by the peer)");
    rt->body_limit = WALK_BODY_LIMIT;
}
