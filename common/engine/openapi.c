/* openapi.c -- see openapi.h: the document and its operations: their
 * parameters, security and answers, success and errors. */
#include "engine/openapi.h"

#include <stdio.h>
#include <string.h>

#include "model/fields.h"
#include "engine/context.h"
#include "engine/openapi_schemas.h"
#include "engine/paging.h"

static json_t *ref(const char *schema)
{
    return json_pack("{s:s}", "$ref", schema);
}

/* ---- what a route serves -------------------------------------------------------- */

typedef enum {
    SERVES_OTHER,   /* a hand-written route, or an action or view of a collection */
    SERVES_LIST,    /* /v1/{collection} */
    SERVES_ONE,     /* /v1/{collection}/{code} */
    SERVES_HISTORY, /* /v1/{collection}/{code}/history */
    SERVES_LINKS,   /* /v1/relations/{kind} */
    SERVES_IMPORT,  /* ...:import */
    SERVES_EXPORT,  /* ...:export */
} serves_kind;

typedef struct {
    serves_kind kind;
    char schema[96];   /* "#/components/schemas/customer"; "" when none is declared */
    int peer_keeps;    /* the peer keeps what the path names: reads relayed, writes 421 */
    int misdirected;   /* refused here with 421: a write, or an export, of the peer's */
    const collection_def *cd; /* the collection's declaration, when compiled in */
} served;

static serves_kind shape(const char *rest)
{
    if (!*rest) return SERVES_LIST;
    if (strcmp(rest, "/{code}") == 0) return SERVES_ONE;
    if (strcmp(rest, "/{code}/history") == 0) return SERVES_HISTORY;
    if (strcmp(rest, ":import") == 0) return SERVES_IMPORT;
    if (strcmp(rest, ":export") == 0) return SERVES_EXPORT;
    return SERVES_OTHER;
}

static int declares_relation(const relation_def *rds, int n, const char *kind)
{
    for (int i = 0; i < n; i++)
        if (strcmp(rds[i].kind, kind) == 0) return 1;
    return 0;
}

/* Under which collection or relation a pattern is, read off the catalogue
 * (biz_types, biz_relations) and the declarations compiled in. */
static served route_served(service *svc, const route *rt)
{
    served sv = {SERVES_OTHER, "", 0, 0, NULL};
    const service_def *d = svc->def;
    int found = 0;
    for (int i = 0; i < biz_ntypes && !found; i++) {
        const biz_type *bt = &biz_types[i];
        char base[96];
        snprintf(base, sizeof base, "/v1/%s", bt->collection);
        size_t n = strlen(base);
        if (strncmp(rt->pattern, base, n) != 0 || !strchr("/:", rt->pattern[n])) continue;
        found = 1;
        sv.kind = shape(rt->pattern + n);
        sv.peer_keeps = bt->owner != d->id;
        if ((sv.cd = catalogue_any_collection(d, bt->prefix)))
            snprintf(sv.schema, sizeof sv.schema, "#/components/schemas/%s", bt->type);
    }
    for (int i = 0; i < biz_nrelations && !found; i++) {
        const biz_relation *br = &biz_relations[i];
        char base[96];
        snprintf(base, sizeof base, "/v1/relations/%s", br->kind);
        size_t n = strlen(base);
        if (strncmp(rt->pattern, base, n) != 0 || !strchr("/:", rt->pattern[n])) continue;
        found = 1;
        sv.kind = rt->pattern[n] ? shape(rt->pattern + n) : SERVES_LINKS;
        sv.peer_keeps = br->owner != d->id;
        if (declares_relation(d->relations, d->nrelations, br->kind) ||
            declares_relation(d->peer_relations, d->peer_nrelations, br->kind))
            snprintf(sv.schema, sizeof sv.schema, "#/components/schemas/%s-link", br->kind);
    }
    /* proxy.c relays the peer's reads and refuses the rest, and exports:
     * relaying a whole export would hold the stream in memory. */
    sv.misdirected = sv.peer_keeps && (strcmp(rt->method, "GET") != 0 || sv.kind == SERVES_EXPORT);
    return sv;
}

/* ---- errors --------------------------------------------------------------------- */

