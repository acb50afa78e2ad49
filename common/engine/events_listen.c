/* events_listen.c -- the listener (events_state.h): one thread per daemon
 * holds its own connection, LISTENs on 'events' (004_event_order.sql
 * notifies on each commit that recorded events) and, on each notification,
 * reads what committed since its last read into the tail (events_tail.c),
 * once for every stream. Then it wakes every waiting stream, as it does
 * every quarter heartbeat interval so that idle streams send heartbeats. */
#include "engine/events.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "base/log.h"
#include "engine/events_state.h"

#define CONNECT_TIMEOUT_S 5.0 /* for the listener's connection */
#define BACKOFF_MAX_S 10.0    /* between the listener's reconnection attempts */

typedef struct {
    PGconn *pg;
    int connecting;                    /* PQconnectPoll under way */
    PostgresPollingStatusType waiting; /* for it: reading or writing */
    double give_up_at, retry_at, backoff;
} listen_conn;

/* Something may have committed: every stream reads again. */
static void lost(listen_conn *lc, const char *why);
static void drain(events_state *ev, listen_conn *lc);

/* Something may have committed: the tail reads it, once for every
 * stream, and every stream looks. */
static void notified(events_state *ev, listen_conn *lc)
{
    if (events_tail_read(ev, lc->pg) != OK && PQstatus(lc->pg) != CONNECTION_OK) {
        lost(lc, "connection lost");
        return;
    }
    if (ev->svc->http) http_wake_streams(ev->svc->http);
}

static void lost(listen_conn *lc, const char *why)
{
    char msg[256];
    snprintf(msg, sizeof msg, "%s", lc->pg ? PQerrorMessage(lc->pg) : "");
    msg[strcspn(msg, "\n")] = '\0';
    log_warn("events: not following commits (%s%s%s); retrying in %.1f s", why, *msg ? ": " : "",
             msg, lc->backoff);
    PQfinish(lc->pg);
    lc->pg = NULL;
    lc->connecting = 0;
    lc->retry_at = now_monotonic() + lc->backoff;
    lc->backoff = fmin(lc->backoff * 2, BACKOFF_MAX_S);
}

/* Connects without blocking, so that a stop is never held up by it. The
 * same database as the pool's; keepalives find a silently dropped link. */
static void start_connect(events_state *ev, listen_conn *lc)
{
    char *app = xasprintf("%s events", ev->svc->name);
    const char *keys[] = {"dbname", "application_name", "keepalives_idle", "keepalives_interval",
                          "keepalives_count", NULL};
    const char *vals[] = {ev->svc->cfg.database_url, app, "30", "10", "3", NULL};
    lc->pg = PQconnectStartParams(keys, vals, 1);
    free(app);
    lc->connecting = 1;
    lc->waiting = PGRES_POLLING_WRITING;
    lc->give_up_at = now_monotonic() + CONNECT_TIMEOUT_S;
    if (!lc->pg || PQstatus(lc->pg) == CONNECTION_BAD) lost(lc, "cannot connect");
}

static void advance_connect(events_state *ev, listen_conn *lc)
{
    PostgresPollingStatusType st = PQconnectPoll(lc->pg);
    if (st == PGRES_POLLING_FAILED) {
        lost(lc, "cannot connect");
        return;
    }
    if (st != PGRES_POLLING_OK) {
        lc->waiting = st;
        return;
    }
    /* Its reads of the tail are bounded as the pool's statements are. */
    char *timeout = xasprintf("SET statement_timeout = %d", ev->svc->cfg.db_statement_timeout_ms);
    PGresult *r = PQexec(lc->pg, timeout);
    free(timeout);
    PQclear(r);
    r = PQexec(lc->pg, "LISTEN events");
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    pthread_mutex_lock(&ev->tail_mu);
    int started = ev->valid;
    pthread_mutex_unlock(&ev->tail_mu);
    if (ok && !started) ok = events_tail_start(ev, lc->pg) == OK;
    if (!ok) {
        lost(lc, "LISTEN failed");
        return;
    }
    lc->connecting = 0;
    lc->backoff = 0.5;
    log_info("events: following commits");
    notified(ev, lc); /* catch up with what committed while we were away */
    if (lc->pg) drain(ev, lc);
}

/* Takes in every notification that has arrived: one wake for them all. */
static void drain(events_state *ev, listen_conn *lc)
{
    if (!PQconsumeInput(lc->pg)) {
        lost(lc, "connection lost");
        return;
    }
    /* The read of the tail takes in notifications that arrive meanwhile,
     * which poll will not see again on the socket: look until none is left. */
    for (;;) {
        int any = 0;
        PGnotify *n;
        while ((n = PQnotifies(lc->pg))) {
            any = 1;
            PQfreemem(n);
        }
        if (!any) return;
        notified(ev, lc);
        if (!lc->pg) return; /* lost while reading */
    }
}

static int poll_ms(double until)
{
    double ms = ceil((until - now_monotonic()) * 1000.0);
    return ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms;
}

static void *listen_loop(void *arg)
{
    events_state *ev = arg;
    /* A quarter of the interval: an idle stream's heartbeat is due at most
     * that late. */
    double tick = ev->svc->cfg.events_heartbeat_s / 4.0;
    double next_tick = now_monotonic() + tick;
    listen_conn lc = {.backoff = 0.5};
    for (;;) {
        double now = now_monotonic();
        if (!lc.pg && now >= lc.retry_at) start_connect(ev, &lc);
        if (lc.connecting && now >= lc.give_up_at) lost(&lc, "connection timed out");
        struct pollfd fds[2] = {{.fd = ev->stop_fd, .events = POLLIN}, {.fd = -1}};
        double until = next_tick;
        if (lc.pg) {
            fds[1].fd = PQsocket(lc.pg);
            fds[1].events =
                lc.connecting && lc.waiting == PGRES_POLLING_WRITING ? POLLOUT : POLLIN;
            if (lc.connecting) until = fmin(until, lc.give_up_at);
        } else {
            until = fmin(until, lc.retry_at);
        }
        if (poll(fds, 2, poll_ms(until)) < 0 && errno != EINTR) {
            log_error("events: poll: %s; streams no longer wake", strerror(errno));
            break;
        }
        if (fds[0].revents) break;
        if (lc.pg && fds[1].revents) {
            if (lc.connecting)
                advance_connect(ev, &lc);
            else
                drain(ev, &lc);
        }
        if (now_monotonic() >= next_tick) {
            http_wake_streams(ev->svc->http); /* for heartbeats */
            next_tick = now_monotonic() + tick;
        }
    }
    PQfinish(lc.pg);
    return NULL;
}

void events_listen(service *svc)
{
    events_state *ev = svc->events;
    ev->stop_fd = eventfd(0, EFD_CLOEXEC);
    ev->listening = ev->stop_fd >= 0 && pthread_create(&ev->listener, NULL, listen_loop, ev) == 0;
    if (!ev->listening) log_error("events: no listener thread; event streams will not advance");
}
