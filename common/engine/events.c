/* events.c -- see events.h: GET /v1/events, the routes, and the thread
 * that prunes old events; the parts of the feed are listed in
 * events_state.h.
 *
 * The stream: one listener thread per daemon holds its own connection,
 * LISTENs on 'events' (004_event_order.sql notifies on each commit that
 * recorded events) and, on each notification, reads what committed since
 * its last read, once for every stream, into the tail: the newest events
 * as frames ready to send. Then it wakes every waiting stream, as it does
 * every quarter heartbeat interval so that idle streams send heartbeats.
 * A stream starts on a local worker, which reads from the table what the
 * client missed (Last-Event-ID, ?after=); from then on it copies frames
 * from the tail, on its connection's I/O thread, with no database work, and
 * otherwise sleeps suspended (http_stream_waiting). A stream that falls
 * behind the tail (a client too slow, or resuming from far back) ends, and
 * its client resumes with Last-Event-ID. Writers only insert and notify,
 * so no client, slow or gone, ever holds them up. */
#include "engine/events.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "engine/events_state.h"
#include "engine/paging.h"

/* Types as a text array ("{a,b}") or NULL for all. */
static const char SQL_PAGE[] =
    "SELECT seq, at, type, code, app, data::text FROM events WHERE seq > $1 AND ($2::text[] IS "
    "NULL OR type = ANY ($2)) ORDER BY seq LIMIT $3";

/* Deletes what is older than $1 hours and moves the horizon past it. */
static const char SQL_PRUNE[] =
    "WITH gone AS (DELETE FROM events WHERE at < now() - make_interval(hours => $1::int) "
    "RETURNING seq) UPDATE events_horizon SET pruned_upto = GREATEST(pruned_upto, "
    "(SELECT max(seq) FROM gone)) WHERE EXISTS (SELECT 1 FROM gone) RETURNING pruned_upto";

static void events_page(request *req, void *ctx)
{
    service *svc = ctx;
    int limit;
    long long after;
    char *types = NULL;
    if (http_query_declared(req) != OK ||
        http_paging(req, PAGE_LIMIT_DEFAULT_FEED, PAGE_LIMIT_MAX, &limit, &after) != OK ||
        events_types_param(req, &types) != OK)
        return;
    db_conn *c = service_db(svc, req);
    if (c) {
        if (events_still_kept(req, c, after) == OK) {
            char after_s[24], limit_s[16];
            snprintf(after_s, sizeof after_s, "%lld", after);
            snprintf(limit_s, sizeof limit_s, "%d", limit + 1);
            const char *params[] = {after_s, types, limit_s};
            PGresult *r = db_exec(c, SQL_PAGE, 3, params);
            if (!db_ok(r)) {
                service_db_error(req, c, r, "events");
            } else {
                service_page(req, r, limit, events_item, NULL);
            }
            PQclear(r);
        }
        db_release(svc->db, c);
    }
    free(types);
}

#define TYPES_DOC "event types, comma-separated (default: all)"

static const query_doc feed_query[] = {
    {"after", "integer", NULL, 0, "the seq after which to start (default 0)"},
    {"types", "string", NULL, 0, TYPES_DOC},
    {"limit", "integer", NULL, 0, "events per page"},
    {0}};

static const char *const booleans[] = {"true", "false", NULL};

static const query_doc stream_query[] = {
    {"after", "integer", NULL, 0, "the seq after which to start, when there is no "
                                  "Last-Event-ID (default: from now)"},
    {"types", "string", NULL, 0, TYPES_DOC},
    {"named", "string", booleans, 0, "false: frames without their event line, so that a "
                                     "browser's EventSource hands every type to onmessage"},
    {0}};

void events_routes(service *svc, router *r)
{
    router_add(r, "GET", "/v1/events", events_page, svc, 0,
               "Change events, oldest first: ?after=SEQ&types=a,b&limit=N")
        ->query = feed_query;
    /* On the primary, whose notifications wake it: a replica may not yet
     * have what they announce, nor the newest event "from now" means. Its
     * start reads what the client missed: on the local workers. */
    router_add(r, "GET", "/v1/events/stream", events_stream, svc, ROUTE_PRIMARY | ROUTE_SLOW,
               "Change events as they commit, as server-sent events (text/event-stream; id = "
               "seq, event = type, data = an item of /v1/events): after the Last-Event-ID "
               "header, else ?after=SEQ, else from now; ?types=a,b; ?named=false for frames "
               "without their event line; a heartbeat comment every EVENTS_HEARTBEAT_S; 410 "
               "with resume_after when the resume point was pruned")
        ->query = stream_query;
}

/* ---- pruning ------------------------------------------------------------------ */

static void prune_once(service *svc)
{
    db_acquire_status st;
    db_conn *c = db_acquire(svc->db, &st);
    if (!c) return; /* the database is down: next time */
    char hours[16];
    snprintf(hours, sizeof hours, "%d", svc->cfg.events_keep_hours);
    const char *params[] = {hours};
    PGresult *r = db_exec(c, SQL_PRUNE, 1, params);
    if (!db_ok(r))
        log_warn("pruning events: %s", PQresultErrorMessage(r));
    else if (PQntuples(r) > 0)
        log_info("events up to %s pruned (kept %d hours)", PQgetvalue(r, 0, 0),
                 svc->cfg.events_keep_hours);
    PQclear(r);
    db_release(svc->db, c);
}

static void *prune_loop(void *arg)
{
    events_state *p = arg;
    service *svc = p->svc;
    pthread_mutex_lock(&p->mu);
    while (!p->stopping) {
        pthread_mutex_unlock(&p->mu);
        prune_once(svc);
        pthread_mutex_lock(&p->mu);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += svc->cfg.events_prune_s;
        while (!p->stopping && pthread_cond_timedwait(&p->cv, &p->mu, &until) == 0) {
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

void events_start(service *svc)
{
    events_state *p = xcalloc(1, sizeof *p);
    p->svc = svc;
    p->stop_fd = -1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->tail_mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    svc->events = p;
    p->pruning = pthread_create(&p->pruner, NULL, prune_loop, p) == 0;
    if (!p->pruning) log_warn("events: no pruning thread; old events are kept");
}

void events_stop(service *svc)
{
    events_state *p = svc->events;
    if (!p) return;
    if (p->listening) {
        uint64_t one = 1;
        if (write(p->stop_fd, &one, sizeof one) != sizeof one) /* cannot fill up: one write */
            log_error("events: cannot stop the listener: %s", strerror(errno));
        pthread_join(p->listener, NULL);
        p->listening = 0;
    }
    if (p->pruning) {
        pthread_mutex_lock(&p->mu);
        p->stopping = 1;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->pruner, NULL);
        p->pruning = 0;
    }
}

void events_cleanup(service *svc)
{
    events_state *p = svc->events;
    if (!p) return;
    events_stop(svc);
    if (p->stop_fd >= 0) close(p->stop_fd);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    events_tail_free(p);
    pthread_mutex_destroy(&p->tail_mu);
    free(p);
    svc->events = NULL;
}
