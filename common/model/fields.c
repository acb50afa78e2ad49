/* fields.c -- see fields.h. */
#include "model/fields.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/core.h"
#include "base/jsonutil.h"
#include "store/pgarray.h"

#define DEFAULT_MAX_LEN 200

int field_ncols(const field_def *f)
{
    return f->type == FT_LOCATION ? 2 : 1;
}

int fields_ncols(const field_def *fields)
{
    int n = 0;
    for (const field_def *f = fields; f->name; f++) n += field_ncols(f);
    return n;
}

void fields_append_columns(const field_def *fields, sbuf *sql, const char *sep_first)
{
    const char *sep = sep_first;
    for (const field_def *f = fields; f->name; f++) {
        if (f->type == FT_LOCATION)
            sb_appendf(sql, "%s%s_lon, %s_lat", sep, f->name, f->name);
        else
            sb_appendf(sql, "%s%s", sep, f->name);
        sep = ", ";
    }
}

const field_def *field_find(const field_def *fields, const char *name)
{
    for (const field_def *f = fields; f->name; f++)
        if (strcmp(f->name, name) == 0) return f;
    return NULL;
}

static int in_list(const char *const *list, const char *s)
{
    for (; list && *list; list++)
        if (strcmp(*list, s) == 0) return 1;
    return 0;
}

static void join(const char *const *list, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (; list && *list; list++) {
        int n = snprintf(out + used, outlen - used, "%s%s", used ? ", " : "", *list);
        if (n < 0 || (size_t)n >= outlen - used) return;
        used += (size_t)n;
    }
}

static int range_ok(const field_def *f, double v)
{
    return !(f->min < f->max) || (v >= f->min && v <= f->max);
}

/* A code of one of the allowed prefixes, canonicalised into out. */
static int code_check(const field_def *f, const char *s, char canon[BIZCODE_LEN + 1], char *err,
                      size_t errlen)
{
    biz_status st = bizcode_parse(s, canon, NULL);
    if (st != BIZ_OK) {
        snprintf(err, errlen, "not a valid code: %s", bizcode_strerror(st));
        return ERR;
    }
    char prefix[3] = {canon[0], canon[1], '\0'};
    if (!in_list(f->refs, prefix)) {
        char allowed[64];
        join(f->refs, allowed, sizeof allowed);
        const biz_type *t = biz_type_by_prefix(prefix);
        snprintf(err, errlen, "must be a code of type %s; %s is a %s code", allowed, canon,
                 t ? t->type : "unknown");
        return ERR;
    }
    return OK;
}

/* RFC 3339: YYYY-MM-DDTHH:MM:SS, optional fraction, Z or an offset; a real
 * day and time of the calendar. PostgreSQL reads it as it is. */
static int is_instant(const char *s)
{
    int y, mo, d, h, mi, sec, n = 0;
    /* digits exactly where the form has them: sscanf alone would take signs and spaces */
    static const char form[] = "dddd-dd-ddTdd:dd:dd";
    for (size_t i = 0; s && i < sizeof form - 1; i++)
        if (form[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != form[i]) return 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
        n != 19)
        return 0;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = 12};
    struct tm back;
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || !gmtime_r(&t, &back) || back.tm_mon != mo - 1 || back.tm_mday != d ||
        h > 23 || mi > 59 || sec > 59)
        return 0;
    const char *p = s + 19;
    if (*p == '.') {
        size_t digits = strspn(p + 1, "0123456789");
        if (digits < 1 || digits > 6) return 0;
        p += 1 + digits;
    }
    if (strcmp(p, "Z") == 0) return 1;
    int oh, om;
    return (p[0] == '+' || p[0] == '-') && strlen(p) == 6 && p[3] == ':' &&
           strspn(p + 1, "0123456789") == 2 && strspn(p + 4, "0123456789") == 2 &&
           sscanf(p + 1, "%2d:%2d", &oh, &om) == 2 && oh <= 23 && om <= 59;
}

/* A JSON array of distinct codes of f's prefixes, as a text[] literal. */
static int codes_check(const field_def *f, const json_t *v, json_t *errors, char **out)
{
    size_t max = f->max_len ? (size_t)f->max_len : 100;
    if (json_array_size(v) == 0 || json_array_size(v) > max) {
        json_add_error(errors, f->name, "must name between 1 and %zu codes", max);
        return ERR;
    }
    pg_array a = {0};
    json_t *seen = json_object();
    size_t i;
    json_t *c;
    char canon[BIZCODE_LEN + 1], err[256];
    int rc = OK;
    json_array_foreach(v, i, c) {
        if (!json_is_string(c)) {
            json_add_error(errors, f->name, "[%zu] must be a code string", i);
            rc = ERR;
        } else if (code_check(f, json_string_value(c), canon, err, sizeof err) != OK) {
            json_add_error(errors, f->name, "[%zu] %s", i, err);
            rc = ERR;
        } else if (json_object_get(seen, canon)) {
            json_add_error(errors, f->name, "[%zu] %s is named twice", i, canon);
            rc = ERR;
        } else {
            json_object_set_new(seen, canon, json_true());
            pg_array_add(&a, canon);
        }
        if (rc != OK) break;
    }
    json_decref(seen);
    char *text = pg_array_steal(&a);
    if (rc == OK)
        *out = text;
    else
        free(text);
    return rc;
}

