/* leg.c -- a leg of a walk (leg.h): the walk on this platform's links, and
 * POST /v1/graph/walk, the leg the peer asks of us, read and answered. */
#include "topology/leg.h"

#include <stdlib.h>
#include <string.h>

#include "base/jsonutil.h"
#include "store/pgarray.h"
#include "topology/trace.h"

void leg_init(leg *l, service *svc, db_conn *c, int dir, int design, tmask describe)
{
    *l = (leg){.svc = svc, .c = c, .dir = dir, .design = design, .describe = describe,
               .nodes = json_object(),
               .edges = json_array(), .seen = json_object(), .out_codes = json_array(),
               .out_expand = json_array()};
}

void leg_free(leg *l)
{
    json_decref(l->nodes);
    json_decref(l->edges);
    json_decref(l->seen);
    json_decref(l->out_codes);
    json_decref(l->out_expand);
}

/* ---- the walk here ------------------------------------------------------------ */

static int peer_may_expand(const leg *l, const char *code)
{
    if (!l->peer_near) return 1;
    char prefix[4] = {code[0], code[1], ',', 0};
    return strstr(l->peer_near, prefix) != NULL;
}

/* One row of the walk: its edge (a trace keeps them), and the object
 * reached, as a node if shown here, or for the other platform if it keeps
 * it. as_text: the node kept as PostgreSQL wrote it, not parsed. */
static void take_row(leg *l, PGresult *r, int row, int as_text)
{
    const char *code = PQgetvalue(r, row, 0);
    if (!PQgetisnull(r, row, 5) && l->describe == ALL_TYPES) {
        json_t *e = json_pack("{s:s, s:s, s:s}", "from", PQgetvalue(r, row, 3), "to",
                              PQgetvalue(r, row, 4), "kind", PQgetvalue(r, row, 5));
        if (!PQgetisnull(r, row, 6)) { /* the link's switch, and its position now */
            json_object_set_new(e, "switch", json_string(PQgetvalue(r, row, 6)));
            json_object_set_new(e, "open", json_boolean(!PQgetisnull(r, row, 7) &&
                                                        PQgetvalue(r, row, 7)[0] == 't'));
        }
        json_array_append_new(l->edges, e);
    }
    if (!PQgetisnull(r, row, 1)) {
        if (json_object_get(l->nodes, code)) return;
        const char *text = PQgetvalue(r, row, 1);
        json_t *node = strcmp(text, "true") == 0 ? json_true()
                       : as_text ? json_stringn_nocheck(text, (size_t)PQgetlength(r, row, 1))
                                 : json_loads(text, 0, NULL);
        json_object_set_new(l->nodes, code, node);
        if (peer_may_expand(l, code)) json_array_append_new(l->out_expand, json_string(code));
    } else if (!catalogue_collection(l->svc->def, code) && !json_object_get(l->seen, code) &&
               !json_object_get(l->nodes, code)) {
        json_object_set_new(l->seen, code, json_true());
        json_array_append_new(l->out_codes, json_string(code));
    }
}

int leg_walk_here(leg *l, json_t *to_vet, json_t *to_expand)
{
    if (!json_array_size(to_vet) && !json_array_size(to_expand)) return OK;
    trace_state *ts = l->svc->trace;
    size_t i;
    json_t *v;
    /* vetted by the peer already: never handed back to it */
    json_array_foreach(to_expand, i, v) json_object_set(l->seen, json_string_value(v), json_true());
    char *once;
    const char *sql = walk_plans_sql(&ts->plans, l->svc->def, &ts->ch, l->dir,
                                     mask_of_codes(to_vet), mask_of_codes(to_expand), l->describe,
                                     &once);
    char *vet = pg_array_of_strings(to_vet), *grow = pg_array_of_strings(to_expand);
    const char *params[] = {vet, grow, ts->ch.shown[l->design != 0], l->normal ? "t" : "f"};
    PGresult *r = once ? db_exec_once(l->c, sql, 4, params) : db_exec(l->c, sql, 4, params);
    free(once);
    free(vet);
    free(grow);
    if (!db_ok(r)) {
        PQclear(r);
        return ERR;
    }
    /* a peer's leg passes its nodes on, and an impact walk's are lines */
    int as_text = l->raw || l->describe != ALL_TYPES;
    for (int row = 0; row < PQntuples(r); row++) take_row(l, r, row, as_text);
    PQclear(r);
    return OK;
}

