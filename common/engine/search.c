/* search.c -- GET /v1/search: objects of both platforms found by code,
 * name, account or asset number (search.h). */
#include "engine/search.h"

#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonutil.h"
#include "engine/context.h"
#include "store/pgarray.h"

/* ---- the parts that need no database ---------------------------------------------- */

/* Bytes of the UTF-8 character at s (at most n bytes there), or 0 when
 * none starts there: a stray, overlong or truncated sequence, a surrogate,
 * or beyond U+10FFFF (PostgreSQL refuses them all). */
static size_t utf8_char(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80) return 1;
    size_t len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
    if (!len || len > n || s[0] > 0xF4) return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    if (len == 3 && s[0] == 0xE0 && s[1] < 0xA0) return 0; /* overlong */
    if (len == 3 && s[0] == 0xED && s[1] >= 0xA0) return 0; /* surrogate */
    if (len == 4 && s[0] == 0xF0 && s[1] < 0x90) return 0; /* overlong */
    if (len == 4 && s[0] == 0xF4 && s[1] >= 0x90) return 0; /* beyond U+10FFFF */
    return len;
}

/* Bytes of the white space at s: ASCII's, or U+3000 (E3 80 80). */
static size_t space_at(const char *s, size_t n)
{
    if (n >= 1 && strchr(" \t\r\n\f\v", s[0]) && s[0]) return 1;
    if (n >= 3 && memcmp(s, "\xE3\x80\x80", 3) == 0) return 3;
    return 0;
}

int search_trim(const char *q, size_t *start, size_t *len)
{
    size_t n = strlen(q), chars = 0, end = 0, i = 0, sp;
    while (i < n && (sp = space_at(q + i, n - i)) > 0) i += sp;
    *start = i;
    /* the end is after the last character that is not white space */
    while (i < n) {
        size_t c = utf8_char((const unsigned char *)q + i, n - i);
        if (!c) return -1;
        if (!space_at(q + i, n - i)) end = i + c;
        i += c;
    }
    for (i = *start; i < end; i += utf8_char((const unsigned char *)q + i, end - i)) chars++;
    *len = end > *start ? end - *start : 0;
    return (int)chars;
}

char *search_like_pattern(const char *q, size_t len)
{
    sbuf b = {0};
    sb_append(&b, "%");
    for (size_t i = 0; i < len; i++) {
        if (q[i] == '\\' || q[i] == '%' || q[i] == '_') sb_append(&b, "\\");
        sb_appendn(&b, q + i, 1);
    }
    sb_append(&b, "%");
    return sb_steal(&b);
}

