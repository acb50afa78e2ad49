/* events_state.h -- what the parts of the event feed share (events.h):
 * the daemon's state (svc->events), the tail the listener fills and the
 * streams copy from, and the checks both reads make. Within events*.c only.
 *
 *   events.c         GET /v1/events, the routes, pruning, start and stop
 *   events_query.c   ?types=, sequence numbers, the pruning horizon (410)
 *   events_tail.c    the newest events as frames ready to send
 *   events_stream.c  GET /v1/events/stream: a client following the events
 *   events_listen.c  the thread that follows commits and fills the tail */
#ifndef EVENTS_STATE_H
#define EVENTS_STATE_H

#include <pthread.h>

#include "engine/context.h"

#define TAIL_EVENTS 4096       /* the tail holds at most these events */
#define TAIL_BYTES (16u << 20) /* and these bytes of frames */
#define TAIL_BATCH 500         /* events the listener reads at once */

/* An event of the tail: its frame as sent. */
typedef struct {
    long long seq;
    long long pruned; /* the horizon when it was read */
    char *type;
    char *frame; /* "id: ...\nevent: ...\ndata: {...}\n\n" */
    size_t len;
    size_t event_at, event_len; /* where its "event: ...\n" line is: left out for
                                   streams that ask ?named=false */
} tail_event;

/* svc->events: the pruning thread, the listener and the tail it reads. */
typedef struct {
    service *svc;
    pthread_t pruner;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stopping, pruning;

    pthread_t listener;
    int listening; /* the thread runs */
    int stop_fd;   /* an eventfd: written to stop the listener */
    /* The tail: every event after base up to last, oldest first, in a ring
     * of TAIL_EVENTS; under tail_mu. Written by the listener only. */
    pthread_mutex_t tail_mu;
    tail_event ring[TAIL_EVENTS];
    int start, n;
    size_t bytes;
    long long base, last;
    int valid;        /* base and last are known (the listener read them once) */
} events_state;

/* ---- events_query.c ---- */

/* ?types=a,b as "{a,b}" into *out (NULL: all types). ERR after answering. */
int events_types_param(request *req, char **out);
/* 410 when events after `after` have been pruned: the reader would miss
 * some; the answer names where it can resume. ERR after answering. */
int events_still_kept(request *req, db_conn *c, long long after);

/* ---- events_tail.c ---- */

/* Where "from now" starts: the newest event, or the horizon when none is left. */
extern const char EVENTS_SQL_NEWEST[];
/* The same row as a server-sent event's frame, appended to out; without
 * its "event:" line unless named (a browser's EventSource then hands every
 * frame to onmessage). */
void events_frame(sbuf *out, const PGresult *r, int row, int named);
/* A frame of the tail appended to out, named or not (events_frame). */
void events_tail_copy(sbuf *out, const tail_event *t, int named);
/* The listener's part: what committed since its last read, into the tail,
 * on its own connection. ERR when the connection failed. */
int events_tail_read(events_state *ev, PGconn *pg);
/* Where the tail starts when the listener first connects: now. */
int events_tail_start(events_state *ev, PGconn *pg);
void events_tail_free(events_state *ev);
/* Index in the ring of the first event after seq (n when none); with
 * tail_mu held. */
int events_tail_first_after(const events_state *ev, long long seq);

/* ---- events_stream.c ---- */

/* GET /v1/events/stream (ctx: the service). */
void events_stream(request *req, void *ctx);

#endif
