/* test_openapi.c -- common/engine/openapi.c against the route table each daemon
 * serves: both services are built as main() builds them (service_routes, no
 * database), and every route the router holds must be in /openapi.json under
 * its exact pattern, with its method as the lowercase operation key, its
 * summary and its path parameters; the document holds nothing else. The
 * routes come from the router itself, so a route added without a summary or
 * left out of the document fails here. Also: a field that may be null lists
 * null among its values, and reads offer X-Read-Primary. Each operation has
 * an operationId by openapi.h's rule, unique over both daemons' routes (and
 * the rule is pinned on routes of its own), its security, and the error
 * answers the rule gives it, each a shared response that exists; the writes
 * that honour it offer Idempotency-Key; the customer list and the trace are
 * typed. Validity as OpenAPI 3.1, and Redocly's recommended rules, are
 * checked on the running daemons by tests/openapi-check.sh; a client
 * generated from the document, by tests/client-check.sh. */
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

static json_t *op_get(json_t *op, const char *key)
{
    return json_object_get(op, key);
}

/* The operationId of each operation is the rule's, and readable: a
 * lowercase verb, then camelCase words, nothing else. */
static void operation_ids_follow_the_rule(void **state)
{
    built *b = *state;
    for (int i = 0; i < router_count(b->svc.router); i++) {
        const route *rt = router_at(b->svc.router, i);
        if (rt->flags & ROUTE_UNLISTED) continue; /* no operation: not the API */
        char want[128];
        openapi_operation_id(rt, want, sizeof want);
        const char *id = json_string_value(op_get(operation_of(b, rt), "operationId"));
        if (!id || strcmp(id, want) != 0)
            fail_msg("%s: %s %s has operationId %s, the rule gives %s", b->svc.name, rt->method,
                     rt->pattern, id ? id : "(none)", want);
        int ok = islower((unsigned char)id[0]) && strlen(id) > 3;
        for (const char *c = id; *c; c++) ok &= isalnum((unsigned char)*c) != 0;
        if (!ok) fail_msg("%s: %s %s: operationId \"%s\" is not camelCase", b->svc.name,
                          rt->method, rt->pattern, id);
    }
}

/* Over both daemons' tables: one id, one method and pattern. A route both
 * serve (a read of either's objects) has the same id on each. */
static void operation_ids_are_unique_over_both(void **state)
{
    (void)state;
    service svcs[2] = {{.def = grid_service()}, {.def = cust_service()}};
    json_t *seen = json_object(); /* id -> "METHOD pattern" */
    int clashes = 0;
    for (int s = 0; s < 2; s++) {
        svcs[s].name = service_name(svcs[s].def->id);
        service_routes(&svcs[s]);
        for (int i = 0; i < router_count(svcs[s].router); i++) {
            const route *rt = router_at(svcs[s].router, i);
            if (rt->flags & ROUTE_UNLISTED) continue;
            char id[128], what[300];
            openapi_operation_id(rt, id, sizeof id);
            snprintf(what, sizeof what, "%s %s", rt->method, rt->pattern);
            const char *before = json_string_value(json_object_get(seen, id));
            if (before && strcmp(before, what) != 0) {
                print_error("%s: operationId %s of %s is also %s's\n", svcs[s].name, id, what,
                            before);
                clashes++;
            }
            json_object_set_new(seen, id, json_string(what));
        }
    }
    size_t ids = json_object_size(seen);
    json_decref(seen);
    for (int s = 0; s < 2; s++) service_routes_free(&svcs[s]);
    if (clashes) fail_msg("%d operationIds name two routes", clashes);
    assert_true(ids > 200);
}

/* The rule itself, on routes of its own: ids must not change under clients
 * when the code around them does. */
