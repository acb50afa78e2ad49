/* jsonutil.h -- small helpers on top of jansson. */
#ifndef JSONUTIL_H
#define JSONUTIL_H

#include <jansson.h>
#include <stddef.h>

/* Every JSON we write: compact, reals with 15 significant digits so that a
 * stored 0.4 is written back as 0.4. */
#define JSON_OUT_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

/* Parses a request body that must be one JSON object. Rejects duplicate
 * keys. On failure returns NULL and writes a message for the client. */
json_t *json_parse_object(const char *buf, size_t len, char *err, size_t errlen);

/* RFC 7396 JSON merge patch: a new value, inputs untouched. */
json_t *json_merge_patch(const json_t *target, const json_t *patch);

/* Serialises with JSON_OUT_FLAGS; never NULL (aborts on out of memory). */
char *json_text(const json_t *v);

/* Name of a JSON type for messages ("string", "number", ...). */
const char *json_type_name(const json_t *v);

/* Appends {"field": field, "message": message} to the array errors. */
void json_add_error(json_t *errors, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
