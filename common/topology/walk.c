/* walk.c -- a walk from the platform asked (walk.h): our legs, and the
 * hand-overs to the peer for its legs, until nothing is left to walk. */
#include "topology/walk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonutil.h"

/* The objects one hand-over may carry (codes and expand together), so that
 * a leg's body stays under WALK_BODY_LIMIT: a walk that would cross with
 * more is refused (422) rather than sent. */
static int handover_fits(request *req, size_t n)
{
    if (n <= WALK_CODES_MAX) return OK;
    http_problem(req, 422, "the walk would hand %zu objects over at once, more than the %d one "
                           "hand-over between the platforms takes; ask about fewer objects",
                 n, WALK_CODES_MAX);
    return ERR;
}

static void learn_peer_near(trace_state *ts, json_t *answer)
{
    json_t *near = json_object_get(answer, "near");
    pthread_mutex_lock(&ts->mu);
    for (int dir = 0; dir < 2; dir++) {
        const char *v = json_string_value(json_object_get(near, dir == 0 ? "up" : "down"));
        if (v && !ts->peer_near[dir]) ts->peer_near[dir] = xstrdup(v);
    }
    pthread_mutex_unlock(&ts->mu);
}

/* The body of a leg asked of the peer (leg.c reads it there). */
static char *handover_body(const walk *w)
{
    const trace_state *ts = w->l.svc->trace;
    json_t *body = json_pack("{s:O, s:O, s:s, s:b, s:s, s:s}", "codes", w->l.out_codes, "expand",
                             w->l.out_expand, "direction", w->l.dir == UP ? "up" : "down",
                             "design", w->l.design, "near", ts->ch.near_text[w->l.dir], "state",
                             w->l.normal ? "normal" : "current");
    if (w->l.describe != ALL_TYPES) {
        char *types = text_of_mask(w->l.describe);
        json_object_set_new(body, "describe", json_string(types));
        free(types);
    }
    char *text = json_text(body);
    json_decref(body);
    return text;
}

/* Takes the peer's answer in: its nodes and edges into the walk's, the
 * codes it leaves us to vet into back_codes (each once), the objects it
 * shows that our links may continue from into back_expand. ERR when the
 * answer is not a leg's. */
static int take_answer(walk *w, json_t *answer, json_t *back_codes, json_t *back_expand)
{
    json_t *pn = json_object_get(answer, "nodes"), *pe = json_object_get(answer, "edges");
    json_t *pc = json_object_get(answer, "codes"), *px = json_object_get(answer, "expand");
    if (!json_is_array(pn) || !json_is_array(pe) || !json_is_array(pc) || !json_is_array(px))
        return ERR;
    size_t i;
    json_t *v;
    json_array_foreach(pn, i, v) {
        if (json_is_string(v)) { /* an impact line: "code TAB ..." */
            const char *line = json_string_value(v), *tab = strchr(line, '\t');
            if (tab) json_object_setn(w->l.nodes, line, (size_t)(tab - line), v);
            continue;
        }
        const char *code = json_string_value(json_object_get(v, "code"));
        if (code) json_object_set(w->l.nodes, code, v);
    }
    json_array_extend(w->l.edges, pe);
    json_array_foreach(pc, i, v) {
        const char *code = json_string_value(v);
        if (!code || !catalogue_collection(w->l.svc->def, code) || json_object_get(w->l.seen, code))
            continue;
        json_object_set_new(w->l.seen, code, json_true());
        json_array_append(back_codes, v);
    }
    json_array_foreach(px, i, v) if (json_is_string(v)) json_array_append(back_expand, v);
    return OK;
}

/* The answer when the peer's leg brought nothing usable: the status every
 * failed peer call answers with (peer.h), Retry-After when it is worth
 * retrying, and "missing": the peer, the frontier it was handed (where the
 * chain goes on unknown) and how many objects were found. */
static void peer_failed(walk *w, const peer_response *pr)
{
    const char *name = service_peer_name(w->l.svc);
    json_t *frontier = json_copy(w->l.out_codes);
    json_array_extend(frontier, w->l.out_expand);
    json_t *missing = json_pack("{s:{s:s, s:o}}", "missing", "platform", name, "frontier",
                                frontier);
    size_t reached = json_object_size(w->l.nodes);
    json_object_set_new(missing, "reached", json_integer((json_int_t)reached));
    int status = peer_failure_status(pr);
    service_peer_retry_after(w->req, pr);
    if (status == 504)
        http_problem_extra(w->req, 504, missing,
                           "%s did not answer in time; the walk stopped with %zu objects found "
                           "and the rest of the chain unknown", name, reached);
    else if (status == 503)
        http_problem_extra(w->req, 503, missing,
                           "%s cannot answer now (it answered 503); the walk stopped with %zu "
                           "objects found and the rest of the chain unknown", name, reached);
    else
        http_problem_extra(w->req, status, missing,
                           "%s cannot be reached (%s); the walk stopped with %zu objects found "
                           "and the rest of the chain unknown", name,
                           pr->error ? pr->detail : "unexpected answer", reached);
    w->failed = 1;
}