static const struct {
    int status;
    const char *name; /* under #/components/responses */
    const char *why;
} errors[] = {
    {400, "BadRequest", "Malformed: a path parameter, query, header or body the route does not "
                        "take (errors lists the fields)"},
    {401, "Unauthorized", "No key, or a key not known: send Authorization: Bearer KEY"},
    {403, "Forbidden", "The app's roles do not allow it; detail names the role that may"},
    {404, "NotFound", "Nothing here under that code"},
    {409, "Conflict", "Conflicts with what is stored: a value that must be unique, a link that "
                      "exists, a step out of order, an object still named by others"},
    {412, "PreconditionFailed", "If-Match named a version that is not the current one "
                                "(current_version)"},
    {413, "ContentTooLarge", "The body is over the route's limit"},
    {415, "UnsupportedMediaType", "The body's Content-Type is not one the route takes"},
    {421, "MisdirectedRequest", "The other platform keeps the object: send the request there "
                                "(owner names it)"},
    {422, "UnprocessableContent", "Well-formed but refused: it names objects that do not exist, "
                                  "or reuses an Idempotency-Key with another request"},
    {500, "InternalServerError", "An internal error; detail names the request"},
    {502, "BadGateway", "The other platform could not be reached, or answered wrongly"},
    {503, "ServiceUnavailable", "Not now: the database or the other platform is unavailable, "
                                "the service busy or stopping; retry (after Retry-After, when "
                                "sent)"},
    {504, "GatewayTimeout", "The other platform did not answer in time"},
};

static int takes_body(const route *rt)
{
    return (rt->flags & (ROUTE_BODY_JSON | ROUTE_BODY_BULK)) != 0;
}

/* The statuses of openapi.h's rule. */
static int can_answer(const route *rt, const served *sv, int status)
{
    int is_public = (rt->flags & ROUTE_PUBLIC) != 0;
    int versioned = strncmp(rt->pattern, "/v1/", 4) == 0;
    int write = strcmp(rt->method, "GET") != 0 && strcmp(rt->method, "HEAD") != 0 &&
                !(rt->flags & ROUTE_READ_ONLY);
    int asks_peer = (rt->flags & ROUTE_PEER) != 0;
    switch (status) {
    case 400: return rt->nparams > 0 || takes_body(rt) || (versioned && !write);
    case 401: return !is_public;
    case 403: return !is_public && !sv->misdirected;
    case 404: return rt->nparams > 0 && !sv->misdirected;
    case 409:
    case 412:
    case 422: return write && !sv->misdirected;
    case 413: return takes_body(rt);
    case 415: return takes_body(rt);
    case 421: return sv->misdirected;
    case 500: return 1;
    case 502:
    case 504: return asks_peer;
    case 503: return !is_public;
    }
    return 0;
}

static void add_errors(json_t *responses, const route *rt, const served *sv, unsigned *used)
{
    for (size_t i = 0; i < ARRAY_LEN(errors); i++) {
        if (!can_answer(rt, sv, errors[i].status)) continue;
        char key[8], target[96];
        snprintf(key, sizeof key, "%d", errors[i].status);
        snprintf(target, sizeof target, "#/components/responses/%s", errors[i].name);
        json_object_set_new(responses, key, ref(target));
        *used |= 1u << i;
    }
    /* Statuses only some requests meet (405, 410, 414, 431, 508). */
    json_object_set_new(responses, "default", ref("#/components/responses/Problem"));
}

static json_t *problem_response(const char *why, int status)
{
    json_t *r = json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", why, "content",
                          "application/problem+json", "schema", "$ref",
                          "#/components/schemas/problem");
    const char *header = status == 401 ? "WWW-Authenticate" : status == 503 ? "Retry-After" : NULL;
    if (header)
        json_object_set_new(r, "headers",
                            json_pack("{s:{s:s, s:{s:s}}}", header, "description",
                                      status == 401 ? "Bearer realm=\"yingpei\""
                                                    : "seconds to wait, when known",
                                      "schema", "type", status == 401 ? "string" : "integer"));
    return r;
}

static json_t *error_responses(unsigned used)
{
    json_t *all = json_object();
    for (size_t i = 0; i < ARRAY_LEN(errors); i++)
        if (used & (1u << i))
            json_object_set_new(all, errors[i].name, problem_response(errors[i].why, errors[i].status));
    json_object_set_new(all, "Problem",
                        problem_response("Another error (RFC 9457 problem details): 405, 410, "
                                         "414, 431, 508", 0));
    return all;
}

/* ---- operations ----------------------------------------------------------------- */

/* :import takes NDJSON of the schema and answers counts; :export streams it. */
static void bulk_operation(json_t *op, json_t *responses, serves_kind kind, const char *schema)
{
    json_t *ndjson = json_pack("{s:{s:{s:s}}}", "application/x-ndjson", "schema", "$ref", schema);
    if (kind == SERVES_IMPORT) {
        json_object_set_new(op, "requestBody", json_pack("{s:b, s:o}", "required", 1, "content",
                                                         ndjson));
        json_object_set_new(responses, "200",
                            json_pack("{s:s}", "description",
                                      "every line loaded: lines, imported, batches"));
    } else {
        json_object_set_new(responses, "200", json_pack("{s:s, s:o}", "description",
                                                        "one object per line", "content", ndjson));
    }
}

static json_t *json_answer(const char *description, json_t *schema)
{
    return json_pack("{s:s, s:{s:{s:o}}}", "description", description, "content",
                     "application/json", "schema", schema);
}

