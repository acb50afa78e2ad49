/* problem.c -- problem+json answers (RFC 9457) and the reason phrases of the
 * statuses we answer with. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/jsonutil.h"
#include "net/server.h"

const char *http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 428: return "Precondition Required";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 508: return "Loop Detected";
    }
    return "Error";
}

static const char *problem_slug(int status)
{
    switch (status) {
    case 400: return "bad-request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not-found";
    case 405: return "method-not-allowed";
    case 409: return "conflict";
    case 410: return "gone";
    case 412: return "precondition-failed";
    case 413: return "content-too-large";
    case 414: return "uri-too-long";
    case 415: return "unsupported-media-type";
    case 421: return "wrong-platform";
    case 422: return "unprocessable";
    case 428: return "precondition-required";
    case 431: return "header-fields-too-large";
    case 502: return "peer-unavailable";
    case 503: return "unavailable";
    case 504: return "peer-timeout";
    case 508: return "loop-detected";
    }
    return status >= 500 ? "internal" : "error";
}

static void problem_v(request *req, int status, json_t *extra, const char *fmt, va_list ap)
{
    char detail[1024];
    vsnprintf(detail, sizeof detail, fmt, ap);
    utf8_clean(detail); /* it may quote headers, paths or a value cut short */
    /* What a success answer had set does not belong on an error. */
    http_header_remove(req, "ETag");
    http_header_remove(req, "Location");
    char type[64];
    snprintf(type, sizeof type, "urn:yingpei:problem:%s", problem_slug(status));
    json_t *p = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", type, "title", http_reason(status),
                          "status", status, "detail", detail, "instance", req->path);
    if (extra) {
        if (p) json_object_update(p, extra);
        json_decref(extra);
    }
    if (!p) p = json_pack("{s:s, s:i}", "title", http_reason(status), "status", status);
    char *text = json_text(p);
    json_decref(p);
    http_raw(req, status, "application/problem+json", text, strlen(text));
}

void http_problem(request *req, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    problem_v(req, status, NULL, fmt, ap);
    va_end(ap);
}

void http_problem_errors(request *req, int status, json_t *errors, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *extra = json_object();
    json_object_set_new(extra, "errors", errors);
    problem_v(req, status, extra, fmt, ap);
    va_end(ap);
}

void http_problem_extra(request *req, int status, json_t *extra, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    problem_v(req, status, extra, fmt, ap);
    va_end(ap);
}
