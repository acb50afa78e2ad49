/* fuzz.h -- what the fuzz targets share (not a target itself).
 *
 * Each tests/fuzz/fuzz_<name>.c defines LLVMFuzzerTestOneInput. Linked with
 * clang's -fsanitize=fuzzer it is a libFuzzer binary (make fuzz); linked
 * with replay.c it runs each input of its committed corpus once (make
 * test). A target checks what the code promises about its answers as well
 * as the sanitizers do memory and undefined behaviour: a broken promise
 * aborts, so libFuzzer keeps the input as a crash and a replay fails.
 *
 * Everything here is static inline, so that a target using only part of it
 * still builds under -Wall -Werror. */
#ifndef FUZZ_H
#define FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "base/core.h"
#include "cust.h"
#include "grid.h"
#include "net/http.h"
#include "service.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken promise: says which, and aborts. */
#define FUZZ_CHECK(cond, ...)                                                       \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                           \
            fputc('\n', stderr);                                                    \
            abort();                                                                \
        }                                                                           \
    } while (0)

/* The input as a C string: it ends at its first NUL, as a header, a query
 * value or a path parameter would. Caller frees. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = xmalloc(size + 1);
    if (size) memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Both daemons' services as main() builds them, made once: the route
 * table and what its handlers keep (service_routes needs only the
 * declarations), and the write policy of config/policy.json. No database,
 * peer or configuration. */
enum { FUZZ_GRID = 0, FUZZ_CUST = 1 };
static service fuzz_svc[2];

static inline void fuzz_services_free(void)
{
    policy_free(fuzz_svc[0].policy);
    for (int i = 0; i < 2; i++) service_routes_free(&fuzz_svc[i]);
}

/* The policy file from the repository root, where make and tests/run.sh
 * run the targets, else from $REPO_ROOT. */
static inline policy *fuzz_policy(void)
{
    char err[512];
    const char *root = getenv("REPO_ROOT");
    char *path = access("config/policy.json", R_OK) == 0 || !root || !*root
                     ? xstrdup("config/policy.json")
                     : xasprintf("%s/config/policy.json", root);
    policy *p = policy_load(path, err, sizeof err);
    FUZZ_CHECK(p, "%s (run from the repository root or set REPO_ROOT)", err);
    free(path);
    return p;
}

static inline service *fuzz_services(void)
{
    static int built;
    if (built) return fuzz_svc;
    const service_def *defs[2] = {grid_service(), cust_service()};
    policy *p = fuzz_policy();
    for (int i = 0; i < 2; i++) {
        fuzz_svc[i].def = defs[i];
        fuzz_svc[i].name = service_name(defs[i]->id);
        fuzz_svc[i].policy = p;
        service_routes(&fuzz_svc[i]);
    }
    atexit(fuzz_services_free);
    built = 1;
    return fuzz_svc;
}

/* The collections of both daemons, grid-svc's first, as one list: the
 * service that keeps the i-th (i taken modulo their number) in *svc. */
static inline int fuzz_ncollections(void)
{
    service *s = fuzz_services();
    return s[0].def->ncollections + s[1].def->ncollections;
}

static inline const collection_def *fuzz_collection(unsigned i, service **svc)
{
    service *s = fuzz_services();
    i %= (unsigned)fuzz_ncollections();
    int grid = (int)i < s[0].def->ncollections;
    *svc = &s[grid ? FUZZ_GRID : FUZZ_CUST];
    return &(*svc)->def->collections[grid ? (int)i : (int)i - s[0].def->ncollections];
}

/* A request that only collects its answer: answering needs the path (the
 * problem's instance) and nothing of a connection. */
static inline void fuzz_request(request *req, const char *method, const char *path)
{
    memset(req, 0, sizeof *req);
    req->method = method;
    req->path = (char *)path;
}

static inline void fuzz_request_end(request *req)
{
    free(req->resp_body);
    for (int i = 0; i < req->nheaders; i++) {
        free(req->headers[i].name);
        free(req->headers[i].value);
    }
    req->resp_body = NULL;
    req->nheaders = 0;
}

/* The answer is a problem+json of status: valid JSON (so valid UTF-8,
 * whatever bytes the detail quotes), with that status and a detail. */
static inline void fuzz_check_problem(const request *req, int status)
{
    FUZZ_CHECK(req->status == status, "answered %d, not %d", req->status, status);
    FUZZ_CHECK(req->resp_type && strcmp(req->resp_type, "application/problem+json") == 0,
               "answered as %s", req->resp_type ? req->resp_type : "(none)");
    json_error_t je;
    json_t *p = json_loadb(req->resp_body, req->resp_len, 0, &je);
    FUZZ_CHECK(p, "the problem is not JSON (%s): %.*s", je.text, (int)req->resp_len,
               req->resp_body);
    FUZZ_CHECK(json_integer_value(json_object_get(p, "status")) == status &&
                   json_is_string(json_object_get(p, "detail")),
               "the problem lacks its status or detail: %.*s", (int)req->resp_len, req->resp_body);
    json_decref(p);
}

/* errors as the API answers them: a non-empty [{field, message}], field a
 * string or null, message a non-empty string. */
static inline void fuzz_check_errors(const json_t *errors)
{
    FUZZ_CHECK(json_is_array(errors) && json_array_size(errors) > 0, "no errors given");
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e) {
        json_t *field = json_object_get(e, "field");
        const char *msg = json_string_value(json_object_get(e, "message"));
        FUZZ_CHECK(field && (json_is_string(field) || json_is_null(field)), "error %zu: no field",
                   i);
        FUZZ_CHECK(msg && *msg, "error %zu: no message", i);
    }
}

#endif
