/* workers.c -- the worker queues: requests whose handler would stall an I/O
 * thread are suspended and run here (see http.c for which and why), one
 * queue per hop for those that wait on the peer (base/waits.h) and one for
 * those that take long on our own database. */
#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>

#include "base/waits.h"
#include "net/server.h"

/* A job that waited longer than this was given up by its client, or the
 * workers are saturated: answer it at once rather than run it late. */
#define JOB_MAX_WAIT_S 10.0
#define JOB_QUEUE_MAX 4096

static void *worker_main(void *arg)
{
    job_queue *q = arg;
    http_server *s = q->server;
    /* Peer workers hold nothing the peer's answer may need (waits.h). */
    waits_allow_peer(q->may_wait_on_peer);
    for (;;) {
        pthread_mutex_lock(&q->mu);
        while (!q->head && !q->stopping) pthread_cond_wait(&q->cv, &q->mu);
        request *req = q->head;
        if (!req) { /* stopping, and nothing left to do */
            pthread_mutex_unlock(&q->mu);
            return NULL;
        }
        q->head = req->next_job;
        if (!q->head) q->tail = NULL;
        q->n--;
        int stopping = q->stopping;
        pthread_mutex_unlock(&q->mu);
        if (stopping) {
            http_problem(req, 503, "the service is shutting down; retry on another instance");
        } else if (now_monotonic() - req->queued_at > JOB_MAX_WAIT_S) {
            http_header(req, "Retry-After", "1");
            http_problem(req, 503, "too busy: the request waited %.0f s for a %s", JOB_MAX_WAIT_S,
                         q->name);
        } else if (http_prepare(s, req)) {
            http_run_handler(req);
        }
        MHD_resume_connection(req->conn); /* MHD calls on_request again to send it */
    }
}

/* The queue a request runs from, NULL for its I/O thread (waits.h says why
 * the hop picks the queue); ERR answered (508) for a request that may not
 * wait on the peer at its hop. */
int http_queue_of(http_server *s, request *req, job_queue **q)
{
    unsigned flags = req->match.route->flags;
    *q = NULL;
    if (flags & ROUTE_PEER) {
        if (req->hop >= NQUEUES_PEER) {
            http_problem(req, 508, "the request has crossed between the platforms %d times; "
                                   "%s would have to ask its peer again", req->hop,
                         s->cfg.service);
            return ERR;
        }
        *q = &s->queues[Q_PEER + req->hop];
    } else if (flags & ROUTE_SLOW) {
        *q = &s->queues[Q_LOCAL];
    }
    return OK;
}

/* Hands req to q's workers; ERR (answered) when they cannot take it. The
 * body is parsed there, not on the I/O thread. */
int http_offload(job_queue *q, request *req)
{
    pthread_mutex_lock(&q->mu);
    if (q->stopping || q->n >= JOB_QUEUE_MAX) {
        int stopping = q->stopping;
        pthread_mutex_unlock(&q->mu);
        http_header(req, "Retry-After", "1");
        http_problem(req, 503, stopping ? "the service is shutting down; retry on another instance"
                                        : "too many requests are waiting for a %s; retry shortly",
                     q->name);
        return ERR;
    }
    req->offloaded = 1;
    req->queued_at = now_monotonic();
    MHD_suspend_connection(req->conn);
    if (q->tail)
        q->tail->next_job = req;
    else
        q->head = req;
    q->tail = req;
    q->n++;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return OK;
}

static void start_queue(http_server *s, job_queue *q, const char *name, int threads,
                        int may_wait_on_peer)
{
    *q = (job_queue){.server = s, .name = name, .may_wait_on_peer = may_wait_on_peer};
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    q->nthreads = threads > 0 ? threads : 1;
    q->threads = xcalloc((size_t)q->nthreads, sizeof *q->threads);
    for (int i = 0; i < q->nthreads; i++) pthread_create(&q->threads[i], NULL, worker_main, q);
}

void http_workers_start(http_server *s)
{
    start_queue(s, &s->queues[Q_PEER], "peer worker", s->cfg.peer_workers, 1);
    start_queue(s, &s->queues[Q_PEER + 1], "peer worker (hop 1)", s->cfg.peer_workers, 1);
    start_queue(s, &s->queues[Q_LOCAL], "local worker", s->cfg.local_workers, 0);
}

/* After this, http_offload answers 503 itself; queued jobs are answered 503 and
 * resumed, so no connection stays suspended when MHD stops. */
static void stop_queue(job_queue *q)
{
    if (!q->threads) return;
    pthread_mutex_lock(&q->mu);
    q->stopping = 1;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    for (int i = 0; i < q->nthreads; i++) pthread_join(q->threads[i], NULL);
    free(q->threads);
    q->threads = NULL;
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
}

void http_workers_stop(http_server *s)
{
    for (int i = 0; i < NQUEUES; i++) stop_queue(&s->queues[i]);
}