static char *num_text(double v)
{
    return xasprintf("%.17g", v);
}

int field_check(const field_def *f, const json_t *v, json_t *errors, char *out[2])
{
    char err[256], allowed[512];
    switch (f->type) {
    case FT_TEXT: {
        int max = f->max_len ? f->max_len : DEFAULT_MAX_LEN;
        if (!json_is_string(v)) break;
        if (json_string_length(v) > (size_t)max) {
            json_add_error(errors, f->name, "must be at most %d bytes", max);
            return ERR;
        }
        out[0] = xstrdup(json_string_value(v));
        return OK;
    }
    case FT_INT:
        if (!json_is_integer(v)) break;
        if (!range_ok(f, (double)json_integer_value(v))) {
            json_add_error(errors, f->name, "must be between %g and %g", f->min, f->max);
            return ERR;
        }
        out[0] = xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return OK;
    case FT_NUM:
        if (!json_is_number(v)) break;
        if (!range_ok(f, json_number_value(v))) {
            json_add_error(errors, f->name, "must be between %g and %g", f->min, f->max);
            return ERR;
        }
        out[0] = num_text(json_number_value(v));
        return OK;
    case FT_BOOL:
        if (!json_is_boolean(v)) break;
        out[0] = xstrdup(json_is_true(v) ? "true" : "false");
        return OK;
    case FT_ENUM:
        if (!json_is_string(v)) break;
        if (!in_list(f->values, json_string_value(v))) {
            join(f->values, allowed, sizeof allowed);
            json_add_error(errors, f->name, "must be one of: %s", allowed);
            return ERR;
        }
        out[0] = xstrdup(json_string_value(v));
        return OK;
    case FT_CODE: {
        if (!json_is_string(v)) break;
        char canon[BIZCODE_LEN + 1];
        if (code_check(f, json_string_value(v), canon, err, sizeof err) != OK) {
            json_add_error(errors, f->name, "%s", err);
            return ERR;
        }
        out[0] = xstrdup(canon);
        return OK;
    }
    case FT_LOCATION: {
        json_t *lon = json_object_get(v, "lon"), *lat = json_object_get(v, "lat");
        if (!json_is_object(v) || json_object_size(v) != 2 || !json_is_number(lon) ||
            !json_is_number(lat)) {
            json_add_error(errors, f->name,
                           "must be an object {\"lon\": number, \"lat\": number} and nothing else");
            return ERR;
        }
        double x = json_number_value(lon), y = json_number_value(lat);
        if (x < -180 || x > 180 || y < -90 || y > 90) {
            json_add_error(errors, f->name,
                           "lon must be within -180..180 and lat within -90..90 (WGS-84 degrees)");
            return ERR;
        }
        out[0] = num_text(x);
        out[1] = num_text(y);
        return OK;
    }
    case FT_TIME:
        if (!json_is_string(v)) break;
        if (!is_instant(json_string_value(v))) {
            json_add_error(errors, f->name, "must be an RFC 3339 time, e.g. 2026-12-14T08:00:00Z "
                                            "or 2026-12-14T16:00:00+08:00");
            return ERR;
        }
        out[0] = xstrdup(json_string_value(v));
        return OK;
    case FT_CODES:
        if (!json_is_array(v)) break;
        return codes_check(f, v, errors, &out[0]);
    }
    static const char *const expected[] = {"a string",  "an integer",    "a number",
                                           "a boolean", "a string",      "a code string",
                                           "an object", "a time string", "an array of codes"};
    json_add_error(errors, f->name, "must be %s, not %s", expected[f->type], json_type_name(v));
    return ERR;
}

/* "{A,B}", a text[] of codes as PostgreSQL writes it (codes need no
 * quotes), as a JSON array. */
static json_t *codes_json(const char *pg)
{
    json_t *list = json_array();
    const char *p = pg + (*pg == '{');
    while (*p && *p != '}') {
        size_t n = strcspn(p, ",}");
        json_array_append_new(list, json_stringn(p, n));
        p += n + (p[n] == ',');
    }
    return list;
}

void field_to_json(const field_def *f, const PGresult *r, int row, int col, json_t *obj)
{
    if (PQgetisnull(r, row, col)) {
        json_object_set_new(obj, f->name, json_null());
        return;
    }
    const char *s = PQgetvalue(r, row, col);
    json_t *v;
    switch (f->type) {
    case FT_INT: v = json_integer(strtoll(s, NULL, 10)); break;
    case FT_NUM: v = json_real(strtod(s, NULL)); break;
    case FT_BOOL: v = json_boolean(s[0] == 't'); break;
    case FT_LOCATION:
        v = PQgetisnull(r, row, col + 1)
                ? json_null()
                : json_pack("{s:f, s:f}", "lon", strtod(s, NULL), "lat",
                            strtod(PQgetvalue(r, row, col + 1), NULL));
        break;
    case FT_TIME: v = pg_time_json(s); break;
    case FT_CODES: v = codes_json(s); break;
    default: v = json_string(s); break;
    }
    json_object_set_new(obj, f->name, v);
}

