/* test_bulk.c -- NDJSON import and export (common/engine/bulk.h):
 *
 *   POST /v1/{collection}:import        POST /v1/relations/{kind}:import
 *   GET  /v1/{collection}:export        GET  /v1/relations/{kind}:export
 *
 * Imports: batches (?batch=), one transaction each; a bad line rejects its
 * whole batch and is named with its line number (blank lines count) and
 * field; the other batches load. Lines are checked as a create checks them
 * (fields, enums, required, unknown members, the write policy), the codes
 * they name are confirmed (here, or with the peer in a few requests), and
 * duplicates caught by the database are put on the right line. A peer that
 * cannot be reached stops the import with 502 and stopped_at_line. Each
 * loaded batch is one "<type>.imported" / "relation.imported" change.
 * Exports: a stream of one JSON object per line, as GET shows each, ordered
 * by code; retired objects only when asked; an export that finds nothing is
 * an empty stream. Imports have their own body limit (IMPORT_LIMIT_MIB), and
 * the platform that does not keep a collection refuses its imports (421)
 * and forwards its exports, as for any write and read.
 *
 * Every test makes its own objects with fresh codes (mint_code) and fresh
 * text (uniq), so it never depends on what else the databases hold. */
#include "client.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "model/bizcode.h"
#include "cust.h"
#include "grid.h"

#define NDJSON "application/x-ndjson"
#define MIB (1024 * 1024)

/* ---- NDJSON bodies ------------------------------------------------------------------ */

typedef struct ndj {
    char *s;
    size_t len, cap;
} ndj;

static void ndj_free(void *p)
{
    ndj *b = p;
    free(b->s);
    free(b);
}

static ndj *ndj_new(void)
{
    ndj *b = calloc(1, sizeof *b);
    assert_non_null(b);
    it_track(b, ndj_free);
    b->cap = 4096;
    b->s = malloc(b->cap);
    assert_non_null(b->s);
    b->s[0] = '\0';
    return b;
}

/* Appends text as it is (no newline added). */
static void ndj_raw(ndj *b, const char *text)
{
    size_t n = strlen(text);
    if (b->len + n + 1 > b->cap) {
        while (b->len + n + 1 > b->cap) b->cap *= 2;
        b->s = realloc(b->s, b->cap);
        assert_non_null(b->s);
    }
    memcpy(b->s + b->len, text, n + 1);
    b->len += n;
}

/* Appends one object as a compact line (o is not stolen). */
static void ndj_obj(ndj *b, const json_t *o)
{
    char *t = json_dumps(o, JSON_COMPACT);
    assert_non_null(t);
    ndj_raw(b, t);
    ndj_raw(b, "\n");
    free(t);
}

/* ---- requests ----------------------------------------------------------------------- */

static api_resp *import_ct(const char *base, const char *what, const char *key, const char *query,
                           const char *ctype, const ndj *b, int chunked)
{
    api_opts o = {.key = key, .content_type = ctype, .timeout_s = 180, .chunked = chunked};
    char *url = strf("%s/v1/%s:import%s%s", base, what, query ? "?" : "", query ? query : "");
    return api_call("POST", url, &o, b ? b->s : "", b ? b->len : 0);
}

/* POST base/v1/{what}:import[?query] with Content-Type application/x-ndjson. */
static api_resp *import(const char *base, const char *what, const char *key, const char *query,
                        const ndj *b)
{
    return import_ct(base, what, key, query, NDJSON, b, 0);
}

static api_resp *get_obj(const char *base, const char *collection, const char *code)
{
    return api_get(base, strf("/v1/%s/%s", collection, code), KEY_DISPATCH);
}

/* The object as GET shows it (asserts 200). */
static json_t *stored(const char *base, const char *collection, const char *code)
{
    api_resp *r = get_obj(base, collection, code);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "code"), code);
    return r->json;
}

/* Asserts that no object has this code. */
static void absent(const char *base, const char *collection, const char *code)
{
    api_resp *r = get_obj(base, collection, code);
    if (r->status != 404) {
        api_dump(r);
        fail_msg("%s should not exist (nothing of its batch may be stored): GET answered %ld",
                 code, r->status);
    }
}

/* Current links of a relation with ?query (asserts 200). */
static json_t *links_where(const char *base, const char *kind, const char *query)
{
    api_resp *r = api_get(base, strf("/v1/relations/%s?%s&limit=1000", kind, query), KEY_DISPATCH);
    return list_items(r);
}

static int links_have(const json_t *items, const char *from, const char *to)
{
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        if (strcmp(jstr(it, "from"), from) == 0 && strcmp(jstr(it, "to"), to) == 0) return 1;
    }
    return 0;
}

static json_t *lk(const char *from, const char *to)
{
    return jkeep(json_pack("{s:s, s:s}", "from", from, "to", to));
}

/* ---- import answers ----------------------------------------------------------------- */

static long long member(const api_resp *r, const char *key)
{
    json_t *v = json_object_get(r->json, key);
    if (!json_is_integer(v)) {
        api_dump(r);
        fail_msg("%s %s: no integer member '%s' in the answer", r->method, r->url, key);
    }
    return json_integer_value(v);
}

static void assert_counts(const api_resp *r, long long lines, long long imported,
                          long long rejected, long long batches)
{
    long long l = member(r, "lines"), i = member(r, "imported"), j = member(r, "rejected"),
              b = member(r, "batches");
    if (l != lines || i != imported || j != rejected || b != batches) {
        api_dump(r);
        fail_msg("%s %s: lines %lld, imported %lld, rejected %lld, batches %lld; want %lld, %lld, "
                 "%lld, %lld",
                 r->method, r->url, l, i, j, b, lines, imported, rejected, batches);
    }
}

/* rejected_batches as "5-8,9-10" ("" when none). */
static char *batches_text(const api_resp *r)
{
    json_t *rb = json_object_get(r->json, "rejected_batches");
    if (!json_is_array(rb)) {
        api_dump(r);
        fail_msg("%s %s: no array rejected_batches", r->method, r->url);
    }
    char *out = it_strdup("");
    size_t i;
    json_t *b;
    json_array_foreach(rb, i, b) {
        out = strf("%s%s%lld-%lld", out, i ? "," : "", jint(b, "first_line"), jint(b, "last_line"));
    }
    return out;
}

typedef struct line_err {
    long long line;
    const char *field;
} line_err;

static int cmp_line_err(const void *a, const void *b)
{
    const line_err *x = a, *y = b;
    if (x->line != y->line) return x->line < y->line ? -1 : 1;
    return strcmp(x->field, y->field);
}

/* errors as "6:category,9:-" (sorted by line, then field; "-" for none).
 * Every error must carry a message. */
static char *errors_text(const api_resp *r)
{
    json_t *errors = json_object_get(r->json, "errors");
    if (!json_is_array(errors)) {
        api_dump(r);
        fail_msg("%s %s: no array errors", r->method, r->url);
    }
    size_t n = json_array_size(errors);
    line_err *v = it_track(calloc(n + 1, sizeof *v), free);
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e) {
        const char *m = jstr(e, "message");
        if (!json_is_integer(json_object_get(e, "line")) || !m || !*m) {
            api_dump(r);
            fail_msg("%s %s: error %zu has no line or no message", r->method, r->url, i);
        }
        /* a line error that concerns no one field leaves field out (or null) */
        json_t *f = json_object_get(e, "field");
        if (f && !json_is_string(f) && !json_is_null(f)) {
            api_dump(r);
            fail_msg("%s %s: error %zu has a field that is not a string", r->method, r->url, i);
        }
        v[i].line = jint(e, "line");
        v[i].field = json_is_string(f) ? json_string_value(f) : "-";
    }
    qsort(v, n, sizeof *v, cmp_line_err);
    char *out = it_strdup("");
    for (i = 0; i < n; i++) out = strf("%s%s%lld:%s", out, i ? "," : "", v[i].line, v[i].field);
    return out;
}

/* The message of the first error on line (fails when there is none). */
static const char *error_message(const api_resp *r, long long line)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r->json, "errors"), i, e) {
        if (jint(e, "line") == line) return jstr(e, "message");
    }
    api_dump(r);
    fail_msg("%s %s: no error on line %lld", r->method, r->url, line);
    return NULL;
}

/* 200: everything loaded. */
static void assert_import_ok(const api_resp *r, long long lines, long long batches)
{
    assert_status(r, 200);
    if (strncasecmp(r->content_type, "application/json", 16) != 0) {
        api_dump(r);
        fail_msg("%s %s: Content-Type %s, want application/json", r->method, r->url,
                 r->content_type);
    }
    assert_counts(r, lines, lines, 0, batches);
    assert_string_equal(batches_text(r), "");
    assert_string_equal(errors_text(r), "");
}

/* 422: these batches rejected ("5-8,9-10") with these errors ("6:category,9:-"). */
static void assert_import_rejected(const api_resp *r, long long lines, long long imported,
                                   long long rejected, long long batches, const char *want_batches,
                                   const char *want_errors)
{
    assert_problem(r, 422);
    assert_counts(r, lines, imported, rejected, batches);
    char *b = batches_text(r), *e = errors_text(r);
    if (strcmp(b, want_batches) != 0 || strcmp(e, want_errors) != 0) {
        api_dump(r);
        fail_msg("%s %s: rejected batches [%s], errors [%s]; want [%s], [%s]", r->method, r->url,
                 b, e, want_batches, want_errors);
    }
}

/* ---- exports ------------------------------------------------------------------------ */

/* A set of codes, as a JSON object. */
static json_t *code_set(char **codes, int n)
{
    json_t *s = jkeep(json_object());
    for (int i = 0; i < n; i++) json_object_set_new(s, codes[i], json_true());
    return s;
}

/* GET base+path: a 200 stream of application/x-ndjson in which every line is
 * a JSON object. Objects (links = 0) must each have a code, in ascending
 * order; links must have kind, from and to and no end. Answers the objects
 * whose code (links: from or to) is in wanted (every one when wanted is
 * NULL): a map from code (links: "FROM>TO") to the object. *nlines gets the
 * number of lines. */
