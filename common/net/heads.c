/* heads.c -- request heads over our limits, answered 414 or 431 with a
 * problem rather than by libmicrohttpd (see the limits in server.h). */
#include <microhttpd.h>
#include <string.h>

#include "net/server.h"

/* Markers given to on_request as its context by http_target_seen. */
static char target_too_long, too_many_params;

int http_head_marker(const void *p)
{
    return p == &target_too_long || p == &too_many_params;
}

/* libmicrohttpd calls this with the request target as soon as it has read
 * it, and only then records each query parameter, in the connection's own
 * memory: thousands of them (a 17 KB query of short ones) would not fit, and
 * it would close the connection without an answer. So a target over our
 * limits loses its parameters here, in libmicrohttpd's buffer, where it
 * reads them from next (the text after the '?'), and is answered 414. */
void *http_target_seen(void *cls, const char *uri, struct MHD_Connection *c)
{
    char *query = strchr(uri, '?');
    size_t params = 0;
    for (const char *p = query; p && *p; p++) params += *p == '?' || *p == '&';
    void *marker = strlen(uri) > TARGET_MAX     ? &target_too_long
                   : params > QUERY_PARAMS_MAX ? &too_many_params
                                               : NULL;
    if (marker && query) query[1] = '\0';
    return marker;
}

typedef struct {
    size_t count, bytes;
} head_size;

static enum MHD_Result add_header_size(void *cls, enum MHD_ValueKind kind, const char *key,
                                       const char *value)
{
    head_size *h = cls;
    h->count++;
    h->bytes += strlen(key) + (value ? strlen(value) : 0) + 4; /* ": " and CRLF */
    return MHD_YES;
}

/* OK, or ERR after answering 414 or 431 for a head over our limits. */
int http_head_fits(request *req, void *marker)
{
    if (marker == &target_too_long) {
        http_problem(req, 414, "the request target (path and query) is longer than %d bytes",
                     TARGET_MAX);
        return ERR;
    }
    if (marker == &too_many_params) {
        http_problem(req, 414, "the query has more than %d parameters", QUERY_PARAMS_MAX);
        return ERR;
    }
    head_size h = {0, 0};
    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, add_header_size, &h);
    if (h.count <= HEADERS_MAX && h.bytes <= HEADER_BYTES_MAX) return OK;
    http_problem(req, 431, "the request has %zu header fields of %zu bytes; at most %d of %u "
                           "bytes are read", h.count, h.bytes, HEADERS_MAX, HEADER_BYTES_MAX);
    return ERR;
}
