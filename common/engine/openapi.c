/* openapi.c -- see openapi.h. */
#include "engine/openapi.h"

#include <stdio.h>
#include <string.h>

#include "model/fields.h"
#include "engine/context.h"

/* The codes of refs' prefixes, as a JSON Schema pattern. */
static json_t *code_pattern(const char *const *refs)
{
    sbuf b = {0};
    sb_append(&b, "^(");
    for (const char *const *p = refs; *p; p++) sb_appendf(&b, "%s%s", *p, p[1] ? "|" : "");
    sb_append(&b, ")-[0-7][0-9A-Za-z]{26}$");
    json_t *s = json_string(b.s);
    sb_free(&b);
    return s;
}

static json_t *field_schema(const field_def *f)
{
    json_t *s;
    switch (f->type) {
    case FT_INT: s = json_pack("{s:s}", "type", "integer"); break;
    case FT_NUM: s = json_pack("{s:s}", "type", "number"); break;
    case FT_BOOL: s = json_pack("{s:s}", "type", "boolean"); break;
    case FT_ENUM: {
        json_t *vals = json_array();
        for (const char *const *v = f->values; *v; v++) json_array_append_new(vals, json_string(*v));
        s = json_pack("{s:s, s:o}", "type", "string", "enum", vals);
        break;
    }
    case FT_CODE:
        s = json_pack("{s:s, s:o}", "type", "string", "pattern", code_pattern(f->refs));
        break;
    case FT_CODES:
        s = json_pack("{s:s, s:i, s:i, s:b, s:{s:s, s:o}}", "type", "array", "minItems", 1,
                      "maxItems", f->max_len ? f->max_len : 100, "uniqueItems", 1, "items",
                      "type", "string", "pattern", code_pattern(f->refs));
        break;
    case FT_TIME: s = json_pack("{s:s, s:s}", "type", "string", "format", "date-time"); break;
    case FT_LOCATION:
        s = json_pack("{s:s, s:[s,s], s:b, s:{s:{s:s, s:i, s:i}, s:{s:s, s:i, s:i}}}", "type",
                      "object", "required", "lon", "lat", "additionalProperties", 0,
                      "properties", "lon", "type", "number", "minimum", -180, "maximum", 180,
                      "lat", "type", "number", "minimum", -90, "maximum", 90);
        break;
    default:
        s = json_pack("{s:s, s:i}", "type", "string", "maxLength", f->max_len ? f->max_len : 200);
        break;
    }
    if ((f->type == FT_INT || f->type == FT_NUM) && f->min < f->max) {
        json_object_set_new(s, "minimum", json_real(f->min));
        json_object_set_new(s, "maximum", json_real(f->max));
    }
    if (f->doc) json_object_set_new(s, "description", json_string(f->doc));
    if (!(f->flags & FF_REQUIRED)) {
        /* OpenAPI 3.1 is JSON Schema: an optional field may also be null. */
        json_t *type = json_object_get(s, "type");
        json_object_set_new(s, "type", json_pack("[O,s]", type, "null"));
        /* An enum is every value allowed, whatever the type says: without
         * null in it, an unset field as it reads back would not match. */
        json_t *values = json_object_get(s, "enum");
        if (values) json_array_append_new(values, json_null());
    }
    return s;
}

static json_t *fields_schema(const field_def *fields, json_t *required)
{
    json_t *props = json_object();
    for (const field_def *f = fields; f->name; f++) {
        json_object_set_new(props, f->name, field_schema(f));
        if (required && (f->flags & FF_REQUIRED)) json_array_append_new(required, json_string(f->name));
    }
    return props;
}