/* ---- questions of the grid asked of the peer ------------------------------------ */

int leg_ask_peer(service *svc, request *req, const char *path, json_t *body, peer_response *pr)
{
    char *text = json_text(body);
    json_decref(body);
    peer_caller who = service_caller(req);
    peer_call(svc->peer, "POST", path, &who, text, strlen(text), pr);
    free(text);
    return pr->error == PEER_OK && pr->status == 200 && pr->body ? OK : ERR;
}

void leg_peer_failed(service *svc, request *req, peer_response *pr, json_t *extra,
                     const char *what, const char *then)
{
    const char *name = service_peer_name(svc);
    if (!extra) extra = json_object();
    json_t *missing = json_object_get(extra, "missing");
    if (!missing) json_object_set_new(extra, "missing", missing = json_object());
    json_object_set_new(missing, "platform", json_string(name));
    service_peer_retry_after(req, pr);
    http_problem_extra(req, peer_failure_status(pr), extra, "%s could not say %s (%s); %s", name,
                       what, pr->error ? pr->detail : "unexpected answer", then);
}

/* ---- POST /v1/graph/walk: the peer's leg ---------------------------------------- */

int leg_state(request *req, const char *s, int *normal)
{
    *normal = s && strcmp(s, "normal") == 0;
    if (!s || *normal || strcmp(s, "current") == 0) return OK;
    http_problem(req, 400, "state must be current (the grid as it is now, the default) or normal "
                           "(the normal arrangement of its switches)");
    return ERR;
}

int leg_direction(request *req, const char *d)
{
    if (d && strcmp(d, "up") == 0) return UP;
    if (d && strcmp(d, "down") == 0) return DOWN;
    http_problem(req, 400, "direction must be up or down");
    return -1;
}

int leg_codes_of(request *req, json_t *arr, const char *member, json_t **out)
{
    *out = json_array();
    if (!arr) return OK;
    if (!json_is_array(arr)) {
        http_problem(req, 400, "%s must be an array of codes", member);
        return ERR;
    }
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        char canon[BIZCODE_LEN + 1];
        if (!json_is_string(v) || bizcode_parse(json_string_value(v), canon, NULL) != BIZ_OK) {
            http_problem(req, 400, "%s[%zu] is not a valid code", member, i);
            return ERR;
        }
        json_array_append_new(*out, json_string(canon));
    }
    return OK;
}

/* Body {"codes": reached objects kept here, to vet and walk on from,
 * "expand": shown objects kept by the asker that our links may continue
 * from, "direction", "design": bool, "near": the asker's prefixes,
 * "describe": the types to describe, as impact lines ("CU,"; absent: all,
 * as nodes, with edges)}, read (trace.h). */
int trace_walk_ask(request *req, const json_t *body, walk_ask *ask)
{
    json_t *codes = NULL, *grow = NULL;
    int dir = leg_direction(req, json_string_value(json_object_get(body, "direction")));
    const char *near = json_string_value(json_object_get(body, "near"));
    int normal = 0;
    if (dir >= 0 && leg_state(req, json_string_value(json_object_get(body, "state")), &normal) != OK)
        return ERR;
    json_t *describe = json_object_get(body, "describe");
    *ask = (walk_ask){0};
    if (describe && !json_is_string(describe)) {
        http_problem(req, 400, "describe must be a string of type prefixes, e.g. \"CU,\"");
        return ERR;
    }
    /* Counted before any code is read: too many is refused at once. */
    json_t *given = json_object_get(body, "codes"), *more = json_object_get(body, "expand");
    size_t n = json_array_size(given) + json_array_size(more);
    if (dir < 0 || n > WALK_CODES_MAX) {
        if (dir >= 0)
            http_problem(req, 400, "a leg takes at most %d codes (codes and expand together), not "
                                   "%zu", WALK_CODES_MAX, n);
        return ERR;
    }
    if (leg_codes_of(req, given, "codes", &codes) != OK ||
        leg_codes_of(req, more, "expand", &grow) != OK) {
        json_decref(codes);
        json_decref(grow);
        return ERR;
    }
    *ask = (walk_ask){.dir = dir, .design = json_is_true(json_object_get(body, "design")),
                      .normal = normal,
                      .near = near ? near : "",
                      .describe = describe ? mask_of_text(json_string_value(describe)) : ALL_TYPES,
                      .codes = codes, .expand = grow};
    return OK;
}

