/* fuzz_query.c -- the query string of a list, GET /v1/{collection}, read
 * as the list reads it (resource_list_query).
 *
 * The first byte picks a collection of either daemon (modulo their
 * number); the rest is a query string cut at '&' into pairs and each pair
 * at its first '=' into key and value. libmicrohttpd hands the list keys
 * and values already percent-decoded, so they are taken as they come: any
 * bytes, a NUL ending each as it ends a C string.
 *
 * A query the list refuses is answered with one problem+json 400; one it
 * takes is not answered, and its WHERE clause holds no value: only the
 * collection's column names and the words the list writes, with each
 * parameter $1..$n named once, and the page size is 1 to 1000. */
#include "fuzz.h"

#include "model/fields.h"

typedef struct {
    char **keys, **values;
    int n;
} pairs;

/* query_pairs_fn over the pairs, as http_query_foreach goes over a request's. */
static int each_pair(void *src, int (*fn)(void *ctx, const char *key, const char *value),
                     void *ctx)
{
    const pairs *p = src;
    for (int i = 0; i < p->n; i++)
        if (fn(ctx, p->keys[i], p->values[i]) != OK) return ERR;
    return OK;
}

/* Cuts text (len bytes, then a NUL) in place into pairs. */
static void split(char *text, size_t len, pairs *p)
{
    size_t cap = 1;
    for (size_t i = 0; i < len; i++) cap += text[i] == '&';
    p->keys = xcalloc(cap, sizeof *p->keys);
    p->values = xcalloc(cap, sizeof *p->values);
    p->n = 0;
    char *s = text, *end = text + len;
    for (;;) {
        char *amp = memchr(s, '&', (size_t)(end - s));
        char *stop = amp ? amp : end;
        char *eq = memchr(s, '=', (size_t)(stop - s));
        *stop = '\0';
        if (eq) *eq = '\0';
        p->keys[p->n] = s;
        p->values[p->n++] = eq ? eq + 1 : stop; /* a key alone has the value "" */
        if (!amp) return;
        s = amp + 1;
    }
}

static int is_word(const collection_def *cd, const char *w, size_t n)
{
    static const char *const words[] = {"TRUE", "AND", "IN", "ANY", "=", ">", "code", "status",
                                        "updated_by", NULL};
    for (const char *const *k = words; *k; k++)
        if (strlen(*k) == n && strncmp(*k, w, n) == 0) return 1;
    for (const field_def *f = cd->fields; f->name; f++)
        if (strlen(f->name) == n && strncmp(f->name, w, n) == 0) return 1;
    return 0;
}

/* Each token of the clause a word or a parameter, each parameter once. */
static void check_where(const collection_def *cd, const char *where, int nparams)
{
    char seen[80] = {0};
    FUZZ_CHECK(nparams >= 0 && nparams <= 64, "%d parameters", nparams);
    for (const char *p = where; *p;) {
        p += strspn(p, " (),");
        size_t n = strcspn(p, " (),");
        if (!n) continue;
        if (p[0] == '$') {
            char *after;
            long k = strtol(p + 1, &after, 10);
            size_t rest = n - (size_t)(after - p);
            FUZZ_CHECK(k >= 1 && k <= nparams && !seen[k] &&
                           (rest == 0 || (rest == 8 && strncmp(after, "::text[]", 8) == 0)),
                       "%s: parameter %.*s", where, (int)n, p);
            seen[k] = 1;
        } else {
            FUZZ_CHECK(is_word(cd, p, n), "%s: '%.*s' is not a column or a word", where, (int)n,
                       p);
        }
        p += n;
    }
    for (int k = 1; k <= nparams; k++) FUZZ_CHECK(seen[k], "%s: $%d is not used", where, k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    service *svc;
    const collection_def *cd = fuzz_collection(data[0], &svc);
    char *text = fuzz_cstr(data + 1, size - 1);
    pairs p;
    split(text, size - 1, &p);
    request req;
    char *path = xasprintf("/v1/%s", biz_type_by_prefix(cd->prefix)->collection);
    fuzz_request(&req, "GET", path);
    list_query *q = resource_list_query(svc, &req, cd->prefix, each_pair, &p);
    if (!q) {
        fuzz_check_problem(&req, 400);
    } else {
        FUZZ_CHECK(req.status == 0, "a query taken was answered %d", req.status);
        int n, limit;
        const char *where = resource_list_where(q, &n, &limit);
        check_where(cd, where, n);
        FUZZ_CHECK(limit >= 1 && limit <= 1000, "limit %d", limit);
        resource_list_query_free(q);
    }
    fuzz_request_end(&req);
    free(path);
    free(p.keys);
    free(p.values);
    free(text);
    return 0;
}