static json_t *collection_schema(const collection_def *cd, const biz_type *bt)
{
    json_t *required = json_array();
    json_t *props = fields_schema(cd->fields, required);
    json_t *statuses = json_array();
    for (const char *const *s = cd->statuses->values; *s; s++)
        json_array_append_new(statuses, json_string(*s));
    json_object_set_new(props, "code", json_pack("{s:s, s:s}", "type", "string", "description",
                                                 "business code; given on create or minted"));
    json_object_set_new(props, "status", json_pack("{s:s, s:o}", "type", "string", "enum", statuses));
    json_object_set_new(props, "version", json_pack("{s:s, s:b}", "type", "integer", "readOnly", 1));
    json_object_set_new(props, "created_at",
                        json_pack("{s:s, s:s, s:b}", "type", "string", "format", "date-time", "readOnly", 1));
    json_object_set_new(props, "updated_at",
                        json_pack("{s:s, s:s, s:b}", "type", "string", "format", "date-time", "readOnly", 1));
    json_object_set_new(props, "updated_by", json_pack("{s:s, s:b}", "type", "string", "readOnly", 1));
    char title[160];
    snprintf(title, sizeof title, "%s %s (%s)", bt->type, bt->zh, bt->prefix);
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:b}", "title", title, "description",
                     cd->doc ? cd->doc : "", "type", "object", "properties", props, "required",
                     required, "additionalProperties", 0);
}

static json_t *relation_schema(const relation_def *rd)
{
    json_t *required = json_pack("[s,s]", "from", "to");
    static const field_def no_attrs[] = {FIELDS_END};
    json_t *props = fields_schema(rd->attrs ? rd->attrs : no_attrs, required);
    json_object_set_new(props, "from", json_pack("{s:s}", "type", "string"));
    json_object_set_new(props, "to", json_pack("{s:s}", "type", "string"));
    json_object_set_new(props, "valid_from", json_pack("{s:s, s:s, s:b}", "type", "string", "format",
                                                       "date-time", "readOnly", 1));
    json_object_set_new(props, "valid_to", json_pack("{s:[s,s], s:s, s:b}", "type", "string", "null",
                                                     "format", "date-time", "readOnly", 1));
    return json_pack("{s:s, s:s, s:o, s:o}", "description", rd->doc ? rd->doc : "", "type",
                     "object", "properties", props, "required", required);
}

/* The schema a route's body and answer use, when it serves a declaration. */
static const char *route_schema(service *svc, const route *rt, char *buf, size_t len)
{
    for (int i = 0; i < svc->def->ncollections; i++) {
        const biz_type *bt = biz_type_by_prefix(svc->def->collections[i].prefix);
        size_t n = strlen(bt->collection);
        if (strncmp(rt->pattern + 4, bt->collection, n) == 0 &&
            strchr("/:", rt->pattern[4 + n])) {
            snprintf(buf, len, "#/components/schemas/%s", bt->type);
            return buf;
        }
    }
    for (int i = 0; i < svc->def->nrelations; i++) {
        if (strncmp(rt->pattern, "/v1/relations/", 14) == 0 &&
            strncmp(rt->pattern + 14, svc->def->relations[i].kind,
                    strlen(svc->def->relations[i].kind)) == 0 &&
            strchr(":", rt->pattern[14 + strlen(svc->def->relations[i].kind)])) {
            snprintf(buf, len, "#/components/schemas/%s-link", svc->def->relations[i].kind);
            return buf;
        }
    }
    return NULL;
}

/* :import takes NDJSON of the schema and answers counts; :export streams it. */
static json_t *bulk_operation(json_t *op, json_t *responses, const char *verb, const char *schema)
{
    json_t *ndjson = json_pack("{s:{s:{s:s}}}", "application/x-ndjson", "schema", "$ref", schema);
    if (strcmp(verb, "import") == 0) {
        json_object_set_new(op, "requestBody", json_pack("{s:b, s:o}", "required", 1, "content",
                                                         ndjson));
        json_object_set_new(responses, "200",
                            json_pack("{s:s}", "description",
                                      "every line loaded: lines, imported, batches"));
    } else {
        json_object_set_new(responses, "200", json_pack("{s:s, s:o}", "description",
                                                        "one object per line", "content", ndjson));
    }
    json_object_set_new(responses, "default",
                        json_pack("{s:s, s:{s:{s:{s:s}}}}", "description",
                                  "an error (RFC 9457 problem details); a rejected import names "
                                  "its batches and lines", "content", "application/problem+json",
                                  "schema", "$ref", "#/components/schemas/problem"));
    return op;
}

