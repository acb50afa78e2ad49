/* events.c -- see events.h. */
#include "events.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fields.h"
#include "log.h"
#include "service.h"

#define LIMIT_DEFAULT 100
#define LIMIT_MAX 1000

/* Types as a text array ("{a,b}") or NULL for all. */
static const char SQL_PAGE[] =
    "SELECT seq, at, type, code, app, data::text FROM events WHERE seq > $1 AND ($2::text[] IS "
    "NULL OR type = ANY ($2)) ORDER BY seq LIMIT $3";
static const char SQL_HORIZON[] =
    "SELECT pruned_upto, (SELECT min(seq) FROM events) FROM events_horizon";
/* Deletes what is older than $1 hours and moves the horizon past it. */
static const char SQL_PRUNE[] =
    "WITH gone AS (DELETE FROM events WHERE at < now() - make_interval(hours => $1::int) "
    "RETURNING seq) UPDATE events_horizon SET pruned_upto = GREATEST(pruned_upto, "
    "(SELECT max(seq) FROM gone)) WHERE EXISTS (SELECT 1 FROM gone) RETURNING pruned_upto";

typedef struct {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stopping, started;
} pruner;

/* ?types=a,b -> "{a,b}"; types are our own words: letters, dots, dashes
 * and underscores only, so they need no quoting. ERR after answering. */
static int types_param(request *req, char **out)
{
    const char *t = http_query(req, "types");
    *out = NULL;
    if (!t) return OK;
    if (!*t || strspn(t, "abcdefghijklmnopqrstuvwxyz_.-,") != strlen(t) || strlen(t) > 2000) {
        http_problem(req, 400, "types must be a comma-separated list of event types such as "
                               "transformer.created,relation.added");
        return ERR;
    }
    *out = xasprintf("{%s}", t);
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

void events_routes(service *svc, router *r)
{
    router_add(r, "GET", "/v1/events", events_page, svc, 0,
               "Change events, oldest first: ?after=SEQ&types=a,b&limit=N");
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
    service *svc = arg;
    pruner *p = svc->events;
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
    pruner *p = xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    svc->events = p;
    p->started = pthread_create(&p->thread, NULL, prune_loop, svc) == 0;
    if (!p->started) log_warn("events: no pruning thread; old events are kept");
}

void events_stop(service *svc)
{
    pruner *p = svc->events;
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (p->started) pthread_join(p->thread, NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
    svc->events = NULL;
}