static void operation_id_rule_is_pinned(void **state)
{
    (void)state;
    static const struct {
        const char *method, *pattern;
        unsigned flags;
        const char *id;
    } cases[] = {
        {"GET", "/v1/customers", 0, "listCustomers"},
        {"POST", "/v1/customers", ROUTE_BODY_JSON, "createCustomer"},
        {"GET", "/v1/customers/{code}", 0, "getCustomer"},
        {"PATCH", "/v1/customers/{code}", ROUTE_BODY_JSON, "updateCustomer"},
        {"DELETE", "/v1/customers/{code}", 0, "deleteCustomer"},
        {"GET", "/v1/customers/{code}/history", 0, "getCustomerHistory"},
        {"POST", "/v1/customers:import", ROUTE_BODY_BULK, "importCustomers"},
        {"GET", "/v1/customers:export", 0, "exportCustomers"},
        {"GET", "/v1/addresses/{code}", 0, "getAddress"},
        {"GET", "/v1/meter-boxes/{code}", 0, "getMeterBox"},
        {"GET", "/v1/switches/{code}", 0, "getSwitch"},
        {"GET", "/v1/webhooks/{id}/deliveries", 0, "listWebhookDeliveries"},
        {"POST", "/v1/switches/{code}/operate", ROUTE_BODY_JSON, "operateSwitch"},
        {"POST", "/v1/outages/{code}/transitions", ROUTE_BODY_JSON, "createOutageTransition"},
        {"GET", "/v1/relations/substation-line", 0, "listSubstationLineLinks"},
        {"POST", "/v1/relations/substation-line", ROUTE_BODY_JSON, "createSubstationLineLink"},
        {"DELETE", "/v1/relations/substation-line", 0, "deleteSubstationLineLink"},
        {"POST", "/v1/relations/substation-line:import", ROUTE_BODY_BULK,
         "importSubstationLineLinks"},
        {"GET", "/v1/trace/{code}", ROUTE_PEER, "getTrace"},
        {"GET", "/v1/outage-impact", ROUTE_PEER, "getOutageImpact"},
        {"POST", "/v1/graph/walk", ROUTE_BODY_JSON | ROUTE_READ_ONLY, "queryGraphWalk"},
        {"POST", "/v1/notices:ack", ROUTE_BODY_JSON, "ackNotices"},
        {"GET", "/healthz", ROUTE_PUBLIC, "getHealthz"},
        {"GET", "/metrics", ROUTE_PUBLIC, "getMetrics"},
        {"GET", "/openapi.json", ROUTE_PUBLIC, "getOpenapiJson"},
    };
    router *r = router_new();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const route *rt = router_add(r, cases[i].method, cases[i].pattern, NULL, NULL,
                                     cases[i].flags, "a route");
        char id[128];
        openapi_operation_id(rt, id, sizeof id);
        if (strcmp(id, cases[i].id) != 0)
            fail_msg("%s %s: operationId %s, not %s", cases[i].method, cases[i].pattern, id,
                     cases[i].id);
    }
    router_free(r);
}

static int answers(json_t *op, const char *status)
{
    return json_object_get(json_object_get(op, "responses"), status) != NULL;
}

/* Security as the route is served; and the error answers of openapi.h's
 * rule that the route table alone decides, each a components/responses
 * entry of the document. */
