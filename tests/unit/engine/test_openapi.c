/* test_openapi.c -- common/engine/openapi.c against the route table each daemon
 * serves: both services are built as main() builds them (service_routes, no
 * database), and every route the router holds must be in /openapi.json under
 * its exact pattern, with its method as the lowercase operation key, its
 * summary and its path parameters; the document holds nothing else. The
 * routes come from the router itself, so a route added without a summary or
 * left out of the document fails here. Also: a field that may be null lists
 * null among its values, and reads offer X-Read-Primary. Validity as OpenAPI
 * 3.1 is checked on the running daemons by tests/openapi-check.sh. */
#include "../unit_helpers.h"

#include <ctype.h>

#include <jansson.h>

#include "cust.h"
#include "grid.h"
#include "engine/openapi.h"
#include "service.h"

typedef struct {
    service svc;
    json_t *doc;
    json_t *paths;
} built;

static int build(void **state)
{
    built *b = xcalloc(1, sizeof *b);
    b->svc.def = *state;
    b->svc.name = service_name(b->svc.def->id);
    service_routes(&b->svc);
    b->doc = openapi_document(&b->svc);
    b->paths = json_object_get(b->doc, "paths");
    *state = b;
    return b->doc && json_is_object(b->paths) ? 0 : -1;
}

static int unbuild(void **state)
{
    built *b = *state;
    json_decref(b->doc);
    service_routes_free(&b->svc);
    free(b);
    return 0;
}

/* The operation key of a method: lowercase, as OpenAPI spells them. */
static void op_key(const char *method, char out[16])
{
    size_t i = 0;
    for (; method[i] && i < 15; i++) out[i] = (char)tolower((unsigned char)method[i]);
    out[i] = '\0';
}

static json_t *operation_of(const built *b, const route *rt)
{
    char key[16];
    op_key(rt->method, key);
    return json_object_get(json_object_get(b->paths, rt->pattern), key);
}

/* Each route: its path, its operation, and the route's own summary there. */
static void every_route_is_documented(void **state)
{
    built *b = *state;
    int missing = 0, n = router_count(b->svc.router);
    assert_true(n > 0);
    for (int i = 0; i < n; i++) {
        const route *rt = router_at(b->svc.router, i);
        char key[16];
        op_key(rt->method, key);
        json_t *op = operation_of(b, rt);
        if (rt->flags & ROUTE_UNLISTED) {
            if (op) fail_msg("%s: %s %s is unlisted, yet documented", b->svc.name, rt->method,
                             rt->pattern);
            continue;
        }
        const char *summary = json_string_value(json_object_get(op, "summary"));
        if (!rt->summary || !rt->summary[0]) {
            print_error("%s: route %s %s has no summary for the document\n", b->svc.name,
                        rt->method, rt->pattern);
            missing++;
        } else if (!json_is_object(op)) {
            print_error("%s: route %s %s is not in /openapi.json (no paths[\"%s\"].%s)\n",
                        b->svc.name, rt->method, rt->pattern, rt->pattern, key);
            missing++;
        } else if (!summary || strcmp(summary, rt->summary) != 0) {
            print_error("%s: %s %s is documented as \"%s\", the route says \"%s\"\n", b->svc.name,
                        rt->method, rt->pattern, summary ? summary : "(none)", rt->summary);
            missing++;
        }
    }
    if (missing) fail_msg("%s: %d of %d routes missing or wrong in /openapi.json", b->svc.name,
                          missing, n);
}

static const route *find_route(const router *r, const char *pattern, const char *key)
{
    for (int i = 0; i < router_count(r); i++) {
        const route *rt = router_at(r, i);
        char k[16];
        op_key(rt->method, k);
        if (strcmp(rt->pattern, pattern) == 0 && strcmp(k, key) == 0) return rt;
    }
    return NULL;
}

/* Nothing in the document that the router does not serve, and one
 * operation per route: two routes of one method and pattern would show as
 * one, and the second would never be matched. */
static void documents_only_routes(void **state)
{
    built *b = *state;
    const char *path, *key;
    json_t *item, *op;
    int ops = 0, extra = 0;
    json_object_foreach(b->paths, path, item) {
        json_object_foreach(item, key, op) {
            ops++;
            if (find_route(b->svc.router, path, key)) continue;
            print_error("%s: /openapi.json documents %s %s, which no route serves\n", b->svc.name,
                        key, path);
            extra++;
        }
    }
    if (extra) fail_msg("%s: %d operations in /openapi.json that no route serves", b->svc.name,
                        extra);
    int listed = 0;
    for (int i = 0; i < router_count(b->svc.router); i++)
        listed += !(router_at(b->svc.router, i)->flags & ROUTE_UNLISTED);
    if (ops != listed)
        fail_msg("%s: /openapi.json has %d operations for %d listed routes: a route left out, "
                 "or one method and pattern routed twice", b->svc.name, ops, listed);
}

