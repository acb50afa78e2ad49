/* client.h -- what the integration tests share: an HTTP client on libcurl,
 * the environment set by tests/run.sh, object factories, extra daemon
 * processes, free ports, raw sockets and a superuser connection.
 *
 * Memory: every pointer these helpers return (responses, strings, JSON) is
 * owned by a per-test arena and freed by it_teardown, which each test is
 * registered with (IT / IT_STATE below), so a test that fails half-way
 * leaks nothing, even under LeakSanitizer.
 *
 * Helpers that create objects check their answer with cmocka assertions, so
 * a broken create fails the calling test at once. */
#ifndef IT_CLIENT_H
#define IT_CLIENT_H

/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

/* ---- the keys of config/apps.dev.json ----------------------------------- */

#define KEY_PRODUCTION "dev-production-key" /* app "pms", role production */
#define KEY_MARKETING "dev-marketing-key"   /* app "marketing", role marketing */
#define KEY_DISPATCH "dev-dispatch-key"     /* app "dispatch": reads, operates switches */
#define KEY_ADMIN "dev-admin-key"           /* app "admin" */
#define KEY_NOTIFIER "dev-notifier-key"     /* app "notifier": pulls and reports notices */

/* ---- environment (tests/run.sh) ------------------------------------------ */

/* The value of an environment variable; fails the current test with a clear
 * message when it is unset or empty. */
const char *it_env(const char *name);
/* GRID_URL and CUST_URL. */
const char *grid_url(void);
const char *cust_url(void);

/* Group setup/teardown every test file uses: checks that the variables of
 * tests/run.sh are set (GRID_URL, CUST_URL) and that both daemons answer. */
int it_group_setup(void **state);
int it_group_teardown(void **state);
/* Runs only the tests whose names match $IT_FILTER (cmocka's wildcards), if set. */
void it_filter(void);
/* Per-test teardown: frees the arena. */
int it_teardown(void **state);

#define IT(fn) cmocka_unit_test_teardown(fn, it_teardown)
#define IT_STATE(fn, st) cmocka_unit_test_prestate_setup_teardown(fn, NULL, it_teardown, (void *)(st))
/* The same test function on another state, under its own name. */
#define IT_ON(fn, st, label) {#fn " (" label ")", fn, NULL, it_teardown, (void *)(st)}

/* ---- arena ----------------------------------------------------------------- */

void *it_track(void *p, void (*free_fn)(void *));
char *it_strdup(const char *s);
char *strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A JSON value dumped compactly (v is stolen); the text is tracked. */
char *jdump(json_t *v);
/* A JSON value kept until the end of the test (v is stolen and returned; may be NULL). */
json_t *jkeep(json_t *v);
/* A short token unique to this run: "t" and 9 base32 symbols. */
char *uniq(void);
/* Percent-encoding for query strings. */
char *urlenc(const char *s);

/* ---- HTTP ---------------------------------------------------------------------- */

typedef struct api_resp {
    char method[16];
    char url[600];
    long status;       /* 0 when there was no answer (see transport_error) */
    char *body;        /* NUL-terminated, "" when empty */
    size_t len;
    json_t *json;      /* parsed body, NULL if it is not JSON */
    int transport_error; /* CURLcode; 0 when an answer arrived */
    char error[256];
    double seconds;
    /* Response headers (the last value seen; "" when absent). */
    char content_type[256];
    char etag[128];
    char location[512];
    char allow[256];
    char request_id[256];
    char www_authenticate[256];
    char retry_after[64];
    char replayed[32]; /* Idempotent-Replayed */
    char served_by[64]; /* X-Served-By */
    char connection[64];
} api_resp;

typedef struct api_opts {
    const char *key;            /* bearer key; NULL: no Authorization header */
    const char *authorization;  /* raw Authorization value; overrides key */
    const char *content_type;   /* default application/json when there is a body */
    const char *if_match;
    const char *idempotency_key;
    const char *request_id;
    const char *const *headers; /* more "Name: value" lines, NULL-terminated */
    long timeout_s;             /* whole request; default 30 */
    int chunked;                /* send the body with Transfer-Encoding: chunked */
    int expect_continue;        /* send Expect: 100-continue (default: no Expect) */
} api_opts;

/* One request. url is complete; body may be NULL. Never NULL. */
api_resp *api_call(const char *method, const char *url, const api_opts *o, const char *body,
                   size_t len);
