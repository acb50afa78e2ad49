/* references.c -- see references.h. */
#include "engine/references.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonutil.h"
#include "engine/context.h"
#include "store/pgarray.h"

/* Codes per question: as crossref.c's look-ups, a URL of 400 codes stays
 * well inside the request-line limits of both servers. */
#define REF_MAX_CODES 400
/* Items per answer. A code is named by a handful of objects; the bound is
 * for a question about many codes at once. */
#define REF_MAX_ITEMS 1000
/* Referring objects and links a 409 describes in its detail (all of them
 * are in its "references"). */
#define REF_DESCRIBED 5

/* Absent and null are the same: no value. */
static int same_value(const json_t *a, const json_t *b)
{
    if (!a || json_is_null(a)) return !b || json_is_null(b);
    return b && json_equal(a, b);
}

/* ---- what the peer's declarations say of ours ------------------------------------------ */

static void add_read(ref_watch *w, const end_rule *rule)
{
    if (!rule) return;
    for (int i = 0; i < w->nreads; i++)
        if (strcmp(w->reads[i], rule->field) == 0) return;
    if (w->nreads < REF_MAX_READS) w->reads[w->nreads++] = rule->field;
}

void references_watch(const service *svc, const char *prefix, ref_watch *out)
{
    *out = (ref_watch){0};
    const service_def *d = svc->def;
    for (int i = 0; i < d->peer_ncollections; i++)
        for (const field_def *f = d->peer_collections[i].fields; f->name; f++) {
            if (f->type != FT_CODE || !catalogue_lists(f->refs, prefix)) continue;
            out->named = 1;
            add_read(out, f->rule);
        }
    for (int i = 0; i < d->peer_nrelations; i++) {
        const relation_def *r = &d->peer_relations[i];
        if (catalogue_lists(r->from, prefix)) {
            out->named = 1;
            add_read(out, r->from_rule);
        }
        if (catalogue_lists(r->to, prefix)) {
            out->named = 1;
            add_read(out, r->to_rule);
        }
    }
}

int references_reads_changed(const ref_watch *w, const json_t *current, const json_t *merged)
{
    for (int i = 0; i < w->nreads; i++)
        if (!same_value(json_object_get(current, w->reads[i]),
                        json_object_get(merged, w->reads[i])))
            return 1;
    return 0;
}

/* ---- asking the peer ----------------------------------------------------------------------- */

static const char *member(const json_t *o, const char *key)
{
    const char *s = json_str(o, key);
    return s ? s : "?";
}

/* Would the change (merged NULL: a retire) break what item holds? */
static int breaks(const json_t *item, const json_t *current, const json_t *merged,
                  const char *except)
{
    const char *by = json_str(item, "by");
    if (except && by && strcmp(by, except) == 0) return 0;
    if (!merged) return 1;
    const json_t *rule = json_object_get(item, "rule");
    const char *field = json_str(rule, "field"), *value = json_str(rule, "value");
    if (!field || !value) return 0;
    const json_t *now = json_object_get(merged, field);
    if (same_value(json_object_get(current, field), now)) return 0;
    return !json_is_string(now) || strcmp(json_string_value(now), value) != 0;
}

/* "transformer-billings TB-... (field transformer)", "transformer-customer
 * link TR-... -> CU-..."; for a change, with the rule it holds: "(its
 * transformer must have kind dedicated)". */
static void describe(sbuf *b, const json_t *item, int with_rule)
{
    const json_t *rule = with_rule ? json_object_get(item, "rule") : NULL;
    int link = json_str(item, "relation") != NULL;
    const char *where = member(item, link ? "end" : "field");
    if (link)
        sb_appendf(b, "%s link %s -> %s", member(item, "relation"), member(item, "from"),
                   member(item, "to"));
    else
        sb_appendf(b, "%s %s", member(item, "collection"), member(item, "by"));
    if (rule)
        sb_appendf(b, " (its %s must have %s %s)", where, member(rule, "field"),
                   member(rule, "value"));
    else if (!link)
        sb_appendf(b, " (field %s)", where);
}

