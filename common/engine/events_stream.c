/* events_stream.c -- GET /v1/events/stream (events.h): a client following
 * the events. Its start, on a local worker, reads from the table what the
 * client missed (Last-Event-ID, ?after=); from then on it copies frames
 * from the tail (events_tail.c), on its connection's I/O thread, with no
 * database work, and otherwise sleeps suspended (http_stream_waiting). A
 * stream that falls behind the tail (a client too slow, or resuming from far
 * back) ends, and its client resumes with Last-Event-ID. */
#include "engine/events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "engine/events_state.h"

#define FOLLOW_BATCH 200   /* events a stream's start reads at once */
#define CATCH_UP_MAX 10000 /* a stream's start sends at most these, then ends */
#define RETRY_MS 3000      /* the reconnection delay told to clients */

/* The next events after $1, whatever their type, so a stream moves past
 * those it does not want instead of reading them again each time; their
 * data is left out (NULL). Columns 0-5 are a page's (events.c); the last is the
 * horizon, there even when no event is (the one row then has a NULL seq). */
static const char SQL_FOLLOW[] =
    "SELECT e.seq, e.at, e.type, e.code, e.app, CASE WHEN $2::text[] IS NULL OR e.type = ANY ($2)"
    " THEN e.data::text END, h.pruned_upto FROM events_horizon h LEFT JOIN LATERAL (SELECT seq,"
    " at, type, code, app, data FROM events WHERE seq > $1 ORDER BY seq LIMIT $3) e ON true"
    " ORDER BY e.seq";

/* One client following the events. Only one thread touches it at a time:
 * the local worker that starts it, then its connection's I/O thread (MHD
 * calls the fill of one connection at a time). */
typedef struct {
    service *svc;
    events_state *ev;
    long long last_seq; /* the newest event passed: written, or not of the asked types */
    char **types;       /* NULL-terminated; NULL for all */
    int named;          /* frames carry their "event:" line (?named=, default true) */
    double last_sent;   /* for heartbeats */
    int ending;         /* send what is pending, then end (behind the tail, or the catch-up
                           stopped at CATCH_UP_MAX) */
    sbuf pending;       /* frames not sent yet, from pending_off */
    size_t pending_off;
} follower;

/* "a,b" (checked by events_types_param) -> {"a", "b", NULL}. */
static char **type_list(const char *csv)
{
    size_t n = 1;
    for (const char *p = csv; *p; p++) n += *p == ',';
    char **out = xcalloc(n + 1, sizeof *out), *copy = xstrdup(csv), *save = NULL;
    size_t i = 0;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
        out[i++] = xstrdup(t);
    free(copy);
    return out;
}

static int wanted(const follower *f, const char *type)
{
    if (!f->types) return 1;
    for (char **t = f->types; *t; t++)
        if (strcmp(*t, type) == 0) return 1;
    return 0;
}

static follower *follower_new(service *svc, long long after, const char *types_csv, int named)
{
    follower *f = xcalloc(1, sizeof *f);
    f->named = named;
    f->svc = svc;
    f->ev = svc->events;
    f->last_seq = after;
    f->types = types_csv ? type_list(types_csv) : NULL;
    f->last_sent = now_monotonic();
    sb_appendf(&f->pending, "retry: %d\n\n", RETRY_MS);
    return f;
}

static void follower_free(void *arg)
{
    follower *f = arg;
    for (char **t = f->types; t && *t; t++) free(*t);
    free(f->types);
    sb_free(&f->pending);
    free(f);
}

/* Copies what fits of the pending frames; empties them once all is out. */
static size_t take_pending(follower *f, char *buf, size_t max)
{
    size_t n = f->pending.len - f->pending_off;
    if (n > max) n = max;
    memcpy(buf, f->pending.s + f->pending_off, n);
    f->pending_off += n;
    if (f->pending_off == f->pending.len) f->pending.len = f->pending_off = 0;
    return n;
}

/* The tail's frames after last_seq into pending, about max bytes of them.
 * A stream behind the tail, or behind the pruning horizon as it was when
 * the next event was read, is ended: its client resumes with Last-Event-ID,
 * and is told (410) if it missed some. */
static void take_from_tail(follower *f, size_t max)
{
    events_state *ev = f->ev;
    pthread_mutex_lock(&ev->tail_mu);
    if (!ev->valid) {
        pthread_mutex_unlock(&ev->tail_mu);
        return;
    }
    if (f->last_seq < ev->base) {
        f->ending = 1;
        log_info("events stream behind at %lld, the tail starts after %lld: ended so that its "
                 "client resumes", f->last_seq, ev->base);
        pthread_mutex_unlock(&ev->tail_mu);
        return;
    }
    for (int i = events_tail_first_after(ev, f->last_seq); i < ev->n && f->pending.len < max; i++) {
        const tail_event *t = &ev->ring[(ev->start + i) % TAIL_EVENTS];
        if (f->last_seq < t->pruned) {
            f->ending = 1;
            log_info("events stream fell behind the pruning horizon at %lld; ended", f->last_seq);
            break;
        }
        if (wanted(f, t->type)) events_tail_copy(&f->pending, t, f->named);
        f->last_seq = t->seq;
    }
    pthread_mutex_unlock(&ev->tail_mu);
}