static json_t *export_read(const char *base, const char *path, const json_t *wanted, int links,
                           size_t *nlines)
{
    api_opts o = {.key = KEY_DISPATCH, .timeout_s = 240};
    api_resp *r = api_call("GET", strf("%s%s", base, path), &o, NULL, 0);
    /* Exports at once are limited (503 with Retry-After); other clients of
     * the shared daemons may be exporting too, so wait a little and retry
     * (sequential_exports_are_not_refused tests the limit itself). */
    for (int i = 0; i < 25 && r->status == 503 && r->retry_after[0]; i++) {
        sleep_ms(200);
        r = api_call("GET", strf("%s%s", base, path), &o, NULL, 0);
    }
    assert_status(r, 200);
    if (strncasecmp(r->content_type, NDJSON, strlen(NDJSON)) != 0) {
        api_dump(r);
        fail_msg("GET %s: Content-Type '%s', want %s", path, r->content_type, NDJSON);
    }
    if (r->len > 0 && r->body[r->len - 1] != '\n')
        fail_msg("GET %s: the stream does not end with a newline (cut short?)", path);
    json_t *out = jkeep(json_object());
    char prev[BIZCODE_LEN + 8] = "";
    size_t n = 0;
    const char *p = r->body, *end = r->body + r->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl ? nl : end) - p);
        n++;
        json_error_t je;
        json_t *v = json_loadb(p, len, 0, &je);
        if (!json_is_object(v))
            fail_msg("GET %s: line %zu is not a JSON object (%s): %.300s", path, n, je.text, p);
        if (!links) {
            const char *code = jstr(v, "code");
            if (!code) fail_msg("GET %s: line %zu has no code: %.300s", path, n, p);
            if (strcmp(prev, code) >= 0)
                fail_msg("GET %s: line %zu: %s after %s; want ascending codes", path, n, code,
                         prev);
            snprintf(prev, sizeof prev, "%s", code);
            if (!wanted || json_object_get(wanted, code)) json_object_set(out, code, v);
        } else {
            const char *from = jstr(v, "from"), *to = jstr(v, "to");
            if (!from || !to || !jstr(v, "kind"))
                fail_msg("GET %s: line %zu is no link: %.300s", path, n, p);
            if (!json_is_null(json_object_get(v, "valid_to")))
                fail_msg("GET %s: line %zu is an ended link: %.300s", path, n, p);
            if (!wanted || json_object_get(wanted, from) || json_object_get(wanted, to))
                json_object_set(out, strf("%s>%s", from, to), v);
        }
        json_decref(v);
        p = nl ? nl + 1 : end;
    }
    if (nlines) *nlines = n;
    return out;
}

/* ---- comparing objects -------------------------------------------------------------- */

static int same_value(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b)) {
        double x = json_number_value(a), y = json_number_value(b);
        return fabs(x - y) <= 1e-9 * (1 + fabs(x));
    }
    if (json_is_object(a) && json_is_object(b)) {
        if (json_object_size(a) != json_object_size(b)) return 0;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)a, k, v) {
            if (!same_value(v, json_object_get(b, k))) return 0;
        }
        return 1;
    }
    return json_equal(a, b);
}

/* Every member sent (but code) is shown by got with the same value. */
static void assert_fields(const json_t *sent, const json_t *got, const char *what)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)sent, k, v) {
        if (strcmp(k, "code") == 0) continue;
        json_t *g = json_object_get(got, k);
        if (!g || !same_value(v, g)) {
            char *sv = json_dumps(v, JSON_ENCODE_ANY), *gv = g ? json_dumps(g, JSON_ENCODE_ANY) : NULL;
            char *sv_t = it_strdup(sv), *gv_t = it_strdup(gv ? gv : "(absent)");
            free(sv);
            free(gv);
            fail_msg("%s: %s is %s, the import line had %s", what, k, gv_t, sv_t);
        }
    }
}

static void assert_same_object(const json_t *a, const json_t *b, const char *what)
{
    if (!json_equal(a, b))
        fail_msg("%s differ:\n  %s\n  %s", what, jdump(json_incref((json_t *)a)),
                 jdump(json_incref((json_t *)b)));
}

/* ---- objects ------------------------------------------------------------------------ */

static char **code_array(int n)
{
    return it_track(calloc((size_t)n + 1, sizeof(char *)), free);
}

static const char *const categories[] = {"hv", "lv_resident", "lv_nonresident"};

/* A customer line with its code. */
static json_t *customer_line(const char *code, const char *tag, int i)
{
    return jkeep(json_pack("{s:s, s:s, s:s, s:s, s:s, s:f}", "code", code, "name",
                           strf("bulk customer %d %s", i, tag), "category", categories[i % 3],
                           "phone", strf("0571-%08d", i), "account_no", strf("%s-%05d", tag, i),
                           "contract_capacity_kva", 10.5 + i));
}

/* n customer lines with fresh codes into b; codes in codes[0..n-1]. */
static void customer_lines(ndj *b, char **codes, int n)
{
    char *tag = uniq();
    for (int i = 0; i < n; i++) {
        codes[i] = mint_code("CU");
        ndj_obj(b, customer_line(codes[i], tag, i));
    }
}

static json_t *transformer_line(const char *code, const char *kind)
{
    return jkeep(json_pack("{s:s, s:s, s:s, s:f, s:f}", "code", code, "name",
                           strf("bulk TR %s", uniq()), "kind", kind, "capacity_kva", 400.0,
                           "voltage_kv", 10.0));
}

static json_t *meter_box_line(const char *code)
{
    return jkeep(json_pack("{s:s, s:s, s:i, s:i}", "code", code, "name", strf("bulk box %s", uniq()),
                           "rows", 2, "cols", 4));
}

/* n meter boxes imported on cust-svc; their codes in codes[]. */
static void import_meter_boxes(char **codes, int n)
{
    ndj *b = ndj_new();
    for (int i = 0; i < n; i++) {
        codes[i] = mint_code("MB");
        ndj_obj(b, meter_box_line(codes[i]));
    }
    assert_import_ok(import(cust_url(), "meter-boxes", KEY_MARKETING, NULL, b), n, 1);
}

/* n transformers of kind imported on grid-svc with a key allowed to. */
static void import_transformers(char **codes, int n, const char *kind)
{
    ndj *b = ndj_new();
    for (int i = 0; i < n; i++) {
        codes[i] = mint_code("TR");
        ndj_obj(b, transformer_line(codes[i], kind));
    }
    const char *key = strcmp(kind, "public") == 0 ? KEY_PRODUCTION : KEY_MARKETING;
    assert_import_ok(import(grid_url(), "transformers", key, NULL, b), n, 1);
}

static char *post_code(const char *base, const char *collection, const char *key, json_t *body)
{
    return it_strdup(jstr(create_ok(base, collection, key, jdump(body))->json, "code"));
}

static char *new_line(void)
{
    return create_line(KEY_PRODUCTION, strf("bulk line %s", uniq()), "public", 10);
}

static char *new_transformer(const char *kind)
{
    return post_code(grid_url(), "transformers",
                     strcmp(kind, "public") == 0 ? KEY_PRODUCTION : KEY_MARKETING,
                     json_pack("{s:s, s:s, s:f, s:f}", "name", strf("bulk TR %s", uniq()), "kind",
                               kind, "capacity_kva", 400.0, "voltage_kv", 10.0));
}

static char *new_access_point(void)
{
    return post_code(grid_url(), "access-points", KEY_PRODUCTION,
                     json_pack("{s:s}", "name", strf("bulk AP %s", uniq())));
}

static void retire(const char *base, const char *collection, const char *code, const char *key)
{
    api_resp *r = api_delete(base, strf("/v1/%s/%s", collection, code), key);
    assert_status(r, 200);
    assert_string_equal(jstr(r->json, "status"), "retired");
}


/* ---- extra daemons ------------------------------------------------------------------ */


/* Starts grid-svc or cust-svc on the run's database for it with peer_url
 * and, in its environment, the NULL-terminated "NAME", "value" pairs;
 * records it in it_extra[slot]; answers its base URL. */
static const char *start_extra(int slot, const char *which, const char *peer_url,
                               const char *const *vars, const char *label)
{
    const char *db = it_env(strcmp(which, "grid") == 0 ? "GRID_DATABASE_URL" : "CUST_DATABASE_URL");
    it_env("RUN_DIR");
    it_env(strcmp(which, "grid") == 0 ? "GRID_BIN" : "CUST_BIN");
    it_env("REPO_ROOT");
    const char *saved[8] = {0};
    int n = 0;
    for (const char *const *v = vars; v && v[0] && n < 8; v += 2, n++) {
        const char *old = getenv(v[0]);
        saved[n] = old ? it_strdup(old) : NULL;
        setenv(v[0], v[1], 1);
    }
    int port = free_port();
    pid_t pid = start_daemon(which, port, db, peer_url, strf("itest-bulk-%s-%d", label, port));
    n = 0;
    for (const char *const *v = vars; v && v[0] && n < 8; v += 2, n++) {
        if (saved[n]) setenv(v[0], saved[n], 1);
        else unsetenv(v[0]);
    }
    assert_true(pid > 0);
    it_extra[slot] = pid;
    return strf("http://127.0.0.1:%d", port);
}

static void stop_extra(int slot)
{
    int st = daemon_stop(it_extra[slot], 15);
    it_extra[slot] = -1;
    assert_int_equal(st, 0);
}

/* ---- 1. many objects, several batches ----------------------------------------------------- */

static void import_many_customers_in_batches(void **state)
{
    (void)state;
    enum { N = 1200 };
    char **codes = code_array(N);
    json_t *lines = jkeep(json_array());
    char *tag = uniq();
    ndj *b = ndj_new();
    for (int i = 0; i < N; i++) {
        codes[i] = mint_code("CU");
        json_t *o = customer_line(codes[i], tag, i);
        json_array_append(lines, o);
        ndj_obj(b, o);
    }
    api_resp *r = import(cust_url(), "customers", KEY_MARKETING, "batch=500", b);
    assert_import_ok(r, N, 3);

    /* the edges of each batch and a few more */
    int sample[24] = {0, 1, 498, 499, 500, 501, 998, 999, 1000, 1001, 1198, 1199};
    for (int i = 12; i < 24; i++) sample[i] = rand() % N;
    for (int k = 0; k < 24; k++) {
        int i = sample[k];
        json_t *got = stored(cust_url(), "customers", codes[i]);
        assert_fields(json_array_get(lines, (size_t)i), got, strf("customer %s (line %d)", codes[i], i + 1));
        assert_string_equal(jstr(got, "status"), "active");
        assert_int_equal(jint(got, "version"), 1);
        assert_string_equal(jstr(got, "updated_by"), "marketing");
        assert_true(is_rfc3339_utc(jstr(got, "created_at")));
    }
    /* filters see them too */
    assert_int_equal(count_where(cust_url(), "customers", strf("account_no=%s-00777", tag)), 1);

    size_t nlines = 0;
    json_t *found = export_read(cust_url(), "/v1/customers:export", code_set(codes, N), 0, &nlines);
    assert_true(nlines >= N);
    for (int i = 0; i < N; i++)
        if (!json_object_get(found, codes[i]))
            fail_msg("the export of customers has no line for %s (imported on line %d)", codes[i],
                     i + 1);
    assert_int_equal(json_object_size(found), N);
}

