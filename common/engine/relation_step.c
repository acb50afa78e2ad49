/* relation_step.c -- the writes to links made as one part of a larger
 * step, on the step's open transaction (resource.h: relation_add_in,
 * _status_in, _end_in), and the end rules an object changed by any write
 * must keep while it is the end of a current link. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/changes.h"
#include "engine/relation_rt.h"
#include "model/fields.h"

/* A change to an object must not break the rule of a current link it is an
 * end of: a dedicated transformer serving a customer cannot turn public. */
int relation_rules_hold(service *svc, request *req, db_conn *c, const char *code,
                        const json_t *merged)
{
    rel_table *t = svc->relations;
    for (int i = 0; i < t->n; i++) {
        const rel_rt *rt = &t->items[i];
        const end_rule *rules[] = {rt->def->from_rule, rt->def->to_rule};
        const char *const *ends[] = {rt->def->from, rt->def->to};
        for (int e = 0; e < 2; e++) {
            const end_rule *rule = rules[e];
            if (!rule) continue;
            int ours = 0;
            for (const char *const *p = ends[e]; *p; p++) ours |= strncmp(*p, code, 2) == 0;
            const char *v = json_string_value(json_object_get(merged, rule->field));
            if (!ours || (v && strcmp(v, rule->value) == 0)) continue;
            char *sql = xasprintf("SELECT from_code, to_code FROM %s WHERE %s = $1 AND valid_to "
                                  "IS NULL LIMIT 1", rt->def->table, e == 0 ? "from_code" : "to_code");
            const char *params[] = {code};
            PGresult *r = db_exec_once(c, sql, 1, params);
            free(sql);
            int rc = OK;
            if (!db_ok(r)) {
                service_db_error(req, c, r, rt->def->kind);
                rc = ERR;
            } else if (PQntuples(r) > 0) {
                http_problem_extra(req, 409,
                                   json_pack("{s:{s:s, s:s, s:s}}", "existing", "kind", rt->def->kind,
                                             "from", PQgetvalue(r, 0, 0), "to", PQgetvalue(r, 0, 1)),
                                   "%s must keep %s %s while it has a current %s link; end the "
                                   "link first", code, rule->field, rule->value, rt->def->kind);
                rc = ERR;
            }
            PQclear(r);
            if (rc != OK) return ERR;
        }
    }
    return OK;
}

/* ---- writes that are part of a larger step (resource.h) ---------------------- */

/* The relation kept here of a kind; 500 when there is none. */
static rel_rt *rt_of(request *req, service *svc, const char *kind)
{
    rel_table *t = svc->relations;
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->items[i].def->kind, kind) == 0) return &t->items[i];
    char what[96];
    snprintf(what, sizeof what, "%s relations", kind);
    declared_not_kept(req, svc, what);
    return NULL;
}

const bulk_spec *relation_bulk_spec(service *svc, const char *kind)
{
    rel_table *t = svc->relations;
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->items[i].def->kind, kind) == 0) return &t->items[i].bulk;
    return NULL;
}

int relation_confirm_peer_ends(service *svc, request *req, const char *kind, const char *from,
                               const char *to)
{
    rel_rt *rt = rt_of(req, svc, kind);
    return rt ? rel_confirm_peer_ends(req, rt, from, to) : ERR;
}

json_t *relation_add_in(service *svc, request *req, db_conn *c, const char *kind, json_t *link)
{
    rel_rt *rt = rt_of(req, svc, kind);
    if (!rt) return NULL;
    int nattr = fields_ncols(rt->attrs);
    char **cols = xcalloc((size_t)nattr + 1, sizeof *cols);
    char from[BIZCODE_LEN + 1] = "", to[BIZCODE_LEN + 1] = "";
    json_t *out = NULL;
    if (rel_validate(req, rt, link, cols, from, to) == OK)
        out = rel_insert_link(req, rt, c, from, to,
                          json_string_value(json_object_get(link, "status")), cols);
    for (int i = 0; i < nattr; i++) free(cols[i]);
    free(cols);
    return out;
}

/* The current link from -> to as stored, or NULL after answering 404. */
static json_t *current_link(request *req, rel_rt *rt, db_conn *c, const char *from,
                            const char *to)
{
    const char *params[] = {from, to, "0", NULL, NULL, "1"};
    PGresult *r = db_exec(c, rt->sql_list[3], 6, params);
    json_t *link = NULL;
    if (!db_ok(r))
        service_db_error(req, c, r, rt->def->kind);
    else if (PQntuples(r) == 0)
        http_problem(req, 404, "no current %s link from %s to %s", rt->def->kind, from, to);
    else
        link = row_json(&rt->shape, r, 0);
    PQclear(r);
    return link;
}

json_t *relation_status_in(service *svc, request *req, db_conn *c, const char *kind,
                           const char *from, const char *to, const char *status)
{
    rel_rt *rt = rt_of(req, svc, kind);
    if (!rt) return NULL;
    json_t *before = current_link(req, rt, c, from, to), *after = NULL;
    if (!before) return NULL;
    if (strcmp(json_string_value(json_object_get(before, "status")), status) == 0) return before;
    const char *params[] = {from, to, status};
    PGresult *r = db_exec(c, rt->sql_status, 3, params);
    if (!db_ok(r) || PQntuples(r) != 1) {
        service_db_error(req, c, r, rt->def->kind);
    } else {
        after = row_json(&rt->shape, r, 0);
        if (changes_record(req, c, "relation.updated", from, to, before, after) != OK) {
            json_decref(after);
            after = NULL;
        }
    }
    PQclear(r);
    json_decref(before);
    return after;
}

json_t *relation_end_in(service *svc, request *req, db_conn *c, const char *kind,
                        const char *from, const char *to)
{
    rel_rt *rt = rt_of(req, svc, kind);
    return rt ? rel_end_link(req, rt, c, from, to) : NULL;
}