int search_caseless(const char *q, size_t len)
{
    const unsigned char *s = (const unsigned char *)q;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_char(s + i, len - i);
        if (!n) return 0;
        static const unsigned lead_bits[] = {0, 0x7Fu, 0x1Fu, 0x0Fu, 0x07u};
        uint32_t cp = s[i] & lead_bits[n];
        for (size_t k = 1; k < n; k++) cp = cp << 6 | (s[i + k] & 0x3Fu);
        int uncased = n == 1 ? !((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z')
                             : (cp >= 0x3000 && cp <= 0x9FFF) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                                   (cp >= 0x20000 && cp <= 0x3FFFF);
        if (!uncased) return 0;
        i += n;
    }
    return 1;
}

static const field_def *field_of(const collection_def *c, const char *name)
{
    for (const field_def *f = c ? c->fields : NULL; f && f->name; f++)
        if (strcmp(f->name, name) == 0) return f;
    return NULL;
}

int search_rank(const collection_def *c, const char *matched, int exact)
{
    if (strcmp(matched, "code") == 0) return 0;
    const field_def *f = field_of(c, matched);
    if (!f || !(f->flags & FF_SEARCH)) return 4;
    if (f->flags & FF_UNIQUE) return 1;
    return exact ? 2 : 3;
}

static int hit_order(const void *a, const void *b)
{
    const search_hit *x = a, *y = b;
    if (x->rank != y->rank) return x->rank < y->rank ? -1 : 1;
    return strcmp(x->code, y->code);
}

void search_sort(search_hit *hits, size_t n)
{
    if (n > 1) qsort(hits, n, sizeof *hits, hit_order);
}

/* ---- the statements, built once from the declarations ------------------------------ */

/* svc->search. Parameters of the field search: $1 q, $2 its ILIKE pattern,
 * $3 rows wanted, then one list of listed statuses per status set. */
typedef struct {
    /* NULL: nothing of ours is searched by field. [1]: for a q without
     * letters that have a case (Chinese, digits), by LIKE, which reads a
     * table several times faster than ILIKE where no index serves. */
    char *sql_fields[2];
    const status_set *sets[4];
    char *listed[4];  /* each set's listed statuses, a text[] literal */
    int nsets;
    char **sql_code;  /* per collection of the declarations: its object by code */
} search_state;

/* The column shown as an item's name: the declared name, if any. */
static const char *name_column(const collection_def *c)
{
    const field_def *f = field_of(c, "name");
    return f && f->type == FT_TEXT ? "name" : "NULL::text";
}

/* $n of the listed statuses of c's status set. */
static int status_param(search_state *st, const collection_def *c)
{
    for (int i = 0; i < st->nsets; i++)
        if (st->sets[i] == c->statuses) return 4 + i;
    if (st->nsets == (int)ARRAY_LEN(st->sets)) abort(); /* a declaration bug: four sets at most */
    pg_array a = {0};
    for (const char *const *s = c->statuses->listed; *s; s++) pg_array_add(&a, *s);
    st->sets[st->nsets] = c->statuses;
    st->listed[st->nsets] = pg_array_steal(&a);
    return 4 + st->nsets++;
}

/* One searched field of c: its matches, best first, at most $3. A number
 * is found by equality (its unique index); a name by ILIKE (LIKE when q has
 * no case), which its trigram index serves once q has three characters.
 * Columns: code, status, name, matched, exact, rank (search_rank's order). */
static void field_branch(sbuf *b, const collection_def *c, const field_def *f, int statuses,
                         int caseless)
{
    const char *name = name_column(c);
    if (f->flags & FF_UNIQUE)
        sb_appendf(b, "(SELECT code, status, %s AS name, '%s'::text AS matched, true AS exact, "
                      "1 AS rank FROM %s WHERE %s = $1 AND status = ANY($%d::text[]) "
                      "ORDER BY code LIMIT $3::int)",
                   name, f->name, c->table, f->name, statuses);
    else
        sb_appendf(b, "(SELECT code, status, %s AS name, '%s'::text AS matched, "
                      "lower(%s) = lower($1) AS exact, "
                      "CASE WHEN lower(%s) = lower($1) THEN 2 ELSE 3 END AS rank FROM %s "
                      "WHERE %s %s $2 AND status = ANY($%d::text[]) "
                      "ORDER BY rank, code LIMIT $3::int)",
                   name, f->name, f->name, f->name, c->table, f->name,
                   caseless ? "LIKE" : "ILIKE", statuses);
}

/* c's matches, one per object (its best field), or nothing when c has no
 * searched field. */
static int collection_part(sbuf *b, search_state *st, const collection_def *c, int caseless)
{
    int n = 0;
    for (const field_def *f = c->fields; f->name; f++) n += (f->flags & FF_SEARCH) != 0;
    if (n == 0) return 0;
    int statuses = status_param(st, c);
    if (n > 1) sb_append(b, "(SELECT DISTINCT ON (code) * FROM (");
    int k = 0;
    for (const field_def *f = c->fields; f->name; f++) {
        if (!(f->flags & FF_SEARCH)) continue;
        if (k++) sb_append(b, " UNION ALL ");
        field_branch(b, c, f, statuses, caseless);
    }
    if (n > 1) sb_append(b, ") AS f ORDER BY code, rank)");
    return 1;
}

static char *fields_statement(const service_def *d, search_state *st, int caseless)
{
    sbuf b = {0}, part = {0};
    int parts = 0;
    sb_append(&b, "SELECT code, status, name, matched, exact FROM (");
    for (int i = 0; i < d->ncollections; i++) {
        if (!collection_part(&part, st, &d->collections[i], caseless)) continue;
        if (parts++) sb_append(&b, " UNION ALL ");
        sb_append(&b, part.s);
        part.len = 0;
    }
    sb_free(&part);
    sb_append(&b, ") AS hits ORDER BY rank, code LIMIT $3::int");
    if (parts) return sb_steal(&b);
    sb_free(&b);
    return NULL;
}

static void build(service *svc, search_state *st)
{
    const service_def *d = svc->def;
    for (int caseless = 0; caseless < 2; caseless++)
        st->sql_fields[caseless] = fields_statement(d, st, caseless);
    st->sql_code = xcalloc((size_t)d->ncollections, sizeof *st->sql_code);
    for (int i = 0; i < d->ncollections; i++) {
        const collection_def *c = &d->collections[i];
        st->sql_code[i] = xasprintf("SELECT code, status, %s AS name, 'code'::text AS matched, "
                                    "true AS exact FROM %s WHERE code = $1",
                                    name_column(c), c->table);
    }
}

/* ---- answering ------------------------------------------------------------------ */

typedef struct {
    request *req;
    const char *q; /* as given */
    int limit;
} search_args;

static int search_arg(void *ctx, const char *key, const char *value)
{
    search_args *a = ctx;
    if (strcmp(key, "q") == 0) {
        a->q = value;
        return OK;
    }
    if (strcmp(key, "limit") == 0) return http_limit(a->req, value, SEARCH_LIMIT_MAX, &a->limit);
    http_problem(a->req, 400, "unknown parameter '%s' for a search (q, limit)", key);
    return ERR;
}

/* What a search found so far: items with their ranks, and whether there
 * were more than the limit. */
typedef struct {
    json_t *items; /* array */
    search_hit *hits;
    size_t n;
    int truncated;
} found;

static void found_add(found *f, json_t *item, int rank)
{
    f->hits = xrealloc(f->hits, (f->n + 1) * sizeof *f->hits);
    json_array_append_new(f->items, item);
    f->hits[f->n++] = (search_hit){rank, json_string_value(json_object_get(item, "code")), item};
}

static json_t *item_of(const char *code, const char *status, const char *name,
                       const char *matched, int exact)
{
    const biz_type *t = biz_type_by_prefix(code);
    return json_pack("{s:s, s:s, s:s, s:s?, s:s, s:s, s:s, s:b}", "code", code, "type", t->type,
                     "collection", t->collection, "name", name, "platform",
                     service_name(t->owner), "status", status, "matched", matched, "exact",
                     exact);
}

/* Rows of code, status, name, matched, exact: ours. */
static void add_rows(found *f, service *svc, const PGresult *r, int limit)
{
    int rows = PQntuples(r);
    if (rows > limit) f->truncated = 1;
    for (int i = 0; i < rows && i < limit; i++) {
        const char *code = PQgetvalue(r, i, 0), *matched = PQgetvalue(r, i, 3);
        int exact = PQgetvalue(r, i, 4)[0] == 't';
        const char *name = PQgetisnull(r, i, 2) ? NULL : PQgetvalue(r, i, 2);
        const collection_def *c = catalogue_collection(svc->def, code);
        found_add(f, item_of(code, PQgetvalue(r, i, 1), name, matched, exact),
                  search_rank(c, matched, exact));
    }
}

/* Our objects: the one a code names, or those whose searched fields match.
 * ERR after answering (503, a database error). */
static int search_here(service *svc, request *req, const char *q, int limit, const char *canon,
                       found *f)
{
    search_state *st = svc->search;
    const char *sql = NULL;
    if (canon) {
        for (int i = 0; i < svc->def->ncollections; i++)
            if (strncmp(svc->def->collections[i].prefix, canon, 2) == 0) sql = st->sql_code[i];
    } else {
        sql = st->sql_fields[search_caseless(q, strlen(q))];
    }
    if (!sql) return OK;
    db_conn *c = service_db(svc, req);
    if (!c) return ERR;
    char *pattern = search_like_pattern(q, strlen(q));
    char rows[16];
    snprintf(rows, sizeof rows, "%d", limit + 1);
    const char *params[4 + ARRAY_LEN(st->listed)] = {canon ? canon : q, pattern, rows};
    for (int i = 0; i < st->nsets; i++) params[3 + i] = st->listed[i];
    /* A code is one indexed read, prepared once. The field search is
     * planned for its q: a prepared plan made for any pattern would read
     * the trigram index even for a q too short to have trigrams. */
    PGresult *r = canon ? db_exec(c, sql, 1, params)
                        : db_exec_once(c, sql, 3 + st->nsets, params);
    int rc = OK;
    if (db_ok(r)) {
        add_rows(f, svc, r, limit);
    } else {
        service_db_error(req, c, r, "search");
        rc = ERR;
    }
    PQclear(r);
    db_release(svc->db, c);
    free(pattern);
    return rc;
}

/* The peer's answer, items whose code is a code of the peer's added. ERR
 * when it is not a search's answer. */
static int add_peer_items(found *f, service *svc, const peer_response *pr)
{
    json_t *body = json_loadb(pr->body, pr->len, 0, NULL), *items = json_object_get(body, "items");
    if (!json_is_array(items)) {
        json_decref(body);
        return ERR;
    }
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        const char *code = json_string_value(json_object_get(it, "code"));
        const char *matched = json_string_value(json_object_get(it, "matched"));
        const collection_def *c = code ? catalogue_peer_collection(svc->def, code) : NULL;
        if (!c || !matched || bizcode_parse(code, NULL, NULL) != BIZ_OK) continue;
        int exact = json_is_true(json_object_get(it, "exact"));
        found_add(f, json_incref(it), search_rank(c, matched, exact));
    }
    if (json_is_true(json_object_get(body, "truncated"))) f->truncated = 1;
    json_decref(body);
    return OK;
}

