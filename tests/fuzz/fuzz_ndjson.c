/* fuzz_ndjson.c -- NDJSON imports (POST /v1/{collection}:import and
 * /v1/relations/{kind}:import), line by line, as bulk_import checks them
 * up to where a batch would be loaded (bulk_check): no database, no peer.
 *
 * The first byte picks what is imported, a collection or a relation of
 * either daemon (modulo their number), and the size of a batch (1 to 8
 * lines, so that bodies of a few lines span batches); the rest is the body,
 * as it arrives (no terminating NUL). The importing app has the production
 * and marketing roles, so the write policy's rules are read for each line.
 *
 * The answer counts every line that is not blank, loads nothing, rejects
 * lines only in whole batches, and names each bad line by a line number of
 * the body with a message; a line the body does not have is never named. */
#include "fuzz.h"

#include "engine/bulk.h"

typedef struct {
    service *svc;
    const bulk_spec *spec;
} target;

static int targets(target out[], int max)
{
    service *s = fuzz_services();
    int n = 0;
    for (int i = 0; i < 2; i++) {
        for (int c = 0; c < s[i].def->ncollections && n < max; c++)
            out[n++] = (target){&s[i], resource_bulk_spec(&s[i], s[i].def->collections[c].prefix)};
        for (int r = 0; r < s[i].def->nrelations && n < max; r++)
            out[n++] = (target){&s[i], relation_bulk_spec(&s[i], s[i].def->relations[r].kind)};
    }
    return n;
}

/* Lines of the body that are not blank (spaces and tabs), and all lines. */
static long lines_in(const char *p, size_t len, long *all)
{
    long n = 0;
    *all = 0;
    const char *end = p + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = (size_t)((nl ? nl : end) - p);
        if (l && p[l - 1] == '\r') l--;
        size_t blank = 0;
        while (blank < l && (p[blank] == ' ' || p[blank] == '\t')) blank++;
        n += blank < l;
        ++*all;
        p = nl ? nl + 1 : end;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static target t[64];
    static int nt;
    if (!nt) nt = targets(t, 64);
    if (size == 0) return 0;
    const target *to = &t[data[0] % nt];
    int batch = 1 + (data[0] / nt) % 8;
    FUZZ_CHECK(to->spec, "target %d has no import", data[0] % nt);
    char *roles[] = {"production", "marketing"};
    app_entry app = {.name = "fuzz", .roles = roles, .nroles = 2};
    const char *body = (const char *)data + 1;
    size_t len = size - 1;

    json_t *out = bulk_check(to->svc, &app, to->spec, body, len, batch);
    long all, lines = lines_in(body, len, &all);
    json_int_t got = json_integer_value(json_object_get(out, "lines"));
    json_int_t rejected = json_integer_value(json_object_get(out, "rejected"));
    json_t *errors = json_object_get(out, "errors");
    FUZZ_CHECK(got == lines, "%s: %lld lines counted of %ld", to->spec->target, (long long)got,
               lines);
    FUZZ_CHECK(json_integer_value(json_object_get(out, "imported")) == 0, "%s: loaded lines",
               to->spec->target);
    FUZZ_CHECK(rejected >= 0 && rejected <= lines, "%s: %lld rejected of %ld", to->spec->target,
               (long long)rejected, lines);
    FUZZ_CHECK((rejected > 0) == (json_array_size(errors) > 0), "%s: %lld rejected, %zu errors",
               to->spec->target, (long long)rejected, json_array_size(errors));
    /* whole batches of `batch` lines, and perhaps the shorter last one */
    long tail = lines % batch;
    FUZZ_CHECK(rejected % batch == 0 || (tail && rejected >= tail && (rejected - tail) % batch == 0),
               "%s: %lld of %ld lines rejected in batches of %d", to->spec->target,
               (long long)rejected, lines, batch);
    FUZZ_CHECK(json_integer_value(json_object_get(out, "batches")) == (lines + batch - 1) / batch,
               "%s: %lld batches of %d for %ld lines", to->spec->target,
               (long long)json_integer_value(json_object_get(out, "batches")), batch, lines);
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e) {
        json_int_t line = json_integer_value(json_object_get(e, "line"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        FUZZ_CHECK(line >= 1 && line <= all, "%s: error on line %lld of %ld", to->spec->target,
                   (long long)line, all);
        FUZZ_CHECK(msg && *msg, "%s: line %lld: no message", to->spec->target, (long long)line);
    }
    json_decref(out);
    return 0;
}
