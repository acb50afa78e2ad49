/* db.c -- see db.h. */
#include "store/db.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "base/waits.h"

#define MAX_PREPARED 256

/* A statement prepared on a connection as "s<index>", known by its text:
 * the same address may hold another statement later (a string freed and
 * its memory reused), the same text never means another statement. */
typedef struct {
    char *sql; /* owned copy */
    size_t len;
    unsigned long long hash;
} prepared_stmt;

struct db_conn {
    db_pool *pool;
    PGconn *pg;
    int in_use;
    int broken;
    double released_at; /* when it was last given back (now_monotonic; 0: never) */
    prepared_stmt prepared[MAX_PREPARED];
    int nprepared;
};

struct db_pool {
    db_config cfg;
    char *url, *app_name;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    db_conn *conns;
    int in_use, waiting;
    unsigned long resets, acquire_timeouts;
    char last_error[256]; /* under mu */
    double last_failure;  /* under mu: when a connection last failed to open or was lost */
};

/* Our settings, added to any options the URL itself carries (say
 * -c search_path=grid for a schema per service). */
static char *session_options(const db_pool *p)
{
    char *url_options = NULL;
    PQconninfoOption *opts = PQconninfoParse(p->url, NULL);
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, "options") == 0 && o->val) url_options = xstrdup(o->val);
    PQconninfoFree(opts);
    /* Generic plans: our statements look rows up by key with a parameter,
     * and re-planning each execution for its values (the default for the
     * first runs, and again whenever a custom plan looks cheaper) cost more
     * than running them; a walk takes milliseconds to plan. So no statement
     * may rely on a parameter's value to pick its index ("$1 IS NULL OR
     * col = $1" cannot use one): give each shape its own statement. No JIT: compiling a walk's plan takes seconds, and
     * our statements run in well under a millisecond. */
    char *all = xasprintf("%s%s-c statement_timeout=%d -c TimeZone=UTC "
                          "-c plan_cache_mode=force_generic_plan -c jit=off%s",
                          url_options ? url_options : "", url_options ? " " : "",
                          p->cfg.statement_timeout_ms,
                          p->cfg.read_only ? " -c default_transaction_read_only=on" : "");
    free(url_options);
    return all;
}

static PGconn *connect_one(db_pool *p)
{
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", p->cfg.connect_timeout_s);
    char *options = session_options(p);
    /* Later keywords override the URL's, so ours win for these three. */
    const char *keys[] = {"dbname", "application_name", "options", "connect_timeout", NULL};
    const char *vals[] = {p->url, p->app_name, options, timeout, NULL};
    PGconn *pg = PQconnectdbParams(keys, vals, 1);
    free(options);
    return pg;
}

db_pool *db_pool_new(const db_config *cfg)
{
    db_pool *p = xcalloc(1, sizeof *p);
    p->cfg = *cfg;
    p->url = xstrdup(cfg->url);
    p->app_name = xstrdup(cfg->app_name);
    p->cfg.url = p->url;
    p->cfg.app_name = p->app_name;
    if (p->cfg.size < 1) p->cfg.size = 1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->conns = xcalloc((size_t)p->cfg.size, sizeof *p->conns);
    for (int i = 0; i < p->cfg.size; i++) p->conns[i].pool = p;
    /* Connections open lazily: a pool can be made while the server is down. */
    return p;
}

/* Prepared statements die with the session. */
static void forget_prepared(db_conn *c)
{
    for (int i = 0; i < c->nprepared; i++) free(c->prepared[i].sql);
    c->nprepared = 0;
}

void db_pool_free(db_pool *p)
{
    if (!p) return;
    for (int i = 0; i < p->cfg.size; i++) {
        if (p->conns[i].pg) PQfinish(p->conns[i].pg);
        forget_prepared(&p->conns[i]);
    }
    free(p->conns);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->url);
    free(p->app_name);
    free(p);
}

/* An idle connection has nothing to read unless its server is closing it
 * (a shutdown, a restart): seen before the connection is handed out, the
 * caller can still go elsewhere, rather than fail on its first statement. */
static int closing(PGconn *pg)
{
    struct pollfd pfd = {PQsocket(pg), POLLIN, 0};
    return poll(&pfd, 1, 0) != 0;
}

/* Given back within FRESH_S, a connection was answering a moment ago, and
 * looking for its close is not worth its system call (a tenth of a point
 * read's cost on a busy pool): a close comes after a server's restart,
 * failover or idle timeout, to connections idle since. One closed within
 * that moment all the same fails its first statement and is reopened, as
 * a connection lost mid-request is (unless the pool probes always). */
#define FRESH_S 1.0

static int fresh(const db_conn *c)
{
    return !c->pool->cfg.probe_always && c->released_at > 0 &&
           now_monotonic() - c->released_at < FRESH_S;
}

static void connect_failed(db_pool *p, PGconn *pg)
{
    char msg[256];
    snprintf(msg, sizeof msg, "%s", PQerrorMessage(pg));
    msg[strcspn(msg, "\n")] = '\0';
    pthread_mutex_lock(&p->mu);
    memcpy(p->last_error, msg, sizeof msg);
    p->last_failure = now_monotonic();
    pthread_mutex_unlock(&p->mu);
    if (!p->cfg.quiet) log_warn("database unavailable: %s", msg);
}