static long follow_fill(void *arg, char *buf, size_t max)
{
    follower *f = arg;
    if (f->pending.len == 0 && !f->ending) take_from_tail(f, max);
    size_t n = f->pending.len ? take_pending(f, buf, max) : 0;
    if (n == 0 && f->ending) return 0; /* the end of the stream */
    double now = now_monotonic();
    if (n == 0 && now - f->last_sent >= f->svc->cfg.events_heartbeat_s) {
        /* Keeps proxies from closing an idle stream, and finds out that a
         * client has gone (the write fails), so MHD frees the stream. */
        sb_append(&f->pending, ": heartbeat\n\n");
        n = take_pending(f, buf, max);
    }
    if (n == 0) return HTTP_FILL_WAIT;
    f->last_sent = now;
    return (long)n;
}

/* Last-Event-ID, else ?after=; *given = 0 for neither ("from now"). ERR
 * after answering 400. */
static int resume_point(request *req, long long *after, int *given)
{
    const char *id = http_header_in(req, "Last-Event-ID");
    const char *q = http_query(req, "after");
    *after = 0;
    *given = id || q;
    if (id && events_parse_seq(id, after) != OK) {
        http_problem(req, 400, "Last-Event-ID must be the id of an event received before (a "
                               "non-negative integer)");
        return ERR;
    }
    if (!id && q && events_parse_seq(q, after) != OK) {
        http_problem(req, 400, "after must be the seq of an event (a non-negative integer)");
        return ERR;
    }
    return OK;
}

/* ?named=true|false into *named (default true); ERR after answering 400. */
static int named_param(request *req, int *named)
{
    const char *v = http_query(req, "named");
    *named = 1;
    if (!v || strcmp(v, "true") == 0) return OK;
    if (strcmp(v, "false") == 0) {
        *named = 0;
        return OK;
    }
    http_problem(req, 400, "named must be true or false, not '%s'", v);
    return ERR;
}

/* The newest event now (or the horizon when none is kept). */
static int newest_seq(request *req, db_conn *c, long long *out)
{
    PGresult *r = db_exec(c, EVENTS_SQL_NEWEST, 0, NULL);
    int ok = db_ok(r) && PQntuples(r) == 1;
    if (ok)
        *out = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    else
        service_db_error(req, c, r, "events");
    PQclear(r);
    return ok ? OK : ERR;
}

/* What the client missed, from the table, into pending: up to
 * CATCH_UP_MAX events (then the stream ends after them, and the client
 * resumes from there). ERR after answering. */
static int catch_up(request *req, db_conn *c, follower *f, const char *types_sql)
{
    char limit[16];
    snprintf(limit, sizeof limit, "%d", FOLLOW_BATCH);
    for (int read = 0; read < CATCH_UP_MAX; read += FOLLOW_BATCH) {
        char after[24];
        snprintf(after, sizeof after, "%lld", f->last_seq);
        const char *params[] = {after, types_sql, limit};
        PGresult *r = db_exec(c, SQL_FOLLOW, 3, params);
        if (!db_ok(r) || PQntuples(r) < 1) {
            service_db_error(req, c, r, "events");
            PQclear(r);
            return ERR;
        }
        int rows = PQntuples(r), events = 0;
        for (int i = 0; i < rows; i++) {
            if (PQgetisnull(r, i, 0)) continue;
            events++;
            f->last_seq = strtoll(PQgetvalue(r, i, 0), NULL, 10);
            if (!PQgetisnull(r, i, 5)) /* of the asked types */
                events_frame(&f->pending, r, i, f->named);
        }
        PQclear(r);
        if (events < FOLLOW_BATCH) return OK;
    }
    f->ending = 1;
    return OK;
}

void events_stream(request *req, void *ctx)
{
    service *svc = ctx;
    long long after;
    int given, named;
    char *types = NULL;
    if (http_query_declared(req) != OK ||
        resume_point(req, &after, &given) != OK || named_param(req, &named) != OK ||
        events_types_param(req, &types) != OK)
        return;
    db_conn *c = service_db(svc, req);
    int rc = ERR;
    follower *f = NULL;
    if (c) {
        rc = given ? events_still_kept(req, c, after) : newest_seq(req, c, &after);
        if (rc == OK) {
            const char *csv = http_query(req, "types");
            f = follower_new(svc, after, csv, named);
            rc = catch_up(req, c, f, types);
        }
        db_release(svc->db, c);
    }
    free(types);
    if (rc != OK) {
        if (f) follower_free(f);
        return;
    }
    http_header(req, "Cache-Control", "no-cache");
    http_stream_waiting(req, 200, "text/event-stream", follow_fill, follower_free, f);
}
