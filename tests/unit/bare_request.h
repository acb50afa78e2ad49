/* bare_request.h -- a request as the server hands it to a handler, with no
 * server, connection or database behind it: for unit tests of what handlers
 * answer (not a test itself). */
#ifndef BARE_REQUEST_H
#define BARE_REQUEST_H

#include <stdio.h>
#include <stdlib.h>

#include "base/core.h"
#include "net/http.h"

static inline request *bare_request(const char *path)
{
    request *req = xcalloc(1, sizeof *req);
    req->path = xstrdup(path);
    snprintf(req->id, sizeof req->id, "test-1");
    return req;
}

static inline void bare_request_free(request *req)
{
    free(req->path);
    free(req->resp_body);
    for (int i = 0; i < req->nheaders; i++) {
        free(req->headers[i].name);
        free(req->headers[i].value);
    }
    free(req);
}

#endif
