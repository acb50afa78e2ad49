/* answer.c -- what a handler answers with: a body, a JSON value, a stream,
 * response headers. Each replaces any earlier answer set for the request. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/jsonutil.h"
#include "base/log.h"
#include "net/server.h"

void http_raw(request *req, int status, const char *type, char *body, size_t len)
{
    http_stream_end(req->stream);
    req->stream = NULL;
    free(req->resp_body);
    req->status = status;
    req->resp_type = type;
    req->resp_body = body;
    req->resp_len = len;
}

void http_stream(request *req, int status, const char *type, http_fill_fn fill,
                 void (*done)(void *ctx), void *ctx)
{
    http_raw(req, status, type, NULL, 0);
    req->stream = xcalloc(1, sizeof *req->stream);
    *req->stream = (struct http_stream){.fill = fill, .done = done, .ctx = ctx};
}

void http_stream_waiting(request *req, int status, const char *type, http_fill_fn fill,
                         void (*done)(void *ctx), void *ctx)
{
    http_stream(req, status, type, fill, done, ctx);
    req->stream->waits = 1;
}

void http_json(request *req, int status, json_t *body)
{
    char *text = json_text(body);
    json_decref(body);
    http_raw(req, status, "application/json", text, strlen(text));
}

void http_header(request *req, const char *name, const char *value)
{
    for (int i = 0; i < req->nheaders; i++) {
        if (strcasecmp(req->headers[i].name, name) == 0) {
            free(req->headers[i].value);
            req->headers[i].value = xstrdup(value);
            return;
        }
    }
    if (req->nheaders == HTTP_MAX_RESP_HEADERS) {
        log_error("too many response headers; dropped %s", name);
        return;
    }
    req->headers[req->nheaders].name = xstrdup(name);
    req->headers[req->nheaders].value = xstrdup(value);
    req->nheaders++;
}

void http_header_remove(request *req, const char *name)
{
    for (int i = 0; i < req->nheaders; i++) {
        if (strcasecmp(req->headers[i].name, name) != 0) continue;
        free(req->headers[i].name);
        free(req->headers[i].value);
        req->headers[i] = req->headers[--req->nheaders];
        return;
    }
}