/* Asks the peer's search (marked as ours by peer_call, so it answers from
 * its own objects only); its hits join f. NULL when it answered, else what
 * went wrong, for "missing" (owned). */
static char *search_peer(service *svc, request *req, const char *q, int limit, found *f)
{
    char *esc = curl_easy_escape(NULL, q, 0);
    char *path = xasprintf("/v1/search?q=%s&limit=%d", esc, limit);
    curl_free(esc);
    peer_caller who = service_caller(req);
    peer_response pr;
    if (http_header_in(req, "X-Read-Primary")) /* passed on, as the caller's */
        peer_call_primary(svc->peer, "GET", path, &who, NULL, 0, &pr);
    else
        peer_call(svc->peer, "GET", path, &who, NULL, 0, &pr);
    free(path);
    char *why = NULL;
    if (pr.error != PEER_OK)
        why = xasprintf("%s", pr.detail);
    else if (pr.status != 200)
        why = xasprintf("it answered %ld", pr.status);
    else if (add_peer_items(f, svc, &pr) != OK)
        why = xasprintf("its answer was not a search's");
    peer_response_free(&pr);
    return why;
}

static void answer(request *req, service *svc, const char *q, int limit, found *f, char *missed)
{
    search_sort(f->hits, f->n);
    json_t *items = json_array();
    for (size_t i = 0; i < f->n && i < (size_t)limit; i++)
        json_array_append(items, f->hits[i].item);
    json_t *out = json_pack("{s:s, s:o, s:b, s:b}", "q", q, "items", items, "truncated",
                            f->truncated || f->n > (size_t)limit, "partial", missed != NULL);
    if (missed)
        json_object_set_new(out, "missing",
                            json_pack("{s:s, s:s}", "platform", service_peer_name(svc), "detail",
                                      missed));
    http_json(req, 200, out);
}

