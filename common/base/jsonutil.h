/* jsonutil.h -- small helpers on top of jansson. */
#ifndef JSONUTIL_H
#define JSONUTIL_H

#include <jansson.h>
#include <stddef.h>

#include "base/core.h"

/* Every JSON we write is compact; json_text picks the real precision. */
#define JSON_OUT_FLAGS JSON_COMPACT

/* Parses a request body that must be one JSON object. Rejects duplicate
 * keys. On failure returns NULL and writes a message for the client. */
json_t *json_parse_object(const char *buf, size_t len, char *err, size_t errlen);

/* RFC 7396 JSON merge patch: a new value, inputs untouched. */
json_t *json_merge_patch(const json_t *target, const json_t *patch);

/* Serialises compactly with the fewest significant digits (15 to 17) that
 * let every number in v read back as exactly the same double: 0.4 is
 * written 0.4, and 169.98275531098247 keeps all its digits. Never NULL. */
char *json_text(const json_t *v);

/* Append to b a value as json_text writes it, without building a JSON tree:
 * a string with jansson's escapes, an integer, and a number with the fewest
 * digits (15 to 17) that read back as the same double (null if it is not
 * finite, for JSON has no such number). */
void sb_json_string(sbuf *b, const char *s);
void sb_json_int(sbuf *b, long long v);
void sb_json_real(sbuf *b, double d);

/* The string member key of o, or NULL when o, the member or its string is missing. */
const char *json_str(const json_t *o, const char *key);

/* Name of a JSON type for messages ("string", "number", ...). */
const char *json_type_name(const json_t *v);

/* Makes s valid UTF-8 in place: each byte that starts no valid sequence
 * (including one cut short by truncation) becomes '?'. */
void utf8_clean(char *s);

/* Appends {"field": field, "message": message} to the array errors;
 * field may be NULL for a problem of the whole object (then null). */
void json_add_error(json_t *errors, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A configuration file holding one JSON value (duplicate keys refused):
 * NULL with "path:line: why" in err when it cannot be read. */
json_t *json_load_config(const char *path, char *err, size_t errlen);
/* Copies a JSON array of strings into *out (NULL-terminated, *n of them);
 * ERR if it is not one (what was copied is still in *out: free it). */
int json_string_list(json_t *arr, char ***out, int *n);
void string_list_free(char **list, int n);

#endif
