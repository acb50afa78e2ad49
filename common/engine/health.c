/* health.c -- see health.h. */
#include "engine/health.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/core.h"
#include "base/log.h"
#include "engine/context.h"
#include "base/waits.h"

#define INTERVAL_S 1

struct health {
    service *svc;
    pthread_t thread;
    int running;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stopping;
    /* the last check, under mu */
    health_report last;
    double checked_at; /* now_monotonic() when its database check began */
};

static const char *database_state(service *svc)
{
    db_acquire_status st;
    db_conn *c = db_acquire(svc->db, &st);
    if (!c) return st == DB_ACQ_BUSY ? "busy" : "down";
    PGresult *r = db_exec(c, "SELECT 1", 0, NULL);
    const char *state = db_ok(r) ? "ok" : "down";
    PQclear(r);
    db_release(svc->db, c);
    return state;
}

static const char *peer_state(service *svc)
{
    peer_response pr;
    peer_caller who = {0};
    peer_call(svc->peer_probe, "GET", "/healthz", &who, NULL, 0, &pr);
    const char *state = pr.error == PEER_OK && pr.status == 200 ? "ok" : "unreachable";
    peer_response_free(&pr);
    return state;
}

static void check(health *h)
{
    double began = now_monotonic();
    health_report now = {database_state(h->svc), replica_readiness(h->svc->reads),
                         peer_state(h->svc)};
    pthread_mutex_lock(&h->mu);
    h->last = now;
    h->checked_at = began;
    pthread_mutex_unlock(&h->mu);
}

static void *health_main(void *arg)
{
    health *h = arg;
    waits_allow_peer(1); /* it holds nothing the peer could need */
    pthread_mutex_lock(&h->mu);
    while (!h->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += INTERVAL_S;
        while (!h->stopping && pthread_cond_timedwait(&h->cv, &h->mu, &until) == 0) {
        }
        if (h->stopping) break;
        pthread_mutex_unlock(&h->mu);
        check(h);
        pthread_mutex_lock(&h->mu);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

health *health_start(service *svc)
{
    health *h = xcalloc(1, sizeof *h);
    h->svc = svc;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    waits_allow_peer(1);
    check(h); /* the first probe already has an answer */
    waits_allow_peer(0);
    h->running = pthread_create(&h->thread, NULL, health_main, h) == 0;
    if (!h->running) log_error("no readiness thread: /readyz keeps its first answer");
    return h;
}

void health_stop(health *h)
{
    if (!h) return;
    if (h->running) {
        pthread_mutex_lock(&h->mu);
        h->stopping = 1;
        pthread_cond_signal(&h->cv);
        pthread_mutex_unlock(&h->mu);
        pthread_join(h->thread, NULL);
    }
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    free(h);
}

void health_read(health *h, health_report *out)
{
    pthread_mutex_lock(&h->mu);
    *out = h->last;
    double checked_at = h->checked_at;
    pthread_mutex_unlock(&h->mu);
    db_stats ds;
    db_pool_stats(h->svc->db, &ds);
    if (ds.last_failure > checked_at) out->database = "down";
    out->replica = replica_state_now(h->svc->reads, out->replica);
}