/* base + path, with a bearer key (or NULL) and an optional JSON body. */
api_resp *api_get(const char *base, const char *path, const char *key);
api_resp *api_post(const char *base, const char *path, const char *key, const char *json_body);
api_resp *api_patch(const char *base, const char *path, const char *key, const char *json_body);
api_resp *api_delete(const char *base, const char *path, const char *key);

/* Requests sent at the same moment, one thread each; resp is filled in.
 * (No assertions run in those threads: check the answers afterwards.) */
typedef struct api_job {
    const char *method, *url, *body;
    api_opts opts;
    api_resp *resp;
} api_job;
void api_parallel(api_job *jobs, int n);

/* Items of a list answer ({"items": [...], "next"}); fails the test otherwise. */
json_t *list_items(const api_resp *r);
/* Member helpers; NULL / "" / -1 when absent. */
const char *jstr(const json_t *o, const char *key);
long long jint(const json_t *o, const char *key);
/* Does the list answer hold an item with this code? */
int list_has_code(const api_resp *r, const char *code);
/* Does a problem's errors[] name this field? */
int problem_names_field(const api_resp *r, const char *field);
/* Is s an RFC 3339 UTC timestamp ending in Z? */
int is_rfc3339_utc(const char *s);
/* Seconds since the epoch of such a timestamp (fails the test otherwise). */
double rfc3339_seconds(const char *s);
/* Prints a response on the test output, for failure messages. */
void api_dump(const api_resp *r);

#define assert_status(r, want)                                                                  \
    do {                                                                                        \
        const api_resp *r_ = (r);                                                               \
        if (r_->status != (long)(want)) {                                                       \
            api_dump(r_);                                                                       \
            fail_msg("%s %s: status %ld, want %d", r_->method, r_->url, r_->status, (int)(want)); \
        }                                                                                       \
    } while (0)

/* An RFC 9457 problem: status, Content-Type application/problem+json, and
 * the members type, title, status (= want) and detail. */
#define assert_problem(r, want)                                                                 \
    do {                                                                                        \
        const api_resp *p_ = (r);                                                               \
        assert_status(p_, want);                                                                \
        if (!it_is_problem(p_, (int)(want))) {                                                  \
            api_dump(p_);                                                                       \
            fail_msg("%s %s: not an application/problem+json answer with type, title, "         \
                     "status %d and detail",                                                    \
                     p_->method, p_->url, (int)(want));                                         \
        }                                                                                       \
    } while (0)

/* A validation problem whose errors[] names field. */
#define assert_problem_field(r, want, field)                                                    \
    do {                                                                                        \
        const api_resp *q_ = (r);                                                               \
        assert_problem(q_, want);                                                               \
        if (!problem_names_field(q_, field)) {                                                  \
            api_dump(q_);                                                                       \
            fail_msg("%s %s: errors[] does not name field '%s'", q_->method, q_->url, field);   \
        }                                                                                       \
    } while (0)

#define assert_str_contains(hay, needle)                                                        \
    do {                                                                                        \
        const char *h_ = (hay), *n_ = (needle);                                                 \
        if (!h_ || !strstr(h_, n_)) fail_msg("'%s' does not contain '%s'", h_ ? h_ : "(null)", n_); \
    } while (0)

int it_is_problem(const api_resp *r, int status);

/* ---- codes -------------------------------------------------------------------- */

/* A fresh valid code of the prefix (bizcode_mint). */
char *mint_code(const char *prefix);
/* The code with its check symbol replaced by another valid symbol. */
char *spoil_check(const char *code);

/* ---- objects ----------------------------------------------------------------- */

/* POST body to base/v1/collection with key; asserts 201; returns the answer. */
api_resp *create_ok(const char *base, const char *collection, const char *key, const char *body);
/* mk: the code of a fresh object of body (stolen), created as create_ok does. */
char *mk(const char *base, const char *collection, const char *key, json_t *body);
/* A link of kind from -> to made on base by the admin key; asserts 201. */
void link_admin(const char *base, const char *kind, const char *from, const char *to);
/* Codes of fresh objects (each asserts its 201). */
char *create_substation(const char *name);                   /* production, 110 kV */
char *create_line(const char *key, const char *name, const char *kind, double voltage_kv);
char *create_address(void);                                  /* marketing */
char *create_customer(const char *name, const char *address); /* marketing, lv_resident */
/* Current version of base/v1/collection/code (asserts 200). */
long long version_of(const char *base, const char *collection, const char *code);
/* Number of items of base/v1/collection?query (asserts 200; query without "?"). */
size_t count_where(const char *base, const char *collection, const char *query);

