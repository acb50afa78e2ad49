/* fuzz_body.c -- the bodies of a collection's writes, checked as the
 * handlers check them before anything else is asked (resource.h): a create
 * (POST /v1/{collection}) and a JSON merge patch (PATCH
 * /v1/{collection}/{code}) of an object as stored.
 *
 * The first byte picks a collection of either daemon (modulo their number)
 * and whether the object patched has every field set or only those it
 * needs; the rest is the body, parsed as the server parses a JSON body.
 * The object patched is made here from the declarations, and must itself
 * pass.
 *
 * A body refused is answered with errors [{field, message}]. A create taken
 * is taken again as it was canonicalised, its code (if it brings one)
 * canonical and of the collection. A patch taken keeps the object's code,
 * changes no read-only member (null leaves one as stored, as it leaves the
 * status), and what it made is taken as it stands. */
#include "fuzz.h"

#include "model/bizcode.h"
#include "base/jsonutil.h"

static const char *const read_only[] = {"code", "version", "created_at", "updated_at",
                                        "updated_by", NULL};

/* A value the field takes. */
static json_t *value_for(const field_def *f)
{
    static const uint8_t some[16] = {0x01, 0x93, 0x5c, 0x2a, 0x10, 0x00, 0x42};
    char code[BIZCODE_LEN + 1];
    switch (f->type) {
    case FT_TEXT: return json_string("x");
    case FT_INT: return json_integer(f->min < f->max ? (json_int_t)f->min : 1);
    case FT_NUM: return json_real(f->min < f->max ? (f->min + f->max) / 2 : 1.5);
    case FT_BOOL: return json_true();
    case FT_ENUM: return json_string(f->values[0]);
    case FT_CODE: bizcode_format(f->refs[0], some, code); return json_string(code);
    case FT_LOCATION: return json_pack("{s:f, s:f}", "lon", 116.397, "lat", 39.909);
    case FT_TIME: return json_string("2026-12-14T08:00:00Z");
    case FT_CODES: bizcode_format(f->refs[0], some, code); return json_pack("[s]", code);
    }
    return json_null();
}

/* The object as the database gives it back (row_json): every member, null
 * where a column is NULL. */
static json_t *stored(const collection_def *cd, int full)
{
    static const uint8_t mine[16] = {0x01, 0x93, 0x5c, 0x2a, 0x00, 0x01, 0x77};
    char code[BIZCODE_LEN + 1];
    bizcode_format(cd->prefix, mine, code);
    json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "code", code, "status",
                          cd->statuses->initial, "version", 3, "created_at",
                          "2026-03-01T08:00:00.000Z", "updated_at", "2026-03-02T09:30:00.000Z",
                          "updated_by", "marketing");
    for (const field_def *f = cd->fields; f->name; f++) {
        json_t *v = full || (f->flags & FF_REQUIRED) ? value_for(f)
                    : f->dflt                        ? json_string(f->dflt)
                                                     : json_null();
        json_object_set_new(o, f->name, v);
    }
    return o;
}

static void create(service *svc, const collection_def *cd, const json_t *body)
{
    json_t *obj = json_deep_copy(body), *errors;
    if (resource_check_create(svc, cd->prefix, obj, &errors) != OK) {
        fuzz_check_errors(errors);
        json_decref(errors);
        json_decref(obj);
        return;
    }
    FUZZ_CHECK(!errors, "a create taken has errors");
    const char *code = json_str(obj, "code");
    char canon[BIZCODE_LEN + 1];
    if (code)
        FUZZ_CHECK(bizcode_parse(code, canon, NULL) == BIZ_OK && strcmp(canon, code) == 0 &&
                       strncmp(code, cd->prefix, 2) == 0,
                   "%s: a create took code %s", cd->prefix, code);
    json_t *again = json_deep_copy(obj);
    FUZZ_CHECK(resource_check_create(svc, cd->prefix, again, &errors) == OK &&
                   json_equal(again, obj),
               "%s: a create taken is not taken again as it stands", cd->prefix);
    json_decref(again);
    json_decref(obj);
}

static void patch(service *svc, const collection_def *cd, int full, const json_t *body)
{
    json_t *current = stored(cd, full), *nothing = json_object(), *errors;
    json_t *same = resource_check_patch(svc, cd->prefix, current, nothing, &errors);
    FUZZ_CHECK(same, "%s: the object patched is not valid: %s", cd->prefix,
               json_string_value(json_object_get(json_array_get(errors, 0), "message")));
    json_decref(same);

    json_t *merged = resource_check_patch(svc, cd->prefix, current, body, &errors);
    if (!merged) {
        fuzz_check_errors(errors);
        json_decref(errors);
    } else {
        /* null keeps a member as it is stored, as it keeps the status;
         * but a code is never let go */
        for (const char *const *ro = read_only; *ro; ro++) {
            json_t *now = json_object_get(merged, *ro);
            FUZZ_CHECK(json_equal(now, json_object_get(current, *ro)) ||
                           (!now && strcmp(*ro, "code") != 0),
                       "%s: a patch taken changed %s", cd->prefix, *ro);
        }
        json_t *again = resource_check_patch(svc, cd->prefix, merged, nothing, &errors);
        FUZZ_CHECK(again, "%s: what a patch made is not taken as it stands", cd->prefix);
        json_decref(again);
        json_decref(merged);
    }
    json_decref(nothing);
    json_decref(current);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    service *svc;
    const collection_def *cd = fuzz_collection(data[0], &svc);
    int full = (data[0] / fuzz_ncollections()) % 2 == 0;
    char err[300];
    json_t *body = json_parse_object((const char *)data + 1, size - 1, err, sizeof err);
    if (body) {
        create(svc, cd, body);
        patch(svc, cd, full, body);
    }
    json_decref(body);
    return 0;
}
