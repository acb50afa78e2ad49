/* server.h -- the HTTP server's own state, and what the files that make it
 * up share (http.c, answer.c, problem.c, request.c, heads.c, stream.c,
 * dispatch.c, workers.c). Not for the server's users: they include
 * net/http.h. */
#ifndef NET_SERVER_H
#define NET_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "net/http.h"

struct MHD_Connection;

/* The request head: libmicrohttpd reads it into a fixed amount of memory
 * per connection (HEAD_POOL_BYTES), and refuses on its own, with a page of
 * HTML, a head that does not fit. Heads within our limits below fit with
 * room to spare, so a head that breaks them but fits (a target of 40 KB, a
 * header of 40 KB) is refused by us, with a problem. No larger: libmicrohttpd
 * 0.9 clears the whole of it after every request, and at 128 KiB that
 * clearing was most of a point read's instructions (it served 0.75 of the
 * bare server's rate; 0.96 at 64 KiB). */
#define HEAD_POOL_BYTES (64u << 10)
#define TARGET_MAX 32768       /* bytes of the request target: path and query (a peer's
                                  look-up of 400 codes takes 12 KB) */
#define QUERY_PARAMS_MAX 256
#define HEADERS_MAX 100
#define HEADER_BYTES_MAX (16u << 10)

/* A queue of suspended requests and the threads that run them. */
typedef struct job_queue {
    http_server *server;
    const char *name; /* "peer worker": for answers when it is full */
    int may_wait_on_peer;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    request *head, *tail;
    int n;
    int stopping;
    pthread_t *threads;
    int nthreads;
} job_queue;

/* Requests that wait on the peer run from Q_PEER + their hop (waits.h);
 * those that take long without waiting on it, from Q_LOCAL. */
enum { Q_PEER = 0, NQUEUES_PEER = 2, Q_LOCAL = NQUEUES_PEER, NQUEUES };

struct http_server {
    struct MHD_Daemon *d;
    http_config cfg;
    router *router;
    atomic_int active;
    atomic_int draining; /* unready: answers ask clients to close */
    atomic_int closing;  /* stopping: new requests get 503 */
    atomic_int bulk_bodies; /* requests with a bulk body admitted (admit_bulk) */
    atomic_ulong next_id;
    char id_prefix[9];
    int port;

    job_queue queues[NQUEUES];

    /* Hands freed memory back to the system off the I/O threads. */
    pthread_t trimmer;
    pthread_mutex_t trim_mu;
    pthread_cond_t trim_cv;
    int trim_wanted, trim_stopping, trimming;

    /* Waiting streams that MHD holds (http_stream_waiting). */
    pthread_mutex_t streams_mu;
    struct http_stream *streams;
    unsigned long streams_gen; /* bumped by each wake */
    int streams_closing;       /* the server stops: end them */
};

struct http_stream {
    http_fill_fn fill;
    void (*done)(void *ctx);
    void *ctx;
    int waits; /* may answer HTTP_FILL_WAIT */
    /* Set once MHD holds a waiting stream; the rest under streams_mu. */
    http_server *server;
    struct MHD_Connection *conn;
    int suspended;
    struct http_stream *prev, *next;
};


/* stream.c: streamed answers once MHD holds them */
void http_stream_end(struct http_stream *st); /* ends it (done) and frees it; NULL is ignored */
/* A waiting stream joins its server's list as MHD takes the answer. */
void http_stream_link(http_server *s, struct http_stream *st, struct MHD_Connection *conn);
ssize_t http_stream_read(void *cls, uint64_t pos, char *buf, size_t max); /* MHD's reader */
void http_stream_free(void *cls);                                       /* MHD's free */
/* From now on waiting streams end instead of waiting. */
void http_streams_end(http_server *s);

/* answer.c */
void http_header_remove(request *req, const char *name);

/* heads.c: heads over our limits (414, 431) */
/* libmicrohttpd's URI log callback: a marker for a target over our limits, else NULL. */
void *http_target_seen(void *cls, const char *uri, struct MHD_Connection *c);
int http_head_marker(const void *p); /* is p such a marker? */
/* OK, or ERR after answering 414 or 431 for a head over our limits. */
int http_head_fits(request *req, void *marker);

/* dispatch.c: from a routed request to its handler's answer */
int http_method_has_body(const char *m);
/* The caller of a non-public route; ERR after answering 401. */
int http_authenticate(http_server *s, request *req);
/* Routing, authentication and the body: the route to run, or NULL when the
 * request is answered already. */
const route *http_prepare(http_server *s, request *req);
void http_run_handler(request *req);

/* workers.c: the worker queues */
/* The queue a request runs from, NULL for its I/O thread; ERR answered (508)
 * for a request that may not wait on the peer at its hop. */
int http_queue_of(http_server *s, request *req, job_queue **q);
/* Hands req to q's workers; ERR (answered) when they cannot take it. */
int http_offload(job_queue *q, request *req);
void http_workers_start(http_server *s);
/* Queued jobs are answered 503 and resumed, so no connection stays
 * suspended when MHD stops. */
void http_workers_stop(http_server *s);

#endif
