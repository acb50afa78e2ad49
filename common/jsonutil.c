/* jsonutil.c -- see jsonutil.h. */
#include "jsonutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

json_t *json_parse_object(const char *buf, size_t len, char *err, size_t errlen)
{
    json_error_t je;
    if (len == 0) {
        snprintf(err, errlen, "request body is empty; a JSON object is expected");
        return NULL;
    }
    json_t *v = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!v) {
        snprintf(err, errlen, "malformed JSON at line %d, column %d: %s", je.line, je.column,
                 je.text);
        return NULL;
    }
    if (!json_is_object(v)) {
        snprintf(err, errlen, "the body must be a JSON object, not %s", json_type_name(v));
        json_decref(v);
        return NULL;
    }
    return v;
}

json_t *json_merge_patch(const json_t *target, const json_t *patch)
{
    if (!json_is_object(patch)) return json_deep_copy(patch);
    json_t *out = json_is_object(target) ? json_deep_copy(target) : json_object();
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)patch, key, value) {
        if (json_is_null(value)) {
            json_object_del(out, key);
        } else {
            json_t *merged = json_merge_patch(json_object_get(out, key), value);
            json_object_set_new(out, key, merged);
        }
    }
    return out;
}

/* The digits a double needs to read back exactly; 17 always suffice. */
static int digits_needed(double d)
{
    char buf[40];
    for (int p = 15; p < 17; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, d);
        if (strtod(buf, NULL) == d) return p;
    }
    return 17;
}

static int precision_needed(const json_t *v)
{
    int most = 15;
    size_t i;
    const char *key;
    json_t *item;
    switch (json_typeof(v)) {
    case JSON_REAL: return digits_needed(json_real_value(v));
    case JSON_ARRAY:
        json_array_foreach((json_t *)v, i, item) {
            int p = precision_needed(item);
            if (p > most) most = p;
        }
        return most;
    case JSON_OBJECT:
        json_object_foreach((json_t *)v, key, item) {
            int p = precision_needed(item);
            if (p > most) most = p;
        }
        return most;
    default: return most;
    }
}

char *json_text(const json_t *v)
{
    size_t flags = JSON_OUT_FLAGS | JSON_ENCODE_ANY | JSON_REAL_PRECISION(precision_needed(v));
    char *s = json_dumps(v, flags);
    if (!s) abort(); /* only fails on allocation */
    return s;
}

const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "unknown";
}

/* Cuts a UTF-8 sequence that truncation left incomplete at the end of s. */
static void utf8_trim(char *s)
{
    size_t n = strlen(s), lead = n;
    while (lead > 0 && ((unsigned char)s[lead - 1] & 0xC0) == 0x80) lead--;
    if (lead == 0) return;
    unsigned char c = (unsigned char)s[lead - 1];
    size_t want = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (n - (lead - 1) < want) s[lead - 1] = '\0';
}

void json_add_error(json_t *errors, const char *field, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    utf8_trim(msg);
    json_array_append_new(errors, json_pack("{s:s, s:s}", "field", field, "message", msg));
}
