/* energise.c -- see energise.h: the cut of an outage, from the function of
 * the platform that keeps the grid, asked here or of the peer. */
#include "topology/energise.h"

#include <stdlib.h>
#include <string.h>

#include "base/jsonutil.h"
#include "store/pgarray.h"

#define CUT_CODES_MAX 1000 /* as many as an outage may name (trace.c) */

static outage_cut empty_cut(void)
{
    return (outage_cut){json_array(), json_object(), json_array()};
}

void outage_cut_free(outage_cut *oc)
{
    json_decref(oc->alone);
    json_decref(oc->components);
    json_decref(oc->restore);
    *oc = (outage_cut){0};
}

/* One row of the function, (what, code, component), into oc. */
static void take_cut_row(outage_cut *oc, const char *what, const char *code, const char *comp)
{
    if (strcmp(what, "restore") == 0 && comp) {
        json_array_append_new(oc->restore, json_pack("{s:s, s:s}", "switch", code, "component",
                                                     comp));
    } else if (strcmp(what, "cut") == 0 && comp) {
        json_t *lines = json_object_get(oc->components, comp);
        if (!lines) json_object_set_new(oc->components, comp, lines = json_array());
        json_array_append_new(lines, json_string(code));
    } else if (strcmp(what, "cut") == 0) {
        json_array_append_new(oc->alone, json_string(code));
    }
}

/* The function's rows for named, on a connection of our own. ERR: the
 * database failed (not answered). */
static int cut_here(service *svc, db_conn *c, json_t *named, int normal, outage_cut *oc)
{
    char *codes = pg_array_of_strings(named);
    char *sql = xasprintf("SELECT what, code, component FROM %s($1::text[], $2::boolean)",
                          svc->def->outage_cut);
    const char *params[] = {codes, normal ? "t" : "f"};
    PGresult *r = db_exec(c, sql, 2, params);
    free(sql);
    free(codes);
    int ok = db_ok(r);
    for (int row = 0; ok && row < PQntuples(r); row++)
        take_cut_row(oc, PQgetvalue(r, row, 0), PQgetvalue(r, row, 1),
                     PQgetisnull(r, row, 2) ? NULL : PQgetvalue(r, row, 2));
    PQclear(r);
    return ok ? OK : ERR;
}

/* The peer's answer ({"rows": [[what, code, component|null], ...]}) into oc. */
static int take_cut_answer(outage_cut *oc, const char *body)
{
    json_t *answer = body ? json_loads(body, 0, NULL) : NULL;
    json_t *rows = json_object_get(answer, "rows");
    int rc = json_is_array(rows) ? OK : ERR;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        const char *what = json_string_value(json_array_get(row, 0));
        const char *code = json_string_value(json_array_get(row, 1));
        char canon[BIZCODE_LEN + 1];
        if (!what || !code || bizcode_parse(code, canon, NULL) != BIZ_OK) {
            rc = ERR;
            break;
        }
        take_cut_row(oc, what, canon, json_string_value(json_array_get(row, 2)));
    }
    json_decref(answer);
    return rc;
}

static int cut_of_peer(service *svc, request *req, json_t *named, int normal, outage_cut *oc)
{
    peer_response pr;
    json_t *body = json_pack("{s:O, s:s}", "codes", named, "state", normal ? "normal" : "current");
    int rc = leg_ask_peer(svc, req, "/v1/graph/outage-cut", body, &pr) == OK
                 ? take_cut_answer(oc, pr.body) : ERR;
    /* as a walk that stops at the boundary answers (walk.c): where the chain goes on unknown */
    if (rc != OK)
        leg_peer_failed(svc, req, &pr,
                        json_pack("{s:{s:O}, s:i}", "missing", "frontier", named, "reached", 0),
                        "what the outage cuts", "nothing was listed");
    peer_response_free(&pr);
    return rc;
}

/* Whether any of named is the grid's, kept by the platform with outage_cut. */
static int names_grid(const service *svc, json_t *named)
{
    size_t i;
    json_t *v;
    json_array_foreach(named, i, v) {
        int here = catalogue_collection(svc->def, json_string_value(v)) != NULL;
        if (here == (svc->def->outage_cut != NULL)) return 1;
    }
    return 0;
}

int outage_cut_of(service *svc, request *req, json_t *named, int normal, outage_cut *oc)
{
    *oc = empty_cut();
    if (!names_grid(svc, named)) return OK;
    if (!svc->def->outage_cut) return cut_of_peer(svc, req, named, normal, oc);
    db_conn *c = service_db(svc, req);
    if (!c) return ERR;
    int rc = cut_here(svc, c, named, normal, oc);
    db_release(svc->db, c);
    if (rc != OK) service_db_down(req, "nothing was listed");
    return rc;
}

/* ---- POST /v1/graph/outage-cut -------------------------------------------------- */

static void answer_rows(request *req, const outage_cut *oc)
{
    json_t *rows = json_array();
    size_t i;
    json_t *v;
    const char *comp;
    json_array_foreach(oc->alone, i, v) json_array_append_new(rows, json_pack("[s, O, n]", "cut", v));
    json_object_foreach(oc->components, comp, v) {
        size_t j;
        json_t *line;
        json_array_foreach(v, j, line)
            json_array_append_new(rows, json_pack("[s, O, s]", "cut", line, comp));
    }
    json_array_foreach(oc->restore, i, v)
        json_array_append_new(rows, json_pack("[s, O, O]", "restore", json_object_get(v, "switch"),
                                              json_object_get(v, "component")));
    http_json(req, 200, json_pack("{s:o}", "rows", rows));
}

void outage_cut_serve(request *req, void *ctx)
{
    service *svc = ctx;
    json_t *given = json_object_get(req->json, "codes"), *named = NULL;
    int normal = 0;
    if (leg_state(req, json_string_value(json_object_get(req->json, "state")), &normal) != OK)
        goto done;
    if (!json_is_array(given) || json_array_size(given) > CUT_CODES_MAX) {
        http_problem(req, 400, "codes must be an array of at most %d codes", CUT_CODES_MAX);
        goto done;
    }
    if (leg_codes_of(req, given, "codes", &named) != OK) goto done;
    db_conn *c = service_db(svc, req);
    if (!c) goto done;
    outage_cut oc = empty_cut();
    if (cut_here(svc, c, named, normal, &oc) == OK)
        answer_rows(req, &oc);
    else
        service_db_down(req, "nothing was listed");
    db_release(svc->db, c);
    outage_cut_free(&oc);
done:
    json_decref(named);
}
