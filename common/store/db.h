/* db.h -- PostgreSQL access: a fixed pool of libpq connections, statements
 * prepared once per connection, transactions, and SQLSTATE -> HTTP mapping.
 *
 * A connection broken by a server restart is reset on its next use; while
 * the server is down, db_acquire answers NULL and the caller answers 503.
 * A service may keep a second pool on a read replica (replica.h). */
#ifndef DB_H
#define DB_H

#include <libpq-fe.h>

#include "base/core.h"

typedef struct db_pool db_pool;
typedef struct db_conn db_conn;

typedef struct db_config {
    const char *url;
    const char *app_name;       /* application_name, shown in pg_stat_activity */
    int size;                   /* connections */
    int statement_timeout_ms;
    int acquire_timeout_ms;     /* wait for a free connection at most this long */
    int connect_timeout_s;
    int read_only; /* sessions refuse writes: a write sent to a replica's pool by mistake
                      fails at once on any server, a primary included */
    int quiet;     /* failures to connect are not logged: the owner reports them, once */
    int probe_always; /* look for a close before every hand-out, even of a connection given
                         back a moment ago: the owner goes elsewhere when this server is gone
                         (a replica's reads go to the primary) */
} db_config;

db_pool *db_pool_new(const db_config *cfg);
void db_pool_free(db_pool *p);

typedef enum { DB_ACQ_OK, DB_ACQ_BUSY, DB_ACQ_DOWN } db_acquire_status;

/* NULL with *st = DB_ACQ_BUSY when no connection freed up in time, or
 * DB_ACQ_DOWN when the server cannot be reached. */
db_conn *db_acquire(db_pool *p, db_acquire_status *st);
/* c goes back to the pool it came from, whichever p is: handlers give back
 * to svc->db what service_db may have taken from the replica's pool. */
void db_release(db_pool *p, db_conn *c);
/* Why the last connection attempt failed ("" before any failure). */
void db_pool_error(db_pool *p, char *buf, size_t len);

/* Executes sql with text parameters (NULL = SQL NULL). The statement is
 * prepared on first use per connection, known by its text, and kept for the
 * connection's life (up to 256 of them; more run unprepared), so use it for
 * the statements a daemon runs again and again, and db_exec_once for
 * one-offs. Always returns a result: check it with db_ok. */
PGresult *db_exec(db_conn *c, const char *sql, int n, const char *const *params);
PGresult *db_exec_once(db_conn *c, const char *sql, int n, const char *const *params);
int db_ok(const PGresult *r); /* command or tuples ok */

/* COPY ... FROM STDIN with len bytes of COPY text data, inside the caller's
 * transaction. Returns the final result: check it with db_ok. */
PGresult *db_copy_in(db_conn *c, const char *sql, const char *data, size_t len);
/* db_copy_in in two halves, so that the caller may work while the server
 * loads the rows: the first sends them (NULL once sent, else why not:
 * the result to answer with), the second waits for the result. Nothing
 * else may use the connection between the two. */
PGresult *db_copy_send(db_conn *c, const char *sql, const char *data, size_t len);
PGresult *db_copy_result(db_conn *c);

int db_begin(db_conn *c);
int db_commit(db_conn *c);
void db_rollback(db_conn *c);

PGconn *db_pgconn(db_conn *c);
int db_broken(db_conn *c); /* the connection was lost */

/* HTTP status for a failed result: 409 for unique/foreign-key/exclusion
 * violations, 503 for lost connections and timeouts, 400 for bad values,
 * 500 otherwise. */
int db_http_status(db_conn *c, const PGresult *r);
const char *db_sqlstate(const PGresult *r);

typedef struct db_stats {
    int size, in_use, waiting;
    unsigned long resets, acquire_timeouts;
    double last_failure; /* now_monotonic() when a connection last failed to open or was
                            lost; 0: never */
} db_stats;
void db_pool_stats(db_pool *p, db_stats *out);

#endif