/* 409 naming what stands in the way (blocking, stolen). */
static void refuse(request *req, const char *other, json_t *blocking, const json_t *merged,
                   const char *then)
{
    sbuf which = {0}, what = {0};
    json_t *seen = json_object();
    size_t i;
    json_t *it;
    json_array_foreach(blocking, i, it) {
        const char *code = member(it, "code");
        if (!json_object_get(seen, code)) {
            sb_appendf(&which, "%s%s", json_object_size(seen) ? ", " : "", code);
            json_object_set_new(seen, code, json_true());
        }
        if (i < REF_DESCRIBED) {
            if (i) sb_append(&what, "; ");
            describe(&what, it, merged != NULL);
        }
    }
    if (json_array_size(blocking) > REF_DESCRIBED)
        sb_appendf(&what, "; and %zu more", json_array_size(blocking) - REF_DESCRIBED);
    json_t *extra = json_pack("{s:o}", "references", blocking);
    if (!merged) {
        http_problem_extra(req, 409, extra, "%s cannot be retired while %s refers to %s: %s; %s",
                           which.s, other, json_object_size(seen) > 1 ? "them" : "it", what.s,
                           then);
    } else {
        const char *field = member(json_object_get(json_array_get(blocking, 0), "rule"), "field");
        const char *to = json_str(merged, field);
        http_problem_extra(req, 409, extra,
                           "%s of %s cannot become %s while %s refers to it: %s; %s", field,
                           which.s, to ? to : "none", other, what.s, then);
    }
    json_decref(seen);
    sb_free(&which);
    sb_free(&what);
}

/* The peer's answer (items) weighed against the change: OK, or ERR after answering 409. */
static int weigh(request *req, const char *other, const char *named, const json_t *answer,
                 const json_t *current, const json_t *merged, const char *except, const char *then)
{
    json_t *blocking = json_array();
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(answer, "items"), i, it) {
        if (breaks(it, current, merged, except)) json_array_append(blocking, it);
    }
    if (json_array_size(blocking) > 0) {
        refuse(req, other, blocking, merged, then);
        return ERR;
    }
    json_decref(blocking);
    /* What it could not list might break: not known to be clear. */
    if (json_is_true(json_object_get(answer, "truncated"))) {
        http_problem(req, 409, "%s refers to %s in more places than it lists at once; %s", other,
                     named, then);
        return ERR;
    }
    return OK;
}

int references_confirm(service *svc, request *req, const char *const *codes, int n,
                       const json_t *current, const json_t *merged, const char *except,
                       const char *then)
{
    const char *other = service_peer_name(svc);
    sbuf path = {0}, named = {0};
    sb_append(&path, "/v1/references?codes=");
    for (int i = 0; i < n && i < REF_MAX_CODES; i++) {
        sb_appendf(&path, "%s%s", i ? "," : "", codes[i]);
        sb_appendf(&named, "%s%s", i ? ", " : "", codes[i]);
    }
    peer_caller who = service_caller(req);
    peer_response pr;
    peer_call_primary(svc->peer, "GET", path.s, &who, NULL, 0, &pr);
    json_t *answer = pr.error == PEER_OK && pr.status == 200 ? json_loads(pr.body, 0, NULL) : NULL;
    int unreadable = pr.error == PEER_OK && pr.status == 200 &&
                     !json_is_array(json_object_get(answer, "items"));
    int rc = ERR;
    if (pr.error != PEER_OK || pr.status != 200) {
        char *what = xasprintf("%s could not confirm that nothing refers to %s", other, named.s);
        outcome o = {0};
        service_peer_outcome(&pr, &o, what, then);
        service_answer_outcome(req, &o);
        free(what);
    } else if (unreadable) {
        http_problem(req, 502, "%s could not confirm that nothing refers to %s (its answer could "
                               "not be read); %s", other, named.s, then);
    } else {
        rc = weigh(req, other, named.s, answer, current, merged, except, then);
    }
    json_decref(answer);
    peer_response_free(&pr);
    sb_free(&path);
    sb_free(&named);
    return rc;
}

/* ---- answering ------------------------------------------------------------------------------ */

/* Objects of a collection with code fields, or links of a relation. */
typedef struct referrer {
    const collection_def *coll;
    const relation_def *rel;
} referrer;

typedef struct ref_state {
    service *svc;
    referrer *items;
    int n;
} ref_state;