static json_t *operation(service *svc, const route *rt)
{
    char ref[128];
    const char *schema = route_schema(svc, rt, ref, sizeof ref);
    json_t *op = json_pack("{s:s, s:{}}", "summary", rt->summary ? rt->summary : "", "responses");
    json_t *params = json_array();
    for (int s = 0; s < rt->nsegs; s++) {
        if (rt->segs[s][0] != '{') continue;
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)strlen(rt->segs[s]) - 2, rt->segs[s] + 1);
        json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:{s:s, s:i}}", "name", name, "in",
                                                "path", "required", 1, "schema", "type", "string",
                                                "maxLength", ROUTE_PARAM_MAX));
    }
    if (service_reads_replica(rt->method, rt))
        json_array_append_new(
            params, json_pack("{s:s, s:s, s:b, s:s, s:{s:s}}", "name", "X-Read-Primary", "in",
                              "header", "required", 0, "description",
                              "Any value: read the primary even when the service reads a "
                              "replica (DATABASE_READ_URL), to see a write made a moment ago",
                              "schema", "type", "string"));
    if (json_array_size(params)) json_object_set_new(op, "parameters", params);
    else json_decref(params);
    if (!(rt->flags & ROUTE_PUBLIC)) json_object_set_new(op, "security", json_pack("[{s:[]}]", "bearer"));
    json_t *responses = json_object_get(op, "responses");
    const char *colon = strrchr(rt->pattern, ':');
    if (colon && schema) return bulk_operation(op, responses, colon + 1, schema);
    json_t *ok = schema ? json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", "success", "content",
                                    "application/json", "schema", "$ref", schema)
                        : json_pack("{s:s}", "description", "success");
    json_object_set_new(responses, strcmp(rt->method, "POST") == 0 && schema ? "201" : "200", ok);
    json_object_set_new(responses, "default",
                        json_pack("{s:s, s:{s:{s:{s:s}}}}", "description",
                                  "an error (RFC 9457 problem details)", "content",
                                  "application/problem+json", "schema", "$ref",
                                  "#/components/schemas/problem"));
    if ((rt->flags & ROUTE_BODY_JSON) && schema) {
        const char *type = strcmp(rt->method, "PATCH") == 0 ? "application/merge-patch+json"
                                                            : "application/json";
        json_object_set_new(op, "requestBody",
                            json_pack("{s:b, s:{s:{s:{s:s}}}}", "required", 1, "content", type,
                                      "schema", "$ref", schema));
    }
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
    for (int i = 0; i < router_count(svc->router); i++) {
        const route *rt = router_at(svc->router, i);
        if (rt->flags & ROUTE_UNLISTED) continue;
        json_t *item = json_object_get(paths, rt->pattern);
        if (!item) {
            item = json_object();
            json_object_set_new(paths, rt->pattern, item);
        }
        char m[16];
        json_object_set_new(item, lower(rt->method, m, sizeof m), operation(svc, rt));
    }
    json_t *schemas = json_object();
    for (int i = 0; i < svc->def->ncollections; i++) {
        const collection_def *cd = &svc->def->collections[i];
        const biz_type *bt = biz_type_by_prefix(cd->prefix);
        json_object_set_new(schemas, bt->type, collection_schema(cd, bt));
    }
    for (int i = 0; i < svc->def->nrelations; i++) {
        char name[96];
        snprintf(name, sizeof name, "%s-link", svc->def->relations[i].kind);
        json_object_set_new(schemas, name, relation_schema(&svc->def->relations[i]));
    }
    json_object_set_new(
        schemas, "problem",
        json_pack("{s:s, s:{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s, s:{s:s}}}}", "type",
                  "object", "properties", "type", "type", "string", "title", "type", "string",
                  "status", "type", "integer", "detail", "type", "string", "errors", "type",
                  "array", "items", "type", "object"));
    return json_pack("{s:s, s:{s:s, s:s}, s:o, s:{s:o, s:{s:{s:s, s:s}}}}", "openapi", "3.1.0",
                     "info", "title", svc->def->title, "version", "1.0.0", "paths", paths,
                     "components", "schemas", schemas, "securitySchemes", "bearer", "type", "http",
                     "scheme", "bearer");
}
