/* events.c -- see events.h.
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
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "model/fields.h"
#include "base/jsonutil.h"
#include "base/log.h"
#include "engine/context.h"
#include "engine/paging.h"

#define LIMIT_DEFAULT PAGE_LIMIT_DEFAULT_FEED
#define LIMIT_MAX PAGE_LIMIT_MAX
#define FOLLOW_BATCH 200          /* events a stream's start reads at once */
#define CATCH_UP_MAX 10000        /* a stream's start sends at most these, then ends */
#define TAIL_EVENTS 4096          /* the tail holds at most these events */
#define TAIL_BYTES (16u << 20)    /* and these bytes of frames */
#define TAIL_BATCH 500            /* events the listener reads at once */
#define RETRY_MS 3000             /* the reconnection delay told to clients */
#define CONNECT_TIMEOUT_S 5.0     /* for the listener's connection */
#define BACKOFF_MAX_S 10.0        /* between the listener's reconnection attempts */

/* Types as a text array ("{a,b}") or NULL for all. */
static const char SQL_PAGE[] =
    "SELECT seq, at, type, code, app, data::text FROM events WHERE seq > $1 AND ($2::text[] IS "
    "NULL OR type = ANY ($2)) ORDER BY seq LIMIT $3";
static const char SQL_HORIZON[] =
    "SELECT pruned_upto, (SELECT min(seq) FROM events) FROM events_horizon";
/* Where "from now" starts: the newest event, or the horizon when none is left. */
static const char SQL_NEWEST[] =
    "SELECT GREATEST(pruned_upto, (SELECT max(seq) FROM events)) FROM events_horizon";
/* The next events after $1, whatever their type, so a stream moves past
 * those it does not want instead of reading them again each time; their
 * data is left out (NULL). Columns 0-5 are SQL_PAGE's; the last is the
 * horizon, there even when no event is (the one row then has a NULL seq). */
static const char SQL_FOLLOW[] =
    "SELECT e.seq, e.at, e.type, e.code, e.app, CASE WHEN $2::text[] IS NULL OR e.type = ANY ($2)"
    " THEN e.data::text END, h.pruned_upto FROM events_horizon h LEFT JOIN LATERAL (SELECT seq,"
    " at, type, code, app, data FROM events WHERE seq > $1 ORDER BY seq LIMIT $3) e ON true"
    " ORDER BY e.seq";
/* What committed after $1, whatever its type, for the tail; the last
 * column is the horizon, there even when no event is. */
static const char SQL_TAIL[] =
    "SELECT e.seq, e.at, e.type, e.code, e.app, e.data::text, h.pruned_upto FROM events_horizon h"
    " LEFT JOIN LATERAL (SELECT seq, at, type, code, app, data FROM events WHERE seq > $1 ORDER BY"
    " seq LIMIT $2) e ON true ORDER BY e.seq";
/* Deletes what is older than $1 hours and moves the horizon past it. */
static const char SQL_PRUNE[] =
    "WITH gone AS (DELETE FROM events WHERE at < now() - make_interval(hours => $1::int) "
    "RETURNING seq) UPDATE events_horizon SET pruned_upto = GREATEST(pruned_upto, "
    "(SELECT max(seq) FROM gone)) WHERE EXISTS (SELECT 1 FROM gone) RETURNING pruned_upto";

