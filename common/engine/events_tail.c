/* events_tail.c -- the tail (events_state.h): the newest events as frames
 * ready to send, in a ring the listener fills once for every stream, and
 * an event row as a page's item or a stream's frame. */
#include "engine/events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonutil.h"
#include "base/log.h"
#include "engine/events_state.h"
#include "model/fields.h"

const char EVENTS_SQL_NEWEST[] =
    "SELECT GREATEST(pruned_upto, (SELECT max(seq) FROM events)) FROM events_horizon";

/* What committed after $1, whatever its type, for the tail; the last
 * column is the horizon, there even when no event is. */
static const char SQL_TAIL[] =
    "SELECT e.seq, e.at, e.type, e.code, e.app, e.data::text, h.pruned_upto FROM events_horizon h"
    " LEFT JOIN LATERAL (SELECT seq, at, type, code, app, data FROM events WHERE seq > $1 ORDER BY"
    " seq LIMIT $2) e ON true ORDER BY e.seq";

json_t *events_item(const void *ctx, const PGresult *r, int row)
{
    json_t *data = json_loads(PQgetvalue(r, row, 5), 0, NULL);
    return json_pack("{s:I, s:s, s:s, s:o, s:s, s:o}", "seq",
                     (json_int_t)strtoll(PQgetvalue(r, row, 0), NULL, 10), "type",
                     PQgetvalue(r, row, 2), "code", PQgetvalue(r, row, 3), "at",
                     pg_time_json(PQgetvalue(r, row, 1)), "app", PQgetvalue(r, row, 4), "data",
                     data ? data : json_null());
}

void events_frame(sbuf *out, const PGresult *r, int row, int named)
{
    json_t *o = events_item(NULL, r, row);
    char *data = json_text(o); /* one line: JSON text escapes its newlines */
    sb_appendf(out, "id: %s\n", PQgetvalue(r, row, 0));
    if (named) sb_appendf(out, "event: %s\n", PQgetvalue(r, row, 2));
    sb_appendf(out, "data: %s\n\n", data);
    free(data);
    json_decref(o);
}

/* The tail holds each frame once, named; a stream that wants it unnamed
 * copies it around its event line rather than having it formatted again. */
void events_tail_copy(sbuf *out, const tail_event *t, int named)
{
    if (named) {
        sb_appendn(out, t->frame, t->len);
        return;
    }
    sb_appendn(out, t->frame, t->event_at);
    size_t rest = t->event_at + t->event_len;
    sb_appendn(out, t->frame + rest, t->len - rest);
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
    events_frame(&f, r, row, 1);
    while (ev->n > 0 && (ev->n == TAIL_EVENTS || ev->bytes + f.len > TAIL_BYTES))
        tail_drop_oldest(ev);
    tail_event *t = &ev->ring[(ev->start + ev->n) % TAIL_EVENTS];
    t->seq = strtoll(PQgetvalue(r, row, 0), NULL, 10);
    t->pruned = pruned;
    t->type = xstrdup(PQgetvalue(r, row, 2));
    t->len = f.len;
    t->event_at = strlen("id: \n") + strlen(PQgetvalue(r, row, 0));
    t->event_len = strlen("event: \n") + strlen(t->type);
    t->frame = sb_steal(&f);
    ev->bytes += t->len;
    ev->n++;
    ev->last = t->seq;
}

void events_tail_free(events_state *ev)
{
    while (ev->n > 0) tail_drop_oldest(ev);
}

int events_tail_read(events_state *ev, PGconn *pg)
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

int events_tail_start(events_state *ev, PGconn *pg)
{
    PGresult *r = PQexec(pg, EVENTS_SQL_NEWEST);
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

/* The ring is in seq order. */
int events_tail_first_after(const events_state *ev, long long seq)
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
