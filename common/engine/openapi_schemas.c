/* openapi_schemas.c -- the schemas of /openapi.json: one per declaration
 * (collections and relations, ours and the peer's), and those of the
 * answers known beyond them (a history's changes, a trace, a problem). */
#include "engine/openapi_schemas.h"

#include <stdio.h>
#include <string.h>

#include "model/fields.h"

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
    json_object_set_new(props, "kind", json_pack("{s:s, s:b}", "type", "string", "readOnly", 1));
    json_object_set_new(props, "created_by", json_pack("{s:s, s:b}", "type", "string", "readOnly", 1));
    json_object_set_new(props, "from", json_pack("{s:s}", "type", "string"));
    json_object_set_new(props, "to", json_pack("{s:s}", "type", "string"));
    json_object_set_new(props, "valid_from", json_pack("{s:s, s:s, s:b}", "type", "string", "format",
                                                       "date-time", "readOnly", 1));
    json_object_set_new(props, "valid_to", json_pack("{s:[s,s], s:s, s:b}", "type", "string", "null",
                                                     "format", "date-time", "readOnly", 1));
    return json_pack("{s:s, s:s, s:o, s:o}", "description", rd->doc ? rd->doc : "", "type",
                     "object", "properties", props, "required", required);
}

/* A page of a list, as every paged route answers: next is the cursor to
 * pass as ?after= for the page after, null on the last. */
json_t *openapi_page_schema(json_t *item)
{
    return json_pack("{s:s, s:[s,s], s:{s:{s:s, s:o}, s:{s:[s,s], s:s}}}", "type", "object",
                     "required", "items", "next", "properties", "items", "type", "array", "items",
                     item, "next", "type", "string", "null", "description",
                     "give as ?after= for the next page; null on the last");
}

/* An item of an object's history (resource.c, history). */
static json_t *change_schema(void)
{
    return json_pack("{s:s, s:[s,s,s,s,s], s:{s:{s:s}, s:{s:s, s:s}, s:{s:s}, s:{s:s}, s:{s:s}, "
                     "s:{s:[s,s]}, s:{s:[s,s]}}}",
                     "type", "object", "required", "seq", "at", "type", "code", "after",
                     "properties", "seq", "type", "integer", "at", "type", "string", "format",
                     "date-time", "app", "type", "string", "type", "type", "string", "code", "type",
                     "string", "before", "type", "object", "null", "after", "type", "object",
                     "null");
}

/* The answer of GET /v1/trace/{code} (topology/trace.c): the walk's nodes,
 * each with the fields its type shows, and the links between them. */
static json_t *trace_schema(void)
{
    json_t *node = json_pack(
        "{s:s, s:[s,s], s:{s:{s:s}, s:{s:s}, s:{s:[s,s]}, s:{s:s}}}", "type", "object",
        "required", "code", "type", "properties", "code", "type", "string", "type", "type",
        "string", "name", "type", "string", "null", "status", "type", "string");
    json_t *edge = json_pack(
        "{s:s, s:[s,s,s], s:{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s, s:s}}}", "type",
        "object", "required", "from", "to", "kind", "properties", "from", "type", "string", "to",
        "type", "string", "kind", "type", "string", "switch", "type", "string", "open", "type",
        "boolean", "description", "the switch on the link is open now (or normally, ?state=normal)");
    return json_pack("{s:s, s:[s,s,s,s,s], s:{s:{s:s}, s:{s:s, s:[s,s]}, s:{s:s, s:[s,s]}, "
                     "s:{s:s, s:o}, s:{s:s, s:o}}}",
                     "type", "object", "required", "root", "direction", "state", "nodes", "edges",
                     "properties", "root", "type", "string", "direction", "type", "string", "enum",
                     "up", "down", "state", "type", "string", "enum", "current", "normal", "nodes",
                     "type", "array", "items", node, "edges", "type", "array", "items", edge);
}

/* problem.c's members, and the extension members more than one route
 * sends; a route may add its own (a walk's frontier, an import's lines). */
static json_t *problem_schema(void)
{
    json_t *error = json_pack("{s:s, s:[s], s:{s:{s:s}, s:{s:s}, s:{s:s, s:s}}}", "type",
                              "object", "required", "message", "properties", "field", "type",
                              "string", "message", "type", "string", "line", "type", "integer",
                              "description", "the NDJSON line, on an import");
    return json_pack(
        "{s:s, s:s, s:[s,s,s,s], s:{s:{s:s, s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s, s:s}, "
        "s:{s:s, s:o}, s:{s:s, s:[s,s], s:s}, s:{s:s, s:s}, s:{s:s, s:s}}}",
        "type", "object", "description", "RFC 9457 problem details", "required", "type", "title",
        "status", "detail", "properties", "type", "type", "string", "description",
        "urn:yingpei:problem: and a name for the status", "title", "type", "string", "status",
        "type", "integer", "detail", "type", "string", "instance", "type", "string",
        "description", "the request's path", "errors", "type", "array", "items", error, "owner",
        "type", "string", "enum", "grid-svc", "cust-svc", "description",
        "421: the platform that keeps the object", "current_version", "type", "integer",
        "description", "412: the object's version now", "resume_after", "type", "integer",
        "description", "410: the oldest cursor still kept");
}

json_t *openapi_schemas(const service_def *d)
{
    json_t *all = json_object();
    /* The peer's too: its objects' reads are relayed here as it answers them. */
    for (int pass = 0; pass < 2; pass++) {
        const collection_def *cds = pass ? d->peer_collections : d->collections;
        const relation_def *rds = pass ? d->peer_relations : d->relations;
        int nc = pass ? d->peer_ncollections : d->ncollections;
        int nr = pass ? d->peer_nrelations : d->nrelations;
        for (int i = 0; i < nc; i++) {
            const biz_type *bt = biz_type_by_prefix(cds[i].prefix);
            json_object_set_new(all, bt->type, collection_schema(&cds[i], bt));
        }
        for (int i = 0; i < nr; i++) {
            char name[96];
            snprintf(name, sizeof name, "%s-link", rds[i].kind);
            json_object_set_new(all, name, relation_schema(&rds[i]));
        }
    }
    json_object_set_new(all, "change", change_schema());
    json_object_set_new(all, "trace", trace_schema());
    json_object_set_new(all, "problem", problem_schema());
    return all;
}