typedef struct question {
    request *req;
    json_t *codes; /* canonical code -> true */
    char *array;   /* the same as a text[] literal, the statements' $1 */
    json_t *items;
    int truncated;
} question;

/* Does the question name a code of one of prefixes? */
static int asks_for(const question *q, const char *const *prefixes)
{
    const char *code;
    json_t *v;
    json_object_foreach(q->codes, code, v) {
        if (catalogue_lists(prefixes, code)) return 1;
    }
    return 0;
}

static int only_codes(void *ctx, const char *key, const char *value)
{
    if (strcmp(key, "codes") == 0) return OK;
    http_problem(ctx, 400, "unknown parameter '%s' (only codes)", key);
    return ERR;
}

/* ?codes=A,B,...: q->codes and q->array, or ERR after answering 400. */
static int parse_codes(question *q)
{
    request *req = q->req;
    if (http_query_foreach(req, only_codes, req) != OK) return ERR;
    const char *given = http_query(req, "codes");
    q->codes = json_object();
    pg_array arr = {0};
    char *copy = xstrdup(given ? given : ""), *save = NULL;
    int rc = OK;
    for (char *s = strtok_r(copy, ",", &save); s && rc == OK; s = strtok_r(NULL, ",", &save)) {
        char canon[BIZCODE_LEN + 1];
        biz_status st = bizcode_parse(s, canon, NULL);
        if (st != BIZ_OK) {
            http_problem(req, 400, "codes: '%.40s' is not a code (%s)", s, bizcode_strerror(st));
            rc = ERR;
        } else if (!json_object_get(q->codes, canon)) {
            if (json_object_size(q->codes) == REF_MAX_CODES) {
                http_problem(req, 400, "codes: at most %d codes at once", REF_MAX_CODES);
                rc = ERR;
            } else {
                pg_array_add(&arr, canon);
                json_object_set_new(q->codes, canon, json_true());
            }
        }
    }
    free(copy);
    if (rc == OK && json_object_size(q->codes) == 0) {
        http_problem(req, 400, "codes: name one or more codes, separated by commas");
        rc = ERR;
    }
    q->array = pg_array_steal(&arr);
    return rc;
}

static json_t *rule_json(const end_rule *rule)
{
    return json_pack("{s:s, s:s}", "field", rule->field, "value", rule->value);
}

/* Adds an item unless the answer is full. */
static void add_item(question *q, json_t *item)
{
    if (json_array_size(q->items) < REF_MAX_ITEMS)
        json_array_append_new(q->items, item);
    else {
        q->truncated = 1;
        json_decref(item);
    }
}

/* The live objects of a collection whose code fields name the codes: one
 * statement, over the fields that may name them. ERR after answering. */
static int objects_naming(question *q, db_conn *c, const collection_def *cd)
{
    const field_def *cols[64];
    int n = 0;
    for (const field_def *f = cd->fields; f->name && n < (int)ARRAY_LEN(cols); f++)
        if (f->type == FT_CODE && asks_for(q, f->refs)) cols[n++] = f;
    if (n == 0) return OK;
    sbuf sql = {0};
    sb_append(&sql, "SELECT code, status");
    for (int i = 0; i < n; i++) sb_appendf(&sql, ", %s", cols[i]->name);
    sb_appendf(&sql, " FROM %s WHERE status <> 'retired' AND (", cd->table);
    for (int i = 0; i < n; i++)
        sb_appendf(&sql, "%s%s = ANY($1::text[])", i ? " OR " : "", cols[i]->name);
    sb_appendf(&sql, ") ORDER BY code LIMIT %d", REF_MAX_ITEMS + 1);
    const char *params[] = {q->array};
    PGresult *r = db_exec_once(c, sql.s, 1, params);
    sb_free(&sql);
    const char *collection = biz_type_by_prefix(cd->prefix)->collection;
    int rc = db_ok(r) ? OK : ERR;
    if (rc != OK) service_db_error(q->req, c, r, collection);
    for (int row = 0; rc == OK && row < PQntuples(r); row++)
        for (int i = 0; i < n; i++) {
            const char *v = PQgetvalue(r, row, 2 + i);
            if (PQgetisnull(r, row, 2 + i) || !json_object_get(q->codes, v)) continue;
            json_t *item = json_pack("{s:s, s:s, s:s, s:s, s:s}", "code", v, "by",
                                     PQgetvalue(r, row, 0), "collection", collection, "field",
                                     cols[i]->name, "status", PQgetvalue(r, row, 1));
            if (cols[i]->rule) json_object_set_new(item, "rule", rule_json(cols[i]->rule));
            add_item(q, item);
        }
    PQclear(r);
    return rc;
}