/* ---- 2. round trip -------------------------------------------------------------------------- */

typedef struct target {
    const char *label;
    int grid;
    const char *collection, *prefix, *key, *app;
} target;

static const target GRID_TR = {"grid-svc transformers", 1, "transformers", "TR", KEY_PRODUCTION, "pms"};
static const target CUST_CU = {"cust-svc customers", 0, "customers", "CU", KEY_MARKETING, "marketing"};

static const char *base_of(const target *t)
{
    return t->grid ? grid_url() : cust_url();
}

/* Line i of a round trip: every kind of field, text that COPY must escape,
 * codes of objects it refers to, another status. */
static json_t *round_trip_line(const target *t, int i, const char *code, const char *ref)
{
    const char *tricky[] = {"tab\there", "back\\slash \\N \\. end", "line\nbreak\r\n",
                            "引号 \"quoted\" 'single' 中文", "\\N"};
    const char *text = tricky[i % 5];
    json_t *o;
    if (t->grid) {
        o = json_pack("{s:s, s:s, s:s, s:f, s:f, s:f, s:s, s:s, s:{s:f, s:f}}", "code", code,
                      "name", strf("%s %s", text, uniq()), "kind", "public",
                      "capacity_kva", 315.5 + i, "voltage_kv", 10.5, "secondary_voltage_kv", 0.4,
                      "model", text, "station_room", ref, "location", "lon", 120.125 + i * 0.001,
                      "lat", 30.25);
        if (i == 1) json_object_set_new(o, "status", json_string("design"));
    } else {
        o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:f}", "code", code, "name",
                      strf("%s %s", text, uniq()), "category", categories[i % 3], "phone", text,
                      "address", ref, "account_no", strf("RT-%s", uniq()),
                      "contract_capacity_kva", 80.25 + i);
        if (i == 1) json_object_set_new(o, "status", json_string("pending"));
    }
    return jkeep(o);
}

static void export_round_trip(void **state)
{
    const target *t = *state;
    const char *base = base_of(t);
    enum { N = 7 };
    char *ref = t->grid ? post_code(grid_url(), "station-rooms", KEY_PRODUCTION,
                                    json_pack("{s:s, s:s}", "name", strf("bulk SR %s", uniq()),
                                              "kind", "box_substation"))
                        : create_address();
    char **codes = code_array(N);
    json_t *lines = jkeep(json_array());
    ndj *b = ndj_new();
    for (int i = 0; i < N; i++) {
        codes[i] = mint_code(t->prefix);
        /* a code given in lower case is kept, in its canonical form */
        char *given = it_strdup(codes[i]);
        if (i == 2)
            for (char *c = given; *c; c++) *c = (char)tolower((unsigned char)*c);
        json_t *o = round_trip_line(t, i, given, ref);
        json_array_append(lines, o);
        ndj_obj(b, o);
    }
    /* and a line without a code is given a fresh one */
    json_t *nocode = round_trip_line(t, 3, "", ref);
    json_object_del(nocode, "code");
    const char *mark = strf("no code %s", uniq());
    json_object_set_new(nocode, "name", json_string(mark));
    ndj_obj(b, nocode);

    assert_import_ok(import(base, t->collection, t->key, "batch=3", b), N + 1, 3);

    json_t *found = export_read(base, strf("/v1/%s:export?status=all", t->collection),
                                code_set(codes, N), 0, NULL);
    assert_int_equal(json_object_size(found), N);
    for (int i = 0; i < N; i++) {
        json_t *line = json_object_get(found, codes[i]);
        json_t *got = stored(base, t->collection, codes[i]);
        const char *what = strf("%s %s", t->collection, codes[i]);
        /* the export shows each object exactly as GET does */
        assert_same_object(line, got, strf("export line and GET of %s", what));
        assert_fields(json_array_get(lines, (size_t)i), line, what);
        assert_string_equal(jstr(line, "updated_by"), t->app);
        assert_int_equal(jint(line, "version"), 1);
        if (i != 1)
            assert_string_equal(jstr(line, "status"), t->grid ? "operational" : "active");
    }
    api_resp *named = api_get(base, strf("/v1/%s?name=%s&status=all", t->collection, urlenc(mark)),
                              KEY_DISPATCH);
    json_t *items = list_items(named);
    assert_int_equal(json_array_size(items), 1);
    char check[BIZCODE_LEN + 1];
    const char *minted = jstr(json_array_get(items, 0), "code");
    assert_int_equal(bizcode_parse(minted, check, NULL), BIZ_OK);
    assert_int_equal(strncmp(minted, t->prefix, 2), 0);
}

/* ---- 3. bad lines reject their batch ------------------------------------------------------------ */

static void bad_lines_reject_their_batch(void **state)
{
    (void)state;
    char **codes = code_array(10);
    char *tag = uniq();
    ndj *b = ndj_new();
    for (int i = 0; i < 10; i++) {
        codes[i] = mint_code("CU");
        json_t *o = customer_line(codes[i], tag, i);
        if (i == 5) json_object_set_new(o, "category", json_string("martian")); /* line 6 */
        if (i == 8) {                                                             /* line 9 */
            ndj_raw(b, strf("{\"code\": \"%s\", \"name\": \"not closed\", \"category\": \"hv\"\n",
                            codes[i]));
            continue;
        }
        ndj_obj(b, o);
    }
    api_resp *r = import(cust_url(), "customers", KEY_MARKETING, "batch=4", b);
    assert_import_rejected(r, 10, 4, 6, 3, "5-8,9-10", "6:category,9:-");
    assert_str_contains(error_message(r, 6), "lv_resident");
    for (int i = 0; i < 4; i++) stored(cust_url(), "customers", codes[i]);
    for (int i = 4; i < 10; i++) absent(cust_url(), "customers", codes[i]);
}

static void blank_lines_count_in_line_numbers(void **state)
{
    (void)state;
    char *tag = uniq();
    char *a = mint_code("CU"), *bad = mint_code("CU"), *c = mint_code("CU");
    ndj *b = ndj_new();
    ndj_raw(b, "\n");                                                       /* 1 */
    ndj_raw(b, strf("%s\r\n", jdump(json_incref(customer_line(a, tag, 1))))); /* 2, CRLF */
    ndj_raw(b, "   \t \n");                                                 /* 3 */
    json_t *o = customer_line(bad, tag, 2);
    json_object_set_new(o, "category", json_string("nobody"));
    ndj_obj(b, o);                                                          /* 4 */
    ndj_raw(b, "[1, 2]\n");                                                 /* 5: not an object */
    ndj_raw(b, strf("%s %s\n", jdump(json_incref(customer_line(c, tag, 3))), /* 6: two objects */
                    jdump(json_pack("{s:s, s:s}", "name", "second", "category", "hv"))));
    ndj_raw(b, "\n");                                                       /* 7 */
    api_resp *r = import(cust_url(), "customers", KEY_MARKETING, NULL, b);
    assert_import_rejected(r, 4, 0, 4, 1, "2-6", "4:category,5:-,6:-");
    absent(cust_url(), "customers", a);
    absent(cust_url(), "customers", bad);
    absent(cust_url(), "customers", c);

    /* the good lines alone, with CRLF, blank lines and no final newline */
    ndj *g = ndj_new();
    ndj_raw(g, strf("\r\n%s\r\n  \r\n\r\n%s", jdump(json_incref(customer_line(a, tag, 1))),
                    jdump(json_incref(customer_line(c, tag, 3)))));
    assert_import_ok(import(cust_url(), "customers", KEY_MARKETING, NULL, g), 2, 1);
    stored(cust_url(), "customers", a);
    stored(cust_url(), "customers", c);

    /* each line is checked as a create: unknown members, read-only members, wrong types */
    char *d[4] = {mint_code("CU"), mint_code("CU"), mint_code("CU"), mint_code("CU")};
    ndj *h = ndj_new();
    json_t *l1 = customer_line(d[0], tag, 4);
    json_object_set_new(l1, "colour", json_string("blue"));
    json_t *l2 = customer_line(d[1], tag, 5);
    json_object_set_new(l2, "version", json_integer(7));
    json_t *l3 = customer_line(d[2], tag, 6);
    json_object_set_new(l3, "contract_capacity_kva", json_string("lots"));
    json_t *l4 = customer_line(d[3], tag, 7);
    json_object_del(l4, "name");
    ndj_obj(h, l1);
    ndj_obj(h, l2);
    ndj_obj(h, l3);
    ndj_obj(h, l4);
    r = import(cust_url(), "customers", KEY_MARKETING, "batch=1", h);
    assert_import_rejected(r, 4, 0, 4, 4, "1-1,2-2,3-3,4-4",
                           "1:colour,2:version,3:contract_capacity_kva,4:name");
    for (int i = 0; i < 4; i++) absent(cust_url(), "customers", d[i]);
}

/* ---- 4. duplicates ------------------------------------------------------------------------------ */

static void duplicates_are_put_on_their_line(void **state)
{
    (void)state;
    char *tag = uniq();
    char *acc_x = strf("X-%s", tag);
    api_resp *x = create_ok(cust_url(), "customers", KEY_MARKETING,
                            jdump(json_pack("{s:s, s:s, s:s}", "name", strf("existing %s", tag),
                                            "category", "hv", "account_no", acc_x)));
    char *xcode = it_strdup(jstr(x->json, "code"));
    json_t *before = stored(cust_url(), "customers", xcode);

    enum { N = 13 };
    char **codes = code_array(N);
    ndj *b = ndj_new();
    for (int i = 0; i < N; i++) codes[i] = mint_code("CU");
    codes[1] = xcode;                                       /* line 2: the code exists */
    codes[10] = codes[9];                                   /* line 11: line 10's code again */
    for (int i = 0; i < N; i++) {
        json_t *o = customer_line(codes[i], tag, i);
        if (i == 3 || i == 5) json_object_set_new(o, "account_no", json_string(strf("D-%s", tag)));
        if (i == 6) json_object_set_new(o, "account_no", json_string(acc_x)); /* line 7 */
        if (i == 10) {
            char *lower = it_strdup(codes[10]);
            for (char *c = lower; *c; c++) *c = (char)tolower((unsigned char)*c);
            json_object_set_new(o, "code", json_string(lower));
        }
        ndj_obj(b, o);
    }
    api_resp *r = import(cust_url(), "customers", KEY_MARKETING, "batch=3", b);
    /* batches 1-3, 4-6, 7-9, 10-12 hold one duplicate each; 13 loads */
    assert_import_rejected(r, N, 1, 12, 5, "1-3,4-6,7-9,10-12",
                           "2:code,6:account_no,7:account_no,11:code");
    assert_str_contains(error_message(r, 2), xcode);
    for (int i = 0; i < 12; i++)
        if (i != 1) absent(cust_url(), "customers", codes[i]);
    stored(cust_url(), "customers", codes[12]);
    assert_same_object(stored(cust_url(), "customers", xcode), before,
                       "the existing customer before and after");
    assert_int_equal(count_where(cust_url(), "customers", strf("account_no=D-%s", tag)), 0);
}

