/* replica.c -- see replica.h. */
#include "store/replica.h"

#include <stdatomic.h>
#include <string.h>
#include <stdlib.h>

#include "base/log.h"

/* While the replica is down, one read every RETRY_MS tries it again and the
 * others go straight to the primary: an unreachable host costs them no
 * connection timeout, and the log no line per read. */
#define RETRY_MS 2000

/* How far the primary has written. The lag is measured against it, not
 * against the age of the last transaction replayed alone: an idle primary's
 * last commit may be hours old, and a replica that has replayed it is not
 * hours behind. */
static const char SQL_PRIMARY_LSN[] = "SELECT pg_current_wal_lsn()::text";
/* On the replica, given the primary's position $1: no lag once replayed that
 * far, else the age of the last transaction replayed (NULL when none has
 * been since it started); and the bytes still to replay. A server that is
 * not in recovery (the read URL names a primary) has none. */
static const char SQL_LAG[] =
    "SELECT CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_replay_lsn() >= $1::pg_lsn THEN 0 "
    "ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END, "
    "CASE WHEN pg_is_in_recovery() THEN GREATEST(0, $1::pg_lsn - pg_last_wal_replay_lsn()) "
    "ELSE 0 END";

struct replica {
    db_pool *pool; /* NULL: no replica */
    db_pool *primary;
    atomic_int down;
    atomic_llong retry_at_ms; /* while down: when a read may try it again */
    atomic_ulong reads_replica, reads_primary, fallbacks;
};

static long long now_ms(void)
{
    return (long long)(now_monotonic() * 1000);
}

replica *replica_new(const db_config *cfg, db_pool *primary)
{
    replica *r = xcalloc(1, sizeof *r);
    r->primary = primary;
    if (cfg) {
        /* A replica gone is seen before its connection is handed out, so
         * the read goes to the primary rather than failing. */
        db_config probing = *cfg;
        probing.probe_always = 1;
        r->pool = db_pool_new(&probing);
    }
    return r;
}

void replica_free(replica *r)
{
    if (!r) return;
    db_pool_free(r->pool);
    free(r);
}

static void gone_down(replica *r)
{
    atomic_store(&r->retry_at_ms, now_ms() + RETRY_MS);
    if (atomic_exchange(&r->down, 1)) return;
    char why[256];
    db_pool_error(r->pool, why, sizeof why);
    log_warn("read replica unavailable (%s): reads go to the primary until it is back", why);
}

static void back_up(replica *r)
{
    if (atomic_exchange(&r->down, 0)) log_info("read replica back: reads go to it again");
}

/* Up, or down for long enough that the caller (one per RETRY_MS) may try. */
static int worth_trying(replica *r)
{
    if (!atomic_load(&r->down)) return 1;
    long long now = now_ms(), due = atomic_load(&r->retry_at_ms);
    return now >= due && atomic_compare_exchange_strong(&r->retry_at_ms, &due, now + RETRY_MS);
}

/* A replica connection, or NULL with *st: DB_ACQ_DOWN also when it is down
 * and not due for another try. */
static db_conn *try_replica(replica *r, db_acquire_status *st)
{
    *st = DB_ACQ_DOWN;
    if (!worth_trying(r)) return NULL;
    db_conn *c = db_acquire(r->pool, st);
    if (c)
        back_up(r);
    else if (*st == DB_ACQ_DOWN)
        gone_down(r);
    return c;
}

db_conn *replica_read(replica *r, int primary_only, db_acquire_status *st)
{
    if (r->pool && !primary_only) {
        db_conn *c = try_replica(r, st);
        if (c) {
            atomic_fetch_add_explicit(&r->reads_replica, 1, memory_order_relaxed);
            return c;
        }
        if (*st == DB_ACQ_BUSY) return NULL;
        atomic_fetch_add_explicit(&r->fallbacks, 1, memory_order_relaxed);
    }
    db_conn *c = db_acquire(r->primary, st);
    if (c) atomic_fetch_add_explicit(&r->reads_primary, 1, memory_order_relaxed);
    return c;
}