void field_to_text(const field_def *f, const PGresult *r, int row, int col, sbuf *out)
{
    sb_json_string(out, f->name);
    sb_append(out, ":");
    if (PQgetisnull(r, row, col) || (f->type == FT_LOCATION && PQgetisnull(r, row, col + 1))) {
        sb_append(out, "null");
        return;
    }
    const char *s = PQgetvalue(r, row, col);
    switch (f->type) {
    case FT_INT: sb_json_int(out, strtoll(s, NULL, 10)); break;
    case FT_NUM: sb_json_real(out, strtod(s, NULL)); break;
    case FT_BOOL: sb_append(out, s[0] == 't' ? "true" : "false"); break;
    case FT_LOCATION:
        sb_append(out, "{\"lon\":");
        sb_json_real(out, strtod(s, NULL));
        sb_append(out, ",\"lat\":");
        sb_json_real(out, strtod(PQgetvalue(r, row, col + 1), NULL));
        sb_append(out, "}");
        break;
    case FT_TIME: pg_time_text(s, out); break;
    case FT_CODES: {
        json_t *codes = codes_json(s);
        char *text = json_text(codes);
        sb_append(out, text);
        free(text);
        json_decref(codes);
        break;
    }
    default: sb_json_string(out, s); break;
    }
}

int field_parse_filter(const field_def *f, const char *text, char **out, char *err, size_t errlen)
{
    char *end;
    switch (f->type) {
    case FT_TEXT:
        *out = xstrdup(text);
        return OK;
    case FT_INT:
        (void)strtoll(text, &end, 10);
        if (!*text || *end) break;
        *out = xstrdup(text);
        return OK;
    case FT_NUM: {
        double v = strtod(text, &end);
        if (!*text || *end || !isfinite(v)) break;
        *out = num_text(v);
        return OK;
    }
    case FT_BOOL:
        if (strcmp(text, "true") && strcmp(text, "false")) break;
        *out = xstrdup(text);
        return OK;
    case FT_ENUM:
        if (!in_list(f->values, text)) {
            char allowed[512];
            join(f->values, allowed, sizeof allowed);
            snprintf(err, errlen, "filter %s must be one of: %s", f->name, allowed);
            return ERR;
        }
        *out = xstrdup(text);
        return OK;
    case FT_CODE: {
        char canon[BIZCODE_LEN + 1], why[200];
        if (code_check(f, text, canon, why, sizeof why) != OK) {
            snprintf(err, errlen, "filter %s: %s", f->name, why);
            return ERR;
        }
        *out = xstrdup(canon);
        return OK;
    }
    case FT_CODES: {
        char canon[BIZCODE_LEN + 1], why[200];
        if (code_check(f, text, canon, why, sizeof why) != OK) {
            snprintf(err, errlen, "filter %s: %s", f->name, why);
            return ERR;
        }
        *out = xstrdup(canon);
        return OK;
    }
    case FT_TIME:
        if (!is_instant(text)) break;
        *out = xstrdup(text);
        return OK;
    case FT_LOCATION:
        snprintf(err, errlen, "%s cannot be used as a filter", f->name);
        return ERR;
    }
    snprintf(err, errlen, "filter %s: '%s' is not a valid value", f->name, text);
    return ERR;
}

/* pg in the API's form in out, or pg itself when it does not fit. */
static const char *pg_time_iso(const char *pg, char out[40])
{
    size_t n = strlen(pg);
    if (n >= 40 - 1) return pg;
    memcpy(out, pg, n + 1);
    if (n > 10 && out[10] == ' ') out[10] = 'T';
    if (n > 3 && strcmp(out + n - 3, "+00") == 0) strcpy(out + n - 3, "Z");
    return out;
}

json_t *pg_time_json(const char *pg)
{
    char out[40];
    return json_string(pg_time_iso(pg, out));
}

void pg_time_text(const char *pg, sbuf *out)
{
    char iso[40];
    sb_json_string(out, pg_time_iso(pg, iso));
}

int fields_check_members(const field_def *fields, const json_t *obj, const char *const *skip,
                         json_t *errors)
{
    size_t before = json_array_size(errors);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        int skipped = 0;
        for (const char *const *s = skip; s && *s && !skipped; s++) skipped = strcmp(*s, key) == 0;
        if (skipped) continue;
        const field_def *f = field_find(fields, key);
        char *cols[2] = {NULL, NULL};
        if (!f)
            json_add_error(errors, key, "unknown field");
        else if (!json_is_null(v))
            field_check(f, v, errors, cols);
        free(cols[0]);
        free(cols[1]);
    }
    for (const field_def *f = fields; f && f->name; f++) {
        json_t *given = json_object_get(obj, f->name);
        if ((f->flags & FF_REQUIRED) && (!given || json_is_null(given)))
            json_add_error(errors, f->name, "is required");
    }
    return json_array_size(errors) > before ? ERR : OK;
}