/* ---- 5. the write policy ---------------------------------------------------------------------- */

/* Each line refused for the app's role: 422 naming every line, no field, a
 * message naming the role that may; nothing stored. */
static void assert_refused_by_policy(const api_resp *r, int n, const char *role)
{
    char *want = it_strdup("");
    for (int i = 1; i <= n; i++) want = strf("%s%s%d:-", want, i > 1 ? "," : "", i);
    assert_import_rejected(r, n, 0, n, 1, strf("1-%d", n), want);
    for (int i = 1; i <= n; i++) assert_str_contains(error_message(r, i), role);
}

static void policy_public_transformers(void **state)
{
    (void)state;
    enum { N = 3 };
    const char *refused[] = {KEY_MARKETING, KEY_DISPATCH};
    for (int k = 0; k < 2; k++) {
        char **codes = code_array(N);
        ndj *b = ndj_new();
        for (int i = 0; i < N; i++) {
            codes[i] = mint_code("TR");
            ndj_obj(b, transformer_line(codes[i], "public"));
        }
        api_resp *r = import(grid_url(), "transformers", refused[k], NULL, b);
        assert_refused_by_policy(r, N, "production");
        for (int i = 0; i < N; i++) absent(grid_url(), "transformers", codes[i]);
    }
    /* marketing keeps dedicated transformers: one batch each, only the public one refused */
    char *ded = mint_code("TR"), *pub = mint_code("TR");
    ndj *m = ndj_new();
    ndj_obj(m, transformer_line(ded, "dedicated"));
    ndj_obj(m, transformer_line(pub, "public"));
    api_resp *r = import(grid_url(), "transformers", KEY_MARKETING, "batch=1", m);
    assert_import_rejected(r, 2, 1, 1, 2, "2-2", "2:-");
    assert_string_equal(jstr(stored(grid_url(), "transformers", ded), "updated_by"), "marketing");
    absent(grid_url(), "transformers", pub);
    /* production may */
    char **codes = code_array(N);
    ndj *p = ndj_new();
    for (int i = 0; i < N; i++) {
        codes[i] = mint_code("TR");
        ndj_obj(p, transformer_line(codes[i], "public"));
    }
    assert_import_ok(import(grid_url(), "transformers", KEY_PRODUCTION, NULL, p), N, 1);
    for (int i = 0; i < N; i++)
        assert_string_equal(jstr(stored(grid_url(), "transformers", codes[i]), "updated_by"), "pms");
    /* without a key: 401, before anything */
    ndj *q = ndj_new();
    char *none = mint_code("TR");
    ndj_obj(q, transformer_line(none, "public"));
    assert_problem(import(grid_url(), "transformers", NULL, NULL, q), 401);
    assert_problem(import(grid_url(), "transformers", "not-a-key", NULL, q), 401);
    absent(grid_url(), "transformers", none);
}

static void policy_customers(void **state)
{
    (void)state;
    enum { N = 2 };
    const char *refused[] = {KEY_PRODUCTION, KEY_DISPATCH};
    for (int k = 0; k < 2; k++) {
        char **codes = code_array(N);
        ndj *b = ndj_new();
        customer_lines(b, codes, N);
        assert_refused_by_policy(import(cust_url(), "customers", refused[k], NULL, b), N,
                                 "marketing");
        for (int i = 0; i < N; i++) absent(cust_url(), "customers", codes[i]);
    }
    char **codes = code_array(N);
    ndj *b = ndj_new();
    customer_lines(b, codes, N);
    assert_import_ok(import(cust_url(), "customers", KEY_ADMIN, NULL, b), N, 1);
    assert_string_equal(jstr(stored(cust_url(), "customers", codes[0]), "updated_by"), "admin");
}

static void policy_relations(void **state)
{
    (void)state;
    char *ln = new_line();
    char **trs = code_array(2);
    import_transformers(trs, 2, "public");
    const char *refused[] = {KEY_MARKETING, KEY_DISPATCH};
    ndj *b = ndj_new();
    ndj_obj(b, lk(ln, trs[0]));
    ndj_obj(b, lk(ln, trs[1]));
    for (int k = 0; k < 2; k++) {
        api_resp *r = import(grid_url(), "relations/line-transformer", refused[k], NULL, b);
        assert_refused_by_policy(r, 2, "production");
        assert_int_equal(json_array_size(links_where(grid_url(), "line-transformer",
                                                     strf("from=%s", ln))), 0);
    }
    assert_import_ok(import(grid_url(), "relations/line-transformer", KEY_PRODUCTION, NULL, b), 2, 1);
    json_t *items = links_where(grid_url(), "line-transformer", strf("from=%s", ln));
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(jstr(json_array_get(items, 0), "created_by"), "pms");
}

/* ---- 6. relations --------------------------------------------------------------------------- */

static void relation_import_and_its_rules(void **state)
{
    (void)state;
    char *l1 = new_line(), *l2 = new_line();
    char **t = code_array(7);
    import_transformers(t, 4, "public");
    t[4] = new_transformer("public");
    t[5] = new_transformer("public");
    retire(grid_url(), "transformers", t[4], KEY_PRODUCTION);

    ndj *b = ndj_new();
    for (int i = 0; i < 3; i++) ndj_obj(b, lk(l1, t[i]));
    assert_import_ok(import(grid_url(), "relations/line-transformer", KEY_PRODUCTION, NULL, b), 3, 1);
    for (int i = 0; i < 3; i++) {
        json_t *items = links_where(grid_url(), "line-transformer", strf("to=%s", t[i]));
        assert_int_equal(json_array_size(items), 1);
        json_t *l = json_array_get(items, 0);
        assert_string_equal(jstr(l, "from"), l1);
        assert_string_equal(jstr(l, "kind"), "line-transformer");
        assert_string_equal(jstr(l, "status"), "operational");
        assert_true(json_is_null(json_object_get(l, "valid_to")));
        assert_true(is_rfc3339_utc(jstr(l, "valid_from")));
    }
    assert_int_equal(json_array_size(links_where(grid_url(), "line-transformer", strf("from=%s", l1))), 3);

    /* a transformer hangs on one line: a second line for it is refused on "to" */
    ndj *again = ndj_new();
    ndj_obj(again, lk(l2, t[0]));
    api_resp *r = import(grid_url(), "relations/line-transformer", KEY_PRODUCTION, NULL, again);
    assert_import_rejected(r, 1, 0, 1, 1, "1-1", "1:to");
    json_t *items = links_where(grid_url(), "line-transformer", strf("to=%s", t[0]));
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(jstr(json_array_get(items, 0), "from"), l1);

    /* ... also when both links are in the same file: the second line */
    ndj *clash = ndj_new();
    ndj_obj(clash, lk(l1, t[3]));
    ndj_obj(clash, lk(l2, t[3]));
    r = import(grid_url(), "relations/line-transformer", KEY_PRODUCTION, NULL, clash);
    assert_import_rejected(r, 2, 0, 2, 1, "1-2", "2:to");
    assert_int_equal(json_array_size(links_where(grid_url(), "line-transformer", strf("to=%s", t[3]))), 0);

    /* retired end, unknown ends, a code of the wrong type; then one good line */
    char *no_tr = mint_code("TR"), *no_ln = mint_code("LN");
    ndj *ends = ndj_new();
    ndj_obj(ends, lk(l2, t[4]));    /* 1: retired transformer */
    ndj_obj(ends, lk(l2, no_tr));   /* 2: no such transformer */
    ndj_obj(ends, lk(no_ln, t[5])); /* 3: no such line */
    ndj_obj(ends, lk(t[1], t[5]));  /* 4: a transformer as from */
    ndj_obj(ends, lk(l2, t[5]));    /* 5: fine */
    r = import(grid_url(), "relations/line-transformer", KEY_PRODUCTION, "batch=1", ends);
    assert_import_rejected(r, 5, 1, 4, 5, "1-1,2-2,3-3,4-4", "1:to,2:to,3:from,4:from");
    assert_str_contains(error_message(r, 1), "retired");
    assert_str_contains(error_message(r, 2), no_tr);
    assert_str_contains(error_message(r, 3), no_ln);
    assert_int_equal(json_array_size(links_where(grid_url(), "line-transformer", strf("to=%s", t[4]))), 0);
    items = links_where(grid_url(), "line-transformer", strf("to=%s", t[5]));
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(jstr(json_array_get(items, 0), "from"), l2);

    /* end rule: an access point belongs to a public transformer's area */
    char *ap1 = new_access_point(), *ap2 = new_access_point();
    char *ded = new_transformer("dedicated");
    ndj *area = ndj_new();
    ndj_obj(area, lk(ap1, ded));
    r = import(grid_url(), "relations/accesspoint-transformer", KEY_PRODUCTION, NULL, area);
    assert_import_rejected(r, 1, 0, 1, 1, "1-1", "1:to");
    assert_str_contains(error_message(r, 1), "public");
    assert_int_equal(json_array_size(links_where(grid_url(), "accesspoint-transformer", strf("from=%s", ap1))), 0);
    ndj *fine = ndj_new();
    ndj_obj(fine, lk(ap2, t[1]));
    assert_import_ok(import(grid_url(), "relations/accesspoint-transformer", KEY_PRODUCTION, NULL, fine), 1, 1);
    assert_true(links_have(links_where(grid_url(), "accesspoint-transformer", strf("from=%s", ap2)), ap2, t[1]));

    /* attributes and link status: substation-line takes role, status design */
    char *ss = create_substation(strf("bulk SS %s", uniq()));
    ndj *attrs = ndj_new();
    json_t *a1 = lk(ss, l1);
    json_object_set_new(a1, "role", json_string("tie"));
    json_object_set_new(a1, "status", json_string("design"));
    ndj_obj(attrs, a1);
    json_t *a2 = lk(ss, l2);
    json_object_set_new(a2, "role", json_string("sideways"));
    ndj_obj(attrs, a2);
    r = import(grid_url(), "relations/substation-line", KEY_PRODUCTION, "batch=1", attrs);
    assert_import_rejected(r, 2, 1, 1, 2, "2-2", "2:role");
    items = links_where(grid_url(), "substation-line", strf("from=%s&status=design", ss));
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(jstr(json_array_get(items, 0), "role"), "tie");
    assert_string_equal(jstr(json_array_get(items, 0), "status"), "design");
}

