/* statics.h -- a directory of static files (the console) read into memory
 * once at start, and served from there: a request never touches the
 * filesystem, so no path it names can reach outside the directory. */
#ifndef STATICS_H
#define STATICS_H

#include <stddef.h>

#include "net/http.h"

#define STATICS_MAX_FILES 1000
#define STATICS_MAX_BYTES (8u << 20) /* in all */
#define STATICS_MAX_DEPTH 8          /* folders within folders */

typedef struct statics statics;

/* Every regular file under dir with a name statics_name_ok takes (others,
 * and symbolic links leading out of dir, are left out with a warning).
 * NULL, with why, when dir cannot be read or holds more than the limits. */
statics *statics_load(const char *dir, char *why, size_t whylen);
void statics_free(statics *s);
int statics_count(const statics *s);

/* Answers a GET or HEAD of rel (relative to the directory; "" or a name
 * ending in '/' means its index.html): 200 with the file, 304 when
 * If-None-Match names its ETag, 404 problem+json otherwise. s NULL: the
 * files are not installed (404 saying so). Every answer carries the
 * headers of statics_security_headers. */
void statics_answer(request *req, const statics *s, const char *rel);
/* 308 to location, with the same headers. */
void statics_redirect(request *req, const char *location);

/* ---- the pure parts, for tests ---- */

/* The Content-Type of a file by its name's extension (charset=utf-8 for
 * text); application/octet-stream when it is not known. */
const char *statics_content_type(const char *name);
/* Is rel a name a file may be served under: segments of letters, digits,
 * '.', '-', '_', none empty, none starting with '.' (so no "..", no hidden
 * file), no more than ROUTE_PARAM_MAX bytes in all. */
int statics_name_ok(const char *rel);
/* Does an If-None-Match value ("*", or a list of entity tags, weak or
 * not) name etag? */
int statics_etag_matches(const char *if_none_match, const char *etag);

#endif