static void security_and_errors(void **state)
{
    built *b = *state;
    json_t *shared = json_object_get(json_object_get(b->doc, "components"), "responses");
    for (int i = 0; i < router_count(b->svc.router); i++) {
        const route *rt = router_at(b->svc.router, i);
        json_t *op = operation_of(b, rt);
        if (!op) continue;
        json_t *sec = op_get(op, "security");
        int is_public = (rt->flags & ROUTE_PUBLIC) != 0;
        if (!json_is_array(sec) || (json_array_size(sec) == 0) != is_public ||
            (!is_public && !json_object_get(json_array_get(sec, 0), "bearer")))
            fail_msg("%s: %s %s: security is not %s", b->svc.name, rt->method, rt->pattern,
                     is_public ? "[]" : "[{bearer: []}]");
        int misdirected = answers(op, "421");
        int read = strcmp(rt->method, "GET") == 0 || (rt->flags & ROUTE_READ_ONLY);
        struct {
            const char *status;
            int want;
        } rules[] = {
            {"500", 1},
            {"default", 1},
            {"401", !is_public},
            {"404", rt->nparams > 0 && !misdirected},
            {"502", (rt->flags & ROUTE_PEER) != 0},
            {"504", (rt->flags & ROUTE_PEER) != 0},
            {"413", (rt->flags & (ROUTE_BODY_JSON | ROUTE_BODY_BULK)) != 0},
            {"400", rt->nparams > 0 || (rt->flags & (ROUTE_BODY_JSON | ROUTE_BODY_BULK)) ||
                        (read && strncmp(rt->pattern, "/v1/", 4) == 0)},
        };
        for (size_t k = 0; k < sizeof rules / sizeof rules[0]; k++)
            if (answers(op, rules[k].status) != rules[k].want)
                fail_msg("%s: %s %s %s %s", b->svc.name, rt->method, rt->pattern,
                         rules[k].want ? "does not list" : "should not list", rules[k].status);
        if (misdirected && (answers(op, "200") || answers(op, "201")))
            fail_msg("%s: %s %s is refused with 421 but documents a success", b->svc.name,
                     rt->method, rt->pattern);
        const char *status;
        json_t *resp;
        json_object_foreach(json_object_get(op, "responses"), status, resp) {
            const char *target = json_string_value(json_object_get(resp, "$ref"));
            if (target && (strncmp(target, "#/components/responses/", 23) != 0 ||
                           !json_object_get(shared, target + 23)))
                fail_msg("%s: %s %s: %s answers %s, which is not in the document", b->svc.name,
                         rt->method, rt->pattern, status, target);
        }
    }
    json_t *problem = json_object_get(json_object_get(shared, "NotFound"), "content");
    assert_non_null(json_object_get(problem, "application/problem+json"));
}

/* The reads of the peer's objects are relayed: grid-svc refuses a
 * customer's create with 421, and relays its list. */
static void peer_objects_are_misdirected_or_relayed(void **state)
{
    built *b = *state;
    int grid = b->svc.def->id == grid_service()->id;
    json_t *create = json_object_get(json_object_get(b->paths, "/v1/customers"), "post");
    json_t *list = json_object_get(json_object_get(b->paths, "/v1/customers"), "get");
    assert_int_equal(answers(create, "421"), grid);
    assert_int_equal(answers(create, "201"), !grid);
    assert_int_equal(answers(list, "502"), grid);
    assert_int_equal(answers(list, "421"), 0);
}

/* Idempotency-Key where idem_check runs: creates and links, and on
 * cust-svc an outage's announcement; never on a PATCH or a read. */
/* Each query parameter a route declares is in its operation, required as
 * declared, with its words as the enum; and the hand-written reads the
 * console and clients use declare theirs, on both platforms alike. */
static void declared_query_parameters(void **state)
{
    built *b = *state;
    int checked = 0;
    for (int i = 0; i < router_count(b->svc.router); i++) {
        const route *rt = router_at(b->svc.router, i);
        for (const query_doc *q = rt->query; q && q->name; q++, checked++) {
            json_t *params = json_object_get(operation_of(b, rt), "parameters"), *p, *found = NULL;
            size_t k;
            json_array_foreach(params, k, p) {
                if (strcmp(json_string_value(json_object_get(p, "in")), "query") == 0 &&
                    strcmp(json_string_value(json_object_get(p, "name")), q->name) == 0)
                    found = p;
            }
            if (!found) fail_msg("%s: %s %s: ?%s is not documented", b->svc.name, rt->method,
                                 rt->pattern, q->name);
            assert_int_equal(json_is_true(json_object_get(found, "required")), q->required);
            json_t *schema = json_object_get(found, "schema");
            assert_string_equal(json_string_value(json_object_get(schema, "type")), q->type);
            size_t nvalues = 0;
            for (const char *const *v = q->values; v && *v; v++) nvalues++;
            assert_int_equal(json_array_size(json_object_get(schema, "enum")), nvalues);
        }
    }
    static const char *const paths[] = {"/v1/trace/{code}", "/v1/outage-impact", "/v1/search",
                                        "/v1/events", "/v1/events/stream",
                                        "/v1/reports/integration",
                                        "/v1/reports/integration/rates"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        json_t *get = json_object_get(json_object_get(b->paths, paths[i]), "get");
        if (!get) fail_msg("%s: GET %s is not documented", b->svc.name, paths[i]);
        json_t *p;
        size_t k;
        int query = 0;
        json_array_foreach(json_object_get(get, "parameters"), k, p)
            query += strcmp(json_string_value(json_object_get(p, "in")), "query") == 0;
        if (!query) fail_msg("%s: GET %s documents no query parameter", b->svc.name, paths[i]);
    }
    assert_true(checked > 0);
}

