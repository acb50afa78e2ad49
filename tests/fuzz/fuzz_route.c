/* fuzz_route.c -- route matching (router_match) on the route tables both
 * daemons serve, built as main() builds them.
 *
 * The input is a request line without its version: the method, a space,
 * the path (each a C string: a NUL ends it). Both tables are asked, and
 * each answer is held to the table, read here a second way:
 *   - a match is the first route of the method whose pattern fits the path,
 *     and the pattern with the captured parameters put back is the path (a
 *     last "{name*}" takes the rest of it);
 *   - no route of the method after it that is more literal (fewer
 *     parameters) fits the path too: such a route could never be reached;
 *   - 405 when routes of other methods fit, their methods in Allow and not
 *     the method asked; 400 when the only fit has a parameter longer than
 *     ROUTE_PARAM_MAX; 404 otherwise. */
#include "fuzz.h"

#include "net/router.h"

typedef struct {
    const char *start[ROUTE_MAX_SEGS];
    size_t len[ROUTE_MAX_SEGS];
    int n;
} segs;

/* 0 when the path does not start with '/' or has too many segments. */
static int split(const char *path, segs *s)
{
    s->n = 0;
    if (path[0] != '/') return 0;
    const char *p = path + 1;
    for (;;) {
        const char *slash = strchr(p, '/');
        if (s->n == ROUTE_MAX_SEGS) return 0;
        s->start[s->n] = p;
        s->len[s->n++] = slash ? (size_t)(slash - p) : strlen(p);
        if (!slash) return 1;
        p = slash + 1;
    }
}

static int nparams(const route *rt)
{
    int n = 0;
    for (int i = 0; i < rt->nsegs; i++) n += rt->segs[i][0] == '{';
    return n;
}

/* 1 when the route's pattern fits; *too_long when only by a parameter
 * longer than the router takes. */
static int fits(const route *rt, const segs *s, int *too_long)
{
    *too_long = 0;
    const char *last = rt->nsegs ? rt->segs[rt->nsegs - 1] : "";
    int rest = strlen(last) > 3 && strcmp(last + strlen(last) - 2, "*}") == 0;
    if (rest ? s->n < rt->nsegs : rt->nsegs != s->n) return 0;
    for (int i = 0; i < rt->nsegs; i++) {
        const char *seg = rt->segs[i];
        if (rest && i == rt->nsegs - 1) { /* "{name*}": the rest of the path, maybe empty */
            *too_long |= strlen(s->start[i]) > ROUTE_PARAM_MAX;
        } else if (seg[0] == '{') {
            if (s->len[i] == 0) return 0;
            *too_long |= s->len[i] > ROUTE_PARAM_MAX;
        } else if (strlen(seg) != s->len[i] || memcmp(seg, s->start[i], s->len[i]) != 0) {
            return 0;
        }
    }
    return 1;
}

static int allowed(const char *allow, const char *method)
{
    size_t n = strlen(method);
    for (const char *p = allow; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, method, n) == 0) return 1;
        p += len;
        p += strspn(p, ", ");
    }
    return 0;
}

static void check(const router *r, const char *svc, const char *method, const char *path)
{
    route_match m;
    match_result got = router_match(r, method, path, &m);
    segs s;
    const route *first = NULL;
    int shape = 0, too_long = 0;
    if (split(path, &s)) {
        for (int i = 0; i < router_count(r); i++) {
            const route *rt = router_at(r, i);
            int long_here;
            if (!fits(rt, &s, &long_here)) continue;
            shape = 1;
            too_long |= long_here;
            if (strcmp(rt->method, method) != 0 || long_here) continue;
            if (!first) {
                first = rt;
                continue;
            }
            FUZZ_CHECK(nparams(rt) >= nparams(first),
                       "%s: %s %s goes to %s, and never to the more literal %s", svc, method, path,
                       first->pattern, rt->pattern);
        }
    }
    match_result want = first ? MATCH_OK
                        : too_long ? MATCH_PARAM_TOO_LONG
                        : shape    ? MATCH_BAD_METHOD
                                   : MATCH_NOT_FOUND;
    FUZZ_CHECK(got == want, "%s: %s %s matched %d, not %d", svc, method, path, (int)got, (int)want);
    if (got == MATCH_OK) {
        FUZZ_CHECK(m.route == first, "%s: %s %s went to %s, not %s", svc, method, path,
                   m.route->pattern, first->pattern);
        FUZZ_CHECK(m.nparams == nparams(first), "%s: %s: %d parameters", svc, path, m.nparams);
        sbuf back = {0};
        for (int i = 0, k = 0; i < first->nsegs; i++) {
            const char *seg = first->segs[i][0] == '{' ? m.params[k++] : first->segs[i];
            sb_appendf(&back, "/%s", seg);
        }
        FUZZ_CHECK(back.s && strcmp(back.s, path) == 0, "%s: %s captured as %s", svc, path,
                   back.s);
        sb_free(&back);
    } else if (got == MATCH_BAD_METHOD) {
        FUZZ_CHECK(m.allow[0] && !allowed(m.allow, method), "%s: %s %s: Allow: %s", svc, method,
                   path, m.allow);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    service *svc = fuzz_services();
    char *line = fuzz_cstr(data, size);
    char *sp = strchr(line, ' ');
    const char *method = line, *path = "";
    if (sp) {
        *sp = '\0';
        path = sp + 1;
    }
    for (int i = 0; i < 2; i++) check(svc[i].router, svc[i].name, method, path);
    free(line);
    return 0;
}
