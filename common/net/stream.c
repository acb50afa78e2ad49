/* stream.c -- streamed answers once libmicrohttpd holds them: their reader,
 * and the waiting streams (server-sent events), which suspend their
 * connection when they have nothing to send until http_wake_streams. */
#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>

#include "net/server.h"

/* A waiting stream joins its server's list when MHD takes the answer, and
 * leaves it when MHD frees the answer (the client went away, the stream
 * ended, or the server stops): the list never names a freed connection. */
void http_stream_link(http_server *s, struct http_stream *st, struct MHD_Connection *conn)
{
    pthread_mutex_lock(&s->streams_mu);
    st->server = s;
    st->conn = conn;
    st->next = s->streams;
    if (s->streams) s->streams->prev = st;
    s->streams = st;
    pthread_mutex_unlock(&s->streams_mu);
}

static void stream_unlink(struct http_stream *st)
{
    http_server *s = st->server;
    pthread_mutex_lock(&s->streams_mu);
    if (st->prev)
        st->prev->next = st->next;
    else
        s->streams = st->next;
    if (st->next) st->next->prev = st->prev;
    pthread_mutex_unlock(&s->streams_mu);
}

void http_stream_end(struct http_stream *st)
{
    if (!st) return;
    if (st->server) stream_unlink(st);
    st->done(st->ctx);
    free(st);
}

/* Resumes the suspended ones; with streams_mu held. Resuming only what is
 * marked suspended keeps each MHD_resume_connection paired with one
 * MHD_suspend_connection, as MHD requires. */
static void resume_streams(http_server *s)
{
    s->streams_gen++;
    for (struct http_stream *st = s->streams; st; st = st->next) {
        if (!st->suspended) continue;
        st->suspended = 0;
        MHD_resume_connection(st->conn);
    }
}

void http_wake_streams(http_server *s)
{
    pthread_mutex_lock(&s->streams_mu);
    resume_streams(s);
    pthread_mutex_unlock(&s->streams_mu);
}

/* From now on waiting streams end instead of waiting (see waiting_read). */
void http_streams_end(http_server *s)
{
    pthread_mutex_lock(&s->streams_mu);
    s->streams_closing = 1;
    resume_streams(s);
    pthread_mutex_unlock(&s->streams_mu);
}

static ssize_t fill_result(long n)
{
    if (n > 0) return n;
    return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
}

/* A waiting stream's reader. Returning 0 makes MHD call again at once, so 0
 * goes only with a suspended connection. The wake count is read before
 * fill looks for something to send and checked again, under the lock the
 * waker takes, before suspending: a wake in between means fill may have
 * looked too early, so it looks again instead of sleeping through it. */
static ssize_t waiting_read(struct http_stream *st, char *buf, size_t max)
{
    http_server *s = st->server;
    for (;;) {
        pthread_mutex_lock(&s->streams_mu);
        unsigned long gen = s->streams_gen;
        int closing = s->streams_closing;
        pthread_mutex_unlock(&s->streams_mu);
        if (closing) return MHD_CONTENT_READER_END_OF_STREAM;
        long n = st->fill(st->ctx, buf, max);
        if (n != HTTP_FILL_WAIT) return fill_result(n);
        pthread_mutex_lock(&s->streams_mu);
        int asleep = !s->streams_closing && s->streams_gen == gen;
        if (asleep) {
            /* MHD allows this from within its content reader. */
            MHD_suspend_connection(st->conn);
            st->suspended = 1;
        }
        pthread_mutex_unlock(&s->streams_mu);
        if (asleep) return 0;
    }
}

ssize_t http_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct http_stream *st = cls;
    if (st->waits) return waiting_read(st, buf, max);
    long n = st->fill(st->ctx, buf, max);
    return fill_result(n == HTTP_FILL_WAIT ? -1 : n);
}

void http_stream_free(void *cls)
{
    http_stream_end(cls);
}