/* ---- processes ---------------------------------------------------------------- */

/* A free TCP port on 127.0.0.1 (bind port 0, read it, close). */
int free_port(void);
/* Starts bin with the current environment plus the "NAME=value" overrides
 * (NULL-terminated), stdout and stderr appended to log_path. Does not wait. */
pid_t daemon_spawn(const char *bin, const char *const *env, const char *log_path);
/* Polls base/readyz until 200 (OK) or timeout / the process exits (ERR). */
int daemon_wait_ready(pid_t pid, const char *base, double timeout_s);
/* A grid-svc or cust-svc ("grid" / "cust") on port with database_url, peer
 * peer_url and the run's APPS_FILE, POLICY_FILE and schema; waits for
 * /readyz. Returns the pid, or -1 (the process is then stopped). */
pid_t start_daemon(const char *which, int port, const char *database_url, const char *peer_url,
                   const char *log_name);
/* The same without waiting: the pid, or -1. The log is $RUN_DIR/log_name.log. */
pid_t spawn_daemon(const char *which, int port, const char *database_url, const char *peer_url,
                   const char *log_name);
/* The same two with more "NAME=value" settings (NULL-terminated; NULL for
 * none), which override the ones above (PEER_TIMEOUT_MS, HTTP_THREADS, ...). */
pid_t start_daemon_env(const char *which, int port, const char *database_url,
                       const char *peer_url, const char *log_name, const char *const *more);
pid_t spawn_daemon_env(const char *which, int port, const char *database_url,
                       const char *peer_url, const char *log_name, const char *const *more);
/* SIGTERM, then waits up to timeout_s: the exit status (0-255), or -1 when it
 * died of a signal or had to be killed (SIGKILL) after the timeout. */
int daemon_stop(pid_t pid, double timeout_s);
/* Waits up to timeout_s for pid to exit without signalling it; as above. */
int daemon_wait_exit(pid_t pid, double timeout_s);
/* Kills (SIGKILL) and reaps pid if it still runs; for teardown. */
void daemon_kill(pid_t pid);
/* Extra daemons a test keeps here are killed by it_stop_extras, a teardown
 * that also frees the arena. */
extern pid_t it_extra[2];
int it_stop_extras(void **state);

/* ---- raw sockets ----------------------------------------------------------------- */

/* A connection to 127.0.0.1:port, closed by it_teardown; -1 on failure. */
int raw_connect(int port);
int raw_send(int fd, const char *data, size_t len); /* OK (0) or -1 */
/* Reads one HTTP response: headers, then Content-Length bytes of body (or
 * until EOF). Returns the tracked text ("" on timeout with nothing read). */
char *raw_read_response(int fd, double timeout_s);
int raw_status(const char *response); /* status of "HTTP/1.1 201 ..." or -1 */
const char *raw_body(const char *response); /* after the blank line, or NULL */

/* ---- metrics ---------------------------------------------------------------------- */

/* Sum of the samples of metric name (exact name, any labels) in a Prometheus
 * text page; -1 when there is none. */
double metric_sum(const char *text, const char *name);
/* peer_requests_total of base's /metrics (fails the test when absent). */
double peer_requests_total(const char *base);

/* ---- PostgreSQL --------------------------------------------------------------------- */

/* A superuser connection (postgres@127.0.0.1:$PGPORT) to dbname; asserts it opens. */
PGconn *pg_admin(const char *dbname);
/* The database named by the URL in the environment variable url_var
 * (GRID_DATABASE_URL, CUST_DATABASE_URL); fails the test without one. */
const char *db_name_of(const char *url_var);
/* Runs sql; asserts success; returns the result (tracked). */
PGresult *pg_ok(PGconn *c, const char *sql);
/* Waits for the results of sql, sent earlier with PQsendQuery; asserts success. */
void pg_sent_ok(PGconn *c, const char *sql);
/* For teardowns: drops the database called name, if name is not empty, and
 * empties name. Asserts nothing (a teardown may not fail); says on stderr
 * what could not be dropped. */
void pg_drop_scratch(char *name);
/* Runs RUN_DIR=$RUN_DIR $PG_SCRIPT cmd; returns its exit status. */
int pg_script(const char *cmd);

/* Sleeps for ms milliseconds. */
void sleep_ms(long ms);
double now_s(void);

#endif
