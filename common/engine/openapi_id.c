/* openapi_id.c -- the operationId of a route (openapi.h gives the rule). */
#include "engine/openapi.h"

#include <stdio.h>
#include <string.h>

#define ID_WORDS 24
#define WORD_MAX 40

typedef struct {
    char w[ID_WORDS][WORD_MAX];
    int n;
} words;

static int is_param(const char *seg)
{
    return seg[0] == '{';
}

/* Of the last word: ends in s, not in ss or us (address, status). */
static int plural(const char *w)
{
    size_t n = strlen(w);
    return n > 2 && w[n - 1] == 's' && w[n - 2] != 's' && w[n - 2] != 'u';
}

static void singular(char *w)
{
    size_t n = strlen(w);
    if (!plural(w)) return;
    if (n > 3 && strcmp(w + n - 3, "ies") == 0) strcpy(w + n - 3, "y");
    else if ((n > 4 && (strcmp(w + n - 4, "sses") == 0 || strcmp(w + n - 4, "ches") == 0 ||
                        strcmp(w + n - 4, "shes") == 0)) ||
             (n > 3 && strcmp(w + n - 3, "xes") == 0))
        w[n - 2] = '\0';
    else w[n - 1] = '\0';
}

/* The words of a segment (cut at its ':'), split at '-', '.' and '_'. */
static void add_words(words *ws, const char *seg)
{
    const char *p = seg;
    while (*p && *p != ':' && ws->n < ID_WORDS) {
        size_t len = strcspn(p, "-._:");
        if (len) snprintf(ws->w[ws->n++], WORD_MAX, "%.*s", (int)len, p);
        p += len;
        if (*p && *p != ':') p++;
    }
}

static void append_camel(char *out, size_t len, const char *w, int upper)
{
    size_t at = strlen(out);
    for (; *w && at + 1 < len; w++) {
        if (!((*w >= 'a' && *w <= 'z') || (*w >= 'A' && *w <= 'Z') || (*w >= '0' && *w <= '9')))
            continue;
        out[at++] = upper && *w >= 'a' && *w <= 'z' ? (char)(*w - 32) : *w;
        upper = 0;
    }
    out[at] = '\0';
}

/* The verb of openapi.h's rule; *one: the last noun names one object. */
static void id_verb(const route *rt, int versioned, const words *nouns, const char *action,
                    char *verb, size_t len, int *one)
{
    const char *suffix = strchr(rt->segs[rt->nsegs - 1], ':');
    const char *m = rt->method;
    int ends_literal = !is_param(rt->segs[rt->nsegs - 1]);
    const char *last = nouns->n ? nouns->w[nouns->n - 1] : "";
    *one = 0;
    if (suffix) snprintf(verb, len, "%s", suffix + 1);
    else if (action) snprintf(verb, len, "%s", action);
    else if (strcmp(m, "GET") == 0)
        snprintf(verb, len, "%s", versioned && ends_literal && plural(last) ? "list" : "get");
    else if (strcmp(m, "POST") == 0 && (rt->flags & ROUTE_READ_ONLY)) snprintf(verb, len, "query");
    else if (strcmp(m, "POST") == 0) {
        snprintf(verb, len, "create");
        *one = ends_literal;
    } else if (strcmp(m, "DELETE") == 0) {
        snprintf(verb, len, "delete");
        *one = ends_literal;
    } else if (strcmp(m, "PATCH") == 0) snprintf(verb, len, "update");
    else if (strcmp(m, "PUT") == 0) snprintf(verb, len, "replace");
    else {
        size_t i = 0;
        for (; m[i] && i + 1 < len; i++) verb[i] = (char)(m[i] >= 'A' && m[i] <= 'Z' ? m[i] + 32 : m[i]);
        verb[i] = '\0';
    }
}

void openapi_operation_id(const route *rt, char *out, size_t len)
{
    out[0] = '\0';
    if (rt->nsegs == 0) {
        append_camel(out, len, rt->method, 0);
        return;
    }
    int from = strcmp(rt->segs[0], "v1") == 0;
    int last = rt->nsegs - 1;
    /* POST /x/{code}/operate: a word after an object's code is what is done to it. */
    const char *action = strcmp(rt->method, "POST") == 0 && last > 0 && !is_param(rt->segs[last]) &&
                                 is_param(rt->segs[last - 1]) && !strchr(rt->segs[last], ':') &&
                                 !plural(rt->segs[last])
                             ? rt->segs[last]
                             : NULL;
    words nouns = {.n = 0};
    int relation = from && rt->nsegs == 3 && strcmp(rt->segs[1], "relations") == 0;
    for (int s = from; s < rt->nsegs; s++) {
        if (is_param(rt->segs[s]) || (action && s == last)) continue;
        if (relation && s == 1) continue; /* /v1/relations/substation-line: SubstationLineLinks */
        add_words(&nouns, rt->segs[s]);
        if (relation && nouns.n < ID_WORDS) snprintf(nouns.w[nouns.n++], WORD_MAX, "links");
        if (s < last && is_param(rt->segs[s + 1]) && nouns.n) singular(nouns.w[nouns.n - 1]);
    }
    char verb[WORD_MAX];
    int one;
    id_verb(rt, from, &nouns, action, verb, sizeof verb, &one);
    if (one && nouns.n) singular(nouns.w[nouns.n - 1]);
    append_camel(out, len, verb, 0);
    for (int i = 0; i < nouns.n; i++) append_camel(out, len, nouns.w[i], 1);
}