/* Hands what is left to the peer for its leg; takes back what it leaves us
 * in back_codes (ours to vet) and back_expand (its shown objects our links
 * may continue from). ERR after answering. */
static int peer_leg(walk *w, json_t *back_codes, json_t *back_expand)
{
    service *svc = w->l.svc;
    if (handover_fits(w->req, json_array_size(w->l.out_codes) + json_array_size(w->l.out_expand)) !=
        OK) {
        w->failed = 1;
        return ERR;
    }
    char *text = handover_body(w);
    peer_response pr;
    peer_caller who = service_caller(w->req);
    peer_call(svc->peer, "POST", "/v1/graph/walk", &who, text, strlen(text), &pr);
    free(text);
    json_t *answer = pr.error == PEER_OK && pr.status == 200 ? json_loads(pr.body, 0, NULL) : NULL;
    int rc = take_answer(w, answer, back_codes, back_expand);
    if (rc == OK) {
        learn_peer_near(svc->trace, answer);
        json_array_clear(w->l.out_codes);
        json_array_clear(w->l.out_expand);
    } else {
        peer_failed(w, &pr);
    }
    json_decref(answer);
    peer_response_free(&pr);
    return rc;
}

/* Our part of the walk, on a connection taken for it alone: none is held
 * while the peer walks its part (waits.h). ERR after answering. */
static int walk_here_alone(walk *w, json_t *vet, json_t *grow)
{
    if (!json_array_size(vet) && !json_array_size(grow)) return OK;
    service *svc = w->l.svc;
    db_conn *c = service_db(svc, w->req);
    if (!c) {
        w->failed = 1;
        return ERR;
    }
    w->l.c = c;
    int rc = leg_walk_here(&w->l, vet, grow);
    w->l.c = NULL;
    db_release(svc->db, c);
    return rc;
}

/* What the peer expands from, as far as we know it yet. */
static void know_peer_near(leg *l)
{
    trace_state *ts = l->svc->trace;
    pthread_mutex_lock(&ts->mu);
    l->peer_near = ts->peer_near[l->dir];
    pthread_mutex_unlock(&ts->mu);
}

/* Walks from roots to the end of the chain, handing over to the peer
 * whenever the chain crosses: one request per crossing, however many
 * objects cross. Then answers 404 if a root is not shown. */
/* Codes as roots of the walk: ours to vet, the peer's for its first leg. */
static void start_from(leg *l, json_t *codes, json_t *vet)
{
    size_t i;
    json_t *v;
    json_array_foreach(codes, i, v) {
        if (json_object_get(l->seen, json_string_value(v))) continue;
        json_object_set_new(l->seen, json_string_value(v), json_true());
        json_array_append(catalogue_collection(l->svc->def, json_string_value(v)) ? vet
                                                                                   : l->out_codes,
                          v);
    }
}

int walk_from(walk *w, json_t *roots, json_t *also)
{
    leg *l = &w->l;
    know_peer_near(l);
    json_t *vet = json_array(), *grow = json_array();
    size_t i;
    json_t *v;
    start_from(l, roots, vet);
    if (also) start_from(l, also, vet);
    int rc = walk_here_alone(w, vet, grow);
    for (int round = 0; rc == OK && round < MAX_LEVELS &&
                        (json_array_size(l->out_codes) || json_array_size(l->out_expand));
         round++) {
        json_array_clear(vet);
        json_array_clear(grow);
        rc = peer_leg(w, vet, grow);
        /* the peer's answer taught us its prefixes: later hand-overs carry only those */
        know_peer_near(l);
        if (rc == OK) rc = walk_here_alone(w, vet, grow);
    }
    json_decref(vet);
    json_decref(grow);
    if (rc != OK) {
        if (!w->failed) service_db_down(w->req, "the walk stopped");
        return ERR;
    }
    json_array_foreach(roots, i, v) {
        if (json_object_get(l->nodes, json_string_value(v))) continue;
        http_problem(w->req, 404, "no %s object with code %s%s",
                     l->design ? "design or operational" : "current", json_string_value(v),
                     l->design ? "" : " (add status=design for red-drawing objects)");
        return ERR;
    }
    return OK;
}

json_t *walk_shown_edges(const leg *l)
{
    json_t *out = json_array(), *once = json_object();
    size_t i;
    json_t *e;
    json_array_foreach(l->edges, i, e) {
        const char *from = json_string_value(json_object_get(e, "from"));
        const char *to = json_string_value(json_object_get(e, "to"));
        const char *kind = json_string_value(json_object_get(e, "kind"));
        if (!from || !to || !kind || !json_object_get(l->nodes, from) ||
            !json_object_get(l->nodes, to))
            continue;
        char key[2 * BIZCODE_LEN + 80];
        snprintf(key, sizeof key, "%s %s %s", from, to, kind);
        if (json_object_get(once, key)) continue;
        json_object_set_new(once, key, json_true());
        json_array_append(out, e);
    }
    json_decref(once);
    return out;
}