static void search(request *req, void *ctx)
{
    service *svc = ctx;
    search_args a = {req, NULL, SEARCH_LIMIT_DEFAULT};
    if (http_query_foreach(req, search_arg, &a) != OK) return;
    size_t start = 0, len = 0;
    int chars = a.q ? search_trim(a.q, &start, &len) : 0;
    if (chars < 1 || chars > SEARCH_Q_MAX) {
        http_problem(req, 400, "q must be text of 1 to %d characters (white space around it "
                               "aside)%s", SEARCH_Q_MAX, chars < 0 ? ", in UTF-8" : "");
        return;
    }
    char *q = xstrndup(a.q + start, len);
    char canon[BIZCODE_LEN + 1];
    int is_code = bizcode_parse(q, canon, NULL) == BIZ_OK;
    int ours = !is_code || catalogue_collection(svc->def, canon);
    /* The peer's own search does not ask back: it is the other half. */
    int ask_peer = !http_header_in(req, "X-Peer-Platform") && !(is_code && ours);
    found f = {json_array(), NULL, 0, 0};
    char *missed = NULL;
    if (ours && search_here(svc, req, q, a.limit, is_code ? canon : NULL, &f) != OK)
        goto out;
    if (ask_peer) missed = search_peer(svc, req, is_code ? canon : q, a.limit, &f);
    answer(req, svc, q, a.limit, &f, missed);
out:
    json_decref(f.items);
    free(f.hits);
    free(missed);
    free(q);
}

static const query_doc search_query[] = {
    {"q", "string", NULL, 1, "a code, a name or a part of one, an account or asset number "
                             "(1-100 characters)"},
    {"limit", "integer", NULL, 0, "items at most (1-50, default 20)"},
    {0}};

void search_routes(service *svc, router *r)
{
    search_state *st = xcalloc(1, sizeof *st);
    svc->search = st;
    build(svc, st);
    router_add(r, "GET", "/v1/search", search, svc, ROUTE_PEER,
               "Find objects of both platforms by code, name, account number 户号 or asset "
               "number: exact code, exact number, exact name, then names containing q")
        ->query = search_query;
}

void search_cleanup(service *svc)
{
    search_state *st = svc->search;
    if (!st) return;
    free(st->sql_fields[0]);
    free(st->sql_fields[1]);
    for (int i = 0; i < st->nsets; i++) free(st->listed[i]);
    for (int i = 0; st->sql_code && i < svc->def->ncollections; i++) free(st->sql_code[i]);
    free(st->sql_code);
    free(st);
    svc->search = NULL;
}