/* ---- 7. ends kept by the peer ------------------------------------------------------------------ */

static void peer_ends_are_confirmed_in_batches(void **state)
{
    (void)state;
    enum { N = 50 };
    /* Other clients of the shared daemons may use the peer at the same
     * time: the cheapest of three imports counts. */
    double best = 1e9;
    for (int attempt = 0; attempt < 3 && best > 2; attempt++) {
        char *ap = new_access_point();
        char **mb = code_array(N);
        import_meter_boxes(mb, N);
        ndj *b = ndj_new();
        for (int i = 0; i < N; i++) ndj_obj(b, lk(ap, mb[i]));
        double before = peer_requests_total(grid_url());
        api_resp *r = import(grid_url(), "relations/accesspoint-meterbox", KEY_MARKETING, NULL, b);
        double cost = peer_requests_total(grid_url()) - before;
        assert_import_ok(r, N, 1);
        json_t *items = links_where(grid_url(), "accesspoint-meterbox", strf("from=%s", ap));
        assert_int_equal(json_array_size(items), N);
        for (int i = 0; i < N; i++) assert_true(links_have(items, ap, mb[i]));
        if (cost < 1) fail_msg("importing %d links to meter boxes asked cust-svc nothing", N);
        print_message("importing %d links to meter boxes: %g peer requests\n", N, cost);
        if (cost < best) best = cost;
    }
    if (best > 2)
        fail_msg("importing %d links to %d meter boxes cost %g peer requests (want at most 2)", N,
                 N, best);
}

static void peer_ends_must_exist(void **state)
{
    (void)state;
    char *ap = new_access_point();
    char **mb = code_array(4);
    import_meter_boxes(mb, 4);
    retire(cust_url(), "meter-boxes", mb[3], KEY_MARKETING);
    char *none = mint_code("MB");
    ndj *b = ndj_new();
    ndj_obj(b, lk(ap, mb[0]));
    ndj_obj(b, lk(ap, none));
    ndj_obj(b, lk(ap, mb[1]));
    api_resp *r = import(grid_url(), "relations/accesspoint-meterbox", KEY_MARKETING, NULL, b);
    assert_import_rejected(r, 3, 0, 3, 1, "1-3", "2:to");
    assert_str_contains(error_message(r, 2), none);
    assert_int_equal(json_array_size(links_where(grid_url(), "accesspoint-meterbox", strf("from=%s", ap))), 0);

    ndj *ret = ndj_new();
    ndj_obj(ret, lk(ap, mb[3]));
    r = import(grid_url(), "relations/accesspoint-meterbox", KEY_MARKETING, NULL, ret);
    assert_import_rejected(r, 1, 0, 1, 1, "1-1", "1:to");
    assert_str_contains(error_message(r, 1), "retired");

    ndj *ok = ndj_new();
    ndj_obj(ok, lk(ap, mb[0]));
    ndj_obj(ok, lk(ap, mb[1]));
    ndj_obj(ok, lk(ap, mb[2]));
    assert_import_ok(import(grid_url(), "relations/accesspoint-meterbox", KEY_MARKETING, NULL, ok), 3, 1);
    assert_int_equal(json_array_size(links_where(grid_url(), "accesspoint-meterbox", strf("from=%s", ap))), 3);
}

/* cust-svc objects that name grid-svc transformers (with the dedicated rule). */
static void peer_codes_in_fields_are_confirmed(void **state)
{
    (void)state;
    char *cu = create_customer(strf("billing customer %s", uniq()), NULL);
    char *ded = new_transformer("dedicated"), *pub = new_transformer("public");
    char *none = mint_code("TR");
    char **tb = code_array(4);
    const char *trs[] = {ded, pub, none, ded};
    ndj *b = ndj_new();
    for (int i = 0; i < 4; i++) {
        tb[i] = mint_code("TB");
        ndj_obj(b, jkeep(json_pack("{s:s, s:s, s:s, s:s}", "code", tb[i], "customer",
                                   i == 3 ? mint_code("CU") : cu, "transformer", trs[i],
                                   "tariff", "T1")));
    }
    api_resp *r = import(cust_url(), "transformer-billings", KEY_MARKETING, "batch=1", b);
    assert_import_rejected(r, 4, 1, 3, 4, "2-2,3-3,4-4", "2:transformer,3:transformer,4:customer");
    assert_str_contains(error_message(r, 2), "dedicated");
    assert_str_contains(error_message(r, 3), none);
    json_t *got = stored(cust_url(), "transformer-billings", tb[0]);
    assert_string_equal(jstr(got, "transformer"), ded);
    assert_string_equal(jstr(got, "customer"), cu);
    for (int i = 1; i < 4; i++) absent(cust_url(), "transformer-billings", tb[i]);
}

/* ---- 8. the peer down ---------------------------------------------------------------------- */

/* Stopped by a peer that cannot be reached: 502 with Retry-After (DESIGN §4). */
static void assert_stopped(const api_resp *r, long long at)
{
    assert_problem(r, 502);
    assert_true(r->retry_after[0] != '\0');
    if (jint(r->json, "stopped_at_line") != at) {
        api_dump(r);
        fail_msg("stopped_at_line is %lld, want %lld", jint(r->json, "stopped_at_line"), at);
    }
    assert_int_equal(member(r, "imported"), 0);
    member(r, "lines");
    member(r, "rejected");
    member(r, "batches");
    assert_true(json_is_array(json_object_get(r->json, "rejected_batches")));
    assert_true(json_is_array(json_object_get(r->json, "errors")));
}