/* An object as the platform answers it: what a body may leave out (its
 * code, to be minted) or may not set (its version, its times) is there. */
static json_t *stored(const served *sv)
{
    if (sv->kind == SERVES_LINKS) return ref(sv->schema);
    return json_pack("{s:[o], s:[s,s,s,s,s,s]}", "allOf", ref(sv->schema), "required", "code",
                     "status", "version", "created_at", "updated_at", "updated_by");
}

/* The success answer, where the code's answer is known; else described only. */
static void success(json_t *op, json_t *responses, const route *rt, const served *sv)
{
    const char *m = rt->method, *schema = sv->schema;
    if (sv->misdirected) return; /* refused here, whatever is asked */
    if (*schema && (sv->kind == SERVES_IMPORT || sv->kind == SERVES_EXPORT)) {
        bulk_operation(op, responses, sv->kind, schema);
        return;
    }
    json_t *ok = NULL;
    const char *status = "200";
    if (*schema && (sv->kind == SERVES_LIST || sv->kind == SERVES_LINKS)) {
        if (strcmp(m, "GET") == 0) ok = json_answer("a page", openapi_page_schema(stored(sv)));
        else if (strcmp(m, "POST") == 0) {
            ok = json_answer("created", stored(sv));
            status = "201";
        } else ok = json_answer("success", stored(sv));
    } else if (*schema && sv->kind == SERVES_ONE) ok = json_answer("success", stored(sv));
    else if (sv->kind == SERVES_HISTORY && strcmp(m, "GET") == 0)
        ok = json_answer("a page of changes, oldest first", openapi_page_schema(ref("#/components/schemas/change")));
    else if (strcmp(m, "GET") == 0 && strcmp(rt->pattern, "/v1/trace/{code}") == 0)
        ok = json_answer("the chain", ref("#/components/schemas/trace"));
    else ok = json_pack("{s:s}", "description", "success");
    json_object_set_new(responses, status, ok);
    int own_body = sv->kind == SERVES_LIST || sv->kind == SERVES_ONE || sv->kind == SERVES_LINKS;
    if ((rt->flags & ROUTE_BODY_JSON) && *schema && own_body) {
        const char *type = strcmp(m, "PATCH") == 0 ? "application/merge-patch+json"
                                                   : "application/json";
        json_object_set_new(op, "requestBody",
                            json_pack("{s:b, s:{s:{s:{s:s}}}}", "required", 1, "content", type,
                                      "schema", "$ref", schema));
    } else if (rt->flags & ROUTE_BODY_JSON) {
        /* Its members are in the summary: a client may send one all the same. */
        json_object_set_new(op, "requestBody",
                            json_pack("{s:b, s:{s:{s:{s:s}}}}", "required", 1, "content",
                                      "application/json", "schema", "type", "object"));
    }
}

static json_t *query_param(const char *name, json_t *schema, const char *description)
{
    json_t *p = json_pack("{s:s, s:s, s:b, s:o}", "name", name, "in", "query", "required", 0,
                          "schema", schema);
    if (description) json_object_set_new(p, "description", json_string(description));
    return p;
}

/* resource_list.c's list_arg: paging, codes, statuses, and a filter per field. */
static void list_params(json_t *params, const collection_def *cd)
{
    json_array_append_new(params, query_param("limit", json_pack("{s:s, s:i, s:i}", "type",
                                                                 "integer", "minimum", 1,
                                                                 "maximum", PAGE_LIMIT_MAX),
                                              "items per page (default 50)"));
    json_array_append_new(params, query_param("after", json_pack("{s:s}", "type", "string"),
                                              "the next of the page before"));
    json_array_append_new(params, query_param("code", json_pack("{s:s}", "type", "string"),
                                              "codes, comma-separated"));
    json_array_append_new(params, query_param("status", json_pack("{s:s}", "type", "string"),
                                              "statuses, comma-separated, or all (default: the "
                                              "listed ones)"));
    json_array_append_new(params, query_param("updated_by", json_pack("{s:s}", "type", "string"),
                                              NULL));
    for (const field_def *f = cd->fields; f->name; f++) {
        json_t *schema;
        switch (f->type) {
        case FT_LOCATION: continue; /* not a filter */
        case FT_INT: schema = json_pack("{s:s}", "type", "integer"); break;
        case FT_NUM: schema = json_pack("{s:s}", "type", "number"); break;
        case FT_BOOL: schema = json_pack("{s:s}", "type", "boolean"); break;
        case FT_ENUM: {
            json_t *vals = json_array();
            for (const char *const *v = f->values; *v; v++) json_array_append_new(vals, json_string(*v));
            schema = json_pack("{s:s, s:o}", "type", "string", "enum", vals);
            break;
        }
        default: schema = json_pack("{s:s}", "type", "string"); break;
        }
        char why[160];
        snprintf(why, sizeof why, "the objects whose %s %s this", f->name,
                 f->type == FT_CODES ? "holds" : "is");
        json_array_append_new(params, query_param(f->name, schema, why));
    }
}