const char *replica_state_now(replica *r, const char *checked)
{
    if (!r->pool) return "none";
    if (atomic_load(&r->down)) return "down";
    /* up again since the check found it down: a read got a connection there */
    return strcmp(checked, "down") == 0 ? "ok" : checked;
}

const char *replica_readiness(replica *r)
{
    if (!r->pool) return "none";
    if (atomic_load(&r->down)) return "down";
    db_acquire_status st;
    db_conn *c = db_acquire(r->pool, &st);
    if (!c) {
        if (st == DB_ACQ_DOWN) gone_down(r);
        return st == DB_ACQ_BUSY ? "busy" : "down";
    }
    PGresult *res = db_exec(c, "SELECT 1", 0, NULL);
    const char *state = db_ok(res) ? "ok" : "down";
    PQclear(res);
    db_release(r->pool, c);
    return state;
}

/* The primary's WAL position as text (owned), or NULL. */
static char *primary_lsn(replica *r)
{
    db_acquire_status st;
    db_conn *c = db_acquire(r->primary, &st);
    if (!c) return NULL;
    PGresult *res = db_exec(c, SQL_PRIMARY_LSN, 0, NULL);
    char *lsn = db_ok(res) && PQntuples(res) == 1 ? xstrdup(PQgetvalue(res, 0, 0)) : NULL;
    PQclear(res);
    db_release(r->primary, c);
    return lsn;
}

static void render_lag(const PGresult *res, sbuf *out)
{
    if (!PQgetisnull(res, 0, 0)) {
        double s = strtod(PQgetvalue(res, 0, 0), NULL);
        /* Below zero only when the two servers' clocks disagree. */
        sb_appendf(out,
                   "# HELP db_replica_lag_seconds How long ago the replica's newest data was "
                   "written on the primary; 0 when it has replayed all the primary has.\n"
                   "# TYPE db_replica_lag_seconds gauge\ndb_replica_lag_seconds %.3f\n",
                   s > 0 ? s : 0);
    }
    sb_appendf(out,
               "# HELP db_replica_lag_bytes WAL written on the primary, not yet replayed on "
               "the replica.\n# TYPE db_replica_lag_bytes gauge\ndb_replica_lag_bytes %s\n",
               PQgetvalue(res, 0, 1));
}

static void lag(replica *r, sbuf *out)
{
    char *lsn = primary_lsn(r);
    db_acquire_status st;
    db_conn *c = lsn ? try_replica(r, &st) : NULL;
    if (c) {
        const char *params[] = {lsn};
        PGresult *res = db_exec(c, SQL_LAG, 1, params);
        if (db_ok(res) && PQntuples(res) == 1) render_lag(res, out);
        PQclear(res);
        db_release(r->pool, c);
    }
    free(lsn);
}

void replica_metrics(replica *r, sbuf *out)
{
    sb_appendf(out,
               "# HELP db_reads_total Connections given to reads, by the pool that served them.\n"
               "# TYPE db_reads_total counter\n"
               "db_reads_total{pool=\"primary\"} %lu\ndb_reads_total{pool=\"replica\"} %lu\n"
               "# HELP replica_fallbacks_total Reads meant for the replica that went to the "
               "primary because the replica was down.\n# TYPE replica_fallbacks_total counter\n"
               "replica_fallbacks_total %lu\n",
               atomic_load(&r->reads_primary), atomic_load(&r->reads_replica),
               atomic_load(&r->fallbacks));
    if (!r->pool) return;
    /* Before the up gauge: measuring may be what finds it down, or back. */
    sbuf lines = {0};
    lag(r, &lines);
    sb_appendf(out,
               "# HELP db_replica_up Whether reads go to the replica (1) or, while it is "
               "down, to the primary (0).\n# TYPE db_replica_up gauge\ndb_replica_up %d\n",
               !atomic_load(&r->down));
    if (lines.len) sb_append(out, lines.s);
    sb_free(&lines);
}