static void peer_down_stops_the_import(void **state)
{
    (void)state;
    char *ap = new_access_point();
    char **mb = code_array(3);
    import_meter_boxes(mb, 3);
    char *ln = new_line();
    char **trs = code_array(2);
    import_transformers(trs, 2, "public");
    int dead = free_port();
    const char *base = start_extra(0, "grid", strf("http://127.0.0.1:%d", dead), NULL, "nopeer");

    ndj *b = ndj_new();
    for (int i = 0; i < 3; i++) ndj_obj(b, lk(ap, mb[i]));
    api_resp *r = import(base, "relations/accesspoint-meterbox", KEY_MARKETING, NULL, b);
    assert_stopped(r, 1);
    assert_str_contains(r->body, "cust-svc");
    assert_int_equal(json_array_size(links_where(grid_url(), "accesspoint-meterbox", strf("from=%s", ap))), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(json_array_size(links_where(grid_url(), "accesspoint-meterbox", strf("to=%s", mb[i]))), 0);

    /* an import that needs nothing from the peer goes on */
    ndj *local = ndj_new();
    ndj_obj(local, lk(ln, trs[0]));
    ndj_obj(local, lk(ln, trs[1]));
    assert_import_ok(import(base, "relations/line-transformer", KEY_PRODUCTION, NULL, local), 2, 1);
    assert_int_equal(json_array_size(links_where(grid_url(), "line-transformer", strf("from=%s", ln))), 2);
    stop_extra(0);

    /* with the peer back, the same file loads */
    assert_import_ok(import(grid_url(), "relations/accesspoint-meterbox", KEY_MARKETING, NULL, b), 3, 1);
}

static void peer_down_stops_the_import_on_cust(void **state)
{
    (void)state;
    char *cu = create_customer(strf("billing customer %s", uniq()), NULL);
    char *ded = new_transformer("dedicated");
    int dead = free_port();
    const char *base = start_extra(1, "cust", strf("http://127.0.0.1:%d", dead), NULL, "nopeer-cust");
    char **tb = code_array(2);
    ndj *b = ndj_new();
    for (int i = 0; i < 2; i++) {
        tb[i] = mint_code("TB");
        ndj_obj(b, jkeep(json_pack("{s:s, s:s, s:s}", "code", tb[i], "customer", cu,
                                   "transformer", ded)));
    }
    api_resp *r = import(base, "transformer-billings", KEY_MARKETING, NULL, b);
    assert_stopped(r, 1);
    assert_str_contains(r->body, "grid-svc");
    for (int i = 0; i < 2; i++) absent(cust_url(), "transformer-billings", tb[i]);

    /* customers name only cust-svc objects */
    char **cus = code_array(2);
    ndj *c = ndj_new();
    customer_lines(c, cus, 2);
    assert_import_ok(import(base, "customers", KEY_MARKETING, NULL, c), 2, 1);
    stored(cust_url(), "customers", cus[1]);
    stop_extra(1);
}

/* ---- 9. Content-Type, parameters, sizes ------------------------------------------------------ */

static json_t *address_line(const char *code)
{
    return jkeep(json_pack("{s:s, s:s, s:s, s:s, s:s}", "code", code, "province", "浙江省", "city",
                           "杭州市", "district", "西湖区", "detail", strf("bulk %s", uniq())));
}

/* One fresh address line; its code in *code. */
static ndj *one_address(char **code)
{
    *code = mint_code("AD");
    ndj *b = ndj_new();
    ndj_obj(b, address_line(*code));
    return b;
}

/* A large body is only read for a known caller: without a key the answer
 * is 401 at once, before a byte of the (here never sent) body arrives. */
static void large_bodies_need_a_key_first(void **state)
{
    (void)state;
    int port = atoi(strrchr(cust_url(), ':') + 1);
    const char *keys[] = {NULL, "Bearer not-a-key"};
    for (int k = 0; k < 2; k++) {
        char *head = strf("POST /v1/customers:import HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                          "%s%s%sContent-Type: application/x-ndjson\r\n"
                          "Content-Length: 104857600\r\n\r\n",
                          port, keys[k] ? "Authorization: " : "", keys[k] ? keys[k] : "",
                          keys[k] ? "\r\n" : "");
        int fd = raw_connect(port);
        assert_true(fd >= 0);
        assert_int_equal(raw_send(fd, head, strlen(head)), 0);
        char *resp = raw_read_response(fd, 3);
        if (raw_status(resp) != 401)
            fail_msg("a 100 MiB import without a valid key was not refused at once: '%.200s'", resp);
    }
}

static void content_type_and_parameters(void **state)
{
    (void)state;
    char *code;
    ndj *b = one_address(&code);
    const char *refused[] = {"text/plain", "application/json", "", "application/x-ndjsonx",
                             "multipart/form-data; boundary=x"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        assert_problem(import_ct(cust_url(), "addresses", KEY_MARKETING, NULL, refused[i], b, 0), 415);
    absent(cust_url(), "addresses", code);

    const char *taken[] = {"application/x-ndjson", "application/ndjson", "application/jsonl",
                           "application/x-ndjson; charset=utf-8", "Application/X-NDJSON"};
    for (size_t i = 0; i < sizeof taken / sizeof *taken; i++) {
        char *c;
        ndj *one = one_address(&c);
        assert_import_ok(import_ct(cust_url(), "addresses", KEY_MARKETING, NULL, taken[i], one, 0), 1, 1);
        stored(cust_url(), "addresses", c);
    }

    /* no lines */
    assert_problem(import(cust_url(), "addresses", KEY_MARKETING, NULL, NULL), 400);
    ndj *blank = ndj_new();
    ndj_raw(blank, "\n  \n\r\n\n");
    assert_problem(import(cust_url(), "addresses", KEY_MARKETING, NULL, blank), 400);

    /* batch is 1 to 50000 */
    const char *bad_batch[] = {"batch=0", "batch=abc", "batch=-1", "batch=", "batch=50001",
                               "batch=5x", "batch=1.5"};
    for (size_t i = 0; i < sizeof bad_batch / sizeof *bad_batch; i++)
        assert_problem(import(cust_url(), "addresses", KEY_MARKETING, bad_batch[i], b), 400);
    absent(cust_url(), "addresses", code);
    const char *good_batch[] = {"batch=1", "batch=50000"};
    for (size_t i = 0; i < 2; i++) {
        char *c;
        ndj *one = one_address(&c);
        assert_import_ok(import(cust_url(), "addresses", KEY_MARKETING, good_batch[i], one), 1, 1);
        stored(cust_url(), "addresses", c);
    }
}

static char *pad(int n, char c)
{
    char *s = it_track(malloc((size_t)n + 1), free);
    memset(s, c, (size_t)n);
    s[n] = '\0';
    return s;
}

/* Address lines (about 900 bytes each) until the body has at least size
 * bytes; their codes in *codes, their number answered. */
static int big_addresses(ndj *b, size_t size, char ***codes)
{
    int cap = (int)(size / 800) + 16, n = 0;
    *codes = code_array(cap);
    char *tag = uniq();
    char *p60 = pad(52, 'p'), *p100 = pad(92, 's'), *p30 = pad(22, 'u'), *p300 = pad(270, 'd');
    while (b->len < size) {
        assert_true(n < cap);
        char *code = mint_code("AD");
        (*codes)[n] = code;
        ndj_obj(b, jkeep(json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "code",
                                   code, "province", strf("%s%06d", p60, n), "city", p60,
                                   "district", p60, "street", p100, "community", p100, "building",
                                   p60, "unit", p30, "room", p30, "detail",
                                   strf("%s %s %d", p300, tag, n))));
        n++;
    }
    return n;
}

static void large_imports_are_not_held_to_the_json_limit(void **state)
{
    (void)state;
    ndj *b = ndj_new();
    char **codes;
    int n = big_addresses(b, 2 * MIB + 1000, &codes);
    assert_true(b->len > 2 * MIB);
    api_resp *r = import(cust_url(), "addresses", KEY_MARKETING, NULL, b);
    assert_import_ok(r, n, 1);
    stored(cust_url(), "addresses", codes[0]);
    stored(cust_url(), "addresses", codes[n - 1]);

    /* the same size sent chunked (no Content-Length) */
    ndj *c = ndj_new();
    char **codes2;
    int n2 = big_addresses(c, 2 * MIB + 1000, &codes2);
    r = import_ct(cust_url(), "addresses", KEY_MARKETING, "batch=1000", NDJSON, c, 1);
    assert_import_ok(r, n2, (n2 + 999) / 1000);
    stored(cust_url(), "addresses", codes2[n2 - 1]);

    /* a normal JSON create of that size is still refused */
    char *big = strf("{\"province\": \"%s\", \"city\": \"c\", \"district\": \"d\"}", pad(2 * MIB, 'x'));
    api_opts o = {.key = KEY_MARKETING};
    assert_problem(api_call("POST", strf("%s/v1/addresses", cust_url()), &o, big, strlen(big)), 413);
}

static void import_limit_is_its_own(void **state)
{
    (void)state;
    const char *vars[] = {"IMPORT_LIMIT_MIB", "1", "BODY_LIMIT_KIB", "64", NULL};
    const char *base = start_extra(1, "cust", grid_url(), vars, "limits");

    /* over the JSON limit, under the import limit */
    ndj *fine = ndj_new();
    char **ok_codes;
    int n = big_addresses(fine, 300 * 1024, &ok_codes);
    assert_import_ok(import(base, "addresses", KEY_MARKETING, NULL, fine), n, 1);
    stored(cust_url(), "addresses", ok_codes[n - 1]);

    /* over the import limit, with and without Content-Length */
    ndj *big = ndj_new();
    char **codes;
    int m = big_addresses(big, MIB + 300 * 1024, &codes);
    assert_problem(import(base, "addresses", KEY_MARKETING, NULL, big), 413);
    assert_problem(import_ct(base, "addresses", KEY_MARKETING, NULL, NDJSON, big, 1), 413);
    absent(cust_url(), "addresses", codes[0]);
    absent(cust_url(), "addresses", codes[m - 1]);

    /* and JSON routes keep theirs */
    char *json = strf("{\"province\": \"%s\", \"city\": \"c\", \"district\": \"d\"}", pad(100 * 1024, 'x'));
    api_opts o = {.key = KEY_MARKETING};
    assert_problem(api_call("POST", strf("%s/v1/addresses", base), &o, json, strlen(json)), 413);
    stop_extra(1);
}

/* ---- 10. history ---------------------------------------------------------------------------- */


static char *sql_array(char **codes, int n)
{
    char *s = it_strdup("ARRAY[");
    for (int i = 0; i < n; i++) s = strf("%s%s'%s'", s, i ? "," : "", codes[i]);
    return strf("%s]::text[]", s);
}

/* One change row per loaded batch: type, app, code = the batch's first key,
 * after = {count, first, last, first_line, last_line}. */
static void assert_change(PGresult *res, int row, const char *type, const char *app,
                          const char *first, const char *last, int count, int first_line,
                          int last_line)
{
    assert_string_equal(PQgetvalue(res, row, 0), type);
    assert_string_equal(PQgetvalue(res, row, 1), app);
    assert_string_equal(PQgetvalue(res, row, 2), first);
    json_t *after = jkeep(json_loads(PQgetvalue(res, row, 3), 0, NULL));
    if (!json_is_object(after)) fail_msg("after of change row %d is %s", row, PQgetvalue(res, row, 3));
    json_t *want = jkeep(json_pack("{s:i, s:s, s:s, s:i, s:i}", "count", count, "first", first,
                                   "last", last, "first_line", first_line, "last_line", last_line));
    assert_same_object(after, want, strf("after of the %s change %d", type, row));
}

static void each_batch_is_one_change(void **state)
{
    (void)state;
    enum { N = 7 };
    char **codes = code_array(N);
    ndj *b = ndj_new();
    customer_lines(b, codes, N);
    assert_import_ok(import(cust_url(), "customers", KEY_MARKETING, "batch=3", b), N, 3);

    /* a rejected batch records nothing */
    char **bad = code_array(3);
    ndj *rb = ndj_new();
    char *tag = uniq();
    for (int i = 0; i < 3; i++) {
        bad[i] = mint_code("CU");
        json_t *o = customer_line(bad[i], tag, i);
        if (i == 1) json_object_set_new(o, "category", json_string("none"));
        ndj_obj(rb, o);
    }
    assert_import_rejected(import(cust_url(), "customers", KEY_MARKETING, NULL, rb), 3, 0, 3, 1,
                           "1-3", "2:category");

    PGconn *db = pg_admin(db_name_of("CUST_DATABASE_URL"));
    PGresult *res = pg_ok(db, strf("SELECT type, app, code, after::text FROM changes WHERE "
                                   "type = 'customer.imported' AND code = ANY(%s) ORDER BY seq",
                                   sql_array(codes, N)));
    assert_int_equal(PQntuples(res), 3);
    assert_change(res, 0, "customer.imported", "marketing", codes[0], codes[2], 3, 1, 3);
    assert_change(res, 1, "customer.imported", "marketing", codes[3], codes[5], 3, 4, 6);
    assert_change(res, 2, "customer.imported", "marketing", codes[6], codes[6], 1, 7, 7);
    res = pg_ok(db, strf("SELECT count(*) FROM changes WHERE code = ANY(%s) OR after->>'first' = "
                         "ANY(%s)", sql_array(bad, 3), sql_array(bad, 3)));
    assert_string_equal(PQgetvalue(res, 0, 0), "0");

    /* links: the batch's first from end, blank lines counted */
    char *l1 = new_line(), *l2 = new_line();
    char **trs = code_array(3);
    import_transformers(trs, 3, "public");
    ndj *lb = ndj_new();
    ndj_raw(lb, "\n");
    ndj_obj(lb, lk(l1, trs[0]));
    ndj_obj(lb, lk(l1, trs[1]));
    ndj_obj(lb, lk(l2, trs[2]));
    assert_import_ok(import(grid_url(), "relations/line-transformer", KEY_PRODUCTION, "batch=2", lb), 3, 2);
    PGconn *gdb = pg_admin(db_name_of("GRID_DATABASE_URL"));
    char *ends[] = {l1, l2};
    res = pg_ok(gdb, strf("SELECT type, app, code, after::text FROM changes WHERE type = "
                          "'relation.imported' AND code = ANY(%s) ORDER BY seq",
                          sql_array(ends, 2)));
    assert_int_equal(PQntuples(res), 2);
    assert_change(res, 0, "relation.imported", "pms", l1, l1, 2, 2, 3);
    assert_change(res, 1, "relation.imported", "pms", l2, l2, 1, 4, 4);
    /* transformers imported above: one transformer.imported row for the three */
    res = pg_ok(gdb, strf("SELECT count(*) FROM changes WHERE type = 'transformer.imported' AND "
                          "code = '%s'", trs[0]));
    assert_string_equal(PQgetvalue(res, 0, 0), "1");
}

/* ---- 11. exports ------------------------------------------------------------------------------ */

static void export_parameters(void **state)
{
    (void)state;
    const char *bad[] = {"status=bogus", "foo=1", "status=active,bogus", "limit=10"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_problem(api_get(cust_url(), strf("/v1/customers:export?%s", bad[i]), KEY_DISPATCH), 400);
    assert_problem(api_get(grid_url(), "/v1/substations:export?status=active", KEY_DISPATCH), 400);
    const char *rel_bad[] = {"status=all", "x=1", strf("from=%s", mint_code("LN"))};
    for (size_t i = 0; i < sizeof rel_bad / sizeof *rel_bad; i++)
        assert_problem(api_get(grid_url(), strf("/v1/relations/line-transformer:export?%s", rel_bad[i]),
                               KEY_DISPATCH), 400);
    assert_problem(api_get(cust_url(), "/v1/relations/meter-meterbox:export?limit=1", KEY_DISPATCH), 400);
    /* reads need a key */
    assert_status(api_get(cust_url(), "/v1/customers:export", NULL), 401);
    assert_status(api_get(grid_url(), "/v1/relations/line-transformer:export", NULL), 401);
}

static void export_statuses_cust(void **state)
{
    (void)state;
    char **mb = code_array(3);
    ndj *b = ndj_new();
    for (int i = 0; i < 3; i++) {
        mb[i] = mint_code("MB");
        json_t *o = meter_box_line(mb[i]);
        if (i == 1) json_object_set_new(o, "status", json_string("pending"));
        ndj_obj(b, o);
    }
    assert_import_ok(import(cust_url(), "meter-boxes", KEY_MARKETING, NULL, b), 3, 1);
    retire(cust_url(), "meter-boxes", mb[2], KEY_MARKETING);
    json_t *want = code_set(mb, 3);

    json_t *dflt = export_read(cust_url(), "/v1/meter-boxes:export", want, 0, NULL);
    assert_non_null(json_object_get(dflt, mb[0]));
    assert_non_null(json_object_get(dflt, mb[1]));
    assert_null(json_object_get(dflt, mb[2]));

    json_t *all = export_read(cust_url(), "/v1/meter-boxes:export?status=all", want, 0, NULL);
    assert_int_equal(json_object_size(all), 3);
    assert_string_equal(jstr(json_object_get(all, mb[2]), "status"), "retired");
    for (int i = 0; i < 3; i++)
        assert_same_object(json_object_get(all, mb[i]), stored(cust_url(), "meter-boxes", mb[i]),
                           strf("export line and GET of %s", mb[i]));

    json_t *ret = export_read(cust_url(), "/v1/meter-boxes:export?status=retired", want, 0, NULL);
    assert_int_equal(json_object_size(ret), 1);
    assert_non_null(json_object_get(ret, mb[2]));
    json_t *two = export_read(cust_url(), "/v1/meter-boxes:export?status=pending,retired", want, 0, NULL);
    assert_int_equal(json_object_size(two), 2);
    assert_null(json_object_get(two, mb[0]));
}

static void export_statuses_grid(void **state)
{
    (void)state;
    char **ss = code_array(3);
    ndj *b = ndj_new();
    for (int i = 0; i < 3; i++) {
        ss[i] = mint_code("SS");
        json_t *o = jkeep(json_pack("{s:s, s:s, s:f}", "code", ss[i], "name",
                                    strf("bulk SS %d %s", i, uniq()), "voltage_kv", 35.0));
        if (i == 1) json_object_set_new(o, "status", json_string("design"));
        ndj_obj(b, o);
    }
    assert_import_ok(import(grid_url(), "substations", KEY_PRODUCTION, NULL, b), 3, 1);
    retire(grid_url(), "substations", ss[2], KEY_PRODUCTION);
    json_t *want = code_set(ss, 3);

    json_t *dflt = export_read(grid_url(), "/v1/substations:export", want, 0, NULL);
    assert_int_equal(json_object_size(dflt), 1);
    assert_non_null(json_object_get(dflt, ss[0]));
    json_t *all = export_read(grid_url(), "/v1/substations:export?status=all", want, 0, NULL);
    assert_int_equal(json_object_size(all), 3);
    json_t *design = export_read(grid_url(), "/v1/substations:export?status=design", want, 0, NULL);
    assert_int_equal(json_object_size(design), 1);
    assert_string_equal(jstr(json_object_get(design, ss[1]), "status"), "design");
}

static void export_links(void **state)
{
    (void)state;
    char *ln = new_line();
    char **trs = code_array(3);
    import_transformers(trs, 3, "public");
    ndj *b = ndj_new();
    for (int i = 0; i < 3; i++) ndj_obj(b, lk(ln, trs[i]));
    assert_import_ok(import(grid_url(), "relations/line-transformer", KEY_PRODUCTION, NULL, b), 3, 1);
    api_resp *d = api_delete(grid_url(), strf("/v1/relations/line-transformer?from=%s&to=%s", ln, trs[2]),
                             KEY_PRODUCTION);
    assert_status(d, 200);

    char *keys[] = {ln};
    json_t *got = export_read(grid_url(), "/v1/relations/line-transformer:export", code_set(keys, 1), 1,
                              NULL);
    assert_int_equal(json_object_size(got), 2);
    /* each as the relation list shows it */
    json_t *listed = links_where(grid_url(), "line-transformer", strf("from=%s", ln));
    assert_int_equal(json_array_size(listed), 2);
    size_t i;
    json_t *it;
    json_array_foreach(listed, i, it) {
        const char *k = strf("%s>%s", jstr(it, "from"), jstr(it, "to"));
        json_t *line = json_object_get(got, k);
        if (!line) fail_msg("the export of line-transformer has no line for %s", k);
        assert_same_object(line, it, strf("export line and list item of %s", k));
    }
    assert_null(json_object_get(got, strf("%s>%s", ln, trs[2])));

    /* and a cust-svc relation */
    char *mt = post_code(cust_url(), "meters", KEY_MARKETING,
                         json_pack("{s:s}", "asset_no", strf("A%s", uniq())));
    char **mb = code_array(1);
    import_meter_boxes(mb, 1);
    ndj *m = ndj_new();
    ndj_obj(m, lk(mt, mb[0]));
    assert_import_ok(import(cust_url(), "relations/meter-meterbox", KEY_MARKETING, NULL, m), 1, 1);
    char *mk[] = {mt};
    json_t *mg = export_read(cust_url(), "/v1/relations/meter-meterbox:export", code_set(mk, 1), 1, NULL);
    assert_int_equal(json_object_size(mg), 1);
    json_t *l = json_object_get(mg, strf("%s>%s", mt, mb[0]));
    assert_non_null(l);
    assert_string_equal(jstr(l, "kind"), "meter-meterbox");
    assert_string_equal(jstr(l, "created_by"), "marketing");
}

/* GET path on 127.0.0.1:port over a fresh connection, read up to the end of
 * the answer (the last chunk of a chunked one) and closed at once, as a
 * quick client does: the status, or -1; the start of the answer in answer. */
static int quick_get(int port, const char *path, char *answer, size_t answer_len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    int status = -1;
    char req[1024];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n\r\n",
             path, KEY_DISPATCH);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    if (!buf) goto out;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 || send(fd, req, strlen(req), MSG_NOSIGNAL) < 0)
        goto out;
    double deadline = now_s() + 30;
    for (;;) {
        buf[len] = '\0';
        const char *head_end = strstr(buf, "\r\n\r\n");
        if (head_end) {
            const char *body = head_end + 4;
            if (strcasestr(buf, "Transfer-Encoding: chunked")) {
                if (len >= 5 && strcmp(buf + len - 5, "0\r\n\r\n") == 0) break;
            } else {
                const char *cl = strcasestr(buf, "Content-Length:");
                if (cl && cl < head_end && (size_t)(buf + len - body) >= strtoul(cl + 15, NULL, 10))
                    break;
            }
        }
        if (len == cap) {
            /* keep the headers and the last bytes only */
            const char *h = strstr(buf, "\r\n\r\n");
            size_t keep = h ? (size_t)(h - buf) + 4 : 0;
            if (keep > cap / 2) goto out;
            memmove(buf + keep, buf + len - 64, 64);
            len = keep + 64;
        }
        struct pollfd pfd = {fd, POLLIN, 0};
        double left = deadline - now_s();
        if (left <= 0 || poll(&pfd, 1, (int)(left * 1000) + 1) <= 0) goto out;
        ssize_t n = recv(fd, buf + len, cap - len, 0);
        if (n <= 0) break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) status = -1;
    if (answer) snprintf(answer, answer_len, "%s", buf);
out:
    free(buf);
    close(fd);
    return status;
}