/* A route's own query parameters (route.query, declared beside it). */
static void declared_params(json_t *params, const query_doc *q)
{
    for (; q && q->name; q++) {
        json_t *schema = json_pack("{s:s}", "type", q->type);
        if (q->values) {
            json_t *vals = json_array();
            for (const char *const *v = q->values; *v; v++) json_array_append_new(vals, json_string(*v));
            json_object_set_new(schema, "enum", vals);
        }
        json_t *p = query_param(q->name, schema, q->doc);
        if (q->required) json_object_set_new(p, "required", json_true());
        json_array_append_new(params, p);
    }
}

static json_t *parameters(const route *rt, const served *sv)
{
    json_t *params = json_array();
    for (int s = 0; s < rt->nsegs; s++) {
        if (rt->segs[s][0] != '{') continue; /* not a {parameter} */
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)strlen(rt->segs[s]) - 2, rt->segs[s] + 1);
        json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:{s:s, s:i}}", "name", name, "in",
                                                "path", "required", 1, "schema", "type", "string",
                                                "maxLength", ROUTE_PARAM_MAX));
    }
    if (sv->kind == SERVES_LIST && sv->cd && strcmp(rt->method, "GET") == 0) list_params(params, sv->cd);
    declared_params(params, rt->query);
    if (service_reads_replica(rt->method, rt))
        json_array_append_new(
            params, json_pack("{s:s, s:s, s:b, s:s, s:{s:s}}", "name", "X-Read-Primary", "in",
                              "header", "required", 0, "description",
                              "Any value: read the primary even when the service reads a "
                              "replica (DATABASE_READ_URL), to see a write made a moment ago",
                              "schema", "type", "string"));
    if (rt->flags & ROUTE_IDEMPOTENT)
        json_array_append_new(
            params, json_pack("{s:s, s:s, s:b, s:s, s:{s:s, s:s}}", "name", "Idempotency-Key",
                              "in", "header", "required", 0, "description",
                              "Retry-safe: the first answer is stored with the write and given "
                              "again for the same key and request; the key with another request "
                              "is a 422",
                              "schema", "type", "string", "pattern", "^[!-~]{1,200}$"));
    return params;
}

static json_t *operation(service *svc, const route *rt, unsigned *used)
{
    served sv = route_served(svc, rt);
    char id[128];
    openapi_operation_id(rt, id, sizeof id);
    json_t *op = json_pack("{s:s, s:s, s:{}}", "operationId", id, "summary",
                           rt->summary ? rt->summary : "", "responses");
    json_t *params = parameters(rt, &sv);
    if (json_array_size(params)) json_object_set_new(op, "parameters", params);
    else json_decref(params);
    json_object_set_new(op, "security", rt->flags & ROUTE_PUBLIC
                                            ? json_array()
                                            : json_pack("[{s:[]}]", "bearer"));
    json_t *responses = json_object_get(op, "responses");
    success(op, responses, rt, &sv);
    add_errors(responses, rt, &sv, used);
    return op;
}

static char *lower(const char *s, char *buf, size_t len)
{
    size_t i = 0;
    for (; s[i] && i + 1 < len; i++) buf[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
    buf[i] = '\0';
    return buf;
}

json_t *openapi_document(service *svc)
{
    json_t *paths = json_object();
    unsigned used = 0;
    for (int i = 0; i < router_count(svc->router); i++) {
        const route *rt = router_at(svc->router, i);
        if (rt->flags & ROUTE_UNLISTED) continue;
        json_t *item = json_object_get(paths, rt->pattern);
        if (!item) {
            item = json_object();
            json_object_set_new(paths, rt->pattern, item);
        }
        char m[16];
        json_object_set_new(item, lower(rt->method, m, sizeof m), operation(svc, rt, &used));
    }
    /* "/": the URL the document was fetched from, whichever platform, port or proxy. */
    return json_pack("{s:s, s:{s:s, s:s, s:s}, s:[{s:s, s:s}], s:o, s:{s:o, s:o, s:{s:{s:s, s:s}}}}",
                     "openapi", "3.1.0", "info", "title", svc->def->title, "version", "1.0.0",
                     "description", "Either platform answers a read of any object; writes go to "
                     "the platform that keeps the object (421 elsewhere). DESIGN.md is the "
                     "contract.",
                     "servers", "url", "/", "description", "where this document was fetched from",
                     "paths", paths, "components", "schemas", openapi_schemas(svc->def), "responses",
                     error_responses(used), "securitySchemes", "bearer", "type", "http", "scheme",
                     "bearer");
}