static void idempotency_key_on_creates(void **state)
{
    built *b = *state;
    int offered = 0;
    for (int i = 0; i < router_count(b->svc.router); i++) {
        const route *rt = router_at(b->svc.router, i);
        json_t *op = operation_of(b, rt);
        int has = has_header(op, "Idempotency-Key");
        if (has != ((rt->flags & ROUTE_IDEMPOTENT) != 0))
            fail_msg("%s: %s %s: Idempotency-Key %s", b->svc.name, rt->method, rt->pattern,
                     has ? "offered, not honoured" : "honoured, not offered");
        if (has && strcmp(rt->method, "POST") != 0)
            fail_msg("%s: %s %s offers Idempotency-Key", b->svc.name, rt->method, rt->pattern);
        offered += has;
    }
    const char *own = b->svc.def->id == grid_service()->id ? "/v1/substations" : "/v1/customers";
    assert_true(has_header(json_object_get(json_object_get(b->paths, own), "post"),
                           "Idempotency-Key"));
    if (b->svc.def->id == cust_service()->id)
        assert_true(has_header(json_object_get(json_object_get(b->paths, "/v1/outages"), "post"),
                               "Idempotency-Key"));
    assert_true(offered > 5);
}

/* "/": where the document was fetched from (Redocly errs on none). */
static void servers_is_relative(void **state)
{
    built *b = *state;
    json_t *servers = json_object_get(b->doc, "servers");
    assert_int_equal(json_array_size(servers), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(servers, 0), "url")), "/");
}

static json_t *ok_schema(const built *b, const char *path, const char *key)
{
    json_t *op = json_object_get(json_object_get(b->paths, path), key);
    return json_object_get(json_object_get(json_object_get(json_object_get(json_object_get(
                                                                op, "responses"), "200"),
                                                            "content"),
                                           "application/json"),
                           "schema");
}

/* A client reads the customer list and the trace typed, on either daemon
 * (grid-svc relays the list, as cust-svc answers it). */
static void customer_list_and_trace_are_typed(void **state)
{
    built *b = *state;
    json_t *page = ok_schema(b, "/v1/customers", "get");
    json_t *items = json_object_get(json_object_get(page, "properties"), "items");
    json_t *item = json_object_get(items, "items");
    json_t *all_of = json_object_get(item, "allOf");
    assert_string_equal(json_string_value(json_object_get(json_array_get(all_of, 0), "$ref")),
                        "#/components/schemas/customer");
    json_t *required = json_object_get(item, "required");
    int code = 0;
    size_t i;
    json_t *v;
    json_array_foreach(required, i, v) code |= strcmp(json_string_value(v), "code") == 0;
    assert_true(code);
    json_t *customer = json_object_get(json_object_get(json_object_get(b->doc, "components"),
                                                       "schemas"),
                                       "customer");
    assert_non_null(json_object_get(json_object_get(customer, "properties"), "name"));
    assert_string_equal(
        json_string_value(json_object_get(ok_schema(b, "/v1/trace/{code}", "get"), "$ref")),
        "#/components/schemas/trace");
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
        FOR_BOTH(operation_ids_follow_the_rule),
        FOR_BOTH(security_and_errors),
        FOR_BOTH(peer_objects_are_misdirected_or_relayed),
        FOR_BOTH(idempotency_key_on_creates),
        FOR_BOTH(declared_query_parameters),
        FOR_BOTH(servers_is_relative),
        FOR_BOTH(customer_list_and_trace_are_typed),
        cmocka_unit_test(operation_ids_are_unique_over_both),
        cmocka_unit_test(operation_id_rule_is_pinned),
    };
    return cmocka_run_group_tests_name("openapi", tests, NULL, NULL);
}