static int port_of(const char *url)
{
    const char *colon = strrchr(url, ':');
    if (!colon || !isdigit((unsigned char)colon[1])) fail_msg("no port in %s", url);
    return atoi(colon + 1);
}

/* One export after another, each read to its end, never finds the limit on
 * exports at once taken: a finished export holds no slot. (A slot freed only
 * when the server gets round to releasing the answer shows up as an
 * occasional 503 "exports are running already"; hence many quick rounds.) */
static void sequential_exports_are_not_refused(void **state)
{
    (void)state;
    int port = port_of(grid_url());
    int n = 0, refused = 0, first = -1;
    char answer[1024], first_answer[1024] = "";
    double until = now_s() + 8;
    while (n < 4000 && now_s() < until) {
        int st = quick_get(port, "/v1/substations:export?status=design", answer, sizeof answer);
        n++;
        if (st == 503) {
            if (first < 0) {
                first = n;
                snprintf(first_answer, sizeof first_answer, "%s", answer);
            }
            refused++;
        } else if (st != 200) {
            fail_msg("export number %d answered %d", n, st);
        }
    }
    print_message("%d sequential exports, %d refused\n", n, refused);
    if (refused)
        fail_msg("%d of %d exports, each sent after the previous one was read to its end, were "
                 "refused with 503; the first was number %d:\n%s",
                 refused, n, first, first_answer);
}

/* ---- 12. OpenAPI -------------------------------------------------------------------------- */

static void openapi_has_import(json_t *paths, const char *label, const char *path)
{
    json_t *post = json_object_get(json_object_get(paths, path), "post");
    if (!post) fail_msg("%s /openapi.json: no POST %s", label, path);
    json_t *content = json_object_get(json_object_get(post, "requestBody"), "content");
    if (!json_object_get(content, NDJSON))
        fail_msg("%s /openapi.json: POST %s takes no %s body", label, path, NDJSON);
}