/* An event of the tail: its frame as sent. */
typedef struct {
    long long seq;
    long long pruned; /* the horizon when it was read */
    char *type;
    char *frame; /* "id: ...\nevent: ...\ndata: {...}\n\n" */
    size_t len;
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

/* types are our own words: letters, dots, dashes and underscores only, so
 * they need no quoting. */
int events_parse_types(const char *t, char **out)
{
    *out = NULL;
    if (!*t || strspn(t, "abcdefghijklmnopqrstuvwxyz_.-,") != strlen(t) || strlen(t) > 2000)
        return ERR;
    *out = xasprintf("{%s}", t);
    return OK;
}

/* ?types=a,b -> "{a,b}". ERR after answering. */
static int types_param(request *req, char **out)
{
    const char *t = http_query(req, "types");
    *out = NULL;
    if (t && events_parse_types(t, out) != OK) {
        http_problem(req, 400, "types must be a comma-separated list of event types such as "
                               "transformer.created,relation.added");
        return ERR;
    }
    return OK;
}

static int known_arg(void *ctx, const char *key, const char *value)
{
    static const char *const known[] = {"after", "types", "limit", NULL};
    for (const char *const *k = known; *k; k++)
        if (strcmp(*k, key) == 0) return OK;
    http_problem(ctx, 400, "unknown query parameter '%s'; use after, types, limit", key);
    return ERR;
}

static int stream_arg(void *ctx, const char *key, const char *value)
{
    if (strcmp(key, "after") == 0 || strcmp(key, "types") == 0) return OK;
    http_problem(ctx, 400, "unknown query parameter '%s'; use after, types", key);
    return ERR;
}

static json_t *event_json(const void *ctx, const PGresult *r, int row)
{
    json_t *data = json_loads(PQgetvalue(r, row, 5), 0, NULL);
    return json_pack("{s:I, s:s, s:s, s:o, s:s, s:o}", "seq",
                     (json_int_t)strtoll(PQgetvalue(r, row, 0), NULL, 10), "type",
                     PQgetvalue(r, row, 2), "code", PQgetvalue(r, row, 3), "at",
                     pg_time_json(PQgetvalue(r, row, 1)), "app", PQgetvalue(r, row, 4), "data",
                     data ? data : json_null());
}

/* 410 when events after `after` have been pruned: the reader would miss
 * some. The answer names where it can resume. */
static int still_kept(request *req, db_conn *c, long long after)
{
    PGresult *r = db_exec(c, SQL_HORIZON, 0, NULL);
    int rc = OK;
    if (!db_ok(r) || PQntuples(r) != 1) {
        service_db_error(req, c, r, "events");
        rc = ERR;
    } else {
        long long pruned = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        if (after < pruned) {
            http_problem_extra(req, 410, json_pack("{s:I}", "resume_after", (json_int_t)pruned),
                               "events up to %lld have been pruned (they are kept for a limited "
                               "time); resume with after=%lld, or re-read the objects", pruned,
                               pruned);
            rc = ERR;
        }
    }
    PQclear(r);
    return rc;
}

static void events_page(request *req, void *ctx)
{
    service *svc = ctx;
    int limit;
    long long after;
    char *types = NULL;
    if (http_query_foreach(req, known_arg, req) != OK ||
        http_paging(req, LIMIT_DEFAULT, LIMIT_MAX, &limit, &after) != OK ||
        types_param(req, &types) != OK)
        return;
    db_conn *c = service_db(svc, req);
    if (c) {
        if (still_kept(req, c, after) == OK) {
            char after_s[24], limit_s[16];
            snprintf(after_s, sizeof after_s, "%lld", after);
            snprintf(limit_s, sizeof limit_s, "%d", limit + 1);
            const char *params[] = {after_s, types, limit_s};
            PGresult *r = db_exec(c, SQL_PAGE, 3, params);
            if (!db_ok(r)) {
                service_db_error(req, c, r, "events");
            } else {
                service_page(req, r, limit, event_json, NULL);
            }
            PQclear(r);
        }
        db_release(svc->db, c);
    }
    free(types);
}

/* ---- the tail ------------------------------------------------------------------ */

/* The frame of an event row (seq, at, type, code, app, data). */
static void frame_of(sbuf *out, const PGresult *r, int row)
{
    json_t *o = event_json(NULL, r, row);
    char *data = json_text(o); /* one line: JSON text escapes its newlines */
    sb_appendf(out, "id: %s\nevent: %s\ndata: %s\n\n", PQgetvalue(r, row, 0),
               PQgetvalue(r, row, 2), data);
    free(data);
    json_decref(o);
}

static void tail_drop_oldest(events_state *ev)
{
    tail_event *t = &ev->ring[ev->start];
    ev->base = t->seq;
    ev->bytes -= t->len;
    free(t->type);
    free(t->frame);
    *t = (tail_event){0};
    ev->start = (ev->start + 1) % TAIL_EVENTS;
    ev->n--;
}

/* With tail_mu held. */
static void tail_append(events_state *ev, const PGresult *r, int row, long long pruned)
{
    sbuf f = {0};
    frame_of(&f, r, row);
    while (ev->n > 0 && (ev->n == TAIL_EVENTS || ev->bytes + f.len > TAIL_BYTES))
        tail_drop_oldest(ev);
    tail_event *t = &ev->ring[(ev->start + ev->n) % TAIL_EVENTS];
    t->seq = strtoll(PQgetvalue(r, row, 0), NULL, 10);
    t->pruned = pruned;
    t->type = xstrdup(PQgetvalue(r, row, 2));
    t->len = f.len;
    t->frame = sb_steal(&f);
    ev->bytes += t->len;
    ev->n++;
    ev->last = t->seq;
}

static void tail_free(events_state *ev)
{
    while (ev->n > 0) tail_drop_oldest(ev);
}

/* The listener's part: what committed since its last read, into the tail,
 * on its own connection. ERR when the connection failed. */
static int read_tail(events_state *ev, PGconn *pg)
{
    for (;;) {
        pthread_mutex_lock(&ev->tail_mu);
        long long last = ev->last;
        pthread_mutex_unlock(&ev->tail_mu);
        char after[24], limit[16];
        snprintf(after, sizeof after, "%lld", last);
        snprintf(limit, sizeof limit, "%d", TAIL_BATCH);
        const char *params[] = {after, limit};
        PGresult *r = PQexecParams(pg, SQL_TAIL, 2, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1) {
            log_warn("events: reading the newest: %s", PQresultErrorMessage(r));
            PQclear(r);
            return ERR;
        }
        int rows = PQntuples(r), events = 0;
        long long pruned = strtoll(PQgetvalue(r, 0, 6), NULL, 10);
        pthread_mutex_lock(&ev->tail_mu);
        for (int i = 0; i < rows; i++) {
            if (PQgetisnull(r, i, 0)) continue;
            tail_append(ev, r, i, pruned);
            events++;
        }
        pthread_mutex_unlock(&ev->tail_mu);
        PQclear(r);
        if (events < TAIL_BATCH) return OK;
    }
}

/* Where the tail starts when the listener first connects: now. */
static int start_tail(events_state *ev, PGconn *pg)
{
    PGresult *r = PQexec(pg, SQL_NEWEST);
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    if (ok) {
        pthread_mutex_lock(&ev->tail_mu);
        ev->base = ev->last = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        ev->valid = 1;
        pthread_mutex_unlock(&ev->tail_mu);
    }
    PQclear(r);
    return ok ? OK : ERR;
}

/* ---- the stream ---------------------------------------------------------------- */

/* One client following the events. Only one thread touches it at a time:
 * the local worker that starts it, then its connection's I/O thread (MHD
 * calls the fill of one connection at a time). */
typedef struct {
    service *svc;
    events_state *ev;
    long long last_seq; /* the newest event passed: written, or not of the asked types */
    char **types;       /* NULL-terminated; NULL for all */
    double last_sent;   /* for heartbeats */
    int ending;         /* send what is pending, then end (behind the tail, or the catch-up
                           stopped at CATCH_UP_MAX) */
    sbuf pending;       /* frames not sent yet, from pending_off */
    size_t pending_off;
} follower;

/* "a,b" (checked by types_param) -> {"a", "b", NULL}. */
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

static follower *follower_new(service *svc, long long after, const char *types_csv)
{
    follower *f = xcalloc(1, sizeof *f);
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

/* Index in the ring of the first event after seq (n when none); with
 * tail_mu held. The ring is in seq order. */
static int first_after(const events_state *ev, long long seq)
{
    int lo = 0, hi = ev->n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (ev->ring[(ev->start + mid) % TAIL_EVENTS].seq <= seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
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
    for (int i = first_after(ev, f->last_seq); i < ev->n && f->pending.len < max; i++) {
        const tail_event *t = &ev->ring[(ev->start + i) % TAIL_EVENTS];
        if (f->last_seq < t->pruned) {
            f->ending = 1;
            log_info("events stream fell behind the pruning horizon at %lld; ended", f->last_seq);
            break;
        }
        if (wanted(f, t->type)) sb_appendn(&f->pending, t->frame, t->len);
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

/* A sequence number: digits only, no sign, no overflow. */
static int parse_seq(const char *s, long long *out)
{
    if (!*s || strspn(s, "0123456789") != strlen(s)) return ERR;
    errno = 0;
    *out = strtoll(s, NULL, 10);
    return errno ? ERR : OK;
}

int events_parse_seq(const char *s, long long *out)
{
    return parse_seq(s, out);
}

/* Last-Event-ID, else ?after=; *given = 0 for neither ("from now"). ERR
 * after answering 400. */
static int resume_point(request *req, long long *after, int *given)
{
    const char *id = http_header_in(req, "Last-Event-ID");
    const char *q = http_query(req, "after");
    *after = 0;
    *given = id || q;
    if (id && parse_seq(id, after) != OK) {
        http_problem(req, 400, "Last-Event-ID must be the id of an event received before (a "
                               "non-negative integer)");
        return ERR;
    }
    if (!id && q && parse_seq(q, after) != OK) {
        http_problem(req, 400, "after must be the seq of an event (a non-negative integer)");
        return ERR;
    }
    return OK;
}

/* The newest event now (or the horizon when none is kept). */
static int newest_seq(request *req, db_conn *c, long long *out)
{
    PGresult *r = db_exec(c, SQL_NEWEST, 0, NULL);
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
            if (!PQgetisnull(r, i, 5)) frame_of(&f->pending, r, i); /* of the asked types */
        }
        PQclear(r);
        if (events < FOLLOW_BATCH) return OK;
    }
    f->ending = 1;
    return OK;
}

static void events_stream(request *req, void *ctx)
{
    service *svc = ctx;
    long long after;
    int given;
    char *types = NULL;
    if (http_query_foreach(req, stream_arg, req) != OK ||
        resume_point(req, &after, &given) != OK || types_param(req, &types) != OK)
        return;
    db_conn *c = service_db(svc, req);
    int rc = ERR;
    follower *f = NULL;
    if (c) {
        rc = given ? still_kept(req, c, after) : newest_seq(req, c, &after);
        if (rc == OK) {
            const char *csv = http_query(req, "types");
            f = follower_new(svc, after, csv);
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

void events_routes(service *svc, router *r)
{
    router_add(r, "GET", "/v1/events", events_page, svc, 0,
               "Change events, oldest first: ?after=SEQ&types=a,b&limit=N");
    /* On the primary, whose notifications wake it: a replica may not yet
     * have what they announce, nor the newest event "from now" means. Its
     * start reads what the client missed: on the local workers. */
    router_add(r, "GET", "/v1/events/stream", events_stream, svc, ROUTE_PRIMARY | ROUTE_SLOW,
               "Change events as they commit, as server-sent events (text/event-stream; id = "
               "seq, event = type, data = an item of /v1/events): after the Last-Event-ID "
               "header, else ?after=SEQ, else from now; ?types=a,b; a heartbeat comment every "
               "EVENTS_HEARTBEAT_S; 410 with resume_after when the resume point was pruned");
}

/* ---- the listener ------------------------------------------------------------- */

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
    if (read_tail(ev, lc->pg) != OK && PQstatus(lc->pg) != CONNECTION_OK) {
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
    if (ok && !started) ok = start_tail(ev, lc->pg) == OK;
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
    tail_free(p);
    pthread_mutex_destroy(&p->tail_mu);
    free(p);
    svc->events = NULL;
}
