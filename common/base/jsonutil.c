/* jsonutil.c -- see jsonutil.h. */
#include "base/jsonutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/core.h"

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

void sb_json_string(sbuf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    sb_append(b, "\"");
    const char *run = s;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        sb_appendn(b, run, (size_t)(p - run));
        run = p + 1;
        char esc[6] = {'\\', (char)c, '0', '0', 0, 0};
        size_t n = 2;
        switch (c) {
        case '"':
        case '\\': break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default: /* the other control characters, as jansson writes them */
            esc[1] = 'u';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        sb_appendn(b, esc, n);
    }
    sb_append(b, run);
    sb_append(b, "\"");
}

void sb_json_int(sbuf *b, long long v)
{
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%lld", v);
    sb_appendn(b, buf, (size_t)n);
}

void sb_json_real(sbuf *b, double d)
{
    json_t *v = json_real(d);
    if (!v) {
        sb_append(b, "null");
        return;
    }
    char buf[64]; /* %.17g and jansson's ".0" fit */
    size_t n = json_dumpb(v, buf, sizeof buf,
                          JSON_OUT_FLAGS | JSON_ENCODE_ANY | JSON_REAL_PRECISION(digits_needed(d)));
    json_decref(v);
    sb_appendn(b, buf, n < sizeof buf ? n : 0);
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

/* Length of the valid UTF-8 sequence at p (1 to 4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *p)
{
    size_t n;
    unsigned c = p[0];
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) n = 3;
    else if (c >= 0xF0 && c <= 0xF4) n = 4;
    else return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    unsigned cp = n == 2 ? (c & 0x1F) << 6 | (p[1] & 0x3F)
                : n == 3 ? (c & 0x0F) << 12 | (p[1] & 0x3F) << 6 | (p[2] & 0x3F)
                         : (c & 0x07) << 18 | (p[1] & 0x3F) << 12 | (p[2] & 0x3F) << 6 | (p[3] & 0x3F);
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return n;
}

void utf8_clean(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        size_t n = utf8_seq(p);
        if (n == 0) {
            *p++ = '?';
        } else {
            p += n;
        }
    }
}

void json_add_error(json_t *errors, const char *field, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    utf8_clean(msg);
    json_array_append_new(errors, json_pack("{s:s?, s:s}", "field", field, "message", msg));
}

const char *json_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

json_t *json_load_config(const char *path, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) snprintf(err, errlen, "%s:%d: %s", path, je.line, je.text);
    return root;
}

/* Copies a JSON array of strings; ERR if it is not one. */
int json_string_list(json_t *arr, char ***out, int *n)
{
    if (!json_is_array(arr)) return ERR;
    size_t i;
    json_t *v;
    *n = 0;
    *out = xcalloc(json_array_size(arr) + 1, sizeof **out);
    json_array_foreach(arr, i, v) {
        if (!json_is_string(v)) return ERR;
        (*out)[(*n)++] = xstrdup(json_string_value(v));
    }
    return OK;
}

void string_list_free(char **list, int n)
{
    for (int i = 0; i < n; i++) free(list[i]);
    free(list);
}
