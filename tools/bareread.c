/* bareread.c -- the yardstick for the point read in `make bench`: the least
 * server that answers GET .../{code} with one row as JSON, on the same
 * libraries as the daemons (libmicrohttpd's thread pool on epoll, a libpq
 * connection per thread, one prepared statement, a jansson object).
 *
 *   bareread PORT DATABASE_URL SELECT [THREADS]
 *
 * SELECT takes the code as $1; its columns become the members, as text (or
 * null). No routing, keys, policy, request ids, logs or metrics: how far
 * below this a daemon's read falls is what those cost. 404 when there is no
 * row, 503 when the database fails (the thread reconnects on its next
 * request). Stops on SIGINT or SIGTERM. */
#include <jansson.h>
#include <libpq-fe.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS 256

static const char *db_url, *select_sql;
/* A connection per I/O thread (MHD calls a connection's handler only on the
 * thread that holds it), in a slot of conns, which main closes at the end. */
static PGconn *conns[MAX_THREADS];
static atomic_int nslots;
static __thread int slot = -1;

static PGconn *connection(void)
{
    if (slot < 0) slot = atomic_fetch_add(&nslots, 1);
    PGconn **pg = &conns[slot];
    if (*pg && PQstatus(*pg) == CONNECTION_OK) return *pg;
    PQfinish(*pg);
    *pg = PQconnectdb(db_url);
    PGresult *r = PQstatus(*pg) == CONNECTION_OK ? PQprepare(*pg, "q", select_sql, 1, NULL) : NULL;
    int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) fprintf(stderr, "bareread: %s", PQerrorMessage(*pg));
    PQclear(r);
    if (!ok) {
        PQfinish(*pg);
        *pg = NULL;
    }
    return *pg;
}

static char *row_json(const PGresult *r)
{
    json_t *o = json_object();
    for (int i = 0; i < PQnfields(r); i++)
        json_object_set_new(o, PQfname(r, i),
                            PQgetisnull(r, 0, i) ? json_null() : json_string(PQgetvalue(r, 0, i)));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    (void)cls, (void)version, (void)upload, (void)upload_size;
    if (!*state) { /* the headers only: answer on the next call */
        *state = conn;
        return MHD_YES;
    }
    unsigned status = 405;
    char *body = NULL;
    PGconn *c = strcmp(method, "GET") == 0 ? connection() : NULL;
    if (c) {
        const char *slash = strrchr(url, '/'), *code = slash ? slash + 1 : url;
        PGresult *r = PQexecPrepared(c, "q", 1, &code, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            status = 503;
            fprintf(stderr, "bareread: 503: %s", PQresultErrorMessage(r));
        } else if (PQntuples(r) == 1) {
            body = row_json(r);
            status = body ? 200 : 500;
            if (!body) fprintf(stderr, "bareread: 500: the row could not be written\n");
        } else {
            status = 404;
            fprintf(stderr, "bareread: 404: no row for %.40s\n", code);
        }
        PQclear(r);
    } else if (strcmp(method, "GET") == 0) {
        status = 503;
    }
    if (!body) {
        char problem[32];
        snprintf(problem, sizeof problem, "{\"status\":%u}", status);
        body = strdup(problem);
        if (!body) return MHD_NO; /* out of memory: MHD closes the connection */
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: bareread PORT DATABASE_URL SELECT [THREADS]\n");
        return 2;
    }
    int port = atoi(argv[1]), threads = argc == 5 ? atoi(argv[4]) : 4;
    if (port < 1 || port > 65535 || threads < 1 || threads > MAX_THREADS) {
        fprintf(stderr, "bareread: bad port or thread count\n");
        return 2;
    }
    db_url = argv[2];
    select_sql = argv[3];
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL); /* before MHD's threads, which inherit it */
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, (uint16_t)port, NULL, NULL, answer, NULL,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "bareread: cannot listen on port %d\n", port);
        return 1;
    }
    int sig;
    sigwait(&stop, &sig);
    MHD_stop_daemon(d);
    for (int i = 0; i < MAX_THREADS; i++) PQfinish(conns[i]);
    return 0;
}
