/* http.h -- the HTTP server on libmicrohttpd: requests, responses,
 * problem+json errors, request logging and graceful shutdown. */
#ifndef HTTP_H
#define HTTP_H

#include <jansson.h>
#include <stddef.h>

#include "net/auth.h"
#include "base/core.h"
#include "net/router.h"

struct MHD_Connection;
typedef struct http_server http_server;
typedef struct metrics metrics;

typedef struct resp_header {
    char *name, *value;
} resp_header;

#define HTTP_MAX_RESP_HEADERS 8

struct request {
    http_server *server;
    struct MHD_Connection *conn;
    const char *method;
    char *path;
    route_match match;     /* route and path parameters */
    const app_entry *app;  /* the caller; NULL on public routes */
    char id[65];           /* request id, echoed as X-Request-Id */
    int hop;               /* crossings between the platforms so far (PEER_HOP_HEADER) */
    double started;
    double queued_at;      /* handed to a worker queue (bodies may take long to arrive) */
    int holds_bulk;        /* counted in the server's bulk bodies in flight */
    sbuf body;
    int body_too_large;
    json_t *json; /* parsed body for ROUTE_BODY_JSON routes (owned) */

    match_result matched;  /* routed on the first call, to know the body limit */
    size_t body_limit;
    struct http_stream *stream; /* a streamed answer instead of resp_body (owned) */
    int offloaded;       /* handed to a worker; the connection is suspended */
    int queued;          /* the answer is with MHD */
    struct request *next_job;

    int status;
    char *resp_body; /* owned */
    size_t resp_len;
    const char *resp_type;
    resp_header headers[HTTP_MAX_RESP_HEADERS];
    int nheaders;
};

typedef struct http_config {
    const char *service;   /* "grid-svc": stamped on logs */
    const char *bind_addr; /* "127.0.0.1", "0.0.0.0" */
    int port;              /* 0 picks a free port: see http_port */
    int threads;       /* I/O threads, each with its own epoll */
    int peer_workers;  /* threads for ROUTE_PEER handlers, for each of hops 0 and 1 */
    int local_workers; /* threads for ROUTE_SLOW handlers */
    int max_connections; /* open at once; more wait in the listen queue */
    size_t body_limit;
    size_t bulk_limit; /* for ROUTE_BODY_BULK routes */
    const auth *auth;
    metrics *metrics;
} http_config;

http_server *http_start(const http_config *cfg, router *r);
int http_port(const http_server *s);
int http_draining(const http_server *s);
/* From now on /readyz says 503 and answers ask for Connection: close, while
 * new connections are still taken (so a load balancer can notice). */
void http_begin_drain(http_server *s);
/* Stops accepting, lets in-flight requests finish (up to timeout_s), stops. */
void http_shutdown(http_server *s, double timeout_s);

/* Request accessors. */
const char *http_query(request *req, const char *key);
const char *http_header_in(request *req, const char *name);
/* Calls fn for each query argument; stops early when fn returns ERR. */
int http_query_foreach(request *req, int (*fn)(void *ctx, const char *key, const char *value),
                       void *ctx);
/* Each query argument is one the route declares (route.query); otherwise
 * 400 naming those, and ERR. The declaration that documents the route is
 * the one that checks it. */
int http_query_declared(request *req);
const char *http_param(request *req, int i); /* i-th path parameter */
/* A ?limit= value: an integer from 1 to max into *limit; ERR after
 * answering 400. */
int http_limit(request *req, const char *value, int max, int *limit);
/* ?limit= (1..max, default dflt) and a numeric ?after= cursor (default 0);
 * ERR after answering 400. */
int http_paging(request *req, int dflt, int max, int *limit, long long *after);

/* Responses. Each replaces any earlier one set for the request. */
void http_json(request *req, int status, json_t *body);                       /* steals body */
void http_raw(request *req, int status, const char *type, char *body, size_t len); /* steals */
void http_header(request *req, const char *name, const char *value);          /* copies */
/* A streamed answer: fill writes up to max bytes into buf and returns how
 * many, 0 at the end, or -1 to abort the stream (the client sees it cut
 * short); done frees ctx when the answer is over, however it ended. fill
 * runs on the connection's I/O thread. */
typedef long (*http_fill_fn)(void *ctx, char *buf, size_t max);
void http_stream(request *req, int status, const char *type, http_fill_fn fill,
                 void (*done)(void *ctx), void *ctx);
/* A stream that waits for things to happen (server-sent events). Its fill
 * may also return HTTP_FILL_WAIT: nothing to send now. The connection is
 * then suspended -- no thread waits for it and no timeout runs -- until the
 * next http_wake_streams; fill is called again after it. A wake that comes
 * while fill runs is not lost: fill is called again at once. When the
 * server stops, these streams end (fill is no longer called), so that they
 * do not hold up the drain. */
#define HTTP_FILL_WAIT (-2L)
void http_stream_waiting(request *req, int status, const char *type, http_fill_fn fill,
                         void (*done)(void *ctx), void *ctx);
/* Calls the fill of every waiting stream again (from any thread). */
void http_wake_streams(http_server *s);
void http_problem(request *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 400-style problem with errors: [{field, message}] (errors stolen). */
void http_problem_errors(request *req, int status, json_t *errors, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Problem with extra members merged in (extra stolen). */
void http_problem_extra(request *req, int status, json_t *extra, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

const char *http_reason(int status);

#endif