/* Makes c usable: opens it, or reopens it after a lost connection. */
static int ensure_connected(db_pool *p, db_conn *c)
{
    if (c->pg && !c->broken && PQstatus(c->pg) == CONNECTION_OK && (fresh(c) || !closing(c->pg)))
        return OK;
    if (c->pg) {
        PQfinish(c->pg);
        __atomic_fetch_add(&p->resets, 1, __ATOMIC_RELAXED);
    }
    c->pg = connect_one(p);
    forget_prepared(c);
    c->broken = 0;
    if (PQstatus(c->pg) != CONNECTION_OK) {
        connect_failed(p, c->pg);
        PQfinish(c->pg);
        c->pg = NULL;
        return ERR;
    }
    return OK;
}

db_conn *db_acquire(db_pool *p, db_acquire_status *st)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += p->cfg.acquire_timeout_ms / 1000;
    deadline.tv_nsec += (long)(p->cfg.acquire_timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&p->mu);
    db_conn *c = NULL;
    for (;;) {
        for (int i = 0; i < p->cfg.size; i++) {
            /* Prefer an open connection; fall back to any free one. */
            if (!p->conns[i].in_use && (p->conns[i].pg || !c)) {
                c = &p->conns[i];
                if (c->pg) break;
            }
        }
        if (c) break;
        p->waiting++;
        int rc = pthread_cond_timedwait(&p->cv, &p->mu, &deadline);
        p->waiting--;
        if (rc == ETIMEDOUT) {
            p->acquire_timeouts++;
            pthread_mutex_unlock(&p->mu);
            *st = DB_ACQ_BUSY;
            return NULL;
        }
    }
    c->in_use = 1;
    p->in_use++;
    pthread_mutex_unlock(&p->mu);
    /* A second connection for a thread that holds one: with every
     * connection so held, each waits for the others until its timeout. */
    if (waits_db_held() > 0) log_warn("a thread took a second database connection");
    waits_db_acquired();
    if (ensure_connected(p, c) != OK) {
        db_release(p, c);
        *st = DB_ACQ_DOWN;
        return NULL;
    }
    *st = DB_ACQ_OK;
    return c;
}

void db_release(db_pool *p, db_conn *c)
{
    if (!c) return;
    p = c->pool; /* see db.h */
    /* A connection left inside a transaction (a bug, or a lost client) must
     * not leak its state to the next request. */
    if (c->pg && PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
        PGresult *r = PQexec(c->pg, "ROLLBACK");
        PQclear(r);
        if (PQtransactionStatus(c->pg) != PQTRANS_IDLE) c->broken = 1;
    }
    c->released_at = now_monotonic();
    pthread_mutex_lock(&p->mu);
    c->in_use = 0;
    p->in_use--;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    waits_db_released();
}

static void note_failure(db_conn *c, const PGresult *r)
{
    int was = c->broken;
    if (PQstatus(c->pg) != CONNECTION_OK) c->broken = 1;
    const char *state = db_sqlstate(r);
    if (state[0] == '0' && state[1] == '8') c->broken = 1;
    if (strncmp(state, "57P", 3) == 0) c->broken = 1; /* admin shutdown, crash */
    if (c->broken && !was) {
        pthread_mutex_lock(&c->pool->mu);
        c->pool->last_failure = now_monotonic();
        pthread_mutex_unlock(&c->pool->mu);
    }
}