static void openapi_has_export(json_t *paths, const char *label, const char *path)
{
    json_t *get = json_object_get(json_object_get(paths, path), "get");
    if (!get) fail_msg("%s /openapi.json: no GET %s", label, path);
    json_t *ok = json_object_get(json_object_get(get, "responses"), "200");
    if (!json_object_get(json_object_get(ok, "content"), NDJSON))
        fail_msg("%s /openapi.json: GET %s answers no %s", label, path, NDJSON);
}

static void openapi_documents_bulk_paths(void **state)
{
    (void)state;
    struct {
        const char *label, *base;
        const collection_def *colls;
        int ncolls;
        const relation_def *rels;
        int nrels;
    } svcs[] = {
        {"grid-svc", grid_url(), grid_collections, grid_ncollections, grid_relations, grid_nrelations},
        {"cust-svc", cust_url(), cust_collections, cust_ncollections, cust_relations, cust_nrelations},
    };
    for (int s = 0; s < 2; s++) {
        api_resp *r = api_get(svcs[s].base, "/openapi.json", NULL);
        assert_status(r, 200);
        json_t *paths = json_object_get(r->json, "paths");
        assert_true(json_is_object(paths));
        for (int i = 0; i < svcs[s].ncolls; i++) {
            const biz_type *bt = biz_type_by_prefix(svcs[s].colls[i].prefix);
            assert_non_null(bt);
            /* a collection written by its own routes only is imported by none */
            if (!svcs[s].colls[i].own_writes)
                openapi_has_import(paths, svcs[s].label, strf("/v1/%s:import", bt->collection));
            openapi_has_export(paths, svcs[s].label, strf("/v1/%s:export", bt->collection));
        }
        for (int i = 0; i < svcs[s].nrels; i++) {
            openapi_has_import(paths, svcs[s].label, strf("/v1/relations/%s:import", svcs[s].rels[i].kind));
            openapi_has_export(paths, svcs[s].label, strf("/v1/relations/%s:export", svcs[s].rels[i].kind));
        }
    }
    /* the ones named in the README */
    json_t *cp = json_object_get(api_get(cust_url(), "/openapi.json", NULL)->json, "paths");
    json_t *gp = json_object_get(api_get(grid_url(), "/openapi.json", NULL)->json, "paths");
    openapi_has_import(cp, "cust-svc", "/v1/customers:import");
    openapi_has_export(gp, "grid-svc", "/v1/relations/line-transformer:export");
}

/* ---- 13. the other platform --------------------------------------------------------------- */

static void non_owner_import_is_misdirected(void **state)
{
    (void)state;
    char **codes = code_array(1);
    ndj *b = ndj_new();
    customer_lines(b, codes, 1);
    api_resp *r = import(grid_url(), "customers", KEY_MARKETING, NULL, b);
    assert_problem(r, 421);
    assert_string_equal(jstr(r->json, "owner"), "cust-svc");
    absent(cust_url(), "customers", codes[0]);

    char *ln = new_line();
    char **trs = code_array(1);
    import_transformers(trs, 1, "public");
    ndj *l = ndj_new();
    ndj_obj(l, lk(ln, trs[0]));
    r = import(cust_url(), "relations/line-transformer", KEY_PRODUCTION, NULL, l);
    assert_problem(r, 421);
    assert_string_equal(jstr(r->json, "owner"), "grid-svc");
    assert_int_equal(json_array_size(links_where(grid_url(), "line-transformer", strf("from=%s", ln))), 0);
}

/* An export streams from the platform that keeps the objects; the other
 * one says where, rather than holding a whole stream in memory to relay it. */
static void non_owner_export_names_the_owner(void **state)
{
    (void)state;
    api_resp *r = api_get(cust_url(), "/v1/substations:export", KEY_PRODUCTION);
    assert_problem(r, 421);
    assert_string_equal(jstr(r->json, "owner"), "grid-svc");
    assert_str_contains(jstr(r->json, "detail"), "/v1/substations:export");
    r = api_get(grid_url(), "/v1/relations/meter-meterbox:export", KEY_MARKETING);
    assert_problem(r, 421);
    assert_string_equal(jstr(r->json, "owner"), "cust-svc");
}

/* ---- 14. imports at the same time ----------------------------------------------------------- */

static void concurrent_imports_load_once(void **state)
{
    (void)state;
    enum { N = 200 };
    char **codes = code_array(N);
    ndj *b = ndj_new();
    /* no account_no: the code is the only thing the two files share */
    for (int i = 0; i < N; i++) {
        codes[i] = mint_code("CU");
        ndj_obj(b, jkeep(json_pack("{s:s, s:s, s:s}", "code", codes[i], "name",
                                   strf("twice %d %s", i, uniq()), "category", "hv")));
    }
    api_job jobs[2];
    for (int i = 0; i < 2; i++) {
        jobs[i] = (api_job){.method = "POST", .url = strf("%s/v1/customers:import", cust_url()),
                            .body = b->s,
                            .opts = {.key = KEY_MARKETING, .content_type = NDJSON, .timeout_s = 60}};
    }
    api_parallel(jobs, 2);
    int ok = 0, refused = 0;
    for (int i = 0; i < 2; i++) {
        api_resp *r = jobs[i].resp;
        if (r->status == 200) {
            assert_import_ok(r, N, 1);
            ok++;
        } else if (r->status == 422) {
            /* the first line, named on its code */
            assert_problem(r, 422);
            assert_counts(r, N, 0, N, 1);
            assert_string_equal(batches_text(r), strf("1-%d", N));
            assert_string_equal(errors_text(r), "1:code");
            refused++;
        } else {
            api_dump(r);
            fail_msg("concurrent import %d answered %ld; want 200 for one and 422 for the other", i,
                     r->status);
        }
    }
    assert_int_equal(ok, 1);
    assert_int_equal(refused, 1);
    for (int i = 0; i < N; i += 37) stored(cust_url(), "customers", codes[i]);
    PGconn *db = pg_admin(db_name_of("CUST_DATABASE_URL"));
    PGresult *res = pg_ok(db, strf("SELECT count(*) FROM changes WHERE type = 'customer.imported' "
                                   "AND code = '%s'", codes[0]));
    assert_string_equal(PQgetvalue(res, 0, 0), "1");
}

/* ---- 15. nothing to export -------------------------------------------------------------- */

static void healthy(const char *base)
{
    api_opts o = {.timeout_s = 5};
    api_resp *h = api_call("GET", strf("%s/healthz", base), &o, NULL, 0);
    if (h->status != 200) {
        api_dump(h);
        fail_msg("%s no longer answers /healthz after an export that found nothing", base);
    }
}

/* An export that finds no object is an empty 200 stream, and the daemon
 * carries on. The collection and status are looked for among those with no
 * object at all (a list with ?status= finds none). */
static void empty_exports(void **state)
{
    (void)state;
    struct {
        const char *base;
        const collection_def *colls;
        int n;
        const char *const *statuses;
    } svcs[] = {
        {grid_url(), grid_collections, grid_ncollections,
         (const char *const[]){"design", "operational", "retired", NULL}},
        {cust_url(), cust_collections, cust_ncollections,
         (const char *const[]){"pending", "active", "retired", NULL}},
    };
    int tried = 0;
    for (int s = 0; s < 2; s++) {
        const char *empty = NULL;
        for (int i = 0; i < svcs[s].n && !empty; i++) {
            const biz_type *bt = biz_type_by_prefix(svcs[s].colls[i].prefix);
            for (const char *const *st = svcs[s].statuses; *st && !empty; st++) {
                api_resp *l = api_get(svcs[s].base,
                                      strf("/v1/%s?status=%s&limit=1", bt->collection, *st),
                                      KEY_DISPATCH);
                if (json_array_size(list_items(l)) == 0)
                    empty = strf("/v1/%s:export?status=%s", bt->collection, *st);
            }
        }
        if (!empty) {
            print_message("%s: every collection has objects of every status; nothing to try\n",
                          svcs[s].base);
            continue;
        }
        tried++;
        size_t lines = 1;
        json_t *got = export_read(svcs[s].base, empty, NULL, 0, &lines);
        assert_int_equal(json_object_size(got), 0);
        assert_int_equal(lines, 0);
        healthy(svcs[s].base);
    }
    /* an empty status names no status: refused as lists refuse it */
    assert_problem(api_get(cust_url(), "/v1/customers?status=", KEY_DISPATCH), 400);
    api_resp *r = api_get(cust_url(), "/v1/customers:export?status=", KEY_DISPATCH);
    healthy(cust_url());
    assert_problem(r, 400);
    if (!tried) skip();
}

int main(void)
{
    it_filter();
    srand((unsigned)(time(NULL) ^ getpid()));
    const struct CMUnitTest tests[] = {
        IT(import_many_customers_in_batches),
        IT_ON(export_round_trip, &GRID_TR, "grid"),
        IT_ON(export_round_trip, &CUST_CU, "cust"),
        IT(bad_lines_reject_their_batch),
        IT(blank_lines_count_in_line_numbers),
        IT(duplicates_are_put_on_their_line),
        IT(policy_public_transformers),
        IT(policy_customers),
        IT(policy_relations),
        IT(relation_import_and_its_rules),
        IT(peer_ends_are_confirmed_in_batches),
        IT(peer_ends_must_exist),
        IT(peer_codes_in_fields_are_confirmed),
        cmocka_unit_test_teardown(peer_down_stops_the_import, it_stop_extras),
        cmocka_unit_test_teardown(peer_down_stops_the_import_on_cust, it_stop_extras),
        IT(content_type_and_parameters),
        IT(large_imports_are_not_held_to_the_json_limit),
        cmocka_unit_test_teardown(import_limit_is_its_own, it_stop_extras),
        IT(each_batch_is_one_change),
        IT(export_parameters),
        IT(export_statuses_cust),
        IT(export_statuses_grid),
        IT(export_links),
        IT(sequential_exports_are_not_refused),
        IT(openapi_documents_bulk_paths),
        IT(non_owner_import_is_misdirected),
        IT(non_owner_export_names_the_owner),
        IT(large_bodies_need_a_key_first),
        IT(concurrent_imports_load_once),
        IT(empty_exports), /* last: a daemon that falls over here takes no other test with it */
    };
    return cmocka_run_group_tests(tests, it_group_setup, it_group_teardown);
}