/* The current links of a relation with the codes at an end: one statement. */
static int links_naming(question *q, db_conn *c, const relation_def *rd)
{
    const end_rule *rules[] = {rd->from_rule, rd->to_rule};
    static const char *const ends[] = {"from", "to"};
    int asked[2] = {asks_for(q, rd->from), asks_for(q, rd->to)};
    if (!asked[0] && !asked[1]) return OK;
    char *sql = xasprintf("SELECT from_code, to_code, status FROM %s WHERE valid_to IS NULL AND "
                          "(%s%s%s) ORDER BY id LIMIT %d",
                          rd->table, asked[0] ? "from_code = ANY($1::text[])" : "",
                          asked[0] && asked[1] ? " OR " : "",
                          asked[1] ? "to_code = ANY($1::text[])" : "", REF_MAX_ITEMS + 1);
    const char *params[] = {q->array};
    PGresult *r = db_exec_once(c, sql, 1, params);
    free(sql);
    int rc = db_ok(r) ? OK : ERR;
    if (rc != OK) service_db_error(q->req, c, r, rd->kind);
    for (int row = 0; rc == OK && row < PQntuples(r); row++)
        for (int e = 0; e < 2; e++) {
            const char *v = PQgetvalue(r, row, e);
            if (!asked[e] || !json_object_get(q->codes, v)) continue;
            json_t *item = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "code", v, "relation",
                                     rd->kind, "from", PQgetvalue(r, row, 0), "to",
                                     PQgetvalue(r, row, 1), "end", ends[e], "status",
                                     PQgetvalue(r, row, 2));
            if (rules[e]) json_object_set_new(item, "rule", rule_json(rules[e]));
            add_item(q, item);
        }
    PQclear(r);
    return rc;
}

static void answer(request *req, void *ctx)
{
    ref_state *st = ctx;
    question q = {.req = req};
    db_conn *c = NULL;
    if (parse_codes(&q) != OK || !(c = service_db(st->svc, req))) goto done;
    q.items = json_array();
    int rc = OK;
    for (int i = 0; i < st->n && rc == OK; i++)
        rc = st->items[i].coll ? objects_naming(&q, c, st->items[i].coll)
                               : links_naming(&q, c, st->items[i].rel);
    if (rc == OK) {
        http_json(req, 200, json_pack("{s:O, s:b}", "items", q.items, "truncated", q.truncated));
    }
done:
    if (c) db_release(st->svc->db, c);
    json_decref(q.codes);
    json_decref(q.items);
    free(q.array);
}

void *references_routes(service *svc, router *r)
{
    const service_def *d = svc->def;
    ref_state *st = xcalloc(1, sizeof *st);
    st->svc = svc;
    st->items = xcalloc((size_t)(d->ncollections + d->nrelations), sizeof *st->items);
    for (int i = 0; i < d->ncollections; i++) {
        int codes = 0;
        for (const field_def *f = d->collections[i].fields; f->name; f++)
            codes |= f->type == FT_CODE;
        if (codes) st->items[st->n++].coll = &d->collections[i];
    }
    for (int i = 0; i < d->nrelations; i++) st->items[st->n++].rel = &d->relations[i];
    /* A read on the I/O threads: it waits on nobody, so that a platform
     * waiting for this answer can never wait for itself. */
    router_add(r, "GET", "/v1/references", answer, st, 0,
               "What here names these codes (?codes=A,B,... up to 400): the live objects whose "
               "code fields name them and the current links with them at an end, each with the "
               "end rule it holds them to. Any app may ask; the platform that keeps an object "
               "asks its peer before it retires the object or changes a field such a rule reads");
    return st;
}

void references_free(void *kept)
{
    ref_state *st = kept;
    if (!st) return;
    free(st->items);
    free(st);
}