int db_ok(const PGresult *r)
{
    ExecStatusType s = PQresultStatus(r);
    return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

/* FNV-1a: cheap beside the round trip, and the text is compared anyway. */
static unsigned long long text_hash(const char *s, size_t len)
{
    unsigned long long h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

static int find_prepared(const db_conn *c, const char *sql, size_t len, unsigned long long hash)
{
    for (int i = 0; i < c->nprepared; i++) {
        const prepared_stmt *ps = &c->prepared[i];
        if (ps->hash == hash && ps->len == len && memcmp(ps->sql, sql, len) == 0) return i;
    }
    return -1;
}

static PGresult *exec_prepared(db_conn *c, const char *sql, int n, const char *const *params)
{
    size_t len = strlen(sql);
    unsigned long long hash = text_hash(sql, len);
    int idx = find_prepared(c, sql, len, hash);
    char name[16];
    if (idx < 0) {
        if (c->nprepared == MAX_PREPARED)
            return PQexecParams(c->pg, sql, n, NULL, params, NULL, NULL, 0);
        idx = c->nprepared;
        snprintf(name, sizeof name, "s%d", idx);
        PGresult *r = PQprepare(c->pg, name, sql, 0, NULL);
        if (!db_ok(r)) return r;
        PQclear(r);
        c->prepared[c->nprepared++] = (prepared_stmt){xstrndup(sql, len), len, hash};
    }
    snprintf(name, sizeof name, "s%d", idx);
    return PQexecPrepared(c->pg, name, n, params, NULL, NULL, 0);
}

/* Runs one statement. A statement sent outside a transaction on a connection
 * that turns out to be dead (the server restarted while it sat idle in the
 * pool) is sent once more on a fresh connection: outside a transaction we
 * only read or BEGIN, so nothing can have happened twice. */
static PGresult *run(db_conn *c, int prepared, const char *sql, int n, const char *const *params)
{
    int idle = PQtransactionStatus(c->pg) == PQTRANS_IDLE;
    for (int attempt = 0;; attempt++) {
        PGresult *r = prepared ? exec_prepared(c, sql, n, params)
                               : PQexecParams(c->pg, sql, n, NULL, params, NULL, NULL, 0);
        if (db_ok(r)) return r;
        note_failure(c, r);
        if (!c->broken || !idle || attempt > 0) return r;
        if (ensure_connected(c->pool, c) != OK) return r;
        PQclear(r);
    }
}

PGresult *db_exec(db_conn *c, const char *sql, int n, const char *const *params)
{
    return run(c, 1, sql, n, params);
}

PGresult *db_exec_once(db_conn *c, const char *sql, int n, const char *const *params)
{
    return run(c, 0, sql, n, params);
}

PGresult *db_copy_send(db_conn *c, const char *sql, const char *data, size_t len)
{
    PGresult *r = PQexec(c->pg, sql);
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        note_failure(c, r);
        return r;
    }
    PQclear(r);
    /* libpq buffers; sending in pieces keeps its buffer small. */
    const size_t piece = 1u << 16;
    int sent = 1;
    for (size_t off = 0; off < len && sent == 1; off += piece)
        sent = PQputCopyData(c->pg, data + off, (int)(len - off < piece ? len - off : piece));
    if (PQputCopyEnd(c->pg, sent == 1 ? NULL : "the client could not send the data") != 1) {
        c->broken = 1; /* the connection is gone or stuck in COPY: reset it */
        return PQmakeEmptyPGresult(c->pg, PGRES_FATAL_ERROR);
    }
    return NULL;
}

PGresult *db_copy_result(db_conn *c)
{
    PGresult *r, *last = NULL;
    while ((r = PQgetResult(c->pg))) {
        PQclear(last);
        last = r;
        if (PQresultStatus(r) == PGRES_COPY_IN) { /* the end did not get through */
            c->broken = 1;
            break;
        }
    }
    if (!last) last = PQmakeEmptyPGresult(c->pg, PGRES_FATAL_ERROR);
    if (!db_ok(last)) note_failure(c, last);
    return last;
}

PGresult *db_copy_in(db_conn *c, const char *sql, const char *data, size_t len)
{
    PGresult *r = db_copy_send(c, sql, data, len);
    return r ? r : db_copy_result(c);
}

static int simple(db_conn *c, const char *sql)
{
    PGresult *r = run(c, 0, sql, 0, NULL);
    int ok = db_ok(r);
    PQclear(r);
    return ok ? OK : ERR;
}

int db_begin(db_conn *c)
{
    return simple(c, "BEGIN");
}

int db_commit(db_conn *c)
{
    return simple(c, "COMMIT");
}

void db_rollback(db_conn *c)
{
    if (PQtransactionStatus(c->pg) != PQTRANS_IDLE) simple(c, "ROLLBACK");
}

PGconn *db_pgconn(db_conn *c)
{
    return c->pg;
}

int db_broken(db_conn *c)
{
    return c->broken || PQstatus(c->pg) != CONNECTION_OK;
}

const char *db_sqlstate(const PGresult *r)
{
    const char *s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    return s ? s : "";
}

int db_http_status(db_conn *c, const PGresult *r)
{
    const char *s = db_sqlstate(r);
    if (db_broken(c) || strncmp(s, "08", 2) == 0 || strncmp(s, "57", 2) == 0) return 503;
    if (strncmp(s, "53", 2) == 0 || strcmp(s, "55P03") == 0) return 503; /* out of resources */
    if (strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0) return 503; /* retry */
    if (strcmp(s, "23505") == 0 || strcmp(s, "23503") == 0 || strcmp(s, "23P01") == 0) return 409;
    /* A value the database's own rules refused: the request's fault. */
    if (strcmp(s, "23502") == 0 || strcmp(s, "23514") == 0 || strncmp(s, "22", 2) == 0) return 400;
    return 500;
}

void db_pool_error(db_pool *p, char *buf, size_t len)
{
    pthread_mutex_lock(&p->mu);
    snprintf(buf, len, "%s", p->last_error);
    pthread_mutex_unlock(&p->mu);
}

void db_pool_stats(db_pool *p, db_stats *out)
{
    pthread_mutex_lock(&p->mu);
    out->size = p->cfg.size;
    out->in_use = p->in_use;
    out->waiting = p->waiting;
    out->acquire_timeouts = p->acquire_timeouts;
    out->last_failure = p->last_failure;
    pthread_mutex_unlock(&p->mu);
    out->resets = __atomic_load_n(&p->resets, __ATOMIC_RELAXED);
}