void trace_walk_ask_free(walk_ask *ask)
{
    json_decref(ask->codes);
    json_decref(ask->expand);
    *ask = (walk_ask){0};
}

/* A raw leg's answer: "nodes", those described, as PostgreSQL wrote them
 * (a whole substation's customers are not parsed only to be written out
 * again; an impact walk's lines as JSON strings), and the objects it was
 * handed to vet ({"code"} only when not described, so the asker knows them
 * found); then the members of rest. */
static char *leg_answer(const leg *l, json_t *rest, size_t *len)
{
    sbuf b = {0};
    sb_append(&b, "{\"nodes\":[");
    const char *sep = "", *k;
    json_t *v;
    json_object_foreach(l->nodes, k, v) {
        if (json_is_string(v)) {
            sb_append(&b, sep);
            if (l->describe != ALL_TYPES)
                sb_json_string(&b, json_string_value(v));
            else
                sb_appendn(&b, json_string_value(v), json_string_length(v));
        } else if (json_object_get(l->seen, k)) {
            sb_appendf(&b, "%s{\"code\":\"%s\"}", sep, k); /* a canonical code: no escapes */
        } else {
            continue;
        }
        sep = ",";
    }
    char *tail = json_text(rest); /* "{...}": its members follow the nodes */
    sb_append(&b, json_object_size(rest) ? "]," : "]");
    sb_append(&b, tail + 1);
    free(tail);
    *len = b.len;
    return sb_steal(&b);
}

/* Codes of list that this platform keeps. */
static json_t *kept_here(service *svc, json_t *list)
{
    json_t *out = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
        if (catalogue_collection(svc->def, json_string_value(v))) json_array_append(out, v);
    return out;
}

/* Walks here as far as our links go and answers the nodes and edges found,
 * with what is left for the asker: "codes" it keeps and "expand" it may
 * walk on, and our "near" prefixes, so that it hands over only those. */
void leg_serve(request *req, void *ctx)
{
    service *svc = ctx;
    walk_ask ask;
    if (trace_walk_ask(req, req->json, &ask) != OK) return;
    /* The whole leg on one connection: it never waits on the peer. */
    db_conn *c = service_db(svc, req);
    if (c) {
        leg l;
        leg_init(&l, svc, c, ask.dir, ask.design, ask.describe);
        l.normal = ask.normal;
        l.peer_near = ask.near;
        l.raw = 1;
        json_t *mine = kept_here(svc, ask.codes);
        size_t i;
        json_t *v;
        json_array_foreach(mine, i, v) json_object_set_new(l.seen, json_string_value(v), json_true());
        if (leg_walk_here(&l, mine, ask.expand) == OK) {
            const chain *ch = &((trace_state *)svc->trace)->ch;
            json_t *rest = json_pack("{s:O, s:O, s:O, s:{s:s, s:s}}", "edges", l.edges, "codes",
                                     l.out_codes, "expand", l.out_expand, "near", "up",
                                     ch->near_text[UP], "down", ch->near_text[DOWN]);
            size_t len;
            char *text = leg_answer(&l, rest, &len);
            json_decref(rest);
            http_raw(req, 200, "application/json", text, len);
        } else {
            service_db_down(req, "the walk stopped");
        }
        json_decref(mine);
        leg_free(&l);
        db_release(svc->db, c);
    }
    trace_walk_ask_free(&ask);
}