/* Each {name} of a pattern is a required path parameter of its operation,
 * and there are no others. (A missing operation is every_route_is_documented's.) */
static void path_parameters_are_declared(void **state)
{
    built *b = *state;
    for (int i = 0; i < router_count(b->svc.router); i++) {
        const route *rt = router_at(b->svc.router, i);
        json_t *op = operation_of(b, rt);
        if (!op) continue;
        json_t *params = json_object_get(op, "parameters");
        size_t declared = 0, idx;
        json_t *p;
        json_array_foreach(params, idx, p) {
            const char *in = json_string_value(json_object_get(p, "in"));
            const char *name = json_string_value(json_object_get(p, "name"));
            if (!in || strcmp(in, "path") != 0) continue;
            declared++;
            char want[ROUTE_PARAM_MAX + 3];
            snprintf(want, sizeof want, "{%s}", name ? name : "");
            int found = 0;
            for (int s = 0; s < rt->nsegs && !found; s++) found = strcmp(rt->segs[s], want) == 0;
            if (!found || !json_is_true(json_object_get(p, "required")))
                fail_msg("%s: %s %s: path parameter %s is not a required segment of the path",
                         b->svc.name, rt->method, rt->pattern, want);
        }
        size_t in_pattern = 0;
        for (int s = 0; s < rt->nsegs; s++) in_pattern += rt->segs[s][0] == '{';
        if (declared != in_pattern)
            fail_msg("%s: %s %s has %zu path parameters, the document declares %zu", b->svc.name,
                     rt->method, rt->pattern, in_pattern, declared);
    }
}

/* A field that may be null and lists its values must list null too, or the
 * null an unset field reads back as would break its own schema. */
static void nullable_enums_list_null(void **state)
{
    built *b = *state;
    const char *name, *field;
    json_t *schema, *prop;
    json_object_foreach(json_object_get(json_object_get(b->doc, "components"), "schemas"), name,
                        schema) {
        json_object_foreach(json_object_get(schema, "properties"), field, prop) {
            json_t *type = json_object_get(prop, "type"), *values = json_object_get(prop, "enum");
            size_t i;
            json_t *t;
            int nullable = 0, listed = 0;
            json_array_foreach(type, i, t) {
                const char *tn = json_string_value(t);
                nullable |= tn && strcmp(tn, "null") == 0;
            }
            json_array_foreach(values, i, t) listed |= json_is_null(t);
            if (nullable && values && !listed)
                fail_msg("%s: %s.%s may be null but its enum does not list null", b->svc.name,
                         name, field);
        }
    }
}

static int has_header(json_t *op, const char *header)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(op, "parameters"), i, p) {
        const char *in = json_string_value(json_object_get(p, "in"));
        const char *name = json_string_value(json_object_get(p, "name"));
        if (in && name && strcmp(in, "header") == 0 && strcmp(name, header) == 0) return 1;
    }
    return 0;
}

/* X-Read-Primary is offered where a read may go to the replica: reads (GET,
 * and the walk leg the peer POSTs), not writes, and not the event stream,
 * which reads the primary always. */
static void read_primary_header_on_reads_only(void **state)
{
    built *b = *state;
    int reads = 0;
    for (int i = 0; i < router_count(b->svc.router); i++) {
        const route *rt = router_at(b->svc.router, i);
        json_t *op = operation_of(b, rt);
        if (!op) continue;
        int read = strcmp(rt->method, "GET") == 0 || strcmp(rt->pattern, "/v1/graph/walk") == 0 ||
                   strcmp(rt->pattern, "/v1/graph/outage-cut") == 0 ||
                   strcmp(rt->pattern, "/v1/graph/areas") == 0;
        int want = read && strcmp(rt->pattern, "/v1/events/stream") != 0;
        reads += want;
        if (has_header(op, "X-Read-Primary") != want)
            fail_msg("%s: %s %s %s X-Read-Primary", b->svc.name, rt->method, rt->pattern,
                     want ? "lacks" : "should not offer");
    }
    assert_true(reads > 10);
}

/* Each test once per daemon, named after it. */
#define FOR_BOTH(test)                                                \
    {"grid-svc: " #test, test, build, unbuild, (void *)grid_service()}, \
    {"cust-svc: " #test, test, build, unbuild, (void *)cust_service()}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FOR_BOTH(every_route_is_documented),
        FOR_BOTH(documents_only_routes),
        FOR_BOTH(path_parameters_are_declared),
        FOR_BOTH(nullable_enums_list_null),
        FOR_BOTH(read_primary_header_on_reads_only),
    };
    return cmocka_run_group_tests_name("openapi", tests, NULL, NULL);
}
